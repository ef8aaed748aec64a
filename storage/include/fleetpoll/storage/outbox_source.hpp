// fleetpoll::storage::outbox_source — the uplink's record_source over a store's durable outbox.
//
// The uplink (uplink/include/fleetpoll/uplink/record_source.hpp) reads change records in
// sequence order, sends them, and acknowledges ranges once the receiver confirmed them. This
// adapter forwards each call to storage::outbox (outbox.hpp); the two contracts match except
// where noted:
//   * read() appends to `out` (the outbox replaces its vector): records with seq > after_seq,
//     in order, within max_records and max_bytes, at least one when one exists. Before it hands
//     records out, the outbox makes them durable (store_options::sync_before_handout), so a
//     sequence number the receiver has seen can never be lost and reused.
//     Errors: io_error (nothing appended); corrupt_value — a stored record fails verification:
//     the good records before it are appended and the error is returned, so the uplink stops
//     at the damaged record instead of skipping it (the store logs and counts it).
//   * acknowledge(): records are deleted only here. Repeated and out-of-order ranges are fine
//     (idempotent). A range beyond the last appended record is refused with invalid_ack and
//     deletes nothing; a write failure (io_error, no_space, unavailable) deletes nothing: the
//     uplink keeps the range and may acknowledge it again.
//   * first_unacknowledged(), last_seq(), depth(), oldest_created_ms(), set_append_listener()
//     are the outbox's own (the listener runs on the thread that appended, after the write).
//
// Ownership: not owning; the store must outlive the source.
// Thread safety: every member may be called from any thread, concurrently (as the outbox).
#pragma once

#include "fleetpoll/uplink/record_source.hpp"

namespace fleetpoll::storage {

class store;
class outbox;

class outbox_source final : public uplink::record_source {
 public:
  explicit outbox_source(store& db);
  explicit outbox_source(storage::outbox& box) : box_(box) {}

  std::error_code read(std::uint64_t after_seq, std::size_t max_records, std::size_t max_bytes,
                       std::vector<uplink::outbox_record>& out) override;
  std::error_code acknowledge(std::uint64_t first_seq, std::uint64_t last_seq) override;
  std::uint64_t first_unacknowledged() override;
  std::uint64_t last_seq() override;
  std::uint64_t depth() override;
  std::uint64_t oldest_created_ms() override;
  void set_append_listener(std::function<void()> listener) override;

 private:
  storage::outbox& box_;
};

}  // namespace fleetpoll::storage
