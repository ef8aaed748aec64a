// TEST FAKE of the outbox (record_source) — NOT the production outbox, which is storage's RocksDB
// outbox joined at integration. Two flavours in one class:
//   * in memory (path empty): for unit tests and benchmarks;
//   * file-backed (path set): records appended to <dir>/outbox.log (one write() per record:
//     u64 seq, u64 created_ms, u32 length, bytes; little-endian) and acknowledged ranges to
//     <dir>/acks.log ("first last" lines), so that state survives a SIGKILL of the process.
//     A torn last record (killed mid-write) is dropped on open.
// Semantics follow record_source.hpp exactly. Thread-safe (one mutex).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "fleetpoll/uplink/record_source.hpp"

namespace fleetpoll::uplink::test {

class fake_outbox final : public record_source {
 public:
  // dir empty: memory only. Otherwise loads what dir holds (creating the files if missing).
  explicit fake_outbox(std::string dir = {});
  ~fake_outbox() override;

  // Appends a record with the next seq; returns the seq. created_ms 0 = now.
  std::uint64_t append(std::string bytes, std::uint64_t created_ms = 0);
  // Appends several records at once (one listener call), as one outbox write batch would.
  // In-memory outboxes only (not written to the file).
  void append_many(std::vector<std::pair<std::string, std::uint64_t>> records);

  std::error_code read(std::uint64_t after_seq, std::size_t max_records, std::size_t max_bytes,
                       std::vector<outbox_record>& out) override;
  std::error_code acknowledge(std::uint64_t first_seq, std::uint64_t last_seq) override;
  std::uint64_t first_unacknowledged() override;
  std::uint64_t last_seq() override;
  std::uint64_t depth() override;
  std::uint64_t oldest_created_ms() override;
  void set_append_listener(std::function<void()> listener) override;

  // Every record ever appended (for comparisons with what the receiver holds).
  std::vector<outbox_record> all();
  // Acknowledge calls received (ranges may repeat).
  std::size_t acknowledge_calls();

 private:
  std::uint64_t depth_locked() const;
  std::mutex mu_;
  std::vector<outbox_record> records_;  // records_[i].seq == i + 1
  std::vector<bool> acked_;
  std::uint64_t first_unacked_ = 1;
  std::uint64_t acked_count_ = 0;
  std::size_t ack_calls_ = 0;
  std::function<void()> listener_;
  int records_fd_ = -1;
  int acks_fd_ = -1;
};

}  // namespace fleetpoll::uplink::test
