// fleetpoll::metrics::process_collector — the standard process_* metrics for this process.
//
// A prometheus::Collectable that reads /proc at scrape time (nothing runs between scrapes) and
// reports, under the names every Prometheus client library uses:
//   process_cpu_seconds_total      counter  user + system CPU time
//   process_resident_memory_bytes  gauge    resident set size
//   process_virtual_memory_bytes   gauge    virtual memory size
//   process_open_fds               gauge    open file descriptors
//   process_max_fds                gauge    soft RLIMIT_NOFILE
//   process_start_time_seconds     gauge    start time, seconds since the Unix epoch
//   process_threads                gauge    OS threads
// A value whose /proc file cannot be read or parsed is left out of that scrape rather than
// reported as 0. Linux only.
//
// Thread safety: Collect() is const, keeps no mutable state and may run on any thread,
// concurrently. Ownership: none; register it with http_server::add_collectable().
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>

namespace fleetpoll::metrics {

// Fields of /proc/<pid>/stat that the collector uses (proc(5) field numbers in comments).
struct proc_stat {
  std::uint64_t utime_ticks = 0;      // (14) user CPU, clock ticks
  std::uint64_t stime_ticks = 0;      // (15) system CPU, clock ticks
  std::uint64_t num_threads = 0;      // (20)
  std::uint64_t starttime_ticks = 0;  // (22) start, clock ticks after boot
};

// Parses the text of /proc/<pid>/stat. The command name (field 2) may hold spaces and ')';
// parsing resumes after its last ')'. No I/O. nullopt when a needed field is missing or not a
// number.
std::optional<proc_stat> parse_proc_stat(std::string_view text) noexcept;

// Fields of /proc/<pid>/statm (sizes in pages).
struct proc_statm {
  std::uint64_t size_pages = 0;      // total program size (virtual memory)
  std::uint64_t resident_pages = 0;  // resident set size
};

// Parses the text of /proc/<pid>/statm. No I/O.
std::optional<proc_statm> parse_proc_statm(std::string_view text) noexcept;

// Parses the "btime <seconds>" line of /proc/stat (boot time, seconds since the epoch). No I/O.
std::optional<std::uint64_t> parse_boot_time(std::string_view proc_stat_text) noexcept;

class process_collector final : public prometheus::Collectable {
 public:
  // Reads the clock tick rate, page size and boot time once.
  process_collector();

  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  double ticks_per_second_;
  double page_size_;
  std::optional<std::uint64_t> boot_time_;
};

}  // namespace fleetpoll::metrics
