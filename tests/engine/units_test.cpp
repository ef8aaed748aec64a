// Pure units of the engine: rate limiter (GCRA), RTT estimator, timing wheel, latency histogram,
// log limiter, target parsing.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>

#include "fleetpoll/engine/latency_histogram.hpp"
#include "fleetpoll/engine/log_limiter.hpp"
#include "fleetpoll/engine/rate_limiter.hpp"
#include "fleetpoll/engine/rtt_estimator.hpp"
#include "fleetpoll/engine/targets.hpp"
#include "fleetpoll/engine/timing_wheel.hpp"

namespace fleetpoll::engine {
namespace {

using namespace std::chrono_literals;
using clock = rate_limiter::clock;
namespace ip = boost::asio::ip;

ip::address v4(const char* s) {
  return ip::make_address(s);
}

// ---- rate limiter -------------------------------------------------------------------------------

TEST(RateLimiter, GlobalCapLetsABurstThroughThenSpacesPacketsByOneInterval) {
  rate_limits l;
  l.global_pps = 1000;  // 1 ms apart
  l.subnet_pps = 0;
  l.device_min_gap = 0us;
  l.burst = 5;
  rate_limiter r(l);
  const auto t0 = clock::now();
  std::vector<clock::time_point> at;
  for (int i = 0; i < 20; ++i) at.push_back(r.reserve(v4("127.0.0.1"), {}, t0).at);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(at[static_cast<std::size_t>(i)], t0) << i;
  for (int i = 5; i < 20; ++i) {
    const auto gap = at[static_cast<std::size_t>(i)] - at[static_cast<std::size_t>(i) - 1];
    EXPECT_NEAR(std::chrono::duration<double>(gap).count(), 0.001, 1e-6) << i;
  }
  // Over any window W at most burst + W*pps packets.
  EXPECT_LE(at[19] - t0, 15ms);
  EXPECT_GE(at[19] - t0, 15ms - 1us);
}

TEST(RateLimiter, BurstOfOneMeansNoBurst) {
  rate_limits l;
  l.global_pps = 100;
  l.subnet_pps = 0;
  l.device_min_gap = 0us;
  l.burst = 1;
  rate_limiter r(l);
  const auto t0 = clock::now();
  EXPECT_EQ(r.reserve(v4("127.0.0.1"), {}, t0).at, t0);
  const auto second = r.reserve(v4("127.0.0.1"), {}, t0);
  EXPECT_EQ(second.at - t0, 10ms);
  EXPECT_EQ(second.reason, rate_limiter::bound_by::global);
}

TEST(RateLimiter, SubnetCapIsPerSlash24AndDoesNotSlowOtherSubnets) {
  rate_limits l;
  l.global_pps = 0;
  l.subnet_pps = 10;  // 100 ms apart
  l.device_min_gap = 0us;
  l.burst = 1;
  rate_limiter r(l);
  const auto t0 = clock::now();
  EXPECT_EQ(r.reserve(v4("127.1.0.1"), {}, t0).at, t0);
  const auto same = r.reserve(v4("127.1.0.200"), {}, t0);  // same /24
  EXPECT_EQ(same.at - t0, 100ms);
  EXPECT_EQ(same.reason, rate_limiter::bound_by::subnet);
  EXPECT_EQ(r.reserve(v4("127.1.1.1"), {}, t0).at, t0);  // another /24: free
  EXPECT_EQ(r.subnet_count(), 2u);
  EXPECT_EQ(rate_limiter::subnet_key(v4("10.1.2.3")), rate_limiter::subnet_key(v4("10.1.2.250")));
  EXPECT_NE(rate_limiter::subnet_key(v4("10.1.2.3")), rate_limiter::subnet_key(v4("10.1.3.3")));
  EXPECT_EQ(rate_limiter::subnet_key(v4("2001:db8::1")),
            rate_limiter::subnet_key(v4("2001:db8::ffff:1")));
  EXPECT_NE(rate_limiter::subnet_key(v4("2001:db8:0:1::1")),
            rate_limiter::subnet_key(v4("2001:db8:0:2::1")));
}

TEST(RateLimiter, DeviceGapFollowsTheDevicesLastPacket) {
  rate_limits l;
  l.global_pps = 0;
  l.subnet_pps = 0;
  l.device_min_gap = 20ms;
  rate_limiter r(l);
  const auto t0 = clock::now();
  const auto res = r.reserve(v4("127.0.0.1"), t0 - 5ms, t0);
  EXPECT_EQ(res.at, t0 + 15ms);
  EXPECT_EQ(res.reason, rate_limiter::bound_by::device);
  EXPECT_EQ(r.reserve(v4("127.0.0.1"), t0 - 50ms, t0).at, t0);
  EXPECT_EQ(r.reserve(v4("127.0.0.1"), {}, t0).reason, rate_limiter::bound_by::none);
}

// ---- RTT estimator ---------------------------------------------------------------------------

TEST(RttEstimator, InitialTimeoutUntilASampleThenSrttPlusFourVarClamped) {
  rtt_limits l;
  l.initial = 1s;
  l.min = 50ms;
  l.max = 5s;
  rtt_estimator e;
  EXPECT_EQ(e.timeout(l), 1s);
  e.add_sample(100ms);  // srtt 100, var 50 -> 300
  EXPECT_EQ(e.timeout(l), 300ms);
  for (int i = 0; i < 50; ++i) e.add_sample(100ms);
  EXPECT_LT(e.timeout(l), 110ms);
  EXPECT_GE(e.timeout(l), 100ms);
  for (int i = 0; i < 50; ++i) e.add_sample(1ms);
  EXPECT_EQ(e.timeout(l), 50ms);  // clamped to min
  for (int i = 0; i < 50; ++i) e.add_sample(20s);
  EXPECT_EQ(e.timeout(l), 5s);  // clamped to max
  e.add_sample(-1ms);           // ignored
  EXPECT_EQ(sizeof(rtt_estimator), 12u);
}

// ---- timing wheel ---------------------------------------------------------------------------

TEST(TimingWheel, FiresEachIdOnceAtItsTickInclusiveOfFarFutureAndPast) {
  timing_wheel w(16);
  w.reserve(10);
  w.schedule(1, 5);
  w.schedule(2, 5);
  w.schedule(3, 40);  // beyond one turn (16 slots)
  w.schedule(4, 3);
  w.schedule(4, 7);  // moved
  std::map<std::uint32_t, std::uint32_t> fired;
  auto record = [&](std::uint32_t id, std::uint32_t due) {
    EXPECT_TRUE(fired.emplace(id, due).second);
  };
  w.advance(4, record);
  EXPECT_TRUE(fired.empty());
  w.advance(6, record);
  EXPECT_EQ(fired, (std::map<std::uint32_t, std::uint32_t>{{1, 5}, {2, 5}}));
  w.advance(30, record);
  EXPECT_EQ(fired.count(4), 1u);
  EXPECT_EQ(fired.count(3), 0u);  // its slot came round at 24, but it is due at 40
  w.advance(41, record);
  EXPECT_EQ(fired.count(3), 1u);
  EXPECT_EQ(w.size(), 0u);
  w.schedule(5, 2);  // in the past: next advance
  w.advance(41, record);
  EXPECT_EQ(fired.count(5), 1u);
}

TEST(TimingWheel, CallbackMayRescheduleAndCancel) {
  timing_wheel w(8);
  w.reserve(3);
  w.schedule(0, 1);
  w.schedule(1, 1);
  w.schedule(2, 1);
  int calls = 0;
  w.advance(1, [&](std::uint32_t id, std::uint32_t) {
    ++calls;
    if (id == 0) {
      w.schedule(0, 3);
      w.cancel(2);  // already fired in this round: no effect
    }
  });
  EXPECT_EQ(calls, 3);
  EXPECT_TRUE(w.scheduled(0));
  EXPECT_FALSE(w.scheduled(1));
  w.cancel(0);
  EXPECT_EQ(w.size(), 0u);
}

TEST(TimingWheel, HundredThousandIdsSpreadOverAnIntervalFireExactlyOnce) {
  timing_wheel w(4096);
  const std::uint32_t n = 100000;
  w.reserve(n);
  for (std::uint32_t i = 0; i < n; ++i) w.schedule(i, (i * 7919u) % 18000u);  // 180 s at 10 ms
  std::vector<int> count(n, 0);
  std::uint32_t late = 0;
  for (std::uint32_t t = 0; t <= 18000; t += 3)
    w.advance(t, [&](std::uint32_t id, std::uint32_t due) {
      ++count[id];
      if (t - due > 3) ++late;
    });
  EXPECT_TRUE(std::all_of(count.begin(), count.end(), [](int c) { return c == 1; }));
  EXPECT_EQ(late, 0u);
}

// ---- latency histogram, log limiter ----------------------------------------------------------

TEST(LatencyHistogram, QuantilesWithinOneBucket) {
  latency_histogram h;
  for (int i = 1; i <= 1000; ++i) h.add(std::chrono::microseconds(i * 100));  // 0.1 .. 100 ms
  EXPECT_EQ(h.count(), 1000u);
  const double p50 = static_cast<double>(h.quantile(0.5).count());
  const double p99 = static_cast<double>(h.quantile(0.99).count());
  EXPECT_GE(p50, 50000.0);
  EXPECT_LE(p50, 50000.0 * 1.1);
  EXPECT_GE(p99, 99000.0);
  EXPECT_LE(p99, 99000.0 * 1.1);
  latency_histogram other;
  other.add(std::chrono::microseconds(3));
  other.merge(h);
  EXPECT_EQ(other.count(), 1001u);
  EXPECT_EQ(latency_histogram{}.quantile(0.5).count(), 0);
}

TEST(LogLimiter, AllowsABurstPerWindowAndReportsWhatItHeldBack) {
  log_limiter l(3, std::chrono::seconds(10));
  const auto t0 = log_limiter::clock::now();
  std::uint64_t suppressed = 0;
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(l.allow(suppressed, t0));
  for (int i = 0; i < 5; ++i) EXPECT_FALSE(l.allow(suppressed, t0));
  EXPECT_TRUE(l.allow(suppressed, t0 + std::chrono::seconds(11)));
  EXPECT_EQ(suppressed, 5u);
}

// ---- targets ------------------------------------------------------------------------------------

TEST(Targets, ParsesAddressesRangesHostsAndPorts) {
  std::string why;
  auto a = parse_target_spec("127.1.0.5:1161", why);
  ASSERT_TRUE(a) << why;
  EXPECT_EQ(a->k, target_spec::kind::address);
  EXPECT_EQ(*a->port, 1161);
  auto r = parse_target_spec("127.1.0.0/16", why);
  ASSERT_TRUE(r) << why;
  EXPECT_EQ(r->k, target_spec::kind::range);
  EXPECT_EQ(address_count(*r), 65534u);
  EXPECT_EQ(nth_address(*r, 0).to_string(), "127.1.0.1");
  EXPECT_EQ(nth_address(*r, 65533).to_string(), "127.1.255.254");
  auto r6 = parse_target_spec("[::1/127]:161", why);
  ASSERT_TRUE(r6) << why;
  EXPECT_EQ(address_count(*r6), 2u);
  auto v6 = parse_target_spec("[::1]:1161", why);
  ASSERT_TRUE(v6) << why;
  EXPECT_TRUE(v6->address.is_v6());
  auto bare6 = parse_target_spec("2001:db8::7", why);
  ASSERT_TRUE(bare6) << why;
  EXPECT_FALSE(bare6->port);
  auto h = parse_target_spec("printer-3.example.com:1161", why);
  ASSERT_TRUE(h) << why;
  EXPECT_EQ(h->k, target_spec::kind::host);
  EXPECT_EQ(h->host, "printer-3.example.com");
  std::vector<std::string> all;
  for_each_address(*parse_target_spec("127.9.0.0/30", why), [&](const ip::address& x) {
    all.push_back(x.to_string());
    return true;
  });
  EXPECT_EQ(all, (std::vector<std::string>{"127.9.0.1", "127.9.0.2"}));
}

TEST(Targets, RejectsNonsenseWithAReason) {
  for (const char* bad : {"", "127.0.0.1:0", "127.0.0.1:70000", "127.0.0.0/33", "10.0.0.0/8",
                          "[::1", "bad_host!", "-lead.example", "1.2.3.4/x", "a..b"}) {
    std::string why;
    EXPECT_FALSE(parse_target_spec(bad, why)) << bad;
    EXPECT_FALSE(why.empty()) << bad;
  }
}

TEST(Targets, FileWithHeaderCommentsVersionsAndCommunities) {
  const auto r = parse_targets_file(
      "# written by "
      "discover\naddress,port,version,community\n127.1.0.5,1161,2c,\n\n127.1.0.6,,1,other\n"
      "127.1.0.0/30\n");
  ASSERT_TRUE(r) << r.error;
  ASSERT_EQ(r.targets.size(), 3u);
  EXPECT_EQ(*r.targets[0].spec.port, 1161);
  EXPECT_EQ(*r.targets[0].version, version_choice::v2c);
  EXPECT_FALSE(r.targets[0].community);
  EXPECT_EQ(*r.targets[1].version, version_choice::v1);
  EXPECT_EQ(*r.targets[1].community, "other");
  EXPECT_EQ(r.targets[2].spec.k, target_spec::kind::range);
  const auto bad = parse_targets_file("127.0.0.1,1161,3\n");
  EXPECT_FALSE(bad);
  EXPECT_EQ(bad.error.substr(0, 2), "1:");
  EXPECT_FALSE(parse_targets_file("127.0.0.1,1,2c,c,extra\n"));
  EXPECT_FALSE(parse_targets_file("ok.example\nnot an address\n"));
}

TEST(Targets, EndpointFormatting) {
  EXPECT_EQ(format_endpoint({v4("127.0.0.1"), 161}), "127.0.0.1:161");
  EXPECT_EQ(format_endpoint({v4("::1"), 1161}), "[::1]:1161");
}

}  // namespace
}  // namespace fleetpoll::engine
