#include "storage_metrics.hpp"

#include <prometheus/family.h>

#include "fleetpoll/storage/error.hpp"

namespace fleetpoll::storage::detail {

write_error_kind kind_of(std::error_code ec) noexcept {
  if (ec == error::no_space) return write_error_kind::no_space;
  if (ec == error::corruption) return write_error_kind::corruption;
  if (ec == error::unavailable) return write_error_kind::unavailable;
  return write_error_kind::io_error;
}

storage_metrics::storage_metrics(prometheus::Registry& r) {
  using prometheus::BuildCounter;
  using prometheus::BuildGauge;
  auto gauge = [&](const char* name, const char* help) {
    return &BuildGauge().Name(name).Help(help).Register(r).Add({});
  };
  auto counter = [&](const char* name, const char* help) {
    return &BuildCounter().Name(name).Help(help).Register(r).Add({});
  };
  outbox_depth = gauge("fleetpoll_storage_outbox_depth",
                       "Change records in the outbox waiting for the receiver's acknowledgement.");
  outbox_oldest_age =
      gauge("fleetpoll_storage_outbox_oldest_age_seconds",
            "Age of the oldest unacknowledged change record (0 when the outbox is empty).");
  outbox_last_seq = gauge("fleetpoll_storage_outbox_last_seq",
                          "Sequence number of the last change record appended.");
  records_appended =
      counter("fleetpoll_storage_records_appended_total", "Change records appended to the outbox.");
  records_acknowledged = counter("fleetpoll_storage_records_acknowledged_total",
                                 "Change records deleted from the outbox after acknowledgement.");
  writes = counter("fleetpoll_storage_writes_total", "RocksDB write batches committed.");
  auto& errors = BuildCounter()
                     .Name("fleetpoll_storage_write_errors_total")
                     .Help("Writes that failed, by error (nothing of a failed write is kept).")
                     .Register(r);
  const char* error_labels[] = {"no_space", "io_error", "corruption", "unavailable"};
  for (std::size_t i = 0; i < write_errors.size(); ++i)
    write_errors[i] = &errors.Add({{"error", error_labels[i]}});
  auto& polls_f = BuildCounter()
                      .Name("fleetpoll_storage_polls_total")
                      .Help("Polls handed to the store, by outcome.")
                      .Register(r);
  const char* poll_labels[] = {"written", "unchanged", "rejected", "failed"};
  for (std::size_t i = 0; i < polls.size(); ++i)
    polls[i] = &polls_f.Add({{"result", poll_labels[i]}});
  samples_written =
      counter("fleetpoll_storage_samples_written_total", "Time-series samples written.");
  auto& retention = BuildCounter()
                        .Name("fleetpoll_storage_retention_deleted_total")
                        .Help("Entries deleted because they were older than the retention period.")
                        .Register(r);
  retention_samples = &retention.Add({{"family", "samples"}});
  retention_events = &retention.Add({{"family", "events"}});
  corrupt_values = counter("fleetpoll_storage_corrupt_values_total",
                           "Stored values that failed verification and were skipped.");
  recoveries = counter("fleetpoll_storage_recoveries_total",
                       "Times the store recovered from a write error (RocksDB resume or reopen).");
  disk_bytes = gauge("fleetpoll_storage_disk_bytes", "Size of the database folder on disk.");
  writable = gauge("fleetpoll_storage_writable",
                   "1 while writes succeed, 0 after a write error until recovery.");
  writable->Set(1);
}

}  // namespace fleetpoll::storage::detail
