// storage_crash_writer — a stand-in for the engine in the crash and two-process tests: it opens a
// site database, drives a simulated office fleet into it continuously (two ingest threads), and
// acts as the uplink on a third thread (uplink_emulation.hpp, through storage::outbox_source),
// reading the outbox in batches and acknowledging them out of order. It runs until killed (or
// until --sim-days of simulated time have passed). The crash test's default writer is the real
// engine (engine_crash_writer.cpp); this one serves the two-process test and a store-only crash
// run (FLEETPOLL_CRASH_WRITER).
//
//   storage_crash_writer --db DIR --log FILE [--devices N] [--seed S] [--start-ms T] [--sim-days D]
//
// Contract with the tests (crash_test.cpp, two_process_test.cpp), which a real engine run would
// keep too: prints "ready" once the database is open, then "progress N" every 200 polls, to
// stdout, flushed. Appends one line per uplink step to the log, each with one write():
//   "R first last"  after read() handed out records first..last
//   "A first last"  after acknowledge(first, last) succeeded
// Exit code 0 when the simulated time ran out, 1 on any error (printed to stderr).
#include <fcntl.h>
#include <unistd.h>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>

#include <cstdio>
#include <iostream>
#include <thread>

#include "fleetpoll/storage/outbox_source.hpp"
#include "fleetpoll/storage/store.hpp"
#include "fleetpoll/storage/testing/fleet_driver.hpp"
#include "uplink_emulation.hpp"

namespace st = fleetpoll::storage;

int main(int argc, char** argv) {
  CLI::App app{"storage_crash_writer: a simulated fleet written into a store until killed"};
  std::string db, log;
  int devices = 40;
  std::uint64_t seed = 1, start_ms = st::testing::sim_epoch_ms;
  double sim_days = 5;
  app.add_option("--db", db, "Database folder")->required();
  app.add_option("--log", log, "Uplink log (R/A lines)")->required();
  app.add_option("--devices", devices, "Simulated printers")->default_val(40);
  app.add_option("--seed", seed, "Simulation seed")->default_val(1);
  app.add_option("--start-ms", start_ms, "Simulated start time, Unix ms");
  app.add_option("--sim-days", sim_days, "Simulated days before exiting")->default_val(5);
  CLI11_PARSE(app, argc, argv);
  spdlog::set_default_logger(spdlog::stderr_color_mt("writer"));  // stdout is the contract

  const int log_fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log_fd < 0) {
    std::perror("storage_crash_writer: cannot open the log");
    return 1;
  }
  const std::uint64_t end_ms =
      start_ms + static_cast<std::uint64_t>(sim_days * static_cast<double>(st::testing::day_ms));
  st::store_options o;
  o.path = db;
  o.site_id = "crash-site";
  o.min_free_bytes = 0;
  o.block_cache_bytes = 8u << 20;
  o.write_buffer_bytes =
      2u << 20;  // small memtables: flushes and compactions happen during the run
  o.clock = [end_ms] { return end_ms; };  // simulated time: retention never touches the run
  std::unique_ptr<st::store> s;
  std::string detail;
  if (auto ec = st::store::open(o, s, &detail)) {
    std::cerr << "storage_crash_writer: " << detail << "\n";
    return 1;
  }
  std::printf("ready\n");
  std::fflush(stdout);

  st::outbox_source source(*s);
  fleetpoll::storage::test::uplink_emulation up(source, log_fd, seed);
  std::thread uplink([&] { up.run(); });

  st::testing::fleet_options fo;
  fo.devices = devices;
  fo.seed = seed;
  fo.start_ms = start_ms;
  fo.end_ms = end_ms;
  fo.threads = 2;
  fo.profile.counter_reset_per_day = 0.05;
  fo.progress_every = 200;
  fo.progress = [&](std::uint64_t n) {
    std::printf("progress %llu\n", static_cast<unsigned long long>(n));
    std::fflush(stdout);
  };
  const auto r = st::testing::run_fleet(*s, fo);
  up.stop();
  uplink.join();
  ::close(log_fd);
  if (r.errors) {
    std::cerr << "storage_crash_writer: " << r.errors << " calls failed\n";
    return 1;
  }
  return 0;
}
