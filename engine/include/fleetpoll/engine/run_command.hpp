// fleetpoll::engine — `fleetpoll run`: poll the configured fleet until SIGINT/SIGTERM.
//
//   fleetpoll run --config FILE [--check] [--once] [--log-level LEVEL] [--stop-grace MS]
//                 [--drain-timeout MS]
//
// The wiring of the whole program lives in run_fleetpoll() (run_command.cpp), in one place and
// in this order: configuration -> logging -> targets -> sinks -> metrics + HTTP server ->
// attachments (storage, uplink, status page: run_attachment.hpp, registered by main()) -> engine
// -> signals.
//
// --check validates the configuration and the targets (files read, host names resolved) and
// exits 0, or prints every problem and exits 2. --once polls every device once for every data
// class as fast as the limits allow, then exits (0 when every device answered, 1 otherwise).
//
// Reload: on SIGHUP the configuration file is read again. When it is valid and its targets can
// be read, the fleet becomes the new target list (polls in flight finish; removed devices'
// last polls still reach the sinks), and cadences, limits, retries, timeouts and the log level
// take effect at once (engine::reconfigure lists what needs a restart; a change to those is
// logged as such). An invalid file is rejected with a log line naming the field and the old
// configuration keeps running.
//
// Shutdown: on SIGINT or SIGTERM the engine stops scheduling, polls in flight get up to
// --stop-grace (default 5000 ms) to finish, the rest are cancelled, every completed poll reaches
// the sinks, the sinks are flushed, the attachments drain (--drain-timeout: the uplink sends what
// is left in the outbox) and stop, and every thread is joined; exit code 0. A second signal during
// the grace period cancels at once.
#pragma once

#include <chrono>
#include <functional>
#include <iosfwd>
#include <string>

#include "fleetpoll/engine/config.hpp"

namespace CLI {  // NOLINT(readability-identifier-naming): CLI11's own namespace
class App;
}

namespace fleetpoll::engine {

struct run_options {
  std::string config_path;
  bool check_only = false;
  bool once = false;
  std::string log_level;  // overrides [log] level when set
  std::chrono::milliseconds stop_grace{5000};
  // After the engine stopped: how long attachments may finish (the uplink sends what is left in
  // the outbox). Default: 15000 ms (with the grace, within systemd's TimeoutStopSec of 30 s)
  std::chrono::milliseconds drain_budget{15000};
  // Called on the control thread after each SIGHUP reload, accepted or rejected (tests).
  // Default: none
  std::function<void()> reload_done;
};

// Exit codes: 0 clean stop; 1 runtime failure (socket, HTTP port in use, --once with silent
// devices); 2 invalid configuration or targets.
int run_fleetpoll(const run_options& options, std::ostream& out, std::ostream& err);

void add_run_command(CLI::App& app, int& exit_code);

}  // namespace fleetpoll::engine
