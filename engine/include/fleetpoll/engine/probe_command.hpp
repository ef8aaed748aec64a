// fleetpoll::engine — `fleetpoll probe`: show what fleetpoll makes of one or more printers.
//
//   fleetpoll probe --snmprec FILE... [--json [--pretty]] [--summary] [--include-contact] [--strict]
//
// Each FILE is an snmpsim recording of one device; its context companions (`FILE@Ctx.snmprec`
// next to it) are merged in automatically, and a companion named on the command line together
// with its base file is not probed on its own. Output goes to `out`: a readable table per
// printer (default), one JSON object per printer per line (--json; --pretty indents), or exactly
// one line per printer (--summary). Errors go to `err` as "FILE:LINE: message"; the other files
// are still probed and the exit code is 1. Live devices (`probe HOST[:PORT] --community C`) are a
// later addition: probe_options grows a target list and run_probe a second source of views.
//
// Thread safety: run_probe is reentrant; it only reads the named files.
#pragma once

#include <iosfwd>
#include <string>
#include <string_view>
#include <vector>

#include "fleetpoll/schema/snapshot_generated.h"

namespace CLI {
class App;
}

namespace fleetpoll::engine {

enum class probe_format { table, json, summary };

struct probe_options {
  std::vector<std::string> snmprec_files;  // recordings, one device each
  std::vector<std::string> targets;        // HOST[:PORT]; reserved, rejected for now
  probe_format format = probe_format::table;
  bool pretty = false;           // --json only: indent. Default: false (one object per line).
  bool include_contact = false;  // copy sysContact (a person). Default: false.
  // Fail a recording at its first bad line. Default: false — bad lines are skipped and reported
  // on `err` as "FILE:LINE: skipped: ..." (real recordings carry the odd corrupt line) without
  // changing the exit code; a file with no usable line at all is an error.
  bool strict = false;
};

// Exit codes: 0 every device probed; 1 at least one file failed (others still printed);
// 2 nothing to probe / unsupported request.
int run_probe(const probe_options& options, std::ostream& out, std::ostream& err);

// Registers the `probe` subcommand. When it runs (during app.parse), its exit code is stored in
// exit_code, which must outlive the parse.
void add_probe_command(CLI::App& app, int& exit_code);

// Renderings, exposed for tests.
std::string probe_table(const schema::DeviceSnapshot& snapshot, std::string_view label);
std::string probe_summary_line(const schema::DeviceSnapshot& snapshot, std::string_view label);

}  // namespace fleetpoll::engine
