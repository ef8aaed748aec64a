// The fleetpoll program end to end over real UDP on loopback: `discover` then `run` on the saved
// file, SIGHUP reloads, promtool on a live /metrics scrape, shutdown under load; the measured
// packet rates under the configured caps (through a recording UDP relay); `probe` against real
// snmpsimd and real snmpd serving the shared recordings equals `probe --snmprec`.
#include <pty.h>
#include <sys/stat.h>

#include <pwd.h>

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <set>
#include <sstream>

#include "fleetpoll/engine/engine.hpp"
#include "support.hpp"

namespace fleetpoll::engine {
namespace {

namespace sim = fleetpoll::fleetsim;
namespace asio = boost::asio;
using namespace test;
using clock = std::chrono::steady_clock;

sim::options fleet_of(std::uint32_t devices, std::vector<fs::path> templates) {
  sim::options o;
  o.devices = devices;
  o.templates = std::move(templates);
  o.profile = "static";
  o.acceleration = 0;
  return o;
}

fs::path synthetic(const char* name) {
  return fs::path(FLEETPOLL_TEST_FIXTURES_DIR) / name;
}

std::string endpoint(const sim::fleet& f, std::uint32_t device) {
  return f.address_of(device) + ":" + std::to_string(f.port());
}

// The JSON lines of `type` "poll" in `text`, counted by address.
std::map<std::string, int> polls_by_address(const std::string& text) {
  std::map<std::string, int> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line.front() != '{') continue;
    boost::system::error_code ec;
    auto v = boost::json::parse(line, ec);
    if (ec || !v.is_object()) continue;
    const auto& o = v.as_object();
    if (o.contains("type") && o.at("type") == "poll")
      ++out[std::string(o.at("address").as_string())];
  }
  return out;
}

int count_of(const std::string& text, const std::string& needle) {
  int n = 0;
  for (auto p = text.find(needle); p != std::string::npos; p = text.find(needle, p + 1)) ++n;
  return n;
}

// GET over loopback TCP; returns the body, or "" (with a test failure) when it failed.
std::string http_get(std::uint16_t port, const std::string& path) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    ADD_FAILURE() << "connect to 127.0.0.1:" << port << " failed";
    return {};
  }
  const std::string req =
      "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
  if (::send(fd, req.data(), req.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(req.size())) {
    ::close(fd);
    return {};
  }
  std::string resp;
  const auto end = clock::now() + 10s;
  while (clock::now() < end) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 1000) <= 0) continue;
    char buf[8192];
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0) break;
    resp.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  const auto body = resp.find("\r\n\r\n");
  EXPECT_EQ(resp.rfind("HTTP/1.1 200", 0), 0u) << resp.substr(0, 200);
  return body == std::string::npos ? std::string() : resp.substr(body + 4);
}

// Runs argv with stderr (and stdout) on a pseudo-terminal; returns everything it wrote.
std::string run_on_terminal(const std::vector<std::string>& argv, std::chrono::seconds limit) {
  int master = -1;
  const pid_t pid = ::forkpty(&master, nullptr, nullptr, nullptr);
  if (pid == 0) {
    std::vector<char*> args;
    for (const auto& s : argv) args.push_back(const_cast<char*>(s.c_str()));
    args.push_back(nullptr);
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  std::string out;
  const auto end = clock::now() + limit;
  while (clock::now() < end) {
    pollfd p{master, POLLIN, 0};
    if (::poll(&p, 1, 500) <= 0) {
      int st = 0;
      if (::waitpid(pid, &st, WNOHANG) == pid) {
        ::close(master);
        return out;
      }
      continue;
    }
    char buf[4096];
    const ssize_t n = ::read(master, buf, sizeof buf);
    if (n <= 0) break;  // EIO: the child closed the terminal
    out.append(buf, static_cast<std::size_t>(n));
  }
  ::kill(pid, SIGKILL);
  int st = 0;
  ::waitpid(pid, &st, 0);
  ::close(master);
  return out;
}

// ---- discover, then run on what it saved ---------------------------------------------------

TEST(Program, DiscoverFindsExactlyThePrintersSavesThemAndRunPollsTheSavedFile) {
  // Device i uses template i mod 4: printers at 0 and 2 (mod 4); an identification stub (no
  // Printer-MIB, no hrDevicePrinter) and a scanner at 1 and 3.
  const fs::path shared = fixtures_dir();
  if (!fs::exists(shared / "dell-laser.snmprec")) GTEST_SKIP() << "no shared recordings";
  auto fleet = start_fleet(fleet_of(
      8,
      {synthetic("synthetic_color_mfp.snmprec"), shared / "dell-laser.snmprec",
       synthetic("synthetic_mono_toner_empty.snmprec"), shared / "epson-scanner_ds-860.snmprec"}));
  ASSERT_TRUE(fleet);
  temp_dir tmp;
  const fs::path saved = tmp.path() / "targets.csv";
  const std::vector<std::string> discover = {fleetpoll_binary(),
                                             "discover",
                                             "127.1.0.0/28",
                                             "--port",
                                             std::to_string(fleet->port()),
                                             "--versions",
                                             "2c",
                                             "--rate",
                                             "2000",
                                             "--subnet-rate",
                                             "0",
                                             "--timeout",
                                             "300",
                                             "--save",
                                             saved.string()};
  // On a terminal the progress is a bar redrawn in place.
  const std::string shown = run_on_terminal(discover, 60s);
  EXPECT_NE(shown.find("\r["), std::string::npos) << shown;
  EXPECT_NE(shown.find("saved 4 printers"), std::string::npos) << shown;

  // Plain lines otherwise; the saved file lists exactly the printers.
  fs::remove(saved);
  auto lines = discover;
  lines.push_back("--progress");
  lines.push_back("lines");
  child d(lines);
  ASSERT_TRUE(d.wait(60s));
  EXPECT_EQ(exit_code(d.wait(0ms)), 0) << d.err();
  EXPECT_EQ(d.err().find('\r'), std::string::npos);
  const std::string file = read_file(saved);
  std::set<std::string> listed;
  std::istringstream rows(file);
  std::string row;
  while (std::getline(rows, row))
    if (!row.empty() && row[0] != '#' && row.rfind("address,", 0) != 0)
      listed.insert(row.substr(0, row.find(',')));
  std::set<std::string> printers;
  for (std::uint32_t i = 0; i < 8; i += 2) printers.insert(fleet->address_of(i));
  EXPECT_EQ(listed, printers) << file;

  // `run` takes the saved file as its targets and polls exactly those printers.
  write_file(tmp.path() / "fleetpoll.toml",
             "[snmp]\ntimeout_initial_ms = 300\n"
             "[[targets]]\nfile = \"targets.csv\"\n"
             "[metrics]\nenabled = false\n"
             "[output]\njsonl = \"-\"\n");
  child run(
      {fleetpoll_binary(), "run", "--config", (tmp.path() / "fleetpoll.toml").string(), "--once"});
  ASSERT_TRUE(run.wait(60s));
  EXPECT_EQ(exit_code(run.wait(0ms)), 0) << run.err();
  const auto polled = polls_by_address(run.out());
  std::map<std::string, int> expected;
  for (std::uint32_t i = 0; i < 8; i += 2) expected[endpoint(*fleet, i)] = 1;
  EXPECT_EQ(polled, expected) << run.out();
}

// ---- SIGHUP reload, promtool on a live scrape ----------------------------------------------

std::string run_config(const sim::fleet& f, const std::vector<std::uint32_t>& devices,
                       const std::string& extra = "") {
  std::string addresses;
  for (auto i : devices) addresses += (addresses.empty() ? "\"" : ", \"") + endpoint(f, i) + "\"";
  return "[snmp]\ntimeout_initial_ms = 300\n"
         "[schedule]\nidentity = \"1s\"\nstatus = \"1s\"\nalerts = \"1s\"\nsupplies = \"1s\"\n"
         "counters = \"1s\"\nfirst_poll_spread = \"100ms\"\n"
         "[metrics]\nlisten = \"127.0.0.1:0\"\n"
         "[output]\njsonl = \"-\"\n" +
         extra + "[[targets]]\naddresses = [" + addresses + "]\n";
}

std::uint16_t metrics_port_of(const std::string& log) {
  const std::string key = "metrics on http://127.0.0.1:";
  const auto p = log.find(key);
  if (p == std::string::npos) return 0;
  return static_cast<std::uint16_t>(std::stoi(log.substr(p + key.size())));
}

TEST(Program, SighupAppliesNewTargetsAndRejectsAnInvalidConfigKeepingTheOldOne) {
  auto fleet = start_fleet(fleet_of(3, {synthetic("synthetic_color_mfp.snmprec")}));
  ASSERT_TRUE(fleet);
  temp_dir tmp;
  const fs::path conf = tmp.path() / "fleetpoll.toml";
  write_file(conf, run_config(*fleet, {0, 1}));
  child run({fleetpoll_binary(), "run", "--config", conf.string()});
  // Polls of a device in `text` (the output so far; inside wait_output() that is its argument:
  // the child's lock is held there).
  auto polls_in = [&](const std::string& text, std::uint32_t dev) {
    return polls_by_address(text)[endpoint(*fleet, dev)];
  };
  auto polls_of = [&](std::uint32_t dev) { return polls_in(run.out(), dev); };
  ASSERT_TRUE(run.wait_output(
      [](const std::string& s) { return s.find("SIGHUP reloads") != std::string::npos; }, 20s))
      << run.err();
  ASSERT_TRUE(
      run.wait_output([&](const std::string& o) { return polls_in(o, 0) && polls_in(o, 1); }, 20s))
      << run.err();

  // promtool on a live scrape of a polling fleetpoll: no parse error, no lint warning.
  const std::uint16_t port = metrics_port_of(run.err());
  ASSERT_NE(port, 0) << run.err();
  const std::string scrape = http_get(port, "/metrics");
  EXPECT_NE(scrape.find("fleetpoll_polls_total{result=\"complete\"}"), std::string::npos);
  write_file(tmp.path() / "scrape.txt", scrape);
  if (access("/usr/bin/promtool", X_OK) == 0) {
    child promtool({"/bin/sh", "-c", "exec promtool check metrics < scrape.txt"}, {},
                   tmp.path().string());
    ASSERT_TRUE(promtool.wait(30s));
    EXPECT_EQ(exit_code(promtool.wait(0ms)), 0) << promtool.out() << promtool.err();
    EXPECT_EQ(promtool.out() + promtool.err(), "");
  } else {
    ADD_FAILURE() << "promtool not installed (Debian package prometheus)";
  }

  // Device 0 goes, device 2 comes, device 1 stays.
  write_file(conf, run_config(*fleet, {1, 2}));
  run.signal(SIGHUP);
  ASSERT_TRUE(run.wait_output(
      [](const std::string& s) {
        return s.find("1 devices added, 1 removed, 1 kept") != std::string::npos;
      },
      20s))
      << run.err();
  ASSERT_TRUE(run.wait_output([&](const std::string& o) { return polls_in(o, 2) >= 1; }, 20s));
  const std::uint32_t asked_0 = fleet->counters_of(0).received;
  const int polls_1 = polls_of(1);
  // Two more cadences: device 1 is polled again, device 0 is not asked anything any more.
  ASSERT_TRUE(
      run.wait_output([&](const std::string& o) { return polls_in(o, 1) >= polls_1 + 2; }, 20s));
  EXPECT_EQ(fleet->counters_of(0).received, asked_0);

  // An invalid file is rejected with the field named; the running configuration goes on.
  write_file(conf, run_config(*fleet, {0}, "[limits]\nsubnet_pps = -5\n"));
  run.signal(SIGHUP);
  ASSERT_TRUE(run.wait_output(
      [](const std::string& s) { return s.find("reload (SIGHUP) rejected") != std::string::npos; },
      20s))
      << run.err();
  EXPECT_NE(run.err().find("limits.subnet_pps"), std::string::npos) << run.err();
  const int polls_2 = polls_of(2);
  ASSERT_TRUE(
      run.wait_output([&](const std::string& o) { return polls_in(o, 2) >= polls_2 + 1; }, 20s));
  EXPECT_EQ(fleet->counters_of(0).received, asked_0);

  run.signal(SIGTERM);
  ASSERT_TRUE(run.wait(20s));
  EXPECT_EQ(exit_code(run.wait(0ms)), 0) << run.err();
}

// The log file is written through at info level: an operator tailing it (or reading it after a
// crash) sees the start-up lines while the program runs, without waiting for a warning.
TEST(Program, LogFileShowsInfoLinesWhileTheProgramRuns) {
  auto fleet = start_fleet(fleet_of(1, {synthetic("synthetic_color_mfp.snmprec")}));
  ASSERT_TRUE(fleet);
  temp_dir tmp;
  const fs::path conf = tmp.path() / "fleetpoll.toml";
  const fs::path log = tmp.path() / "fleetpoll.log";
  write_file(conf,
             run_config(*fleet, {0}, "[log]\nlevel = \"info\"\nfile = \"" + log.string() + "\"\n"));
  child run({fleetpoll_binary(), "run", "--config", conf.string()});
  // A poll on stdout comes after the start-up lines were logged.
  ASSERT_TRUE(run.wait_output(
      [&](const std::string& o) { return polls_by_address(o)[endpoint(*fleet, 0)] >= 1; }, 20s))
      << run.err();
  const std::string text = read_file(log);
  EXPECT_NE(text.find(" info running: SIGINT/SIGTERM stop, SIGHUP reloads"), std::string::npos)
      << text;
  EXPECT_EQ(text.find(" warning "), std::string::npos) << text;  // nothing else flushed it
  run.signal(SIGTERM);
  ASSERT_TRUE(run.wait(20s));
  EXPECT_EQ(exit_code(run.wait(0ms)), 0) << run.err();
}

// ---- shutdown under load -------------------------------------------------------------------

TEST(Program, SigtermUnderLoadDeliversEveryCompletedPollAndExitsCleanly) {
  auto fleet = start_fleet(fleet_of(3000, {synthetic("synthetic_color_mfp.snmprec"),
                                           synthetic("synthetic_mono_toner_empty.snmprec")}));
  ASSERT_TRUE(fleet);
  temp_dir tmp;
  const fs::path conf = tmp.path() / "fleetpoll.toml";
  write_file(conf,
             "[snmp]\ntimeout_initial_ms = 300\n"
             "[limits]\nglobal_pps = 0\nsubnet_pps = 0\ndevice_min_gap_ms = 0\n"
             "[schedule]\nfirst_poll_spread = \"1s\"\n"
             "[metrics]\nenabled = false\n"
             "[output]\njsonl = \"-\"\n"
             "[[targets]]\nfile = \"targets.csv\"\n");
  std::string targets;
  for (std::uint32_t i = 0; i < 3000; ++i)
    targets += fleet->address_of(i) + "," + std::to_string(fleet->port()) + "\n";
  write_file(tmp.path() / "targets.csv", targets);
  child run({fleetpoll_binary(), "run", "--config", conf.string(), "--stop-grace", "200"});
  // Under load: hundreds of polls done, more in flight.
  ASSERT_TRUE(run.wait_output(
      [](const std::string& s) { return count_of(s, "{\"type\":\"poll\"") >= 300; }, 60s))
      << run.err();
  run.signal(SIGTERM);
  ASSERT_TRUE(run.wait(20s));
  EXPECT_EQ(exit_code(run.wait(0ms)), 0) << run.err();
  // The final status line counts the snapshots handed to the sinks: every one is in the output.
  const std::string err = run.err();
  const auto at = err.find("stopped: ");
  ASSERT_NE(at, std::string::npos) << err;
  const auto snap = err.find(" snapshots delivered", at);
  ASSERT_NE(snap, std::string::npos) << err;
  const auto num = err.rfind(' ', snap - 1);
  const int delivered = std::stoi(err.substr(num + 1, snap - num - 1));
  int total = 0;
  for (const auto& [address, n] : polls_by_address(run.out())) total += n;
  EXPECT_GE(total, 300);
  EXPECT_EQ(total, delivered);
}

TEST(Engine, StopUnderLoadDeliversEveryCompletedPollAndLeavesNoThread) {
  auto fleet = start_fleet(fleet_of(2000, {synthetic("synthetic_color_mfp.snmprec")}));
  ASSERT_TRUE(fleet);
  const std::size_t threads_before = thread_count();
  collecting_sink sink;
  {
    engine_options eo;
    eo.threads = 2;
    eo.schedule.enabled = false;
    eo.client.rate = {0, 0, std::chrono::microseconds{0}};
    eo.client.rtt.initial = 300ms;
    eo.client.bind_v4 = {asio::ip::address_v4::loopback(), 0};
    engine e(eo, sink);
    for (std::uint32_t i = 0; i < 2000; ++i)
      ASSERT_FALSE(e.add_target({{asio::ip::make_address(fleet->address_of(i)), fleet->port()}}));
    ASSERT_FALSE(e.start());
    EXPECT_GT(thread_count(), threads_before);
    e.poll_all_now();
    ASSERT_TRUE(sink.wait_for([](const auto& s) { return s.poll_count_locked() >= 200; }, 30s));
    e.stop(0ms);  // cancel what is in flight at once
    const auto s = e.stats();
    EXPECT_LT(s.polls_complete, 2000u);  // really stopped under load
    EXPECT_EQ(sink.polls().size(), s.snapshots);
    EXPECT_GE(s.snapshots, s.polls_complete);
    EXPECT_EQ(s.polls_in_progress, 0u);
    EXPECT_GE(sink.flushes.load(), 1);
  }
  EXPECT_EQ(thread_count(), threads_before);
}

// ---- rate limits, measured ------------------------------------------------------------------

// A UDP relay per device: the engine polls 127.3.S.D:port, the relay records when each request
// arrived and forwards it to a fleetsim device, and relays the reply back.
class recording_relay {
 public:
  recording_relay(const sim::fleet& f, const std::vector<std::string>& fronts) {
    for (std::size_t i = 0; i < fronts.size(); ++i) {
      link l;
      l.front = open_bound(fronts[i], 0);
      sockaddr_in a{};
      socklen_t len = sizeof a;
      ::getsockname(l.front, reinterpret_cast<sockaddr*>(&a), &len);
      if (i == 0) port_ = ntohs(a.sin_port);
      if (i > 0) {
        ::close(l.front);
        l.front = open_bound(fronts[i], port_);
      }
      l.back = open_bound("127.0.0.1", 0);
      l.device = make(f.address_of(static_cast<std::uint32_t>(i)), f.port());
      links_.push_back(l);
    }
    thread_ = std::thread([this] { loop(); });
  }
  ~recording_relay() {
    stop_ = true;
    thread_.join();
    for (auto& l : links_) {
      ::close(l.front);
      ::close(l.back);
    }
  }
  std::uint16_t port() const { return port_; }
  // Arrival times of the requests to front i.
  std::vector<std::vector<clock::time_point>> arrivals() const {
    std::lock_guard lock(m_);
    std::vector<std::vector<clock::time_point>> out;
    for (const auto& l : links_) out.push_back(l.arrived);
    return out;
  }

 private:
  struct link {
    int front = -1, back = -1;
    sockaddr_in device{}, poller{};
    std::vector<clock::time_point> arrived;
  };
  static sockaddr_in make(const std::string& ip, std::uint16_t port) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    ::inet_pton(AF_INET, ip.c_str(), &a.sin_addr);
    return a;
  }
  static int open_bound(const std::string& ip, std::uint16_t port) {
    const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    const auto a = make(ip, port);
    if (::bind(fd, reinterpret_cast<const sockaddr*>(&a), sizeof a) != 0)
      ADD_FAILURE() << "bind " << ip << ":" << port << ": " << std::strerror(errno);
    return fd;
  }
  void loop() {
    std::vector<pollfd> fds;
    for (const auto& l : links_) {
      fds.push_back({l.front, POLLIN, 0});
      fds.push_back({l.back, POLLIN, 0});
    }
    char buf[65536];
    while (!stop_) {
      if (::poll(fds.data(), fds.size(), 50) <= 0) continue;
      for (std::size_t i = 0; i < links_.size(); ++i) {
        auto& l = links_[i];
        sockaddr_in from{};
        socklen_t len = sizeof from;
        ssize_t n;
        while ((n = ::recvfrom(l.front, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&from),
                               &len)) > 0) {
          {
            std::lock_guard lock(m_);
            l.arrived.push_back(clock::now());
          }
          l.poller = from;
          ::sendto(l.back, buf, static_cast<std::size_t>(n), 0,
                   reinterpret_cast<const sockaddr*>(&l.device), sizeof l.device);
          len = sizeof from;
        }
        while ((n = ::recv(l.back, buf, sizeof buf, 0)) > 0)
          ::sendto(l.front, buf, static_cast<std::size_t>(n), 0,
                   reinterpret_cast<const sockaddr*>(&l.poller), sizeof l.poller);
      }
    }
  }
  std::vector<link> links_;
  std::uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  mutable std::mutex m_;
  std::thread thread_;
};

// The most packets of `times` (sorted) inside any window of length w.
std::size_t most_in_window(std::vector<clock::time_point> times, clock::duration w) {
  std::sort(times.begin(), times.end());
  std::size_t best = 0, lo = 0;
  for (std::size_t hi = 0; hi < times.size(); ++hi) {
    while (times[hi] - times[lo] >= w) ++lo;
    best = std::max(best, hi - lo + 1);
  }
  return best;
}

TEST(Engine, MeasuredPacketRatesStayUnderTheDeviceSubnetAndGlobalCaps) {
  // 12 devices in two /24s (127.3.1.x and 127.3.2.x), behind a relay that timestamps requests.
  auto fleet = start_fleet(fleet_of(12, {synthetic("synthetic_color_mfp.snmprec")}));
  ASSERT_TRUE(fleet);
  std::vector<std::string> fronts;
  for (int i = 0; i < 12; ++i)
    fronts.push_back("127.3." + std::to_string(1 + i / 6) + "." + std::to_string(10 + i % 6));
  recording_relay relay(*fleet, fronts);
  engine_options eo;
  eo.threads = 2;
  eo.schedule.enabled = false;
  eo.client.rtt.initial = 1s;
  eo.client.rate.global_pps = 60;
  eo.client.rate.subnet_pps = 40;
  eo.client.rate.burst = 3;
  eo.client.rate.device_min_gap = 50ms;
  eo.client.bind_v4 = {asio::ip::address_v4::loopback(), 0};
  collecting_sink sink;
  engine e(eo, sink);
  for (const auto& f : fronts)
    ASSERT_FALSE(e.add_target({{asio::ip::make_address(f), relay.port()}}));
  ASSERT_FALSE(e.start());
  e.poll_all_now();
  ASSERT_TRUE(e.wait_idle(60s));
  e.stop(0ms);
  EXPECT_EQ(sink.polls().size(), 12u);
  const auto arrivals = relay.arrivals();
  std::vector<clock::time_point> all, subnet[2];
  // A packet may arrive up to `slack` early or late against its send time (scheduling on a
  // shared machine); the caps are checked with that margin.
  const auto slack = 5ms;
  for (std::size_t i = 0; i < arrivals.size(); ++i) {
    const auto& a = arrivals[i];
    ASSERT_GE(a.size(), 2u);
    for (std::size_t k = 1; k < a.size(); ++k)
      EXPECT_GE(a[k] - a[k - 1], eo.client.rate.device_min_gap - slack) << "device " << i;
    all.insert(all.end(), a.begin(), a.end());
    subnet[i / 6].insert(subnet[i / 6].end(), a.begin(), a.end());
  }
  // Over any window W at most burst + W * pps packets pass a cap.
  for (const auto w : {250ms, 1000ms}) {
    const double secs = std::chrono::duration<double>(w + slack).count();
    EXPECT_LE(most_in_window(all, w), static_cast<std::size_t>(3 + secs * 60)) << w.count();
    for (const auto& s : subnet)
      EXPECT_LE(most_in_window(s, w), static_cast<std::size_t>(3 + secs * 40)) << w.count();
  }
  // And the caps were really what paced the polls: the packets are more than a burst.
  EXPECT_GT(all.size(), 30u);
}

// ---- probe against real snmpsimd and real snmpd -------------------------------------------

// Runs `fleetpoll probe ARGS --json` and returns the snapshots with the fields that name the
// source removed (they differ between a recording and a live agent by design). JSON values
// compare equal whatever the order of their members.
boost::json::array probe_json(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {fleetpoll_binary(), "probe"};
  argv.insert(argv.end(), args.begin(), args.end());
  argv.push_back("--json");
  child p(argv);
  boost::json::array out;
  if (!p.wait(60s)) {
    ADD_FAILURE() << "probe did not finish";
    return out;
  }
  EXPECT_EQ(exit_code(p.wait(0ms)), 0) << p.err();
  std::istringstream in(p.out());
  std::string line;
  while (std::getline(in, line)) {
    boost::system::error_code ec;
    auto v = boost::json::parse(line, ec);
    if (ec || !v.is_object()) continue;
    v.as_object().erase("source");
    v.as_object().erase("polled_at_ms");
    out.push_back(std::move(v));
  }
  return out;
}

class RealAgents : public ::testing::Test {
 protected:
  void SetUp() override {
    if (access("/usr/bin/snmpsimd", X_OK) != 0)
      GTEST_SKIP() << "snmpsimd not installed (Debian package snmpsim)";
    for (const char* r : {"brother", "jetdirect_m880", "ricoh_mpc2503", "konica", "sharp"})
      if (fs::exists(fixtures_dir() / (std::string(r) + ".snmprec")))
        recordings.push_back(fixtures_dir() / (std::string(r) + ".snmprec"));
    recordings.push_back(synthetic("synthetic_color_mfp.snmprec"));
    // snmpsimd drops root to nobody: data readable, cache writable by it. The community
    // selects the file: t<i>.snmprec answers community t<i>.
    const auto data = tmp.path() / "data", cache = tmp.path() / "cache";
    fs::create_directories(data);
    fs::create_directories(cache);
    for (std::size_t i = 0; i < recordings.size(); ++i)
      fs::copy_file(recordings[i], data / ("t" + std::to_string(i) + ".snmprec"));
    ::chmod(tmp.path().c_str(), 0755);
    ::chmod(data.c_str(), 0755);
    for (const auto& e : fs::directory_iterator(data)) ::chmod(e.path().c_str(), 0644);
    if (const passwd* nobody = ::getpwnam("nobody"); nobody && ::geteuid() == 0)
      ASSERT_EQ(::chown(cache.c_str(), nobody->pw_uid, static_cast<gid_t>(-1)), 0);
    else
      ::chmod(cache.c_str(), 0777);
    sim_port = free_port();
    std::vector<std::string> argv = {
        "snmpsimd", "--data-dir=" + data.string(), "--cache-dir=" + cache.string(),
        "--agent-udpv4-endpoint=127.0.0.1:" + std::to_string(sim_port)};
    if (::geteuid() == 0) {
      argv.push_back("--process-user=nobody");
      argv.push_back("--process-group=nogroup");
    }
    sim = std::make_unique<child>(argv,
                                  std::map<std::string, std::string>{{"PYTHONUNBUFFERED", "1"}});
    ASSERT_TRUE(sim->wait_output(
        [](const std::string& s) { return s.find("Listening at") != std::string::npos; }, 60s))
        << sim->out() << sim->err();
  }
  temp_dir tmp;
  std::vector<fs::path> recordings;
  std::uint16_t sim_port = 0;
  std::unique_ptr<child> sim;
};

TEST_F(RealAgents, ProbeOfSnmpsimServingTheRecordingsEqualsTheRecordingProbe) {
  for (std::size_t i = 0; i < recordings.size(); ++i) {
    SCOPED_TRACE(recordings[i].filename().string());
    const auto want = probe_json({"--snmprec", recordings[i].string()});
    ASSERT_EQ(want.size(), 1u);
    EXPECT_EQ(probe_json({"127.0.0.1:" + std::to_string(sim_port), "--community",
                          "t" + std::to_string(i), "--timeout", "2000"}),
              want);
  }
}

// snmpd (net-snmp's agent) in front of snmpsimd as an SNMP proxy: the walker meets net-snmp's
// agent stack (its GETBULK, its varbind handling), the data are the recordings'.
TEST_F(RealAgents, ProbeThroughRealSnmpdEqualsTheRecordingProbe) {
  if (access("/usr/sbin/snmpd", X_OK) != 0) GTEST_SKIP() << "snmpd not installed";
  const std::uint16_t port = free_port();
  std::string conf = "agentaddress udp:127.0.0.1:" + std::to_string(port) + "\n";
  for (std::size_t i = 0; i < recordings.size(); ++i) {
    const std::string c = "t" + std::to_string(i);
    conf += "com2sec -Cn ctx" + c + " n" + c + " 127.0.0.1 " + c + "\n";
    conf += "group g" + c + " v2c n" + c + "\n";
    conf += "view all included .1\n";
    conf += "access g" + c + " ctx" + c + " v2c noauth exact all none none\n";
    conf += "proxy -Cn ctx" + c + " -v 2c -c " + c + " 127.0.0.1:" + std::to_string(sim_port) +
            " .1.3\n";
  }
  write_file(tmp.path() / "snmpd.conf", conf);
  fs::create_directories(tmp.path() / "persist");
  child snmpd({"/usr/sbin/snmpd", "-f", "-Lo", "-C", "-c", (tmp.path() / "snmpd.conf").string(),
               "-m", "", "-M", "/dev/null", "-I",
               "-system_mib,-hr_system,-hr_device,-hr_other,"
               "-hr_proc,-hr_network,-hr_print,-hr_disk,"
               "-hr_filesys,-hr_storage,-hr_swrun,-hr_swinst",
               "-p", (tmp.path() / "snmpd.pid").string()},
              {{"SNMP_PERSISTENT_DIR", (tmp.path() / "persist").string()}});
  ASSERT_TRUE(snmpd.wait_output(
      [](const std::string& s) { return s.find("NET-SNMP version") != std::string::npos; }, 30s))
      << snmpd.out() << snmpd.err();
  for (std::size_t i = 0; i < recordings.size(); ++i) {
    SCOPED_TRACE(recordings[i].filename().string());
    const auto want = probe_json({"--snmprec", recordings[i].string()});
    ASSERT_EQ(want.size(), 1u);
    EXPECT_EQ(probe_json({"127.0.0.1:" + std::to_string(port), "--community",
                          "t" + std::to_string(i), "--timeout", "3000"}),
              want)
        << snmpd.out() << snmpd.err();
  }
}

}  // namespace
}  // namespace fleetpoll::engine
