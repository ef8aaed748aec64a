// fleetpoll::engine::engine — polls a fleet: shards, scheduler, walker, normalizer, sink.
//
// The engine owns one shard per thread. A shard is an io_context on its own thread with its own
// UDP socket(s) (snmp_client), rate limiter, timing wheel and the devices assigned to it (by a
// hash of their subnet, so one shard enforces a subnet's packet cap exactly; the global cap and
// the poll slots are divided evenly between shards). Nothing on the polling path is shared
// between shards: no locks, except the codec's net-snmp mutex and the sink (which is the seam).
//
// Scheduling. Each data class has a cadence (schedule_options). A device's first poll falls at
// a point spread evenly (by a hash of the device) over `first_poll_spread`, and fetches every
// class; from then on class c is due every cadence[c] after that anchor (phase-locked: a late
// poll does not shift later ones). When a device is due, every class due within `coalesce` of
// its cadence rides along, so one poll fetches what would otherwise take several. Devices due
// when all poll slots are busy wait in a FIFO (scheduler lag is measured).
//
// Poll slots. A poll holds one of `max_concurrent_polls` slots while it does work. When its
// request times out unanswered and it only waits on a retransmission, it leaves its slot and
// counts against `max_waiting_polls` instead (beyond that bound it keeps its slot), so dead
// devices do not hold the live ones back. When the device answers, the poll takes a slot again
// before it goes on: at once if one is free, else it waits with its reply in hand in a FIFO that
// is served before any new poll starts (it cannot starve: slots free up as polls end or wait).
//
// Reachability. A poll that gets no reply at all is a failed poll. After `down_after` failed
// polls in a row the device is down: the sink's on_device_down is called once, and the device is
// then only probed (one GET of sysUpTime.0) every `down_probe_interval`; when a probe or poll is
// answered the sink's on_device_up is called and the device is polled at once.
//
// Output. After each poll that fetched at least one complete class, the view is normalized into
// a DeviceSnapshot (flatbuffers) and handed to the sink (snapshot_sink.hpp) with the class mask.
//
// Lifecycle: construct, add_target() for every device, start(); then either the schedule runs
// (schedule_options::enabled) or the owner drives polls with poll_all_now() + wait_idle()
// (benchmarks, tests, one-shot runs). stop() stops scheduling, lets polls in flight finish for
// up to `grace`, cancels the rest (their complete classes still reach the sink), joins every
// thread and flushes the sink. The destructor calls stop(0).
//
// Ownership: the sink and the metrics (optional) must outlive the engine.
// Thread safety: add_target() before start() from one thread; start(), poll_all_now(),
// wait_idle(), stats() and stop() from any one non-engine thread (not from a sink callback).
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <system_error>
#include <vector>

#include <boost/asio/ip/udp.hpp>

#include "fleetpoll/engine/latency_histogram.hpp"
#include "fleetpoll/engine/poll_plan.hpp"
#include "fleetpoll/engine/snapshot_sink.hpp"
#include "fleetpoll/engine/snmp_client.hpp"
#include "fleetpoll/engine/targets.hpp"
#include "fleetpoll/engine/walker.hpp"

namespace fleetpoll::metrics {
class engine_metrics;
}

namespace fleetpoll::engine {

struct schedule_options {
  // Cadence per data class, indexed by data_class (identity, status, alerts, supplies,
  // counters). Default: identity 24 h, status 3 min, alerts 3 min, supplies 60 min, counters
  // 20 min (EKM Insight runs alerts ~3 min, meters ~20, supplies ~60).
  std::array<std::chrono::seconds, data_class_count> cadence{
      std::chrono::seconds{86400}, std::chrono::seconds{180}, std::chrono::seconds{180},
      std::chrono::seconds{3600}, std::chrono::seconds{1200}};
  // A class due within this share of its own cadence is fetched with an earlier poll.
  // Default: 0.2
  double coalesce = 0.2;
  // First polls are spread evenly over this time. 0 = automatic: the shortest cadence, or 10 ms
  // per device if that is shorter (a small fleet starts at once). Default: 0 (automatic)
  std::chrono::milliseconds first_poll_spread{0};
  // Failed polls in a row that make a device down. Default: 3
  std::uint32_t down_after = 3;
  // How often a down device is probed. Default: 5 min (±10 % jitter)
  std::chrono::seconds down_probe_interval{300};
  // Wheel resolution. Default: 10 ms
  std::chrono::milliseconds tick{10};
  // false: nothing is polled except through poll_all_now(). Default: true
  bool enabled = true;
};

struct engine_options {
  // Polling threads (shards); 0 = one per core. Default: 0
  unsigned threads = 0;
  // Poll slots: polls doing work at once, all shards together. A poll that only waits on a
  // retransmission leaves its slot (see max_waiting_polls). Default: 4,096
  std::size_t max_concurrent_polls = 4096;
  // Polls that may wait on a retransmission outside a slot, all shards together; beyond that a
  // waiting poll keeps its slot. 0 = 8 x max_concurrent_polls. Default: 0
  std::size_t max_waiting_polls = 0;
  client_options client{};  // transport, retries, timeouts, rate limits (per process)
  walk_options walk{};
  schedule_options schedule{};
  // Copy sysContact (a person) into snapshots. Default: false
  bool include_contact = false;
  // How often shards publish their counters to the metrics. Default: 250 ms
  std::chrono::milliseconds metrics_interval{250};
};

// One device to poll.
struct target {
  boost::asio::ip::udp::endpoint address;
  std::string community = "public";
  version_choice version = version_choice::auto_detect;
  bool accept_any_source = false;
};

// Totals over all shards, taken by stats().
struct engine_stats {
  std::uint64_t devices = 0, up = 0, down = 0, never_seen = 0;
  std::uint64_t polls_complete = 0, polls_partial = 0, polls_failed = 0, polls_cancelled = 0;
  std::uint64_t polls_in_progress = 0, queued = 0;  // polls started and not ended; due, no slot
  // Poll slots (max_concurrent_polls / max_waiting_polls). Now: polls out of their slot, waiting
  // on a retransmission or for a slot back with a reply in hand. Totals: times a poll left its
  // slot to wait; times an answered poll found no free slot and queued for one. Peaks since
  // start (summed over shards, each shard's own peak).
  std::uint64_t polls_waiting_retry = 0, slot_releases = 0, polls_parked = 0;
  std::uint64_t peak_polls_in_slots = 0, peak_polls_waiting = 0;
  std::uint64_t snapshots = 0, snapshot_bytes = 0;
  std::uint64_t down_events = 0, up_events = 0, probes = 0;
  std::uint64_t requests = 0, attempts = 0, bytes_sent = 0, bytes_received = 0, varbinds = 0;
  std::uint64_t loops = 0, runaways = 0, out_of_order = 0, too_big = 0, no_such_name = 0,
                shrinks = 0;
  snmp_client::counters client{};
  udp_transport::stats transport{};
  latency_histogram request_latency;    // first send to reply, answered requests
  latency_histogram poll_latency;       // whole polls (first send to last reply), answered polls
  latency_histogram scheduler_lag;      // scheduled start to real start
  std::size_t device_record_bytes = 0;  // sizeof the per-device record
};

class engine {
 public:
  engine(const engine_options& options, snapshot_sink& sink,
         metrics::engine_metrics* metrics = nullptr);
  ~engine();
  engine(const engine&) = delete;
  engine& operator=(const engine&) = delete;

  // Adds a device (before start). Errors: bad_target (unspecified/multicast address, port 0),
  // and a duplicate address:port is refused with bad_target too.
  std::error_code add_target(const target& t);
  std::size_t device_count() const noexcept;
  unsigned shard_count() const noexcept;

  // Opens the sockets and starts the threads. Errors: socket errors (nothing is left running).
  std::error_code start();

  // Queues a poll of every device for `classes` (class_bit mask), as fast as the limits allow,
  // whatever the schedule says (down devices are polled too).
  void poll_all_now(std::uint32_t classes = all_classes);
  // Waits until no poll is running or queued, or the timeout passes. True when idle.
  bool wait_idle(std::chrono::milliseconds timeout);

  // A configuration reload while running (`fleetpoll run` on SIGHUP). The fleet becomes exactly
  // `targets`: devices no longer listed are removed (a poll in flight finishes and reaches the
  // sink first), new ones are added and first polled within their spread, kept ones keep what
  // they learned (community, version and accept_any_source take the new values). From
  // `options`: cadences, coalesce, down_after, down_probe_interval, max_concurrent_polls,
  // max_waiting_polls, retries, backoff, jitter, timeouts and the rate caps take effect at once
  // (polls already out of their slot stay out). Fixed until a restart: threads, tick,
  // schedule.enabled, the sockets (bind, buffers), the subnet prefix lengths (they decide the
  // sharding), walk options, include_contact, metrics_interval.
  // Returns when every shard has applied it. Thread safety: like stop().
  struct reload_result {
    std::size_t added = 0, removed = 0, kept = 0, refused = 0;
  };
  reload_result reconfigure(const engine_options& options, const std::vector<target>& targets);

  // Totals now (each shard answers on its own thread; waits up to 5 s for them).
  engine_stats stats() const;

  // Stops as described above; idempotent. Returns when every engine thread has ended.
  void stop(std::chrono::milliseconds grace = std::chrono::milliseconds{5000});
  bool running() const noexcept;

  struct impl;

 private:
  std::unique_ptr<impl> impl_;
};

}  // namespace fleetpoll::engine
