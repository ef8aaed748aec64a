// fleetpoll::storage::engine_sink — the engine's snapshot_sink over a storage::store.
//
// The engine calls on_poll / on_device_down / on_device_up from its polling threads; this sink
// copies each call into a queue and returns at once. Writer threads (one per queue; a device
// always goes to the same queue, chosen by a hash of its address, so its calls stay in poll
// order) hand them to store::ingest_many() — the polls waiting at the head of a queue, up to
// max_group_polls, in one call and so in one RocksDB write — and store::device_unreachable().
// The engine never waits for the disk.
//
// Failure behaviour (issue 5, point 7)
//   * A write that fails for a reason that can pass — no_space, io_error, unavailable, busy —
//     is retried: the writer keeps the call (and the calls it took after it) and tries again after
//     store::wait_writable() or every retry_interval, until it succeeds or the sink stops. The
//     store writes nothing for a failed call (not the state, not the records, not the sequence
//     numbers), so a retry can neither corrupt nor duplicate anything in the outbox.
//   * Meanwhile polling goes on and the queue fills. When a queue holds max_queued_polls polls,
//     the next poll of a device that is already queued replaces the queued one (the newest
//     reading wins; the store judges it against the last stored state, so changes that last —
//     a new cartridge, an alert still raised, a counter that went backwards — are still
//     recorded; only changes that came and went inside the outage are not seen). A poll of a
//     device not yet queued is dropped and counted. Down/up events are never dropped or merged.
//     Nothing already in the outbox is ever dropped: only polls not yet judged are.
//   * A call the store refuses for good (invalid_snapshot, invalid_record) is counted and logged
//     and not retried.
//   * Every failure is counted (stats(), and the fleetpoll_storage_sink_* metric families when
//     options.metrics is set) and logged through spdlog, at most once a minute per kind after
//     the first.
//
// Ownership: the store must outlive the sink. The sink owns its threads; stop() (or the
// destructor) drains the queues for up to the grace period and joins them.
// Thread safety: every member may be called from any thread, concurrently; on_poll etc. never
// block on the disk (they take a short queue lock).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>

#include "fleetpoll/engine/snapshot_sink.hpp"

namespace prometheus {
class Registry;
}

namespace fleetpoll::storage {

class store;

struct engine_sink_options {
  // Writer threads, each with its own queue (devices are spread by a hash of their address).
  // Default: 2
  unsigned writer_threads = 2;
  // Polls one queue may hold before polls are merged per device or dropped (see above); its
  // writer holds up to max_group_polls more while it writes them. At about 2 KB per queued
  // snapshot the default bounds the memory to ~130 MB per queue.
  // Default: 65,536
  std::size_t max_queued_polls = 65536;
  // Polls a writer hands to the store in one store::ingest_many() call (group commit: one
  // RocksDB write for all of them), taken from the head of its queue as they are there — a
  // writer never waits for a group to fill. 1 = one write per poll; at most
  // store::max_group_polls. Default: 64
  std::size_t max_group_polls = 64;
  // How long a writer waits between attempts when the store stays unwritable. Default: 1 s
  std::chrono::milliseconds retry_interval{1000};
  // flush() waits at most this long for the queues to drain. Default: 30 s
  std::chrono::milliseconds flush_timeout{30000};
  // fleetpoll_storage_sink_* families are created here when set; it must outlive the sink.
  // Default: none.
  prometheus::Registry* metrics = nullptr;
};

struct engine_sink_stats {
  std::uint64_t polls_received = 0;   // on_poll calls
  std::uint64_t events_received = 0;  // on_device_down / on_device_up calls
  std::uint64_t written = 0;          // calls the store accepted (changed something or not)
  std::uint64_t merged = 0;           // queued polls replaced by a newer poll of the device
  std::uint64_t dropped = 0;          // polls dropped because the queue was full
  std::uint64_t rejected = 0;         // refused for good (invalid snapshot/record)
  std::uint64_t retries = 0;          // failed attempts that were retried
  std::uint64_t queued = 0;           // waiting now, all queues
};

class engine_sink final : public engine::snapshot_sink {
 public:
  // Starts the writer threads.
  engine_sink(store& db, const engine_sink_options& options = {});
  ~engine_sink() override;  // stop(flush_timeout)
  engine_sink(const engine_sink&) = delete;
  engine_sink& operator=(const engine_sink&) = delete;

  void on_poll(const engine::poll_record& record) override;
  void on_device_down(const engine::device_down_event& event) override;
  void on_device_up(const engine::device_up_event& event) override;
  // Waits until every call received before it has been written (or refused for good), for up
  // to flush_timeout; logs what is left when the time runs out.
  void flush() override;
  // Like flush(), with a bound of the caller's; true when everything was written.
  bool drain(std::chrono::milliseconds timeout);

  // Drains for up to `grace`, then stops the writers; calls after stop() are dropped and
  // counted. Idempotent.
  void stop(std::chrono::milliseconds grace);

  engine_sink_stats stats() const;

  struct impl;

 private:
  std::unique_ptr<impl> impl_;
};

}  // namespace fleetpoll::storage
