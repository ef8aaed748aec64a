// fleetpoll against its peers on the same fleetsim fleet, measured the same way, in one run.
//
//   peers_bench [--devices N] [--sample S] [--walk-sample W] [--concurrency C]
//               [--walkers K] [--time-limit SECONDS] [--json FILE]
//
// One fleetsim program serves N devices (default 100,000, the shared printer recordings as
// templates, frozen clock) on loopback. Three pollers fetch the same data from the same devices:
//   * fleetpoll's engine (in this process): a full poll (every data class) of S devices;
//   * Prometheus snmp_exporter (Debian's prometheus-snmp-exporter, its own process) with a
//     hand-written `printer` module of numeric OIDs walking the same tables and getting the same
//     scalars as fleetpoll's poll plan; C scrapes (/snmp?module=printer&target=...) at once,
//     one per device, for the same S devices;
//   * net-snmp's snmpbulkwalk, the way scripts poll printers: one process per subtree
//     (system, host-resources devices, Printer-MIB) per device, K processes at once, for W
//     devices (process start-up dominates its cost, so it gets a smaller sample).
// Peers are not run on the whole fleet: at their speed that would take many minutes to hours;
// the sample sizes are printed. Each poller's figures: printers/s, CPU-µs per printer (its
// process: fleetpoll's own CPU, the exporter's process, snmpbulkwalk's children), bytes on the
// wire per printer (IPv4 + UDP headers + payload, counted by one packet socket on "lo" for
// every poller: needs root), and polls that failed. The ratios fleetpoll/peer are printed.
// Bounded: every poller stops issuing new work at the time limit; loopback only.
#include <CLI/CLI.hpp>

#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <mutex>

#include <boost/asio/ip/udp.hpp>

#include "../engine/bench_support.hpp"
#include "fleetpoll/engine/engine.hpp"
#include "fleetpoll/engine/poll_plan.hpp"

namespace fb = fleetpoll::bench;
namespace fe = fleetpoll::engine;
namespace fs = std::filesystem;
namespace asio = boost::asio;
using namespace std::chrono_literals;

namespace {

struct figures {
  std::string name;
  std::size_t devices = 0;  // attempted
  std::size_t ok = 0;       // fully fetched
  double seconds = 0;
  double cpu_seconds = 0;
  std::uint64_t wire_bytes = 0, datagrams = 0, counter_drops = 0;
  bool timed_out = false;
  double printers_per_s() const { return static_cast<double>(ok) / std::max(seconds, 1e-9); }
  double cpu_us() const {
    return 1e6 * cpu_seconds / static_cast<double>(std::max<std::size_t>(ok, 1));
  }
  double bytes_per_printer() const {
    return static_cast<double>(wire_bytes) / static_cast<double>(std::max<std::size_t>(ok, 1));
  }
  double datagrams_per_printer() const {
    return static_cast<double>(datagrams) / static_cast<double>(std::max<std::size_t>(ok, 1));
  }
};

double children_cpu_seconds() {
  rusage u{};
  ::getrusage(RUSAGE_CHILDREN, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

std::vector<std::uint32_t> sample_of(std::uint32_t devices, std::size_t n) {
  std::vector<std::uint32_t> out;
  n = std::min<std::size_t>(n, devices);
  for (std::size_t i = 0; i < n; ++i)
    out.push_back(static_cast<std::uint32_t>(i * devices / std::max<std::size_t>(n, 1)));
  return out;
}

// ---- fleetpoll ------------------------------------------------------------------------------

figures run_fleetpoll(const std::vector<std::uint32_t>& sample, std::uint16_t port,
                      std::chrono::seconds limit) {
  figures f{"fleetpoll"};
  f.devices = sample.size();
  struct null_sink final : fe::snapshot_sink {
    void on_poll(const fe::poll_record&) override {}
    void on_device_down(const fe::device_down_event&) override {}
    void on_device_up(const fe::device_up_event&) override {}
  } sink;
  fe::engine_options eo;
  eo.threads = 1;
  eo.schedule.enabled = false;
  eo.client.rate.global_pps = 0;  // the peers have no caps either
  eo.client.rate.subnet_pps = 0;
  eo.client.rate.device_min_gap = 0us;
  eo.client.rtt.initial = 200ms;
  eo.client.bind_v4 = {asio::ip::address_v4::loopback(), 0};
  fe::engine e(eo, sink);
  for (auto d : sample)
    e.add_target({asio::ip::udp::endpoint(asio::ip::make_address(fb::address_of(d)), port)});
  if (e.start()) return f;
  fb::loopback_counter wire(port);
  const double cpu0 = fb::process_cpu_seconds();
  const auto t0 = fb::clock::now();
  e.poll_all_now(fe::all_classes);
  f.timed_out = !e.wait_idle(limit);
  f.seconds = fb::seconds_since(t0);
  f.cpu_seconds = fb::process_cpu_seconds() - cpu0;
  const auto s = e.stats();
  f.ok = s.polls_complete;
  e.stop(0ms);
  f.wire_bytes = wire.bytes();
  f.datagrams = wire.datagrams();
  f.counter_drops = wire.drops();
  return f;
}

// ---- snmp_exporter ------------------------------------------------------------------------

// The hand-written module: walk every table of fleetpoll's poll plan, get every scalar, and
// export the figures a printer dashboard needs (numeric OIDs; Debian ships no MIBs for it).
std::string exporter_config() {
  const auto& plan = fe::default_plan();
  std::string y =
      "printer:\n  version: 2\n  auth:\n    community: public\n"
      "  max_repetitions: 25\n  retries: 2\n  timeout: 2s\n  walk:\n";
  for (const auto& u : plan.units) y += "  - " + u.prefix.to_string() + "\n";
  y += "  get:\n";
  for (const auto& s : plan.scalars) y += "  - " + s.name.to_string() + "\n";
  struct metric {
    const char* name;
    const char* oid;
    const char* type;
    std::vector<const char*> indexes;
  };
  const std::vector<metric> metrics = {
      {"sysUpTime", "1.3.6.1.2.1.1.3", "gauge", {}},
      {"sysDescr", "1.3.6.1.2.1.1.1", "DisplayString", {}},
      {"hrDeviceStatus", "1.3.6.1.2.1.25.3.2.1.5", "gauge", {"hrDeviceIndex"}},
      {"hrPrinterStatus", "1.3.6.1.2.1.25.3.5.1.1", "gauge", {"hrDeviceIndex"}},
      {"prtMarkerLifeCount",
       "1.3.6.1.2.1.43.10.2.1.4",
       "counter",
       {"hrDeviceIndex", "prtMarkerIndex"}},
      {"prtMarkerSuppliesMaxCapacity",
       "1.3.6.1.2.1.43.11.1.1.8",
       "gauge",
       {"hrDeviceIndex", "prtMarkerSuppliesIndex"}},
      {"prtMarkerSuppliesLevel",
       "1.3.6.1.2.1.43.11.1.1.9",
       "gauge",
       {"hrDeviceIndex", "prtMarkerSuppliesIndex"}},
      {"prtMarkerSuppliesDescription",
       "1.3.6.1.2.1.43.11.1.1.6",
       "DisplayString",
       {"hrDeviceIndex", "prtMarkerSuppliesIndex"}},
      {"prtInputCurrentLevel",
       "1.3.6.1.2.1.43.8.2.1.10",
       "gauge",
       {"hrDeviceIndex", "prtInputIndex"}},
      {"prtAlertSeverityLevel",
       "1.3.6.1.2.1.43.18.1.1.2",
       "gauge",
       {"hrDeviceIndex", "prtAlertIndex"}},
  };
  y += "  metrics:\n";
  for (const auto& m : metrics) {
    y += std::string("  - name: ") + m.name + "\n    oid: " + m.oid + "\n    type: " + m.type +
         "\n    help: " + m.name + " (" + m.oid + ")\n";
    if (!m.indexes.empty()) {
      y += "    indexes:\n";
      for (const auto* ix : m.indexes)
        y += std::string("    - labelname: ") + ix + "\n      type: gauge\n";
    }
  }
  return y;
}

// One GET over loopback TCP; true when the answer is 200 and has the scrape's own metrics.
bool scrape(std::uint16_t port, const std::string& path) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return false;
  }
  const std::string req =
      "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
  ::send(fd, req.data(), req.size(), MSG_NOSIGNAL);
  std::string resp;
  char buf[16384];
  for (;;) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 30000) <= 0) break;
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0) break;
    resp.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  // 200 with the exporter's own scrape figures: every walk and get of the module succeeded (a
  // failed one is a 500). Printer-MIB series appear only where the template has those tables.
  return resp.rfind("HTTP/1.1 200", 0) == 0 &&
         resp.find("snmp_scrape_pdus_returned") != std::string::npos;
}

std::uint16_t free_tcp_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  (void)::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

figures run_exporter(const std::vector<std::uint32_t>& sample, std::uint16_t port,
                     unsigned concurrency, std::chrono::seconds limit, const fs::path& dir) {
  figures f{"snmp_exporter"};
  const char* binary = "/usr/bin/prometheus-snmp-exporter";
  if (::access(binary, X_OK) != 0) {
    std::cerr << "snmp_exporter: " << binary
              << " missing (Debian package prometheus-snmp-exporter)\n";
    return f;
  }
  const fs::path config = dir / "snmp.yml";
  std::ofstream(config) << exporter_config();
  const std::uint16_t http = free_tcp_port();
  fb::process exporter({binary, "--config.file=" + config.string(),
                        "--web.listen-address=127.0.0.1:" + std::to_string(http)});
  if (!exporter.wait_for("Listening on", 20s)) {
    std::cerr << "snmp_exporter did not start:\n" << exporter.output() << "\n";
    return f;
  }
  f.devices = sample.size();
  fb::loopback_counter wire(port);
  std::atomic<std::size_t> next{0}, ok{0};
  const double cpu0 = fb::cpu_seconds_of(exporter.pid());
  const auto t0 = fb::clock::now();
  const auto deadline = t0 + limit;
  std::vector<std::thread> workers;
  for (unsigned w = 0; w < concurrency; ++w)
    workers.emplace_back([&] {
      for (std::size_t i; (i = next++) < sample.size() && fb::clock::now() < deadline;)
        if (scrape(http, "/snmp?module=printer&target=" + fb::address_of(sample[i]) + ":" +
                             std::to_string(port)))
          ++ok;
    });
  for (auto& t : workers) t.join();
  f.seconds = fb::seconds_since(t0);
  f.cpu_seconds = fb::cpu_seconds_of(exporter.pid()) - cpu0;
  f.ok = ok.load();
  f.timed_out = next.load() < sample.size();
  f.wire_bytes = wire.bytes();
  f.datagrams = wire.datagrams();
  f.counter_drops = wire.drops();
  return f;
}

// ---- snmpbulkwalk -------------------------------------------------------------------------

// Runs one command quietly; true when it exits 0 and printed at least one line.
bool run_quiet(const std::vector<std::string>& argv) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return false;
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(fds[1], 1);
    const int null = ::open("/dev/null", O_WRONLY);
    ::dup2(null, 2);
    std::vector<char*> args;
    args.reserve(argv.size() + 1);
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  ::close(fds[1]);
  std::size_t lines = 0;
  char buf[16384];
  ssize_t n;
  while ((n = ::read(fds[0], buf, sizeof buf)) > 0)
    lines += static_cast<std::size_t>(std::count(buf, buf + n, '\n'));
  ::close(fds[0]);
  int st = 0;
  ::waitpid(pid, &st, 0);
  return WIFEXITED(st) && WEXITSTATUS(st) == 0 && lines > 0;
}

figures run_bulkwalk(const std::vector<std::uint32_t>& sample, std::uint16_t port,
                     unsigned parallel, std::chrono::seconds limit) {
  figures f{"snmpbulkwalk"};
  const char* binary = "/usr/bin/snmpbulkwalk";
  if (::access(binary, X_OK) != 0) {
    std::cerr << "snmpbulkwalk missing (Debian package snmp)\n";
    return f;
  }
  // The subtrees a printer script walks: system, the host-resources device tables, Printer-MIB.
  const std::vector<std::string> roots = {"1.3.6.1.2.1.1", "1.3.6.1.2.1.25.3", "1.3.6.1.2.1.43"};
  f.devices = sample.size();
  fb::loopback_counter wire(port);
  std::atomic<std::size_t> next{0}, ok{0};
  const double cpu0 = children_cpu_seconds();
  const auto t0 = fb::clock::now();
  const auto deadline = t0 + limit;
  std::vector<std::thread> workers;
  for (unsigned w = 0; w < parallel; ++w)
    workers.emplace_back([&] {
      for (std::size_t i; (i = next++) < sample.size() && fb::clock::now() < deadline;) {
        bool all = true;
        for (const auto& root : roots)
          all = run_quiet({binary, "-v2c", "-c", "public", "-On", "-Cr25", "-t", "2", "-r", "2",
                           "-m", "", "-M", "/dev/null",
                           fb::address_of(sample[i]) + ":" + std::to_string(port), root}) &&
                all;
        if (all) ++ok;
      }
    });
  for (auto& t : workers) t.join();
  f.seconds = fb::seconds_since(t0);
  f.cpu_seconds = children_cpu_seconds() - cpu0;
  f.ok = ok.load();
  f.timed_out = next.load() < sample.size();
  f.wire_bytes = wire.bytes();
  f.datagrams = wire.datagrams();
  f.counter_drops = wire.drops();
  return f;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"fleetpoll vs snmp_exporter vs snmpbulkwalk on one fleetsim fleet (loopback only)"};
  std::uint32_t devices = 100000;
  std::size_t sample = 2000, walk_sample = 300;
  unsigned concurrency = 64, walkers = 8, limit_s = 120;
  std::vector<std::string> templates;
  std::string json_path;
  app.add_option("--devices", devices, "Fleet size fleetsim serves")->capture_default_str();
  app.add_option("--sample", sample, "Devices polled by fleetpoll and snmp_exporter")
      ->capture_default_str();
  app.add_option("--walk-sample", walk_sample, "Devices walked by snmpbulkwalk")
      ->capture_default_str();
  app.add_option("--concurrency", concurrency, "snmp_exporter scrapes at once")
      ->capture_default_str();
  app.add_option("--walkers", walkers, "snmpbulkwalk processes at once")->capture_default_str();
  app.add_option("--time-limit", limit_s, "Seconds each poller may take at most")
      ->capture_default_str();
  app.add_option("--templates", templates, "Template recordings (default: the shared ones)");
  app.add_option("--json", json_path, "Write the figures as JSON to this file");
  CLI11_PARSE(app, argc, argv);
  if (templates.empty()) templates.push_back(FLEETPOLL_FIXTURES_DIR);
  const auto limit = std::chrono::seconds(limit_s);

  char tmpl[] = "/tmp/fleetpoll_peers_XXXXXX";
  if (!::mkdtemp(tmpl)) return 1;
  const fs::path dir = tmpl;
  struct cleanup {
    fs::path d;
    ~cleanup() {
      std::error_code ec;
      fs::remove_all(d, ec);
    }
  } clean{dir};

  auto fleet = fb::start_fleetsim(FLEETSIM_BINARY, devices, templates, "");
  if (!fleet) return 1;
  {
    fb::loopback_counter probe(fleet->port);
    if (!probe.available())
      std::cerr << "note: no packet socket on lo (needs root): bytes on the wire read 0\n";
  }
  const auto s = sample_of(devices, sample);
  const auto w = sample_of(devices, walk_sample);
  std::cout << "fleetsim: " << devices << " devices; fleetpoll and snmp_exporter poll the same "
            << s.size() << " of them (every " << devices / std::max<std::size_t>(s.size(), 1)
            << "th), snmpbulkwalk " << w.size() << "\n"
            << std::flush;
  // Each peer is compared with fleetpoll polling exactly the same devices (the shared templates
  // differ a lot in size, so two samples would not compare).
  std::vector<figures> all;
  std::cout << "fleetpoll ...\n" << std::flush;
  all.push_back(run_fleetpoll(s, fleet->port, limit));
  std::cout << "snmp_exporter (" << concurrency << " scrapes at once) ...\n" << std::flush;
  all.push_back(run_exporter(s, fleet->port, concurrency, limit, dir));
  std::cout << "fleetpoll on the snmpbulkwalk sample ...\n" << std::flush;
  all.push_back(run_fleetpoll(w, fleet->port, limit));
  all.back().name = "fleetpoll (W)";
  std::cout << "snmpbulkwalk (" << walkers << " processes at once) ...\n" << std::flush;
  all.push_back(run_bulkwalk(w, fleet->port, walkers, limit));
  fleet->sim->stop();

  std::printf("\n%-16s %8s %8s %12s %14s %14s %12s %10s\n", "poller", "devices", "ok", "printers/s",
              "CPU-us/printer", "bytes/printer", "dgrams/prt", "seconds");
  for (const auto& f : all)
    std::printf("%-16s %8zu %8zu %12.0f %14.0f %14.0f %12.1f %10.2f%s%s\n", f.name.c_str(),
                f.devices, f.ok, f.printers_per_s(), f.cpu_us(), f.bytes_per_printer(),
                f.datagrams_per_printer(), f.seconds, f.timed_out ? " (time limit)" : "",
                f.counter_drops ? " (byte counter dropped packets)" : "");
  std::printf(
      "\nratios (fleetpoll vs peer): speed = fleetpoll printers/s / peer's; CPU and bytes "
      "= peer's / fleetpoll's\n");
  for (std::size_t i = 1; i < all.size(); i += 2) {
    const auto& fp = all[i - 1];
    const auto& p = all[i];
    if (p.ok == 0) {
      std::printf("%-16s not measured\n", p.name.c_str());
      continue;
    }
    std::printf("%-16s speed x%.1f, CPU x%.1f, bytes x%.2f\n", p.name.c_str(),
                fp.printers_per_s() / p.printers_per_s(), p.cpu_us() / fp.cpu_us(),
                p.bytes_per_printer() / std::max(fp.bytes_per_printer(), 1.0));
  }
  if (!json_path.empty()) {
    fb::json_object j;
    j.add("fleet_devices", devices);
    for (std::size_t i = 0; i < all.size(); ++i) {
      const auto& f = all[i];
      const auto& fp = all[i & ~std::size_t{1}];
      fb::json_object o;
      o.add("devices", static_cast<double>(f.devices));
      o.add("ok", static_cast<double>(f.ok));
      o.add("seconds", f.seconds);
      o.add("printers_per_s", f.printers_per_s());
      o.add("cpu_us_per_printer", f.cpu_us());
      o.add("wire_bytes_per_printer", f.bytes_per_printer());
      o.add("datagrams_per_printer", f.datagrams_per_printer());
      o.add("byte_counter_drops", static_cast<double>(f.counter_drops));
      o.add("time_limit_hit", f.timed_out ? 1.0 : 0.0);
      if (&f != &fp && f.ok) {
        o.add("fleetpoll_speed_ratio", fp.printers_per_s() / f.printers_per_s());
        o.add("cpu_ratio_vs_fleetpoll", f.cpu_us() / fp.cpu_us());
        o.add("bytes_ratio_vs_fleetpoll",
              f.bytes_per_printer() / std::max(fp.bytes_per_printer(), 1.0));
      }
      j.add_raw(i == 2 ? "fleetpoll_bulkwalk_sample" : f.name, o.str());
    }
    std::ofstream(json_path) << j.str() << "\n";
  }
  for (const auto& f : all)
    if (f.ok == 0) return 1;
  return 0;
}
