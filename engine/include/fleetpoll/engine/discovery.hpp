// fleetpoll::engine::discovery — a rate-limited SNMP sweep that finds the printers.
//
// Every address of the given targets (addresses, CIDR ranges, host names resolved
// asynchronously while the sweep runs) gets one probe packet: a GETNEXT of sysDescr,
// sysObjectID, the Printer-MIB (1.3.6.1.2.1.43) and hrDeviceType. Silence moves on to the next
// (version, community) combination after `timeout` (versions outer, communities inner: with the
// defaults a silent address costs two packets, v2c then v1). An answer classifies the address:
//   printer  — the Printer-MIB answers (an OID below 1.3.6.1.2.1.43), or an hrDeviceTable row
//              has hrDeviceType = hrDevicePrinter (rows after the first are fetched as needed);
//   other    — SNMP answers but neither holds (switches, hosts, scanners, print servers alone).
// Packets pass a rate limiter (global and per-subnet caps); at most `max_in_flight` addresses
// are probed at once.
//
// The sweep ends when every address has been probed, when the time limit passes, or when
// cancel() is called (from any thread or a signal handler's io_context): it then sends nothing
// new, lets the probes in flight finish (each within its timeout) and reports what it found
// (report::interrupted / timed_out). A second cancel() abandons the probes in flight too.
//
// Thread safety: run() blocks the calling thread; cancel() and progress() may be called from any
// thread meanwhile.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <boost/asio/ip/udp.hpp>

#include "fleetpoll/engine/config.hpp"
#include "fleetpoll/engine/targets.hpp"

namespace fleetpoll::metrics {
class engine_metrics;
}

namespace fleetpoll::engine {

struct discovered_device {
  boost::asio::ip::udp::endpoint address;
  codecs::snmp_version version = codecs::snmp_version::v2c;
  std::size_t community_index = 0;  // into discovery_options::communities
  bool printer = false;
  std::string reason;  // "Printer-MIB", "hrDevicePrinter", or what was missing
  std::string sys_descr;
  std::string sys_object_id;
};

struct discovery_progress {
  std::uint64_t total = 0;       // addresses known so far (host names add up as they resolve)
  std::uint64_t probed = 0;      // finished (answered or silent on every combination)
  std::uint64_t responders = 0;  // answered SNMP
  std::uint64_t printers = 0;
  std::uint64_t packets = 0;  // probe datagrams sent
  std::chrono::milliseconds elapsed{0};
};

struct discovery_report {
  std::vector<discovered_device> printers;  // in address order
  std::vector<discovered_device> others;    // SNMP responders that are not printers
  std::vector<std::string> unresolved;      // host names that did not resolve, with the reason
  discovery_progress progress;
  bool interrupted = false;  // cancel() ended it early
  bool timed_out = false;    // the time limit ended it early
};

class discovery {
 public:
  using progress_fn = std::function<void(const discovery_progress&)>;

  explicit discovery(discovery_options options, metrics::engine_metrics* metrics = nullptr);
  ~discovery();
  discovery(const discovery&) = delete;
  discovery& operator=(const discovery&) = delete;

  // Sweeps `targets` (ports: a spec's own, else options.port). `on_progress` runs on this thread
  // every `progress_every` and once at the end. Errors: socket errors (the report is empty).
  std::error_code run(const std::vector<target_spec>& targets, discovery_report& report,
                      const progress_fn& on_progress = {},
                      std::chrono::milliseconds progress_every = std::chrono::milliseconds{200});

  // Ends the sweep early (see above). Safe from any thread.
  void cancel() noexcept;

  struct impl;

 private:
  std::unique_ptr<impl> impl_;
};

// Writes the printers as a targets file (targets.hpp format) with a comment header; the
// community column is filled only when more than one community was tried (the file is then
// written with mode 0600). Returns false and sets `error` when the file cannot be written.
bool save_targets(const std::string& path, const discovery_report& report,
                  const discovery_options& options, std::string& error);

}  // namespace fleetpoll::engine
