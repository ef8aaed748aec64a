// Internal: opening the RocksDB database with fleetpoll's column families and tuning, the
// format/site checks, status -> error mapping, and the reads both the store and the reader do.
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <system_error>
#include <vector>

#include <rocksdb/db.h>
#include <rocksdb/listener.h>

#include "device_state.hpp"
#include "fleetpoll/storage/views.hpp"
#include "keys.hpp"

namespace rocksdb {
class Cache;
}

namespace fleetpoll::storage::detail {

// An open database and its column family handles. Destroying it closes the database.
struct db_handle {
  std::unique_ptr<rocksdb::DB> db;
  std::array<rocksdb::ColumnFamilyHandle*, cf_count> cf{};
  bool secondary = false;
  std::filesystem::path secondary_path;  // removed on close

  db_handle() = default;
  db_handle(const db_handle&) = delete;
  db_handle& operator=(const db_handle&) = delete;
  ~db_handle();
};

struct db_tuning {
  std::size_t block_cache_bytes = 64u << 20;
  std::size_t write_buffer_bytes = 16u << 20;
  int background_jobs = 2;
  std::vector<std::shared_ptr<rocksdb::EventListener>> listeners;
  std::shared_ptr<rocksdb::Cache> cache;  // created from block_cache_bytes when null
};

// Wall clock, Unix ms.
std::uint64_t system_now_ms();

// Maps a RocksDB status to a storage error (ok -> empty).
std::error_code from_status(const rocksdb::Status& s);

struct meta_info {
  bool present = false;  // the database has fleetpoll's meta column family and format version
  std::uint32_t format_version = 0;
  std::string site_id;
  std::uint64_t last_seq = 0;
  std::uint64_t retention_ms = 0;
  std::uint64_t created_ms = 0;
};

// Opens for writing, creating a new database (with site_id) when the folder is missing or empty.
// Refuses newer formats, other sites, foreign folders. `meta` gets what the database says.
std::error_code open_for_write(const std::filesystem::path& path, const std::string& site_id,
                               std::uint64_t retention_ms, std::uint64_t now_ms,
                               const db_tuning& tuning, std::unique_ptr<db_handle>& out,
                               meta_info& meta, std::string& detail);

// Opens a RocksDB secondary instance (it follows a primary that may be writing right now).
// `scratch` is a new empty folder for the secondary's own files.
std::error_code open_secondary(const std::filesystem::path& path,
                               const std::filesystem::path& scratch, const db_tuning& tuning,
                               std::unique_ptr<db_handle>& out, meta_info& meta,
                               std::string& detail);

std::error_code read_meta(const db_handle& h, meta_info& meta);

// ---- reads shared by store and reader --------------------------------------------------------

struct db_ref {
  rocksdb::DB* db = nullptr;
  std::array<rocksdb::ColumnFamilyHandle*, cf_count> cf{};
  std::uint64_t cutoff_ms = 0;  // retention: nothing older is returned
  std::uint64_t now_ms = 0;
};

// Every stored device state. Values that fail verification are skipped and counted.
std::error_code load_states(const db_ref& r, std::vector<device_state>& out,
                            std::uint64_t* corrupt);
// The id stored for an address (0: none).
std::error_code lookup_address(const db_ref& r, std::string_view address, std::uint64_t& id);

// Samples of one device, optionally of one series, with since <= at <= until, by series then
// time. Undecodable values are skipped and counted.
struct series_filter {
  series_kind kind;
  std::uint32_t hr_device_index;
  std::uint32_t index;
};
std::error_code read_samples(const db_ref& r, std::uint64_t device_id, const series_filter* only,
                             std::uint64_t since_ms, std::uint64_t until_ms,
                             std::vector<sample>& out, std::uint64_t* corrupt);

// ChangeRecords of one device with since <= at <= until, in time order (verified; bad ones
// skipped and counted).
std::error_code read_events(const db_ref& r, std::uint64_t device_id, std::uint64_t since_ms,
                            std::uint64_t until_ms, std::vector<std::string>& out,
                            std::uint64_t* corrupt);

// Forecast of one supply of a device from its samples.
forecast supply_forecast(const db_ref& r, const device_state& s, const supply_state& x);

// devices() and history() for either side.
std::error_code devices_query(const db_ref& r, const std::vector<device_state>& states,
                              bool with_forecast, std::vector<device_view>& out);
std::error_code history_query_run(const db_ref& r, const device_state& s, const history_query& q,
                                  history_result& out, std::uint64_t* corrupt);

// Total size of the files in a folder (the database on disk).
std::uint64_t folder_bytes(const std::filesystem::path& path);

}  // namespace fleetpoll::storage::detail
