// fleetpoll::storage::outbox — the durable queue of ChangeRecords waiting to leave the site.
//
// Records are appended by store::ingest() / store::device_unreachable() in the same RocksDB
// write batch as the device state they derive from, so a record exists exactly when its state
// change does, across crashes. Each record carries a sequence number: per site, from 1, without
// gaps, never reused, surviving restarts and crashes (it is persisted in the same batch).
// A record leaves the outbox only when the receiver has acknowledged it.
//
// The uplink reads batches with read(after_seq, ...) — typically after the last sequence number
// it has sent — and acknowledges ranges as receipts come back, in any order across connections.
//
// Durability: with store_options::sync_before_handout (default), read() fsyncs the write-ahead
// log before it returns records that are not yet on stable storage, so a power cut can never
// lose a record the receiver may already hold (which would make its sequence number reused).
// Acknowledgements are written without fsync: a lost acknowledgement only means the record is
// sent again, and the receiver deduplicates by (site, seq).
//
// Thread safety: every member may be called from any thread, concurrently with ingest. The
// append listener is called on the thread that appended, after the write, with no store lock
// held (it may call read()).
// Ownership: owned by its store; valid as long as the store is.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <system_error>
#include <vector>

namespace fleetpoll::storage {

struct outbox_entry {
  std::uint64_t seq = 0;         // the record's sequence number (also inside the record)
  std::uint64_t created_ms = 0;  // Unix ms when it was appended (store_options::clock)
  std::string bytes;             // a ChangeRecord flatbuffer (codecs/schema/change.fbs)
};

class outbox {
 public:
  virtual ~outbox() = default;

  // Replaces `out` with the records of sequence number > after_seq, in order: at most
  // max_records, and no more than max_bytes of record bytes in total — except that the first
  // record is always returned when one exists, even if it alone exceeds max_bytes.
  // Errors: io_error (the read or the fsync failed; out is empty), corrupt_value (a stored record
  // fails verification; out holds the good records before it, and is empty when the first
  // record is the bad one).
  virtual std::error_code read(std::uint64_t after_seq, std::size_t max_records,
                               std::size_t max_bytes, std::vector<outbox_entry>& out) = 0;

  // The receiver confirmed every record in [first_seq, last_seq]; those still present are
  // deleted. Idempotent; ranges may arrive in any order and overlap.
  // Errors: invalid_ack (first_seq > last_seq, first_seq == 0, or last_seq > last_seq()),
  // io_error / no_space / unavailable (nothing was deleted; call again).
  virtual std::error_code acknowledge(std::uint64_t first_seq, std::uint64_t last_seq) = 0;

  // The smallest sequence number not acknowledged yet; last_seq() + 1 when all are.
  virtual std::uint64_t first_unacknowledged() const = 0;
  // The last sequence number appended (0 before the first record).
  virtual std::uint64_t last_seq() const = 0;
  // How many records wait for acknowledgement.
  virtual std::uint64_t depth() const = 0;
  // created_ms of the record first_unacknowledged(); 0 when the outbox is empty.
  virtual std::uint64_t oldest_created_ms() const = 0;

  // Called after records were appended (from the appending thread). Replaces an earlier
  // listener; an empty function removes it.
  virtual void set_append_listener(std::function<void()> listener) = 0;
};

}  // namespace fleetpoll::storage
