// fleetsim's agent over real UDP on loopback, checked with the project's SNMP codec (net-snmp's
// BER underneath): walks give the template exactly, exceptions and errors follow RFC 1157/3416,
// size limits hold, a wrong community and a non-device address get silence, and hostile
// datagrams are dropped and counted without stopping the fleet.
#include <gtest/gtest.h>

#include <random>
#include <set>

#include "fleetpoll/codecs/snmprec.hpp"
#include "support.hpp"

namespace {

using namespace fleetsim_test;
using codecs::pdu_type;
using codecs::value_type;

struct walked {
  std::vector<codecs::varbind> rows;
  bool ended_with_end_of_view = false;
  int requests = 0;
};

// Walks everything after `root` (GETNEXT or GETBULK) until endOfMibView, an error, or 20000
// requests.
walked walk(udp_client& c, std::uint32_t dev, std::uint16_t port, const codecs::oid& root,
            bool bulk, codecs::snmp_version v = codecs::snmp_version::v2c) {
  walked w;
  codecs::oid cur = root;
  for (int rid = 1; rid < 20000; ++rid) {
    ++w.requests;
    auto r =
        ask(c, dev, port,
            encode(bulk ? pdu_type::get_bulk : pdu_type::get_next, {cur}, rid, v, "public", 25));
    if (!r) {
      ADD_FAILURE() << "no reply after " << cur.to_string();
      return w;
    }
    EXPECT_EQ(r->request_id, rid);
    if (r->error_status != 0) return w;  // v1: noSuchName at the end
    if (r->varbinds.empty()) return w;
    for (const auto& vb : r->varbinds) {
      if (vb.val.type == value_type::end_of_mib_view) {
        w.ended_with_end_of_view = true;
        return w;
      }
      EXPECT_LT(cur, vb.name) << "walk order broken at " << vb.name.to_string();
      cur = vb.name;
      w.rows.push_back(vb);
    }
  }
  return w;
}

codecs::mib_view load(const std::filesystem::path& p) {
  auto r = codecs::load_snmprec_file(p, {.skip_bad_lines = true});
  EXPECT_TRUE(r) << r.message();
  for (const auto& c : codecs::snmprec_context_companions(p))
    r.view.merge(codecs::load_snmprec_file(c).view);
  return std::move(r.view);
}

class FleetsimStatic : public ::testing::Test {
 protected:
  void SetUp() override {
    files = {test_fixtures() / "synthetic_color_mfp.snmprec",
             test_fixtures() / "synthetic_mono_toner_empty.snmprec",
             test_fixtures() / "synthetic_alert_edges.snmprec"};
    for (const char* real : {"jetdirect_m880", "sharp", "ricoh_mpc2503", "brother", "zebra",
                             "jetdirect_supplies_context"})
      if (std::filesystem::exists(shared_fixtures() / (std::string(real) + ".snmprec")))
        files.push_back(shared_fixtures() / (std::string(real) + ".snmprec"));
    fs::options o;
    o.devices = 64;
    o.profile = "static";
    o.templates = files;
    o.max_response_bytes = 1472;
    fleet = start_fleet(o);
    ASSERT_TRUE(fleet);
    port = fleet->port();
  }
  std::uint32_t dev_ip(std::uint32_t i) { return ip(fleet->address_of(i)); }

  std::vector<std::filesystem::path> files;
  std::unique_ptr<fs::fleet> fleet;
  std::uint16_t port = 0;
  udp_client client;
};

TEST_F(FleetsimStatic, GetNextAndGetBulkWalksGiveEveryTemplateRowInOrder) {
  for (std::uint32_t t = 0; t < files.size(); ++t) {
    SCOPED_TRACE(files[t].filename().string());
    const auto view = load(files[t]);
    for (bool bulk : {false, true}) {
      const auto w = walk(client, dev_ip(t), port, O("1.3"), bulk);
      EXPECT_TRUE(w.ended_with_end_of_view);
      ASSERT_EQ(w.rows.size(), view.size());
      for (std::size_t i = 0; i < w.rows.size(); ++i) {
        EXPECT_EQ(w.rows[i].name, view.rows()[i].name);
        // A leading-dot OID value or an odd recording value is served as its BER form, which
        // decodes to the same value.
        EXPECT_EQ(w.rows[i].val, view.rows()[i].val) << w.rows[i].name.to_string();
      }
      if (bulk) {
        EXPECT_LT(w.requests, static_cast<int>(view.size()));
      }
    }
  }
}

TEST_F(FleetsimStatic, GetAnswersValuesNoSuchInstanceAndNoSuchObject) {
  auto r = ask(client, dev_ip(0), port,
               encode(pdu_type::get,
                      {O("1.3.6.1.2.1.1.5.0"), O("1.3.6.1.2.1.1.5.1"), O("1.3.6.1.2.1.1.99.0"),
                       O("1.3.6.1.2.1.43.11.1.1.9.1.2"), O("1.3.6.1.2.1.43.11.1.1.9.1.99")}));
  ASSERT_TRUE(r);
  ASSERT_EQ(r->error_status, 0);
  ASSERT_EQ(r->varbinds.size(), 5u);
  EXPECT_EQ(r->varbinds[0].val, codecs::value::make_string("mfp-floor2-east"));
  EXPECT_EQ(r->varbinds[1].val.type, value_type::no_such_instance);
  EXPECT_EQ(r->varbinds[2].val.type, value_type::no_such_object);
  EXPECT_EQ(r->varbinds[3].val, codecs::value::make_integer(90));  // cyan toner 5 % of 1800
  EXPECT_EQ(r->varbinds[4].val.type, value_type::no_such_instance);
  EXPECT_EQ(r->varbinds[4].name, O("1.3.6.1.2.1.43.11.1.1.9.1.99"));
}

TEST_F(FleetsimStatic, SnmpV1ErrorsAreNoSuchNameWithTheRequestVarbinds) {
  auto r = ask(client, dev_ip(0), port,
               encode(pdu_type::get, {O("1.3.6.1.2.1.1.5.0"), O("1.3.6.1.2.1.1.99.0")}, 9,
                      codecs::snmp_version::v1));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->version, codecs::snmp_version::v1);
  EXPECT_EQ(r->error_status, 2);  // noSuchName
  EXPECT_EQ(r->error_index, 2);
  ASSERT_EQ(r->varbinds.size(), 2u);
  EXPECT_EQ(r->varbinds[1].val.type, value_type::null);
  // GETNEXT past the last row: noSuchName too.
  const auto view = load(files[0]);
  r = ask(client, dev_ip(0), port,
          encode(pdu_type::get_next, {view.rows().back().name}, 10, codecs::snmp_version::v1));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->error_status, 2);
  EXPECT_EQ(r->error_index, 1);
  // A v1 walk ends with noSuchName and has every row (the synthetic recordings hold no Counter64).
  const auto w = walk(client, dev_ip(0), port, O("1.3"), false, codecs::snmp_version::v1);
  EXPECT_EQ(w.rows.size(), view.size());
}

TEST_F(FleetsimStatic, GetNextPastTheEndIsEndOfMibViewNamedAfterTheRequest) {
  auto r = ask(client, dev_ip(1), port, encode(pdu_type::get_next, {O("1.3.6.1.9")}));
  ASSERT_TRUE(r);
  ASSERT_EQ(r->varbinds.size(), 1u);
  EXPECT_EQ(r->varbinds[0].name, O("1.3.6.1.9"));
  EXPECT_EQ(r->varbinds[0].val.type, value_type::end_of_mib_view);
}

TEST_F(FleetsimStatic, GetBulkRepeatsColumnsAndStopsBeforeTheSizeLimit) {
  // Two columns side by side (RFC 3416 4.2.3 order), one non-repeater.
  auto r = ask(
      client, dev_ip(0), port,
      encode(pdu_type::get_bulk,
             {O("1.3.6.1.2.1.1.4"), O("1.3.6.1.2.1.43.11.1.1.6.1"), O("1.3.6.1.2.1.43.11.1.1.9.1")},
             3, codecs::snmp_version::v2c, "public", 3, 1));
  ASSERT_TRUE(r);
  ASSERT_EQ(r->varbinds.size(), 7u);
  EXPECT_EQ(r->varbinds[0].name, O("1.3.6.1.2.1.1.4.0"));
  EXPECT_EQ(r->varbinds[1].name, O("1.3.6.1.2.1.43.11.1.1.6.1.1"));
  EXPECT_EQ(r->varbinds[2].name, O("1.3.6.1.2.1.43.11.1.1.9.1.1"));
  EXPECT_EQ(r->varbinds[5].name, O("1.3.6.1.2.1.43.11.1.1.6.1.3"));
  EXPECT_EQ(r->varbinds[6].name, O("1.3.6.1.2.1.43.11.1.1.9.1.3"));
  // A huge max-repetitions is cut at the size limit, never beyond it.
  client.send(
      dev_ip(0), port,
      encode(pdu_type::get_bulk, {O("1.3")}, 4, codecs::snmp_version::v2c, "public", 100000));
  auto d = client.receive();
  ASSERT_TRUE(d);
  EXPECT_LE(d->bytes.size(), 1472u);
  codecs::snmp_response big;
  ASSERT_FALSE(codecs::decode_response(d->bytes, big));
  EXPECT_GT(big.varbinds.size(), 15u);
  EXPECT_EQ(big.error_status, 0);
}

TEST_F(FleetsimStatic, GetLargerThanTheLimitAnswersTooBig) {
  std::vector<codecs::oid> names(100, O("1.3.6.1.2.1.1.1.0"));  // 100 x sysDescr (~120 bytes each)
  auto r = ask(client, dev_ip(0), port, encode(pdu_type::get, names));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->error_status, 1);  // tooBig
  EXPECT_TRUE(r->varbinds.empty());
  EXPECT_GE(fleet->totals().too_big, 1u);
}

TEST_F(FleetsimStatic, WrongCommunityAndNonDeviceAddressesGetSilence) {
  const auto before = fleet->totals();
  client.send(
      dev_ip(0), port,
      encode(pdu_type::get, {O("1.3.6.1.2.1.1.5.0")}, 1, codecs::snmp_version::v2c, "private"));
  client.send(ip(fleet->address_of(63)) + 1, port,
              encode(pdu_type::get, {O("1.3.6.1.2.1.1.5.0")}, 2));
  client.send(ip("127.1.0.0"), port, encode(pdu_type::get, {O("1.3.6.1.2.1.1.5.0")}, 3));
  const auto others = barrier(client, dev_ip(0), port);
  ASSERT_TRUE(others);
  EXPECT_EQ(*others, 0u);
  const auto after = fleet->totals();
  EXPECT_EQ(after.bad_community - before.bad_community, 1u);
  EXPECT_EQ(after.not_device - before.not_device, 2u);
  EXPECT_EQ(fleet->counters_of(0).dropped, 1u);
}

TEST_F(FleetsimStatic, HostileDatagramsAreDroppedCountedAndTheFleetKeepsAnswering) {
  const std::uint32_t dev = dev_ip(2);
  const auto good = encode(pdu_type::get_bulk, {O("1.3.6.1.2.1.43")}, 5);
  std::vector<std::vector<std::uint8_t>> hostile = {
      {},                                                       // empty
      {0x30},                                                   // one byte
      {0x30, 0x84, 0x7F, 0xFF, 0xFF, 0xFF},                     // length beyond the datagram
      std::vector<std::uint8_t>(good.begin(), good.end() - 3),  // truncated
      std::vector<std::uint8_t>(1400, 0x30),                    // nested SEQUENCE headers
      std::vector<std::uint8_t>(3000, 0xFF),                    // garbage
  };
  std::mt19937 rng(11);
  for (int i = 0; i < 200;
       ++i) {  // mutated requests: malformed ones are counted, valid ones answered
    auto m = good;
    m[rng() % m.size()] = static_cast<std::uint8_t>(rng());
    hostile.push_back(m);
  }
  std::vector<std::uint8_t> huge(9000, 0x30);  // larger than the 4 KiB receive slot
  const auto before = fleet->totals();
  for (const auto& h : hostile) client.send(dev, port, h);
  client.send(dev, port, huge);
  const auto replies = barrier(client, dev_ip(0), port);
  ASSERT_TRUE(replies);
  const auto after = fleet->totals();
  const auto dropped = (after.malformed - before.malformed) + (after.oversize - before.oversize) +
                       (after.bad_community - before.bad_community);
  EXPECT_EQ(after.oversize - before.oversize, 1u);
  EXPECT_GE(after.malformed - before.malformed, 6u);
  EXPECT_EQ(dropped + *replies,
            hostile.size() + 1);  // every datagram is either answered or counted
  EXPECT_EQ(fleet->counters_of(2).received, hostile.size() + 1);
  auto r = ask(client, dev, port, good);
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->varbinds.empty());
}

TEST_F(FleetsimStatic, CountsWhatEachDeviceReceivedAndSent) {
  for (int i = 0; i < 5; ++i)
    ASSERT_TRUE(ask(client, dev_ip(3), port, encode(pdu_type::get, {O("1.3.6.1.2.1.1.1.0")}, i)));
  EXPECT_EQ(fleet->counters_of(3).received, 5u);
  EXPECT_EQ(fleet->counters_of(3).sent, 5u);
  EXPECT_EQ(fleet->truth(3).counters.sent, 5u);
  EXPECT_EQ(fleet->counters_of(4).received, 0u);
}

TEST(FleetsimLifecycle, StopsPromptlyAndReleasesThePort) {
  fs::options o;
  o.devices = 10;
  auto f = start_fleet(o);
  ASSERT_TRUE(f);
  const auto port = f->port();
  std::string why;
  EXPECT_EQ(f->start(why), fs::make_error_code(fs::error::already_started));
  const auto t0 = std::chrono::steady_clock::now();
  f->stop();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 1s);
  EXPECT_FALSE(f->running());
  // The port is free again: another fleet binds it.
  o.port = port;
  auto g = fs::fleet::create(o, why);
  ASSERT_TRUE(g);
  EXPECT_FALSE(g->start(why)) << why;
  // And a second fleet on a taken port says so.
  auto h = fs::fleet::create(o, why);
  ASSERT_TRUE(h);
  EXPECT_TRUE(h->start(why));
  EXPECT_NE(why.find("bind"), std::string::npos) << why;
}

TEST(FleetsimLifecycle, SeveralWorkersShareTheSocketAndAnswerEverything) {
  fs::options o;
  o.devices = 1000;
  o.threads = 2;
  auto f = start_fleet(o);
  ASSERT_TRUE(f);
  udp_client c;
  std::set<std::int32_t> pending;
  for (std::int32_t i = 0; i < 600; ++i) {
    c.send(ip(f->address_of(static_cast<std::uint32_t>(i))), f->port(),
           encode(pdu_type::get, {O("1.3.6.1.2.1.1.5.0")}, 1000 + i));
    pending.insert(1000 + i);
  }
  while (!pending.empty()) {
    auto d = c.receive();
    ASSERT_TRUE(d) << pending.size() << " replies missing";
    codecs::snmp_response r;
    ASSERT_FALSE(codecs::decode_response(d->bytes, r));
    EXPECT_EQ(pending.erase(r.request_id), 1u);
    // Each reply comes from the address it was sent to, whichever worker answered.
    EXPECT_EQ(d->from, ip(f->address_of(static_cast<std::uint32_t>(r.request_id - 1000))));
  }
  EXPECT_EQ(f->totals().answered, 600u);
}

TEST(FleetsimOptions, RefusesAddressesOutsideLoopbackAndBadValues) {
  std::string why;
  fs::options o;
  o.base_address = "10.0.0.1";
  EXPECT_FALSE(fs::fleet::create(o, why));
  EXPECT_NE(why.find("loopback"), std::string::npos) << why;
  o.base_address = "127.255.255.250";
  o.devices = 10;  // would run past 127.255.255.254
  EXPECT_FALSE(fs::fleet::create(o, why));
  o = {};
  o.profile = "factory";
  EXPECT_FALSE(fs::fleet::create(o, why));
  o = {};
  o.templates = {"/nonexistent/x.snmprec"};
  EXPECT_FALSE(fs::fleet::create(o, why));
  EXPECT_NE(why.find("does not exist"), std::string::npos);
  fs::fault_plan plan;
  EXPECT_TRUE(fs::parse_fault_plan("dead=2", plan, why));
  EXPECT_TRUE(fs::parse_fault_plan("bogus=0.1", plan, why));
  EXPECT_TRUE(fs::parse_fault_plan("slow", plan, why));
  EXPECT_FALSE(fs::parse_fault_plan("loss=0.1,dead=0.05,slow=0.01,slow_ms=800ms", plan, why))
      << why;
  EXPECT_EQ(fs::describe(plan), "loss=0.1,dead=0.05,slow=0.01,slow_ms=800");
}

}  // namespace
