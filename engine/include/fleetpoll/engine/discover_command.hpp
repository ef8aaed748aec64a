// fleetpoll::engine — `fleetpoll discover`: find the printers in address ranges.
//
//   fleetpoll discover [TARGET...] [--file FILE] [--port P] [--community C]... [--versions 2c,1]
//                      [--rate PPS] [--subnet-rate PPS] [--timeout MS] [--time-limit DURATION]
//                      [--save FILE | --no-save] [--config FILE] [--progress auto|bar|lines|none]
//
// TARGETs are addresses, CIDR ranges and host names (targets.hpp); --file adds a targets file.
// Without targets, the config's [discovery] ranges are swept. Options on the command line
// override [discovery] in --config. Printers are listed on stdout (one line each: address,
// version, reason, sysDescr) and saved as a targets file (default [discovery] save_to,
// ./fleetpoll-targets.csv) that `fleetpoll run` reads through [[targets]] file = "...".
//
// Progress goes to stderr: a bar redrawn in place when stderr is a terminal, else one plain line
// every 5 s. SIGINT (or SIGTERM) stops the sweep: nothing new is sent, probes in flight finish,
// and what was found so far is printed and saved, marked partial (exit code 130); a second
// SIGINT abandons the probes in flight. The time limit ends the sweep the same way (exit 0,
// marked partial). Communities are never printed.
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

#include "fleetpoll/engine/config.hpp"

namespace CLI {
class App;
}

namespace fleetpoll::engine {

enum class progress_style { automatic, bar, lines, none };

struct discover_command_options {
  std::vector<std::string> targets;
  std::string file;
  std::string config_path;
  discovery_options discovery;  // after merging config and command line
  bool save = true;
  progress_style progress = progress_style::automatic;
};

// Exit codes: 0 done (also after the time limit); 1 socket or save error; 2 bad arguments;
// 130 interrupted by a signal (partial results were printed and saved).
int run_discover(const discover_command_options& options, std::ostream& out, std::ostream& err);

void add_discover_command(CLI::App& app, int& exit_code);

}  // namespace fleetpoll::engine
