// fleetpoll::storage::store — the RocksDB database of one site: device state, time series,
// change events and the outbox.
//
// The engine hands every poll of every device to ingest(). The store compares it with the
// device's last stored state, judging only the data classes that poll fetched, and writes — in
// one atomic RocksDB write batch — the new state, the time-series samples that changed, and the
// ChangeRecords (codecs/schema/change.fbs) that the change rules produce, each with the next
// per-site sequence number, into both the outbox (until acknowledged) and the device's event
// history (until retention). Nothing is written for a poll that changed nothing. The rules,
// the byte layout and the failure behaviour: docs/storage-format.md.
//
// Failure behaviour
//   * A write that fails (disk full, I/O error) returns the error and changes nothing: not the
//     stored state, not the in-memory state, not the sequence numbers. The next poll of that
//     device is judged against the same last state, so the changes are reported once the
//     database is writable again (changes that came and went in between are not seen).
//   * While the file system has less than min_free_bytes free, ingest refuses with no_space
//     before RocksDB fails; acknowledgements and reads still work.
//   * After a RocksDB write error the store recovers in the background (Resume, else a reopen)
//     every recovery_interval; meanwhile writes fail fast with `unavailable`.
//   * Errors are counted in fleetpoll_storage_write_errors_total{error} and logged (spdlog),
//     at most once a minute per kind after the first.
//
// Thread safety: ingest(), device_unreachable(), the outbox and the queries may be called from
// any number of threads at once. Polls of one device are serialized by the store; polls of
// different devices proceed in parallel up to the single RocksDB write that carries outbox
// records (sequence numbers are assigned and written under one lock, so records become visible
// strictly in sequence order).
// Ownership: store::open() returns the only owner; destroying it closes the database (waiting
// for in-flight calls to finish is the caller's job: do not destroy it while other threads
// still call it).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "fleetpoll/storage/error.hpp"
#include "fleetpoll/storage/options.hpp"
#include "fleetpoll/storage/outbox.hpp"
#include "fleetpoll/storage/views.hpp"

namespace fleetpoll::storage {

// The on-disk format this build writes and the newest it reads (meta "format_version").
inline constexpr std::uint32_t format_version = 1;

// One finished poll of one device, as the engine hands it over.
struct poll_record {
  // Device key: where it is polled, "127.1.0.1:1161". Stable per device; becomes the device's
  // address in ChangeRecords. Must not be empty.
  std::string_view address;
  // When the poll was answered, Unix ms.
  std::uint64_t at_ms = 0;
  // Bitmask of the data classes this poll fetched:
  // 1u << static_cast<int>(codecs::mib::data_class::X) for each class X. Tables of classes not
  // in the mask are ignored even when present in the snapshot; a class in the mask whose rows
  // are missing counts as "those rows are gone" (after store_options::thresholds.removal_polls).
  std::uint8_t classes = 0;
  // DeviceSnapshot flatbuffer bytes (codecs::normalize()). Verified before use; any alignment.
  std::span<const std::uint8_t> snapshot;
};

// What one call wrote (for tests, benchmarks and logs).
struct ingest_stats {
  std::uint32_t records = 0;  // ChangeRecords appended
  std::uint32_t samples = 0;  // time-series samples written
  bool state_written = false;
};

class store {
 public:
  // Opens (creating when missing) the database at options.path. On failure `out` is empty and
  // `detail` (when given) says what to do, e.g. "database /x has format version 2; this
  // fleetpoll reads versions up to 1: use a newer fleetpoll". Errors: invalid_options,
  // newer_format, site_mismatch, not_a_database, busy, io_error, corruption.
  static std::error_code open(const store_options& options, std::unique_ptr<store>& out,
                              std::string* detail = nullptr);

  ~store();
  store(const store&) = delete;
  store& operator=(const store&) = delete;

  // Judges and persists one poll. Errors: invalid_snapshot, invalid_record (nothing written);
  // no_space, io_error, corruption, unavailable (nothing written; retry with a later poll).
  std::error_code ingest(const poll_record& poll);
  // The same, and says what was written.
  std::error_code ingest(const poll_record& poll, ingest_stats& stats);

  // Group commit: judges the polls in order, exactly as ingest() one by one would, and persists
  // them with as few RocksDB writes as it can — one write for up to max_group_polls polls that
  // changed something. results[i] is what ingest(polls[i]) would have returned; stats, when not
  // empty, gets what each poll wrote. A device may appear more than once: its polls are judged
  // in order, each against the state the previous one left.
  // A write that fails fails every poll in it and changes nothing of them, as with ingest(); the
  // polls after them in `polls` are then not attempted and get the same error, so a caller that
  // retries from its first failed poll keeps every device's polls in order. (Polls before that
  // point that failed for good — invalid_record, invalid_snapshot — are not retried.)
  // Returns the first error of any poll, or success. Preconditions: results.size() >=
  // polls.size(); stats is empty or as long as polls (else invalid_record and nothing is done).
  // Thread safety: as ingest(); a thread blocks on a device another thread is writing only after
  // it has written what it had grouped, so concurrent callers cannot deadlock.
  std::error_code ingest_many(std::span<const poll_record> polls,
                              std::span<std::error_code> results,
                              std::span<ingest_stats> stats = {});
  // The most polls ingest_many() puts into one RocksDB write.
  static constexpr std::size_t max_group_polls = 256;

  // The engine gave up on a device: `failed_polls` consecutive polls failed, the last with
  // `last_error` (e.g. "timeout"; never a credential). A device that was up gets a device_down
  // record; the next successful ingest() gives device_up. For an address never ingested this
  // is a no-op (there is nothing to report about it yet). Errors as ingest().
  std::error_code device_unreachable(std::string_view address, std::uint64_t at_ms,
                                     std::uint32_t failed_polls, std::string_view last_error);

  // The durable outbox (see outbox.hpp).
  storage::outbox& outbox() noexcept;

  // ---- queries on the live database (storage::reader offers the same to other processes) ----
  // Every device with its latest state, by device id; forecasts per supply when with_forecast.
  std::error_code devices(std::vector<device_view>& out, bool with_forecast);
  // One device's samples and events in a time range. Errors: not_found, io_error.
  std::error_code history(std::uint64_t device_id, const history_query& query, history_result& out);
  // The device id of an address; 0 when unknown.
  std::uint64_t device_id(std::string_view address) const;

  // ---- operations ----
  // Deletes the samples and events of every whole week older than the retention period now (the
  // store also does this on its own, hourly, in the background). `deleted` gets the number of
  // entries removed.
  std::error_code enforce_retention(std::uint64_t* deleted = nullptr);
  // Compacts every column family down to the last level (benchmarks, tests, offline tidy-up).
  std::error_code compact();
  // Bytes of the database on disk: table files plus write-ahead logs.
  std::uint64_t disk_bytes();
  // True while writes succeed (false from a write error until recovery succeeded).
  bool writable() const noexcept;
  // Waits up to `timeout` for writable(), returning it. Tests use it instead of sleeping.
  bool wait_writable(std::chrono::milliseconds timeout);

  class impl;

 private:
  explicit store(std::unique_ptr<impl> p);
  std::unique_ptr<impl> impl_;
};

}  // namespace fleetpoll::storage
