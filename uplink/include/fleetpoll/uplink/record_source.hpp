// fleetpoll::uplink::record_source — the seam between the outbox (storage/) and the uplink.
//
// The uplink reads change records in sequence order, sends them, and acknowledges ranges once
// the receiver has confirmed them end to end. Sequence numbers are per site, start at 1 and have
// no gaps. The production implementation is storage's RocksDB outbox (joined by an adapter at
// integration); tests use an in-memory fake and a file-backed fake (tests/uplink/fakes/).
//
// Thread safety: every method may be called from any thread, concurrently.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <system_error>
#include <vector>

namespace fleetpoll::uplink {

struct outbox_record {
  std::uint64_t seq = 0;         // per-site sequence number, from 1, no gaps
  std::uint64_t created_ms = 0;  // when the record entered the outbox (Unix epoch ms)
  std::string bytes;             // one ChangeRecord flatbuffer ("FPCR")
};

class record_source {
 public:
  virtual ~record_source() = default;

  // Appends to `out` records with seq > after_seq, in ascending order, stopping before
  // max_records or max_bytes (sum of bytes.size()) would be exceeded — but at least one record
  // if any exists, whatever its size.
  virtual std::error_code read(std::uint64_t after_seq, std::size_t max_records,
                               std::size_t max_bytes, std::vector<outbox_record>& out) = 0;

  // The receiver confirmed [first_seq, last_seq]. Ranges may arrive out of order and may repeat.
  virtual std::error_code acknowledge(std::uint64_t first_seq, std::uint64_t last_seq) = 0;

  // The lowest sequence number not yet acknowledged (last_seq() + 1 when everything is).
  virtual std::uint64_t first_unacknowledged() = 0;
  // The highest sequence number appended so far (0 when none).
  virtual std::uint64_t last_seq() = 0;
  // Records appended and not yet acknowledged.
  virtual std::uint64_t depth() = 0;
  // created_ms of the oldest unacknowledged record (0 when depth() == 0).
  virtual std::uint64_t oldest_created_ms() = 0;

  // `listener` is called from any thread after each append (it must be cheap and not block).
  virtual void set_append_listener(std::function<void()> listener) = 0;
};

}  // namespace fleetpoll::uplink
