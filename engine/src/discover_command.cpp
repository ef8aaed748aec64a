#include "fleetpoll/engine/discover_command.hpp"

#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <CLI/CLI.hpp>

#include <atomic>
#include <cmath>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>
#include <thread>

#include "fleetpoll/engine/discovery.hpp"

namespace fleetpoll::engine {

namespace {

std::string with_commas(std::uint64_t n) {
  std::string s = std::to_string(n);
  for (int i = static_cast<int>(s.size()) - 3; i > 0; i -= 3)
    s.insert(static_cast<std::size_t>(i), ",");
  return s;
}

std::string clock_text(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "--:--";
  const auto s = static_cast<std::uint64_t>(seconds + 0.5);
  char buf[32];
  if (s >= 3600)
    std::snprintf(buf, sizeof buf, "%llu:%02llu:%02llu", static_cast<unsigned long long>(s / 3600),
                  static_cast<unsigned long long>(s / 60 % 60),
                  static_cast<unsigned long long>(s % 60));
  else
    std::snprintf(buf, sizeof buf, "%llu:%02llu", static_cast<unsigned long long>(s / 60),
                  static_cast<unsigned long long>(s % 60));
  return buf;
}

// Draws progress: a bar in place on a terminal, plain lines otherwise.
class progress_printer {
 public:
  progress_printer(std::ostream& err, progress_style style) : err_(err), style_(style) {
    if (style_ == progress_style::automatic)
      style_ = ::isatty(STDERR_FILENO) ? progress_style::bar : progress_style::lines;
  }
  void update(const discovery_progress& p, bool final) {
    const double secs = static_cast<double>(p.elapsed.count()) / 1000.0;
    const double frac =
        p.total ? static_cast<double>(p.probed) / static_cast<double>(p.total) : 0.0;
    const double pps = secs > 0 ? static_cast<double>(p.packets) / secs : 0.0;
    const double rate = secs > 0 ? static_cast<double>(p.probed) / secs : 0.0;
    const double eta =
        rate > 0 ? static_cast<double>(p.total - std::min(p.total, p.probed)) / rate : NAN;
    if (style_ == progress_style::bar) {
      constexpr int width = 30;
      const int filled = static_cast<int>(std::lround(frac * width));
      std::string bar(static_cast<std::size_t>(std::clamp(filled, 0, width)), '#');
      bar.resize(width, '.');
      char pct[16];
      std::snprintf(pct, sizeof pct, "%5.1f%%", frac * 100.0);
      err_ << "\r[" << bar << "] " << pct << "  " << with_commas(p.probed) << "/"
           << with_commas(p.total) << " probed  " << with_commas(p.printers) << " printers  "
           << with_commas(static_cast<std::uint64_t>(pps)) << " pkt/s  "
           << (final ? "done " + clock_text(secs) : "ETA " + clock_text(eta)) << "   ";
      if (final) err_ << "\n";
      err_.flush();
    } else if (style_ == progress_style::lines) {
      if (!final && secs - last_line_ < 5.0) return;
      last_line_ = secs;
      char pct[16];
      std::snprintf(pct, sizeof pct, "%.1f%%", frac * 100.0);
      err_ << "discover: " << p.probed << "/" << p.total << " probed (" << pct << "), "
           << p.responders << " answered, " << p.printers << " printers, "
           << static_cast<std::uint64_t>(pps) << " packets/s"
           << (final ? ", done in " + clock_text(secs) : ", ETA " + clock_text(eta)) << "\n";
      err_.flush();
    }
  }

 private:
  std::ostream& err_;
  progress_style style_;
  double last_line_ = -1e9;
};

// Turns SIGINT/SIGTERM into discovery::cancel() for the duration of a sweep.
class signal_watch {
 public:
  explicit signal_watch(discovery& d) {
    sigemptyset(&set_);
    sigaddset(&set_, SIGINT);
    sigaddset(&set_, SIGTERM);
    sigaddset(&set_, SIGUSR1);
    pthread_sigmask(SIG_BLOCK, &set_, &old_);
    thread_ = std::thread([this, &d] {
      for (;;) {
        int sig = 0;
        if (sigwait(&set_, &sig) != 0) continue;
        if (sig == SIGUSR1 && done_.load()) return;
        if (sig == SIGINT || sig == SIGTERM) {
          signalled_.store(true);
          d.cancel();
        }
      }
    });
  }
  ~signal_watch() {
    done_.store(true);
    pthread_kill(thread_.native_handle(), SIGUSR1);
    thread_.join();
    // Swallow signals that arrived after the sweep, then restore the mask.
    timespec zero{};
    while (sigtimedwait(&set_, nullptr, &zero) > 0) {
    }
    pthread_sigmask(SIG_SETMASK, &old_, nullptr);
  }
  bool signalled() const { return signalled_.load(); }

 private:
  sigset_t set_{}, old_{};
  std::thread thread_;
  std::atomic<bool> done_{false}, signalled_{false};
};

}  // namespace

int run_discover(const discover_command_options& options, std::ostream& out, std::ostream& err) {
  std::vector<target_spec> specs;
  std::vector<std::string> texts = options.targets;
  if (texts.empty() && options.file.empty()) texts = options.discovery.ranges;
  for (const auto& t : texts) {
    std::string why;
    auto s = parse_target_spec(t, why);
    if (!s) {
      err << "fleetpoll discover: " << t << ": " << why << "\n";
      return 2;
    }
    specs.push_back(std::move(*s));
  }
  if (!options.file.empty()) {
    std::ifstream in(options.file, std::ios::binary);
    if (!in) {
      err << "fleetpoll discover: " << options.file << ": cannot read\n";
      return 2;
    }
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    auto parsed = parse_targets_file(text);
    if (!parsed) {
      err << "fleetpoll discover: " << options.file << ":" << parsed.error << "\n";
      return 2;
    }
    for (auto& ft : parsed.targets) specs.push_back(std::move(ft.spec));
  }
  if (specs.empty()) {
    err << "fleetpoll discover: nothing to sweep; give ranges (e.g. 192.0.2.0/24), --file, or "
           "[discovery] ranges "
           "in --config\n";
    return 2;
  }

  discovery d(options.discovery);
  progress_printer progress(err, options.progress);
  discovery_report report;
  std::error_code ec;
  bool signalled = false;
  {
    signal_watch watch(d);
    ec = d.run(specs, report, [&](const discovery_progress& p) { progress.update(p, false); });
    signalled = watch.signalled();
  }
  if (ec) {
    err << "fleetpoll discover: cannot open a UDP socket: " << ec.message() << "\n";
    return 1;
  }
  progress.update(report.progress, true);

  for (const auto& p : report.printers) {
    std::string descr = p.sys_descr.substr(0, 100);
    for (auto& c : descr)
      if (static_cast<unsigned char>(c) < 0x20) c = ' ';
    out << format_endpoint(p.address) << "  v"
        << (p.version == codecs::snmp_version::v1 ? "1 " : "2c") << "  " << p.reason << "  "
        << descr << "\n";
  }
  out.flush();
  for (const auto& u : report.unresolved) err << "fleetpoll discover: host " << u << "\n";
  const double secs = static_cast<double>(report.progress.elapsed.count()) / 1000.0;
  char took[32];
  std::snprintf(took, sizeof took, "%.1f", secs);
  err << "found " << report.printers.size() << " printers and " << report.others.size()
      << " other SNMP devices among " << with_commas(report.progress.probed) << " of "
      << with_commas(report.progress.total) << " addresses in " << took << " s ("
      << with_commas(report.progress.packets) << " probe packets)";
  if (report.interrupted) err << "; interrupted: partial results";
  if (report.timed_out) err << "; time limit reached: partial results";
  err << "\n";
  if (options.save) {
    std::string why;
    if (!save_targets(options.discovery.save_to, report, options.discovery, why)) {
      err << "fleetpoll discover: cannot save the targets: " << why << "\n";
      return 1;
    }
    err << "saved " << report.printers.size() << " printers to " << options.discovery.save_to
        << "\n";
  }
  if (signalled || report.interrupted) return 130;
  return 0;
}

void add_discover_command(CLI::App& app, int& exit_code) {
  struct state {
    discover_command_options opts;
    std::vector<std::string> communities;
    std::string versions, time_limit, progress = "auto", save_to;
    std::optional<std::uint16_t> port;
    std::optional<double> rate, subnet_rate;
    std::optional<std::uint32_t> timeout_ms;
    std::optional<std::size_t> max_in_flight;
    bool no_save = false;
  };
  auto st = std::make_shared<state>();
  auto* cmd = app.add_subcommand(
      "discover", "Find the printers in address ranges and save them as targets for `run`");
  cmd->add_option("targets", st->opts.targets,
                  "Addresses, CIDR ranges (192.0.2.0/24, [2001:db8::]/120) and host names");
  cmd->add_option("--file", st->opts.file,
                  "A targets file (address[,port[,version[,community]]] per line)");
  cmd->add_option("--config,-c", st->opts.config_path,
                  "Take defaults from [discovery] of this fleetpoll.toml");
  cmd->add_option("--port,-p", st->port, "UDP port of the agents (default 161)");
  cmd->add_option("--community", st->communities,
                  "Community to try (repeat for several, tried in turn; never printed)");
  cmd->add_option("--versions", st->versions,
                  "SNMP versions to try in turn, e.g. 2c,1 (default) or 2c");
  cmd->add_option("--rate", st->rate, "Probe packets per second in all (default 500)");
  cmd->add_option("--subnet-rate", st->subnet_rate,
                  "Probe packets per second per /24 (default 100; 0 = no cap)");
  cmd->add_option("--timeout", st->timeout_ms,
                  "Milliseconds to wait for each probe packet (default 1000)");
  cmd->add_option("--max-in-flight", st->max_in_flight, "Addresses probed at once (default 4096)");
  cmd->add_option("--time-limit", st->time_limit,
                  "Stop after this long, keeping what was found (default 30m)");
  cmd->add_option("--save", st->save_to, "Targets file to write (default ./fleetpoll-targets.csv)");
  cmd->add_flag("--no-save", st->no_save, "Only print what was found");
  cmd->add_option("--progress", st->progress,
                  "auto (bar on a terminal, lines otherwise), bar, lines or none")
      ->check(CLI::IsMember({"auto", "bar", "lines", "none"}));
  cmd->callback([st, &exit_code]() {
    auto& o = st->opts;
    if (!o.config_path.empty()) {
      auto loaded = load_config(o.config_path);
      if (!loaded) {
        std::cerr << "fleetpoll discover: invalid configuration:\n" << loaded.message();
        exit_code = 2;
        return;
      }
      o.discovery = loaded.cfg.discovery;
      if (!std::filesystem::path(o.discovery.save_to).is_absolute())
        o.discovery.save_to = (loaded.cfg.base_dir / o.discovery.save_to).string();
    }
    auto& d = o.discovery;
    if (st->port) d.port = *st->port;
    if (!st->communities.empty()) d.communities = st->communities;
    if (!st->versions.empty()) {
      d.versions.clear();
      std::stringstream ss(st->versions);
      std::string v;
      while (std::getline(ss, v, ',')) {
        auto pv = parse_version(v);
        if (!pv || *pv == version_choice::auto_detect) {
          std::cerr << "fleetpoll discover: --versions takes 2c and/or 1, comma-separated\n";
          exit_code = 2;
          return;
        }
        d.versions.push_back(*pv);
      }
    }
    if (st->rate) d.pps = std::max(1.0, *st->rate);
    if (st->subnet_rate) d.subnet_pps = std::max(0.0, *st->subnet_rate);
    if (st->timeout_ms)
      d.timeout = std::chrono::milliseconds(std::max<std::uint32_t>(1, *st->timeout_ms));
    if (st->max_in_flight) d.max_in_flight = std::max<std::size_t>(1, *st->max_in_flight);
    if (!st->time_limit.empty()) {
      auto t = parse_duration(st->time_limit);
      if (!t || t->count() <= 0) {
        std::cerr << "fleetpoll discover: --time-limit takes a duration such as 90s, 10m, 1h\n";
        exit_code = 2;
        return;
      }
      d.time_limit = std::chrono::duration_cast<std::chrono::seconds>(*t);
      if (d.time_limit.count() == 0) d.time_limit = std::chrono::seconds(1);
    }
    if (!st->save_to.empty()) d.save_to = st->save_to;
    o.save = !st->no_save;
    o.progress = st->progress == "bar"     ? progress_style::bar
                 : st->progress == "lines" ? progress_style::lines
                 : st->progress == "none"  ? progress_style::none
                                           : progress_style::automatic;
    exit_code = run_discover(o, std::cout, std::cerr);
  });
}

}  // namespace fleetpoll::engine
