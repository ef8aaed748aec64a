#include "fleetpoll/metrics/engine_metrics.hpp"

#include <prometheus/family.h>

#ifndef FLEETPOLL_VERSION
#define FLEETPOLL_VERSION "unknown"
#endif

namespace fleetpoll::metrics {

const char* label(request_result v) noexcept {
  switch (v) {
    case request_result::ok:
      return "ok";
    case request_result::timeout:
      return "timeout";
    case request_result::decode_error:
      return "decode_error";
    case request_result::snmp_error:
      return "snmp_error";
    case request_result::send_error:
      return "send_error";
    case request_result::cancelled:
      return "cancelled";
  }
  return "unknown";
}

const char* label(data_class v) noexcept {
  switch (v) {
    case data_class::status:
      return "status";
    case data_class::alerts:
      return "alerts";
    case data_class::supplies:
      return "supplies";
    case data_class::counters:
      return "counters";
    case data_class::identity:
      return "identity";
  }
  return "unknown";
}

const char* label(device_state v) noexcept {
  switch (v) {
    case device_state::up:
      return "up";
    case device_state::down:
      return "down";
    case device_state::never_seen:
      return "never_seen";
  }
  return "unknown";
}

const char* label(walker_error v) noexcept {
  switch (v) {
    case walker_error::loop:
      return "loop";
    case walker_error::runaway:
      return "runaway";
    case walker_error::out_of_order:
      return "out_of_order";
    case walker_error::too_big:
      return "too_big";
    case walker_error::no_such_name:
      return "no_such_name";
  }
  return "unknown";
}

const char* label(limiter_scope v) noexcept {
  switch (v) {
    case limiter_scope::device:
      return "device";
    case limiter_scope::subnet:
      return "subnet";
    case limiter_scope::global:
      return "global";
  }
  return "unknown";
}

const char* label(drop_reason v) noexcept {
  switch (v) {
    case drop_reason::unknown_source:
      return "unknown_source";
    case drop_reason::unknown_request:
      return "unknown_request";
    case drop_reason::duplicate:
      return "duplicate";
    case drop_reason::late:
      return "late";
    case drop_reason::malformed:
      return "malformed";
    case drop_reason::truncated:
      return "truncated";
    case drop_reason::receive_overflow:
      return "receive_overflow";
  }
  return "unknown";
}

const char* label(poll_result v) noexcept {
  switch (v) {
    case poll_result::complete:
      return "complete";
    case poll_result::partial:
      return "partial";
    case poll_result::failed:
      return "failed";
  }
  return "unknown";
}

const char* label(direction v) noexcept {
  switch (v) {
    case direction::sent:
      return "sent";
    case direction::received:
      return "received";
  }
  return "unknown";
}

const char* label(transition v) noexcept {
  switch (v) {
    case transition::up:
      return "up";
    case transition::down:
      return "down";
  }
  return "unknown";
}

const prometheus::Histogram::BucketBoundaries& poll_duration_buckets() {
  static const prometheus::Histogram::BucketBoundaries b{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
                                                         1,     2.5,  5,     10,   30,  60};
  return b;
}

const prometheus::Histogram::BucketBoundaries& scheduler_lag_buckets() {
  static const prometheus::Histogram::BucketBoundaries b{0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05,
                                                         0.1,    0.5,    1,     5,     10,   60};
  return b;
}

namespace {

// Creates one series per enumerator of E in `family`, labelled `name`=label(E).
template <typename E, typename T, std::size_t N, typename... Args>
void fill(prometheus::Family<T>& family, const char* name, std::array<T*, N>& out, Args&&... args) {
  for (std::size_t i = 0; i < N; ++i) {
    out[i] = &family.Add({{name, label(static_cast<E>(i))}}, args...);
  }
}

}  // namespace

engine_metrics::engine_metrics(prometheus::Registry& registry, const std::string& version) {
  using prometheus::BuildCounter;
  using prometheus::BuildGauge;
  using prometheus::BuildHistogram;

  auto& requests =
      BuildCounter()
          .Name("fleetpoll_snmp_requests_total")
          .Help("SNMP requests by how they ended (all retries of one request count once).")
          .Register(registry);
  fill<request_result>(requests, "result", requests_);

  retries_ = &BuildCounter()
                  .Name("fleetpoll_snmp_retries_total")
                  .Help("SNMP request retransmissions after a timeout.")
                  .Register(registry)
                  .Add({});

  in_flight_ = &BuildGauge()
                    .Name("fleetpoll_snmp_requests_in_flight")
                    .Help("SNMP requests sent and not yet answered or timed out.")
                    .Register(registry)
                    .Add({});

  auto& poll =
      BuildHistogram()
          .Name("fleetpoll_poll_duration_seconds")
          .Help("Duration of one poll of one device for one data class, first send to last answer.")
          .Register(registry);
  fill<data_class>(poll, "class", poll_duration_, poll_duration_buckets());

  auto& devices = BuildGauge()
                      .Name("fleetpoll_devices")
                      .Help("Devices by reachability state.")
                      .Register(registry);
  fill<device_state>(devices, "state", devices_);

  discovery_targets_ = &BuildCounter()
                            .Name("fleetpoll_discovery_targets_total")
                            .Help("Addresses queued for discovery probing.")
                            .Register(registry)
                            .Add({});
  discovery_probed_ =
      &BuildCounter()
           .Name("fleetpoll_discovery_probed_total")
           .Help("Addresses whose discovery probe finished (answered or timed out).")
           .Register(registry)
           .Add({});
  discovery_printers_found_ = &BuildCounter()
                                   .Name("fleetpoll_discovery_printers_found_total")
                                   .Help("Probed addresses that answered as printers.")
                                   .Register(registry)
                                   .Add({});

  auto& walker = BuildCounter()
                     .Name("fleetpoll_walker_errors_total")
                     .Help("Table walk anomalies by kind.")
                     .Register(registry);
  fill<walker_error>(walker, "kind", walker_errors_);

  auto& waits = BuildCounter()
                    .Name("fleetpoll_rate_limiter_waits_total")
                    .Help("Requests delayed by a rate limit, by the limit's scope.")
                    .Register(registry);
  fill<limiter_scope>(waits, "scope", rate_limiter_waits_);

  auto& drops = BuildCounter()
                    .Name("fleetpoll_socket_drops_total")
                    .Help("Received datagrams discarded by the transport, by reason.")
                    .Register(registry);
  fill<drop_reason>(drops, "reason", socket_drops_);

  scheduler_lag_ = &BuildHistogram()
                        .Name("fleetpoll_scheduler_lag_seconds")
                        .Help("How late a poll started compared with its scheduled time.")
                        .Register(registry)
                        .Add({}, scheduler_lag_buckets());

  auto& polls = BuildCounter()
                    .Name("fleetpoll_polls_total")
                    .Help("Polls of one device (one or more data classes each) by how they ended.")
                    .Register(registry);
  fill<poll_result>(polls, "result", polls_);

  polls_in_progress_ = &BuildGauge()
                            .Name("fleetpoll_polls_in_progress")
                            .Help("Polls started and not yet finished.")
                            .Register(registry)
                            .Add({});
  scheduler_queued_ = &BuildGauge()
                           .Name("fleetpoll_scheduler_queued_devices")
                           .Help("Devices due for a poll that wait for a free poll slot.")
                           .Register(registry)
                           .Add({});
  polls_waiting_retry_ =
      &BuildGauge()
           .Name("fleetpoll_polls_waiting_retry")
           .Help(
               "Polls out of their poll slot: waiting on a retransmission to a silent device, "
               "or answered and waiting for a slot back.")
           .Register(registry)
           .Add({});

  auto& bytes = BuildCounter()
                    .Name("fleetpoll_snmp_bytes_total")
                    .Help("SNMP bytes on the wire (UDP payload) by direction.")
                    .Register(registry);
  fill<direction>(bytes, "direction", bytes_);
  auto& datagrams = BuildCounter()
                        .Name("fleetpoll_snmp_datagrams_total")
                        .Help("SNMP datagrams by direction.")
                        .Register(registry);
  fill<direction>(datagrams, "direction", datagrams_);

  auto& transitions =
      BuildCounter()
          .Name("fleetpoll_device_transitions_total")
          .Help("Devices declared down after failed polls, or back up, by the state entered.")
          .Register(registry);
  fill<transition>(transitions, "to", transitions_);

  discovery_responders_ = &BuildCounter()
                               .Name("fleetpoll_discovery_responders_total")
                               .Help("Probed addresses that answered SNMP, printer or not.")
                               .Register(registry)
                               .Add({});

  BuildGauge()
      .Name("fleetpoll_build_info")
      .Help("Build information; the value is always 1.")
      .Register(registry)
      .Add({{"version", version.empty() ? std::string(FLEETPOLL_VERSION) : version}})
      .Set(1);
}

}  // namespace fleetpoll::metrics
