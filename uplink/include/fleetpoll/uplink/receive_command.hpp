// fleetpoll::uplink — `fleetpoll receive --config provider.toml [--output FILE|-]`
//
// Runs the provider's receiver (receiver.hpp) until SIGINT or SIGTERM, then prints its counters
// to standard error (also every [output] stats_interval_s, default 60). With [metrics] listen =
// "127.0.0.1:9751" it serves /metrics (fleetpoll_receiver_* families) through fleetpoll's one
// HTTP server. Exit codes: 0 stopped by a signal; 2 configuration or start-up error.
#pragma once

namespace CLI {  // NOLINT(readability-identifier-naming): CLI11's own namespace
class App;
}

namespace fleetpoll::uplink {

// Registers the `receive` subcommand; its exit code is stored in exit_code when it runs.
void add_receive_command(CLI::App& app, int& exit_code);

}  // namespace fleetpoll::uplink
