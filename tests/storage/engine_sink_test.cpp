// The adapters end to end: the real engine polls an in-process fleetsim through real UDP on
// loopback into storage::engine_sink and a real RocksDB store; storage::outbox_source feeds the
// real uplink sender, through a real prosody, to the real receiver.
#include <gmock/gmock.h>
#include <prometheus/registry.h>

#include <set>

#include "delivery_check.hpp"
#include "fleetpoll/storage/outbox_source.hpp"
#include "fleetpoll/storage/testing/engine_fleet.hpp"
#include "fleetpoll/uplink/receiver.hpp"
#include "fleetpoll/uplink/sender.hpp"
#include "io_thread.hpp"
#include "storage_test_support.hpp"
#include "uplink_env.hpp"

namespace fleetpoll::storage::test {
namespace {

using testing::add_fleet;
using testing::device_key;
using testing::fast_engine_options;
using testing::poll_round;
using testing::sim_rig;

using namespace std::chrono_literals;
namespace sim = fleetpoll::fleetsim;

std::unique_ptr<sim::fleet> start_fleet(std::uint32_t devices, std::uint64_t seed = 11) {
  sim::options o;
  o.devices = devices;
  o.port = 0;
  o.seed = seed;
  o.acceleration = 0;  // frozen: every poll of a round sees the same simulated moment
  std::string why;
  auto f = sim::fleet::create(o, why);
  if (!f) {
    ADD_FAILURE() << "fleetsim: " << why;
    return nullptr;
  }
  if (f->start(why)) {
    ADD_FAILURE() << "fleetsim start: " << why;
    return nullptr;
  }
  return f;
}

std::unique_ptr<store> open_store(const fs::path& dir, prometheus::Registry* reg = nullptr) {
  auto o = test_options(dir);
  o.metrics = reg;
  std::unique_ptr<store> db;
  std::string detail;
  EXPECT_FALSE(store::open(o, db, &detail)) << detail;
  return db;
}

std::vector<record> all_records(store& db) {
  std::vector<record> out;
  std::vector<outbox_entry> batch;
  for (std::uint64_t after = 0;;) {
    EXPECT_FALSE(db.outbox().read(after, 1000, 1u << 30, batch));
    if (batch.empty()) break;
    for (auto& e : batch) {
      after = e.seq;
      out.push_back({e.seq, e.created_ms, std::move(e.bytes)});
    }
  }
  return out;
}

TEST(StorageEngineSink, TheEnginePollsFleetsimIntoTheStoreAndItMatchesTheTruth) {
  temp_dir dir;
  prometheus::Registry reg;
  auto fleet = start_fleet(60);
  ASSERT_TRUE(fleet);
  auto db = open_store(dir.path(), &reg);
  ASSERT_TRUE(db);
  engine_sink_options so;
  so.metrics = &reg;
  engine_sink sink(*db, so);
  engine::engine eng(fast_engine_options(), sink);
  ASSERT_TRUE(add_fleet(eng, *fleet));
  ASSERT_FALSE(eng.start());
  ASSERT_TRUE(poll_round(eng, sink));
  const auto es = eng.stats();
  const auto ss = sink.stats();
  EXPECT_EQ(es.polls_complete, 60u);
  EXPECT_EQ(ss.polls_received, 60u);
  EXPECT_EQ(ss.written, 60u);
  EXPECT_EQ(ss.dropped + ss.merged + ss.rejected + ss.retries, 0u);

  // Every device is stored with what fleetsim says it serves at that moment.
  std::vector<device_view> devices;
  ASSERT_FALSE(db->devices(devices, false));
  ASSERT_EQ(devices.size(), 60u);
  std::map<std::string, const device_view*> by_address;
  for (const auto& d : devices) by_address[d.address] = &d;
  std::size_t supplies = 0;
  for (std::uint32_t i = 0; i < fleet->size(); ++i) {
    const auto truth = fleet->truth(i);
    ASSERT_TRUE(by_address.count(device_key(*fleet, i))) << device_key(*fleet, i);
    const device_view& v = *by_address.at(device_key(*fleet, i));
    EXPECT_EQ(v.serial, truth.serial);
    ASSERT_EQ(v.supplies.size(), truth.supplies.size()) << v.address;
    for (const auto& ts : truth.supplies) {
      const auto it = std::find_if(v.supplies.begin(), v.supplies.end(), [&](const auto& s) {
        return s.hr_device_index == ts.hr_device_index && s.index == ts.index;
      });
      ASSERT_NE(it, v.supplies.end()) << v.address << " supply " << ts.index;
      EXPECT_EQ(it->level, ts.level) << v.address << " supply " << ts.index;
      ++supplies;
    }
    ASSERT_EQ(v.counters.size(), truth.markers.size());
    for (std::size_t m = 0; m < truth.markers.size(); ++m)
      EXPECT_EQ(v.counters[m].life_count, truth.markers[m].life_count) << v.address;
  }
  EXPECT_GT(supplies, 60u);
  // The identity of each device went into the outbox once.
  const auto recs = all_records(*db);
  std::set<std::string> identified;
  for (const auto& r : recs)
    if (r.kind() == ChangeKind::identity) {
      EXPECT_TRUE(identified.insert(r.get()->address()->str()).second);
    }
  EXPECT_EQ(identified.size(), 60u);

  // A second round three simulated days later: the records follow fleetsim's replacements.
  fleet->set_time(fleet->sim_time() + 3 * 86400);
  ASSERT_TRUE(poll_round(eng, sink));
  std::size_t truth_replacements = 0, recorded = 0;
  const auto after = all_records(*db);
  for (std::uint32_t i = 0; i < fleet->size(); ++i) {
    const auto before_t = fleet->truth(i, fleet->sim_time() - 3 * 86400);
    const auto now_t = fleet->truth(i);
    for (std::size_t s = 0; s < now_t.supplies.size(); ++s)
      truth_replacements += static_cast<std::size_t>(now_t.supplies[s].replacements -
                                                     before_t.supplies[s].replacements);
  }
  for (const auto& r : after)
    if (r.kind() == ChangeKind::supply_replaced) ++recorded;
  // Between two polls three days apart, a supply replaced once is seen as one replacement (a
  // level far above the last one); fleetsim replaces a supply at most once in three days.
  EXPECT_EQ(recorded, truth_replacements);
  EXPECT_GT(truth_replacements, 0u);
  eng.stop(1s);
  sink.stop(10s);
  // The sink's metric families exist and agree with its counters.
  bool found = false;
  for (const auto& f : reg.Collect())
    if (f.name == "fleetpoll_storage_sink_polls_total")
      for (const auto& m : f.metric)
        if (m.label[0].value == "written") {
          EXPECT_EQ(m.counter.value, 120.0);
          found = true;
        }
  EXPECT_TRUE(found);
}

TEST(StorageEngineSink, ADeviceThatStopsAnsweringIsRecordedDownThenUp) {
  temp_dir dir;
  auto fleet = start_fleet(4);
  ASSERT_TRUE(fleet);
  auto db = open_store(dir.path());
  ASSERT_TRUE(db);
  engine_sink sink(*db);
  auto eo = fast_engine_options(1);
  eo.schedule.down_after = 2;
  eo.client.retries = 1;
  eo.client.rtt.initial = 30ms;
  eo.client.rtt.max = 100ms;
  engine::engine eng(eo, sink);
  ASSERT_TRUE(add_fleet(eng, *fleet));
  ASSERT_FALSE(eng.start());
  eng.poll_all_now();
  ASSERT_TRUE(eng.wait_idle(30s));
  ASSERT_FALSE(fleet->set_device_faults(2, sim::mask_of(sim::fault::dead)));
  for (int i = 0; i < 2; ++i) {
    eng.poll_all_now();
    ASSERT_TRUE(eng.wait_idle(30s));
  }
  ASSERT_TRUE(sink.drain(10s));
  ASSERT_EQ(eng.stats().down_events, 1u);
  auto recs = all_records(*db);
  std::vector<std::string> downs;
  for (const auto& r : recs)
    if (r.kind() == ChangeKind::device_down) downs.push_back(r.get()->address()->str());
  EXPECT_THAT(downs, ::testing::ElementsAre(device_key(*fleet, 2)));
  std::vector<device_view> devices;
  ASSERT_FALSE(db->devices(devices, false));
  const auto down = std::find_if(devices.begin(), devices.end(),
                                 [&](const auto& d) { return d.address == device_key(*fleet, 2); });
  ASSERT_NE(down, devices.end());
  EXPECT_FALSE(down->up);
  // It answers again: the next poll records it up.
  ASSERT_FALSE(fleet->set_device_faults(2, 0));
  eng.poll_all_now();
  ASSERT_TRUE(eng.wait_idle(30s));
  ASSERT_TRUE(sink.drain(10s));
  recs = all_records(*db);
  EXPECT_EQ(std::count_if(recs.begin(), recs.end(),
                          [](const record& r) { return r.kind() == ChangeKind::device_up; }),
            1);
  eng.stop(1s);
}

// The outbox, filled by the engine, leaves through the real uplink: every record arrives once,
// in order, identical, and is removed from the outbox only once acknowledged.
TEST(StorageUplink, TheSenderDeliversTheOutboxAndOnlyAcknowledgedRecordsLeave) {
  namespace up = fleetpoll::uplink;
  up::test::uplink_env env;
  const std::string setup_error = env.setup();
  ASSERT_EQ(setup_error, "") << "prosody harness failed";
  temp_dir dir;
  auto fleet = start_fleet(40);
  ASSERT_TRUE(fleet);
  auto o = test_options(dir.path());
  o.site_id = "acme-hq";  // the site the uplink harness's receiver knows
  std::unique_ptr<store> db;
  std::string detail;
  ASSERT_FALSE(store::open(o, db, &detail)) << detail;
  engine_sink sink(*db);
  engine::engine eng(fast_engine_options(), sink);
  ASSERT_TRUE(add_fleet(eng, *fleet));
  ASSERT_FALSE(eng.start());
  ASSERT_TRUE(poll_round(eng, sink));
  const auto sent = all_records(*db);
  ASSERT_GT(sent.size(), 200u);
  std::vector<up::outbox_record> expected;
  for (const auto& r : sent) expected.push_back({r.seq, r.created_ms, r.bytes});

  const std::string out = env.dir() + "/received.jsonl";
  up::test::io_thread recv_io, send_io;
  up::receiver rcv(recv_io.io, env.receiver_opts(out));
  ASSERT_FALSE(rcv.start());
  outbox_source source(*db);
  auto so = env.sender_opts();
  so.audit_path = env.dir() + "/audit.jsonl";
  so.max_batch_bytes = 8 * 1024;
  up::sender snd(send_io.io, source, env.keys(), so);
  ASSERT_FALSE(snd.start());
  // More records while the sender runs: a second round a day later.
  fleet->set_time(fleet->sim_time() + 86400);
  ASSERT_TRUE(poll_round(eng, sink));
  eng.stop(1s);
  const std::uint64_t last = db->outbox().last_seq();
  ASSERT_GT(last, sent.size());
  for (const auto& r : all_records(*db))
    if (r.seq > sent.back().seq) expected.push_back({r.seq, r.created_ms, r.bytes});
  ASSERT_EQ(expected.size(), last);
  ASSERT_TRUE(up::test::wait_until([&] { return db->outbox().depth() == 0; }, 60s))
      << "depth " << db->outbox().depth();
  snd.stop();
  rcv.stop();
  EXPECT_EQ(up::test::compare_delivery(expected, up::test::read_received(out), "acme-hq"), "");
  EXPECT_EQ(db->outbox().first_unacknowledged(), last + 1);
  EXPECT_EQ(snd.counters().records_acknowledged.load(), last);
}

}  // namespace
}  // namespace fleetpoll::storage::test
