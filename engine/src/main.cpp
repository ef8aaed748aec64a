// fleetpoll — the program. Each subcommand lives in its own *_command.cpp; the storage, uplink
// and status page attach to `fleetpoll run` through engine/app/site_attachment.hpp.
#include <CLI/CLI.hpp>

#include <iostream>
#include <string>

#include "../app/site_attachment.hpp"
#include "fleetpoll/engine/discover_command.hpp"
#include "fleetpoll/engine/probe_command.hpp"
#include "fleetpoll/engine/run_command.hpp"
#include "fleetpoll/engine/version.hpp"
#include "fleetpoll/storage/commands.hpp"
#include "fleetpoll/uplink/receive_command.hpp"

int main(int argc, char** argv) {
  CLI::App app{"fleetpoll — watches printer fleets over SNMP (loopback-safe defaults)"};
  app.set_version_flag("--version",
                       std::string("fleetpoll ") + std::string(fleetpoll::engine::version()));
  app.require_subcommand(1);
  // Subcommands are registered here as they are built (probe, discover, run, ...). Each stores
  // its exit code in exit_code when it runs.
  int exit_code = 0;
  fleetpoll::app::register_site_attachment();  // [storage], [xmpp]/[uplink], [status] for run
  fleetpoll::engine::add_probe_command(app, exit_code);
  fleetpoll::storage::add_storage_commands(app, exit_code);
  fleetpoll::uplink::add_receive_command(app, exit_code);
  fleetpoll::engine::add_run_command(app, exit_code);
  fleetpoll::engine::add_discover_command(app, exit_code);
  CLI11_PARSE(app, argc, argv);
  return exit_code;
}
