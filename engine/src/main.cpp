// fleetpoll — the program. Each subcommand lives in its own *_command.cpp in engine/src.
#include <CLI/CLI.hpp>

#include <iostream>
#include <string>

#include "fleetpoll/engine/version.hpp"

int main(int argc, char** argv) {
  CLI::App app{"fleetpoll — watches printer fleets over SNMP (loopback-safe defaults)"};
  app.set_version_flag("--version", std::string("fleetpoll ") + std::string(fleetpoll::engine::version()));
  app.require_subcommand(1);
  // Subcommands are registered here as they are built (probe, discover, run, ...).
  CLI11_PARSE(app, argc, argv);
  return 0;
}
