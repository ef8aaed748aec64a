#include "fleetpoll/metrics/process_collector.hpp"

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <array>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <utility>

namespace fleetpoll::metrics {
namespace {

// Splits `text` on spaces/newlines into at most N tokens.
template <std::size_t N>
std::size_t split(std::string_view text, std::array<std::string_view, N>& out) noexcept {
  std::size_t n = 0;
  std::size_t i = 0;
  while (n < N) {
    while (i < text.size() && (text[i] == ' ' || text[i] == '\n' || text[i] == '\t')) ++i;
    if (i >= text.size()) break;
    const std::size_t start = i;
    while (i < text.size() && text[i] != ' ' && text[i] != '\n' && text[i] != '\t') ++i;
    out[n++] = text.substr(start, i - start);
  }
  return n;
}

bool to_u64(std::string_view s, std::uint64_t& out) noexcept {
  if (s.empty()) return false;
  const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc{} && ptr == s.data() + s.size();
}

// Reads a small /proc file whole; empty on failure. /proc files report size 0, so read in a loop.
std::string slurp(const char* path) {
  std::string text;
  std::FILE* f = std::fopen(path, "re");
  if (f == nullptr) return text;
  std::array<char, 4096> buf{};
  std::size_t n = 0;
  while ((n = std::fread(buf.data(), 1, buf.size(), f)) > 0) text.append(buf.data(), n);
  std::fclose(f);
  return text;
}

std::optional<std::uint64_t> count_open_fds() {
  DIR* dir = ::opendir("/proc/self/fd");
  if (dir == nullptr) return std::nullopt;
  const std::string own = std::to_string(::dirfd(dir));
  std::uint64_t count = 0;
  while (const dirent* e = ::readdir(dir)) {
    const std::string_view name = e->d_name;
    if (name == "." || name == ".." || name == own) continue;  // not the fd we read them with
    ++count;
  }
  ::closedir(dir);
  return count;
}

prometheus::MetricFamily single(std::string name, std::string help, prometheus::MetricType type,
                                double value) {
  prometheus::MetricFamily f;
  f.name = std::move(name);
  f.help = std::move(help);
  f.type = type;
  prometheus::ClientMetric m;
  if (type == prometheus::MetricType::Counter) {
    m.counter.value = value;
  } else {
    m.gauge.value = value;
  }
  f.metric.push_back(std::move(m));
  return f;
}

}  // namespace

std::optional<proc_stat> parse_proc_stat(std::string_view text) noexcept {
  const auto close = text.rfind(')');
  if (close == std::string_view::npos) return std::nullopt;
  std::array<std::string_view, 22> t{};  // fields 3..24
  if (split(text.substr(close + 1), t) < 20) return std::nullopt;
  proc_stat s;
  if (!to_u64(t[11], s.utime_ticks) || !to_u64(t[12], s.stime_ticks) ||
      !to_u64(t[17], s.num_threads) || !to_u64(t[19], s.starttime_ticks))
    return std::nullopt;
  return s;
}

std::optional<proc_statm> parse_proc_statm(std::string_view text) noexcept {
  std::array<std::string_view, 2> t{};
  if (split(text, t) < 2) return std::nullopt;
  proc_statm s;
  if (!to_u64(t[0], s.size_pages) || !to_u64(t[1], s.resident_pages)) return std::nullopt;
  return s;
}

std::optional<std::uint64_t> parse_boot_time(std::string_view text) noexcept {
  std::size_t pos = 0;
  while (pos < text.size()) {
    auto end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view line = text.substr(pos, end - pos);
    if (line.substr(0, 6) == "btime ") {
      std::uint64_t v = 0;
      std::string_view num = line.substr(6);
      while (!num.empty() && num.back() == ' ') num.remove_suffix(1);
      if (to_u64(num, v)) return v;
      return std::nullopt;
    }
    pos = end + 1;
  }
  return std::nullopt;
}

process_collector::process_collector()
    : ticks_per_second_(static_cast<double>(::sysconf(_SC_CLK_TCK))),
      page_size_(static_cast<double>(::sysconf(_SC_PAGESIZE))),
      boot_time_(parse_boot_time(slurp("/proc/stat"))) {
  if (ticks_per_second_ <= 0) ticks_per_second_ = 100;  // Linux USER_HZ
  if (page_size_ <= 0) page_size_ = 4096;
}

std::vector<prometheus::MetricFamily> process_collector::Collect() const {
  using prometheus::MetricType;
  std::vector<prometheus::MetricFamily> out;
  out.reserve(7);
  if (const auto st = parse_proc_stat(slurp("/proc/self/stat"))) {
    out.push_back(
        single("process_cpu_seconds_total", "Total user and system CPU time spent in seconds.",
               MetricType::Counter,
               static_cast<double>(st->utime_ticks + st->stime_ticks) / ticks_per_second_));
    if (boot_time_) {
      out.push_back(single("process_start_time_seconds",
                           "Start time of the process since unix epoch in seconds.",
                           MetricType::Gauge,
                           static_cast<double>(*boot_time_) +
                               static_cast<double>(st->starttime_ticks) / ticks_per_second_));
    }
    out.push_back(single("process_threads", "Number of OS threads in the process.",
                         MetricType::Gauge, static_cast<double>(st->num_threads)));
  }
  if (const auto sm = parse_proc_statm(slurp("/proc/self/statm"))) {
    out.push_back(single("process_resident_memory_bytes", "Resident memory size in bytes.",
                         MetricType::Gauge, static_cast<double>(sm->resident_pages) * page_size_));
    out.push_back(single("process_virtual_memory_bytes", "Virtual memory size in bytes.",
                         MetricType::Gauge, static_cast<double>(sm->size_pages) * page_size_));
  }
  if (const auto fds = count_open_fds()) {
    out.push_back(single("process_open_fds", "Number of open file descriptors.", MetricType::Gauge,
                         static_cast<double>(*fds)));
  }
  rlimit lim{};
  if (::getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur != RLIM_INFINITY) {
    out.push_back(single("process_max_fds", "Maximum number of open file descriptors.",
                         MetricType::Gauge, static_cast<double>(lim.rlim_cur)));
  }
  return out;
}

}  // namespace fleetpoll::metrics
