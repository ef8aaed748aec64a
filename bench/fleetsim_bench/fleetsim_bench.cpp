// fleetsim_bench — how fast and how small the simulated fleet is, and the loopback UDP ceiling
// it runs against, measured in one run (docs/performance.md, "fleetsim").
//
//   1. Memory per device and start-up time: two child processes start a fleet of 1 and of N
//      devices (same templates), poll every device once, and report their resident set size;
//      (RSS_N - RSS_1) / (N - 1) is the growth per device. The fleet's own allocation accounting
//      (device_memory_bytes) is printed beside it.
//   2. Requests answered per second by one fleetsim worker thread pinned to one core, with a load
//      generator of our own (sendmmsg/recvmmsg, a window of requests in flight) pinned to the
//      other core, for several request kinds, to N device addresses round robin.
//   3. The ceiling: the same generator against a minimal echo server with the same batching,
//      the same socket options (IP_PKTINFO, reply from the destination address) on the same
//      core. The ratio fleetsim / echo says how much of the loopback path fleetsim uses.
//   4. fleetsim's own work per answer (decode, device model, encode) without sockets, in-process.
// Every loop is bounded in time; all traffic stays on 127.0.0.0/8.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CLI/CLI.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "agent.hpp"
#include "fleet_impl.hpp"
#include "fleetpoll/codecs/snmprec.hpp"
#include "fleetpoll/fleetsim/agent_codec.hpp"
#include "fleetpoll/fleetsim/fleetsim.hpp"

namespace fs = fleetpoll::fleetsim;
using clock_type = std::chrono::steady_clock;
using namespace std::chrono_literals;

namespace {

struct settings {
  std::uint32_t devices = 100000;
  double seconds = 3;
  unsigned repetitions = 3;
  unsigned inflight = 1024;
  unsigned batch = 64;
  int server_cpu = 0;
  int client_cpu = 1;
  std::vector<std::string> templates;
  std::string json;
};

void pin(int cpu) {
  if (cpu < 0) return;
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  pthread_setaffinity_np(pthread_self(), sizeof set, &set);
}

std::size_t rss_bytes() {
  std::ifstream in("/proc/self/statm");
  std::size_t size = 0, resident = 0;
  in >> size >> resident;
  return resident * static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
}

// Busy and total jiffies of one CPU from /proc/stat.
std::pair<double, double> cpu_jiffies(int cpu) {
  std::ifstream in("/proc/stat");
  std::string line, want = "cpu" + std::to_string(cpu) + " ";
  while (std::getline(in, line)) {
    if (line.rfind(want, 0) != 0) continue;
    std::istringstream s(line.substr(want.size()));
    double v[8] = {};
    for (double& x : v) s >> x;
    const double idle = v[3] + v[4];
    double total = 0;
    for (double x : v) total += x;
    return {total - idle, total};
  }
  return {0, 0};
}

// ---- the load generator -------------------------------------------------------------------------

struct load_result {
  double seconds = 0;
  std::uint64_t sent = 0, received = 0, stalls = 0;
  double server_cpu_busy = 0;  // share of the server core that was busy during the run
  double server_cpu_s = 0;     // CPU time of the serving thread(s): the process minus the generator
  double rps() const { return seconds > 0 ? static_cast<double>(received) / seconds : 0; }
  // Answers per CPU-second of the serving thread: what one whole core would do, even when other
  // processes of this shared machine take turns on it.
  double per_core() const {
    return server_cpu_s > 0 ? static_cast<double>(received) / server_cpu_s : 0;
  }
};

double process_cpu_s() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}
double thread_cpu_s() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

// Sends `request` to base+i (i round robin over `devices`) on `port`, keeping at most `inflight`
// requests outstanding, for `seconds` (after a warm-up), and counts replies.
load_result run_load(const settings& s, std::uint32_t base, std::uint32_t devices,
                     std::uint16_t port, const std::vector<std::uint8_t>& request, double seconds) {
  load_result out;
  std::thread t([&] {
    pin(s.client_cpu);
    const int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_in me{};
    me.sin_family = AF_INET;
    me.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd, reinterpret_cast<sockaddr*>(&me), sizeof me);
    const int big = 16 << 20;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof big);
    setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &big, sizeof big);
    const unsigned b = s.batch;
    std::vector<sockaddr_in> to(b);
    std::vector<iovec> tx_iov(b), rx_iov(b);
    std::vector<mmsghdr> tx(b), rx(b);
    std::vector<std::uint8_t> rx_buf(static_cast<std::size_t>(b) * 2048);
    for (unsigned i = 0; i < b; ++i) {
      tx_iov[i] = {const_cast<std::uint8_t*>(request.data()), request.size()};
      tx[i].msg_hdr = {};
      tx[i].msg_hdr.msg_name = &to[i];
      tx[i].msg_hdr.msg_namelen = sizeof(sockaddr_in);
      tx[i].msg_hdr.msg_iov = &tx_iov[i];
      tx[i].msg_hdr.msg_iovlen = 1;
      rx_iov[i] = {rx_buf.data() + i * 2048, 2048};
      rx[i].msg_hdr = {};
      rx[i].msg_hdr.msg_iov = &rx_iov[i];
      rx[i].msg_hdr.msg_iovlen = 1;
    }
    std::uint32_t next = 0;
    std::uint64_t inflight = 0;
    auto last_reply = clock_type::now();
    const auto warm_end = clock_type::now() + 500ms;
    bool measuring = false;
    clock_type::time_point start, end;
    std::pair<double, double> cpu0{};
    double proc0 = 0, self0 = 0;
    for (;;) {
      const auto now = clock_type::now();
      if (!measuring && now >= warm_end) {
        measuring = true;
        start = now;
        end = start + std::chrono::duration_cast<clock_type::duration>(
                          std::chrono::duration<double>(seconds));
        out.sent = out.received = 0;
        cpu0 = cpu_jiffies(s.server_cpu);
        proc0 = process_cpu_s();
        self0 = thread_cpu_s();
      }
      if (measuring && now >= end) {
        out.seconds = std::chrono::duration<double>(now - start).count();
        const auto cpu1 = cpu_jiffies(s.server_cpu);
        out.server_cpu_busy =
            cpu1.second > cpu0.second ? (cpu1.first - cpu0.first) / (cpu1.second - cpu0.second) : 0;
        out.server_cpu_s = (process_cpu_s() - proc0) - (thread_cpu_s() - self0);
        break;
      }
      // A reply lost (a full socket buffer) must not shrink the window for ever.
      if (inflight > 0 && now - last_reply > 20ms) {
        inflight = 0;
        ++out.stalls;
      }
      const unsigned room = static_cast<unsigned>(
          std::min<std::uint64_t>(b, s.inflight - std::min<std::uint64_t>(inflight, s.inflight)));
      if (room > 0) {
        for (unsigned i = 0; i < room; ++i) {
          to[i] = {};
          to[i].sin_family = AF_INET;
          to[i].sin_port = htons(port);
          to[i].sin_addr.s_addr = htonl(base + next);
          next = next + 1 == devices ? 0 : next + 1;
        }
        const int n = sendmmsg(fd, tx.data(), room, 0);
        if (n > 0) {
          inflight += static_cast<unsigned>(n);
          out.sent += static_cast<unsigned>(n);
        }
      }
      const int got = recvmmsg(fd, rx.data(), b, MSG_DONTWAIT, nullptr);
      if (got > 0) {
        out.received += static_cast<unsigned>(got);
        inflight -= std::min<std::uint64_t>(inflight, static_cast<unsigned>(got));
        last_reply = clock_type::now();
      } else if (room == 0) {
        pollfd p{fd, POLLIN, 0};
        poll(&p, 1, 1);
      }
    }
    close(fd);
  });
  t.join();
  return out;
}

// ---- the echo server: the ceiling
// ------------------------------------------------------------------

struct echo_server {
  int fd = -1;
  std::uint16_t port = 0;
  std::atomic<bool> stop{false};
  std::thread thread;

  void start(const settings& s) {
    fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    const int one = 1, big = 8 << 20;
    setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof one);
    setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, "lo", 3);
    setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof big);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_ANY);
    bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
    socklen_t len = sizeof a;
    getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    port = ntohs(a.sin_port);
    thread = std::thread([this, &s] { run(s); });
  }
  void run(const settings& s) {
    pin(s.server_cpu);
    const unsigned b = s.batch;
    using ctl = std::array<char, CMSG_SPACE(sizeof(in_pktinfo))>;
    std::vector<std::uint8_t> buf(static_cast<std::size_t>(b) * 4096);
    std::vector<iovec> iov(b);
    std::vector<sockaddr_in> from(b);
    std::vector<ctl> rx_ctl(b), tx_ctl(b);
    std::vector<mmsghdr> rx(b), tx(b);
    while (!stop.load(std::memory_order_relaxed)) {
      for (unsigned i = 0; i < b; ++i) {
        iov[i] = {buf.data() + i * 4096, 4096};
        rx[i].msg_hdr = {&from[i],         sizeof(sockaddr_in), &iov[i], 1,
                         rx_ctl[i].data(), rx_ctl[i].size(),    0};
      }
      pollfd p{fd, POLLIN, 0};
      if (poll(&p, 1, 50) <= 0) continue;
      const int n = recvmmsg(fd, rx.data(), b, MSG_DONTWAIT, nullptr);
      if (n <= 0) continue;
      for (int i = 0; i < n; ++i) {
        in_pktinfo dst{};
        for (cmsghdr* c = CMSG_FIRSTHDR(&rx[i].msg_hdr); c; c = CMSG_NXTHDR(&rx[i].msg_hdr, c))
          if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO)
            std::memcpy(&dst, CMSG_DATA(c), sizeof dst);
        iov[i].iov_len = rx[i].msg_len;
        tx[i].msg_hdr = {&from[i], sizeof(sockaddr_in), &iov[i],
                         1,        tx_ctl[i].data(),    CMSG_SPACE(sizeof(in_pktinfo)),
                         0};
        cmsghdr* c = CMSG_FIRSTHDR(&tx[i].msg_hdr);
        c->cmsg_level = IPPROTO_IP;
        c->cmsg_type = IP_PKTINFO;
        c->cmsg_len = CMSG_LEN(sizeof(in_pktinfo));
        in_pktinfo src{};
        src.ipi_spec_dst = dst.ipi_addr;
        std::memcpy(CMSG_DATA(c), &src, sizeof src);
      }
      sendmmsg(fd, tx.data(), static_cast<unsigned>(n), 0);
    }
  }
  ~echo_server() {
    stop = true;
    if (thread.joinable()) thread.join();
    if (fd >= 0) close(fd);
  }
};

fs::options fleet_options(const settings& s, std::uint32_t devices) {
  fs::options o;
  o.devices = devices;
  o.port = 0;
  o.threads = 1;
  o.batch = s.batch;
  o.cpus = {s.server_cpu};
  o.acceleration = 1;
  for (const auto& t : s.templates) o.templates.emplace_back(t);
  return o;
}

std::vector<std::uint8_t> request(fs::request_pdu pdu,
                                  std::vector<std::vector<std::uint32_t>> names, int max_rep = 10) {
  std::vector<std::span<const std::uint32_t>> spans(names.begin(), names.end());
  fs::request_spec spec;
  spec.pdu = pdu;
  spec.request_id = 0x01000001;
  spec.max_repetitions = max_rep;
  spec.names = spans;
  std::vector<std::uint8_t> out(4096);
  out.resize(fs::encode_request(spec, out));
  return out;
}

// ---- fleetsim's own work per answer, without sockets ------------------------------------------

// Nanoseconds to decode a request and answer it for a living device of the first built-in
// template (device and second vary as on the wire); best of 7 rounds of 100,000.
double user_space_ns(const std::vector<std::uint8_t>& request) {
  namespace d = fs::detail;
  const auto b = d::builtin_templates()[0];
  const auto r = fleetpoll::codecs::parse_snmprec(b.text, b.name);
  const d::device_template tpl(std::string(b.name), r.view, true);
  const d::model_config cfg{7, d::find_profile("office"), 100000};
  d::device_model model(cfg);
  d::workspace ws;
  std::vector<std::uint8_t> out(66560);
  auto req = std::make_unique<fs::decoded_request>();
  double best = 1e18;
  std::size_t sink = 0;
  for (int round = 0; round < 7; ++round) {
    const auto t0 = clock_type::now();
    for (std::uint32_t i = 0; i < 100000; ++i) {
      if (fs::decode_request(request, *req)) return -1;
      model.reset(tpl, i, 1767603600 + i / 1000);
      d::device_view view(tpl, &model);
      d::answer_stats st;
      sink += d::answer(*req, view, {}, ws, out, st).size();
    }
    best = std::min(
        best, std::chrono::duration<double, std::nano>(clock_type::now() - t0).count() / 100000);
  }
  return sink > 0 ? best : -1;
}

// ---- memory and start-up, in child processes
// -----------------------------------------------------

struct footprint {
  double create_s = 0, start_s = 0;
  std::size_t rss = 0, accounted = 0, templates = 0;
};

footprint measure_in_child(const settings& s, std::uint32_t devices) {
  int p[2];
  if (pipe(p) != 0) return {};
  const pid_t pid = fork();
  if (pid == 0) {
    close(p[0]);
    footprint f;
    const auto t0 = clock_type::now();
    std::string why;
    auto fleet = fs::fleet::create(fleet_options(s, devices), why);
    const auto t1 = clock_type::now();
    if (!fleet || fleet->start(why)) _exit(1);
    const auto t2 = clock_type::now();
    // Every device answers once, so whatever a device touches is resident.
    const auto req = request(fs::request_pdu::get, {{1, 3, 6, 1, 2, 1, 1, 3, 0}});
    in_addr a{};
    inet_pton(AF_INET, fleet->config().base_address.c_str(), &a);
    settings quick = s;
    quick.client_cpu = -1;
    const double per_pass = std::max(0.2, devices / 100000.0);
    run_load(quick, ntohl(a.s_addr), devices, fleet->port(), req, per_pass);
    f.create_s = std::chrono::duration<double>(t1 - t0).count();
    f.start_s = std::chrono::duration<double>(t2 - t1).count();
    f.rss = rss_bytes();
    f.accounted = fleet->device_memory_bytes();
    f.templates = fleet->template_memory_bytes();
    fleet->stop();
    (void)!write(p[1], &f, sizeof f);
    _exit(0);
  }
  close(p[1]);
  footprint f;
  (void)!read(p[0], &f, sizeof f);
  close(p[0]);
  int st = 0;
  waitpid(pid, &st, 0);
  return f;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "fleetsim_bench — fleetsim's answered requests/s on one core, memory per device and start-up "
      "time, with the loopback UDP ceiling (echo pair, same batching) in the same run"};
  settings s;
  app.add_option("--devices", s.devices, "Devices in the fleet (default 100000)")
      ->check(CLI::Range(2u, 1000000u));
  app.add_option("--seconds", s.seconds,
                 "Measured seconds per scenario, after 0.5 s of warm-up (default 3)")
      ->check(CLI::Range(0.2, 60.0));
  app.add_option(
         "--repetitions", s.repetitions,
         "Rounds of every scenario and the echo, taking turns; the median is reported (default 3)")
      ->check(CLI::Range(1u, 20u));
  app.add_option("--inflight", s.inflight, "Requests in flight (default 1024)")
      ->check(CLI::Range(1u, 100000u));
  app.add_option("--batch", s.batch, "Datagrams per sendmmsg/recvmmsg on both sides (default 64)")
      ->check(CLI::Range(1u, 1024u));
  app.add_option("--server-cpu", s.server_cpu,
                 "CPU of the fleetsim worker and of the echo server (default 0)");
  app.add_option("--client-cpu", s.client_cpu, "CPU of the load generator (default 1)");
  app.add_option("--templates", s.templates,
                 ".snmprec files or folders (default: the built-in templates)");
  app.add_option("--json", s.json, "Also write the figures as JSON to this file");
  CLI11_PARSE(app, argc, argv);

  // 1. Memory and start-up.
  const footprint one = measure_in_child(s, 1), many = measure_in_child(s, s.devices);
  if (many.rss == 0 || one.rss == 0) {
    std::cerr << "fleetsim_bench: the memory measurement failed\n";
    return 1;
  }
  const double rss_per_device =
      (static_cast<double>(many.rss) - static_cast<double>(one.rss)) / (s.devices - 1);
  const double accounted_per_device = static_cast<double>(many.accounted) / s.devices;

  // 2. fleetsim, one worker on one core.
  std::string why;
  auto fleet = fs::fleet::create(fleet_options(s, s.devices), why);
  if (!fleet || fleet->start(why)) {
    std::cerr << "fleetsim_bench: " << why << "\n";
    return 1;
  }
  in_addr a{};
  inet_pton(AF_INET, fleet->config().base_address.c_str(), &a);
  const std::uint32_t base = ntohl(a.s_addr);
  struct scenario {
    std::string name, what;
    std::vector<std::uint8_t> req;
    load_result r;
    double user_ns = 0;
  };
  std::vector<scenario> scenarios = {
      {"get_uptime",
       "GET sysUpTime.0 (1 varbind, computed per device)",
       request(fs::request_pdu::get, {{1, 3, 6, 1, 2, 1, 1, 3, 0}}),
       {}},
      {"get_status",
       "GET hrDeviceStatus, hrPrinterStatus, hrPrinterDetectedErrorState, prtMarkerLifeCount",
       request(fs::request_pdu::get, {{1, 3, 6, 1, 2, 1, 25, 3, 2, 1, 5, 1},
                                      {1, 3, 6, 1, 2, 1, 25, 3, 5, 1, 1, 1},
                                      {1, 3, 6, 1, 2, 1, 25, 3, 5, 1, 2, 1},
                                      {1, 3, 6, 1, 2, 1, 43, 10, 2, 1, 4, 1, 1}}),
       {}},
      {"bulk10_supplies",
       "GETBULK max-repetitions 10 from prtMarkerSuppliesEntry (a table walk step)",
       request(fs::request_pdu::get_bulk, {{1, 3, 6, 1, 2, 1, 43, 11, 1, 1}}, 10),
       {}},
  };
  // 3. The ceiling: the echo pair, same generator, same destinations, same core (the idle fleet
  // worker waits in ppoll meanwhile). Scenarios and echo take turns, `repetitions` rounds, and
  // each figure is the median of its rounds, so a burst of load from other processes on this
  // shared machine hits all of them alike.
  echo_server e;
  e.start(s);
  std::vector<std::vector<load_result>> rounds(scenarios.size() + 1);
  for (unsigned rep = 0; rep < s.repetitions; ++rep) {
    for (std::size_t i = 0; i < scenarios.size(); ++i)
      rounds[i].push_back(run_load(s, base, s.devices, fleet->port(), scenarios[i].req, s.seconds));
    rounds.back().push_back(run_load(s, base, s.devices, e.port, scenarios[0].req, s.seconds));
  }
  auto median = [](std::vector<load_result> v) {
    std::sort(v.begin(), v.end(), [](auto& x, auto& y) { return x.per_core() < y.per_core(); });
    return v[v.size() / 2];
  };
  for (std::size_t i = 0; i < scenarios.size(); ++i) scenarios[i].r = median(rounds[i]);
  const load_result echo = median(rounds.back());
  for (auto& sc : scenarios) sc.user_ns = user_space_ns(sc.req);
  const auto totals = fleet->totals();
  fleet->stop();

  char line[512];
  std::cout << "fleetsim_bench: " << s.devices << " devices, worker on cpu " << s.server_cpu
            << ", generator on cpu " << s.client_cpu << ", batch " << s.batch << ", " << s.inflight
            << " in flight, " << s.seconds << " s per scenario, median of " << s.repetitions
            << " rounds\n\n";
  std::cout
      << "| measurement | answered/s (wall clock) | ratio to echo | answered per CPU-second of "
         "the serving thread | ratio to echo | server core busy | fleetsim's own work per answer "
         "(no sockets) |\n|---|---|---|---|---|---|---|\n";
  auto wall_ratio = [&](const load_result& r) {
    return echo.rps() > 0 ? r.rps() / echo.rps() : 0.0;
  };
  auto ratio = [&](const load_result& r) {
    return echo.per_core() > 0 ? r.per_core() / echo.per_core() : 0.0;
  };
  for (const auto& sc : scenarios) {
    std::snprintf(line, sizeof line,
                  "| fleetsim %s | %.0f | %.2f | %.0f | %.2f | %.0f %% | %.0f ns |\n",
                  sc.name.c_str(), sc.r.rps(), wall_ratio(sc.r), sc.r.per_core(), ratio(sc.r),
                  sc.r.server_cpu_busy * 100, sc.user_ns);
    std::cout << line;
  }
  std::snprintf(line, sizeof line,
                "| echo ceiling (same batching) | %.0f | 1.00 | %.0f | 1.00 | %.0f %% | — |\n",
                echo.rps(), echo.per_core(), echo.server_cpu_busy * 100);
  std::cout << line << "\n| measurement | figure |\n|---|---|\n";
  std::snprintf(line, sizeof line,
                "| memory per device, RSS growth (%u vs 1 device) | %.1f bytes |\n", s.devices,
                rss_per_device);
  std::cout << line;
  std::snprintf(line, sizeof line, "| memory per device, allocation accounting | %.1f bytes |\n",
                accounted_per_device);
  std::cout << line;
  std::snprintf(line, sizeof line, "| shared templates, allocation accounting | %.1f KiB |\n",
                static_cast<double>(many.templates) / 1024);
  std::cout << line;
  std::snprintf(line, sizeof line,
                "| start-up of %u devices (create + start) | %.3f s (%.3f + %.3f) |\n", s.devices,
                many.create_s + many.start_s, many.create_s, many.start_s);
  std::cout << line;
  std::cout << "\nscenarios:\n";
  for (const auto& sc : scenarios)
    std::cout << "  " << sc.name << ": " << sc.what << " (" << sc.req.size()
              << "-byte request; window stalls " << sc.r.stalls << ")\n";
  std::cout << "fleet counters: received " << totals.received << ", answered " << totals.answered
            << ", sent " << totals.sent << ", send errors " << totals.send_errors << "\n";

  if (!s.json.empty()) {
    std::ofstream j(s.json);
    j << "{\n  \"devices\": " << s.devices << ",\n  \"batch\": " << s.batch
      << ",\n  \"inflight\": " << s.inflight << ",\n  \"seconds\": " << s.seconds
      << ",\n  \"scenarios\": {";
    for (std::size_t i = 0; i < scenarios.size(); ++i)
      j << (i ? "," : "") << "\n    \"" << scenarios[i].name
        << "\": {\"requests_per_second\": " << std::llround(scenarios[i].r.rps())
        << ", \"requests_per_cpu_second\": " << std::llround(scenarios[i].r.per_core())
        << ", \"server_core_busy\": " << scenarios[i].r.server_cpu_busy
        << ", \"ratio_to_echo_per_cpu_second\": " << ratio(scenarios[i].r)
        << ", \"ratio_to_echo_wall\": " << wall_ratio(scenarios[i].r)
        << ", \"user_space_ns_per_answer\": " << scenarios[i].user_ns << "}";
    j << "\n  },\n  \"echo_round_trips_per_second\": " << std::llround(echo.rps())
      << ",\n  \"echo_round_trips_per_cpu_second\": " << std::llround(echo.per_core())
      << ",\n  \"memory_per_device_rss_bytes\": " << rss_per_device
      << ",\n  \"memory_per_device_accounted_bytes\": " << accounted_per_device
      << ",\n  \"template_bytes\": " << many.templates
      << ",\n  \"startup_seconds\": " << many.create_s + many.start_s << "\n}\n";
  }
  return 0;
}
