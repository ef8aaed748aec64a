// uplink_bench — the uplink's speed and weight through a local prosody (loopback only).
//
//   uplink_bench [--json FILE] [--records N] [--latency-seconds S] [--printers P]
//   [--counter-minutes M] [--max-delay-ms D]
//
// 1. Throughput: N change records (default 300,000) waiting in the outbox are sent over the
//    default pool (2 connections, 64 KiB batches, window 8) to a receiver in this process that
//    verifies, decrypts, writes JSON lines (fsync per batch, the default) and acknowledges.
//    Figure: records/s from the first send to the last acknowledgement.
// 2. Latency: 1,000 changes/s appended for S seconds (default 15); for each record, the time from
//    its append to the receiver writing it. Figures: p50, p99, max.
// 3. Bytes per printer per day: one workday of the modelled office stream (office_profile.hpp)
//    for P printers (default 1,000; counter polls every M minutes, default 20), batched as the
//    sender's defaults batch it (every record within 1 s, at most 64 KiB), and again with the
//    economy setting (routine kinds wait up to 15 min, urgent ones as set by --max-delay-ms),
//    each batch sent through the real pipeline via a byte-counting HTTP CONNECT proxy: every byte
//    the site uploads (TLS records, XMPP framing, stream-management acks) is counted. Keep-alives
//    of idle connections are added from the schedule (one <r/> per idle minute per connection).
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <mutex>
#include <thread>

#include "change_records.hpp"
#include "connect_proxy.hpp"
#include "fake_outbox.hpp"
#include "fleetpoll/uplink/receiver.hpp"
#include "fleetpoll/uplink/sender.hpp"
#include "io_thread.hpp"
#include "office_profile.hpp"
#include "uplink_env.hpp"

using namespace fleetpoll::uplink;
using namespace fleetpoll::uplink::test;
using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

namespace {

std::uint64_t now_ms() {
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                        std::chrono::system_clock::now().time_since_epoch())
                                        .count());
}

std::string mixed_record(std::uint64_t seq) {
  using fleetpoll::schema::ChangeKind;
  static const ChangeKind kinds[] = {ChangeKind::counter_delta, ChangeKind::supply_level,
                                     ChangeKind::counter_delta, ChangeKind::alert_raised,
                                     ChangeKind::status_changed};
  return make_change_record(seq, seq % 5000, kinds[seq % 5], now_ms(), seq);
}

sender_options production_defaults(const uplink_env& env) {
  sender_options s;  // library defaults, pointed at the local prosody
  s.xmpp = env.account("site", env.site_password());
  s.receiver_jid = "provider@localhost";
  s.site = "acme-hq";
  return s;
}

receiver_options receiver_defaults(const uplink_env& env, const std::string& out) {
  receiver_options r = env.receiver_opts(out);
  r.sync = std::getenv("UPLINK_BENCH_NO_SYNC") ==
           nullptr;  // the default (true); the test helper turns it off
  return r;
}

struct figures {
  double throughput_rps = 0, throughput_seconds = 0;
  std::uint64_t throughput_records = 0, throughput_batches = 0;
  double p50_ms = 0, p99_ms = 0, max_ms = 0, lone_urgent_ms = 0;
  std::uint64_t latency_records = 0;
  std::uint32_t printers = 0;
  std::uint64_t day_records = 0, day_batches = 0, day_bytes_up = 0, day_bytes_down = 0,
                keepalive_bytes = 0;
  double bytes_per_printer_day = 0, records_per_printer_day = 0;
};

bool throughput(uplink_env& env, std::uint64_t n, figures& f) {
  std::string out = env.dir() + "/throughput.jsonl";
  io_thread recv_io, send_io;
  receiver rcv(recv_io.io, receiver_defaults(env, out));
  if (rcv.start()) return false;
  wait_until([&] { return rcv.counters().ready.load(); }, 10s);
  fake_outbox outbox;
  std::vector<std::pair<std::string, std::uint64_t>> batch;
  for (std::uint64_t s = 1; s <= n; ++s) batch.emplace_back(mixed_record(s), 0);
  outbox.append_many(std::move(batch));
  sender snd(send_io.io, outbox, env.keys(), production_defaults(env));
  auto t0 = clock_type::now();
  if (snd.start()) return false;
  bool ok = wait_until([&] { return outbox.depth() == 0; }, 120s);
  double secs = std::chrono::duration<double>(clock_type::now() - t0).count();
  snd.stop();
  rcv.stop();
  f.throughput_records = rcv.counters().records_written;
  f.throughput_seconds = secs;
  f.throughput_rps = static_cast<double>(f.throughput_records) / secs;
  f.throughput_batches = snd.counters().batches_acknowledged;
  return ok && f.throughput_records == n;
}

bool latency(uplink_env& env, int seconds, figures& f) {
  std::string out = env.dir() + "/latency.jsonl";
  io_thread recv_io, send_io;
  receiver rcv(recv_io.io, receiver_defaults(env, out));
  std::mutex mu;
  std::vector<double> lat;
  const std::uint64_t total = static_cast<std::uint64_t>(seconds) * 1000;
  rcv.set_record_hook([&](std::string_view, const outbox_record& r) {
    if (r.seq > total) return;  // the tail that keeps the stream going is not measured
    double ms = static_cast<double>(now_ms() - r.created_ms);
    std::lock_guard lock(mu);
    lat.push_back(ms);
  });
  if (rcv.start()) return false;
  fake_outbox outbox;
  sender snd(send_io.io, outbox, env.keys(), production_defaults(env));
  if (snd.start()) return false;
  wait_until([&] { return snd.counters().receiver_available.load(); }, 10s);
  // Steady state: the stream goes on for 2 s after the measured records, so the last of them
  // travel in batches sealed like all the others (a stream that stops is the pause case below).
  const std::uint64_t produced = total + 2000;
  auto t0 = clock_type::now();
  for (std::uint64_t i = 0; i < produced; ++i) {
    std::this_thread::sleep_until(t0 + std::chrono::microseconds(i * 1000));  // 1,000 changes/s
    outbox.append(mixed_record(i + 1));
  }
  bool ok = wait_until([&] { return outbox.depth() == 0; }, 30s);
  // The pause case: after the stream stops, one urgent record alone.
  std::this_thread::sleep_for(200ms);  // a pause in the stream: what this figure is about
  std::uint64_t before = outbox.last_seq();
  outbox.append(
      make_change_record(before + 1, 1, fleetpoll::schema::ChangeKind::alert_raised, now_ms(), 1));
  auto t1 = clock_type::now();
  ok = ok && wait_until([&] { return outbox.depth() == 0; }, 10s);
  f.lone_urgent_ms = std::chrono::duration<double, std::milli>(clock_type::now() - t1).count();
  snd.stop();
  rcv.stop();
  std::lock_guard lock(mu);
  if (lat.empty()) return false;
  if (std::getenv("UPLINK_BENCH_DUMP") != nullptr)
    for (std::size_t i = 0; i < lat.size(); i += 50)
      std::fprintf(stderr, "lat[%zu]=%.0f\n", i, lat[i]);
  std::sort(lat.begin(), lat.end());
  auto pct = [&](double p) {
    return lat[std::min(lat.size() - 1,
                        static_cast<std::size_t>(p * static_cast<double>(lat.size())))];
  };
  f.latency_records = lat.size();
  f.p50_ms = pct(0.50);
  f.p99_ms = pct(0.99);
  f.max_ms = lat.back();
  return ok;
}

bool bytes_per_day(uplink_env& env, std::uint32_t printers, std::uint32_t counter_minutes,
                   long max_delay_ms, long routine_delay_ms, figures& f) {
  auto day = fleetpoll::uplink::bench::office_day(printers, counter_minutes);
  sender_options opts = production_defaults(env);
  if (max_delay_ms >= 0) opts.max_delay = std::chrono::milliseconds(max_delay_ms);
  if (routine_delay_ms >= 0) opts.routine_delay = std::chrono::milliseconds(routine_delay_ms);
  // Group the day's records as the sender's rule does: a batch is sealed when its earliest
  // deadline (urgent: +max_delay, routine: +routine_delay) passes, or when it is full.
  struct group {
    std::uint64_t sealed_at;
    std::vector<std::size_t> members;
  };
  std::vector<group> groups;
  group cur{0, {}};
  std::uint64_t deadline = UINT64_MAX, bytes = 0;
  auto seal = [&](std::uint64_t at) {
    if (cur.members.empty()) return;
    cur.sealed_at = at;
    groups.push_back(std::move(cur));
    cur = group{0, {}};
    deadline = UINT64_MAX;
    bytes = 0;
  };
  for (std::size_t i = 0; i < day.size(); ++i) {
    if (day[i].at_ms >= deadline) seal(deadline);
    cur.members.push_back(i);
    bytes += day[i].bytes.size();
    auto delay =
        static_cast<std::uint64_t>((day[i].urgent ? opts.max_delay : opts.routine_delay).count());
    deadline = std::min(deadline, day[i].at_ms + delay);
    if (bytes >= opts.max_batch_bytes) seal(day[i].at_ms);
  }
  seal(deadline);

  connect_proxy proxy;
  opts.xmpp.proxy = proxy.address();
  // A receiver of its own per pass (its ledger would take the second pass for a replay).
  std::string out = env.dir() + "/office-" + std::to_string(routine_delay_ms) + ".jsonl";
  io_thread recv_io, send_io;
  receiver rcv(recv_io.io, receiver_defaults(env, out));
  if (rcv.start()) return false;
  fake_outbox outbox;
  sender snd(send_io.io, outbox, env.keys(), opts);
  if (snd.start()) return false;
  if (!wait_until([&] { return snd.counters().receiver_available.load(); }, 10s)) return false;
  // Log-in traffic is not steady state: count from here.
  wait_until([&] { return snd.counters().connections_ready == opts.pool_size; }, 10s);
  std::this_thread::sleep_for(200ms);  // let the log-in exchange (presence, roster) settle
  std::uint64_t up0 = proxy.bytes_up(), down0 = proxy.bytes_down();
  std::uint64_t base = now_ms() - 3'600'000;  // created an hour ago: due at once, one batch each
  for (const auto& g : groups) {
    std::vector<std::pair<std::string, std::uint64_t>> recs;
    for (std::size_t i : g.members) recs.emplace_back(day[i].bytes, base);
    // Each group is one batch: wait until the sender has sealed and sent it (not until it is
    // acknowledged, which would serialise the day on the receiver's disk syncs), so the next
    // group cannot join it; the window keeps up to 16 batches in flight per connection.
    const std::uint64_t sent = snd.counters().batches_sent.load();
    outbox.append_many(std::move(recs));
    if (!wait_until([&] { return snd.counters().batches_sent.load() > sent; }, 10s)) return false;
  }
  if (!wait_until([&] { return outbox.depth() == 0; }, 60s)) return false;
  // Stream-management acks of the last batches.
  std::this_thread::sleep_for(200ms);
  f.day_bytes_up = proxy.bytes_up() - up0;
  f.day_bytes_down = proxy.bytes_down() - down0;
  f.day_batches = snd.counters().batches_acknowledged;
  snd.stop();
  rcv.stop();
  // Keep-alives: one "<r xmlns='urn:xmpp:sm:3'/>" (26 bytes + 22 bytes of TLS 1.3 record) per
  // keepalive interval a connection spends idle (batches alternate over the pool). The
  // compressed run above sends no keep-alives of its own, and its SM acks are counted as sent.
  const std::uint64_t ka_ms = static_cast<std::uint64_t>(opts.xmpp.keepalive_interval.count());
  std::vector<std::uint64_t> last(opts.pool_size, 0);
  std::uint64_t pings = 0;
  for (std::size_t i = 0; i < groups.size(); ++i) {
    auto& l = last[i % opts.pool_size];
    pings += (groups[i].sealed_at - std::min(groups[i].sealed_at, l)) / ka_ms;
    l = groups[i].sealed_at;
  }
  for (auto l : last)
    pings += (24 * 3'600'000 - std::min<std::uint64_t>(l, 24 * 3'600'000)) / ka_ms;
  f.keepalive_bytes = pings * 48;
  f.printers = printers;
  f.day_records = day.size();
  f.records_per_printer_day = static_cast<double>(day.size()) / printers;
  f.bytes_per_printer_day = static_cast<double>(f.day_bytes_up + f.keepalive_bytes) / printers;
  return rcv.counters().records_written == day.size();
}

}  // namespace

int main(int argc, char** argv) {
  std::string json;
  std::uint64_t records = 300'000;
  int seconds = 15;
  std::uint32_t printers = 1000;
  std::uint32_t counter_minutes = 20;
  long max_delay_ms = -1;  // -1: the library default
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--json" && i + 1 < argc)
      json = argv[++i];
    else if (a == "--records" && i + 1 < argc)
      records = std::stoull(argv[++i]);
    else if (a == "--latency-seconds" && i + 1 < argc)
      seconds = std::stoi(argv[++i]);
    else if (a == "--printers" && i + 1 < argc)
      printers = static_cast<std::uint32_t>(std::stoul(argv[++i]));
    else if (a == "--max-delay-ms" && i + 1 < argc)
      max_delay_ms = std::stol(argv[++i]);
    else if (a == "--counter-minutes" && i + 1 < argc)
      counter_minutes = static_cast<std::uint32_t>(std::stoul(argv[++i]));
    else {
      std::fprintf(stderr,
                   "usage: uplink_bench [--json FILE] [--records N] [--latency-seconds S] "
                   "[--printers P] [--counter-minutes M] [--max-delay-ms D]\n");
      return a == "--help" || a == "-h" ? 0 : 2;
    }
  }
  records = std::clamp<std::uint64_t>(records, 1000, 5'000'000);
  seconds = std::clamp(seconds, 1, 120);
  printers = std::clamp<std::uint32_t>(printers, 1, 100'000);
  uplink_env env;
  if (auto e = env.setup(); !e.empty()) {
    std::fprintf(stderr, "uplink_bench: prosody set-up failed: %s\n", e.c_str());
    return 1;
  }
  figures f;
  std::fprintf(stderr, "uplink_bench: throughput (%llu records)...\n",
               static_cast<unsigned long long>(records));
  bool t_ok = throughput(env, records, f);
  std::printf(
      "throughput: %llu records in %.2f s over %llu batches = %.0f records/s (pool 2, 64 KiB "
      "batches)%s\n",
      static_cast<unsigned long long>(f.throughput_records), f.throughput_seconds,
      static_cast<unsigned long long>(f.throughput_batches), f.throughput_rps,
      t_ok ? "" : "  [INCOMPLETE]");
  std::fprintf(stderr, "uplink_bench: latency (1,000 changes/s for %d s)...\n", seconds);
  bool l_ok = latency(env, seconds, f);
  std::printf(
      "latency at 1,000 changes/s: %llu records, p50 %.0f ms, p99 %.0f ms, max %.0f ms; a lone "
      "urgent record "
      "after a pause: %.0f ms (append to acknowledgement)%s\n",
      static_cast<unsigned long long>(f.latency_records), f.p50_ms, f.p99_ms, f.max_ms,
      f.lone_urgent_ms, l_ok ? "" : "  [INCOMPLETE]");
  // The office day twice in the same run: the defaults (every record sealed within 1 s) and the
  // economy setting (routine kinds wait up to 15 min; urgent ones per --max-delay-ms).
  figures fe;
  bool b_ok = true;
  for (int pass = 0; pass < 2; ++pass) {
    figures& ff = pass == 0 ? f : fe;
    const char* name =
        pass == 0 ? "defaults (all kinds within 1 s)" : "economy (routine kinds within 15 min)";
    std::fprintf(stderr, "uplink_bench: office day (%u printers), %s...\n", printers, name);
    bool ok = bytes_per_day(env, printers, counter_minutes, pass == 0 ? -1 : max_delay_ms,
                            pass == 0 ? -1 : 900'000, ff);
    b_ok = b_ok && ok;
    std::printf(
        "office day, %u printers, %s: %llu records (%.1f per printer), %llu batches, %llu bytes "
        "up + %llu keep-alive bytes = %.0f bytes per printer per day (down: %llu bytes)%s\n",
        printers, name, static_cast<unsigned long long>(ff.day_records), ff.records_per_printer_day,
        static_cast<unsigned long long>(ff.day_batches),
        static_cast<unsigned long long>(ff.day_bytes_up),
        static_cast<unsigned long long>(ff.keepalive_bytes), ff.bytes_per_printer_day,
        static_cast<unsigned long long>(ff.day_bytes_down), ok ? "" : "  [INCOMPLETE]");
  }
  if (!json.empty()) {
    std::ofstream o(json);
    o << "{\"throughput_records_per_s\":" << f.throughput_rps
      << ",\"throughput_records\":" << f.throughput_records
      << ",\"throughput_seconds\":" << f.throughput_seconds
      << ",\"throughput_batches\":" << f.throughput_batches << ",\"latency_p50_ms\":" << f.p50_ms
      << ",\"latency_p99_ms\":" << f.p99_ms << ",\"latency_max_ms\":" << f.max_ms
      << ",\"latency_records\":" << f.latency_records << ",\"lone_urgent_ms\":" << f.lone_urgent_ms
      << ",\"office_printers\":" << f.printers << ",\"office_records\":" << f.day_records
      << ",\"office_batches\":" << f.day_batches << ",\"office_bytes_up\":" << f.day_bytes_up
      << ",\"office_keepalive_bytes\":" << f.keepalive_bytes
      << ",\"office_bytes_down\":" << f.day_bytes_down
      << ",\"bytes_per_printer_per_day\":" << f.bytes_per_printer_day
      << ",\"economy_batches\":" << fe.day_batches
      << ",\"economy_bytes_per_printer_per_day\":" << fe.bytes_per_printer_day
      << ",\"complete\":" << (t_ok && l_ok && b_ok ? "true" : "false") << "}\n";
  }
  return t_ok && l_ok && b_ok ? 0 : 1;
}
