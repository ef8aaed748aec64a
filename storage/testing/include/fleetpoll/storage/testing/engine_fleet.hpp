// Test and benchmark support (header-only; link fleetpoll::engine, fleetpoll::fleetsim and
// fleetpoll::storage_adapters): the real engine polling an in-process fleetsim through real UDP on
// loopback, its polls going through storage::engine_sink into a real store.
//
// fleetsim runs with a frozen clock (acceleration 0) that the test moves with set_time(); a
// round polls every device once at that simulated moment. The engine stamps polls with the wall
// clock; sim_time_sink re-stamps them with the fleet's simulated time (the test seam that lets
// a day of simulated polling happen in seconds), and records which classes each poll delivered
// so that a comparison with fleetsim's ground truth uses exactly the moments that were observed.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <boost/asio/ip/address.hpp>

#include "fleetpoll/engine/engine.hpp"
#include "fleetpoll/engine/poll_plan.hpp"
#include "fleetpoll/fleetsim/fleetsim.hpp"
#include "fleetpoll/storage/engine_sink.hpp"
#include "fleetpoll/storage/store.hpp"

namespace fleetpoll::storage::testing {

// Loopback only, no rate caps (fleetsim is in the same process), short timeouts.
inline engine::engine_options fast_engine_options(unsigned threads = 2) {
  using namespace std::chrono_literals;
  engine::engine_options eo;
  eo.threads = threads;
  eo.client.retries = 3;
  eo.client.rtt.initial = 100ms;
  eo.client.rtt.min = 20ms;
  eo.client.rtt.max = 1000ms;
  eo.client.jitter = 0;
  eo.client.rate.global_pps = 0;
  eo.client.rate.subnet_pps = 0;
  eo.client.rate.device_min_gap = 0us;
  eo.client.bind_v4 = {boost::asio::ip::address_v4::loopback(), 0};
  eo.walk.retry_budget = 12;
  eo.schedule.enabled = false;  // the test drives rounds with poll_all_now()
  eo.metrics_interval = 50ms;
  return eo;
}

// Forwards to `next` with at_ms replaced by the simulated time set by the test, and keeps the
// class mask of every poll per device (address -> [(sim ms, classes)]).
class sim_time_sink final : public engine::snapshot_sink {
 public:
  explicit sim_time_sink(engine::snapshot_sink& next) : next_(next) {}
  void set_time_ms(std::uint64_t t) { now_.store(t); }
  void on_poll(const engine::poll_record& r) override {
    engine::poll_record copy = r;
    copy.at_ms = now_.load();
    {
      std::lock_guard lock(m_);
      observed_[std::string(r.address)].push_back({copy.at_ms, r.classes});
    }
    next_.on_poll(copy);
  }
  void on_device_down(const engine::device_down_event& e) override {
    engine::device_down_event copy = e;
    copy.at_ms = now_.load();
    downs_.fetch_add(1);
    next_.on_device_down(copy);
  }
  void on_device_up(const engine::device_up_event& e) override {
    engine::device_up_event copy = e;
    copy.at_ms = now_.load();
    next_.on_device_up(copy);
  }
  void flush() override { next_.flush(); }

  struct observation {
    std::uint64_t at_ms;
    std::uint32_t classes;
  };
  std::map<std::string, std::vector<observation>> observed() const {
    std::lock_guard lock(m_);
    return observed_;
  }
  std::uint64_t downs() const { return downs_.load(); }

 private:
  engine::snapshot_sink& next_;
  std::atomic<std::uint64_t> now_{0};
  std::atomic<std::uint64_t> downs_{0};
  mutable std::mutex m_;
  std::map<std::string, std::vector<observation>> observed_;
};

// "127.1.0.7:40123": the key the engine and the store use for device `i`.
inline std::string device_key(const fleetsim::fleet& f, std::uint32_t i) {
  return f.address_of(i) + ":" + std::to_string(f.port());
}

// Adds every device of `f` to `e`. Returns false on the first refusal.
inline bool add_fleet(engine::engine& e, const fleetsim::fleet& f) {
  for (std::uint32_t i = 0; i < f.size(); ++i)
    if (e.add_target({{boost::asio::ip::make_address(f.address_of(i)), f.port()}})) return false;
  return true;
}

// Polls every device once for `classes`; true when the engine went idle and the sink wrote
// everything within `bound` each.
inline bool poll_round(engine::engine& e, engine_sink& sink,
                       std::uint32_t classes = engine::all_classes,
                       std::chrono::milliseconds bound = std::chrono::seconds(120)) {
  e.poll_all_now(classes);
  return e.wait_idle(bound) && sink.drain(bound);
}

// The chain of a test that moves fleetsim's simulated time: a store whose clock is that time,
// engine_sink, sim_time_sink and the engine polling the given devices of the fleet.
struct sim_rig {
  std::atomic<std::uint64_t> now_ms{0};
  std::unique_ptr<store> db;
  std::unique_ptr<engine_sink> sink;
  std::unique_ptr<sim_time_sink> stamps;
  std::unique_ptr<engine::engine> eng;

  // Empty on success, else what failed.
  std::string open(store_options o, const fleetsim::fleet& f,
                   const std::vector<std::uint32_t>& devices) {
    o.clock = [this] { return now_ms.load(); };
    std::string detail;
    if (auto ec = store::open(o, db, &detail)) return detail.empty() ? ec.message() : detail;
    sink = std::make_unique<engine_sink>(*db);
    stamps = std::make_unique<sim_time_sink>(*sink);
    eng = std::make_unique<engine::engine>(fast_engine_options(2), *stamps);
    for (auto i : devices)
      if (eng->add_target({{boost::asio::ip::make_address(f.address_of(i)), f.port()}}))
        return "add_target refused " + f.address_of(i);
    if (eng->start()) return "the engine did not start";
    return {};
  }
  // Moves fleetsim, the store's clock and the poll stamps to simulated second `t`.
  void set_time(fleetsim::fleet& f, std::int64_t t) {
    f.set_time(static_cast<double>(t));
    now_ms = static_cast<std::uint64_t>(t) * 1000;
    stamps->set_time_ms(static_cast<std::uint64_t>(t) * 1000);
  }
};

}  // namespace fleetpoll::storage::testing
