// storage_bench — the storage figures of issue 5, measured on real RocksDB files:
//   1. ingest: samples per second through store::ingest_many() from two threads (N polls per
//      call, as the engine sink's writers hand them over; and one per call for comparison), for a
//      simulated office fleet at realistic cadences (status/alerts 3 min, supplies 5 min,
//      counters 15 min, identity daily) and for polls that fetch every class each time;
//   2. bytes on disk per printer per day at a 5-minute supply cadence with the office profile,
//      after the uplink acknowledged everything and a full compaction;
//   3. latency of one printer's 30-day history query (events and every series);
//   4. fleetsim's office profile through the real engine and real UDP (engine_sink, two stores
//      fed by the same polls): bytes on disk per printer per day at a 5-minute supply cadence,
//      and the change records per printer per day — what the uplink sends — with the default
//      counter interval (1 h) and without one (0), by kind.
//
//   storage_bench [--json FILE] [--dir DIR] [--devices N] [--days D] [--fleetsim-devices N]
//                 [--fleetsim-days D] [--fleetsim-profile office|workgroup]
//                 [--only ingest|size|fleetsim] [--group N] [--quick]
//
// Parts 1-3 use storage/testing's office simulation: snapshots are built before the timed part
// and only the store calls are timed. A "sample" is one value a poll carried: a supply level, a
// tray level, a counter, or the status.
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
#include <map>
#include <thread>

#include "fleetpoll/codecs/change_record.hpp"
#include "fleetpoll/storage/engine_sink.hpp"
#include "fleetpoll/storage/store.hpp"
#include "fleetpoll/storage/testing/engine_fleet.hpp"
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
ingest_figures ingest_phase(const fs::path& dir, int devices, double hours, bool every_class,
                            std::size_t group) {
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
    // Each thread hands its polls over `group` at a time, as the engine sink's writers do.
    auto work = [&](int w) {
      std::vector<st::poll_record> batch;
      std::vector<std::error_code> results(group);
      std::vector<st::ingest_stats> stats(group);
      auto hand_over = [&] {
        if (batch.empty()) return;
        if (auto ec = s->ingest_many(batch, results, std::span(stats.data(), batch.size()))) {
          std::cerr << "storage_bench: ingest failed: " << ec.message() << "\n";
          std::exit(1);
        }
        for (std::size_t i = 0; i < batch.size(); ++i) {
          records += stats[i].records;
          written += stats[i].samples;
        }
        batch.clear();
      };
      for (const auto& p : polls) {
        if (p.device % 2 != w) continue;
        st::poll_record& r = batch.emplace_back();
        r.address = p.address;
        r.at_ms = p.at;
        r.classes = p.classes;
        r.snapshot = std::span(p.snapshot.data(), p.snapshot.size());
        if (batch.size() == group) hand_over();
      }
      hand_over();
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

// Records in the outbox by kind, and their bytes.
std::map<std::string, std::uint64_t> records_by_kind(st::store& s, std::uint64_t& bytes) {
  std::map<std::string, std::uint64_t> out;
  std::vector<st::outbox_entry> batch;
  bytes = 0;
  for (std::uint64_t after = 0;;) {
    if (s.outbox().read(after, 10000, 1u << 30, batch) || batch.empty()) break;
    for (const auto& e : batch) {
      after = e.seq;
      bytes += e.bytes.size();
      const auto* r = fleetpoll::codecs::change_record_of(
          std::span(reinterpret_cast<const std::uint8_t*>(e.bytes.data()), e.bytes.size()));
      ++out[r ? fleetpoll::schema::EnumNameChangeKind(r->kind()) : "damaged"];
    }
  }
  return out;
}

// 4. fleetsim's office profile, polled by the engine over loopback UDP every 5 simulated minutes
// (status, alerts, supplies; counters every 15 min; identity daily), one week from a Monday.
void fleetsim_part(const fs::path& dir, int devices, int days, const std::string& profile,
                   boost::json::object& out) {
  namespace fs_sim = fleetpoll::fleetsim;
  namespace eng = fleetpoll::engine;
  std::printf("4. fleetsim %s profile through the engine: %d printers, %d simulated days\n",
              profile.c_str(), devices, days);
  fs_sim::options so;
  so.devices = static_cast<std::uint32_t>(devices);
  so.port = 0;
  so.seed = 7;
  so.profile = profile;
  so.acceleration = 0;
  so.start_time = 1767571200;  // 2026-01-05T00:00:00Z, a Monday
  std::string why;
  auto fleet = fs_sim::fleet::create(so, why);
  if (!fleet || fleet->start(why)) {
    std::cerr << "storage_bench: fleetsim: " << why << "\n";
    std::exit(1);
  }
  std::atomic<std::uint64_t> now{static_cast<std::uint64_t>(so.start_time) * 1000};
  auto open_at = [&](const fs::path& p, std::chrono::seconds counter_interval) {
    st::store_options o;
    o.path = p;
    o.site_id = "bench";
    o.min_free_bytes = 0;
    o.thresholds.counter_interval = counter_interval;
    o.clock = [&now] { return now.load(); };
    std::unique_ptr<st::store> s;
    std::string detail;
    if (st::store::open(o, s, &detail)) {
      std::cerr << "storage_bench: " << detail << "\n";
      std::exit(1);
    }
    return s;
  };
  auto with_interval = open_at(dir / "fleetsim-default", std::chrono::hours(1));
  auto without = open_at(dir / "fleetsim-no-interval", std::chrono::seconds(0));
  st::engine_sink sink_a(*with_interval), sink_b(*without);
  eng::fanout_sink both;
  both.add(sink_a);
  both.add(sink_b);
  sim::sim_time_sink stamps(both);
  eng::engine e(sim::fast_engine_options(2), stamps);
  if (!sim::add_fleet(e, *fleet) || e.start()) std::exit(1);
  const auto b = clock_type::now();
  const int rounds = days * 288;
  for (int k = 0; k < rounds; ++k) {
    const std::int64_t t = so.start_time + static_cast<std::int64_t>(k) * 300;
    fleet->set_time(static_cast<double>(t));
    now = static_cast<std::uint64_t>(t) * 1000;
    stamps.set_time_ms(now.load());
    std::uint32_t classes = 2u | 4u | 8u;
    if (k % 3 == 0) classes |= 16u;
    if (k % 288 == 0) classes |= 1u;
    e.poll_all_now(classes);
    e.wait_idle(std::chrono::minutes(5));
  }
  sink_a.drain(std::chrono::minutes(5));
  sink_b.drain(std::chrono::minutes(5));
  const double run_s = std::chrono::duration<double>(clock_type::now() - b).count();
  const auto es = e.stats();
  e.stop(std::chrono::seconds(1));
  const double printer_days = static_cast<double>(devices) * days;
  boost::json::object o;
  o["printers"] = devices;
  o["days"] = days;
  o["profile"] = profile;
  o["polls"] = es.polls_complete;
  o["polls_failed"] = es.polls_failed;
  o["seconds"] = run_s;
  for (auto* s : {with_interval.get(), without.get()}) {
    std::uint64_t bytes = 0;
    const auto kinds = records_by_kind(*s, bytes);
    const bool dflt = s == with_interval.get();
    std::uint64_t total = 0;
    for (const auto& [k, n] : kinds) total += n;
    std::printf("   counter interval %s: %.1f records per printer per day (%.0f record bytes):",
                dflt ? "1 h" : "0  ", static_cast<double>(total) / printer_days,
                static_cast<double>(bytes) / printer_days);
    boost::json::object by_kind;
    for (const auto& [k, n] : kinds) {
      std::printf(" %s %.2f", k.c_str(), static_cast<double>(n) / printer_days);
      by_kind[k] = static_cast<double>(n) / printer_days;
    }
    std::printf("\n");
    boost::json::object r;
    r["records_per_printer_per_day"] = static_cast<double>(total) / printer_days;
    r["record_bytes_per_printer_per_day"] = static_cast<double>(bytes) / printer_days;
    r["by_kind_per_printer_per_day"] = std::move(by_kind);
    o[dflt ? "counter_interval_1h" : "counter_interval_0"] = std::move(r);
  }
  // The uplink took everything; the database after a full compaction.
  drain_outbox(*with_interval);
  with_interval->compact();
  const double per_day = static_cast<double>(with_interval->disk_bytes()) / printer_days;
  std::printf(
      "   %llu polls in %.1f s (%.0f polls/s, %llu failed); bytes on disk per printer per "
      "day after compaction: %.0f\n",
      static_cast<unsigned long long>(es.polls_complete), run_s,
      static_cast<double>(es.polls_complete) / run_s,
      static_cast<unsigned long long>(es.polls_failed), per_day);
  o["bytes_per_printer_per_day"] = per_day;
  out["fleetsim_" + profile] = std::move(o);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"storage_bench: ingest rate, bytes per printer per day, history query latency"};
  std::string json_file, dir_arg;
  int devices = 2000, size_devices = 100;
  double days = 31;
  bool quick = false;
  std::size_t group = 64;
  std::string only;
  app.add_option("--json", json_file, "Also write the figures as JSON to this file");
  app.add_option("--dir", dir_arg,
                 "Folder for the databases (default: a new temporary one, removed)");
  app.add_option("--devices", devices, "Printers in the ingest phase")->default_val(2000);
  app.add_option("--size-devices", size_devices, "Printers in the size/query phase")
      ->default_val(100);
  app.add_option("--days", days, "Simulated days in the size/query phase (at least 31)")
      ->default_val(31);
  int fleetsim_devices = 100, fleetsim_days = 7;
  std::string fleetsim_profile = "office";
  app.add_option("--fleetsim-profile", fleetsim_profile, "fleetsim profile of the fleetsim phase")
      ->default_val("office")
      ->check(CLI::IsMember({"office", "workgroup"}));
  app.add_option("--fleetsim-devices", fleetsim_devices, "Printers in the fleetsim phase")
      ->default_val(100);
  app.add_option("--fleetsim-days", fleetsim_days, "Simulated days in the fleetsim phase")
      ->default_val(7);
  app.add_option("--group", group,
                 "Polls per store::ingest_many() call in the ingest phase (the engine sink's "
                 "writers hand over up to 64)")
      ->default_val(64)
      ->check(CLI::Range(1, 256));
  app.add_flag("--quick", quick, "Smaller runs (a smoke test of the benchmark itself)");
  app.add_option("--only", only,
                 "Run one part: ingest, size (includes the query latency) or fleetsim")
      ->check(CLI::IsMember({"ingest", "size", "fleetsim"}));
  CLI11_PARSE(app, argc, argv);
  spdlog::set_level(spdlog::level::warn);
  if (quick) {
    devices = 200;
    size_devices = 10;
    fleetsim_devices = 10;
    fleetsim_days = 1;
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
  if (only.empty() || only == "ingest") {
    std::printf("1. ingest, %d office printers, two threads, %zu polls per ingest_many() call\n",
                devices, group);
    // The office mix grouped as the engine sink does, the same one poll per call, and every class.
    struct run_spec {
      bool every;
      std::size_t group;
      const char* key;
      const char* what;
    };
    const run_spec runs[] = {
        {false, group, "ingest_office_mix",
         "office cadences (status 3 min, supplies 5, counters 15)"},
        {false, 1, "ingest_office_mix_one_per_call", "the same, one poll per call (ingest())"},
        {true, group, "ingest_every_class", "every class in every poll"},
    };
    for (const auto& run : runs) {
      if (&run == &runs[1] && group == 1) continue;  // --group 1: the first run is that already
      const bool every = run.every;
      const auto f = ingest_phase(dir / run.key, devices, quick ? 2 : 6, every, run.group);
      const double sps = static_cast<double>(f.samples) / f.seconds;
      const char* what = run.what;
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
      o["polls_per_call"] = run.group;
      out[run.key] = std::move(o);
    }
  }

  // 4. fleetsim through the engine.
  if (only.empty() || only == "fleetsim")
    fleetsim_part(dir, fleetsim_devices, fleetsim_days, fleetsim_profile, out);

  // 2. Bytes per printer per day; 3. history query latency — on one database of `days` days.
  if (!only.empty() && only != "size") {
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
