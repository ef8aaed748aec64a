#include "fleetpoll/uplink/uplink_metrics.hpp"

namespace fleetpoll::uplink {

const char* label(failure_kind k) noexcept {
  switch (k) {
    case failure_kind::none:
      return "none";
    case failure_kind::connect:
      return "connect";
    case failure_kind::tls:
      return "tls";
    case failure_kind::auth:
      return "auth";
    case failure_kind::proxy:
      return "proxy";
    case failure_kind::protocol:
      return "protocol";
    case failure_kind::closed:
      return "closed";
  }
  return "unknown";
}

const char* label(batch_result r) noexcept {
  switch (r) {
    case batch_result::accepted:
      return "accepted";
    case batch_result::replayed:
      return "replayed";
    case batch_result::bad_tag:
      return "bad_tag";
    case batch_result::unknown_key:
      return "unknown_key";
    case batch_result::unknown_site:
      return "unknown_site";
    case batch_result::malformed:
      return "malformed";
  }
  return "unknown";
}

const prometheus::Histogram::BucketBoundaries& delivery_latency_buckets() {
  static const prometheus::Histogram::BucketBoundaries b{0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1,
                                                         2.5,  5,     10,   30,  60,   300, 3600};
  return b;
}

uplink_metrics::uplink_metrics(prometheus::Registry& registry) {
  auto& conns = prometheus::BuildGauge()
                    .Name("fleetpoll_uplink_connections")
                    .Help("Uplink pool connections by state")
                    .Register(registry);
  for (std::size_t i = 0; i < connection_state_count; ++i)
    connections_[i] = &conns.Add({{"state", label(static_cast<connection_state>(i))}});
  auto counter = [&](const char* name, const char* help) {
    return &prometheus::BuildCounter().Name(name).Help(help).Register(registry).Add({});
  };
  batches_sent_ =
      counter("fleetpoll_uplink_batches_sent_total", "Batches sent (first sends and resends)");
  batches_acked_ = counter("fleetpoll_uplink_batches_acknowledged_total",
                           "Batches acknowledged end to end by the receiver");
  batches_retried_ =
      counter("fleetpoll_uplink_batches_retried_total",
              "Batch resends (after a reconnect, a receiver absence or an ack timeout)");
  records_sent_ = counter("fleetpoll_uplink_records_sent_total",
                          "Change records sent (first sends and resends)");
  records_acked_ = counter("fleetpoll_uplink_records_acknowledged_total",
                           "Change records acknowledged end to end");
  records_retried_ = counter("fleetpoll_uplink_records_retried_total", "Change records sent again");
  bytes_sent_ = counter("fleetpoll_uplink_bytes_sent_total",
                        "XMPP stream bytes written by the pool (before TLS)");
  auto gauge = [&](const char* name, const char* help) {
    return &prometheus::BuildGauge().Name(name).Help(help).Register(registry).Add({});
  };
  outbox_depth_ =
      gauge("fleetpoll_uplink_outbox_depth", "Change records in the outbox not yet acknowledged");
  outbox_oldest_age_ = gauge("fleetpoll_uplink_outbox_oldest_age_seconds",
                             "Age of the oldest unacknowledged change record");
  receiver_available_ =
      gauge("fleetpoll_uplink_receiver_available", "1 while the provider's receiver is present");
  latency_ = &prometheus::BuildHistogram()
                  .Name("fleetpoll_uplink_delivery_latency_seconds")
                  .Help("Change record entered the outbox -> receiver acknowledged it")
                  .Register(registry)
                  .Add({}, delivery_latency_buckets());
  auto& fails = prometheus::BuildCounter()
                    .Name("fleetpoll_uplink_failures_total")
                    .Help("Uplink sessions that failed or ended, by cause")
                    .Register(registry);
  for (std::size_t i = 1; i < failure_kind_count; ++i)
    failures_[i] = &fails.Add({{"kind", label(static_cast<failure_kind>(i))}});
  failures_[0] = failures_[static_cast<std::size_t>(failure_kind::protocol)];
}

receiver_metrics::receiver_metrics(prometheus::Registry& registry) {
  auto& b = prometheus::BuildCounter()
                .Name("fleetpoll_receiver_batches_total")
                .Help("Batches received, by outcome")
                .Register(registry);
  for (std::size_t i = 0; i < batch_result_count; ++i)
    batches_[i] = &b.Add({{"result", label(static_cast<batch_result>(i))}});
  records_written_ = &prometheus::BuildCounter()
                          .Name("fleetpoll_receiver_records_written_total")
                          .Help("Change records written as JSON lines (first arrival only)")
                          .Register(registry)
                          .Add({});
  records_duplicate_ = &prometheus::BuildCounter()
                            .Name("fleetpoll_receiver_records_duplicate_total")
                            .Help("Change records received again and not written")
                            .Register(registry)
                            .Add({});
  latency_ = &prometheus::BuildHistogram()
                  .Name("fleetpoll_receiver_latency_seconds")
                  .Help("Change record entered the site's outbox -> written by the receiver")
                  .Register(registry)
                  .Add({}, delivery_latency_buckets());
}

}  // namespace fleetpoll::uplink
