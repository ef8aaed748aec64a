#include "fleetpoll/storage/engine_sink.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <span>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include "fleetpoll/storage/error.hpp"
#include "fleetpoll/storage/store.hpp"

namespace fleetpoll::storage {

namespace {

struct item {
  enum kind_t : std::uint8_t { poll, down } kind = poll;
  std::string address;
  std::uint64_t at_ms = 0;
  std::uint32_t classes = 0;
  std::vector<std::uint8_t> snapshot;  // poll
  std::uint32_t failed_polls = 0;      // down
  std::string last_error;              // down
};

bool permanent(std::error_code ec) {
  return ec == error::invalid_snapshot || ec == error::invalid_record;
}

// fleetpoll_storage_sink_*: created when a registry is given.
struct sink_metrics {
  explicit sink_metrics(prometheus::Registry& r) {
    auto& calls = prometheus::BuildCounter()
                      .Name("fleetpoll_storage_sink_polls_total")
                      .Help(
                          "Polls the storage sink received from the engine, by what became of "
                          "them (written, merged into a newer poll, dropped on a full queue, "
                          "rejected as invalid).")
                      .Register(r);
    written = &calls.Add({{"result", "written"}});
    merged = &calls.Add({{"result", "merged"}});
    dropped = &calls.Add({{"result", "dropped"}});
    rejected = &calls.Add({{"result", "rejected"}});
    retries = &prometheus::BuildCounter()
                   .Name("fleetpoll_storage_sink_retries_total")
                   .Help(
                       "Store writes that failed (disk full, I/O error, recovering) and were "
                       "retried.")
                   .Register(r)
                   .Add({});
    queued = &prometheus::BuildGauge()
                  .Name("fleetpoll_storage_sink_queued")
                  .Help("Polls and reachability events waiting to be written to the store.")
                  .Register(r)
                  .Add({});
  }
  prometheus::Counter *written, *merged, *dropped, *rejected, *retries;
  prometheus::Gauge* queued;
};

}  // namespace

struct engine_sink::impl {
  struct queue {
    std::mutex mutex;
    std::condition_variable wake;  // writer: work or stop
    std::condition_variable idle;  // flush(): the queue drained
    std::deque<item> items;        // references stay valid on push_back/pop_front
    std::unordered_map<std::string, item*> queued_poll;  // the last queued poll per device
    std::size_t polls = 0;                               // polls (not events) in items
    bool busy = false;  // the writer holds an item outside the deque
    std::thread thread;
  };

  store& db;
  engine_sink_options opt;
  std::vector<std::unique_ptr<queue>> queues;
  std::unique_ptr<sink_metrics> metrics;
  std::atomic<bool> stopping{false};  // stop(): writers end once their queue is empty
  std::atomic<bool> abort{false};     // grace over: writers end now
  std::atomic<std::uint64_t> polls_received{0}, events_received{0}, written{0}, merged{0},
      dropped{0}, rejected{0}, retries{0}, queued{0};
  std::mutex log_mutex;
  std::chrono::steady_clock::time_point last_log{};
  std::uint64_t unlogged = 0;
  std::mutex stop_mutex;
  bool stopped = false;

  impl(store& d, const engine_sink_options& o) : db(d), opt(o) {
    if (opt.writer_threads == 0) opt.writer_threads = 1;
    if (opt.max_queued_polls == 0) opt.max_queued_polls = 1;
    opt.max_group_polls = std::clamp<std::size_t>(opt.max_group_polls, 1, store::max_group_polls);
    if (opt.metrics) metrics = std::make_unique<sink_metrics>(*opt.metrics);
    for (unsigned i = 0; i < opt.writer_threads; ++i) queues.push_back(std::make_unique<queue>());
    for (auto& q : queues) q->thread = std::thread([this, qp = q.get()] { run(*qp); });
  }

  queue& queue_of(std::string_view address) {
    return *queues[std::hash<std::string_view>{}(address) % queues.size()];
  }

  void count_queued(std::int64_t delta) {
    queued.fetch_add(static_cast<std::uint64_t>(delta));
    if (metrics) metrics->queued->Increment(static_cast<double>(delta));
  }

  void push_poll(const engine::poll_record& r) {
    polls_received.fetch_add(1, std::memory_order_relaxed);
    if (stopping.load()) {
      dropped.fetch_add(1);
      if (metrics) metrics->dropped->Increment();
      return;
    }
    queue& q = queue_of(r.address);
    std::unique_lock lock(q.mutex);
    if (q.polls >= opt.max_queued_polls) {
      // Full: the newest reading of a device replaces its queued one when it carries at least
      // the same classes; otherwise the poll is dropped.
      auto it = q.queued_poll.find(std::string(r.address));
      if (it != q.queued_poll.end() && (it->second->classes & ~r.classes) == 0) {
        it->second->at_ms = r.at_ms;
        it->second->classes = r.classes;
        it->second->snapshot.assign(r.snapshot.begin(), r.snapshot.end());
        lock.unlock();
        merged.fetch_add(1);
        if (metrics) metrics->merged->Increment();
        return;
      }
      lock.unlock();
      dropped.fetch_add(1);
      if (metrics) metrics->dropped->Increment();
      report("queue full, poll dropped", {});
      return;
    }
    item& x = q.items.emplace_back();
    x.kind = item::poll;
    x.address.assign(r.address);
    x.at_ms = r.at_ms;
    x.classes = r.classes;
    x.snapshot.assign(r.snapshot.begin(), r.snapshot.end());
    q.queued_poll[x.address] = &x;
    ++q.polls;
    count_queued(1);
    lock.unlock();
    q.wake.notify_one();
  }

  void push_event(item&& e) {
    events_received.fetch_add(1, std::memory_order_relaxed);
    if (stopping.load()) {
      dropped.fetch_add(1);
      return;
    }
    queue& q = queue_of(e.address);
    {
      std::lock_guard lock(q.mutex);
      // A later poll must not be merged into a poll queued before this event.
      q.queued_poll.erase(e.address);
      q.items.push_back(std::move(e));
      count_queued(1);
    }
    q.wake.notify_one();
  }

  // Hands a run of polls to the store in one ingest_many() call: results[i] for xs[i].
  void ingest(std::span<const item> xs, std::vector<std::error_code>& results) {
    thread_local std::vector<storage::poll_record> polls;
    polls.clear();
    results.assign(xs.size(), {});
    for (const auto& x : xs) {
      storage::poll_record& p = polls.emplace_back();
      p.address = x.address;
      p.at_ms = x.at_ms;
      p.classes = static_cast<std::uint8_t>(x.classes);
      p.snapshot = x.snapshot;
      if (p.classes != x.classes) p.address = {};  // refused as invalid_record
    }
    db.ingest_many(polls, results);
  }

  // Logs the first failure, then at most one line a minute with the count in between.
  void report(std::string_view what, std::error_code ec) {
    std::lock_guard lock(log_mutex);
    const auto now = std::chrono::steady_clock::now();
    if (last_log != std::chrono::steady_clock::time_point{} &&
        now - last_log < std::chrono::minutes(1)) {
      ++unlogged;
      return;
    }
    spdlog::error("storage sink: {}{}{} [{} more since the last report; {} queued]", what,
                  ec ? ": " : "", ec ? ec.message() : std::string(), unlogged, queued.load());
    last_log = now;
    unlogged = 0;
  }

  // Takes the calls at the head of the queue: one reachability event, or a run of up to
  // max_group_polls polls (stopping before an event, so a device's calls stay in order).
  // Under q.mutex.
  void take(queue& q, std::vector<item>& out) {
    out.clear();
    do {
      item& front = q.items.front();
      if (front.kind == item::poll) {
        --q.polls;
        // Later polls of this device can no longer merge into it.
        auto it = q.queued_poll.find(front.address);
        if (it != q.queued_poll.end() && it->second == &front) q.queued_poll.erase(it);
      }
      out.push_back(std::move(front));
      q.items.pop_front();
    } while (out.front().kind == item::poll && out.size() < opt.max_group_polls &&
             !q.items.empty() && q.items.front().kind == item::poll);
  }

  void run(queue& q) {
    std::vector<item> xs;
    std::vector<std::error_code> results;
    for (;;) {
      std::unique_lock lock(q.mutex);
      q.wake.wait(lock, [&] { return !q.items.empty() || stopping.load() || abort.load(); });
      if (q.items.empty() || abort.load()) break;
      take(q, xs);
      q.busy = true;
      lock.unlock();

      // Until every call is written or refused for good: a failed write fails its calls and
      // every later one of the run (the store attempts none after it), so retrying from the
      // first failure keeps each device's calls in order.
      std::size_t done = 0;
      while (done < xs.size()) {
        const std::span<const item> rest(xs.data() + done, xs.size() - done);
        if (rest.front().kind == item::poll) {
          ingest(rest, results);
        } else {
          const auto& x = rest.front();
          results.assign(1,
                         db.device_unreachable(x.address, x.at_ms, x.failed_polls, x.last_error));
        }
        std::error_code failure;
        std::size_t i = 0;
        for (; i < results.size(); ++i) {
          const std::error_code ec = results[i];
          if (!ec) {
            written.fetch_add(1, std::memory_order_relaxed);
            if (metrics) metrics->written->Increment();
          } else if (permanent(ec)) {
            rejected.fetch_add(1);
            if (metrics) metrics->rejected->Increment();
            report("store refused a poll of " + rest[i].address, ec);
          } else {
            failure = ec;  // retried, with every call after it
            break;
          }
        }
        done += i;
        if (!failure) continue;
        retries.fetch_add(1);
        if (metrics) metrics->retries->Increment();
        report("write failed, will retry", failure);
        if (abort.load()) break;
        // Back off: until the store recovers, or retry_interval, or the sink aborts.
        if (!db.writable()) db.wait_writable(opt.retry_interval);
        std::unique_lock wait_lock(q.mutex);
        q.wake.wait_for(wait_lock,
                        db.writable() ? opt.retry_interval : std::chrono::milliseconds(0),
                        [&] { return abort.load(); });
        if (abort.load()) break;
      }

      lock.lock();
      q.busy = false;
      count_queued(-static_cast<std::int64_t>(xs.size()));
      if (q.items.empty()) q.idle.notify_all();
    }
    std::lock_guard lock(q.mutex);
    q.busy = false;
    q.idle.notify_all();
  }

  bool drain(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (auto& q : queues) {
      std::unique_lock lock(q->mutex);
      if (!q->idle.wait_until(lock, deadline, [&] { return q->items.empty() && !q->busy; }))
        return false;
    }
    return true;
  }

  void stop(std::chrono::milliseconds grace) {
    std::lock_guard guard(stop_mutex);
    if (stopped) return;
    stopped = true;
    stopping.store(true);
    for (auto& q : queues) q->wake.notify_all();
    if (!drain(grace)) {
      spdlog::error(
          "storage sink: stopping with {} call(s) not written (the store stayed "
          "unwritable for the whole grace period)",
          queued.load());
    }
    abort.store(true);
    for (auto& q : queues) {
      { std::lock_guard lock(q->mutex); }
      q->wake.notify_all();
    }
    for (auto& q : queues)
      if (q->thread.joinable()) q->thread.join();
  }
};

engine_sink::engine_sink(store& db, const engine_sink_options& options)
    : impl_(std::make_unique<impl>(db, options)) {}

engine_sink::~engine_sink() {
  impl_->stop(impl_->opt.flush_timeout);
}

void engine_sink::on_poll(const engine::poll_record& record) {
  impl_->push_poll(record);
}

void engine_sink::on_device_down(const engine::device_down_event& event) {
  item e;
  e.kind = item::down;
  e.address.assign(event.address);
  e.at_ms = event.at_ms;
  e.failed_polls = event.failed_polls;
  e.last_error.assign(event.last_error);
  impl_->push_event(std::move(e));
}

// The store records device_up with the device's next successful poll (the engine polls a device
// at once when it answers again), so there is nothing to write here.
void engine_sink::on_device_up(const engine::device_up_event&) {
  impl_->events_received.fetch_add(1, std::memory_order_relaxed);
}

void engine_sink::flush() {
  if (!impl_->drain(impl_->opt.flush_timeout))
    spdlog::warn("storage sink: flush timed out with {} call(s) still queued",
                 impl_->queued.load());
}

bool engine_sink::drain(std::chrono::milliseconds timeout) {
  return impl_->drain(timeout);
}

void engine_sink::stop(std::chrono::milliseconds grace) {
  impl_->stop(grace);
}

engine_sink_stats engine_sink::stats() const {
  engine_sink_stats s;
  s.polls_received = impl_->polls_received.load();
  s.events_received = impl_->events_received.load();
  s.written = impl_->written.load();
  s.merged = impl_->merged.load();
  s.dropped = impl_->dropped.load();
  s.rejected = impl_->rejected.load();
  s.retries = impl_->retries.load();
  s.queued = impl_->queued.load();
  return s;
}

}  // namespace fleetpoll::storage
