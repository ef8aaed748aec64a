// fleetpoll::uplink::uplink_metrics / receiver_metrics — the uplink's Prometheus families.
//
// Same rules as fleetpoll::metrics::engine_metrics (docs/metrics.md): prefix fleetpoll_, counters
// end in _total, base units, closed label sets created at construction so every series exists
// from the first scrape. docs/metrics.md's uplink section lists them.
//
// Ownership: the registry owns families and series and must outlive this object.
// Thread safety: accessors are const and lock-free; the returned objects may be updated from
// any thread.
#pragma once

#include <array>
#include <cstddef>

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include "fleetpoll/uplink/xmpp_connection.hpp"

namespace fleetpoll::uplink {

inline constexpr std::size_t connection_state_count = 5;  // connection_state enumerators
inline constexpr std::size_t failure_kind_count = 7;      // failure_kind enumerators
const char* label(failure_kind k) noexcept;

// Why the receiver accepted or rejected a batch (fleetpoll_receiver_batches_total{result}).
enum class batch_result { accepted, replayed, bad_tag, unknown_key, unknown_site, malformed };
inline constexpr std::size_t batch_result_count = 6;
const char* label(batch_result r) noexcept;

// Latency buckets (seconds) for change -> receiver: sub-second batching up to long outages.
const prometheus::Histogram::BucketBoundaries& delivery_latency_buckets();

class uplink_metrics {
 public:
  explicit uplink_metrics(prometheus::Registry& registry);
  uplink_metrics(const uplink_metrics&) = delete;
  uplink_metrics& operator=(const uplink_metrics&) = delete;

  // fleetpoll_uplink_connections{state}: pool connections in each state (Set by the pool).
  prometheus::Gauge& connections(connection_state s) const noexcept {
    return *connections_[static_cast<std::size_t>(s)];
  }
  // fleetpoll_uplink_batches_sent_total / _acknowledged_total / _retried_total
  prometheus::Counter& batches_sent() const noexcept { return *batches_sent_; }
  prometheus::Counter& batches_acknowledged() const noexcept { return *batches_acked_; }
  prometheus::Counter& batches_retried() const noexcept { return *batches_retried_; }
  // fleetpoll_uplink_records_sent_total / _acknowledged_total / _retried_total
  prometheus::Counter& records_sent() const noexcept { return *records_sent_; }
  prometheus::Counter& records_acknowledged() const noexcept { return *records_acked_; }
  prometheus::Counter& records_retried() const noexcept { return *records_retried_; }
  // fleetpoll_uplink_outbox_depth (records), fleetpoll_uplink_outbox_oldest_age_seconds
  prometheus::Gauge& outbox_depth() const noexcept { return *outbox_depth_; }
  prometheus::Gauge& outbox_oldest_age() const noexcept { return *outbox_oldest_age_; }
  // fleetpoll_uplink_bytes_sent_total: XMPP stream bytes written (before TLS).
  prometheus::Counter& bytes_sent() const noexcept { return *bytes_sent_; }
  // fleetpoll_uplink_delivery_latency_seconds: record entered the outbox -> receipt arrived.
  prometheus::Histogram& delivery_latency() const noexcept { return *latency_; }
  // fleetpoll_uplink_failures_total{kind}: sessions that failed or ended, by cause.
  prometheus::Counter& failures(failure_kind k) const noexcept {
    return *failures_[static_cast<std::size_t>(k)];
  }
  // fleetpoll_uplink_receiver_available: 1 while the receiver's presence is seen.
  prometheus::Gauge& receiver_available() const noexcept { return *receiver_available_; }

 private:
  std::array<prometheus::Gauge*, connection_state_count> connections_{};
  prometheus::Counter* batches_sent_ = nullptr;
  prometheus::Counter* batches_acked_ = nullptr;
  prometheus::Counter* batches_retried_ = nullptr;
  prometheus::Counter* records_sent_ = nullptr;
  prometheus::Counter* records_acked_ = nullptr;
  prometheus::Counter* records_retried_ = nullptr;
  prometheus::Gauge* outbox_depth_ = nullptr;
  prometheus::Gauge* outbox_oldest_age_ = nullptr;
  prometheus::Counter* bytes_sent_ = nullptr;
  prometheus::Histogram* latency_ = nullptr;
  std::array<prometheus::Counter*, failure_kind_count> failures_{};
  prometheus::Gauge* receiver_available_ = nullptr;
};

class receiver_metrics {
 public:
  explicit receiver_metrics(prometheus::Registry& registry);
  receiver_metrics(const receiver_metrics&) = delete;
  receiver_metrics& operator=(const receiver_metrics&) = delete;

  // fleetpoll_receiver_batches_total{result}
  prometheus::Counter& batches(batch_result r) const noexcept {
    return *batches_[static_cast<std::size_t>(r)];
  }
  // fleetpoll_receiver_records_written_total: records written as JSON lines (first arrival).
  prometheus::Counter& records_written() const noexcept { return *records_written_; }
  // fleetpoll_receiver_records_duplicate_total: records already held (resends, replays).
  prometheus::Counter& records_duplicate() const noexcept { return *records_duplicate_; }
  // fleetpoll_receiver_latency_seconds: record entered the site's outbox -> written here.
  prometheus::Histogram& latency() const noexcept { return *latency_; }

 private:
  std::array<prometheus::Counter*, batch_result_count> batches_{};
  prometheus::Counter* records_written_ = nullptr;
  prometheus::Counter* records_duplicate_ = nullptr;
  prometheus::Histogram* latency_ = nullptr;
};

}  // namespace fleetpoll::uplink
