// fleetpoll::storage::reader — read-only access to a site database from another process.
//
// Opens the database as a RocksDB *secondary instance*: it never takes the write lock, so it
// works while the engine has the database open for writing, and sees what the engine had
// written when the reader opened (or last called refresh()). It never modifies the database.
// Used by `fleetpoll devices`, `fleetpoll history` and `fleetpoll export`.
//
// The secondary keeps a few bookkeeping files of its own in a scratch folder (a new temporary
// folder unless reader_options::scratch names one); they are removed when the reader closes.
//
// Thread safety: one reader per thread (RocksDB secondaries allow concurrent reads, but
// refresh() must not race them).
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "fleetpoll/storage/views.hpp"

namespace fleetpoll::storage {

struct reader_options {
  // The database folder (store_options::path of the writer). Default: none (required).
  std::filesystem::path path;
  // An empty folder for the secondary instance's own files. Default: a new folder under the
  // system temporary directory, removed on close.
  std::filesystem::path scratch;
  // Block cache for the reads. Default: 32 MiB
  std::size_t block_cache_bytes = 32u << 20;
  // Wall clock in Unix ms (retention cut-off, forecasts). Default: std::chrono::system_clock.
  std::function<std::uint64_t()> clock;
};

struct database_info {
  std::uint32_t format_version = 0;
  std::string site_id;
  std::uint64_t created_ms = 0;
  std::uint64_t last_seq = 0;      // as persisted when the reader (re)opened
  std::uint64_t retention_ms = 0;  // the writer's retention: older data is never returned
  std::uint64_t outbox_depth = 0;  // records waiting for acknowledgement
  std::uint64_t outbox_first = 0;  // the first unacknowledged sequence number (0: none)
};

class reader {
 public:
  // Errors: no_database (nothing at path), not_a_database, newer_format, io_error, corruption.
  // `detail` says what and where.
  static std::error_code open(const reader_options& options, std::unique_ptr<reader>& out,
                              std::string* detail = nullptr);
  ~reader();
  reader(const reader&) = delete;
  reader& operator=(const reader&) = delete;

  // Catches up with what the writer has written since (RocksDB TryCatchUpWithPrimary).
  std::error_code refresh();

  std::error_code info(database_info& out);
  // Every device, by device id; forecasts per supply when with_forecast.
  std::error_code devices(std::vector<device_view>& out, bool with_forecast);
  // A device by id ("17"), address ("127.1.0.1:1161"), serial or sysName — in that order of
  // preference. Errors: not_found.
  std::error_code find_device(std::string_view key, device_view& out);
  std::error_code history(std::uint64_t device_id, const history_query& query, history_result& out);
  // Values that failed verification and were skipped so far (damaged or foreign bytes).
  std::uint64_t corrupt_values() const noexcept;

  class impl;

 private:
  explicit reader(std::unique_ptr<impl> p);
  std::unique_ptr<impl> impl_;
};

}  // namespace fleetpoll::storage
