// storage_engine_crash_writer — the crash test's writer: the real engine (library) polling a
// real fleetsim (library, in this process) through real UDP on loopback, on the engine's own
// schedule, into storage::engine_sink and a RocksDB store; a third party acts as the uplink
// (uplink_emulation.hpp, through storage::outbox_source), acknowledging batches out of order.
// It runs until killed.
//
//   storage_engine_crash_writer --db DIR --log FILE --port P [--devices N] [--seed S]
//                               [--start-s T] [--accel A] [--progress-every K]
//
// fleetsim's clock runs `accel` times faster than real time from simulated second T, so levels,
// alerts, replacements and counter resets happen while it runs; every class is polled every
// second. The fleet listens on loopback port P: the same devices (same keys in the store) across
// restarts.
//
// Contract with crash_test.cpp (the same as storage_crash_writer's): prints "ready" once the
// database is open and the engine runs, then "progress N" every K polls stored, to stdout,
// flushed; the uplink log as uplink_emulation.hpp says. Exit code 1 on a start-up error.
#include <fcntl.h>
#include <unistd.h>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>

#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <iostream>
#include <mutex>
#include <thread>

#include "fleetpoll/storage/engine_sink.hpp"
#include "fleetpoll/storage/outbox_source.hpp"
#include "fleetpoll/storage/store.hpp"
#include "fleetpoll/storage/testing/engine_fleet.hpp"
#include "uplink_emulation.hpp"

namespace st = fleetpoll::storage;
namespace eng = fleetpoll::engine;
namespace sim = fleetpoll::fleetsim;

namespace {

// Counts polls on their way to the store and prints the progress lines.
class progress_sink final : public eng::snapshot_sink {
 public:
  progress_sink(eng::snapshot_sink& next, std::uint64_t every) : next_(next), every_(every) {}
  void on_poll(const eng::poll_record& r) override {
    next_.on_poll(r);
    const auto n = polls_.fetch_add(1) + 1;
    if (n % every_ == 0) {
      std::lock_guard lock(print_);
      std::printf("progress %llu\n", static_cast<unsigned long long>(n));
      std::fflush(stdout);
    }
  }
  void on_device_down(const eng::device_down_event& e) override { next_.on_device_down(e); }
  void on_device_up(const eng::device_up_event& e) override { next_.on_device_up(e); }
  void flush() override { next_.flush(); }

 private:
  eng::snapshot_sink& next_;
  std::uint64_t every_;
  std::atomic<std::uint64_t> polls_{0};
  std::mutex print_;
};

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "storage_engine_crash_writer: the engine polling fleetsim into a store until killed"};
  std::string db, log;
  std::uint32_t devices = 300;
  std::uint16_t port = 0;
  std::uint64_t seed = 1, progress_every = 100;
  std::int64_t start_s = 1767603600;
  double accel = 600;
  app.add_option("--db", db, "Database folder")->required();
  app.add_option("--log", log, "Uplink log (R/A lines)")->required();
  app.add_option("--port", port, "fleetsim's UDP port on loopback")->required();
  app.add_option("--devices", devices, "Simulated printers")->default_val(300);
  app.add_option("--seed", seed, "Seed of the fleet and of the uplink's order")->default_val(1);
  app.add_option("--start-s", start_s, "Simulated start, Unix seconds");
  app.add_option("--accel", accel, "Simulated seconds per real second")->default_val(600);
  app.add_option("--progress-every", progress_every, "Polls per progress line")->default_val(100);
  CLI11_PARSE(app, argc, argv);
  spdlog::set_default_logger(spdlog::stderr_color_mt("writer"));  // stdout is the contract

  const int log_fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log_fd < 0) {
    std::perror("storage_engine_crash_writer: cannot open the log");
    return 1;
  }
  st::store_options o;
  o.path = db;
  o.site_id = "crash-site";
  o.min_free_bytes = 0;
  o.block_cache_bytes = 8u << 20;
  o.write_buffer_bytes = 2u << 20;  // small memtables: flushes and compactions during the run
  std::unique_ptr<st::store> s;
  std::string detail;
  if (auto ec = st::store::open(o, s, &detail)) {
    std::cerr << "storage_engine_crash_writer: " << detail << "\n";
    return 1;
  }

  sim::options so;
  so.devices = devices;
  so.port = port;
  so.seed = 42;  // the same fleet in every run; `seed` varies the uplink
  so.start_time = start_s;
  so.acceleration = accel;
  std::string why;
  auto fleet = sim::fleet::create(so, why);
  if (!fleet || fleet->start(why)) {
    std::cerr << "storage_engine_crash_writer: fleetsim: " << why << "\n";
    return 1;
  }

  st::engine_sink sink(*s);
  progress_sink counting(sink, progress_every);
  auto eo = st::testing::fast_engine_options(2);
  eo.schedule.enabled = true;
  eo.schedule.cadence.fill(std::chrono::seconds(1));
  eo.schedule.cadence[0] = std::chrono::seconds(3600);  // identity
  eo.schedule.first_poll_spread = std::chrono::milliseconds(200);
  eng::engine e(eo, counting);
  if (!st::testing::add_fleet(e, *fleet) || e.start()) {
    std::cerr << "storage_engine_crash_writer: the engine did not start\n";
    return 1;
  }

  st::outbox_source source(*s);
  st::test::uplink_emulation up(source, log_fd, seed);
  std::printf("ready\n");
  std::fflush(stdout);
  up.run();  // until killed
  return 0;
}
