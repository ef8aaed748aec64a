// fleetsim — the simulated printer fleet as a program. See docs/fleetsim.md and --help.
#include <toml++/toml.h>
#include <CLI/CLI.hpp>

#include <pthread.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "fleetpoll/fleetsim/fleetsim.hpp"

namespace fs = fleetpoll::fleetsim;

namespace {

struct device_fault_arg {
  std::uint32_t index = 0;
  fs::fault_mask faults = 0;
};

bool parse_fault_names(std::string_view list, fs::fault_mask& mask, std::string& why) {
  while (!list.empty()) {
    const auto comma = list.find(',');
    const auto name = list.substr(0, comma);
    list = comma == std::string_view::npos ? std::string_view{} : list.substr(comma + 1);
    if (name.empty() || name == "none") continue;
    auto f = fs::fault_from_string(name);
    if (!f) {
      why = "unknown fault '" + std::string(name) + "'";
      return false;
    }
    mask = static_cast<fs::fault_mask>(mask | fs::mask_of(*f));
  }
  return true;
}

// "17=slow,truncated" -> device 17 with those faults.
bool parse_device_fault(const std::string& text, device_fault_arg& out, std::string& why) {
  const auto eq = text.find('=');
  if (eq == std::string::npos) {
    why = "--device-fault wants INDEX=FAULT[,FAULT...], got '" + text + "'";
    return false;
  }
  try {
    std::size_t used = 0;
    const unsigned long v = std::stoul(text.substr(0, eq), &used);
    if (used != eq || v > 0xFFFFFFFFul) throw std::out_of_range("index");
    out.index = static_cast<std::uint32_t>(v);
  } catch (const std::exception&) {
    why = "--device-fault: '" + text.substr(0, eq) + "' is not a device index";
    return false;
  }
  return parse_fault_names(std::string_view(text).substr(eq + 1), out.faults, why);
}

// Reads a TOML configuration into opts (every key optional; unknown keys are errors).
bool load_toml(const std::string& path, fs::options& opts,
               std::vector<device_fault_arg>& device_faults, std::string& truth_file,
               std::string& why) {
  toml::table t;
  try {
    t = toml::parse_file(path);
  } catch (const toml::parse_error& e) {
    std::ostringstream s;
    s << path << ":" << e.source().begin.line << ": " << e.description();
    why = s.str();
    return false;
  }
  const std::filesystem::path dir = std::filesystem::path(path).parent_path();
  auto bad = [&](std::string_view key, std::string_view want) {
    why = path + ": '" + std::string(key) + "' must be " + std::string(want);
    return false;
  };
  for (auto&& [k, node] : t) {
    const std::string_view key = k.str();
    if (key == "devices") {
      auto v = node.value<std::int64_t>();
      if (!v || *v < 1 || *v > 16777214) return bad(key, "an integer within 1..16777214");
      opts.devices = static_cast<std::uint32_t>(*v);
    } else if (key == "templates") {
      const auto* arr = node.as_array();
      if (!arr) return bad(key, "an array of paths");
      opts.templates.clear();
      for (auto&& e : *arr) {
        auto s = e.value<std::string>();
        if (!s) return bad(key, "an array of paths");
        const std::filesystem::path p(*s);
        opts.templates.push_back(p.is_relative() ? dir / p : p);
      }
    } else if (key == "base") {
      auto v = node.value<std::string>();
      if (!v) return bad(key, "a dotted address");
      opts.base_address = *v;
    } else if (key == "port") {
      auto v = node.value<std::int64_t>();
      if (!v || *v < 0 || *v > 65535) return bad(key, "within 0..65535");
      opts.port = static_cast<std::uint16_t>(*v);
    } else if (key == "seed") {
      auto v = node.value<std::int64_t>();
      if (!v || *v < 0) return bad(key, "a non-negative integer");
      opts.seed = static_cast<std::uint64_t>(*v);
    } else if (key == "community") {
      auto v = node.value<std::string>();
      if (!v) return bad(key, "a string");
      opts.community = *v;
    } else if (key == "profile") {
      auto v = node.value<std::string>();
      if (!v) return bad(key, "office, workgroup or static");
      opts.profile = *v;
    } else if (key == "start") {
      std::optional<double> v;
      if (auto s = node.value<std::string>())
        v = fs::parse_time(*s);
      else if (auto n = node.value<double>())
        v = *n;
      if (!v) return bad(key, "a time like \"2026-01-05T09:00:00Z\" or Unix seconds");
      opts.start_time = static_cast<std::int64_t>(*v);
    } else if (key == "acceleration") {
      auto v = node.value<double>();
      if (!v || *v < 0) return bad(key, "a number >= 0");
      opts.acceleration = *v;
    } else if (key == "threads") {
      auto v = node.value<std::int64_t>();
      if (!v || *v < 1 || *v > 64) return bad(key, "within 1..64");
      opts.threads = static_cast<unsigned>(*v);
    } else if (key == "max_response_bytes") {
      auto v = node.value<std::int64_t>();
      if (!v || *v < 484 || *v > 65507) return bad(key, "within 484..65507");
      opts.max_response_bytes = static_cast<std::size_t>(*v);
    } else if (key == "truth_file") {
      auto v = node.value<std::string>();
      if (!v) return bad(key, "a path");
      const std::filesystem::path p(*v);
      truth_file = (p.is_relative() ? dir / p : p).string();
    } else if (key == "faults") {
      const auto* tab = node.as_table();
      if (!tab) return bad(key, "a table of fault = share and parameter = value");
      std::string spec;
      for (auto&& [fk, fv] : *tab) {
        auto v = fv.value<double>();
        if (!v) return bad(std::string("faults.") + std::string(fk.str()), "a number");
        std::ostringstream s;
        s << fk.str() << "=" << *v;
        spec += (spec.empty() ? "" : ",") + s.str();
      }
      std::string detail;
      if (fs::parse_fault_plan(spec, opts.faults, detail)) {
        why = path + ": faults: " + detail;
        return false;
      }
    } else if (key == "device") {
      const auto* arr = node.as_array();
      if (!arr) return bad(key, "an array of tables ([[device]] index = N, faults = [...])");
      for (auto&& e : *arr) {
        const auto* d = e.as_table();
        device_fault_arg a;
        auto idx = d ? (*d)["index"].value<std::int64_t>() : std::nullopt;
        const auto* names = d ? (*d)["faults"].as_array() : nullptr;
        if (!idx || *idx < 0 || !names)
          return bad(key, "tables with index = N and faults = [\"slow\", ...]");
        a.index = static_cast<std::uint32_t>(*idx);
        for (auto&& n : *names) {
          auto s = n.value<std::string>();
          if (!s || !parse_fault_names(*s, a.faults, why))
            return bad("device.faults", "fault names");
        }
        device_faults.push_back(a);
      }
    } else {
      why = path + ": unknown key '" + std::string(key) + "'";
      return false;
    }
  }
  return true;
}

bool write_truth(const fs::fleet& f, const std::string& file, std::optional<double> at) {
  if (file.empty() || file == "-") return f.write_ground_truth(std::cout, at);
  const std::string tmp = file + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    if (!out || !f.write_ground_truth(out, at)) return false;
  }
  return std::rename(tmp.c_str(), file.c_str()) == 0;  // readers never see half a file
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "fleetsim — a simulated printer fleet on loopback (SNMPv1/v2c agents, living devices, "
      "faults).\n"
      "Every device answers at its own address in 127.0.0.0/8; nothing is ever sent elsewhere.\n"
      "Signals: SIGINT/SIGTERM stop cleanly; SIGUSR1 writes the ground truth to --truth-file.\n"
      "Docs: docs/fleetsim.md"};
  fs::options opts;
  std::string config_file, faults_spec, start_text, truth_file, truth_at;
  std::vector<std::string> device_fault_texts, template_args;
  double status_every = 0;
  bool no_bind_lo = false;

  app.add_option("--config", config_file, "TOML file with the same settings (flags given here win)")
      ->check(CLI::ExistingFile);
  app.add_option("--devices", opts.devices, "Number of devices (default 1000; 100000+ is fine)")
      ->check(CLI::Range(1u, 16777214u));
  app.add_option(
      "--templates", template_args,
      ".snmprec file or folder (repeatable; device i uses template i mod T; default: the "
      "built-in synthetic printers)");
  app.add_option("--base", opts.base_address,
                 "Address of device 0, inside 127.0.0.0/8 (default 127.1.0.1)");
  app.add_option("--port", opts.port, "UDP port of every device (default 1161; 0 = any free port)");
  app.add_option("--seed", opts.seed, "Seed of identities, state and fault choice (default 7)");
  app.add_option("--community", opts.community, "Community the devices accept (default public)");
  app.add_option(
      "--profile", opts.profile,
      "office (~100 pages/day), workgroup (~1000 pages/day) or static (serve the templates "
      "unchanged) (default office)");
  app.add_option("--start", start_text,
                 "Simulated time at start: 2026-01-05T09:00:00Z or Unix seconds (default that "
                 "Monday 09:00 UTC)");
  app.add_option("--accel", opts.acceleration,
                 "Simulated seconds per real second (default 1; 0 freezes)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--faults", faults_spec,
                 "Fault shares and parameters, e.g. loss=0.1,dead=0.05,slow=0.01,slow_ms=800 "
                 "(faults: dead lossy slow sleepy v1_only too_big out_of_order oid_loop "
                 "wrong_request_id truncated corrupt other_source duplicate; parameters: loss "
                 "lossy_rate slow_ms too_big_varbinds sleep_period_s sleep_duration_s "
                 "duplicate_copies loop_back)");
  app.add_option(
      "--device-fault", device_fault_texts,
      "INDEX=FAULT[,FAULT...]: give one device exactly these faults (repeatable; 'none' clears)");
  app.add_option("--threads", opts.threads, "Worker threads sharing the socket (default 1)")
      ->check(CLI::Range(1u, 64u));
  app.add_option("--max-size", opts.max_response_bytes,
                 "Largest reply in bytes; GETBULK stops before it, "
                 "GET/GETNEXT answer tooBig (default 1472)")
      ->check(CLI::Range(484, 65507));
  app.add_option("--truth-file", truth_file,
                 "Where SIGUSR1 (and --truth-at) write the ground truth (JSON lines; - = stdout)");
  app.add_option("--truth-at", truth_at,
                 "Write the ground truth at this simulated time to --truth-file and exit, without "
                 "opening a socket ('start' = the start time)");
  app.add_option("--status-every", status_every,
                 "Print a counters line every N real seconds (default 0 = never)")
      ->check(CLI::NonNegativeNumber);
  app.add_flag(
      "--no-bind-lo", no_bind_lo,
      "Do not restrict the socket to the loopback device (it is also skipped when not permitted)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;  // --help and --version exit 0; every usage error exits 2
  }

  std::string why;
  std::vector<device_fault_arg> device_faults;
  if (!config_file.empty()) {
    fs::options from_file = opts;
    std::string file_truth;
    if (!load_toml(config_file, from_file, device_faults, file_truth, why)) {
      std::cerr << "fleetsim: " << why << "\n";
      return 2;
    }
    // Flags given on the command line win over the file.
    if (!app.count("--devices")) opts.devices = from_file.devices;
    if (template_args.empty()) opts.templates = from_file.templates;
    if (!app.count("--base")) opts.base_address = from_file.base_address;
    if (!app.count("--port")) opts.port = from_file.port;
    if (!app.count("--seed")) opts.seed = from_file.seed;
    if (!app.count("--community")) opts.community = from_file.community;
    if (!app.count("--profile")) opts.profile = from_file.profile;
    if (!app.count("--start")) opts.start_time = from_file.start_time;
    if (!app.count("--accel")) opts.acceleration = from_file.acceleration;
    if (!app.count("--threads")) opts.threads = from_file.threads;
    if (!app.count("--max-size")) opts.max_response_bytes = from_file.max_response_bytes;
    opts.faults = from_file.faults;
    if (truth_file.empty()) truth_file = file_truth;
  }
  for (const auto& t : template_args) opts.templates.emplace_back(t);
  if (!start_text.empty()) {
    auto t = fs::parse_time(start_text);
    if (!t) {
      std::cerr << "fleetsim: --start: '" << start_text
                << "' is not a time (2026-01-05T09:00:00Z or Unix seconds)\n";
      return 2;
    }
    opts.start_time = static_cast<std::int64_t>(*t);
  }
  if (!faults_spec.empty() && fs::parse_fault_plan(faults_spec, opts.faults, why)) {
    std::cerr << "fleetsim: --faults: " << why << "\n";
    return 2;
  }
  for (const auto& text : device_fault_texts) {
    device_fault_arg a;
    if (!parse_device_fault(text, a, why)) {
      std::cerr << "fleetsim: " << why << "\n";
      return 2;
    }
    device_faults.push_back(a);
  }
  opts.bind_to_loopback_device = !no_bind_lo;

  auto fleet = fs::fleet::create(opts, why);
  if (!fleet) {
    std::cerr << "fleetsim: " << why << "\n";
    return 2;
  }
  for (const auto& w : fleet->load_warnings()) std::cerr << "fleetsim: " << w << "\n";
  for (const auto& a : device_faults) {
    if (a.index >= fleet->size()) {
      std::cerr << "fleetsim: --device-fault: device " << a.index << " does not exist (fleet of "
                << fleet->size() << ")\n";
      return 2;
    }
    fleet->set_device_faults(a.index, a.faults);
  }

  if (!truth_at.empty()) {
    auto at = truth_at == "start" ? std::optional<double>(static_cast<double>(opts.start_time))
                                  : fs::parse_time(truth_at);
    if (!at) {
      std::cerr << "fleetsim: --truth-at: '" << truth_at << "' is not a time\n";
      return 2;
    }
    if (!write_truth(*fleet, truth_file, at)) {
      std::cerr << "fleetsim: cannot write the ground truth to " << truth_file << "\n";
      return 1;
    }
    return 0;
  }

  // Signals are taken synchronously by this thread; workers never see them.
  sigset_t set;
  sigemptyset(&set);
  for (int s : {SIGINT, SIGTERM, SIGUSR1, SIGHUP}) sigaddset(&set, s);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);

  if (auto ec = fleet->start(why)) {
    std::cerr << "fleetsim: cannot start: " << why << "\n";
    return 1;
  }
  std::cout << fleet->status_line() << std::endl;
  const auto started = std::chrono::steady_clock::now();
  auto counters_line = [&] {
    const auto c = fleet->totals();
    std::ostringstream s;
    s << "fleetsim: received " << c.received << ", answered " << c.answered << ", sent " << c.sent
      << ", dropped: fault " << c.dropped_fault << ", not a device " << c.not_device
      << ", not loopback " << c.not_loopback << ", malformed " << c.malformed << ", oversize "
      << c.oversize << ", community " << c.bad_community << "; tooBig " << c.too_big << ", delayed "
      << c.delayed << ", sim time " << fs::format_time(fleet->sim_time());
    return s.str();
  };
  for (;;) {
    timespec ts{};
    timespec* timeout = nullptr;
    if (status_every > 0) {
      ts.tv_sec = static_cast<time_t>(status_every);
      ts.tv_nsec = static_cast<long>((status_every - static_cast<double>(ts.tv_sec)) * 1e9);
      timeout = &ts;
    }
    siginfo_t info{};
    const int sig = timeout ? sigtimedwait(&set, &info, timeout) : sigwaitinfo(&set, &info);
    if (sig < 0) {
      if (errno == EAGAIN) std::cout << counters_line() << std::endl;
      continue;
    }
    if (sig == SIGUSR1) {
      if (truth_file.empty()) {
        std::cerr << "fleetsim: SIGUSR1 ignored: no --truth-file\n";
      } else if (write_truth(*fleet, truth_file, std::nullopt)) {
        std::cout << "fleetsim: ground truth at " << fs::format_time(fleet->sim_time())
                  << " written to " << truth_file << std::endl;
      } else {
        std::cerr << "fleetsim: cannot write the ground truth to " << truth_file << "\n";
      }
      continue;
    }
    if (sig == SIGHUP) {
      std::cout << counters_line() << std::endl;
      continue;
    }
    break;  // SIGINT / SIGTERM
  }
  fleet->stop();
  const double ran =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::cout << counters_line() << "\nfleetsim: stopped after " << static_cast<long long>(ran)
            << " s" << std::endl;
  return 0;
}
