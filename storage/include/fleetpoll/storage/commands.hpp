// fleetpoll::storage — the query subcommands of the `fleetpoll` program.
//
//   fleetpoll devices --db DIR [--low] [--alerts] [--recent [DAYS]] [--down] [--json]
//   [--no-forecast] fleetpoll history DEVICE --db DIR [--since WHEN] [--until WHEN] [--supply
//   N|COLOUR] [--samples] [--json] fleetpoll export --db DIR --format csv|jsonl [--what
//   samples|events|devices] [--since WHEN]
//                    [--output FILE]
//
// They read the database through storage::reader (a RocksDB secondary instance), so they work
// while the engine has it open for writing, and never modify it. WHEN is a duration back from
// now ("7d", "36h", "90m"), a UTC date or time ("2024-05-01", "2024-05-01T08:00:00Z"), or "all".
// Output goes to `out`, errors to `err` as "fleetpoll COMMAND: message".
// Exit codes: 0 done; 1 the database could not be read or the device is unknown; 2 bad arguments.
// Thread safety: the run_* functions are reentrant (each opens its own reader).
#pragma once

#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>

namespace CLI {  // NOLINT(readability-identifier-naming): CLI11's name
class App;
}

namespace fleetpoll::storage {

struct devices_options {
  std::string db;
  bool low = false;     // only devices with a supply low, empty or past the reorder point
  bool alerts = false;  // only devices with active alerts (and list them)
  std::optional<int> recent_days;  // only devices first seen within that many days, newest first
  bool down = false;               // only devices marked unreachable
  bool json = false;               // one JSON object per device per line
  bool forecast = true;            // days/pages until empty per supply
};

struct history_options {
  std::string db;
  std::string device;  // id, address, serial or sysName
  std::string since = "30d";
  std::string until;     // empty: now
  std::string supply;    // supply index or colourant ("black"); empty: all
  bool samples = false;  // list time-series samples too (always with --supply)
  bool json = false;
};

struct export_options {
  std::string db;
  std::string format = "csv";    // csv | jsonl
  std::string what = "samples";  // samples | events | devices
  std::string since = "all";
  std::string output;  // empty: standard output
};

int run_devices(const devices_options& o, std::ostream& out, std::ostream& err);
int run_history(const history_options& o, std::ostream& out, std::ostream& err);
int run_export(const export_options& o, std::ostream& out, std::ostream& err);

// Parses WHEN (see above) against `now_ms`; nullopt when it does not parse.
std::optional<std::uint64_t> parse_when(const std::string& when, std::uint64_t now_ms);
// "2024-05-01T08:00:00Z".
std::string iso_time(std::uint64_t unix_ms);

// Registers devices, history and export on `app`; a subcommand that runs stores its exit code in
// exit_code, which must outlive the parse.
void add_storage_commands(CLI::App& app, int& exit_code);

}  // namespace fleetpoll::storage
