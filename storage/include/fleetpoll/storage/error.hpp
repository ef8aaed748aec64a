// fleetpoll::storage::error — the one error enum of the storage module.
//
// Every storage call that can fail returns a std::error_code made from this enum. Codes are
// stable: never renumber, only append. Where a call can say more (which file, which version),
// it also fills a human-readable detail string; the code alone is enough to decide what to do.
// Thread safety: the category is a function-local static; safe from any thread.
#pragma once

#include <system_error>

namespace fleetpoll::storage {

enum class error {
  ok = 0,
  // ---- opening ----
  invalid_options = 1,  // an option out of range or missing (path, site id, thresholds)
  newer_format,         // the database was written by a newer fleetpoll (format version above ours)
  site_mismatch,        // the database belongs to another site id
  not_a_database,       // the folder exists, is not empty, and holds no fleetpoll database
  no_database,          // nothing to read at that path (query commands never create one)
  busy,                 // another process holds the database open for writing
  // ---- RocksDB / file system ----
  io_error = 20,  // a read or write failed (RocksDB IOError other than a full disk)
  no_space,       // the disk is full, or below store_options::min_free_bytes
  corruption,     // RocksDB reported corruption (checksum mismatch, torn file)
  unavailable,    // the database is recovering from an earlier error; retry later
  // ---- input ----
  invalid_snapshot = 40,  // DeviceSnapshot bytes that fail flatbuffers verification
  invalid_record,         // a poll_record that makes no sense (empty address, unknown class bits)
  invalid_ack,            // acknowledge(): first > last, or beyond the last appended record
  // ---- stored data ----
  corrupt_value = 60,  // a stored value that fails verification (a damaged or foreign value)
  not_found,           // no such device (queries)
};

const std::error_category& storage_category() noexcept;

inline std::error_code make_error_code(error e) noexcept {
  return {static_cast<int>(e), storage_category()};
}

}  // namespace fleetpoll::storage

template <>
struct std::is_error_code_enum<fleetpoll::storage::error> : std::true_type {};
