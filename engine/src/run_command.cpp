#include "fleetpoll/engine/run_command.hpp"

#include <fmt/format.h>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>

#include <atomic>
#include <iostream>
#include <memory>
#include <thread>

#include <prometheus/registry.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>

#include "fleetpoll/engine/engine.hpp"
#include "fleetpoll/engine/run_attachment.hpp"
#include "fleetpoll/engine/snapshot_sink.hpp"
#include "fleetpoll/metrics/engine_metrics.hpp"
#include "fleetpoll/metrics/http_server.hpp"
#include "fleetpoll/metrics/process_collector.hpp"

namespace fleetpoll::engine {

namespace asio = boost::asio;

namespace {

std::vector<run_attachment_factory>& attachment_factories() {
  static std::vector<run_attachment_factory> factories;
  return factories;
}

// Logging: one line per event that matters, to stderr or the configured file.
bool setup_logging(const log_options& o, const std::string& level_override, std::ostream& err) {
  const std::string level = level_override.empty() ? o.level : level_override;
  const auto lvl = spdlog::level::from_str(level);
  if (lvl == spdlog::level::off && level != "off") {
    err << "fleetpoll run: unknown log level '" << level
        << "' (trace, debug, info, warn, error, off)\n";
    return false;
  }
  try {
    std::shared_ptr<spdlog::logger> logger;
    if (o.file.empty())
      logger = spdlog::stderr_color_mt("fleetpoll");
    else
      logger = spdlog::basic_logger_mt("fleetpoll", o.file);
    logger->set_level(lvl);
    logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e%z %^%l%$ %v");
    // Lines at info and above are written through at once (they are few: one per event that
    // matters, floods rate-limited), so `tail -f` on the log file and a crash lose nothing;
    // debug and trace lines are buffered until the next such line.
    logger->flush_on(spdlog::level::info);
    spdlog::set_default_logger(logger);
  } catch (const spdlog::spdlog_ex& e) {
    err << "fleetpoll run: cannot open the log: " << e.what() << "\n";
    return false;
  }
  return true;
}

// Counts what the sinks receive (for the status line and --once).
class counting_sink final : public snapshot_sink {
 public:
  void on_poll(const poll_record&) override { ++polls; }
  void on_device_down(const device_down_event&) override { ++downs; }
  void on_device_up(const device_up_event&) override { ++ups; }
  std::atomic<std::uint64_t> polls{0}, downs{0}, ups{0};
};

std::string status_line(const engine_stats& s) {
  return fmt::format(
      "{} devices: {} up, {} down, {} never seen; polls {} complete, {} partial, {} failed; "
      "{} requests, {} retries, {} bytes sent, {} received; {} snapshots delivered",
      s.devices, s.up, s.down, s.never_seen, s.polls_complete, s.polls_partial, s.polls_failed,
      s.client.requests, s.client.retries, s.transport.bytes_sent, s.transport.bytes_received,
      s.snapshots);
}

// SIGHUP: re-reads the configuration file and applies what can change while running. An invalid
// file, or targets that cannot be read, leave the running configuration as it is. Returns the
// configuration now in force.
void reload(const run_options& options, config& current, engine& eng,
            const std::vector<std::unique_ptr<run_attachment>>& attachments) {
  auto loaded = load_config(options.config_path);
  if (!loaded) {
    std::string msg = loaded.message();
    while (!msg.empty() && msg.back() == '\n') msg.pop_back();
    for (auto& c : msg)
      if (c == '\n') c = ';';
    spdlog::error("reload (SIGHUP) rejected, the running configuration stays: {}", msg);
    return;
  }
  std::vector<target> targets;
  std::string why;
  if (!collect_targets(loaded.cfg, targets, why)) {
    spdlog::error("reload (SIGHUP) rejected, the running configuration stays: {}", why);
    return;
  }
  if (targets.empty()) {
    spdlog::error("reload (SIGHUP) rejected, the running configuration stays: no targets");
    return;
  }
  const config& next = loaded.cfg;
  std::vector<std::string> fixed;  // changed, but only a restart applies them
  if (next.engine.threads != current.engine.threads) fixed.push_back("engine.threads");
  if (next.metrics.enabled != current.metrics.enabled ||
      next.metrics.address != current.metrics.address || next.metrics.port != current.metrics.port)
    fixed.push_back("[metrics]");
  if (next.output.jsonl != current.output.jsonl) fixed.push_back("output.jsonl");
  if (next.log.file != current.log.file) fixed.push_back("log.file");
  if (next.engine.schedule.tick != current.engine.schedule.tick) fixed.push_back("schedule.tick");
  if (next.engine.client.rate.subnet_prefix_v4 != current.engine.client.rate.subnet_prefix_v4 ||
      next.engine.client.rate.subnet_prefix_v6 != current.engine.client.rate.subnet_prefix_v6)
    fixed.push_back("limits.subnet_prefix");
  if (!fixed.empty())
    spdlog::warn("reload (SIGHUP): {} changed; these take effect at the next restart",
                 fmt::join(fixed, ", "));
  if (next.log.level != current.log.level) {
    const auto lvl = spdlog::level::from_str(next.log.level);
    if (options.log_level.empty()) spdlog::default_logger()->set_level(lvl);
  }
  const auto r = eng.reconfigure(next.engine, targets);
  spdlog::info(
      "reload (SIGHUP): {} devices added, {} removed, {} kept; schedule and limits applied",
      r.added, r.removed, r.kept);
  for (const auto& a : attachments) a->reload(next);
  current = next;
}

}  // namespace

int run_fleetpoll(const run_options& options, std::ostream& out, std::ostream& err) {
  // 1. Configuration.
  auto loaded = load_config(options.config_path);
  if (!loaded) {
    err << "fleetpoll run: invalid configuration:\n" << loaded.message();
    return 2;
  }
  config cfg = loaded.cfg;  // the configuration in force (a SIGHUP reload replaces it)

  // 2. Targets.
  std::vector<target> targets;
  std::string why;
  if (!collect_targets(cfg, targets, why)) {
    err << "fleetpoll run: " << why << "\n";
    return 2;
  }
  if (targets.empty()) {
    err << "fleetpoll run: no targets; add [[targets]] with addresses or a file (see `fleetpoll "
           "discover`)\n";
    return 2;
  }
  if (options.check_only) {
    out << "configuration OK: " << targets.size() << " devices\n";
    return 0;
  }

  // 3. Logging.
  if (!setup_logging(cfg.log, options.log_level, err)) return 2;
  struct logger_drop {
    ~logger_drop() { spdlog::drop("fleetpoll"); }
  } drop_logger;

  // 4. Sinks. Storage and the uplink attach here (cfg.storage / cfg.uplink) as more sinks.
  fanout_sink sinks;
  counting_sink counts;
  sinks.add(counts);
  std::unique_ptr<jsonl_sink> jsonl;
  if (!cfg.output.jsonl.empty()) {
    std::error_code ec;
    const std::string path =
        cfg.output.jsonl == "-" || std::filesystem::path(cfg.output.jsonl).is_absolute()
            ? cfg.output.jsonl
            : (cfg.base_dir / cfg.output.jsonl).string();
    jsonl = jsonl_sink::open(path, ec);
    if (!jsonl) {
      spdlog::error("cannot open the JSON-lines output {}: {}", path, ec.message());
      return 1;
    }
    sinks.add(*jsonl);
  } else {
    spdlog::warn("no output configured ([output] jsonl): snapshots are only counted");
  }

  // 5. Metrics, the HTTP server (on the control io_context, this thread) and the attachments
  //    (storage, uplink, status page: run_attachment.hpp), which add sinks, families and routes.
  asio::io_context control;
  auto registry = std::make_shared<prometheus::Registry>();
  metrics::engine_metrics em(*registry);
  std::unique_ptr<metrics::http_server> http;
  std::unique_ptr<engine> eng;
  std::vector<std::unique_ptr<run_attachment>> attachments;
  struct attachments_stop {
    std::vector<std::unique_ptr<run_attachment>>& list;
    ~attachments_stop() {
      for (auto it = list.rbegin(); it != list.rend(); ++it) (*it)->stop();
      list.clear();
    }
  } stop_attachments{attachments};
  if (cfg.metrics.enabled) {
    metrics::http_server_options ho;
    ho.address = cfg.metrics.address;
    ho.port = cfg.metrics.port;
    http = std::make_unique<metrics::http_server>(control, ho);
    http->add_collectable(registry);
    http->add_collectable(std::make_shared<metrics::process_collector>());
    http->set_health_check([&eng] {
      if (eng && eng->running()) return metrics::health_status{};
      return metrics::health_status{false, "engine not running"};
    });
  }
  run_context ctx{
      cfg,       sinks,
      *registry, http.get(),
      control,   [&eng] { return eng ? status_line(eng->stats()) : std::string("starting"); }};
  for (const auto& factory : attachment_factories()) {
    attachments.push_back(factory());
    if (std::string e = attachments.back()->start(ctx); !e.empty()) {
      spdlog::error("cannot start: {}", e);
      return 1;
    }
  }
  if (http) {
    const auto& ho = cfg.metrics;
    if (auto ec = http->start()) {
      spdlog::error("cannot serve metrics on {}:{}: {}", ho.address, ho.port, ec.message());
      return 1;
    }
    spdlog::info("metrics on http://{}:{}/metrics", ho.address, http->port());
  }

  // 6. The engine.
  engine_options eo = cfg.engine;
  if (options.once) eo.schedule.enabled = false;
  eng = std::make_unique<engine>(eo, sinks, &em);
  std::size_t refused = 0;
  for (const auto& t : targets)
    if (eng->add_target(t)) ++refused;
  if (refused)
    spdlog::warn("{} targets refused (unspecified, multicast or broadcast addresses, port 0)",
                 refused);
  if (auto ec = eng->start()) {
    spdlog::error("cannot start the engine: {}", ec.message());
    return 1;
  }

  // 7. Run until a signal (or, with --once, until every device was polled).
  int rc = 0;
  asio::signal_set signals(control, SIGINT, SIGTERM);
  asio::signal_set hangup(control, SIGHUP);
  asio::steady_timer status_timer(control);
  std::atomic<bool> stopping{false};
  auto shutdown = [&](const char* why_stop) {
    if (stopping.exchange(true)) return;
    spdlog::info("stopping ({}); polls in flight get {} ms", why_stop, options.stop_grace.count());
    eng->stop(options.stop_grace);
    status_timer.cancel();
    signals.cancel();
    hangup.cancel();
    sinks.flush();
    for (const auto& a : attachments) a->drain(options.drain_budget);
    if (http) http->stop();
    spdlog::info("stopped: {}", status_line(eng->stats()));
    for (const auto& a : attachments)
      if (auto line = a->status(); !line.empty()) spdlog::info("{}", line);
  };
  signals.async_wait([&](const boost::system::error_code& ec, int sig) {
    if (ec) return;
    shutdown(sig == SIGINT ? "SIGINT" : "SIGTERM");
  });
  std::function<void()> arm_reload = [&] {
    hangup.async_wait([&](const boost::system::error_code& ec, int) {
      if (ec || stopping.load()) return;
      spdlog::info("SIGHUP: reloading {}", options.config_path);
      reload(options, cfg, *eng, attachments);
      if (options.reload_done) options.reload_done();
      arm_reload();
    });
  };
  arm_reload();
  spdlog::info("running: SIGINT/SIGTERM stop, SIGHUP reloads {}", options.config_path);
  std::function<void()> arm_status = [&] {
    status_timer.expires_after(std::chrono::seconds(60));
    status_timer.async_wait([&](const boost::system::error_code& ec) {
      if (ec) return;
      spdlog::info("{}", status_line(eng->stats()));
      for (const auto& a : attachments)
        if (auto line = a->status(); !line.empty()) spdlog::info("{}", line);
      arm_status();
    });
  };
  std::thread once_waiter;
  if (options.once) {
    eng->poll_all_now(all_classes);
    once_waiter = std::thread([&] {
      while (!stopping.load() && !eng->wait_idle(std::chrono::milliseconds(200))) {
      }
      asio::post(control, [&] {
        const auto s = eng->stats();
        if (s.polls_failed > 0 || s.polls_partial > 0) rc = 1;
        shutdown("--once: every device polled");
      });
    });
  } else {
    arm_status();
  }
  control.run();
  if (once_waiter.joinable()) once_waiter.join();
  if (!stopping.load()) shutdown("control loop ended");
  return rc;
}

void add_run_command(CLI::App& app, int& exit_code) {
  auto opts = std::make_shared<run_options>();
  auto* cmd = app.add_subcommand(
      "run",
      "Poll the configured fleet until SIGINT/SIGTERM; SIGHUP reloads the configuration (see "
      "docs/fleetpoll.toml.example)");
  cmd->add_option("--config,-c", opts->config_path,
                  "fleetpoll.toml (annotated example: docs/fleetpoll.toml.example)")
      ->required();
  cmd->add_flag("--check", opts->check_only,
                "Validate the configuration and the targets, then exit");
  cmd->add_flag("--once", opts->once, "Poll every device once for every data class, then exit");
  cmd->add_option("--log-level", opts->log_level,
                  "Override [log] level: trace, debug, info, warn, error, off");
  auto* grace = cmd->add_option("--stop-grace",
                                "Milliseconds polls in flight get to finish on SIGINT/SIGTERM")
                    ->default_val(5000)
                    ->check(CLI::Range(0, 600000));
  auto* drain =
      cmd->add_option("--drain-timeout", "Milliseconds to send what is left in the outbox on stop")
          ->default_val(15000)
          ->check(CLI::Range(0, 600000));
  cmd->callback([opts, grace, drain, &exit_code]() {
    opts->stop_grace = std::chrono::milliseconds(grace->as<long>());
    opts->drain_budget = std::chrono::milliseconds(drain->as<long>());
    exit_code = run_fleetpoll(*opts, std::cout, std::cerr);
  });
}

void register_run_attachment(run_attachment_factory factory) {
  attachment_factories().push_back(std::move(factory));
}

}  // namespace fleetpoll::engine
