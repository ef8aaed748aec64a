// Every fleetsim fault mode met with the right behaviour, through real UDP on loopback: the
// client and walker (retries, learned caps, GETNEXT fallback, loop stop, source checks, duplicate
// and late replies) and the engine (down after K failed polls, up again by itself, every live
// device of a faulty fleet polled).
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "fleetpoll/engine/engine.hpp"
#include "fleetpoll/engine/snmp_client.hpp"
#include "fleetpoll/engine/walker.hpp"
#include "support.hpp"

namespace fleetpoll::engine {
namespace {

using namespace std::chrono_literals;
namespace asio = boost::asio;
namespace sim = fleetpoll::fleetsim;
using test::start_fleet;

// A static fleet of one template: every device serves the same rows, so a faulty device's walk
// can be compared with a healthy one's.
sim::options static_fleet(std::uint32_t devices) {
  sim::options o;
  o.devices = devices;
  o.templates = {std::filesystem::path(FLEETPOLL_TEST_FIXTURES_DIR) /
                 "synthetic_color_mfp.snmprec"};
  o.profile = "static";
  o.acceleration = 0;
  return o;
}

struct harness {
  asio::io_context io;
  std::unique_ptr<snmp_client> client;
  walk_options walk;
  std::string community = "public";

  explicit harness(client_options co = fast_client()) {
    client = std::make_unique<snmp_client>(io, co);
    EXPECT_FALSE(client->open());
    walk.retry_budget = 8;
  }
  static client_options fast_client() {
    client_options co;
    co.retries = 2;
    co.rtt.initial = 60ms;
    co.rtt.min = 20ms;
    co.rtt.max = 500ms;
    co.jitter = 0;
    co.rate.global_pps = 0;
    co.rate.subnet_pps = 0;
    co.rate.device_min_gap = 0us;
    co.bind_v4 = {asio::ip::address_v4::loopback(), 0};
    return co;
  }
  peer make_peer(const sim::fleet& f, std::uint32_t device, bool any_source = false) {
    peer p;
    p.address = {asio::ip::make_address(f.address_of(device)), f.port()};
    p.community = community;
    p.accept_any_source = any_source;
    return p;
  }
  // One full walk of a device; bounded by 20 s.
  walk_result walk_once(peer& p, walk_memory& mem, bool version_known = true,
                        std::uint32_t classes = all_classes) {
    std::optional<walk_result> out;
    async_walk(*client, p, mem, version_known, default_plan(), classes, walk,
               [&](walk_result&& r) { out = std::move(r); });
    run_until([&] { return out.has_value(); }, 20s);
    EXPECT_TRUE(out.has_value()) << "walk did not finish";
    return out ? std::move(*out) : walk_result{};
  }
  // Runs the io_context until pred() or the timeout; true when pred() held.
  bool run_until(const std::function<bool()>& pred, std::chrono::milliseconds timeout) {
    const auto end = std::chrono::steady_clock::now() + timeout;
    while (!pred() && std::chrono::steady_clock::now() < end) {
      io.restart();
      io.run_for(5ms);  // returns as soon as the handlers run out or 5 ms pass: waits on events
    }
    return pred();
  }
};

std::string json_of(const walk_result& r) {
  auto buf = codecs::normalize(r.view);
  return codecs::to_json_text(codecs::snapshot_to_json(*codecs::snapshot_of(buf)));
}

class Faults : public ::testing::Test {
 protected:
  void SetUp() override {
    fleet = start_fleet(static_fleet(4));
    ASSERT_TRUE(fleet);
    walk_memory mem;
    peer healthy = h.make_peer(*fleet, 0);
    const auto r = h.walk_once(healthy, mem);
    ASSERT_FALSE(r.ec) << r.ec.message();
    ASSERT_EQ(r.classes_complete, all_classes);
    reference = json_of(r);
  }
  void fault(std::uint32_t device, sim::fault_mask faults,
             std::optional<sim::fault_params> params = std::nullopt) {
    ASSERT_FALSE(fleet->set_device_faults(device, faults, params));
  }
  // Device 1, answering after `ms` of real time.
  peer slow_device(std::uint32_t ms) {
    sim::fault_params p;
    p.slow_ms = ms;
    fault(1, sim::mask_of(sim::fault::slow), p);
    return h.make_peer(*fleet, 1);
  }
  std::unique_ptr<sim::fleet> fleet;
  harness h;
  std::string reference;
};

TEST_F(Faults, LossyDeviceIsRetriedAndPolledCompletely) {
  sim::fault_params p;
  p.lossy_rate = 0.5;
  fault(1, sim::mask_of(sim::fault::lossy), p);
  auto co = harness::fast_client();
  co.retries = 8;  // 0.5^9: losing every attempt of one request is then improbable
  harness lh(co);
  lh.walk.retry_budget = 60;
  peer d = lh.make_peer(*fleet, 1);
  // fleetsim drops a device's n-th request by a seeded hash of n: whether one walk meets a drop
  // depends on how many requests it takes. Walk (from scratch each time) until fleetsim has
  // dropped something; every walk must be complete and right, and every dropped request retried.
  std::uint64_t retries = 0;
  for (int i = 0; i < 6 && fleet->counters_of(1).dropped == 0; ++i) {
    walk_memory mem;
    const auto r = lh.walk_once(d, mem);
    ASSERT_FALSE(r.ec) << r.ec.message();
    EXPECT_EQ(r.classes_complete, all_classes);
    EXPECT_EQ(json_of(r), reference);
    retries += r.stats.retries();
  }
  const std::uint32_t dropped = fleet->counters_of(1).dropped;
  ASSERT_GT(dropped, 0u) << "fleetsim dropped none of the requests of 6 walks";
  EXPECT_GE(retries, dropped);  // a timeout without a drop (a loaded machine) also retries
  EXPECT_EQ(lh.client->stats().retries, retries);
}

TEST_F(Faults, DeadDeviceTimesOutAfterItsRetriesAndOneV1Probe) {
  fault(1, sim::mask_of(sim::fault::dead));
  peer d = h.make_peer(*fleet, 1);
  walk_memory mem;
  const auto r = h.walk_once(d, mem, /*version_known=*/false);
  EXPECT_EQ(r.ec, error::timeout);
  EXPECT_FALSE(r.answered);
  EXPECT_EQ(r.stats.attempts, 4u);  // v2c: first try + 2 retries; then one v1 GETNEXT
  EXPECT_EQ(r.classes_complete, 0u);
  EXPECT_EQ(h.client->stats().timeouts, 2u);
  EXPECT_EQ(d.version, codecs::snmp_version::v2c);  // next time: v2c first again
}

TEST_F(Faults, AttemptTimeoutHookRunsOncePerRetryAndNotAfterTheLastAttempt) {
  fault(1, sim::mask_of(sim::fault::dead));
  peer d = h.make_peer(*fleet, 1);
  int hooks = 0;
  std::optional<std::error_code> done;
  request_spec spec;
  spec.names = {codecs::mib::sys_uptime};
  spec.on_attempt_timeout = [&] { ++hooks; };
  h.client->async_request(
      d, std::move(spec),
      [&](std::error_code ec, codecs::snmp_response&&, const request_stats& st) {
        done = ec;
        EXPECT_EQ(st.attempts, 3u);
      });
  ASSERT_TRUE(h.run_until([&] { return done.has_value(); }, 10s));
  EXPECT_EQ(*done, error::timeout);
  EXPECT_EQ(hooks, 2);  // first try and two retries: a hook before each retry
}

// A walk of a slow device (its first reply comes after the first timeout) through walk hooks
// that park it when the reply arrives; resumed with `go_on`.
struct parked_walk_run {
  int waits = 0, answers = 0;
  std::shared_ptr<parked_walk> parked;
  std::optional<walk_result> out;
};
void walk_parked(harness& h, peer& d, parked_walk_run& run, bool go_on) {
  walk_memory mem;
  walk_hooks hooks;
  hooks.on_wait = [&] { ++run.waits; };
  hooks.on_answer = [&](std::shared_ptr<parked_walk> p) {
    ++run.answers;
    if (run.answers > 1) return true;  // park only the first answer after a wait
    run.parked = std::move(p);
    return false;
  };
  async_walk(
      *h.client, d, mem, true, default_plan(), all_classes, h.walk,
      [&](walk_result&& r) { run.out = std::move(r); }, hooks);
  ASSERT_TRUE(h.run_until([&] { return run.parked != nullptr; }, 10s));
  EXPECT_GE(run.waits, 1);
  // Parked: nothing goes on until it is resumed (no request of this device in flight).
  EXPECT_FALSE(run.out.has_value());
  EXPECT_EQ(h.client->in_flight(), 0u);
  auto p = std::move(run.parked);
  p->resume(go_on);
  ASSERT_TRUE(h.run_until([&] { return run.out.has_value(); }, 20s));
}

TEST_F(Faults, WalkParkedWithItsReplyInHandGoesOnWhenResumedToTheSameSnapshot) {
  peer d = slow_device(150);  // slower than the 60 ms first timeout
  parked_walk_run run;
  walk_parked(h, d, run, true);
  ASSERT_FALSE(run.out->ec) << run.out->ec.message();
  EXPECT_EQ(run.out->classes_complete, all_classes);
  EXPECT_EQ(json_of(*run.out), reference);
}

TEST_F(Faults, WalkParkedWithItsReplyInHandEndsCancelledWhenTold) {
  peer d = slow_device(150);
  parked_walk_run run;
  walk_parked(h, d, run, false);
  EXPECT_EQ(run.out->ec, error::cancelled);
  EXPECT_TRUE(run.out->answered);
  EXPECT_NE(run.out->classes_complete, all_classes);
}

TEST_F(Faults, SlowReplyToAnEarlierAttemptIsAcceptedAndTheLaterOneIsADuplicate) {
  peer d = slow_device(150);  // slower than the 60 ms first timeout
  walk_memory mem;
  const auto r = h.walk_once(d, mem);
  ASSERT_FALSE(r.ec) << r.ec.message();
  EXPECT_EQ(json_of(r), reference);
  EXPECT_GT(r.stats.retries(), 0u);
  // The adaptive timeout learned the slow round trip.
  EXPECT_GE(d.rtt.srtt(), 100ms);
  EXPECT_TRUE(h.run_until([&] { return h.client->stats().drop_duplicate > 0; }, 3s));
}

TEST_F(Faults, ReplyAfterTheRequestGaveUpIsCountedLate) {
  sim::fault_params p;
  p.slow_ms = 200;
  fault(1, sim::mask_of(sim::fault::slow), p);
  peer d = h.make_peer(*fleet, 1);
  request_spec spec;
  spec.names = {codecs::mib::sys_uptime};
  spec.max_retries = 0;
  std::error_code got;
  bool done = false;
  h.client->async_request(d, spec,
                          [&](std::error_code ec, codecs::snmp_response&&, const request_stats&) {
                            got = ec;
                            done = true;
                          });
  ASSERT_TRUE(h.run_until([&] { return done; }, 5s));
  EXPECT_EQ(got, error::timeout);
  EXPECT_TRUE(h.run_until([&] { return h.client->stats().drop_late > 0; }, 3s));
  EXPECT_EQ(h.client->stats().drop_unknown_request, 0u);
}

TEST_F(Faults, V1OnlyAgentIsFoundAndWalkedWithGetNext) {
  fault(1, sim::mask_of(sim::fault::v1_only));
  peer d = h.make_peer(*fleet, 1);
  walk_memory mem;
  auto r = h.walk_once(d, mem, /*version_known=*/false);
  ASSERT_FALSE(r.ec) << r.ec.message();
  ASSERT_TRUE(r.version);
  EXPECT_EQ(*r.version, codecs::snmp_version::v1);
  EXPECT_EQ(d.version, codecs::snmp_version::v1);
  EXPECT_GT(r.stats.no_such_name, 0u);  // v1 ends walks with noSuchName
  // Counter64 rows are invisible to v1: compare with a v1 walk of the healthy device.
  peer healthy_v1 = h.make_peer(*fleet, 0);
  healthy_v1.version = codecs::snmp_version::v1;
  walk_memory mem0;
  const auto ref = h.walk_once(healthy_v1, mem0);
  EXPECT_EQ(json_of(r), json_of(ref));
  // The next poll knows: no v2c attempt is wasted.
  const auto again = h.walk_once(d, mem, /*version_known=*/true);
  ASSERT_FALSE(again.ec);
  EXPECT_EQ(again.stats.retries(), 0u);
}

TEST_F(Faults, ConfiguredV2cOnAV1OnlyAgentFails) {
  fault(1, sim::mask_of(sim::fault::v1_only));
  peer d = h.make_peer(*fleet, 1);
  walk_memory mem;
  const auto r = h.walk_once(d, mem, /*version_known=*/true);
  EXPECT_EQ(r.ec, error::timeout);
  EXPECT_FALSE(r.answered);
}

TEST_F(Faults, TooBigTeachesASmallerReplyAndTheNextPollNeedsNoShrinking) {
  sim::fault_params p;
  p.too_big_varbinds = 8;
  fault(1, sim::mask_of(sim::fault::too_big), p);
  peer d = h.make_peer(*fleet, 1);
  walk_memory mem;
  const auto r = h.walk_once(d, mem);
  ASSERT_FALSE(r.ec) << r.ec.message();
  EXPECT_EQ(json_of(r), reference);
  EXPECT_GT(r.stats.too_big, 0u);
  ASSERT_GT(mem.max_varbinds, 0);
  EXPECT_LE(mem.max_varbinds, 8);
  const auto again = h.walk_once(d, mem);
  ASSERT_FALSE(again.ec);
  EXPECT_EQ(again.stats.too_big, 0u);
  EXPECT_EQ(json_of(again), reference);
}

TEST_F(Faults, PermutedRepliesAreDetectedAndTheWalkIsStillComplete) {
  fault(1, sim::mask_of(sim::fault::out_of_order));
  peer d = h.make_peer(*fleet, 1);
  walk_memory mem;
  const auto r = h.walk_once(d, mem);
  ASSERT_FALSE(r.ec) << r.ec.message();
  EXPECT_EQ(r.classes_complete, all_classes);
  EXPECT_GT(r.stats.out_of_order, 0u);
  EXPECT_TRUE(mem.flags & walk_memory::reorders_varbinds);
  EXPECT_EQ(json_of(r), reference);
}

TEST_F(Faults, OidLoopIsStoppedCountedAndItsClassNotReportedComplete) {
  fault(1, sim::mask_of(sim::fault::oid_loop));
  peer d = h.make_peer(*fleet, 1);
  walk_memory mem;
  const auto r = h.walk_once(d, mem);
  EXPECT_FALSE(r.ec) << r.ec.message();
  EXPECT_GT(r.stats.loops, 0u);
  EXPECT_EQ(r.classes_complete & class_bit(data_class::supplies),
            0u);  // the loop row is a supply level
  EXPECT_NE(r.classes_complete & class_bit(data_class::identity), 0u);
  EXPECT_LT(r.stats.requests, 100u);
}

TEST_F(Faults, RunawayTableIsStoppedAtItsCap) {
  h.walk.max_varbinds_per_unit = 3;
  peer d = h.make_peer(*fleet, 0);
  walk_memory mem;
  const auto r = h.walk_once(d, mem);
  EXPECT_FALSE(r.ec);
  EXPECT_GT(r.stats.runaways, 0u);
  EXPECT_EQ(r.classes_complete & class_bit(data_class::supplies), 0u);
}

TEST_F(Faults, WrongRequestIdRepliesAreDroppedAndTheDeviceTimesOut) {
  fault(1, sim::mask_of(sim::fault::wrong_request_id));
  peer d = h.make_peer(*fleet, 1);
  walk_memory mem;
  const auto r = h.walk_once(d, mem);
  EXPECT_EQ(r.ec, error::timeout);
  EXPECT_GE(h.client->stats().drop_unknown_request, 3u);
}

TEST_F(Faults, TruncatedAndCorruptRepliesAreDroppedAsMalformedAndThePollFails) {
  for (auto f : {sim::fault::truncated, sim::fault::corrupt}) {
    const auto before = h.client->stats().drop_malformed;
    fault(1, sim::mask_of(f));
    peer d = h.make_peer(*fleet, 1);
    walk_memory mem;
    const auto r = h.walk_once(d, mem);
    EXPECT_EQ(r.ec, error::decode_failed) << sim::to_string(f);
    EXPECT_FALSE(r.answered);
    EXPECT_GE(h.client->stats().drop_malformed - before, 3u) << sim::to_string(f);
  }
}

TEST_F(Faults, ReplyFromAnotherAddressIsDroppedUnlessTheDeviceOptsIn) {
  fault(1, sim::mask_of(sim::fault::other_source));
  peer strict = h.make_peer(*fleet, 1);
  walk_memory mem;
  const auto r = h.walk_once(strict, mem);
  EXPECT_EQ(r.ec, error::timeout);
  EXPECT_GE(h.client->stats().drop_unknown_source, 3u);
  peer lenient = h.make_peer(*fleet, 1, /*any_source=*/true);
  walk_memory mem2;
  const auto ok = h.walk_once(lenient, mem2);
  ASSERT_FALSE(ok.ec) << ok.ec.message();
  EXPECT_EQ(json_of(ok), reference);
}

TEST_F(Faults, DuplicateRepliesAreCountedAndIgnored) {
  fault(1, sim::mask_of(sim::fault::duplicate));
  peer d = h.make_peer(*fleet, 1);
  walk_memory mem;
  const auto r = h.walk_once(d, mem);
  ASSERT_FALSE(r.ec);
  EXPECT_EQ(json_of(r), reference);
  EXPECT_EQ(r.stats.retries(), 0u);
  EXPECT_TRUE(
      h.run_until([&] { return h.client->stats().drop_duplicate >= r.stats.requests; }, 3s));
}

TEST_F(Faults, SleepyDeviceIsSilentInsideItsWindowAndAnswersOutside) {
  fault(1, sim::mask_of(sim::fault::sleepy));
  // Find a simulated moment inside and one outside its sleep window.
  const double t0 = fleet->sim_time();
  std::optional<double> asleep, awake;
  for (double t = t0; t < t0 + 7200 && !(asleep && awake); t += 60) {
    if (fleet->truth(1, t).asleep)
      asleep = asleep.value_or(t);
    else
      awake = awake.value_or(t);
  }
  ASSERT_TRUE(asleep && awake);
  walk_memory mem;
  peer d = h.make_peer(*fleet, 1);
  fleet->set_time(*asleep);
  EXPECT_EQ(h.walk_once(d, mem).ec, error::timeout);
  fleet->set_time(*awake);
  EXPECT_FALSE(h.walk_once(d, mem).ec);
}

// ---- the engine ------------------------------------------------------------------------------

engine_options fast_engine() {
  engine_options eo;
  eo.threads = 2;
  eo.client = harness::fast_client();
  eo.walk.retry_budget = 6;
  eo.metrics_interval = 50ms;
  return eo;
}

TEST(EngineFaults, DeviceIsDownAfterKFailedPollsAndUpAgainByItself) {
  auto fleet = start_fleet(static_fleet(3));
  ASSERT_TRUE(fleet);
  ASSERT_FALSE(fleet->set_device_faults(1, sim::mask_of(sim::fault::dead)));
  engine_options eo = fast_engine();
  eo.schedule.cadence.fill(std::chrono::seconds(1));
  eo.schedule.down_after = 2;
  eo.schedule.down_probe_interval = std::chrono::seconds(1);
  eo.schedule.first_poll_spread = 10ms;
  eo.client.retries = 1;
  eo.client.rtt.initial = 30ms;
  test::collecting_sink sink;
  engine e(eo, sink);
  for (std::uint32_t i = 0; i < 3; ++i)
    ASSERT_FALSE(e.add_target({{asio::ip::make_address(fleet->address_of(i)), fleet->port()}}));
  ASSERT_FALSE(e.start());
  const std::string dead = fleet->address_of(1) + ":" + std::to_string(fleet->port());
  ASSERT_TRUE(sink.wait_for([](const auto& snk) { return snk.down_count_locked() >= 1; }, 10s));
  auto downs = sink.downs();
  ASSERT_EQ(downs.size(), 1u);
  EXPECT_EQ(downs[0].address, dead);
  EXPECT_EQ(downs[0].failed, 2u);
  EXPECT_NE(downs[0].error.find("retry"), std::string::npos) << downs[0].error;
  auto s = e.stats();
  EXPECT_EQ(s.down, 1u);
  EXPECT_EQ(s.up, 2u);
  // Healthy devices kept being polled meanwhile.
  EXPECT_GE(s.polls_complete, 2u);
  ASSERT_FALSE(fleet->set_device_faults(1, 0));
  ASSERT_TRUE(sink.wait_for([](const auto& snk) { return snk.up_count_locked() >= 1; }, 10s));
  EXPECT_EQ(sink.ups().front(), dead);
  // Back up: it is polled at once.
  ASSERT_TRUE(sink.wait_for(
      [&](const auto& snk) {
        for (const auto& p : snk.polls_locked())
          if (p.address == dead) return true;
        return false;
      },
      10s));
  e.stop(1s);
  s = e.stats();
  EXPECT_EQ(s.down, 0u);
  EXPECT_GE(s.probes, 1u);
  EXPECT_EQ(s.down_events, 1u);
  EXPECT_EQ(s.up_events, 1u);
}

TEST(EngineFaults, FaultyFleetEveryLiveDeviceIsPolledOnce) {
  sim::options o;
  o.devices = 400;
  o.acceleration = 0;
  std::string why;
  ASSERT_FALSE(sim::parse_fault_plan("loss=0.1,dead=0.05,slow=0.01,slow_ms=300", o.faults, why))
      << why;
  auto fleet = start_fleet(o);
  ASSERT_TRUE(fleet);
  engine_options eo = fast_engine();
  eo.schedule.enabled = false;
  eo.walk.retry_budget = 12;
  eo.client.retries = 3;
  test::collecting_sink sink;
  engine e(eo, sink);
  for (std::uint32_t i = 0; i < o.devices; ++i)
    ASSERT_FALSE(e.add_target({{asio::ip::make_address(fleet->address_of(i)), fleet->port()}}));
  ASSERT_FALSE(e.start());
  e.poll_all_now(all_classes);
  ASSERT_TRUE(e.wait_idle(60s));
  const auto dead = fleet->devices_with(sim::fault::dead);
  const auto s = e.stats();
  EXPECT_EQ(s.polls_complete, o.devices - dead.size());
  EXPECT_EQ(s.polls_failed, dead.size());
  EXPECT_GT(s.client.retries, 0u);
  std::set<std::string> polled;
  for (const auto& p : sink.polls()) {
    EXPECT_EQ(p.classes, all_classes)
        << p.address << " faults "
        << fleet->device_faults(*fleet->device_at(p.address.substr(0, p.address.find(':'))));
    polled.insert(p.address);
  }
  EXPECT_EQ(polled.size(), o.devices - dead.size());
  for (auto d : dead)
    EXPECT_EQ(polled.count(fleet->address_of(d) + ":" + std::to_string(fleet->port())), 0u);
  e.stop(1s);
}

// ---- poll slots: polls waiting on a retransmission leave their slot ---------------------------

// Records polls and down events in the order the engine reports them (one shard: one order).
class ordered_sink final : public snapshot_sink {
 public:
  struct event {
    bool down;
    std::string address;
    std::uint32_t classes;
  };
  void on_poll(const poll_record& r) override {
    std::lock_guard lock(m_);
    events_.push_back({false, std::string(r.address), r.classes});
    cv_.notify_all();
  }
  void on_device_down(const device_down_event& e) override {
    std::lock_guard lock(m_);
    events_.push_back({true, std::string(e.address), 0});
    cv_.notify_all();
  }
  void on_device_up(const device_up_event&) override {}
  std::vector<event> events() const {
    std::lock_guard lock(m_);
    return events_;
  }

 private:
  mutable std::mutex m_;
  std::condition_variable cv_;
  std::vector<event> events_;
};

// A fleet whose first `dead` devices are dead and the rest healthy; one engine shard with `slots`
// poll slots, down after one failed poll (so each dead poll's end is reported in order), version
// unknown (a dead device also gets the v1 probe).
struct slot_fleet {
  std::unique_ptr<sim::fleet> fleet;
  std::vector<std::string> live, dead;
  std::string address(std::uint32_t i) const {
    return fleet->address_of(i) + ":" + std::to_string(fleet->port());
  }
  static engine_options options(std::size_t slots) {
    engine_options eo = fast_engine();
    eo.threads = 1;
    eo.max_concurrent_polls = slots;
    eo.schedule.enabled = false;
    eo.schedule.down_after = 1;
    return eo;
  }
  bool start(std::uint32_t devices, std::uint32_t dead_first) {
    fleet = start_fleet(static_fleet(devices));
    if (!fleet) return false;
    for (std::uint32_t i = 0; i < devices; ++i) {
      if (i < dead_first) {
        if (fleet->set_device_faults(i, sim::mask_of(sim::fault::dead))) return false;
        dead.push_back(address(i));
      } else {
        live.push_back(address(i));
      }
    }
    return true;
  }
};

// Adds the first `devices` devices of a fleet to an engine.
void add_fleet(engine& e, const sim::fleet& f, std::uint32_t devices) {
  for (std::uint32_t i = 0; i < devices; ++i)
    ASSERT_FALSE(e.add_target({{asio::ip::make_address(f.address_of(i)), f.port()}}));
}

// A static fleet whose first `slow_count` devices answer after `slow_ms`.
std::unique_ptr<sim::fleet> slow_fleet(std::uint32_t devices, std::uint32_t slow_count,
                                       std::uint32_t slow_ms) {
  auto fleet = start_fleet(static_fleet(devices));
  sim::fault_params slow;
  slow.slow_ms = slow_ms;
  for (std::uint32_t i = 0; fleet && i < slow_count; ++i)
    if (fleet->set_device_faults(i, sim::mask_of(sim::fault::slow), slow)) return nullptr;
  return fleet;
}

// The time a dead device's poll takes: every attempt of the first request (no reply ever comes,
// so the adaptive timeout stays at rtt.initial; jitter 0) and the one-attempt v1 probe.
std::chrono::milliseconds dead_poll_budget(const engine_options& eo) {
  double ms = 0, k = 1;
  const double initial = static_cast<double>(
      std::chrono::duration_cast<std::chrono::milliseconds>(eo.client.rtt.initial).count());
  for (int a = 0; a <= eo.client.retries; ++a, k *= eo.client.backoff) ms += initial * k;
  return std::chrono::milliseconds(static_cast<std::int64_t>(ms + initial));
}

TEST(EngineFaults, PollsWaitingOnRetriesLeaveTheirSlotSoLiveDevicesArePolledBeforeDeadOnesFail) {
  // 12 dead devices queued first, 4 slots: if dead polls kept their slots, no live device would
  // start before three rounds of dead budgets had passed, and every dead poll of the first round
  // would fail first.
  slot_fleet f;
  ASSERT_TRUE(f.start(36, 12));
  engine_options eo = slot_fleet::options(4);
  eo.client.retries = 3;
  eo.client.rtt.initial = 200ms;
  eo.client.rtt.max = 5s;
  const auto budget = dead_poll_budget(eo);  // 200+400+800+1600 + 200 (v1) = 3.2 s
  ordered_sink sink;
  engine e(eo, sink);
  add_fleet(e, *f.fleet, static_cast<std::uint32_t>(f.live.size() + f.dead.size()));
  ASSERT_FALSE(e.start());
  const auto t0 = std::chrono::steady_clock::now();
  e.poll_all_now(all_classes);
  ASSERT_TRUE(e.wait_idle(60s));
  const auto cycle = std::chrono::steady_clock::now() - t0;

  const auto events = sink.events();
  std::set<std::string> polled, downs;
  std::size_t live_polled_before_first_down = 0;
  for (const auto& ev : events) {
    if (ev.down) {
      downs.insert(ev.address);
    } else {
      EXPECT_EQ(ev.classes, all_classes) << ev.address;
      polled.insert(ev.address);
      if (downs.empty()) ++live_polled_before_first_down;
    }
  }
  EXPECT_EQ(polled, std::set<std::string>(f.live.begin(), f.live.end()));
  EXPECT_EQ(downs, std::set<std::string>(f.dead.begin(), f.dead.end()));
  // Every live device was polled before the first dead device's budget ran out.
  EXPECT_EQ(live_polled_before_first_down, f.live.size());
  // The cycle grew by about one dead budget, not by 12 / 4 of them.
  EXPECT_LT(cycle, budget * 2) << "budget " << budget.count() << " ms";
  const auto s = e.stats();
  EXPECT_EQ(s.polls_complete, f.live.size());
  EXPECT_EQ(s.polls_failed, f.dead.size());
  EXPECT_GE(s.slot_releases, f.dead.size());
  EXPECT_GE(s.peak_polls_waiting, f.dead.size());  // all dead polls out of their slots at once
  EXPECT_LE(s.peak_polls_waiting, 8u * 4u);        // the default bound: 8 per slot
  EXPECT_EQ(s.peak_polls_in_slots, 4u);
  EXPECT_EQ(s.polls_waiting_retry, 0u);
  EXPECT_EQ(s.polls_in_progress, 0u);
  e.stop(1s);
}

TEST(EngineFaults, PollsWaitingOnRetriesAreBoundedAndBeyondTheBoundKeepTheirSlot) {
  // 4 slots, at most 2 polls waiting outside a slot, 8 dead devices first: 2 dead polls wait
  // outside, the next 4 keep their slots while waiting, so live devices start only when dead
  // polls end.
  slot_fleet f;
  ASSERT_TRUE(f.start(16, 8));
  engine_options eo = slot_fleet::options(4);
  eo.max_waiting_polls = 2;
  eo.client.retries = 2;
  eo.client.rtt.initial = 100ms;
  eo.client.rtt.max = 5s;
  ordered_sink sink;
  engine e(eo, sink);
  add_fleet(e, *f.fleet, static_cast<std::uint32_t>(f.live.size() + f.dead.size()));
  ASSERT_FALSE(e.start());
  e.poll_all_now(all_classes);
  ASSERT_TRUE(e.wait_idle(60s));
  const auto events = sink.events();
  std::set<std::string> polled, downs;
  std::size_t downs_before_first_live = 0;
  for (const auto& ev : events) {
    if (ev.down) {
      downs.insert(ev.address);
      if (polled.empty()) ++downs_before_first_live;
    } else {
      polled.insert(ev.address);
    }
  }
  EXPECT_EQ(polled, std::set<std::string>(f.live.begin(), f.live.end()));
  EXPECT_EQ(downs, std::set<std::string>(f.dead.begin(), f.dead.end()));
  // Slots stayed blocked by dead polls beyond the bound: dead polls ended before any live one.
  EXPECT_GE(downs_before_first_live, 2u);
  const auto s = e.stats();
  EXPECT_EQ(s.peak_polls_waiting, 2u);
  EXPECT_EQ(s.peak_polls_in_slots, 4u);
  EXPECT_GE(s.slot_releases, 2u);
  EXPECT_EQ(s.polls_complete, f.live.size());
  EXPECT_EQ(s.polls_failed, f.dead.size());
  EXPECT_EQ(s.polls_waiting_retry, 0u);
  e.stop(1s);
}

TEST(EngineFaults, AnsweredPollsOutOfTheirSlotQueueForOneAndEveryPollCompletes) {
  // One slot and slow devices: each slow device's first request times out (initial timeout
  // 40 ms, reply after 100 ms), so its poll leaves the slot for the next device (at 40 ms, then
  // 80 ms); the first one's late reply (100 ms) then finds the slot taken by the third and
  // queues for it with the reply in hand.
  auto fleet = slow_fleet(5, 3, 100);
  ASSERT_TRUE(fleet);
  engine_options eo = slot_fleet::options(1);
  eo.client.retries = 3;
  eo.client.rtt.initial = 40ms;
  ordered_sink sink;
  engine e(eo, sink);
  add_fleet(e, *fleet, 5);
  ASSERT_FALSE(e.start());
  e.poll_all_now(all_classes);
  ASSERT_TRUE(e.wait_idle(60s));
  std::set<std::string> polled;
  for (const auto& ev : sink.events()) {
    EXPECT_FALSE(ev.down) << ev.address;
    EXPECT_EQ(ev.classes, all_classes) << ev.address;
    polled.insert(ev.address);
  }
  EXPECT_EQ(polled.size(), 5u);
  const auto s = e.stats();
  EXPECT_EQ(s.polls_complete, 5u);
  EXPECT_EQ(s.polls_cancelled, 0u);
  EXPECT_GE(s.slot_releases, 3u);
  EXPECT_GE(s.polls_parked, 1u);
  EXPECT_EQ(s.peak_polls_in_slots, 1u);
  EXPECT_EQ(s.polls_waiting_retry, 0u);
  e.stop(1s);
}

TEST(EngineFaults, StopEndsPollsQueuedForASlotWithTheirReplyInHand) {
  // As above, stopped while polls wait: every poll ends (delivered, partial or cancelled), no
  // thread hangs.
  auto fleet = slow_fleet(8, 8, 150);
  ASSERT_TRUE(fleet);
  engine_options eo = slot_fleet::options(1);
  eo.client.retries = 3;
  test::collecting_sink sink;
  engine e(eo, sink);
  add_fleet(e, *fleet, 8);
  ASSERT_FALSE(e.start());
  e.poll_all_now(all_classes);
  // The first poll delivered: by then polls have queued for the slot with their reply, and the
  // others are in flight or waiting. Stop at once.
  ASSERT_TRUE(sink.wait_for([](const auto& snk) { return snk.poll_count_locked() >= 1; }, 20s));
  ASSERT_GE(e.stats().polls_parked, 1u);
  e.stop(0ms);
  const auto s = e.stats();
  EXPECT_EQ(s.polls_in_progress, 0u);
  EXPECT_EQ(s.polls_waiting_retry, 0u);
  EXPECT_GE(s.polls_cancelled + s.polls_partial, 1u);  // cut short: unanswered, or answered
  EXPECT_LE(s.polls_complete + s.polls_partial + s.polls_cancelled + s.polls_failed, 8u);
}

TEST(EngineReload, RemovedDeviceMidPollIsStillDeliveredAddedOnesArePolledKeptOnesKeepLearning) {
  auto fleet = start_fleet(static_fleet(4));
  ASSERT_TRUE(fleet);
  sim::fault_params slow;
  slow.slow_ms = 300;  // every reply of device 0 takes 300 ms: its walk spans several of them
  ASSERT_FALSE(fleet->set_device_faults(0, sim::mask_of(sim::fault::slow), slow));
  engine_options eo = fast_engine();
  eo.schedule.enabled = false;
  eo.client.rtt.initial = 3s;  // no timeouts: the slow replies are answers
  eo.client.rtt.max = 5s;
  test::collecting_sink sink;
  engine e(eo, sink);
  auto target_of = [&](std::uint32_t i) {
    return target{{asio::ip::make_address(fleet->address_of(i)), fleet->port()}};
  };
  auto address_of = [&](std::uint32_t i) {
    return fleet->address_of(i) + ":" + std::to_string(fleet->port());
  };
  ASSERT_FALSE(e.add_target(target_of(0)));
  ASSERT_FALSE(e.add_target(target_of(1)));
  ASSERT_FALSE(e.start());
  e.poll_all_now();
  // Device 1 answers in milliseconds; device 0's first reply is 300 ms away, so its poll is in
  // flight when device 1's poll arrives.
  ASSERT_TRUE(sink.wait_for(
      [&](const auto& s) {
        for (const auto& p : s.polls_locked())
          if (p.address == address_of(1)) return true;
        return false;
      },
      10s));
  EXPECT_EQ(e.stats().polls_in_progress, 1u);
  // The new configuration: device 0 goes, 2 and 3 come, 1 stays; a duplicate and a bad target
  // are refused.
  eo.max_concurrent_polls = 64;
  const auto r = e.reconfigure(eo, {target_of(1), target_of(2), target_of(3), target_of(2),
                                    target{{asio::ip::make_address("127.1.0.9"), 0}}});
  EXPECT_EQ(r.removed, 1u);
  EXPECT_EQ(r.added, 2u);
  EXPECT_EQ(r.kept, 1u);
  EXPECT_EQ(r.refused, 2u);
  EXPECT_EQ(e.device_count(), 3u);
  ASSERT_TRUE(e.wait_idle(20s));
  // The removed device's poll finished and reached the sink, complete.
  auto polls = sink.polls();
  ASSERT_EQ(polls.size(), 2u);
  const auto removed = std::find_if(polls.begin(), polls.end(),
                                    [&](const auto& p) { return p.address == address_of(0); });
  ASSERT_NE(removed, polls.end());
  EXPECT_EQ(removed->classes, all_classes);
  const std::uint32_t requests_to_0 = fleet->counters_of(0).received;
  const std::uint32_t requests_to_1 = fleet->counters_of(1).received;
  e.poll_all_now();
  ASSERT_TRUE(e.wait_idle(20s));
  polls = sink.polls();
  std::map<std::string, int> per_device;
  for (const auto& p : polls) ++per_device[p.address];
  EXPECT_EQ(per_device[address_of(0)], 1);  // not polled again
  EXPECT_EQ(per_device[address_of(1)], 2);
  EXPECT_EQ(per_device[address_of(2)], 1);
  EXPECT_EQ(per_device[address_of(3)], 1);
  EXPECT_EQ(fleet->counters_of(0).received, requests_to_0);
  // Device 1 kept what it learned: its second poll asks no more than its first.
  EXPECT_LE(fleet->counters_of(1).received - requests_to_1, requests_to_1);
  const auto s = e.stats();
  EXPECT_EQ(s.devices, 3u);
  EXPECT_EQ(s.up + s.down + s.never_seen, 3u);
  e.stop(1s);
}

}  // namespace
}  // namespace fleetpoll::engine
