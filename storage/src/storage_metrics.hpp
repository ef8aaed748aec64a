// Internal: the store's Prometheus families (docs/storage-format.md, "Metrics"). Created on the
// registry in store_options::metrics; every labelled series exists from the start (at 0).
// Thread safety: as prometheus-cpp counters and gauges (atomics); construction once.
#pragma once

#include <array>
#include <cstddef>
#include <system_error>

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

namespace fleetpoll::storage::detail {

// fleetpoll_storage_polls_total{result}
enum class poll_result { written, unchanged, rejected, failed };
inline constexpr std::size_t poll_result_count = 4;
// fleetpoll_storage_write_errors_total{error}
enum class write_error_kind { no_space, io_error, corruption, unavailable };
inline constexpr std::size_t write_error_kind_count = 4;
write_error_kind kind_of(std::error_code ec) noexcept;

struct storage_metrics {
  explicit storage_metrics(prometheus::Registry& r);

  prometheus::Gauge* outbox_depth;
  prometheus::Gauge* outbox_oldest_age;
  prometheus::Gauge* outbox_last_seq;
  prometheus::Counter* records_appended;
  prometheus::Counter* records_acknowledged;
  prometheus::Counter* writes;
  std::array<prometheus::Counter*, write_error_kind_count> write_errors{};
  std::array<prometheus::Counter*, poll_result_count> polls{};
  prometheus::Counter* samples_written;
  prometheus::Counter* retention_samples;
  prometheus::Counter* retention_events;
  prometheus::Counter* corrupt_values;
  prometheus::Counter* recoveries;
  prometheus::Gauge* disk_bytes;
  prometheus::Gauge* writable;
};

}  // namespace fleetpoll::storage::detail
