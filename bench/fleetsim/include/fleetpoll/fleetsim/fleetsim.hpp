// fleetpoll::fleetsim — a simulated printer fleet on loopback, as a library.
//
// A fleet is N devices, each a shared template (a .snmprec recording) plus its own identity
// (serial, MAC, sysName, loopback address) and a living state that is a pure function of
// (seed, device index, simulated time): pages, supply and tray levels, counters, alerts, status.
// Devices answer SNMPv1/v2c GET, GETNEXT and GETBULK at their own address 127.x.y.z on one UDP
// port. Faults (loss, dead, slow, sleeping, v1-only, tooBig, out-of-order, loops, wrong
// request-id, truncated, corrupt, other source, duplicates) are chosen per device from a seed.
// The ground truth of every device at any simulated moment is available as a struct or as JSON
// lines (format: docs/fleetsim.md, "Ground truth").
//
// Use:
//   fleetsim::options o;  o.devices = 1000;  o.port = 0;  // 0: a free port
//   std::string why;
//   auto f = fleetsim::fleet::create(o, why);             // loads templates, no I/O on the net
//   if (!f) { ... why ... }
//   if (auto ec = f->start(why)) { ... }                  // binds, starts the worker threads
//   ... poll 127.1.0.1:f->port() ...; f->truth(0); f->set_time(...); f->totals();
//   f->stop();                                            // or the destructor
//
// Network safety: a fleet binds only the loopback device (SO_BINDTODEVICE "lo" when allowed,
// else the wildcard address with every packet checked), answers only packets addressed to one
// of its device addresses inside 127.0.0.0/8 and coming from 127.0.0.0/8; everything else is
// dropped and counted.
// Thread safety: every public member function may be called from any thread while the fleet
// runs; counters are read without stopping it (each value is exact, a set of them is not a
// snapshot taken at one instant).
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <iosfwd>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "fleetpoll/fleetsim/error.hpp"

namespace fleetpoll::fleetsim {

// ---- faults ----------------------------------------------------------------------------------

enum class fault : std::uint8_t {
  dead = 0,          // never answers
  lossy,             // drops a share (fault_params::lossy_rate) of its requests
  slow,              // answers after fault_params::slow_ms of real time
  sleepy,            // no answer during a sleep window of each period (simulated time)
  v1_only,           // an SNMPv1-only agent: v2c requests (so GETBULK) get silence
  too_big,           // answers tooBig when a reply would hold more than too_big_varbinds
  out_of_order,      // GETNEXT/GETBULK replies with two or more rows come in swapped pairs
  oid_loop,          // GETNEXT/GETBULK after the loop row jump back (the walk never ends)
  wrong_request_id,  // replies carry request-id + 1
  truncated,         // replies are cut to half their length
  corrupt,           // replies have bytes overwritten (the outer length among them)
  other_source,      // replies leave from another loopback address (bit 23 flipped)
  duplicate,         // every reply is sent 1 + duplicate_copies times
};
inline constexpr std::size_t fault_count = 13;
using fault_mask = std::uint16_t;
constexpr fault_mask mask_of(fault f) noexcept {
  return static_cast<fault_mask>(1u << static_cast<unsigned>(f));
}
std::string_view to_string(fault f) noexcept;
std::optional<fault> fault_from_string(std::string_view name) noexcept;

struct fault_params {
  double loss = 0.0;                     // Default: 0. Every device drops this share of requests
                                         // (the network's loss), on top of `lossy`.
  double lossy_rate = 0.5;               // Default: 0.5. Share dropped by a `lossy` device.
  std::uint32_t slow_ms = 1500;          // Default: 1500 ms (real time) before a `slow` reply.
  std::uint32_t too_big_varbinds = 8;    // Default: 8 varbinds; more gives tooBig.
  std::uint32_t sleep_period_s = 3600;   // Default: 3600 simulated seconds per sleep cycle.
  std::uint32_t sleep_duration_s = 900;  // Default: 900 simulated seconds asleep per cycle.
  std::uint32_t duplicate_copies = 1;    // Default: 1 extra copy of each reply.
  std::uint32_t loop_back = 3;           // Default: 3 rows jumped back by `oid_loop`.
};

// Which devices get which fault: fraction[f] of the fleet, chosen by hashing (seed, f, device),
// so the same seed always picks the same devices. Parameters apply to every faulty device.
struct fault_plan {
  std::array<double, fault_count> fraction{};  // Default: all 0 (a healthy fleet).
  fault_params params;
};

// Parses "loss=0.1,dead=0.05,slow=0.01,slow_ms=800" (fault names give fractions 0..1; the keys
// loss, lossy_rate, slow_ms, too_big_varbinds, sleep_period_s, sleep_duration_s,
// duplicate_copies, loop_back set parameters). Updates only the keys given.
std::error_code parse_fault_plan(std::string_view text, fault_plan& plan, std::string& detail);
std::string describe(const fault_plan& plan);  // the same syntax, only non-default entries

// ---- options ---------------------------------------------------------------------------------

struct options {
  std::uint32_t devices = 1000;  // Default: 1000. At most 2^24 - 2 (127.0.0.0/8 has no more).
  // .snmprec files or folders of them (sorted by name; `name@Ctx` companions are merged into
  // `name`). Device i uses template i mod T. Default: empty = the built-in synthetic templates
  // (tests/fixtures/synthetic_*.snmprec compiled in, colour MFP first).
  std::vector<std::filesystem::path> templates;
  std::string base_address = "127.1.0.1";  // Default: 127.1.0.1 (device 0); must be in 127/8.
  std::uint16_t port = 1161;               // Default: 1161. 0 picks a free port (see port()).
  std::uint64_t seed = 7;                  // Default: 7.
  std::string community = "public";        // Default: "public"; any other gets silence.
  // Default: "office" (~100 pages/day, weekday working hours). "workgroup" (~1000/day) and
  // "static" (serves the templates exactly, nothing changes) also exist.
  std::string profile = "office";
  // Simulated time at start, Unix seconds. Default: 2026-01-05T09:00:00Z (a Monday morning).
  std::int64_t start_time = 1767603600;
  double acceleration = 1.0;              // Default: 1 (real time); 0 freezes the clock.
  fault_plan faults;                      // Default: none.
  unsigned threads = 1;                   // Default: 1 worker thread (all share one socket).
  std::size_t max_response_bytes = 1472;  // Default: 1472 (one Ethernet frame); 484..65507.
  std::size_t batch = 64;                 // Default: 64 datagrams per recvmmsg/sendmmsg.
  int receive_buffer_bytes = 8 << 20;     // Default: 8 MiB SO_RCVBUF(FORCE).
  bool bind_to_loopback_device = true;    // Default: true: SO_BINDTODEVICE "lo" when permitted.
  std::vector<int> cpus;                  // Default: empty (no pinning); worker i runs on
                                          // cpus[i % size] (benchmarks pin to one core).
};

// ---- counters --------------------------------------------------------------------------------

struct counters {
  std::uint64_t received = 0;         // datagrams read from the socket
  std::uint64_t answered = 0;         // requests that produced a reply (copies not counted)
  std::uint64_t sent = 0;             // datagrams sent (duplicates counted)
  std::uint64_t send_errors = 0;      // datagrams the kernel refused
  std::uint64_t not_device = 0;       // addressed to a 127/8 address that is not a device
  std::uint64_t not_loopback = 0;     // from or to an address outside 127/8
  std::uint64_t malformed = 0;        // not a well-formed v1/v2c GET/GETNEXT/GETBULK
  std::uint64_t oversize = 0;         // larger than the receive slot (4 KiB)
  std::uint64_t bad_community = 0;    // wrong community: silence
  std::uint64_t dropped_fault = 0;    // dead, lossy/loss, asleep, v1-only
  std::uint64_t delayed = 0;          // slow replies queued
  std::uint64_t delayed_dropped = 0;  // slow replies dropped because the delay queue was full
  std::uint64_t too_big = 0;          // tooBig answers (size limit or fault)
};

struct device_counters {
  std::uint32_t received = 0;  // requests addressed to the device (well-formed or not)
  std::uint32_t sent = 0;      // reply datagrams it sent (duplicates counted)
  std::uint32_t dropped = 0;   // requests it dropped because of a fault or a bad community
};

// ---- ground truth ------------------------------------------------------------------------------

// Field names follow codecs/schema/snapshot.fbs where the concepts match. Numbers are raw MIB
// values exactly as the device serves them at that moment.
struct supply_truth {
  std::uint32_t hr_device_index = 0, index = 0;
  std::int32_t type = 0, supply_class = 0, unit = 0;  // 0: column absent
  std::string description;                            // cleaned (normalize rules)
  std::optional<std::int32_t> max_capacity;           // absent: the template has no column
  std::int32_t level = 0;
  std::int64_t replacements = 0;  // cycles since installation
};
struct tray_truth {
  std::uint32_t hr_device_index = 0, index = 0;
  std::string name;
  std::optional<std::int32_t> max_capacity;
  std::int32_t current_level = 0;
  std::int64_t refills = 0;
};
struct marker_truth {
  std::uint32_t hr_device_index = 0, index = 0;
  std::optional<std::uint64_t> life_count, power_on_count;  // absent: the template has no column
};
struct alert_truth {
  std::uint32_t hr_device_index = 0, index = 0;
  std::int32_t severity = 0, training_level = 0, group = 0, group_index = 0, location = 0, code = 0;
  std::string description;
  std::uint32_t time_ticks = 0;
  std::int64_t added_at = 0;  // simulated Unix seconds
};
struct device_truth {
  std::uint32_t device = 0;
  std::string address;        // "127.1.0.1"
  std::string template_name;  // file stem
  std::int64_t sim_time = 0;  // simulated Unix seconds
  bool living = false;
  fault_mask faults = 0;
  bool asleep = false;
  bool answers = true;  // not dead and not asleep at that moment
  // Identity; empty / absent when the template has no such value.
  std::string sys_descr, sys_object_id, sys_name, serial, firmware, mac;
  std::optional<std::uint32_t> sys_uptime_ticks;
  // Life events (living profiles).
  std::int64_t installed_at = 0, board_installed_at = 0, booted_at = 0;
  std::uint32_t board_swaps = 0, firmware_updates = 0;
  std::int64_t pages = 0;  // printed since installation
  double pages_per_day = 0;
  // Status (absent when the template has no such row).
  std::optional<std::int32_t> hr_device_status, hr_printer_status;
  std::string detected_error_state;     // lower-case hex as served, empty when absent
  std::vector<std::string> conditions;  // PrinterCondition names of the served bits
  std::vector<marker_truth> markers;
  std::vector<supply_truth> supplies;  // every supply row with a level (live or fixed)
  std::vector<tray_truth> trays;
  std::vector<alert_truth> alerts;  // sorted by index
  device_counters counters;         // real counters at the time of the call
};

// ---- the fleet -------------------------------------------------------------------------------

class fleet {
 public:
  // Loads the templates and lays out the devices; opens no socket. Returns null and says why.
  static std::unique_ptr<fleet> create(const options& opts, std::string& why);
  ~fleet();  // stops
  fleet(const fleet&) = delete;
  fleet& operator=(const fleet&) = delete;

  // Binds the UDP socket and starts the worker threads. Errors: already_started, system errors
  // of socket/bind (EADDRINUSE ...), with a sentence in why.
  std::error_code start(std::string& why);
  // Stops the workers (an eventfd wakes them at once), drops replies still delayed by the
  // `slow` fault, and closes the socket. Idempotent; the counters stay readable.
  void stop();
  bool running() const noexcept;

  std::uint16_t port() const noexcept;  // the bound port (after start) or the configured one
  bool bound_to_loopback_device() const noexcept;  // SO_BINDTODEVICE "lo" took effect
  std::uint32_t size() const noexcept;
  const options& config() const noexcept;
  std::vector<std::string> template_names() const;
  // Lines the lenient .snmprec loader skipped ("file:line: skipped: ..."), for the operator.
  std::vector<std::string> load_warnings() const;
  std::string template_of(std::uint32_t device) const;
  std::string address_of(std::uint32_t device) const;  // dotted quad
  std::optional<std::uint32_t> device_at(std::string_view dotted_address) const;

  // Simulated time (Unix seconds, fractional) = time at the last set + elapsed real time x
  // acceleration.
  double sim_time() const;
  void set_time(double sim_unix_seconds);  // jumps; the clock keeps running
  void set_acceleration(double factor);    // from now on; 0 freezes

  // Faults of one device (replacing the seeded choice for it); params apply to it alone.
  // Errors: bad_option (no such device, or more than 65534 devices with their own params).
  std::error_code set_device_faults(std::uint32_t device, fault_mask faults,
                                    std::optional<fault_params> params = std::nullopt);
  fault_mask device_faults(std::uint32_t device) const;
  // Devices that have fault f, in index order (at most `limit`).
  std::vector<std::uint32_t> devices_with(fault f, std::size_t limit = SIZE_MAX) const;

  counters totals() const;
  device_counters counters_of(std::uint32_t device) const;

  // The true state of a device at a simulated moment (default: now).
  device_truth truth(std::uint32_t device, std::optional<double> at = std::nullopt) const;
  // One JSON object per line: a header line, then one line per device (docs/fleetsim.md).
  // Returns false when the stream failed.
  bool write_ground_truth(std::ostream& out, std::optional<double> at = std::nullopt) const;
  std::string truth_json(std::uint32_t device, std::optional<double> at = std::nullopt) const;

  // Memory held per device (exact allocation accounting) and for the shared templates.
  std::size_t device_memory_bytes() const noexcept;
  std::size_t template_memory_bytes() const noexcept;

  // "fleetsim: 1000 devices (3 templates) on 127.1.0.1-127.1.3.232 udp/1161 ..." (one line).
  std::string status_line() const;

  struct impl;

 private:
  explicit fleet(std::unique_ptr<impl> p);
  std::unique_ptr<impl> impl_;
};

// Unix seconds <-> "2026-01-05T09:00:00Z" (UTC, whole seconds). parse returns nullopt on error.
std::string format_time(double unix_seconds);
std::optional<double> parse_time(std::string_view text);

}  // namespace fleetpoll::fleetsim
