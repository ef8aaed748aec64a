// fleetpoll engine benchmark: full polls of a fleetsim fleet on this machine.
//
//   engine_bench [--devices N] [--templates DIR]... [--threads T] [--json FILE] [--no-faulty]
//                [--faults] [--faulty-retries R] [--faulty-budget B] [--waiting W]
//
// Runs, in one process and one run:
//   1. the loopback UDP ceiling (echo, both sides batching, 2,000 in flight, 2 s);
//   2. fleetsim (the program, its own process, one worker thread) serving N devices made from the
//      templates (default: the shared printer recordings), frozen clock;
//   3. a fresh engine (in this process) polling every device once for every data class ("cold":
//      nothing learned yet), then once more ("warm": shapes, versions, caps learned);
//   4. the faulty fleet (10 % loss, 5 % dead, 1 % slow) polled cold by a fresh engine: every live
//      device must be polled, and the cycle may grow by no more than the retry budget of the worst
//      device (worst_device_budget() below; the dead devices' budget is printed too, and which of
//      the two the growth stays under). `--faults` runs only the healthy cold cycle (the
//      baseline of the growth) and the faulty fleet.
// Prints a table and, with --json, writes the figures. Bounded: every cycle has a time limit;
// everything is on 127.0.0.0/8.
#include <CLI/CLI.hpp>

#include <cmath>
#include <filesystem>
#include <iostream>

#include <boost/asio/ip/udp.hpp>

#include "bench_support.hpp"
#include "fleetpoll/engine/engine.hpp"
#include "fleetpoll/fleetsim/fleetsim.hpp"

namespace fb = fleetpoll::bench;
namespace fe = fleetpoll::engine;
namespace sim = fleetpoll::fleetsim;
namespace asio = boost::asio;
using namespace std::chrono_literals;

namespace {

// Counts and discards what the engine produces (the figures are the engine's, not a sink's).
class counting_sink final : public fe::snapshot_sink {
 public:
  void on_poll(const fe::poll_record& r) override {
    polls.fetch_add(1, std::memory_order_relaxed);
    bytes.fetch_add(r.snapshot.size(), std::memory_order_relaxed);
  }
  void on_device_down(const fe::device_down_event&) override {}
  void on_device_up(const fe::device_up_event&) override {}
  std::atomic<std::uint64_t> polls{0}, bytes{0};
};

struct cycle_result {
  double seconds = 0;
  double cpu_seconds = 0;      // this process
  double sim_cpu_seconds = 0;  // fleetsim's process
  fe::engine_stats before, after;
  bool finished = false;
  std::uint64_t polls() const {
    return after.polls_complete + after.polls_partial - before.polls_complete -
           before.polls_partial;
  }
  std::uint64_t failed() const { return after.polls_failed - before.polls_failed; }
  std::uint64_t requests() const { return after.client.requests - before.client.requests; }
  std::uint64_t datagrams() const {
    return after.transport.datagrams_sent + after.transport.datagrams_received -
           before.transport.datagrams_sent - before.transport.datagrams_received;
  }
  std::uint64_t payload_bytes() const {
    return after.transport.bytes_sent + after.transport.bytes_received -
           before.transport.bytes_sent - before.transport.bytes_received;
  }
};

cycle_result run_cycle(fe::engine& e, pid_t sim_pid, std::chrono::seconds limit) {
  cycle_result c;
  c.before = e.stats();
  const double cpu0 = fb::process_cpu_seconds();
  const double sim0 = fb::cpu_seconds_of(sim_pid);
  const auto t0 = fb::clock::now();
  e.poll_all_now(fe::all_classes);
  c.finished = e.wait_idle(limit);
  c.seconds = fb::seconds_since(t0);
  c.cpu_seconds = fb::process_cpu_seconds() - cpu0;
  c.sim_cpu_seconds = fb::cpu_seconds_of(sim_pid) - sim0;
  c.after = e.stats();
  return c;
}

fe::engine_options bench_engine(unsigned threads, std::size_t concurrency) {
  fe::engine_options eo;
  eo.threads = threads;
  eo.max_concurrent_polls = concurrency;
  eo.schedule.enabled = false;
  // Loopback: no packet caps (the rate limiter still runs, with nothing to hold back), a 200 ms
  // first timeout (the default 1 s is for real networks), the default retries and backoff.
  eo.client.rate.global_pps = 0;
  eo.client.rate.subnet_pps = 0;
  eo.client.rate.device_min_gap = 0us;
  eo.client.rtt.initial = 200ms;
  eo.client.transport.receive_buffer_bytes = 32 << 20;
  eo.client.bind_v4 = {asio::ip::address_v4::loopback(), 0};
  return eo;
}

// The longest a device's poll of the faulty fleet can spend waiting on attempts that time out
// (jitter at its top), for the engine options `eo` and slow devices answering after `slow`.
struct retry_budgets {
  double dead = 0;   // a dead device: every attempt of its first request, then one SNMPv1 try
  double worst = 0;  // the largest any device can get (dead, or slow and lossy)
};
retry_budgets worst_device_budget(const fe::engine_options& eo, std::chrono::milliseconds slow) {
  using secs = std::chrono::duration<double>;
  const auto& c = eo.client;
  const double up = 1 + c.jitter;
  const double initial = secs(c.rtt.initial).count();
  const double cap = secs(std::max(c.rtt.max, c.rtt.min)).count();
  const int budget = std::max(0, eo.walk.retry_budget);
  auto wait = [&](double base, int k) {
    const double f = std::pow(c.backoff, k);
    return std::min(base * f, cap * f) * up;
  };
  retry_budgets b;
  // Dead: the first request's attempts (retries capped by the poll's budget), no round trip
  // measured, then the one-attempt v1 probe (walker.hpp).
  for (int k = 0; k <= std::min(c.retries, budget); ++k) b.dead += wait(initial, k);
  b.dead += wait(initial, 0);
  // Slow and lossy: the first attempt of its first request times out at the initial timeout
  // (the reply comes later); its first round trip then sets the adaptive timeout to
  // srtt + 4 rttvar = 3 x the round trip (rtt_estimator.hpp), and every retransmission of the
  // poll's budget can follow a lost attempt whose wait keeps backing off (a re-asked request
  // continues the backoff, walker.hpp: exponent at most 6 + retries).
  const double slow_timeout = std::clamp(3 * secs(slow).count(), secs(c.rtt.min).count(), cap);
  double live = wait(initial, 0);
  for (int k = 0; k + 1 < budget; ++k) live += wait(slow_timeout, std::min(k, 6 + c.retries));
  b.worst = std::max(b.dead, live);
  return b;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"fleetpoll engine benchmark against fleetsim (loopback only)"};
  std::uint32_t devices = 100000;
  std::vector<std::string> templates;
  unsigned threads = 1;
  std::string json_path;
  bool no_faulty = false;
  unsigned limit_s = 180;
  std::size_t concurrency = 1024;
  int faulty_retries = 4;
  int faulty_budget = fe::walk_options{}.retry_budget;
  std::size_t waiting = 0;
  bool faults_only = false;
  app.add_option("--devices", devices, "Fleet size")->capture_default_str();
  app.add_option("--templates", templates,
                 "Template recordings (default: the shared printer recordings)");
  app.add_option("--threads", threads, "Engine polling threads (fleetsim gets one)")
      ->capture_default_str();
  app.add_option("--json", json_path, "Write the figures as JSON to this file");
  app.add_flag("--no-faulty", no_faulty, "Skip the faulty-fleet run");
  app.add_option("--faulty-retries", faulty_retries, "Retries per request in the faulty-fleet run")
      ->capture_default_str();
  app.add_option("--faulty-budget", faulty_budget,
                 "Retransmissions per poll (all requests) in the faulty-fleet run")
      ->capture_default_str();
  app.add_option("--waiting", waiting,
                 "Polls that may wait on a retransmission outside a slot (0 = 8 per slot)")
      ->capture_default_str();
  app.add_flag("--faults", faults_only,
               "Run only the healthy cold cycle (the baseline) and the faulty fleet");
  app.add_option("--concurrency", concurrency, "Poll slots (polls doing work at once)")
      ->capture_default_str();
  app.add_option("--time-limit", limit_s, "Seconds each cycle may take at most")
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  if (faults_only && no_faulty) {
    std::cerr << "--faults and --no-faulty exclude each other\n";
    return 2;
  }
  if (templates.empty()) templates.push_back(FLEETPOLL_FIXTURES_DIR);
  const std::string fleetsim_binary = FLEETSIM_BINARY;
  const auto limit = std::chrono::seconds(limit_s);

  if (!faults_only)
    std::cout << "measuring the loopback UDP ceiling (echo, 2,000 in flight, 2 s) ...\n"
              << std::flush;
  const double ceiling = faults_only ? 0.0 : fb::udp_echo_ceiling();

  // ---- the healthy fleet ----------------------------------------------------------------
  auto fleet = fb::start_fleetsim(fleetsim_binary, devices, templates, "");
  if (!fleet) return 1;
  std::cout << fleet->sim->output().substr(0, fleet->sim->output().find('\n')) << "\n";
  const std::uint64_t rss_base = fb::rss_bytes();
  counting_sink sink;
  auto healthy_options = bench_engine(threads, concurrency);
  healthy_options.max_waiting_polls = waiting;
  auto eng = std::make_unique<fe::engine>(healthy_options, sink);
  for (std::uint32_t i = 0; i < devices; ++i)
    eng->add_target(
        {asio::ip::udp::endpoint(asio::ip::make_address(fb::address_of(i)), fleet->port)});
  if (auto ec = eng->start()) {
    std::cerr << "engine: " << ec.message() << "\n";
    return 1;
  }
  std::cout << "cold full poll of " << devices << " devices ...\n" << std::flush;
  const auto cold = run_cycle(*eng, fleet->sim->pid(), limit);
  cycle_result warm;
  if (!faults_only) {
    std::cout << "warm full poll ...\n" << std::flush;
    warm = run_cycle(*eng, fleet->sim->pid(), limit);
  }
  const std::uint64_t rss_after = fb::rss_bytes();
  const auto warm_stats = eng->stats();
  eng->stop(1s);
  eng.reset();
  fleet->sim->stop();

  // ---- the faulty fleet -----------------------------------------------------------------
  const std::string fault_spec = "loss=0.1,dead=0.05,slow=0.01,slow_ms=500";
  cycle_result faulty;
  std::uint64_t live = 0, dead = 0;
  retry_budgets budgets;
  if (!no_faulty) {
    // Which devices are dead: fleetsim's seeded choice, from the library (no socket opened).
    sim::options so;
    so.devices = devices;
    for (const auto& t : templates) so.templates.emplace_back(t);
    std::string why;
    sim::parse_fault_plan(fault_spec, so.faults, why);
    auto truth = sim::fleet::create(so, why);
    dead = truth ? truth->devices_with(sim::fault::dead).size() : 0;
    live = devices - dead;
    auto ffleet = fb::start_fleetsim(fleetsim_binary, devices, templates, fault_spec);
    if (!ffleet) return 1;
    // On a network losing 10 % of packets, 2 retries (the default) leave about one live device
    // in 10,000 silent to all of its first attempts (v2c x3 + one v1): `--faulty-retries`
    // (default 4) is what an operator of such a network configures.
    auto eo = bench_engine(threads, concurrency);
    eo.client.retries = faulty_retries;
    eo.walk.retry_budget = faulty_budget;
    eo.max_waiting_polls = waiting;
    counting_sink fsink;
    fe::engine fe_eng(eo, fsink);
    for (std::uint32_t i = 0; i < devices; ++i)
      fe_eng.add_target(
          {asio::ip::udp::endpoint(asio::ip::make_address(fb::address_of(i)), ffleet->port)});
    fe_eng.start();
    std::cout << "faulty full poll (" << fault_spec << ") ...\n" << std::flush;
    faulty = run_cycle(fe_eng, ffleet->sim->pid(), limit);
    fe_eng.stop(1s);
    ffleet->sim->stop();
    budgets = worst_device_budget(eo, so.faults.params.slow_ms * 1ms);
  }

  // ---- figures --------------------------------------------------------------------------
  auto per_device = [&](double v) { return v / static_cast<double>(devices); };
  const double cold_rate = static_cast<double>(cold.polls()) / cold.seconds;
  const double warm_rate = static_cast<double>(warm.polls()) / warm.seconds;
  const double cold_rps = static_cast<double>(cold.requests()) / cold.seconds;
  const double warm_rps = static_cast<double>(warm.requests()) / warm.seconds;
  const double cold_bytes = per_device(static_cast<double>(cold.payload_bytes()));
  const double warm_bytes = per_device(static_cast<double>(warm.payload_bytes()));
  const double cold_wire =
      per_device(static_cast<double>(cold.payload_bytes() + 28 * cold.datagrams()));
  const double warm_wire =
      per_device(static_cast<double>(warm.payload_bytes() + 28 * warm.datagrams()));
  const double rss_per_device = per_device(static_cast<double>(rss_after - rss_base));
  const double rss_total_per_device = per_device(static_cast<double>(rss_after));
  auto q = [](const fe::latency_histogram& h, double p) {
    return static_cast<double>(h.quantile(p).count()) / 1000.0;
  };

  if (faults_only) {
    std::printf("\nhealthy cold cycle (the baseline): %.1f s, %.0f printers/s, %llu failed\n",
                cold.seconds, cold_rate, static_cast<unsigned long long>(cold.failed()));
  } else {
    std::printf("\n%-44s %14s %14s\n", "", "cold poll", "warm poll");
    std::printf("%-44s %14.0f %14.0f\n", "printers/s (target >= 10,000)", cold_rate, warm_rate);
    std::printf("%-44s %14.1f %14.1f\n", "full-fleet poll time, s", cold.seconds, warm.seconds);
    std::printf("%-44s %14.0f %14.0f\n", "requests/s", cold_rps, warm_rps);
    std::printf("%-44s %14.3f %14.3f\n", "  ... as a fraction of the UDP ceiling",
                cold_rps / ceiling, warm_rps / ceiling);
    std::printf("%-44s %14.2f %14.2f\n", "requests per printer",
                per_device(static_cast<double>(cold.requests())),
                per_device(static_cast<double>(warm.requests())));
    std::printf("%-44s %14.0f %14.0f\n", "bytes/printer, UDP payload", cold_bytes, warm_bytes);
    std::printf("%-44s %14.0f %14.0f\n", "bytes/printer, with IPv4+UDP headers (<=3000)", cold_wire,
                warm_wire);
    std::printf("%-44s %14.1f %14.1f\n", "engine CPU-us per printer poll",
                1e6 * cold.cpu_seconds / static_cast<double>(cold.polls()),
                1e6 * warm.cpu_seconds / static_cast<double>(warm.polls()));
    std::printf("%-44s %14.1f %14.1f\n", "fleetsim CPU-us per printer poll",
                1e6 * cold.sim_cpu_seconds / static_cast<double>(cold.polls()),
                1e6 * warm.sim_cpu_seconds / static_cast<double>(warm.polls()));
    std::printf("%-44s %14.2f %14s\n", "request latency p50, ms (both cycles)",
                q(warm_stats.request_latency, 0.5), "");
    std::printf("%-44s %14.2f %14s\n", "request latency p99, ms (both cycles)",
                q(warm_stats.request_latency, 0.99), "");
    std::printf("%-44s %14llu %14llu\n", "polls failed / partial",
                static_cast<unsigned long long>(cold.failed()),
                static_cast<unsigned long long>(warm.failed()));
    std::printf("%-44s %14.0f\n", "loopback UDP ceiling, round trips/s", ceiling);
    std::printf("%-44s %14.0f\n", "resident memory per device (RSS growth), B", rss_per_device);
    std::printf("%-44s %14.0f\n", "resident memory per device (whole RSS), B",
                rss_total_per_device);
    std::printf("%-44s %14zu\n", "per-device record, B", warm_stats.device_record_bytes);
    {
      const auto& c = warm_stats.client;
      const auto& t = warm_stats.transport;
      std::printf(
          "client: %llu requests, %llu ok, %llu timeouts, %llu retries, drops: %llu late %llu dup "
          "%llu unknown %llu malformed; "
          "transport: %llu overflows %llu truncated %llu send errors, %.1f datagrams per sendmmsg, "
          "%.1f per recvmmsg\n",
          static_cast<unsigned long long>(c.requests),
          static_cast<unsigned long long>(c.completed_ok),
          static_cast<unsigned long long>(c.timeouts), static_cast<unsigned long long>(c.retries),
          static_cast<unsigned long long>(c.drop_late),
          static_cast<unsigned long long>(c.drop_duplicate),
          static_cast<unsigned long long>(c.drop_unknown_request),
          static_cast<unsigned long long>(c.drop_malformed),
          static_cast<unsigned long long>(t.receive_overflows),
          static_cast<unsigned long long>(t.truncated),
          static_cast<unsigned long long>(t.send_errors),
          static_cast<double>(t.datagrams_sent) /
              static_cast<double>(std::max<std::uint64_t>(1, t.send_calls)),
          static_cast<double>(t.datagrams_received) /
              static_cast<double>(std::max<std::uint64_t>(1, t.receive_calls)));
    }
  }
  const double growth = faulty.seconds - cold.seconds;
  if (!no_faulty) {
    std::printf(
        "\nfaulty fleet (%s), %d retries per request, %d per poll, %zu poll slots, %s waiting: "
        "%llu live, %llu dead\n",
        fault_spec.c_str(), faulty_retries, faulty_budget, concurrency,
        waiting ? std::to_string(waiting).c_str() : "8 per slot",
        static_cast<unsigned long long>(live), static_cast<unsigned long long>(dead));
    std::printf("%-44s %14llu\n", "live devices polled",
                static_cast<unsigned long long>(faulty.polls()));
    std::printf("%-44s %14llu\n", "failed polls (= dead devices)",
                static_cast<unsigned long long>(faulty.failed()));
    std::printf("%-44s %14.1f\n", "cycle time, s", faulty.seconds);
    std::printf("%-44s %14.1f\n", "growth over the healthy cold cycle, s", growth);
    std::printf("%-44s %14.1f\n", "retry budget of the worst device, s", budgets.worst);
    std::printf("%-44s %14.1f\n", "retry budget of a dead device, s", budgets.dead);
    std::printf("%-44s %14llu\n", "retries",
                static_cast<unsigned long long>(faulty.after.client.retries));
    const auto& a = faulty.after;
    std::printf("%-44s %14llu\n", "polls that left their slot to wait",
                static_cast<unsigned long long>(a.slot_releases));
    std::printf("%-44s %14llu\n", "answered polls queued for a slot",
                static_cast<unsigned long long>(a.polls_parked));
    std::printf("%-44s %14llu\n", "peak polls in slots",
                static_cast<unsigned long long>(a.peak_polls_in_slots));
    std::printf("%-44s %14llu\n", "peak polls waiting outside a slot",
                static_cast<unsigned long long>(a.peak_polls_waiting));
    const auto& pl = faulty.after.poll_latency;
    std::printf("%-44s %14.1f\n", "live poll duration p99, s",
                static_cast<double>(pl.quantile(0.99).count()) / 1e6);
    std::printf("%-44s %14.1f\n", "longest live poll, s (bucket top, +9 %)",
                static_cast<double>(pl.quantile(1.0).count()) / 1e6);
    std::printf("%-44s %14.1f\n", "engine CPU s (this process)", faulty.cpu_seconds);
    std::printf(
        "every live device polled: %s; growth %.1f s %s the worst device's budget "
        "(%.1f s) and %s the dead devices' (%.1f s)\n",
        faulty.polls() == live ? "met" : "NOT met", growth,
        growth <= budgets.worst ? "is within" : "EXCEEDS", budgets.worst,
        growth <= budgets.dead ? "is within" : "exceeds", budgets.dead);
  }
  const bool faulty_ok = no_faulty || (faulty.polls() == live && growth <= budgets.worst);

  if (!json_path.empty()) {
    fb::json_object j;
    j.add("devices", devices);
    j.add("engine_threads", threads);
    j.add("udp_ceiling_rtt_per_s", ceiling);
    auto cycle_json = [&](const cycle_result& c) {
      fb::json_object o;
      o.add("seconds", c.seconds);
      o.add("printers_per_s", static_cast<double>(c.polls()) / c.seconds);
      o.add("polls", static_cast<double>(c.polls()));
      o.add("failed", static_cast<double>(c.failed()));
      o.add("requests_per_s", static_cast<double>(c.requests()) / c.seconds);
      o.add("requests_fraction_of_ceiling",
            static_cast<double>(c.requests()) / c.seconds / ceiling);
      o.add("requests_per_printer", per_device(static_cast<double>(c.requests())));
      o.add("payload_bytes_per_printer", per_device(static_cast<double>(c.payload_bytes())));
      o.add("wire_bytes_per_printer",
            per_device(static_cast<double>(c.payload_bytes() + 28 * c.datagrams())));
      o.add("engine_cpu_us_per_poll",
            1e6 * c.cpu_seconds / static_cast<double>(std::max<std::uint64_t>(1, c.polls())));
      o.add("fleetsim_cpu_us_per_poll",
            1e6 * c.sim_cpu_seconds / static_cast<double>(std::max<std::uint64_t>(1, c.polls())));
      return o.str();
    };
    j.add_raw("cold", cycle_json(cold));
    if (!faults_only) j.add_raw("warm", cycle_json(warm));
    j.add("request_latency_p50_ms", q(warm_stats.request_latency, 0.5));
    j.add("request_latency_p99_ms", q(warm_stats.request_latency, 0.99));
    j.add("rss_growth_per_device_bytes", rss_per_device);
    j.add("rss_total_per_device_bytes", rss_total_per_device);
    j.add("device_record_bytes", static_cast<double>(warm_stats.device_record_bytes));
    if (!no_faulty) {
      fb::json_object f;
      f.add("spec", fault_spec);
      f.add("retries", static_cast<double>(faulty_retries));
      f.add("poll_retry_budget", static_cast<double>(faulty_budget));
      f.add("poll_slots", static_cast<double>(concurrency));
      f.add("max_waiting_polls", static_cast<double>(waiting));
      f.add("slot_releases", static_cast<double>(faulty.after.slot_releases));
      f.add("polls_parked", static_cast<double>(faulty.after.polls_parked));
      f.add("peak_polls_in_slots", static_cast<double>(faulty.after.peak_polls_in_slots));
      f.add("peak_polls_waiting", static_cast<double>(faulty.after.peak_polls_waiting));
      f.add("engine_cpu_seconds", faulty.cpu_seconds);
      f.add("live_poll_p99_seconds",
            static_cast<double>(faulty.after.poll_latency.quantile(0.99).count()) / 1e6);
      f.add("longest_live_poll_seconds",
            static_cast<double>(faulty.after.poll_latency.quantile(1.0).count()) / 1e6);
      f.add("live", static_cast<double>(live));
      f.add("dead", static_cast<double>(dead));
      f.add("polled", static_cast<double>(faulty.polls()));
      f.add("failed", static_cast<double>(faulty.failed()));
      f.add("seconds", faulty.seconds);
      f.add("growth_seconds", growth);
      f.add("worst_retry_budget_seconds", budgets.worst);
      f.add("dead_retry_budget_seconds", budgets.dead);
      f.add("every_live_device_polled", faulty.polls() == live ? 1.0 : 0.0);
      j.add_raw("faulty", f.str());
    }
    std::ofstream out(json_path);
    out << j.str() << "\n";
  }
  return cold.finished && (faults_only || warm.finished) && faulty_ok ? 0 : 1;
}
