// The adapters on their own: the [storage] config section (every field, field-named errors),
// outbox_source against the uplink's record_source contract over a real store, and the engine
// sink's group commit.
#include <gmock/gmock.h>
#include <prometheus/registry.h>

#include <atomic>
#include <condition_variable>
#include <mutex>

#include "fleetpoll/storage/engine_sink.hpp"

#include "fleetpoll/storage/config.hpp"
#include "fleetpoll/storage/outbox_source.hpp"
#include "storage_test_support.hpp"

namespace fleetpoll::storage::test {
namespace {

using ::testing::HasSubstr;

std::vector<storage_config_error> parse(std::string_view text, storage_config& out) {
  const toml::table root = toml::parse(text, std::string_view("fleetpoll.toml"));
  const toml::table* section = root["storage"].as_table();
  EXPECT_NE(section, nullptr);
  return parse_storage_config(*section, "fleetpoll.toml", out);
}

std::string messages(const std::vector<storage_config_error>& errors) {
  std::string m;
  for (const auto& e : errors) m += e.message() + "\n";
  return m;
}

TEST(StorageConfig, EveryFieldIsRead) {
  storage_config c;
  const auto errors = parse(R"(
[storage]
path = "/tmp/fleetpoll-db"
site_id = "acme-hq"
retention_days = 30
heartbeat_s = 43200
touch_s = 300
block_cache_mb = 32
write_buffer_mb = 8
background_jobs = 3
min_free_mb = 128
sync_before_handout = false
recovery_interval_ms = 500
writer_threads = 4
max_queued_polls = 1000
group_polls = 16
[storage.thresholds]
level_change = 5
reorder_point = 25
low_mark = 12
replacement_jump = 40
reseat_tolerance = 3
tray_level_change = 20
counter_delta = 1000
counter_interval_s = 0
removal_polls = 3
)",
                            c);
  ASSERT_TRUE(errors.empty()) << messages(errors);
  EXPECT_TRUE(c.enabled);
  EXPECT_EQ(c.store.path, "/tmp/fleetpoll-db");
  EXPECT_EQ(c.store.site_id, "acme-hq");
  EXPECT_EQ(c.store.retention, std::chrono::hours(24 * 30));
  EXPECT_EQ(c.store.heartbeat_period, std::chrono::hours(12));
  EXPECT_EQ(c.store.touch_period, std::chrono::minutes(5));
  EXPECT_EQ(c.store.block_cache_bytes, 32u << 20);
  EXPECT_EQ(c.store.write_buffer_bytes, 8u << 20);
  EXPECT_EQ(c.store.background_jobs, 3);
  EXPECT_EQ(c.store.min_free_bytes, 128u << 20);
  EXPECT_FALSE(c.store.sync_before_handout);
  EXPECT_EQ(c.store.recovery_interval, std::chrono::milliseconds(500));
  EXPECT_EQ(c.sink.writer_threads, 4u);
  EXPECT_EQ(c.sink.max_queued_polls, 1000u);
  EXPECT_EQ(c.sink.max_group_polls, 16u);
  const auto& t = c.store.thresholds;
  EXPECT_EQ(t.level_change, 5);
  EXPECT_EQ(t.reorder_point, 25);
  EXPECT_EQ(t.low_mark, 12);
  EXPECT_EQ(t.replacement_jump, 40);
  EXPECT_EQ(t.reseat_tolerance, 3);
  EXPECT_EQ(t.tray_level_change, 20);
  EXPECT_EQ(t.counter_delta, 1000u);
  EXPECT_EQ(t.counter_interval, std::chrono::seconds(0));
  EXPECT_EQ(t.removal_polls, 3);
}

TEST(StorageConfig, DefaultsNeedOnlyAPath) {
  storage_config c;
  const auto errors = parse("[storage]\npath = \"db\"\n", c);
  ASSERT_TRUE(errors.empty()) << messages(errors);
  const store_options defaults;
  EXPECT_EQ(c.store.retention, defaults.retention);
  EXPECT_EQ(c.store.heartbeat_period, defaults.heartbeat_period);
  EXPECT_EQ(c.store.thresholds.counter_interval, std::chrono::hours(1));
  EXPECT_EQ(c.sink.writer_threads, 2u);
}

TEST(StorageConfig, ErrorsNameTheFieldAndWhereItIs) {
  storage_config c;
  const auto errors = parse(R"([storage]
site_id = "acme hq!"
retention_days = 0
heartbeat_s = "1d"
sync_before_handout = 1
colour = "blue"
group_polls = 300
[storage.thresholds]
replacement_jump = 2
reseat_tolerance = 5
counter_interval_s = -1
)",
                            c);
  const std::string m = messages(errors);
  EXPECT_THAT(m, HasSubstr("storage.path: is required"));
  EXPECT_THAT(m, HasSubstr("fleetpoll.toml:2:11: storage.site_id: must be 1 to 64 characters"));
  EXPECT_THAT(m, HasSubstr("fleetpoll.toml:3:18: storage.retention_days: must be an integer "
                           "from 1 to 36500"));
  EXPECT_THAT(m, HasSubstr("storage.heartbeat_s: must be an integer from 60 to 604800"));
  EXPECT_THAT(m, HasSubstr("storage.sync_before_handout: must be true or false"));
  EXPECT_THAT(m, HasSubstr("fleetpoll.toml:6:1: storage.colour: unknown key"));
  EXPECT_THAT(m, HasSubstr("storage.thresholds.replacement_jump: must be larger than "
                           "reseat_tolerance"));
  EXPECT_THAT(m, HasSubstr("storage.thresholds.counter_interval_s: must be an integer from 0"));
  EXPECT_THAT(m, HasSubstr("storage.group_polls: must be an integer from 1 to 256"));
  EXPECT_EQ(errors.size(), 9u) << m;
}

TEST(StorageConfig, DisabledNeedsNoPath) {
  storage_config c;
  const auto errors = parse("[storage]\nenabled = false\n", c);
  EXPECT_TRUE(errors.empty()) << messages(errors);
  EXPECT_FALSE(c.enabled);
}

// ---- outbox_source against record_source's contract

class StorageOutboxSource : public store_fixture {
 protected:
  void SetUp() override {
    store_fixture::SetUp();
    for (int i = 0; i < 5; ++i) {
      poll(testing::office_mfp(i), all_classes, testing::sim_address(i));
      advance(1000);
    }
    total_ = db_->outbox().last_seq();
    ASSERT_GT(total_, 20u);
  }
  std::uint64_t total_ = 0;
};

TEST_F(StorageOutboxSource, ReadAppendsInOrderWithinTheLimitsAndAtLeastOne) {
  outbox_source src(*db_);
  std::vector<uplink::outbox_record> out;
  out.push_back({999, 0, "kept"});  // read() appends
  ASSERT_FALSE(src.read(0, 7, 1u << 20, out));
  ASSERT_EQ(out.size(), 8u);
  EXPECT_EQ(out[0].bytes, "kept");
  for (std::size_t i = 1; i < out.size(); ++i) {
    EXPECT_EQ(out[i].seq, i);
    EXPECT_GT(out[i].created_ms, 0u);
    const auto* r = codecs::change_record_of(
        std::span(reinterpret_cast<const std::uint8_t*>(out[i].bytes.data()), out[i].bytes.size()));
    ASSERT_NE(r, nullptr);
    EXPECT_EQ(r->seq(), out[i].seq);
  }
  // A byte limit smaller than one record still yields one record.
  out.clear();
  ASSERT_FALSE(src.read(3, 100, 1, out));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].seq, 4u);
  // Byte limit: never exceeded once more than one record is returned.
  out.clear();
  ASSERT_FALSE(src.read(0, 1000, 2000, out));
  std::size_t bytes = 0;
  for (const auto& r : out) bytes += r.bytes.size();
  EXPECT_GT(out.size(), 1u);
  EXPECT_LE(bytes, 2000u);
  // After the last: nothing.
  out.clear();
  ASSERT_FALSE(src.read(total_, 10, 1u << 20, out));
  EXPECT_TRUE(out.empty());
}

TEST_F(StorageOutboxSource, AcknowledgedRangesLeaveOutOfOrderAndRepeatedAndNothingElse) {
  outbox_source src(*db_);
  EXPECT_EQ(src.last_seq(), total_);
  EXPECT_EQ(src.depth(), total_);
  EXPECT_EQ(src.first_unacknowledged(), 1u);
  EXPECT_EQ(src.oldest_created_ms(), testing::sim_epoch_ms);
  ASSERT_FALSE(src.acknowledge(6, 10));  // out of order
  EXPECT_EQ(src.first_unacknowledged(), 1u);
  EXPECT_EQ(src.depth(), total_ - 5);
  ASSERT_FALSE(src.acknowledge(1, 5));
  ASSERT_FALSE(src.acknowledge(1, 5));  // repeated
  ASSERT_FALSE(src.acknowledge(4, 8));  // overlapping
  EXPECT_EQ(src.first_unacknowledged(), 11u);
  EXPECT_EQ(src.depth(), total_ - 10);
  EXPECT_TRUE(src.acknowledge(total_, total_ + 1));  // beyond the last: refused, nothing deleted
  EXPECT_EQ(src.depth(), total_ - 10);
  std::vector<uplink::outbox_record> out;
  ASSERT_FALSE(src.read(0, 1000, 1u << 30, out));
  ASSERT_EQ(out.size(), total_ - 10);
  EXPECT_EQ(out.front().seq, 11u);
  EXPECT_EQ(out.back().seq, total_);
  ASSERT_FALSE(src.acknowledge(11, total_));
  EXPECT_EQ(src.depth(), 0u);
  EXPECT_EQ(src.first_unacknowledged(), total_ + 1);
  EXPECT_EQ(src.oldest_created_ms(), 0u);
  // Acknowledged stays acknowledged across a restart.
  close();
  open();
  outbox_source again(*db_);
  EXPECT_EQ(again.depth(), 0u);
  EXPECT_EQ(again.last_seq(), total_);
}

TEST_F(StorageOutboxSource, TheAppendListenerHearsEveryAppend) {
  outbox_source src(*db_);
  std::atomic<int> calls{0};
  src.set_append_listener([&] { ++calls; });
  advance(60'000);
  auto d = testing::office_mfp(9);
  poll(d, all_classes, testing::sim_address(9));
  EXPECT_GE(calls.load(), 1);
  EXPECT_GT(src.last_seq(), total_);
  src.set_append_listener({});
  const int before = calls.load();
  advance(60'000);
  poll(testing::office_mfp(10), all_classes, testing::sim_address(10));
  EXPECT_EQ(calls.load(), before);
}

// The engine sink hands the polls waiting in its queue to the store together: 200 queued polls
// become ceil(200 / 64) RocksDB writes, not 200.
TEST(StorageSinkGroupCommit, QueuedPollsAreWrittenInRunsOfUpToGroupPollsPerWrite) {
  using namespace std::chrono_literals;
  temp_dir dir;
  prometheus::Registry reg;
  auto o = test_options(dir.path());
  o.metrics = &reg;
  std::unique_ptr<store> db;
  ASSERT_FALSE(store::open(o, db));
  // The writer thread calls the append listener after a write that appended records; it holds
  // the writer there until the test has queued the rest.
  std::mutex m;
  std::condition_variable cv;
  int appends = 0;
  bool release = false;
  db->outbox().set_append_listener([&] {
    std::unique_lock l(m);
    ++appends;
    cv.notify_all();
    cv.wait_for(l, 30s, [&] { return release; });
  });
  engine_sink_options so;
  so.writer_threads = 1;
  so.max_group_polls = 64;
  engine_sink sink(*db, so);
  std::vector<std::string> addresses;
  for (int n = 0; n <= 200; ++n) addresses.push_back(testing::sim_address(n));
  auto push = [&](int n) {
    const auto buf = testing::build_snapshot(testing::office_mfp(n), testing::sim_epoch_ms);
    engine::poll_record r;
    r.address = addresses[static_cast<std::size_t>(n)];
    r.at_ms = testing::sim_epoch_ms;
    r.classes = all_classes;
    r.snapshot = std::span(buf.data(), buf.size());
    sink.on_poll(r);  // copies the snapshot
  };
  push(0);
  {
    std::unique_lock l(m);
    ASSERT_TRUE(cv.wait_for(l, 30s, [&] { return appends == 1; }));
  }
  for (int n = 1; n <= 200; ++n) push(n);
  EXPECT_EQ(sink.stats().queued, 201u);  // the writer holds one, 200 wait
  {
    std::lock_guard l(m);
    release = true;
  }
  cv.notify_all();
  ASSERT_TRUE(sink.drain(30s));
  EXPECT_EQ(sink.stats().written, 201u);
  double writes = -1;
  for (const auto& f : reg.Collect())
    if (f.name == "fleetpoll_storage_writes_total") writes = f.metric.at(0).counter.value;
  EXPECT_EQ(writes, 1 + 4);  // the first poll alone, then 64 + 64 + 64 + 8
  for (int n = 0; n <= 200; ++n)
    EXPECT_NE(db->device_id(addresses[static_cast<std::size_t>(n)]), 0u);
  sink.stop(1s);
  db->outbox().set_append_listener(nullptr);
}

}  // namespace
}  // namespace fleetpoll::storage::test
