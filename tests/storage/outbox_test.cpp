// The durable outbox: order, batching limits, acknowledgement semantics (out of order, across a
// restart), sequence numbers that never repeat, the append listener, concurrent writers.
#include <atomic>
#include <set>
#include <thread>

#include "storage_test_support.hpp"

namespace fleetpoll::storage::test {
namespace {

constexpr std::uint64_t minute = 60'000;

class StorageOutbox : public store_fixture {
 protected:
  // Appends records until the outbox holds at least n: each new device gives a dozen or more.
  void fill(std::uint64_t n) {
    int i = 0;
    while (db_->outbox().last_seq() < n) {
      advance(minute);
      poll(testing::office_mfp(i), all_classes, testing::sim_address(i));
      ++i;
    }
  }
  std::vector<std::uint64_t> seqs() {
    std::vector<std::uint64_t> v;
    for (const auto& r : records()) v.push_back(r.seq);
    return v;
  }
  static std::vector<std::uint64_t> range(std::uint64_t a, std::uint64_t b) {
    std::vector<std::uint64_t> v;
    for (auto s = a; s <= b; ++s) v.push_back(s);
    return v;
  }
};

TEST_F(StorageOutbox, ReadReturnsRecordsAfterTheGivenSequenceInOrderWithinLimits) {
  fill(40);
  auto& ob = db_->outbox();
  std::vector<outbox_entry> out;
  ASSERT_FALSE(ob.read(0, 10, 1u << 20, out));
  ASSERT_EQ(out.size(), 10u);
  for (std::size_t i = 0; i < out.size(); ++i) EXPECT_EQ(out[i].seq, i + 1);
  ASSERT_FALSE(ob.read(7, 5, 1u << 20, out));
  ASSERT_EQ(out.size(), 5u);
  EXPECT_EQ(out.front().seq, 8u);
  // A byte budget cuts the batch ...
  const std::size_t one = out[0].bytes.size();
  ASSERT_FALSE(ob.read(7, 100, one + 1, out));
  EXPECT_EQ(out.size(), 1u);
  // ... but the first record always comes, even when it alone is over the budget.
  ASSERT_FALSE(ob.read(7, 100, 1, out));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].seq, 8u);
  // Past the end: nothing, no error.
  ASSERT_FALSE(ob.read(ob.last_seq(), 100, 1u << 20, out));
  EXPECT_TRUE(out.empty());
  EXPECT_EQ(ob.depth(), ob.last_seq());
  EXPECT_EQ(ob.first_unacknowledged(), 1u);
}

TEST_F(StorageOutbox, AcknowledgementsDeleteOnlyTheirRangeAndMayComeOutOfOrder) {
  fill(30);
  auto& ob = db_->outbox();
  const auto last = ob.last_seq();
  ASSERT_FALSE(ob.acknowledge(11, 20));
  EXPECT_EQ(ob.first_unacknowledged(), 1u);
  EXPECT_EQ(ob.depth(), last - 10);
  auto s = seqs();
  EXPECT_EQ(s.front(), 1u);
  EXPECT_EQ(std::count_if(s.begin(), s.end(), [](auto x) { return x >= 11 && x <= 20; }), 0);
  ASSERT_FALSE(ob.acknowledge(5, 10));
  EXPECT_EQ(ob.first_unacknowledged(), 1u);
  ASSERT_FALSE(ob.acknowledge(1, 4));
  EXPECT_EQ(ob.first_unacknowledged(), 21u);  // 1..20 all confirmed now
  ASSERT_FALSE(ob.acknowledge(15, 25));       // overlapping and repeated: fine
  EXPECT_EQ(ob.first_unacknowledged(), 26u);
  EXPECT_EQ(ob.depth(), last - 25);
  EXPECT_EQ(seqs(), range(26, last));
}

TEST_F(StorageOutbox, InvalidAcknowledgementsAreRefusedAndChangeNothing) {
  fill(5);
  auto& ob = db_->outbox();
  const auto depth = ob.depth();
  EXPECT_EQ(ob.acknowledge(0, 3), make_error_code(error::invalid_ack));
  EXPECT_EQ(ob.acknowledge(4, 3), make_error_code(error::invalid_ack));
  EXPECT_EQ(ob.acknowledge(1, ob.last_seq() + 1), make_error_code(error::invalid_ack));
  EXPECT_EQ(ob.depth(), depth);
}

TEST_F(StorageOutbox, AcknowledgedStateAndSequenceNumbersSurviveARestart) {
  fill(30);
  auto& ob = db_->outbox();
  const auto last = ob.last_seq();
  ASSERT_FALSE(ob.acknowledge(21, 25));
  ASSERT_FALSE(ob.acknowledge(1, 10));
  close();
  open();
  auto& ob2 = db_->outbox();
  EXPECT_EQ(ob2.last_seq(), last);
  EXPECT_EQ(ob2.first_unacknowledged(), 11u);
  EXPECT_EQ(ob2.depth(), last - 15);
  // The gap 21..25 is remembered: acknowledging 11..20 moves past it.
  ASSERT_FALSE(ob2.acknowledge(11, 20));
  EXPECT_EQ(ob2.first_unacknowledged(), 26u);
  // New records continue the sequence.
  advance(minute);
  poll(testing::office_mfp(999), all_classes, "127.9.0.1:1161");
  const auto r = records(last);
  ASSERT_FALSE(r.empty());
  EXPECT_EQ(r.front().seq, last + 1);
}

TEST_F(StorageOutbox, SequenceNumbersAreNeverReusedEvenWhenEverythingWasAcknowledged) {
  fill(12);
  auto& ob = db_->outbox();
  const auto last = ob.last_seq();
  ASSERT_FALSE(ob.acknowledge(1, last));
  EXPECT_EQ(ob.depth(), 0u);
  EXPECT_EQ(ob.oldest_created_ms(), 0u);
  EXPECT_EQ(ob.first_unacknowledged(), last + 1);
  close();
  open();
  EXPECT_EQ(db_->outbox().last_seq(), last);
  EXPECT_EQ(db_->outbox().first_unacknowledged(), last + 1);
  advance(minute);
  poll(testing::office_mfp(500), all_classes, "127.9.0.2:1161");
  EXPECT_EQ(records().front().seq, last + 1);
}

TEST_F(StorageOutbox, OldestCreatedFollowsTheHeadOfTheQueue) {
  const auto t0 = now_;
  poll(testing::office_mfp(1), all_classes, "127.1.0.1:1161");
  const auto first_batch = db_->outbox().last_seq();
  advance(10 * minute);
  poll(testing::office_mfp(2), all_classes, "127.1.0.2:1161");
  EXPECT_EQ(db_->outbox().oldest_created_ms(), t0);
  ASSERT_FALSE(db_->outbox().acknowledge(1, first_batch));
  EXPECT_EQ(db_->outbox().oldest_created_ms(), t0 + 10 * minute);
}

TEST_F(StorageOutbox, TheAppendListenerHearsEveryAppendAndMayReadAtOnce) {
  std::atomic<int> calls{0};
  std::atomic<std::uint64_t> seen{0};
  db_->outbox().set_append_listener([&] {
    std::vector<outbox_entry> out;
    if (!db_->outbox().read(0, 10000, 1u << 30, out) && !out.empty()) seen = out.back().seq;
    ++calls;
  });
  poll(testing::office_mfp(1));
  EXPECT_EQ(calls.load(), 1);
  EXPECT_EQ(seen.load(), db_->outbox().last_seq());
  advance(minute);
  poll(testing::office_mfp(1));  // nothing changed: nothing appended, no call
  EXPECT_EQ(calls.load(), 1);
  db_->outbox().set_append_listener({});
  poll(testing::office_mfp(2), all_classes, "127.1.0.2:1161");
  EXPECT_EQ(calls.load(), 1);
}

TEST_F(StorageOutbox, ConcurrentWritersGetOneGaplessSequence) {
  constexpr int threads = 4, devices_each = 25, polls = 6;
  std::vector<std::thread> pool;
  std::atomic<int> errors{0};
  for (int t = 0; t < threads; ++t)
    pool.emplace_back([&, t] {
      for (int p = 0; p < polls; ++p)
        for (int k = 0; k < devices_each; ++k) {
          const int n = t * devices_each + k;
          auto d = testing::office_mfp(n);
          d.supplies[0].level = 100 - 15 * p;  // a supply_level record per poll
          d.markers[0].life_count = 1000u * static_cast<unsigned>(p);
          const auto buf = testing::build_snapshot(d);
          const auto address = testing::sim_address(n);
          poll_record r;
          r.address = address;
          r.at_ms = testing::sim_epoch_ms + static_cast<std::uint64_t>(p) * minute;
          r.classes = all_classes;
          r.snapshot = std::span(buf.data(), buf.size());
          if (db_->ingest(r)) ++errors;
        }
    });
  for (auto& th : pool) th.join();
  EXPECT_EQ(errors.load(), 0);
  const auto r = records();
  ASSERT_EQ(r.size(), db_->outbox().last_seq());
  std::set<std::uint64_t> ids;
  for (std::size_t i = 0; i < r.size(); ++i) {
    ASSERT_EQ(r[i].seq, i + 1);
    ASSERT_EQ(r[i].get()->seq(), i + 1);
    ids.insert(r[i].get()->device_id());
  }
  EXPECT_EQ(ids.size(), static_cast<std::size_t>(threads * devices_each));
}

}  // namespace
}  // namespace fleetpoll::storage::test
