// fleetpoll::engine — `fleetpoll probe`: show what fleetpoll makes of one or more printers.
//
//   fleetpoll probe --snmprec FILE... [--json [--pretty]] [--summary] [--include-contact]
//   [--strict] fleetpoll probe HOST[:PORT]... [--community C] [--version auto|1|2c] [--port P]
//                   [--timeout MS] [--retries N] [--json [--pretty]] [--summary]
//
// Each FILE is an snmpsim recording of one device; its context companions (`FILE@Ctx.snmprec`
// next to it) are merged in automatically, and a companion named on the command line together
// with its base file is not probed on its own. Output goes to `out`: a readable table per
// printer (default), one JSON object per printer per line (--json; --pretty indents), or exactly
// one line per printer (--summary). Errors go to `err` as "FILE:LINE: message"; the other files
// are still probed and the exit code is 1.
//
// Live devices: each HOST[:PORT] (default port 161) is polled once for every data class, with the
// engine's own walker (GETBULK, learned shapes, retries), all devices at once; the snapshots are
// printed in command-line order, exactly as for a recording of the same agent (the `source` is
// "ip:port" and `polled_at_ms` is set). A device that does not answer is reported on `err` as
// "HOST: error" and makes the exit code 1. The community is never printed.
//
// Thread safety: run_probe is reentrant; it reads the named files or polls the named devices.
#pragma once

#include <cstdint>
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
  std::vector<std::string> targets;        // HOST[:PORT] of live devices
  std::string community = "public";        // live devices. Default: "public"
  std::string version = "auto";            // live devices: auto, 1, 2c. Default: auto
  std::uint16_t port = 161;                // live devices without :PORT. Default: 161
  std::uint32_t timeout_ms = 1000;         // live devices: first attempt's timeout. Default: 1000
  int retries = 2;                         // live devices: retries per request. Default: 2
  // Live devices: print what each poll cost on the wire (requests, datagrams, bytes) to `err`.
  // Default: false
  bool stats = false;
  // Live devices: poll this many times in a row (what later polls cost once the device's shape
  // is learned); the last poll is printed. Default: 1
  int repeat = 1;
  // Live devices: print every request and reply (names, varbinds) to `err`. Default: false
  bool trace = false;
  probe_format format = probe_format::table;
  bool pretty = false;           // --json only: indent. Default: false (one object per line).
  bool include_contact = false;  // copy sysContact (a person). Default: false.
  // Fail a recording at its first bad line. Default: false — bad lines are skipped and reported
  // on `err` as "FILE:LINE: skipped: ..." (real recordings carry the odd corrupt line) without
  // changing the exit code; a file with no usable line at all is an error.
  bool strict = false;
};

// Exit codes: 0 every device probed; 1 at least one file or device failed (others still
// printed); 2 nothing to probe / bad arguments (both recordings and live devices, a bad target).
int run_probe(const probe_options& options, std::ostream& out, std::ostream& err);

// Registers the `probe` subcommand. When it runs (during app.parse), its exit code is stored in
// exit_code, which must outlive the parse.
void add_probe_command(CLI::App& app, int& exit_code);

// Renderings, exposed for tests.
std::string probe_table(const schema::DeviceSnapshot& snapshot, std::string_view label);
std::string probe_summary_line(const schema::DeviceSnapshot& snapshot, std::string_view label);

}  // namespace fleetpoll::engine
