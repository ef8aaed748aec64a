#include "fleetpoll/engine/engine.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <future>
#include <mutex>
#include <optional>
#include <set>
#include <thread>
#include <unordered_map>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include "fleetpoll/codecs/normalize.hpp"
#include "fleetpoll/engine/log_limiter.hpp"
#include "fleetpoll/engine/shape_priors.hpp"
#include "fleetpoll/engine/timing_wheel.hpp"
#include "fleetpoll/metrics/engine_metrics.hpp"

namespace fleetpoll::engine {

namespace asio = boost::asio;
using clock = std::chrono::steady_clock;
using std::chrono::duration_cast;
using std::chrono::microseconds;
using std::chrono::milliseconds;

namespace {

enum class dev_state : std::uint8_t { never_seen, up, down };
constexpr std::uint32_t no_due = 0xFFFFFFFFu;

std::uint64_t unix_ms_now() {
  return static_cast<std::uint64_t>(
      duration_cast<milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count());
}

std::uint64_t mix(std::uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdull;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ull;
  x ^= x >> 33;
  return x;
}

std::uint64_t endpoint_hash(const asio::ip::udp::endpoint& ep) {
  std::uint64_t h = ep.port();
  if (ep.address().is_v4()) {
    h ^= std::uint64_t{ep.address().to_v4().to_uint()} << 16;
  } else {
    for (auto b : ep.address().to_v6().to_bytes()) h = h * 131 + b;
  }
  return mix(h);
}

metrics::data_class metric_class(data_class c) {
  switch (c) {
    case data_class::identity:
      return metrics::data_class::identity;
    case data_class::status:
      return metrics::data_class::status;
    case data_class::alerts:
      return metrics::data_class::alerts;
    case data_class::supplies:
      return metrics::data_class::supplies;
    case data_class::counters:
      return metrics::data_class::counters;
  }
  return metrics::data_class::status;
}

// What one device costs: this record, kept for every device of the fleet.
struct device_rec {
  peer p;
  walk_memory mem;
  std::array<std::uint32_t, data_class_count> next_due{};  // ticks since the shard's epoch
  std::error_code last_error;
  std::uint32_t failed_polls = 0;
  std::uint32_t down_since_tick = 0;
  std::uint8_t forced = 0;  // classes asked by poll_all_now()
  dev_state state = dev_state::never_seen;
  bool version_known = false;
  bool polling = false;
  bool queued = false;
  bool waiting = false;  // its poll left its slot (waiting on a retransmission or for a slot)
  bool removed = false;  // by a reload; the slot is reused once its poll (if any) has ended
};

// A histogram's buckets filled locally and published with ObserveMultiple.
struct local_histogram {
  const prometheus::Histogram::BucketBoundaries* bounds = nullptr;
  std::vector<double> counts;
  double sum = 0;
  bool dirty = false;
  void init(const prometheus::Histogram::BucketBoundaries& b) {
    bounds = &b;
    counts.assign(b.size() + 1, 0);
  }
  void observe(double v) {
    const auto it = std::lower_bound(bounds->begin(), bounds->end(), v);
    counts[static_cast<std::size_t>(it - bounds->begin())] += 1;
    sum += v;
    dirty = true;
  }
  void publish(prometheus::Histogram& h) {
    if (!dirty) return;
    h.ObserveMultiple(counts, sum);
    std::fill(counts.begin(), counts.end(), 0.0);
    sum = 0;
    dirty = false;
  }
};

// Polls that may wait outside a slot, all shards together (0 = 8 per slot).
std::size_t waiting_bound(const engine_options& o) {
  return o.max_waiting_polls ? o.max_waiting_polls
                             : 8 * std::max<std::size_t>(1, o.max_concurrent_polls);
}

log_limiter& state_log() {
  static log_limiter limiter;
  return limiter;
}

}  // namespace

struct engine::impl {
  impl(const engine_options& o, snapshot_sink& s, metrics::engine_metrics* m)
      : opts(o), sink(s), metrics(m) {}

  struct shard;

  engine_options opts;
  snapshot_sink& sink;
  metrics::engine_metrics* metrics;
  std::vector<std::unique_ptr<shard>> shards;
  std::vector<std::unique_ptr<std::string>> communities;  // interned; peers point into them
  std::set<std::string> endpoints;                        // duplicate detection before start
  std::size_t devices = 0;
  bool started = false;
  bool stopped = false;
  std::mutex idle_mutex;
  std::condition_variable idle_cv;

  std::string_view intern(const std::string& community) {
    for (const auto& c : communities)
      if (*c == community) return *c;
    communities.push_back(std::make_unique<std::string>(community));
    return *communities.back();
  }

  void notify_idle() {
    std::lock_guard lock(idle_mutex);
    idle_cv.notify_all();
  }
};

struct engine::impl::shard {
  shard(engine::impl& o, unsigned i, std::size_t polls, std::size_t waiting)
      : owner(o),
        index(i),
        io(1),
        wheel(4096),
        tick_timer(io),
        metrics_timer(io),
        stop_timer(io),
        max_polls(std::max<std::size_t>(1, polls)),
        max_waiting(std::max<std::size_t>(1, waiting)),
        tick(std::max(milliseconds{1}, o.opts.schedule.tick)) {
    set_schedule(o.opts.schedule);
    walk = o.opts.walk;
    walk.priors = &priors;
    for (auto& h : durations) h.init(metrics::poll_duration_buckets());
    lag_hist.init(metrics::scheduler_lag_buckets());
  }

  engine::impl& owner;
  unsigned index;
  asio::io_context io;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> guard;
  std::unique_ptr<snmp_client> client;
  shape_priors priors;
  walk_options walk;  // the engine's, with this shard's priors
  timing_wheel wheel;
  asio::steady_timer tick_timer, metrics_timer, stop_timer;
  std::deque<device_rec> devices;         // a deque: walks in flight hold references into it
  std::vector<std::uint32_t> free_slots;  // removed devices whose slot may be reused
  std::deque<std::pair<std::uint32_t, std::uint32_t>> ready;  // (device, due tick or no_due)
  std::size_t max_polls;                                      // poll slots
  std::size_t max_waiting;                                    // polls out of their slot at most
  std::size_t polls_running = 0;   // polls started and not ended (in a slot or not)
  std::size_t polls_in_slots = 0;  // ... holding a slot
  std::size_t polls_waiting = 0;   // ... out of their slot (device.waiting)
  // Waiting polls whose device answered, parked with the reply in hand until a slot is free;
  // served before `ready`.
  std::deque<std::pair<std::uint32_t, std::shared_ptr<parked_walk>>> resuming;
  std::atomic<std::uint32_t> pending_requests{0};
  std::atomic<bool> idle{true};
  bool stopping = false;
  bool cancelling = false;  // stop's grace is over: what is left ends as cancelled
  bool finished = false;
  milliseconds tick;
  schedule_options sched;     // this shard's copy (a reload replaces it on this thread)
  bool started_once = false;  // set_schedule() ran once
  std::array<std::uint32_t, data_class_count> cadence{}, window{};
  std::uint32_t probe_ticks = 1;
  clock::time_point epoch{};
  std::uint64_t epoch_unix_ms = 0;
  std::thread thread;
  std::uint64_t rng = 0x9e3779b97f4a7c15ull;

  // Totals (this shard's thread only).
  engine_stats totals;
  std::array<std::uint64_t, 3> states{};  // by dev_state
  // Published to the metrics so far.
  engine_stats published;
  std::array<std::int64_t, 3> published_states{};
  std::int64_t published_in_flight = 0, published_running = 0, published_queued = 0,
               published_waiting = 0;
  std::array<local_histogram, data_class_count> durations;
  local_histogram lag_hist;

  // Cadences, coalescing windows and the probe interval in ticks (the tick itself is fixed).
  void set_schedule(const schedule_options& so) {
    const bool enabled = sched.enabled;
    const auto tick_option = sched.tick;
    sched = so;
    if (started_once) {
      sched.enabled = enabled;
      sched.tick = tick_option;
    }
    started_once = true;
    for (int c = 0; c < data_class_count; ++c) {
      const auto i = static_cast<std::size_t>(c);
      const auto ticks = std::max<std::int64_t>(
          1, duration_cast<milliseconds>(so.cadence[i]).count() / tick.count());
      cadence[i] = static_cast<std::uint32_t>(std::min<std::int64_t>(ticks, 0x7FFFFFFF));
      window[i] = static_cast<std::uint32_t>(static_cast<double>(cadence[i]) *
                                             std::clamp(so.coalesce, 0.0, 0.9));
    }
    probe_ticks = static_cast<std::uint32_t>(std::max<std::int64_t>(
        1, duration_cast<milliseconds>(so.down_probe_interval).count() / tick.count()));
  }

  // ---- time -------------------------------------------------------------------------------
  std::uint32_t tick_of(clock::time_point t) const {
    if (t <= epoch) return 0;
    return static_cast<std::uint32_t>(std::min<std::int64_t>(
        duration_cast<milliseconds>(t - epoch).count() / tick.count(), 0xFFFFFFF0ll));
  }
  std::uint64_t unix_ms_of_tick(std::uint32_t t) const {
    return epoch_unix_ms + std::uint64_t{t} * static_cast<std::uint64_t>(tick.count());
  }
  std::uint64_t next_random() {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
  }

  std::string address_of(std::uint32_t id) const { return format_endpoint(devices[id].p.address); }

  // ---- start ------------------------------------------------------------------------------
  std::error_code open() {
    client = std::make_unique<snmp_client>(io, shard_client_options());
    if (auto ec = client->open()) return ec;
    wheel.reserve(static_cast<std::uint32_t>(devices.size()));
    return {};
  }

  client_options shard_client_options() const { return shard_client_options(owner.opts.client); }
  client_options shard_client_options(const client_options& base) const {
    client_options co = base;
    const double n = static_cast<double>(owner.shards.size());
    if (co.rate.global_pps > 0) {
      // Each shard gets 1/n of the rate and of the burst, so all shards together never exceed
      // burst + W * global_pps over any window W (with fewer burst packets than shards, each
      // shard keeps one).
      co.rate.global_pps /= n;
      co.rate.global_burst = std::max(1.0, co.rate.burst / n);
    }
    co.seed = base.seed + std::uint64_t{index} * 7919;
    return co;
  }

  void begin(clock::time_point t0, std::uint64_t t0_unix_ms, std::uint32_t spread_ticks) {
    epoch = t0;
    epoch_unix_ms = t0_unix_ms;
    guard.emplace(io.get_executor());
    states[static_cast<std::size_t>(dev_state::never_seen)] = devices.size();
    if (sched.enabled) {
      for (std::uint32_t id = 0; id < devices.size(); ++id) {
        auto& d = devices[id];
        const std::uint32_t anchor =
            spread_ticks ? static_cast<std::uint32_t>(endpoint_hash(d.p.address) % spread_ticks)
                         : 0;
        d.next_due.fill(anchor);
        wheel.schedule(id, anchor);
      }
    }
    thread = std::thread([this] { run(); });
    asio::post(io, [this] {
      arm_tick();
      arm_metrics();
    });
  }

  void run() {
    for (;;) {
      try {
        io.run();
        return;
      } catch (const std::exception& e) {
        spdlog::error("engine shard {}: unexpected exception: {}", index, e.what());
      }
    }
  }

  // ---- scheduling -------------------------------------------------------------------------
  void arm_tick() {
    if (stopping) return;
    const std::uint32_t now_tick = tick_of(clock::now());
    tick_timer.expires_at(epoch + tick * (std::int64_t{now_tick} + 1));
    tick_timer.async_wait([this](const boost::system::error_code& ec) {
      if (ec || stopping) return;
      wheel.advance(tick_of(clock::now()),
                    [this](std::uint32_t id, std::uint32_t due) { on_due(id, due); });
      arm_tick();
    });
  }

  void on_due(std::uint32_t id, std::uint32_t due_tick) {
    auto& d = devices[id];
    if (d.polling || d.queued || d.removed || stopping) return;  // rescheduled when the poll ends
    if (slot_free()) {
      start_poll(id, due_tick);
    } else {
      d.queued = true;
      ready.emplace_back(id, due_tick);
    }
  }

  // A slot for a new poll: none while a parked poll waits for one (it goes first).
  bool slot_free() const { return polls_in_slots < max_polls && resuming.empty(); }

  void take_slot() {
    ++polls_in_slots;
    totals.peak_polls_in_slots =
        std::max<std::uint64_t>(totals.peak_polls_in_slots, polls_in_slots);
  }

  // A waiting poll takes a slot again.
  void back_into_slot(device_rec& d) {
    d.waiting = false;
    --polls_waiting;
    take_slot();
  }

  // A poll's request timed out unanswered and it asks again: it leaves its slot while the
  // waiting bound allows (beyond it, it keeps the slot and may leave at a later timeout).
  void on_poll_waits(std::uint32_t id) {
    auto& d = devices[id];
    if (!d.polling || d.waiting || polls_waiting >= max_waiting) return;
    d.waiting = true;
    --polls_in_slots;
    ++polls_waiting;
    ++totals.slot_releases;
    totals.peak_polls_waiting = std::max<std::uint64_t>(totals.peak_polls_waiting, polls_waiting);
    dispatch_ready();
  }

  // A waiting poll's device answered: back into a slot now, or parked until one is free.
  bool on_poll_answered(std::uint32_t id, std::shared_ptr<parked_walk> parked) {
    auto& d = devices[id];
    if (!d.waiting) return true;  // kept its slot
    if (slot_free()) {
      back_into_slot(d);
      return true;
    }
    resuming.emplace_back(id, std::move(parked));
    ++totals.polls_parked;
    return false;
  }

  // The hooks of a poll's walk (a pointer and an id: no allocation).
  walk_hooks hooks_for(std::uint32_t id) {
    walk_hooks h;
    h.on_wait = [this, id] { on_poll_waits(id); };
    h.on_answer = [this, id](std::shared_ptr<parked_walk> p) {
      return on_poll_answered(id, std::move(p));
    };
    return h;
  }

  // The poll ended: its slot (or its place among the waiting) is free.
  void leave_slot(device_rec& d) {
    if (d.waiting) {
      d.waiting = false;
      --polls_waiting;
    } else {
      --polls_in_slots;
    }
  }

  void dispatch_ready() {
    // Parked polls first, also while stopping (they hold a reply and end on their own).
    while (!cancelling && polls_in_slots < max_polls && !resuming.empty()) {
      auto [id, parked] = std::move(resuming.front());
      resuming.pop_front();
      back_into_slot(devices[id]);
      parked->resume(true);
    }
    while (!stopping && slot_free() && !ready.empty()) {
      const auto [id, due] = ready.front();
      ready.pop_front();
      devices[id].queued = false;
      if (devices[id].removed) continue;
      start_poll(id, due);
    }
  }

  std::uint32_t due_classes(const device_rec& d, std::uint32_t now_tick) const {
    if (!sched.enabled) return 0;
    std::uint32_t mask = 0;
    for (int c = 0; c < data_class_count; ++c) {
      const auto i = static_cast<std::size_t>(c);
      if (std::uint64_t{d.next_due[i]} <= std::uint64_t{now_tick} + window[i]) mask |= 1u << c;
    }
    return mask;
  }

  void reschedule(std::uint32_t id) {
    if (!sched.enabled || stopping) return;
    auto& d = devices[id];
    const std::uint32_t now_tick = tick_of(clock::now());
    if (d.state == dev_state::down) {
      // ±10 % jitter, so a subnet that went down together is not probed together.
      const std::uint32_t jitter =
          probe_ticks / 10 ? static_cast<std::uint32_t>(next_random() % (probe_ticks / 5 + 1)) : 0;
      wheel.schedule(id, now_tick + probe_ticks - probe_ticks / 10 + jitter);
      return;
    }
    wheel.schedule(id, *std::min_element(d.next_due.begin(), d.next_due.end()));
  }

  // ---- polls ------------------------------------------------------------------------------
  void start_poll(std::uint32_t id, std::uint32_t due_tick) {
    auto& d = devices[id];
    const auto now = clock::now();
    const std::uint32_t now_tick = tick_of(now);
    if (due_tick != no_due && sched.enabled) {
      const auto planned = epoch + tick * static_cast<std::int64_t>(due_tick);
      const auto lag = now > planned ? now - planned : clock::duration::zero();
      totals.scheduler_lag.add(duration_cast<microseconds>(lag));
      lag_hist.observe(std::chrono::duration<double>(lag).count());
    }
    const std::uint32_t forced = d.forced;
    d.forced = 0;
    if (d.state == dev_state::down && forced == 0) return probe(id);
    const std::uint32_t classes = (forced | due_classes(d, now_tick)) & all_classes;
    if (classes == 0) return reschedule(id);
    d.polling = true;
    ++polls_running;
    take_slot();
    const std::uint64_t started_ms = unix_ms_now();
    async_walk(
        *client, d.p, d.mem, d.version_known, default_plan(), classes, walk,
        [this, id, classes, now, started_ms](walk_result&& r) {
          on_poll_done(id, classes, now, started_ms, std::move(r));
        },
        hooks_for(id));
  }

  void on_poll_done(std::uint32_t id, std::uint32_t classes, clock::time_point started,
                    std::uint64_t started_ms, walk_result&& r) {
    auto& d = devices[id];
    d.polling = false;
    --polls_running;
    leave_slot(d);
    if (r.version) d.version_known = true;
    const auto end = clock::now();
    const double seconds = std::chrono::duration<double>(end - started).count();
    auto& t = totals;
    t.requests += r.stats.requests;
    t.attempts += r.stats.attempts;
    t.bytes_sent += r.stats.bytes_sent;
    t.bytes_received += r.stats.bytes_received;
    t.varbinds += r.stats.varbinds;
    t.loops += r.stats.loops;
    t.runaways += r.stats.runaways;
    t.out_of_order += r.stats.out_of_order;
    t.too_big += r.stats.too_big;
    t.no_such_name += r.stats.no_such_name;
    t.shrinks += r.stats.shrinks;
    for (int c = 0; c < data_class_count; ++c)
      if (r.classes_complete & (1u << c)) durations[static_cast<std::size_t>(c)].observe(seconds);
    if (d.removed) {
      // Removed by a reload while this poll ran: what it fetched still reaches the sink.
      if (r.answered && r.classes_complete) deliver(id, r, started_ms);
      if (r.answered) {
        ++((r.classes_complete & classes) == classes ? t.polls_complete : t.polls_partial);
      } else if (r.ec == error::cancelled) {
        ++t.polls_cancelled;
      } else {
        ++t.polls_failed;
      }
      release(id);
      return after_removed();
    }
    if (r.answered) {
      t.poll_latency.add(duration_cast<microseconds>(end - started));
      mark_up(id, end);
      if (r.classes_complete) deliver(id, r, started_ms);
      if ((r.classes_complete & classes) == classes)
        ++t.polls_complete;
      else
        ++t.polls_partial;
    } else if (r.ec == error::cancelled) {
      ++t.polls_cancelled;
    } else {
      ++t.polls_failed;
      mark_failed(id, r.ec, end);
    }
    // Phase-locked cadence: each polled class is next due one cadence after its last due time.
    const std::uint32_t now_tick = tick_of(end);
    for (int c = 0; c < data_class_count; ++c) {
      const auto i = static_cast<std::size_t>(c);
      if (!(classes & (1u << c)) || !sched.enabled) continue;
      while (std::uint64_t{d.next_due[i]} <= std::uint64_t{now_tick} + window[i])
        d.next_due[i] += cadence[i];
    }
    after_poll(id);
  }

  void probe(std::uint32_t id) {
    auto& d = devices[id];
    d.polling = true;
    ++polls_running;
    take_slot();
    ++totals.probes;
    request_spec spec;
    spec.type = codecs::pdu_type::get;
    spec.names = {codecs::mib::sys_uptime};
    spec.alternate_version = !d.version_known;
    // A probe of a silent device waits outside its slot too (it ends with its one request).
    spec.on_attempt_timeout = [this, id] { on_poll_waits(id); };
    client->async_request(
        d.p, std::move(spec),
        [this, id](std::error_code ec, codecs::snmp_response&& resp, const request_stats&) {
          auto& dv = devices[id];
          dv.polling = false;
          --polls_running;
          leave_slot(dv);
          if (dv.removed) {
            release(id);
            return after_removed();
          }
          const bool answered = !ec || ec == error::agent_error || ec == error::report;
          if (answered) {
            if (!dv.version_known) {
              dv.p.version = resp.version;
              dv.version_known = true;
            }
            mark_up(id, clock::now());
            if (!stopping) {
              // Back: poll what is due (everything overdue) right away.
              if (slot_free()) return start_poll(id, no_due);
              on_due(id, no_due);
              return update_idle();
            }
          } else if (ec != error::cancelled) {
            ++dv.failed_polls;
            dv.last_error = ec;
          }
          after_poll(id);
        });
  }

  void after_poll(std::uint32_t id) {
    if (stopping) {
      dispatch_ready();  // a parked poll may take the slot and end
      return maybe_finish();
    }
    auto& d = devices[id];
    if (d.forced) {
      on_due(id, no_due);
    } else {
      reschedule(id);
    }
    dispatch_ready();
    update_idle();
  }

  void set_state(device_rec& d, dev_state s) {
    --states[static_cast<std::size_t>(d.state)];
    ++states[static_cast<std::size_t>(s)];
    d.state = s;
  }

  void mark_up(std::uint32_t id, clock::time_point at) {
    auto& d = devices[id];
    d.failed_polls = 0;
    if (d.state == dev_state::up) return;
    const bool was_down = d.state == dev_state::down;
    set_state(d, dev_state::up);
    if (!was_down) return;
    ++totals.up_events;
    const std::string address = address_of(id);
    device_up_event e{address, unix_ms_now(), unix_ms_of_tick(d.down_since_tick)};
    owner.sink.on_device_up(e);
    std::uint64_t suppressed = 0;
    if (state_log().allow(suppressed, at))
      spdlog::info(
          "device {} is up again (down for {} s){}", address,
          (e.at_ms - std::min(e.at_ms, e.down_since_ms)) / 1000,
          suppressed ? fmt::format(" [{} similar lines suppressed]", suppressed) : std::string());
  }

  void mark_failed(std::uint32_t id, std::error_code ec, clock::time_point at) {
    auto& d = devices[id];
    ++d.failed_polls;
    d.last_error = ec;
    if (d.state == dev_state::down || d.failed_polls < std::max<std::uint32_t>(1, sched.down_after))
      return;
    set_state(d, dev_state::down);
    d.down_since_tick = tick_of(at);
    ++totals.down_events;
    const std::string address = address_of(id);
    const std::string why = ec ? ec.message() : std::string("no reply");
    owner.sink.on_device_down(device_down_event{address, unix_ms_now(), d.failed_polls, why});
    std::uint64_t suppressed = 0;
    if (state_log().allow(suppressed, at))
      spdlog::warn(
          "device {} is down after {} failed polls ({}); probing it every {} s{}", address,
          d.failed_polls, why, sched.down_probe_interval.count(),
          suppressed ? fmt::format(" [{} similar lines suppressed]", suppressed) : std::string());
  }

  // Normalizes what the poll fetched completely and hands it to the sink.
  void deliver(std::uint32_t id, const walk_result& r, std::uint64_t started_ms) {
    const std::string address = address_of(id);
    codecs::normalize_options n;
    n.include_contact = owner.opts.include_contact;
    n.polled_at_ms = started_ms;
    n.source = address;
    flatbuffers::DetachedBuffer buf;
    if (r.classes_complete == r.classes_asked) {
      buf = codecs::normalize(r.view, n);
    } else {
      buf = codecs::normalize(only_classes(r.view, r.classes_complete), n);
    }
    owner.sink.on_poll(
        poll_record{address, started_ms, r.classes_complete, {buf.data(), buf.size()}});
    ++totals.snapshots;
    totals.snapshot_bytes += buf.size();
  }

  static codecs::mib_view only_classes(const codecs::mib_view& v, std::uint32_t classes) {
    const auto& plan = default_plan();
    codecs::mib_view out;
    for (const auto& s : plan.scalars)
      if (classes & class_bit(s.cls))
        if (const auto* val = v.get(s.name)) out.add(s.name, *val);
    for (const auto& u : plan.units)
      if (classes & class_bit(u.cls))
        for (const auto& row : v.subtree(u.prefix)) out.add(row);
    out.seal();
    return out;
  }

  void update_idle() {
    const bool now_idle = polls_running == 0 && ready.empty() && pending_requests.load() == 0;
    if (now_idle != idle.load()) {
      idle.store(now_idle);
      if (now_idle) owner.notify_idle();
    }
  }

  void force_all(std::uint32_t classes) {
    for (std::uint32_t id = 0; id < devices.size() && !stopping; ++id) {
      auto& d = devices[id];
      if (d.removed) continue;
      d.forced = static_cast<std::uint8_t>(d.forced | classes);
      if (!d.polling && !d.queued) on_due(id, no_due);
    }
    --pending_requests;
    update_idle();
  }

  // ---- reload -----------------------------------------------------------------------------
  // A device removed by a reload whose poll has ended: its slot becomes free.
  void release(std::uint32_t id) {
    auto& d = devices[id];
    d = device_rec{};
    d.removed = true;
    free_slots.push_back(id);
  }
  void after_removed() {
    if (stopping) {
      dispatch_ready();
      return maybe_finish();
    }
    dispatch_ready();
    update_idle();
  }

  struct reload_job {
    engine_options opts;
    std::vector<device_rec> wanted;  // this shard's targets of the new configuration
    std::size_t added = 0, removed = 0, kept = 0;
  };

  // Applies a reload on this shard's thread: targets, schedule and limits. Polls in flight
  // finish; a removed device's last poll still reaches the sink.
  void apply(reload_job& job) {
    const std::uint32_t now_tick = tick_of(clock::now());
    const bool cadence_changed =
        job.opts.schedule.cadence != sched.cadence || job.opts.schedule.coalesce != sched.coalesce;
    set_schedule(job.opts.schedule);  // the tick and `enabled` stay as started
    max_polls = std::max<std::size_t>(
        1, job.opts.max_concurrent_polls / std::max<std::size_t>(1, owner.shards.size()));
    max_waiting = std::max<std::size_t>(
        1, waiting_bound(job.opts) / std::max<std::size_t>(1, owner.shards.size()));
    if (client) client->reconfigure(shard_client_options(job.opts.client));

    std::unordered_map<std::string, std::uint32_t> live;
    live.reserve(devices.size());
    for (std::uint32_t id = 0; id < devices.size(); ++id)
      if (!devices[id].removed) live.emplace(format_endpoint(devices[id].p.address), id);
    std::vector<bool> keep(devices.size(), false);
    const auto& so = job.opts.schedule;
    const std::uint32_t spread = static_cast<std::uint32_t>(std::max<std::int64_t>(
        1, std::min<std::int64_t>(
               duration_cast<milliseconds>(*std::min_element(so.cadence.begin(), so.cadence.end()))
                   .count(),
               static_cast<std::int64_t>(job.wanted.size()) * 10) /
               tick.count()));
    for (auto& w : job.wanted) {
      if (const auto it = live.find(format_endpoint(w.p.address)); it != live.end()) {
        auto& d = devices[it->second];
        keep[it->second] = true;
        ++job.kept;
        d.p.community = w.p.community;
        d.p.accept_any_source = w.p.accept_any_source;
        if (w.version_known && (!d.version_known || d.p.version != w.p.version)) {
          d.p.version = w.p.version;
          d.version_known = true;
        }
        continue;
      }
      std::uint32_t id;
      if (!free_slots.empty()) {
        id = free_slots.back();
        free_slots.pop_back();
        devices[id] = w;
      } else {
        id = static_cast<std::uint32_t>(devices.size());
        devices.push_back(w);
        keep.push_back(true);
      }
      ++states[static_cast<std::size_t>(dev_state::never_seen)];
      ++job.added;
      if (sched.enabled && !stopping) {
        const std::uint32_t anchor =
            now_tick + static_cast<std::uint32_t>(endpoint_hash(w.p.address) % spread);
        devices[id].next_due.fill(anchor);
        wheel.schedule(id, anchor);
      }
    }
    for (std::uint32_t id = 0; id < keep.size(); ++id) {
      auto& d = devices[id];
      if (keep[id] || d.removed) continue;
      ++job.removed;
      --states[static_cast<std::size_t>(d.state)];
      wheel.cancel(id);
      d.removed = true;
      if (d.polling) continue;  // released when its poll ends
      release(id);
    }
    std::erase_if(ready, [this](const auto& e) { return devices[e.first].removed; });
    if (cadence_changed && sched.enabled && !stopping) {
      // A shorter cadence takes effect now, not after the old, longer wait.
      for (std::uint32_t id = 0; id < devices.size(); ++id) {
        auto& d = devices[id];
        if (d.removed) continue;
        bool moved = false;
        for (int c = 0; c < data_class_count; ++c) {
          const auto i = static_cast<std::size_t>(c);
          if (std::uint64_t{d.next_due[i]} > std::uint64_t{now_tick} + cadence[i]) {
            d.next_due[i] = now_tick + static_cast<std::uint32_t>(mix(id + 1) % cadence[i]);
            moved = true;
          }
        }
        if (moved && !d.polling && !d.queued && d.state != dev_state::down) reschedule(id);
      }
    }
    dispatch_ready();
    update_idle();
  }

  // ---- stop -------------------------------------------------------------------------------
  void begin_stop(milliseconds grace) {
    if (stopping) return;
    stopping = true;
    tick_timer.cancel();
    for (const auto& [id, due] : ready) devices[id].queued = false;
    ready.clear();
    if (polls_running == 0) return maybe_finish();
    stop_timer.expires_after(grace);
    stop_timer.async_wait([this](const boost::system::error_code& ec) {
      if (ec || finished) return;
      cancelling = true;
      // Parked walks have no request to cancel: they end as cancelled first (not resumed when
      // the cancelled walks below free their slots).
      while (!resuming.empty()) {
        auto [id, parked] = std::move(resuming.front());
        resuming.pop_front();
        parked->resume(false);
      }
      client
          ->cancel();  // every walk completes now with `cancelled`; complete classes are delivered
      maybe_finish();
    });
  }

  void maybe_finish() {
    if (finished || polls_running > 0) return;
    finished = true;
    // Not inside a client callback: the client is destroyed here.
    asio::post(io, [this] {
      publish();
      tick_timer.cancel();
      metrics_timer.cancel();
      stop_timer.cancel();
      client.reset();
      guard.reset();
      idle.store(true);
      owner.notify_idle();
    });
  }

  // ---- metrics ----------------------------------------------------------------------------
  void arm_metrics() {
    if (finished) return;
    metrics_timer.expires_after(owner.opts.metrics_interval);
    metrics_timer.async_wait([this](const boost::system::error_code& ec) {
      if (ec) return;
      publish();
      arm_metrics();
    });
  }

  engine_stats snapshot_stats() const {
    engine_stats s = totals;
    s.devices = devices.size() - free_slots.size();
    s.never_seen = states[0];
    s.up = states[1];
    s.down = states[2];
    s.polls_in_progress = polls_running;
    s.queued = ready.size();
    s.polls_waiting_retry = polls_waiting;
    if (client) {
      s.client = client->stats();
      s.transport = client->transport_stats();
      s.request_latency = client->latencies();
    } else {
      s.client = published.client;
      s.transport = published.transport;
      s.request_latency = published.request_latency;
    }
    return s;
  }

  void publish() {
    const engine_stats now = snapshot_stats();
    metrics::engine_metrics* m = owner.metrics;
    if (m) {
      using namespace metrics;
      auto inc = [](prometheus::Counter& c, std::uint64_t cur, std::uint64_t old) {
        if (cur > old) c.Increment(static_cast<double>(cur - old));
      };
      const auto& a = now.client;
      const auto& b = published.client;
      inc(m->requests(request_result::ok), a.completed_ok, b.completed_ok);
      inc(m->requests(request_result::timeout), a.timeouts, b.timeouts);
      inc(m->requests(request_result::decode_error), a.decode_errors, b.decode_errors);
      inc(m->requests(request_result::snmp_error), a.agent_errors, b.agent_errors);
      inc(m->requests(request_result::send_error), a.send_errors, b.send_errors);
      inc(m->requests(request_result::cancelled), a.cancelled, b.cancelled);
      inc(m->retries(), a.retries, b.retries);
      inc(m->rate_limiter_waits(limiter_scope::device), a.rate_waits_device, b.rate_waits_device);
      inc(m->rate_limiter_waits(limiter_scope::subnet), a.rate_waits_subnet, b.rate_waits_subnet);
      inc(m->rate_limiter_waits(limiter_scope::global), a.rate_waits_global, b.rate_waits_global);
      inc(m->socket_drops(drop_reason::unknown_source), a.drop_unknown_source,
          b.drop_unknown_source);
      inc(m->socket_drops(drop_reason::unknown_request), a.drop_unknown_request,
          b.drop_unknown_request);
      inc(m->socket_drops(drop_reason::duplicate), a.drop_duplicate, b.drop_duplicate);
      inc(m->socket_drops(drop_reason::late), a.drop_late, b.drop_late);
      inc(m->socket_drops(drop_reason::malformed), a.drop_malformed, b.drop_malformed);
      inc(m->socket_drops(drop_reason::truncated), now.transport.truncated,
          published.transport.truncated);
      inc(m->socket_drops(drop_reason::receive_overflow), now.transport.receive_overflows,
          published.transport.receive_overflows);
      inc(m->bytes(direction::sent), now.transport.bytes_sent, published.transport.bytes_sent);
      inc(m->bytes(direction::received), now.transport.bytes_received,
          published.transport.bytes_received);
      inc(m->datagrams(direction::sent), now.transport.datagrams_sent,
          published.transport.datagrams_sent);
      inc(m->datagrams(direction::received), now.transport.datagrams_received,
          published.transport.datagrams_received);
      inc(m->walker_errors(walker_error::loop), now.loops, published.loops);
      inc(m->walker_errors(walker_error::runaway), now.runaways, published.runaways);
      inc(m->walker_errors(walker_error::out_of_order), now.out_of_order, published.out_of_order);
      inc(m->walker_errors(walker_error::too_big), now.too_big, published.too_big);
      inc(m->walker_errors(walker_error::no_such_name), now.no_such_name, published.no_such_name);
      inc(m->polls(poll_result::complete), now.polls_complete, published.polls_complete);
      inc(m->polls(poll_result::partial), now.polls_partial, published.polls_partial);
      inc(m->polls(poll_result::failed), now.polls_failed, published.polls_failed);
      inc(m->transitions(transition::down), now.down_events, published.down_events);
      inc(m->transitions(transition::up), now.up_events, published.up_events);
      auto gauge = [](prometheus::Gauge& g, std::int64_t cur, std::int64_t& old) {
        if (cur != old) g.Increment(static_cast<double>(cur - old));
        old = cur;
      };
      gauge(m->devices(device_state::never_seen), static_cast<std::int64_t>(now.never_seen),
            published_states[0]);
      gauge(m->devices(device_state::up), static_cast<std::int64_t>(now.up), published_states[1]);
      gauge(m->devices(device_state::down), static_cast<std::int64_t>(now.down),
            published_states[2]);
      gauge(m->in_flight(), client ? static_cast<std::int64_t>(client->in_flight()) : 0,
            published_in_flight);
      gauge(m->polls_in_progress(), static_cast<std::int64_t>(polls_running), published_running);
      gauge(m->scheduler_queued(), static_cast<std::int64_t>(ready.size()), published_queued);
      gauge(m->polls_waiting_retry(), static_cast<std::int64_t>(polls_waiting), published_waiting);
      for (int c = 0; c < data_class_count; ++c)
        durations[static_cast<std::size_t>(c)].publish(
            m->poll_duration(metric_class(static_cast<data_class>(c))));
      lag_hist.publish(m->scheduler_lag());
    }
    published = now;
  }
};

engine::engine(const engine_options& options, snapshot_sink& sink, metrics::engine_metrics* m)
    : impl_(std::make_unique<impl>(options, sink, m)) {
  unsigned n =
      options.threads ? options.threads : std::max(1u, std::thread::hardware_concurrency());
  n = std::clamp(n, 1u, 64u);
  const std::size_t per_shard = std::max<std::size_t>(1, options.max_concurrent_polls / n);
  const std::size_t waiting_per_shard = std::max<std::size_t>(1, waiting_bound(options) / n);
  for (unsigned i = 0; i < n; ++i)
    impl_->shards.push_back(std::make_unique<impl::shard>(*impl_, i, per_shard, waiting_per_shard));
}

engine::~engine() {
  stop(milliseconds{0});
}

namespace {

bool usable(const target& t) {
  const auto& a = t.address.address();
  return !(a.is_unspecified() || a.is_multicast() || t.address.port() == 0 ||
           (a.is_v4() && a.to_v4() == asio::ip::address_v4::broadcast()));
}

}  // namespace

// The shard of a target (by its subnet under the prefixes the engine started with) and its
// record. Owner thread only (interns the community).
static std::pair<std::size_t, device_rec> place(engine::impl& im, const target& t) {
  const std::uint64_t key =
      rate_limiter::subnet_key(t.address.address(), im.opts.client.rate.subnet_prefix_v4,
                               im.opts.client.rate.subnet_prefix_v6);
  device_rec d;
  d.p.address = t.address;
  d.p.community = im.intern(t.community);
  d.p.accept_any_source = t.accept_any_source;
  d.p.version =
      t.version == version_choice::v1 ? codecs::snmp_version::v1 : codecs::snmp_version::v2c;
  d.version_known = t.version != version_choice::auto_detect;
  return {static_cast<std::size_t>(mix(key) % im.shards.size()), d};
}

std::error_code engine::add_target(const target& t) {
  auto& im = *impl_;
  if (im.started) return make_error_code(error::bad_target);
  if (!usable(t)) return make_error_code(error::bad_target);
  if (!im.endpoints.insert(format_endpoint(t.address)).second)
    return make_error_code(error::bad_target);
  auto [shard, d] = place(im, t);
  im.shards[shard]->devices.push_back(d);
  ++im.devices;
  return {};
}

engine::reload_result engine::reconfigure(const engine_options& options,
                                          const std::vector<target>& targets) {
  auto& im = *impl_;
  reload_result out;
  if (!running()) return out;
  std::vector<impl::shard::reload_job> jobs(im.shards.size());
  std::set<std::string> seen;
  for (const auto& t : targets) {
    if (!usable(t) || !seen.insert(format_endpoint(t.address)).second) {
      ++out.refused;
      continue;
    }
    auto [shard, d] = place(im, t);
    jobs[shard].wanted.push_back(d);
  }
  engine_options o = options;
  // Fixed until a restart (see the header).
  o.threads = im.opts.threads;
  o.schedule.tick = im.opts.schedule.tick;
  o.schedule.enabled = im.opts.schedule.enabled;
  o.client.rate.subnet_prefix_v4 = im.opts.client.rate.subnet_prefix_v4;
  o.client.rate.subnet_prefix_v6 = im.opts.client.rate.subnet_prefix_v6;
  o.client.transport = im.opts.client.transport;
  o.client.bind_v4 = im.opts.client.bind_v4;
  o.client.bind_v6 = im.opts.client.bind_v6;
  o.walk = im.opts.walk;
  o.include_contact = im.opts.include_contact;
  o.metrics_interval = im.opts.metrics_interval;
  std::vector<std::future<void>> done;
  for (std::size_t i = 0; i < im.shards.size(); ++i) {
    auto* s = im.shards[i].get();
    auto* job = &jobs[i];
    job->opts = o;
    auto p = std::make_shared<std::promise<void>>();
    done.push_back(p->get_future());
    asio::post(s->io, [s, job, p] {
      s->apply(*job);
      p->set_value();
    });
  }
  // The jobs live in this frame: wait for every shard (stop() runs on this same thread, so the
  // shard threads are alive and each runs its job).
  for (auto& f : done) f.wait();
  for (const auto& j : jobs) {
    out.added += j.added;
    out.removed += j.removed;
    out.kept += j.kept;
  }
  im.devices = im.devices + out.added - out.removed;
  return out;
}

std::size_t engine::device_count() const noexcept {
  return impl_->devices;
}
unsigned engine::shard_count() const noexcept {
  return static_cast<unsigned>(impl_->shards.size());
}
bool engine::running() const noexcept {
  return impl_->started && !impl_->stopped;
}

std::error_code engine::start() {
  auto& im = *impl_;
  if (im.started) return make_error_code(error::bad_config);
  im.endpoints.clear();  // only needed while adding
  for (auto& s : im.shards)
    if (auto ec = s->open()) {
      for (auto& o : im.shards) o->client.reset();
      return ec;
    }
  im.started = true;
  const auto& so = im.opts.schedule;
  milliseconds spread = so.first_poll_spread;
  if (spread.count() <= 0) {
    const auto shortest =
        duration_cast<milliseconds>(*std::min_element(so.cadence.begin(), so.cadence.end()));
    spread = std::min(shortest, milliseconds{static_cast<std::int64_t>(im.devices) * 10});
  }
  const auto t0 = clock::now();
  const auto t0_ms = unix_ms_now();
  for (auto& s : im.shards) {
    const auto spread_ticks =
        static_cast<std::uint32_t>(std::max<std::int64_t>(0, spread.count() / s->tick.count()));
    s->begin(t0, t0_ms, spread_ticks);
  }
  spdlog::info("engine: {} devices on {} shard(s), up to {} polls at once", im.devices,
               im.shards.size(), im.opts.max_concurrent_polls);
  return {};
}

void engine::poll_all_now(std::uint32_t classes) {
  auto& im = *impl_;
  if (!running()) return;
  for (auto& sp : im.shards) {
    auto* s = sp.get();
    ++s->pending_requests;
    s->idle.store(false);
    asio::post(s->io, [s, classes] { s->force_all(classes); });
  }
}

bool engine::wait_idle(milliseconds timeout) {
  auto& im = *impl_;
  std::unique_lock lock(im.idle_mutex);
  return im.idle_cv.wait_for(lock, timeout, [&] {
    return std::all_of(im.shards.begin(), im.shards.end(),
                       [](const auto& s) { return s->idle.load(); });
  });
}

engine_stats engine::stats() const {
  auto& im = *impl_;
  engine_stats total;
  for (auto& sp : im.shards) {
    auto* s = sp.get();
    engine_stats one;
    if (s->thread.joinable() && !s->io.stopped()) {
      std::promise<engine_stats> p;
      auto f = p.get_future();
      asio::post(s->io, [s, &p] { p.set_value(s->snapshot_stats()); });
      if (f.wait_for(std::chrono::seconds(5)) != std::future_status::ready) continue;
      one = f.get();
    } else {
      one = s->snapshot_stats();
    }
    total.devices += one.devices;
    total.up += one.up;
    total.down += one.down;
    total.never_seen += one.never_seen;
    total.polls_complete += one.polls_complete;
    total.polls_partial += one.polls_partial;
    total.polls_failed += one.polls_failed;
    total.polls_cancelled += one.polls_cancelled;
    total.polls_in_progress += one.polls_in_progress;
    total.queued += one.queued;
    total.polls_waiting_retry += one.polls_waiting_retry;
    total.slot_releases += one.slot_releases;
    total.polls_parked += one.polls_parked;
    total.peak_polls_in_slots += one.peak_polls_in_slots;
    total.peak_polls_waiting += one.peak_polls_waiting;
    total.snapshots += one.snapshots;
    total.snapshot_bytes += one.snapshot_bytes;
    total.down_events += one.down_events;
    total.up_events += one.up_events;
    total.probes += one.probes;
    total.requests += one.requests;
    total.attempts += one.attempts;
    total.bytes_sent += one.bytes_sent;
    total.bytes_received += one.bytes_received;
    total.varbinds += one.varbinds;
    total.loops += one.loops;
    total.runaways += one.runaways;
    total.out_of_order += one.out_of_order;
    total.too_big += one.too_big;
    total.no_such_name += one.no_such_name;
    total.shrinks += one.shrinks;
    total.client += one.client;
    total.transport += one.transport;
    total.request_latency.merge(one.request_latency);
    total.poll_latency.merge(one.poll_latency);
    total.scheduler_lag.merge(one.scheduler_lag);
  }
  total.device_record_bytes = sizeof(device_rec);
  return total;
}

void engine::stop(milliseconds grace) {
  auto& im = *impl_;
  if (!im.started || im.stopped) return;
  im.stopped = true;
  for (auto& sp : im.shards) {
    auto* s = sp.get();
    asio::post(s->io, [s, grace] { s->begin_stop(grace); });
  }
  for (auto& s : im.shards)
    if (s->thread.joinable()) s->thread.join();
  im.sink.flush();
  im.notify_idle();
}

}  // namespace fleetpoll::engine
