// Every fault mode of fleetsim, observed through real UDP on loopback with the project's SNMP
// codec: what a poller would see from such a device. Waits are on replies (or on an ordering
// barrier: a healthy device's reply), always bounded.
#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "support.hpp"

namespace {

using namespace fleetsim_test;
using codecs::pdu_type;
using fs::fault;

class FleetsimFaults : public ::testing::Test {
 protected:
  static constexpr std::uint32_t healthy = 31;

  void SetUp() override {
    fs::options o;
    o.devices = 32;
    o.profile = "static";  // values are the template's: replies can be compared byte for byte
    o.templates = {test_fixtures() / "synthetic_color_mfp.snmprec"};
    o.acceleration = 0;
    fleet = start_fleet(o);
    ASSERT_TRUE(fleet);
    port = fleet->port();
  }
  std::uint32_t dev_ip(std::uint32_t i) { return ip(fleet->address_of(i)); }
  void give(std::uint32_t dev, fs::fault_mask m, fs::fault_params p = {}) {
    ASSERT_FALSE(fleet->set_device_faults(dev, m, p));
  }
  std::optional<std::size_t> sync() { return barrier(client, dev_ip(healthy), port); }

  std::unique_ptr<fs::fleet> fleet;
  std::uint16_t port = 0;
  udp_client client;
};

const auto get_name = [] { return encode(pdu_type::get, {O("1.3.6.1.2.1.1.5.0")}, 21); };
const auto bulk10 = [](std::int32_t rid = 22) {
  return encode(pdu_type::get_bulk, {O("1.3.6.1.2.1.43.11.1.1")}, rid, codecs::snmp_version::v2c,
                "public", 10);
};

TEST_F(FleetsimFaults, DeadDeviceNeverAnswers) {
  give(1, fs::mask_of(fault::dead));
  const auto before = fleet->totals().dropped_fault;
  for (int i = 0; i < 3; ++i) client.send(dev_ip(1), port, get_name());
  EXPECT_EQ(sync(), 0u);
  EXPECT_EQ(fleet->totals().dropped_fault - before, 3u);
  EXPECT_FALSE(fleet->truth(1).answers);
  EXPECT_TRUE(fleet->truth(healthy).answers);
}

// Sends n GETs to a device (at most 64 outstanding) and counts the replies.
std::size_t replies_to(udp_client& c, std::uint32_t dev, std::uint16_t port, int n,
                       std::uint32_t barrier_ip) {
  std::size_t got = 0;
  for (int sent = 0; sent < n;) {
    const int burst = std::min(64, n - sent);
    for (int i = 0; i < burst; ++i)
      c.send(dev, port, encode(pdu_type::get, {O("1.3.6.1.2.1.1.3.0")}, 1000 + sent + i));
    sent += burst;
    auto others = barrier(c, barrier_ip, port);
    if (!others) return SIZE_MAX;
    got += *others;
  }
  return got;
}

TEST_F(FleetsimFaults, LossyDeviceLosesItsShareReproducibly) {
  fs::fault_params p;
  p.lossy_rate = 0.3;
  give(2, fs::mask_of(fault::lossy), p);
  const std::size_t got = replies_to(client, dev_ip(2), port, 2000, dev_ip(healthy));
  // 2000 requests, p(answer) = 0.7: sd = 10.2; +-60 is about 6 sd.
  EXPECT_NEAR(static_cast<double>(got), 1400.0, 60.0);
  // The same seed and the same request sequence lose exactly the same requests.
  fs::options o = fleet->config();
  auto again = start_fleet(o);
  ASSERT_TRUE(again);
  ASSERT_FALSE(again->set_device_faults(2, fs::mask_of(fault::lossy), p));
  EXPECT_EQ(replies_to(client, ip(again->address_of(2)), again->port(), 2000,
                       ip(again->address_of(healthy))),
            got);
}

TEST(FleetsimFaultPlan, FleetLossAppliesToEveryDevice) {
  fs::options o;
  o.devices = 50;
  o.profile = "static";
  o.templates = {test_fixtures() / "synthetic_mono_toner_empty.snmprec"};
  std::string why;
  ASSERT_FALSE(fs::parse_fault_plan("loss=0.2", o.faults, why)) << why;
  auto f = start_fleet(o);
  ASSERT_TRUE(f);
  // Device 49 gets its own parameters without loss: a reliable ordering barrier.
  ASSERT_FALSE(f->set_device_faults(49, 0, fs::fault_params{}));
  udp_client c;
  for (std::uint32_t d = 0; d < 40; ++d)
    for (int i = 0; i < 25; ++i)
      c.send(ip(f->address_of(d)), f->port(), encode(pdu_type::get, {O("1.3.6.1.2.1.1.3.0")}, i));
  const auto got = barrier(c, ip(f->address_of(49)), f->port());
  ASSERT_TRUE(got);
  const auto t = f->totals();
  EXPECT_EQ(t.answered + t.dropped_fault, 1001u);  // with the barrier's request
  EXPECT_EQ(*got + 1, t.answered);
  EXPECT_NEAR(static_cast<double>(t.dropped_fault), 200.0, 50.0);  // sd 12.6
}

TEST_F(FleetsimFaults, SlowDeviceAnswersAfterItsDelayAndDoesNotHoldUpOthers) {
  fs::fault_params p;
  p.slow_ms = 300;
  give(3, fs::mask_of(fault::slow), p);
  const auto t0 = std::chrono::steady_clock::now();
  client.send(dev_ip(3), port, get_name());
  EXPECT_EQ(sync(), 0u);  // the healthy device answered while the slow one waits
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 300ms);
  auto d = client.receive(3000ms);
  ASSERT_TRUE(d);
  const auto waited = d->at - t0;
  EXPECT_GE(waited, 300ms);
  EXPECT_LT(waited, 1300ms);
  codecs::snmp_response r;
  ASSERT_FALSE(codecs::decode_response(d->bytes, r));
  EXPECT_EQ(r.request_id, 21);
  EXPECT_EQ(fleet->totals().delayed, 1u);
}

TEST_F(FleetsimFaults, SleepyDeviceIsSilentInsideItsSleepWindowOnly) {
  fs::fault_params p;
  p.sleep_period_s = 3600;
  p.sleep_duration_s = 900;
  give(4, fs::mask_of(fault::sleepy), p);
  std::optional<double> asleep, awake;
  const double t0 = fleet->sim_time();
  for (int m = 0; m < 60 && (!asleep || !awake); ++m) {
    const double t = t0 + m * 60.0;
    (fleet->truth(4, t).asleep ? asleep : awake) = t;
  }
  ASSERT_TRUE(asleep && awake);
  fleet->set_time(*asleep);
  client.send(dev_ip(4), port, get_name());
  EXPECT_EQ(sync(), 0u);
  fleet->set_time(*awake);
  EXPECT_TRUE(ask(client, dev_ip(4), port, get_name()));
}

TEST_F(FleetsimFaults, V1OnlyDeviceIgnoresSnmpV2cAndGetBulk) {
  give(5, fs::mask_of(fault::v1_only));
  client.send(dev_ip(5), port, get_name());
  client.send(dev_ip(5), port, bulk10());
  EXPECT_EQ(sync(), 0u);
  auto r = ask(client, dev_ip(5), port,
               encode(pdu_type::get_next, {O("1.3.6.1.2.1.1.4")}, 8, codecs::snmp_version::v1));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->version, codecs::snmp_version::v1);
  ASSERT_EQ(r->varbinds.size(), 1u);
  EXPECT_EQ(r->varbinds[0].name, O("1.3.6.1.2.1.1.4.0"));
}

TEST_F(FleetsimFaults, TooBigAboveItsVarbindLimit) {
  fs::fault_params p;
  p.too_big_varbinds = 5;
  give(6, fs::mask_of(fault::too_big), p);
  auto r = ask(client, dev_ip(6), port, bulk10());
  ASSERT_TRUE(r);
  EXPECT_EQ(r->error_status, 1);
  EXPECT_TRUE(r->varbinds.empty());
  r = ask(client, dev_ip(6), port,
          encode(pdu_type::get_bulk, {O("1.3.6.1.2.1.43.11.1.1")}, 23, codecs::snmp_version::v2c,
                 "public", 5));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->error_status, 0);
  EXPECT_EQ(r->varbinds.size(), 5u);
  r = ask(client, dev_ip(6), port,
          encode(pdu_type::get, std::vector<codecs::oid>(6, O("1.3.6.1.2.1.1.5.0"))));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->error_status, 1);
}

TEST_F(FleetsimFaults, OutOfOrderRepliesHoldTheSameRowsInSwappedPairs) {
  give(7, fs::mask_of(fault::out_of_order));
  auto bad = ask(client, dev_ip(7), port, bulk10());
  auto good = ask(client, dev_ip(healthy), port, bulk10());
  ASSERT_TRUE(bad && good);
  ASSERT_EQ(bad->varbinds.size(), 10u);
  EXPECT_FALSE(std::is_sorted(bad->varbinds.begin(), bad->varbinds.end(),
                              [](auto& a, auto& b) { return a.name < b.name; }));
  EXPECT_EQ(bad->varbinds[0], good->varbinds[1]);
  EXPECT_EQ(bad->varbinds[1], good->varbinds[0]);
  auto sorted = bad->varbinds;
  std::sort(sorted.begin(), sorted.end(), [](auto& a, auto& b) { return a.name < b.name; });
  EXPECT_EQ(sorted, good->varbinds);
}

TEST_F(FleetsimFaults, OidLoopSendsAWalkBackwardsForever) {
  fs::fault_params p;
  p.loop_back = 3;
  give(8, fs::mask_of(fault::oid_loop), p);
  codecs::oid cur = O("1.3.6.1.2.1.43");
  int backwards = 0;
  std::set<std::string> seen;
  int repeats = 0;
  for (int i = 0; i < 400 && backwards < 3; ++i) {
    auto r = ask(client, dev_ip(8), port, encode(pdu_type::get_next, {cur}, i));
    ASSERT_TRUE(r);
    ASSERT_EQ(r->varbinds.size(), 1u);
    const auto& next = r->varbinds[0].name;
    ASSERT_NE(r->varbinds[0].val.type, codecs::value_type::end_of_mib_view) << "the walk ended";
    if (!(cur < next)) ++backwards;
    if (!seen.insert(next.to_string()).second) ++repeats;
    cur = next;
  }
  EXPECT_EQ(backwards, 3);  // it keeps coming back: a loop, not a single glitch
  EXPECT_GE(repeats, 6);
}

TEST_F(FleetsimFaults, WrongRequestIdIsOffByOne) {
  give(9, fs::mask_of(fault::wrong_request_id));
  auto r = ask(client, dev_ip(9), port, encode(pdu_type::get, {O("1.3.6.1.2.1.1.5.0")}, 5000));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->request_id, 5001);
}

TEST_F(FleetsimFaults, TruncatedReplyFailsDecodeAndIsHalfTheLength) {
  give(10, fs::mask_of(fault::truncated));
  client.send(dev_ip(10), port, bulk10());
  auto d = client.receive();
  ASSERT_TRUE(d);
  client.send(dev_ip(healthy), port, bulk10());
  auto good = client.receive();
  ASSERT_TRUE(good);
  EXPECT_EQ(d->bytes.size(), good->bytes.size() / 2);
  codecs::snmp_response r;
  EXPECT_EQ(codecs::decode_response(d->bytes, r),
            codecs::make_error_code(codecs::error::truncated));
}

TEST_F(FleetsimFaults, CorruptReplyFailsDecode) {
  give(11, fs::mask_of(fault::corrupt));
  for (int i = 0; i < 20; ++i) {
    client.send(dev_ip(11), port, bulk10(100 + i));
    auto d = client.receive();
    ASSERT_TRUE(d);
    codecs::snmp_response r;
    EXPECT_TRUE(codecs::decode_response(d->bytes, r)) << "corrupt reply " << i << " decoded";
  }
}

TEST_F(FleetsimFaults, OtherSourceReplyComesFromAnotherLoopbackAddress) {
  give(12, fs::mask_of(fault::other_source));
  client.send(dev_ip(12), port, get_name());
  auto d = client.receive();
  ASSERT_TRUE(d);
  EXPECT_NE(d->from, dev_ip(12));
  EXPECT_EQ(d->from, dev_ip(12) ^ 0x00800000u);
  EXPECT_EQ(d->from >> 24, 127u);
  EXPECT_EQ(d->from_port, port);
  codecs::snmp_response r;
  EXPECT_FALSE(codecs::decode_response(d->bytes, r));  // the reply itself is fine
}

TEST_F(FleetsimFaults, DuplicateRepliesAreIdenticalCopies) {
  fs::fault_params p;
  p.duplicate_copies = 2;
  give(13, fs::mask_of(fault::duplicate), p);
  client.send(dev_ip(13), port, get_name());
  auto a = client.receive(), b = client.receive(), c = client.receive();
  ASSERT_TRUE(a && b && c);
  EXPECT_EQ(a->bytes, b->bytes);
  EXPECT_EQ(a->bytes, c->bytes);
  EXPECT_EQ(sync(), 0u);  // exactly three
  EXPECT_EQ(fleet->counters_of(13).sent, 3u);
}

TEST(FleetsimFaultPlan, SharesPickSeededDevicesReproducibly) {
  fs::options o;
  o.devices = 20000;
  std::string why;
  ASSERT_FALSE(fs::parse_fault_plan("dead=0.05,slow=0.01,corrupt=0.2", o.faults, why));
  auto a = fs::fleet::create(o, why);
  auto b = fs::fleet::create(o, why);
  o.seed = 8;
  auto c = fs::fleet::create(o, why);
  ASSERT_TRUE(a && b && c);
  const auto dead = a->devices_with(fault::dead);
  EXPECT_NEAR(static_cast<double>(dead.size()), 1000.0, 130.0);  // sd 31
  EXPECT_NEAR(static_cast<double>(a->devices_with(fault::slow).size()), 200.0, 60.0);
  EXPECT_NEAR(static_cast<double>(a->devices_with(fault::corrupt).size()), 4000.0, 300.0);
  EXPECT_TRUE(a->devices_with(fault::duplicate).empty());
  EXPECT_EQ(dead, b->devices_with(fault::dead));
  EXPECT_NE(dead, c->devices_with(fault::dead));
  // The choice is independent per fault: dead and corrupt overlap about as chance says.
  std::size_t both = 0;
  for (auto d : dead) both += (a->device_faults(d) & fs::mask_of(fault::corrupt)) ? 1 : 0;
  EXPECT_NEAR(static_cast<double>(both) / static_cast<double>(dead.size()), 0.2, 0.06);
}

}  // namespace
