// storage_bench — the storage figures of issue 5, measured on real RocksDB files:
//   1. ingest: samples per second through store::ingest() from two threads, for a simulated
//      office fleet at realistic cadences (status/alerts 3 min, supplies 5 min, counters 15 min,
//      identity daily) and for polls that fetch every class each time;
//   2. bytes on disk per printer per day at a 5-minute supply cadence with the office profile,
//      after the uplink acknowledged everything and a full compaction;
//   3. latency of one printer's 30-day history query (events and every series).
//
//   storage_bench [--json FILE] [--dir DIR] [--devices N] [--days D] [--quick]
//
// The fleet is storage/testing's office simulation (fleetsim's office profile will replace it at
// integration). A "sample" is one value a poll carried: a supply level, a tray level, a counter,
// or the status. Snapshots are built before the timed part; only ingest() is timed.
#include <rocksdb/version.h>
#include <spdlog/spdlog.h>
#include <stdlib.h>
#include <CLI/CLI.hpp>
#include <boost/json.hpp>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <thread>

#include "fleetpoll/storage/store.hpp"
#include "fleetpoll/storage/testing/fleet_driver.hpp"

namespace st = fleetpoll::storage;
namespace sim = fleetpoll::storage::testing;
namespace fs = std::filesystem;
using clock_type = std::chrono::steady_clock;

namespace {

struct prebuilt {
  int device;
  std::string address;
  std::uint64_t at;
  std::uint8_t classes;
  flatbuffers::DetachedBuffer snapshot;
  std::uint32_t samples;
};

std::unique_ptr<st::store> open_store(const fs::path& path, std::uint64_t now) {
  st::store_options o;
  o.path = path;
  o.site_id = "bench";
  o.min_free_bytes = 0;
  o.clock = [now] { return now; };
  std::unique_ptr<st::store> s;
  std::string detail;
  if (auto ec = st::store::open(o, s, &detail)) {
    std::cerr << "storage_bench: " << detail << "\n";
    std::exit(1);
  }
  return s;
}

// Acknowledges everything in the outbox, as a connected uplink would have.
void drain_outbox(st::store& s) {
  const auto last = s.outbox().last_seq();
  const auto first = s.outbox().first_unacknowledged();
  if (first <= last) s.outbox().acknowledge(first, last);
}

struct ingest_figures {
  std::uint64_t polls = 0, samples = 0, records = 0, written = 0;
  double seconds = 0;      // wall clock of the timed parts
  double cpu_seconds = 0;  // CPU time of the whole process (RocksDB's threads too) in them
};

double process_cpu_seconds() {
  timespec ts{};
  ::clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

double load_average() {
  double l = 0;
  std::ifstream("/proc/loadavg") >> l;
  return l;
}

// Phase 1: the fleet's polls are built chunk by chunk (untimed) and ingested by two threads,
// each owning half of the devices so that a device's polls stay in order (timed).
ingest_figures ingest_phase(const fs::path& dir, int devices, double hours, bool every_class) {
  auto s = open_store(dir, sim::sim_epoch_ms + 400 * sim::day_ms);
  // Monday from 08:00: office hours, when printers print and levels, counters, trays and
  // alerts move (a night of unchanged polls would flatter the figure).
  const std::uint64_t begin = sim::sim_epoch_ms + 8ull * 3'600'000;
  std::vector<std::unique_ptr<sim::office_printer>> fleet;
  fleet.reserve(static_cast<std::size_t>(devices));
  for (int i = 0; i < devices; ++i)
    fleet.push_back(std::make_unique<sim::office_printer>(i, begin, 7, sim::office_profile{}));
  sim::cadence c;
  ingest_figures f;
  const std::uint64_t end = begin + static_cast<std::uint64_t>(hours * 3'600'000);
  const std::uint64_t chunk_ms = 20 * sim::minute_ms;
  for (std::uint64_t t0 = begin; t0 < end; t0 += chunk_ms) {
    std::vector<prebuilt> polls;
    for (std::uint64_t t = t0 + sim::minute_ms; t <= t0 + chunk_ms; t += sim::minute_ms)
      for (auto& p : fleet) {
        p->advance_to(t);
        std::uint8_t due = t == begin + sim::minute_ms
                               ? 0x1F
                               : sim::due_classes(c, p->number(), t - sim::minute_ms, t);
        if (every_class && due) due = 0x1F;
        if (!due || !p->powered()) continue;
        // A poll's snapshot holds what that poll fetched (the engine walks only those tables).
        sim::device_spec spec = p->spec();
        if (!(due & 0x01)) {
          spec.vendor = spec.model = spec.serial = spec.firmware = spec.mac = spec.sys_name = "";
          spec.sys_location = spec.sys_object_id = spec.printer_name = spec.sys_descr = "";
          spec.enterprise.reset();
        }
        if (!(due & 0x02)) spec.has_status = false;
        if (!(due & 0x04)) spec.alerts.clear();
        if (!(due & 0x08)) spec.supplies.clear(), spec.trays.clear();
        if (!(due & 0x10)) spec.markers.clear();
        std::uint32_t n = 0;
        if (due & 0x08) n += static_cast<std::uint32_t>(spec.supplies.size() + spec.trays.size());
        if (due & 0x10) n += static_cast<std::uint32_t>(spec.markers.size());
        if (due & 0x02) n += 1;
        polls.push_back({p->number(), p->address(), t, due, sim::build_snapshot(spec, t), n});
      }
    std::atomic<std::uint64_t> records{0}, written{0};
    auto work = [&](int w) {
      for (const auto& p : polls) {
        if (p.device % 2 != w) continue;
        st::poll_record r;
        r.address = p.address;
        r.at_ms = p.at;
        r.classes = p.classes;
        r.snapshot = std::span(p.snapshot.data(), p.snapshot.size());
        st::ingest_stats stats;
        if (auto ec = s->ingest(r, stats)) {
          std::cerr << "storage_bench: ingest failed: " << ec.message() << "\n";
          std::exit(1);
        }
        records += stats.records;
        written += stats.samples;
      }
    };
    const auto b = clock_type::now();
    const double c0 = process_cpu_seconds();
    std::thread other(work, 1);
    work(0);
    other.join();
    f.seconds += std::chrono::duration<double>(clock_type::now() - b).count();
    f.cpu_seconds += process_cpu_seconds() - c0;
    for (const auto& p : polls) f.samples += p.samples;
    f.polls += polls.size();
    f.records += records;
    f.written += written;
    drain_outbox(*s);
  }
  return f;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"storage_bench: ingest rate, bytes per printer per day, history query latency"};
  std::string json_file, dir_arg;
  int devices = 2000, size_devices = 100;
  double days = 31;
  bool quick = false;
  std::string only;
  app.add_option("--json", json_file, "Also write the figures as JSON to this file");
  app.add_option("--dir", dir_arg,
                 "Folder for the databases (default: a new temporary one, removed)");
  app.add_option("--devices", devices, "Printers in the ingest phase")->default_val(2000);
  app.add_option("--size-devices", size_devices, "Printers in the size/query phase")
      ->default_val(100);
  app.add_option("--days", days, "Simulated days in the size/query phase (at least 31)")
      ->default_val(31);
  app.add_flag("--quick", quick, "Smaller runs (a smoke test of the benchmark itself)");
  app.add_option("--only", only, "Run one part: ingest or size (size includes the query latency)")
      ->check(CLI::IsMember({"ingest", "size"}));
  CLI11_PARSE(app, argc, argv);
  spdlog::set_level(spdlog::level::warn);
  if (quick) {
    devices = 200;
    size_devices = 10;
  }
  days = std::max(days, 31.0);

  fs::path dir;
  bool own_dir = dir_arg.empty();
  if (own_dir) {
    std::string t = (fs::temp_directory_path() / "fleetpoll-storage-bench-XXXXXX").string();
    if (!::mkdtemp(t.data())) return 1;
    dir = t;
  } else {
    dir = dir_arg;
    fs::create_directories(dir);
  }
  boost::json::object out;
  out["machine_cores"] = std::thread::hardware_concurrency();
  out["rocksdb"] = std::to_string(ROCKSDB_MAJOR) + "." + std::to_string(ROCKSDB_MINOR) + "." +
                   std::to_string(ROCKSDB_PATCH);

  // 1. Ingest.
  if (only != "size") {
    std::printf("1. ingest, %d office printers, two threads\n", devices);
    for (bool every : {false, true}) {
      const auto f =
          ingest_phase(dir / (every ? "ingest-all" : "ingest-mix"), devices, quick ? 2 : 6, every);
      const double sps = static_cast<double>(f.samples) / f.seconds;
      const char* what = every ? "every class in every poll"
                               : "office cadences (status 3 min, supplies 5, counters 15)";
      std::printf(
          "   %-56s %9.0f samples/s  %8.0f polls/s  (%llu polls, %llu samples, %llu records, %llu "
          "samples stored, %.2f s)\n",
          what, sps, static_cast<double>(f.polls) / f.seconds,
          static_cast<unsigned long long>(f.polls), static_cast<unsigned long long>(f.samples),
          static_cast<unsigned long long>(f.records), static_cast<unsigned long long>(f.written),
          f.seconds);
      // Other work on the machine takes CPU from the run: the CPU it did get is said too, as a
      // rate per CPU-second (times the cores it could have had on an idle machine).
      const double per_cpu = static_cast<double>(f.samples) / f.cpu_seconds;
      std::printf(
          "   %-56s %9.0f samples per CPU-second (%.2f CPU-s; load average %.1f at the end)\n", "",
          per_cpu, f.cpu_seconds, load_average());
      boost::json::object o;
      o["polls"] = f.polls;
      o["samples"] = f.samples;
      o["records"] = f.records;
      o["samples_stored"] = f.written;
      o["seconds"] = f.seconds;
      o["samples_per_second"] = sps;
      o["polls_per_second"] = static_cast<double>(f.polls) / f.seconds;
      o["cpu_seconds"] = f.cpu_seconds;
      o["samples_per_cpu_second"] = per_cpu;
      o["load_average"] = load_average();
      out[every ? "ingest_every_class" : "ingest_office_mix"] = std::move(o);
    }
  }

  // 2. Bytes per printer per day; 3. history query latency — on one database of `days` days.
  if (only == "ingest") {
    if (!json_file.empty()) std::ofstream(json_file) << boost::json::serialize(out) << "\n";
    if (own_dir) fs::remove_all(dir);
    return 0;
  }
  std::printf("2. size: %d office printers, %.0f simulated days, supplies every 5 min\n",
              size_devices, days);
  const std::uint64_t end =
      sim::sim_epoch_ms + static_cast<std::uint64_t>(days * static_cast<double>(sim::day_ms));
  auto s = open_store(dir / "size", end);
  sim::fleet_options fo;
  fo.devices = size_devices;
  fo.end_ms = end;
  fo.seed = 11;
  const auto b = clock_type::now();
  // One simulated day at a time, acknowledging what the uplink would have sent.
  sim::fleet_result total;
  {
    fo.progress_every = 100000;
    fo.progress = [&](std::uint64_t) { drain_outbox(*s); };
    total = sim::run_fleet(*s, fo);
    drain_outbox(*s);
  }
  const double run_s = std::chrono::duration<double>(clock_type::now() - b).count();
  const auto before = s->disk_bytes();
  if (auto ec = s->compact())
    std::cerr << "storage_bench: compaction failed: " << ec.message() << "\n";
  const auto after = s->disk_bytes();
  const double per_day = static_cast<double>(after) / size_devices / days;
  std::printf(
      "   %llu polls in %.1f s; %llu records; database %.1f MiB before compaction, %.2f MiB "
      "after\n",
      static_cast<unsigned long long>(total.polls), run_s,
      static_cast<unsigned long long>(s->outbox().last_seq()),
      static_cast<double>(before) / (1 << 20), static_cast<double>(after) / (1 << 20));
  std::printf("   bytes on disk per printer per day: %.0f\n", per_day);
  boost::json::object size;
  size["printers"] = size_devices;
  size["days"] = days;
  size["polls"] = total.polls;
  size["records"] = s->outbox().last_seq();
  size["bytes_before_compaction"] = before;
  size["bytes_after_compaction"] = after;
  size["bytes_per_printer_per_day"] = per_day;
  size["records_per_printer_per_day"] =
      static_cast<double>(s->outbox().last_seq()) / size_devices / days;
  out["size"] = std::move(size);

  std::printf("3. one printer's 30-day history (events and every series)\n");
  std::vector<st::device_view> devs;
  s->devices(devs, false);
  st::history_query q;
  q.since_ms = end - 30 * sim::day_ms;
  std::vector<double> ms;
  std::size_t events = 0, samples = 0;
  for (int round = 0; round < 5; ++round)
    for (const auto& d : devs) {
      st::history_result h;
      const auto t0 = clock_type::now();
      s->history(d.device_id, q, h);
      ms.push_back(std::chrono::duration<double, std::milli>(clock_type::now() - t0).count());
      events += h.events.size();
      samples += h.samples.size();
    }
  std::sort(ms.begin(), ms.end());
  const double p50 = ms[ms.size() / 2], p99 = ms[ms.size() * 99 / 100], worst = ms.back();
  std::printf(
      "   %zu queries: p50 %.2f ms, p99 %.2f ms, max %.2f ms (%.0f events and %.0f samples per "
      "answer)\n",
      ms.size(), p50, p99, worst, static_cast<double>(events) / static_cast<double>(ms.size()),
      static_cast<double>(samples) / static_cast<double>(ms.size()));
  // Cold: a freshly opened store, its block cache empty (the OS page cache is not dropped).
  s.reset();
  s = open_store(dir / "size", end);
  st::history_result h;
  const auto t0 = clock_type::now();
  s->history(devs.front().device_id, q, h);
  const double cold = std::chrono::duration<double, std::milli>(clock_type::now() - t0).count();
  std::printf("   first query after reopening: %.2f ms\n", cold);
  boost::json::object query;
  query["queries"] = ms.size();
  query["p50_ms"] = p50;
  query["p99_ms"] = p99;
  query["max_ms"] = worst;
  query["first_after_reopen_ms"] = cold;
  query["events_per_answer"] = static_cast<double>(events) / static_cast<double>(ms.size());
  query["samples_per_answer"] = static_cast<double>(samples) / static_cast<double>(ms.size());
  out["history_30d"] = std::move(query);
  s.reset();

  if (!json_file.empty()) {
    std::ofstream(json_file) << boost::json::serialize(out) << "\n";
    std::printf("figures written to %s\n", json_file.c_str());
  }
  if (own_dir) fs::remove_all(dir);
  return 0;
}
