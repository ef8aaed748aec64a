// engine_metrics vocabulary, the /proc parsers and the process collector, without the network.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <map>
#include <set>
#include <string>

#include <prometheus/registry.h>

#include "fleetpoll/metrics/engine_metrics.hpp"
#include "fleetpoll/metrics/error.hpp"
#include "fleetpoll/metrics/process_collector.hpp"

namespace fleetpoll::metrics {
namespace {

// name -> value of every single-series gauge/counter family in `families`.
std::map<std::string, double> values(const std::vector<prometheus::MetricFamily>& families) {
  std::map<std::string, double> out;
  for (const auto& f : families) {
    if (f.metric.size() != 1) continue;
    out[f.name] = f.type == prometheus::MetricType::Counter ? f.metric[0].counter.value
                                                            : f.metric[0].gauge.value;
  }
  return out;
}

const prometheus::MetricFamily* find(const std::vector<prometheus::MetricFamily>& families,
                                     const std::string& name) {
  for (const auto& f : families)
    if (f.name == name) return &f;
  return nullptr;
}

// ---- /proc parsers ----------------------------------------------------------------------------

TEST(ParseProcStat, CommandWithSpacesAndParenthesesIsSkipped) {
  // Fields 3..24; utime=111 stime=22 num_threads=5 starttime=98765.
  const std::string text =
      "4242 (my (odd) cmd) S 1 4242 4242 0 -1 4194560 900 0 0 0 111 22 0 0 20 0 5 0 98765 "
      "123456789 2048 18446744073709551615\n";
  const auto s = parse_proc_stat(text);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->utime_ticks, 111u);
  EXPECT_EQ(s->stime_ticks, 22u);
  EXPECT_EQ(s->num_threads, 5u);
  EXPECT_EQ(s->starttime_ticks, 98765u);
}

TEST(ParseProcStat, TruncatedOrNonNumericLineIsRejected) {
  EXPECT_FALSE(parse_proc_stat("4242 (cmd) S 1 4242 4242 0 -1 4194560 900 0 0 0 111 22"));
  EXPECT_FALSE(parse_proc_stat("4242 cmd S 1 2 3"));  // no ')'
  EXPECT_FALSE(parse_proc_stat(
      "1 (c) S 1 1 1 0 -1 0 0 0 0 0 x 22 0 0 20 0 5 0 98765 1 2 3\n"));  // utime not a number
  EXPECT_FALSE(parse_proc_stat(""));
}

TEST(ParseProcStatm, ReadsSizeAndResidentPages) {
  const auto s = parse_proc_statm("5123 812 400 10 0 700 0\n");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->size_pages, 5123u);
  EXPECT_EQ(s->resident_pages, 812u);
  EXPECT_FALSE(parse_proc_statm("5123\n"));
  EXPECT_FALSE(parse_proc_statm("a b\n"));
}

TEST(ParseBootTime, FindsBtimeLineAmongOthers) {
  EXPECT_EQ(parse_boot_time("cpu  1 2 3\nintr 5\nbtime 1700000000\nprocesses 9\n"),
            std::optional<std::uint64_t>(1700000000u));
  EXPECT_FALSE(parse_boot_time("cpu 1 2 3\nprocesses 9\n"));
  EXPECT_FALSE(parse_boot_time("btime soon\n"));
}

// ---- process_collector ------------------------------------------------------------------------

TEST(ProcessCollector, ReportsPlausibleValuesForThisProcess) {
  const process_collector collector;
  const auto families = collector.Collect();
  const auto v = values(families);
  for (const char* name : {"process_cpu_seconds_total", "process_resident_memory_bytes",
                           "process_virtual_memory_bytes", "process_open_fds",
                           "process_start_time_seconds", "process_threads"}) {
    ASSERT_EQ(v.count(name), 1u) << name;
  }
  EXPECT_GE(v.at("process_cpu_seconds_total"), 0.0);
  EXPECT_GT(v.at("process_resident_memory_bytes"), 0.0);
  EXPECT_GE(v.at("process_virtual_memory_bytes"), v.at("process_resident_memory_bytes"));
  EXPECT_GE(v.at("process_threads"), 1.0);
  const double now =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  EXPECT_LE(v.at("process_start_time_seconds"), now + 1);     // ticks round; allow 1 s
  EXPECT_GT(v.at("process_start_time_seconds"), now - 3600);  // this test binary just started
  EXPECT_EQ(find(families, "process_cpu_seconds_total")->type, prometheus::MetricType::Counter);
}

TEST(ProcessCollector, OpenFdsCountsAFileOpenedBetweenScrapes) {
  const process_collector collector;
  const double before = values(collector.Collect()).at("process_open_fds");
  const int fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  const double during = values(collector.Collect()).at("process_open_fds");
  ::close(fd);
  EXPECT_EQ(during, before + 1);
}

// ---- engine_metrics ---------------------------------------------------------------------------

TEST(EngineMetrics, EveryBoundedLabelValueExistsAtZeroFromTheStart) {
  prometheus::Registry registry;
  const engine_metrics m(registry, "9.9.9");
  const auto families = registry.Collect();
  const std::map<std::string, std::size_t> series = {
      {"fleetpoll_snmp_requests_total", request_result_count},
      {"fleetpoll_snmp_retries_total", 1},
      {"fleetpoll_snmp_requests_in_flight", 1},
      {"fleetpoll_poll_duration_seconds", data_class_count},
      {"fleetpoll_devices", device_state_count},
      {"fleetpoll_discovery_targets_total", 1},
      {"fleetpoll_discovery_probed_total", 1},
      {"fleetpoll_discovery_printers_found_total", 1},
      {"fleetpoll_walker_errors_total", walker_error_count},
      {"fleetpoll_rate_limiter_waits_total", limiter_scope_count},
      {"fleetpoll_socket_drops_total", drop_reason_count},
      {"fleetpoll_scheduler_lag_seconds", 1},
      {"fleetpoll_polls_total", poll_result_count},
      {"fleetpoll_polls_in_progress", 1},
      {"fleetpoll_scheduler_queued_devices", 1},
      {"fleetpoll_polls_waiting_retry", 1},
      {"fleetpoll_snmp_bytes_total", direction_count},
      {"fleetpoll_snmp_datagrams_total", direction_count},
      {"fleetpoll_device_transitions_total", transition_count},
      {"fleetpoll_discovery_responders_total", 1},
      {"fleetpoll_build_info", 1},
  };
  EXPECT_EQ(families.size(), series.size());
  for (const auto& [name, count] : series) {
    const auto* f = find(families, name);
    ASSERT_NE(f, nullptr) << name;
    EXPECT_EQ(f->metric.size(), count) << name;
    EXPECT_FALSE(f->help.empty()) << name;
    for (const auto& s : f->metric) {
      EXPECT_EQ(s.counter.value + s.gauge.value + static_cast<double>(s.histogram.sample_count),
                name == "fleetpoll_build_info" ? 1.0 : 0.0)
          << name;
    }
  }
  EXPECT_EQ(find(families, "fleetpoll_build_info")->metric[0].label.at(0).value, "9.9.9");
}

TEST(EngineMetrics, EachAccessorUpdatesOnlyItsOwnSeries) {
  prometheus::Registry registry;
  const engine_metrics m(registry);
  m.walker_errors(walker_error::too_big).Increment();
  m.rate_limiter_waits(limiter_scope::subnet).Increment(2);
  const auto families = registry.Collect();
  const auto* walker = find(families, "fleetpoll_walker_errors_total");
  ASSERT_NE(walker, nullptr);
  double total = 0;
  for (const auto& s : walker->metric) {
    total += s.counter.value;
    if (s.label.at(0).value == "too_big") {
      EXPECT_EQ(s.counter.value, 1.0);
    }
  }
  EXPECT_EQ(total, 1.0);
  EXPECT_EQ(m.rate_limiter_waits(limiter_scope::subnet).Value(), 2.0);
  EXPECT_EQ(m.rate_limiter_waits(limiter_scope::device).Value(), 0.0);
}

TEST(EngineMetrics, TwoInstancesOnOneRegistryShareTheirSeries) {
  prometheus::Registry registry;
  const engine_metrics a(registry);
  const engine_metrics b(registry);
  a.retries().Increment();
  EXPECT_EQ(&a.retries(), &b.retries());
  EXPECT_EQ(b.retries().Value(), 1.0);
  const auto families = registry.Collect();
  const auto* drops = find(families, "fleetpoll_socket_drops_total");
  ASSERT_NE(drops, nullptr);
  EXPECT_EQ(drops->metric.size(), drop_reason_count);
}

TEST(EngineMetrics, LabelValuesAreDistinctSnakeCase) {
  std::set<std::string> seen;
  auto check = [&](const char* v) {
    const std::string s(v);
    EXPECT_NE(s, "unknown");
    EXPECT_EQ(s.find_first_not_of("abcdefghijklmnopqrstuvwxyz_"), std::string::npos) << s;
    seen.insert(s);
  };
  for (std::size_t i = 0; i < request_result_count; ++i)
    check(label(static_cast<request_result>(i)));
  for (std::size_t i = 0; i < drop_reason_count; ++i) check(label(static_cast<drop_reason>(i)));
  EXPECT_EQ(seen.size(), request_result_count + drop_reason_count);
  EXPECT_STREQ(label(device_state::never_seen), "never_seen");
  EXPECT_STREQ(label(walker_error::out_of_order), "out_of_order");
}

TEST(MetricsError, CodesHaveTheModuleCategoryAndMessages) {
  const std::error_code ec = error::duplicate_route;
  EXPECT_STREQ(ec.category().name(), "fleetpoll.metrics");
  EXPECT_EQ(ec.message(), "route path already registered");
  EXPECT_FALSE(std::error_code(error::ok));
}

}  // namespace
}  // namespace fleetpoll::metrics
