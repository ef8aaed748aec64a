// Group commit: store::ingest_many() judges polls exactly as ingest() one by one does and writes
// them in few RocksDB writes; refusals stay per poll; a failed write fails its polls and every
// later one and changes nothing; concurrent callers over the same devices neither deadlock nor
// lose a poll.
#include <prometheus/registry.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <future>
#include <thread>

#include "fleetpoll/storage/testing/office_sim.hpp"
#include "storage_test_support.hpp"

namespace fleetpoll::storage::test {
namespace {

using namespace std::chrono_literals;
using testing::minute_ms;

// One poll with its snapshot bytes.
struct owned_poll {
  std::string address;
  std::uint64_t at = 0;
  std::uint8_t classes = 0;
  flatbuffers::DetachedBuffer snapshot;
  poll_record view() const { return poll_of(snapshot, address, at, classes); }
};

// Six office hours of `devices` simulated printers polled every minute at office cadences:
// replacements, alerts, counters and trays move, and every device is polled many times.
std::vector<owned_poll> office_polls(int devices, int minutes) {
  const std::uint64_t begin = testing::sim_epoch_ms + 8ull * 3'600'000;  // Monday 08:00
  std::vector<std::unique_ptr<testing::office_printer>> fleet;
  for (int i = 0; i < devices; ++i)
    fleet.push_back(
        std::make_unique<testing::office_printer>(i, begin, 11, testing::office_profile{}));
  testing::cadence c;
  std::vector<owned_poll> out;
  for (int m = 1; m <= minutes; ++m) {
    const std::uint64_t t = begin + static_cast<std::uint64_t>(m) * minute_ms;
    for (auto& p : fleet) {
      p->advance_to(t);
      const std::uint8_t due =
          m == 1 ? all_classes : testing::due_classes(c, p->number(), t - minute_ms, t);
      if (!due || !p->powered()) continue;
      out.push_back({p->address(), t, due, testing::build_snapshot(p->spec(), t)});
    }
  }
  return out;
}

// Everything the store holds about its devices: the outbox, and each device's state, samples
// and events, as comparable text.
std::vector<std::string> contents(store& db) {
  std::vector<std::string> out;
  std::vector<outbox_entry> batch;
  for (std::uint64_t after = 0;;) {
    EXPECT_FALSE(db.outbox().read(after, 1000, 1u << 30, batch));
    if (batch.empty()) break;
    for (const auto& e : batch) {
      out.push_back("outbox " + std::to_string(e.seq) + " " + e.bytes);
      after = e.seq;
    }
  }
  std::vector<device_view> devices;
  EXPECT_FALSE(db.devices(devices, false));
  for (const auto& d : devices) {
    out.push_back("device " + std::to_string(d.device_id) + " " + d.address + " " +
                  std::to_string(d.last_seen_ms) + " supplies " +
                  std::to_string(d.supplies.size()) + " alerts " + std::to_string(d.alerts.size()));
    for (const auto& s : d.supplies)
      out.push_back(" supply " + std::to_string(s.index) + " " +
                    std::to_string(s.level.value_or(-9)));
    history_result h;
    EXPECT_FALSE(db.history(d.device_id, history_query{}, h));
    for (const auto& s : h.samples)
      out.push_back(" sample " + std::to_string(s.at_ms) + " " +
                    std::to_string(static_cast<int>(s.kind)) + " " + std::to_string(s.index) + " " +
                    std::to_string(s.level.value_or(-9)) + " " +
                    std::to_string(s.count.value_or(0)));
    for (const auto& e : h.events) out.push_back(" event " + e);
  }
  return out;
}

class StorageGroupCommit : public ::testing::Test {
 protected:
  std::unique_ptr<store> open_store(const fs::path& where, prometheus::Registry* reg = nullptr,
                                    std::uint64_t min_free = 0) {
    auto o = test_options(where);
    o.clock = [] { return testing::sim_epoch_ms + 10 * testing::day_ms; };
    o.metrics = reg;
    o.min_free_bytes = min_free;
    std::unique_ptr<store> db;
    std::string detail;
    const auto ec = store::open(o, db, &detail);
    EXPECT_FALSE(ec) << detail;
    return db;
  }
  temp_dir dir_;
};

double counter_value(prometheus::Registry& reg, const std::string& name) {
  for (const auto& f : reg.Collect())
    if (f.name == name && !f.metric.empty()) return f.metric.front().counter.value;
  return -1;
}

TEST_F(StorageGroupCommit, AGroupStoresExactlyWhatOnePollPerCallStores) {
  const auto polls = office_polls(40, 240);
  ASSERT_GT(polls.size(), 2000u);
  prometheus::Registry reg_one, reg_group;
  auto one = open_store(dir_.path() / "one", &reg_one);
  auto grouped = open_store(dir_.path() / "grouped", &reg_group);
  ASSERT_TRUE(one && grouped);
  for (const auto& p : polls) ASSERT_FALSE(one->ingest(p.view()));
  // Groups of 100 span several minutes, so most hold two or three polls of one device.
  std::vector<poll_record> group;
  std::vector<std::error_code> results(100);
  std::size_t i = 0;
  while (i < polls.size()) {
    group.clear();
    for (; i < polls.size() && group.size() < 100; ++i) group.push_back(polls[i].view());
    ASSERT_FALSE(grouped->ingest_many(group, results));
    for (std::size_t k = 0; k < group.size(); ++k) ASSERT_FALSE(results[k]) << k;
  }
  const auto a = contents(*one), b = contents(*grouped);
  ASSERT_GT(one->outbox().last_seq(), 200u);  // replacements, alerts, counters: records to compare
  EXPECT_EQ(a.size(), b.size());
  EXPECT_TRUE(a == b) << "the grouped store differs from the one-poll-per-call store";
  // And it took far fewer RocksDB writes.
  const double writes_one = counter_value(reg_one, "fleetpoll_storage_writes_total");
  const double writes_grouped = counter_value(reg_group, "fleetpoll_storage_writes_total");
  EXPECT_GT(writes_grouped, 0);
  EXPECT_LT(writes_grouped * 5, writes_one) << writes_grouped << " vs " << writes_one;
}

TEST_F(StorageGroupCommit, TwoPollsOfOneDeviceInAGroupAreJudgedInOrder) {
  auto db = open_store(dir_.path());
  ASSERT_TRUE(db);
  auto d = testing::office_mfp(1);
  const std::string address = testing::sim_address(1);
  const std::uint64_t t0 = testing::sim_epoch_ms;
  d.supplies[0].level = 90;
  const auto first = testing::build_snapshot(d, t0);
  d.supplies[0].level = 10;  // down past the level threshold, the reorder point and low
  const auto second = testing::build_snapshot(d, t0 + minute_ms);
  const poll_record group[] = {poll_of(first, address, t0),
                               poll_of(second, address, t0 + minute_ms)};
  std::error_code results[2];
  ingest_stats stats[2];
  ASSERT_FALSE(db->ingest_many(group, results, stats));
  EXPECT_GT(stats[0].records, 0u);  // identity, supplies, ... of a new device
  EXPECT_GT(stats[1].records, 0u);  // judged against the first: the toner went down
  history_result h;
  ASSERT_FALSE(db->history(db->device_id(address), history_query{}, h));
  ASSERT_FALSE(h.device.supplies.empty());
  EXPECT_EQ(h.device.supplies[0].level, 10);
  int identity = 0, later = 0;
  for (const auto& e : h.events) {
    const auto* r = codecs::change_record_of(
        std::span(reinterpret_cast<const std::uint8_t*>(e.data()), e.size()));
    ASSERT_NE(r, nullptr);
    identity += r->kind() == ChangeKind::identity;
    later += r->at_ms() == t0 + minute_ms;
  }
  EXPECT_EQ(identity, 1);  // the second poll was judged as a known device, not a new one
  EXPECT_GT(later, 0);
}

TEST_F(StorageGroupCommit, ARefusedPollIsRefusedAloneAndTheRestOfTheGroupIsWritten) {
  auto db = open_store(dir_.path());
  ASSERT_TRUE(db);
  const auto good = testing::build_snapshot(testing::office_mfp(1), testing::sim_epoch_ms);
  const std::uint8_t garbage[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
  const std::string a1 = testing::sim_address(1), a2 = testing::sim_address(2),
                    a3 = testing::sim_address(3), none;
  poll_record bad_bytes = poll_of(good, a2, testing::sim_epoch_ms);
  bad_bytes.snapshot = garbage;
  const poll_record group[] = {poll_of(good, none, testing::sim_epoch_ms),
                               poll_of(good, a1, testing::sim_epoch_ms), bad_bytes,
                               poll_of(good, a3, testing::sim_epoch_ms)};
  std::error_code results[4];
  EXPECT_EQ(db->ingest_many(group, results), make_error_code(error::invalid_record));
  EXPECT_EQ(results[0], make_error_code(error::invalid_record));
  EXPECT_FALSE(results[1]);
  EXPECT_EQ(results[2], make_error_code(error::invalid_snapshot));
  EXPECT_FALSE(results[3]);
  EXPECT_NE(db->device_id(testing::sim_address(1)), 0u);
  EXPECT_EQ(db->device_id(testing::sim_address(2)), 0u);
  EXPECT_NE(db->device_id(testing::sim_address(3)), 0u);
  // A refused poll took no device id: the two stored devices are numbered one after the other.
  EXPECT_EQ(db->device_id(a3), db->device_id(a1) + 1);
}

TEST_F(StorageGroupCommit, AFailedWriteFailsItsPollsAndEveryLaterOneAndChangesNothing) {
  const auto snap = testing::build_snapshot(testing::office_mfp(1), testing::sim_epoch_ms);
  const std::uint8_t garbage[] = {1, 2, 3, 4, 5, 6, 7, 8};
  std::vector<std::string> addresses;  // the polls' views point into these
  for (int i = 0; i < 5; ++i) addresses.push_back(testing::sim_address(i));
  const std::string refused_address = testing::sim_address(9);
  poll_record refused = poll_of(snap, refused_address, testing::sim_epoch_ms);
  refused.snapshot = garbage;
  std::vector<poll_record> group = {refused};
  for (const auto& a : addresses) group.push_back(poll_of(snap, a, testing::sim_epoch_ms));
  std::vector<std::error_code> results(group.size());
  {
    // More free space asked for than any disk has: every write is refused with no_space.
    auto db = open_store(dir_.path(), nullptr, std::uint64_t{1} << 62);
    ASSERT_TRUE(db);
    EXPECT_EQ(db->ingest_many(group, results), make_error_code(error::invalid_snapshot));
    EXPECT_EQ(results[0], make_error_code(error::invalid_snapshot));  // refused for good, alone
    for (std::size_t i = 1; i < group.size(); ++i)
      EXPECT_EQ(results[i], make_error_code(error::no_space)) << i;
    EXPECT_EQ(db->outbox().last_seq(), 0u);
    for (int i = 0; i < 5; ++i) EXPECT_EQ(db->device_id(testing::sim_address(i)), 0u);
  }
  // Nothing was kept: with room again, the same polls are new devices, numbered from 1.
  auto db = open_store(dir_.path());
  ASSERT_TRUE(db);
  EXPECT_EQ(db->outbox().last_seq(), 0u);
  group.erase(group.begin());
  results.resize(group.size());
  ASSERT_FALSE(db->ingest_many(group, results));
  EXPECT_GT(db->outbox().last_seq(), 5u);
  for (int i = 0; i < 5; ++i) EXPECT_NE(db->device_id(testing::sim_address(i)), 0u);
}

TEST_F(StorageGroupCommit, ConcurrentGroupsOverTheSameDevicesNeitherDeadlockNorLoseAPoll) {
  // Two writers hand over groups of the same 50 devices in opposite orders while a reader asks
  // for the device list; each device's level steps down by 2 on every poll, so every poll of a
  // writer is a change (a sample), whichever order the two writers' polls meet in.
  prometheus::Registry reg;
  auto db = open_store(dir_.path(), &reg);
  ASSERT_TRUE(db);
  constexpr int devices = 50, rounds = 40;
  std::vector<flatbuffers::DetachedBuffer> snaps;
  for (int level = 0; level <= 100; ++level) {
    auto d = testing::office_mfp(1);
    d.supplies[0].level = level;
    snaps.push_back(testing::build_snapshot(d, testing::sim_epoch_ms));
  }
  std::atomic<bool> writers_done{false};
  auto writer = [&](bool reverse) {
    std::vector<poll_record> group;
    std::vector<std::error_code> results(devices);
    std::vector<std::string> addresses;
    for (int i = 0; i < devices; ++i) addresses.push_back(testing::sim_address(i));
    for (int r = 0; r < rounds; ++r) {
      group.clear();
      for (int k = 0; k < devices; ++k) {
        const int i = reverse ? devices - 1 - k : k;
        const auto at = testing::sim_epoch_ms + static_cast<std::uint64_t>(r) * minute_ms;
        group.push_back(poll_of(snaps[static_cast<std::size_t>(100 - 2 * r - (reverse ? 1 : 0))],
                                addresses[static_cast<std::size_t>(i)], at));
      }
      if (db->ingest_many(group, results)) return false;
    }
    return true;
  };
  auto reader = std::async(std::launch::async, [&] {
    std::size_t looks = 0;
    std::vector<device_view> v;
    while (!writers_done.load()) {
      if (db->devices(v, false)) return std::size_t{0};
      ++looks;
    }
    return looks;
  });
  auto a = std::async(std::launch::async, writer, false);
  auto b = std::async(std::launch::async, writer, true);
  ASSERT_EQ(a.wait_for(60s), std::future_status::ready) << "writers deadlocked";
  ASSERT_EQ(b.wait_for(60s), std::future_status::ready) << "writers deadlocked";
  writers_done = true;
  EXPECT_TRUE(a.get());
  EXPECT_TRUE(b.get());
  EXPECT_GT(reader.get(), 0u);
  // Every poll was written: each one carried a new level.
  const double written = [&] {
    for (const auto& f : reg.Collect())
      if (f.name == "fleetpoll_storage_polls_total")
        for (const auto& m : f.metric)
          if (!m.label.empty() && m.label[0].value == "written") return m.counter.value;
    return -1.0;
  }();
  EXPECT_EQ(written, 2.0 * devices * rounds);
  // The outbox is gapless: the sequence numbers run 1..last.
  std::uint64_t expect = 1;
  std::vector<outbox_entry> batch;
  for (std::uint64_t after = 0;;) {
    ASSERT_FALSE(db->outbox().read(after, 1000, 1u << 30, batch));
    if (batch.empty()) break;
    for (const auto& e : batch) EXPECT_EQ(e.seq, expect++);
    after = batch.back().seq;
  }
  EXPECT_EQ(expect - 1, db->outbox().last_seq());
}

}  // namespace
}  // namespace fleetpoll::storage::test
