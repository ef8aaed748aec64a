// fleetpoll::metrics::engine_metrics — the poller's metric families, created once on a registry.
//
// The label vocabulary is closed: each labelled family takes its label value from one of the
// enums below, so no series can be created from outside data (addresses, OIDs, error strings)
// and the number of series is fixed. Every label value is created by the constructor, so every
// series is exported (at 0) from the first scrape on; rate() and absent() then behave from the
// start. The enums are this module's own vocabulary: the engine maps its internal results onto
// them, and metrics depends on no other fleetpoll module. docs/metrics.md lists every family.
//
// Ownership: the registry owns the families and series; engine_metrics holds references into
// it. The registry must outlive the engine_metrics object and every reference it handed out.
// Constructing two engine_metrics on one registry is allowed: the second shares the first's
// families and series (prometheus::Registry merges same-name families).
//
// Thread safety: after construction, every accessor is const and lock-free, and the returned
// objects may be updated from any thread without a lock: prometheus::Counter and Gauge are
// std::atomic<double> underneath; Histogram::Observe takes a short internal mutex per series.
// Construction must not race with another thread using the same registry's builder methods
// (prometheus::Registry locks internally, so it is safe, just not useful).
//
// Hot path: accessors index an array — no lookup, allocation or exception.
#pragma once

#include <array>
#include <cstddef>
#include <string>

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

namespace fleetpoll::metrics {

// fleetpoll_snmp_requests_total{result}: how one SNMP request (all its retries) ended.
enum class request_result {
  ok,            // a response was received and decoded
  timeout,       // no response after the last retry
  decode_error,  // a response arrived that did not decode
  snmp_error,    // the agent answered with error-status != 0
  send_error,    // the datagram could not be sent (sendmsg failed)
  cancelled,     // ended by shutdown before an answer or a timeout
};

// fleetpoll_poll_duration_seconds{class}: the data class one scheduled poll collected.
enum class data_class { status, alerts, supplies, counters, identity };

// fleetpoll_devices{state}.
enum class device_state {
  up,          // the last poll got an answer
  down,        // K polls in a row got no answer (re-probed on a slower schedule)
  never_seen,  // configured or discovered, has not answered yet (and is not down yet)
};

// fleetpoll_walker_errors_total{kind}: why a table walk stopped or shrank.
enum class walker_error {
  loop,          // the agent returned an OID already seen
  runaway,       // the walk passed its row/request cap
  out_of_order,  // an OID not greater than its predecessor (tolerated, counted)
  too_big,       // tooBig error-status: max-repetitions was reduced
  no_such_name,  // SNMPv1 noSuchName ended a GETNEXT walk
};

// fleetpoll_rate_limiter_waits_total{scope}: which limit delayed a request.
enum class limiter_scope { device, subnet, global };

// fleetpoll_socket_drops_total{reason}: why a received datagram was discarded.
enum class drop_reason {
  unknown_source,    // from an address with no outstanding request
  unknown_request,   // request-id matches no outstanding request of that address
  duplicate,         // a second response to a request already answered
  late,              // a response to a request that already timed out
  malformed,         // not decodable as an SNMP message (or its version does not match)
  truncated,         // larger than the receive buffer
  receive_overflow,  // dropped by the kernel: the socket's receive buffer was full
};

// fleetpoll_polls_total{result}: how one poll of one device (all its requests) ended.
enum class poll_result {
  complete,  // every data class asked for was fetched
  partial,   // the device answered, some classes were not fetched
  failed,    // no answer at all
};

// fleetpoll_snmp_bytes_total{direction}, fleetpoll_snmp_datagrams_total{direction}.
enum class direction { sent, received };

// fleetpoll_device_transitions_total{to}.
enum class transition { up, down };

// Label value of each enumerator, as exported ("ok", "never_seen", ...).
const char* label(request_result v) noexcept;
const char* label(data_class v) noexcept;
const char* label(device_state v) noexcept;
const char* label(walker_error v) noexcept;
const char* label(limiter_scope v) noexcept;
const char* label(drop_reason v) noexcept;
const char* label(poll_result v) noexcept;
const char* label(direction v) noexcept;
const char* label(transition v) noexcept;

// Number of enumerators of each enum (the bounded label set size).
inline constexpr std::size_t request_result_count = 6;
inline constexpr std::size_t data_class_count = 5;
inline constexpr std::size_t device_state_count = 3;
inline constexpr std::size_t walker_error_count = 5;
inline constexpr std::size_t limiter_scope_count = 3;
inline constexpr std::size_t drop_reason_count = 7;
inline constexpr std::size_t poll_result_count = 3;
inline constexpr std::size_t direction_count = 2;
inline constexpr std::size_t transition_count = 2;

// Bucket upper bounds, in seconds.
// Poll durations: a class's walk on a LAN takes milliseconds; a slow device with retries takes
// tens of seconds.
const prometheus::Histogram::BucketBoundaries& poll_duration_buckets();
// Scheduler lag (how late a poll started against its slot): ideally below a millisecond.
const prometheus::Histogram::BucketBoundaries& scheduler_lag_buckets();

class engine_metrics {
 public:
  // Creates every family and every labelled series on `registry`, plus
  // fleetpoll_build_info{version="<version>"} = 1. `version` defaults to the project version.
  // Throws what prometheus-cpp throws on a name clash with a family of another type (a
  // programming error, at start-up only).
  explicit engine_metrics(prometheus::Registry& registry, const std::string& version = "");

  engine_metrics(const engine_metrics&) = delete;
  engine_metrics& operator=(const engine_metrics&) = delete;

  // fleetpoll_snmp_requests_total{result}
  prometheus::Counter& requests(request_result r) const noexcept {
    return *requests_[static_cast<std::size_t>(r)];
  }
  // fleetpoll_snmp_retries_total: retransmissions (the first send is not a retry).
  prometheus::Counter& retries() const noexcept { return *retries_; }
  // fleetpoll_snmp_requests_in_flight: sent, not yet answered or timed out.
  prometheus::Gauge& in_flight() const noexcept { return *in_flight_; }
  // fleetpoll_poll_duration_seconds{class}: one poll of one device, first send to last answer.
  prometheus::Histogram& poll_duration(data_class c) const noexcept {
    return *poll_duration_[static_cast<std::size_t>(c)];
  }
  // fleetpoll_devices{state}: set by the engine (Set), not incremented per poll.
  prometheus::Gauge& devices(device_state s) const noexcept {
    return *devices_[static_cast<std::size_t>(s)];
  }
  // fleetpoll_discovery_targets_total: addresses queued for probing.
  prometheus::Counter& discovery_targets() const noexcept { return *discovery_targets_; }
  // fleetpoll_discovery_probed_total: addresses whose probe finished (answered or timed out).
  prometheus::Counter& discovery_probed() const noexcept { return *discovery_probed_; }
  // fleetpoll_discovery_printers_found_total: probed addresses that answered as printers.
  prometheus::Counter& discovery_printers_found() const noexcept {
    return *discovery_printers_found_;
  }
  // fleetpoll_walker_errors_total{kind}
  prometheus::Counter& walker_errors(walker_error k) const noexcept {
    return *walker_errors_[static_cast<std::size_t>(k)];
  }
  // fleetpoll_rate_limiter_waits_total{scope}: requests delayed by that limit.
  prometheus::Counter& rate_limiter_waits(limiter_scope s) const noexcept {
    return *rate_limiter_waits_[static_cast<std::size_t>(s)];
  }
  // fleetpoll_socket_drops_total{reason}
  prometheus::Counter& socket_drops(drop_reason r) const noexcept {
    return *socket_drops_[static_cast<std::size_t>(r)];
  }
  // fleetpoll_scheduler_lag_seconds: actual start minus planned start of a poll.
  prometheus::Histogram& scheduler_lag() const noexcept { return *scheduler_lag_; }
  // fleetpoll_polls_total{result}: polls of one device (one or more data classes each).
  prometheus::Counter& polls(poll_result r) const noexcept {
    return *polls_[static_cast<std::size_t>(r)];
  }
  // fleetpoll_polls_in_progress: polls started and not finished.
  prometheus::Gauge& polls_in_progress() const noexcept { return *polls_in_progress_; }
  // fleetpoll_scheduler_queued_devices: devices due whose poll waits for a free poll slot.
  prometheus::Gauge& scheduler_queued() const noexcept { return *scheduler_queued_; }
  // fleetpoll_polls_waiting_retry: polls out of their poll slot, waiting on a retransmission
  // to a silent device (or, answered, for a slot back).
  prometheus::Gauge& polls_waiting_retry() const noexcept { return *polls_waiting_retry_; }
  // fleetpoll_snmp_bytes_total{direction}: UDP payload bytes.
  prometheus::Counter& bytes(direction d) const noexcept {
    return *bytes_[static_cast<std::size_t>(d)];
  }
  // fleetpoll_snmp_datagrams_total{direction}.
  prometheus::Counter& datagrams(direction d) const noexcept {
    return *datagrams_[static_cast<std::size_t>(d)];
  }
  // fleetpoll_device_transitions_total{to}: devices declared down, or back up.
  prometheus::Counter& transitions(transition t) const noexcept {
    return *transitions_[static_cast<std::size_t>(t)];
  }
  // fleetpoll_discovery_responders_total: probed addresses that answered SNMP (printer or not).
  prometheus::Counter& discovery_responders() const noexcept { return *discovery_responders_; }

 private:
  std::array<prometheus::Counter*, request_result_count> requests_{};
  prometheus::Counter* retries_ = nullptr;
  prometheus::Gauge* in_flight_ = nullptr;
  std::array<prometheus::Histogram*, data_class_count> poll_duration_{};
  std::array<prometheus::Gauge*, device_state_count> devices_{};
  prometheus::Counter* discovery_targets_ = nullptr;
  prometheus::Counter* discovery_probed_ = nullptr;
  prometheus::Counter* discovery_printers_found_ = nullptr;
  std::array<prometheus::Counter*, walker_error_count> walker_errors_{};
  std::array<prometheus::Counter*, limiter_scope_count> rate_limiter_waits_{};
  std::array<prometheus::Counter*, drop_reason_count> socket_drops_{};
  prometheus::Histogram* scheduler_lag_ = nullptr;
  std::array<prometheus::Counter*, poll_result_count> polls_{};
  prometheus::Gauge* polls_in_progress_ = nullptr;
  prometheus::Gauge* scheduler_queued_ = nullptr;
  prometheus::Gauge* polls_waiting_retry_ = nullptr;
  std::array<prometheus::Counter*, direction_count> bytes_{};
  std::array<prometheus::Counter*, direction_count> datagrams_{};
  std::array<prometheus::Counter*, transition_count> transitions_{};
  prometheus::Counter* discovery_responders_ = nullptr;
};

}  // namespace fleetpoll::metrics
