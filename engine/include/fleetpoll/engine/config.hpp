// fleetpoll::engine::config — the fleetpoll.toml file: every option with its default and unit.
//
// parse_config() reads TOML text (no I/O) into a `config`, validating every field; it collects
// every problem, each with where it is (file:line:column), the field's dotted name and the
// reason ("snmp.retries: must be an integer from 0 to 10"). Unknown sections and unknown keys
// are errors too (a typo must not silently fall back to a default). Values of credential fields
// (communities) never appear in a message.
//
// Sections: [engine] [snmp] [limits] [schedule] [[targets]] [discovery] [metrics] [output] [log].
// The annotated example with every default is docs/fleetpoll.toml.example; docs/configuration.md
// explains each field.
//
// Adding an engine section: add its options struct as a member of `config`, write a
// `parse_<name>(section_reader&, config&)` in config.cpp and add one line to the section table
// there. Sections of other components ([storage], [xmpp], [uplink], [status]) are registered at
// program start with register_config_extension(): parse_config() then accepts them, validates
// them with the component's own validator (its errors are reported with the engine's) and keeps
// their TOML tables in config::extensions for the component to read at start and on reload.
//
// Durations are integers of the unit the field's name says (…_ms, …_s) or, for [schedule],
// strings with units: "500ms", "90s", "3m", "1h30m", "24h" (or integer seconds).
// Thread safety: pure functions.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <toml++/toml.h>

#include "fleetpoll/engine/engine.hpp"
#include "fleetpoll/engine/targets.hpp"

namespace fleetpoll::engine {

// One [[targets]] table: devices to poll and what to poll them with.
struct target_group {
  std::vector<std::string> addresses;     // addresses, CIDR ranges, host names (targets.hpp forms)
  std::string file;                       // a targets file (CSV, as `fleetpoll discover` writes it)
  std::optional<std::string> community;   // Default: [snmp] community. Never logged.
  std::optional<version_choice> version;  // Default: [snmp] version
  std::optional<std::uint16_t> port;      // Default: [snmp] port
  std::optional<bool> accept_any_source;  // Default: [snmp] accept_any_source
  std::string where;                      // "FILE:LINE" of the table, for messages
};

struct discovery_options {
  // What `fleetpoll discover` sweeps when no range is given on the command line. Default: none
  std::vector<std::string> ranges;
  std::uint16_t port = 161;                        // Default: 161
  std::vector<std::string> communities{"public"};  // Default: ["public"]; each tried in turn
  // Versions tried in turn on an address that has not answered. Default: ["2c", "1"]
  std::vector<version_choice> versions{version_choice::v2c, version_choice::v1};
  double pps = 500;                         // Default: 500 probe packets per second in all
  double subnet_pps = 100;                  // Default: 100 per /24 (or /64)
  std::chrono::milliseconds timeout{1000};  // Default: 1 s per probe packet
  std::chrono::seconds time_limit{1800};    // Default: 30 min, then stop and keep what was found
  std::size_t max_in_flight = 4096;         // Default: 4,096 addresses probed at once
  std::string save_to = "fleetpoll-targets.csv";  // Default: ./fleetpoll-targets.csv
};

struct metrics_options {
  bool enabled = true;                // Default: true
  std::string address = "127.0.0.1";  // Default: 127.0.0.1 (loopback only)
  std::uint16_t port = 9750;          // Default: 9750
};

struct output_options {
  // Write every poll and device state change as JSON lines to this file ("-" = stdout).
  // Default: "" (none; until storage is configured the snapshots are then only counted)
  std::string jsonl;
};

struct log_options {
  std::string level = "info";  // Default: info (trace, debug, info, warn, error, off)
  std::string file;            // Default: "" = stderr
};

struct config {
  engine_options engine;  // [engine], [snmp] transport/retry/walk fields, [limits], [schedule]
  // [snmp] defaults for targets
  std::string community = "public";                      // Default: "public". Never logged.
  version_choice version = version_choice::auto_detect;  // Default: auto (v2c, else v1)
  std::uint16_t port = 161;                              // Default: 161
  bool accept_any_source = false;                        // Default: false
  std::vector<target_group> targets;
  discovery_options discovery;
  metrics_options metrics;
  output_options output;
  log_options log;
  std::filesystem::path base_dir;  // relative file names in the config are relative to this
  // Registered extension sections present in the file, by name ("storage" -> its table).
  std::map<std::string, toml::table> extensions;
};

struct config_error {
  std::string where;            // "fleetpoll.toml:12:3" (or the source name alone)
  std::string field;            // "snmp.retries", "[stroage]"
  std::string reason;           // "must be an integer from 0 to 10"
  std::string message() const;  // "fleetpoll.toml:12:3: snmp.retries: must be ..."
};

struct config_result {
  config cfg;
  std::vector<config_error> errors;
  explicit operator bool() const noexcept { return errors.empty(); }
  std::string message() const;  // every error, one per line
};

// A section of fleetpoll.toml that another component owns.
struct config_extension {
  std::string section;  // top-level table name, e.g. "storage"
  // Validates the section (no I/O beyond what the component needs to judge it); appends one
  // config_error per problem, `where` from `source_name` and the node's source region.
  std::function<void(const toml::table& section, std::string_view source_name,
                     const std::filesystem::path& base_dir, std::vector<config_error>& errors)>
      validate;
};
// Registers an extension (call from main() before any configuration is parsed; not thread-safe
// against concurrent parses). Registering a section twice replaces the first registration.
void register_config_extension(config_extension extension);

// Parses and validates. `source_name` appears in messages; `base_dir` becomes cfg.base_dir.
config_result parse_config(std::string_view text, std::string_view source_name = "<config>",
                           const std::filesystem::path& base_dir = {});
// Reads a file (at most 1 MiB) and parses it; relative paths inside resolve against its folder.
config_result load_config(const std::filesystem::path& path);

// Parses "500ms", "90s", "3m", "1h30m", "24h" (a sum of number+unit parts). nullopt on error.
std::optional<std::chrono::milliseconds> parse_duration(std::string_view text);

// The devices a configuration names: [[targets]] addresses and ranges expanded, targets files
// read (relative to cfg.base_dir), host names resolved (all at once, within `resolve_timeout`).
// Duplicates (same address:port) are kept once, the first wins. On failure returns false and
// sets `error` ("targets.csv:7: ..." or "host printer-9.example: does not resolve").
bool collect_targets(const config& cfg, std::vector<target>& out, std::string& error,
                     std::chrono::milliseconds resolve_timeout = std::chrono::seconds{10});

}  // namespace fleetpoll::engine
