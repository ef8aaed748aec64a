// The disk fills up under the store; then space comes back. The test makes its own small file
// system: a tmpfs mounted in a private mount namespace (unshare(CLONE_NEWNS), as root), grown by
// a remount when "space returns". Where the machine refuses that (not root, no mount
// permission), it falls back to RLIMIT_FSIZE — a per-process limit on file size that makes
// writes fail with EFBIG instead of ENOSPC — raised again when "space returns"; the test says
// which mode it ran in.
//
// What must hold: the error is returned and counted, polls keep being accepted or refused
// quickly (never a crash), nothing of a failed write is kept, the outbox is neither corrupted nor
// short of a record, sequence numbers continue without a gap or a repeat once writes succeed
// again, and all of it survives a reopen.
#include <gmock/gmock.h>
#include <prometheus/registry.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/resource.h>

#include <algorithm>
#include <map>
#include <thread>

#include "fleetpoll/storage/engine_sink.hpp"
#include "storage_test_support.hpp"

namespace fleetpoll::storage::test {
namespace {

using namespace std::chrono_literals;

class small_disk {
 public:
  small_disk(const fs::path& where, std::size_t bytes) : where_(where) {
    fs::create_directories(where);
    // A new mount namespace covers the calling thread only: threads that already exist (RocksDB's
    // background pool, left by an earlier test in this process) would not see the mount. ctest
    // runs each test in its own process; run by hand, later tests use the fallback.
    const bool single_thread =
        std::distance(fs::directory_iterator("/proc/self/task"), fs::directory_iterator{}) == 1;
    const bool forced_fallback =
        std::getenv("FLEETPOLL_DISK_FULL_FALLBACK") != nullptr;  // to test the fallback
    if (single_thread && !forced_fallback && ::unshare(CLONE_NEWNS) == 0 &&
        ::mount("none", "/", nullptr, MS_REC | MS_PRIVATE, nullptr) == 0 &&
        ::mount("tmpfs", where.c_str(), "tmpfs", 0, ("size=" + std::to_string(bytes)).c_str()) ==
            0) {
      mode_ = "tmpfs of " + std::to_string(bytes >> 20) + " MiB in a private mount namespace";
      mounted_ = true;
      return;
    }
    // Fallback: no file may grow past `bytes`.
    ::signal(SIGXFSZ, SIG_IGN);
    ::getrlimit(RLIMIT_FSIZE, &saved_);
    rlimit r = saved_;
    r.rlim_cur = bytes;
    ::setrlimit(RLIMIT_FSIZE, &r);
    mode_ = "RLIMIT_FSIZE of " + std::to_string(bytes >> 20) + " MiB per file (" +
            (forced_fallback ? "forced"
             : single_thread ? "no mount permission"
                             : "other threads exist: not the first test of the process") +
            ")";
  }
  ~small_disk() {
    if (mounted_)
      ::umount2(where_.c_str(), MNT_DETACH);
    else
      ::setrlimit(RLIMIT_FSIZE, &saved_);
  }
  // Space comes back.
  void grow(std::size_t bytes) {
    if (mounted_)
      ASSERT_EQ(::mount("tmpfs", where_.c_str(), "tmpfs", MS_REMOUNT,
                        ("size=" + std::to_string(bytes)).c_str()),
                0);
    else
      ::setrlimit(RLIMIT_FSIZE, &saved_);
  }
  const std::string& mode() const { return mode_; }
  bool mounted() const { return mounted_; }

 private:
  fs::path where_;
  bool mounted_ = false;
  rlimit saved_{};
  std::string mode_;
};

double counter(prometheus::Registry& reg, const std::string& name, const std::string& label) {
  for (const auto& f : reg.Collect())
    if (f.name == name)
      for (const auto& m : f.metric)
        if (label.empty() || (!m.label.empty() && m.label[0].value == label))
          return m.counter.value;
  return -1;
}

// Every record of the outbox, by sequence number.
std::map<std::uint64_t, std::string> outbox_contents(store& db) {
  std::map<std::uint64_t, std::string> out;
  std::vector<outbox_entry> batch;
  for (std::uint64_t after = 0;;) {
    EXPECT_FALSE(db.outbox().read(after, 1000, 64u << 20, batch));
    if (batch.empty()) break;
    for (auto& e : batch) {
      after = e.seq;
      out[e.seq] = std::move(e.bytes);
    }
  }
  return out;
}

class StorageDiskFull : public ::testing::Test {
 protected:
  std::unique_ptr<store> open_store(std::uint64_t min_free) {
    auto o = test_options(mount_);
    o.path = mount_ / "db";
    o.min_free_bytes = min_free;
    o.write_buffer_bytes = 1u << 20;
    o.block_cache_bytes = 1u << 20;
    o.metrics = &reg_;
    o.recovery_interval = 200ms;
    o.clock = [] { return testing::sim_epoch_ms + testing::day_ms; };
    std::unique_ptr<store> db;
    std::string detail;
    EXPECT_FALSE(store::open(o, db, &detail)) << detail;
    return db;
  }
  // Ingests new devices until a poll is refused (at most `limit`); returns the error.
  std::error_code fill(store& db, int& next, int limit) {
    for (; next < limit; ++next) {
      const auto buf = testing::build_snapshot(testing::office_mfp(next));
      if (auto ec = db.ingest(poll_of(buf, testing::sim_address(next),
                                      testing::sim_epoch_ms + static_cast<std::uint64_t>(next))))
        return ec;
    }
    return {};
  }

  temp_dir dir_;
  fs::path mount_ = dir_.path() / "small";
  prometheus::Registry reg_;
};

TEST_F(StorageDiskFull, AFullDiskIsReportedRecoveredFromAndLosesNothing) {
  small_disk disk(mount_, 8u << 20);
  std::printf("disk-full mode: %s\n", disk.mode().c_str());
  RecordProperty("mode", disk.mode());
  auto db = open_store(0);
  ASSERT_TRUE(db);
  int next = 0;
  // The uplink takes part: records are acknowledged while the disk fills.
  std::error_code ec;
  while (!ec && next < 20000) {
    ec = fill(*db, next, next + 50);
    if (ec || next % 200 != 0) continue;
    const auto head = db->outbox().first_unacknowledged();
    ASSERT_FALSE(db->outbox().acknowledge(head, head));
  }
  ASSERT_TRUE(ec) << "the disk never filled";
  const int failed_device = next;
  EXPECT_THAT(ec.value(), ::testing::AnyOf(static_cast<int>(error::no_space),
                                           static_cast<int>(error::io_error)));
  EXPECT_FALSE(db->writable());
  EXPECT_GE(counter(reg_, "fleetpoll_storage_write_errors_total",
                    disk.mounted() ? "no_space" : "io_error"),
            1);
  const std::uint64_t last = db->outbox().last_seq();
  const std::uint64_t first_unacked = db->outbox().first_unacknowledged();
  // The engine keeps polling: calls are refused at once, nothing is written, nothing crashes.
  for (int i = 0; i < 100; ++i) {
    const auto buf = testing::build_snapshot(testing::office_mfp(failed_device));
    EXPECT_TRUE(
        db->ingest(poll_of(buf, testing::sim_address(failed_device), testing::sim_epoch_ms + 5)));
  }
  EXPECT_EQ(db->outbox().last_seq(), last);
  // Space returns: the store recovers on its own (waiting on the event, bounded).
  disk.grow(64u << 20);
  ASSERT_TRUE(db->wait_writable(30s)) << "no recovery after space returned";
  EXPECT_EQ(counter(reg_, "fleetpoll_storage_recoveries_total", ""), 1);
  EXPECT_EQ(db->outbox().last_seq(), last);  // the failed write left nothing behind
  EXPECT_EQ(db->outbox().first_unacknowledged(), first_unacked);
  ASSERT_FALSE(fill(*db, next, next + 20));
  // The device whose poll failed is judged afresh: first sight, right after the last record.
  const auto contents = outbox_contents(*db);
  ASSERT_FALSE(contents.empty());
  ASSERT_TRUE(contents.count(last + 1));
  const auto* r = codecs::change_record_of(
      std::span(reinterpret_cast<const std::uint8_t*>(contents.at(last + 1).data()),
                contents.at(last + 1).size()));
  EXPECT_EQ(r->address()->str(), testing::sim_address(failed_device));
  EXPECT_EQ(r->kind(), ChangeKind::identity);
  // Contiguous from the first unacknowledged record to the end: nothing lost, nothing repeated.
  std::uint64_t expect = contents.begin()->first;
  EXPECT_EQ(expect, first_unacked);
  for (const auto& [seq, bytes] : contents) {
    ASSERT_EQ(seq, expect++);
    const auto span = std::span(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
    ASSERT_TRUE(codecs::verify_change_record(span));
    ASSERT_EQ(codecs::change_record_of(span)->seq(), seq);
  }
  const auto final_last = db->outbox().last_seq();
  // All of it survives a reopen.
  db.reset();
  db = open_store(0);
  ASSERT_TRUE(db);
  EXPECT_EQ(db->outbox().last_seq(), final_last);
  EXPECT_EQ(outbox_contents(*db), contents);
}

TEST_F(StorageDiskFull, TheFreeSpaceGuardRefusesBeforeRocksDbFails) {
  small_disk disk(mount_, 16u << 20);
  std::printf("disk-full mode: %s\n", disk.mode().c_str());
  if (!disk.mounted())
    GTEST_SKIP() << "free-space guard needs a real small file system; ran in " << disk.mode();
  auto db = open_store(8u << 20);
  ASSERT_TRUE(db);
  int next = 0;
  const auto ec = fill(*db, next, 20000);
  ASSERT_EQ(ec, make_error_code(error::no_space));
  EXPECT_TRUE(db->writable());  // RocksDB itself never failed
  EXPECT_GE(counter(reg_, "fleetpoll_storage_write_errors_total", "no_space"), 1);
  const auto last = db->outbox().last_seq();
  // Reads and acknowledgements go on while polls are refused.
  std::vector<outbox_entry> out;
  ASSERT_FALSE(db->outbox().read(0, 10, 1u << 20, out));
  ASSERT_EQ(out.size(), 10u);
  ASSERT_FALSE(db->outbox().acknowledge(1, 10));
  EXPECT_EQ(db->outbox().first_unacknowledged(), 11u);
  disk.grow(64u << 20);
  ASSERT_FALSE(fill(*db, next, next + 5));  // at once: the guard looks again when it is low
  EXPECT_GT(db->outbox().last_seq(), last);
}

// ---- the engine's sink over a full disk

// Waits for `done`, checking every 5 ms, for at most `bound` (the check paces; the test waits
// for the state, never for a fixed time).
template <class F>
bool wait_until(F done, std::chrono::milliseconds bound) {
  const auto until = std::chrono::steady_clock::now() + bound;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= until) return done();
    std::this_thread::sleep_for(5ms);
  }
  return true;
}

class StorageDiskFullSink : public StorageDiskFull {
 protected:
  // One poll of device `n` (an office MFP whose black toner is at `level`) through the sink, as
  // the engine hands it over.
  void push(engine_sink& sink, int n, std::uint64_t at, int level = 100) {
    auto d = testing::office_mfp(n);
    d.supplies[0].level = level;
    const auto buf = testing::build_snapshot(d, at);
    const std::string address = testing::sim_address(n);
    engine::poll_record r;
    r.address = address;
    r.at_ms = at;
    r.classes = all_classes;
    r.snapshot = std::span(buf.data(), buf.size());
    sink.on_poll(r);
  }
  // A store on the small disk and a sink with one writer retrying every 50 ms.
  std::unique_ptr<engine_sink> make_sink(store& db, std::size_t max_queued = 65536) {
    engine_sink_options so;
    so.writer_threads = 1;
    so.retry_interval = 50ms;
    so.max_queued_polls = max_queued;
    so.metrics = &reg_;
    return std::make_unique<engine_sink>(db, so);
  }
  // New devices through the sink until a write fails and the sink retries; returns the count.
  int fill_until_retrying(engine_sink& sink) {
    int next = 0;
    while (sink.stats().retries == 0 && next < 20000) {
      for (int i = 0; i < 10; ++i, ++next)
        push(sink, next, testing::sim_epoch_ms + static_cast<std::uint64_t>(next));
      EXPECT_TRUE(
          wait_until([&] { return sink.stats().queued == 0 || sink.stats().retries > 0; }, 30s));
    }
    return next;
  }
};

TEST_F(StorageDiskFullSink, TheSinkRetriesThroughAFullDiskAndLosesNothing) {
  small_disk disk(mount_, 8u << 20);
  std::printf("disk-full mode: %s\n", disk.mode().c_str());
  auto db = open_store(0);
  ASSERT_TRUE(db);
  auto sink_owner = make_sink(*db);
  engine_sink& sink = *sink_owner;
  int next = fill_until_retrying(sink);
  ASSERT_GT(sink.stats().retries, 0u) << "the disk never filled";
  // The engine keeps polling: its calls return at once and are queued, none dropped. RocksDB
  // may reclaim space of its own meanwhile (the store's recovery reopens the database, which
  // flushes the log, deletes it and gives back the unused tail of its preallocation) and write
  // again for a while; new polls then fill the disk again. Polls go on until the sink has retried
  // three times, a retry every 50 ms while the store refuses writes.
  std::uint64_t most_queued = 0;
  while (sink.stats().retries < 3 && next < 40000) {
    for (int i = 0; i < 10; ++i, ++next)
      push(sink, next, testing::sim_epoch_ms + static_cast<std::uint64_t>(next));
    ASSERT_TRUE(wait_until(
        [&] {
          const auto st = sink.stats();
          most_queued = std::max(most_queued, st.queued);
          return st.queued == 0 || st.retries >= 3;
        },
        30s));
  }
  std::printf("retries %llu after %d devices, at most %llu polls queued\n",
              static_cast<unsigned long long>(sink.stats().retries), next,
              static_cast<unsigned long long>(most_queued));
  ASSERT_GE(sink.stats().retries, 3u) << "the disk never filled again";
  EXPECT_EQ(sink.stats().dropped, 0u);
  EXPECT_GE(most_queued, 1u);  // polls waited in the queue while writes failed
  EXPECT_GE(counter(reg_, "fleetpoll_storage_sink_retries_total", ""), 3);
  // Space returns: the queue drains on its own and everything is written, once, in order.
  disk.grow(64u << 20);
  ASSERT_TRUE(sink.drain(60s)) << sink.stats().queued << " still queued";
  const auto st = sink.stats();
  EXPECT_EQ(st.written, st.polls_received);
  EXPECT_EQ(st.dropped + st.merged + st.rejected, 0u);
  for (int n = 0; n < next; ++n)
    EXPECT_NE(db->device_id(testing::sim_address(n)), 0u) << "device " << n << " lost";
  const auto contents = outbox_contents(*db);
  std::uint64_t expect = 1;
  int identities = 0;
  for (const auto& [seq, bytes] : contents) {
    ASSERT_EQ(seq, expect++);
    const auto span = std::span(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
    ASSERT_TRUE(codecs::verify_change_record(span));
    identities += codecs::change_record_of(span)->kind() == ChangeKind::identity ? 1 : 0;
  }
  EXPECT_EQ(identities, next);  // every device once: no poll lost, none written twice
}

TEST_F(StorageDiskFullSink, AFullQueueKeepsTheNewestPollPerDeviceAndCountsDrops) {
  small_disk disk(mount_, 8u << 20);
  std::printf("disk-full mode: %s\n", disk.mode().c_str());
  auto db = open_store(0);
  ASSERT_TRUE(db);
  auto sink_owner = make_sink(*db, 50);
  engine_sink& sink = *sink_owner;
  int next = fill_until_retrying(sink);
  ASSERT_GT(sink.stats().retries, 0u) << "the disk never filled";
  // Fill the queue to its bound with new devices, then some more: those are dropped.
  const int first_queued = next;
  for (int i = 0; i < 80; ++i, ++next)
    push(sink, next, testing::sim_epoch_ms + static_cast<std::uint64_t>(next));
  const auto st1 = sink.stats();
  EXPECT_GE(st1.dropped, 30u);
  // The bound, plus the run of polls the writer holds while it retries them.
  EXPECT_LE(st1.queued, 50u + engine_sink_options{}.max_group_polls);
  // A newer poll of a queued device replaces its queued poll.
  push(sink, first_queued, testing::sim_epoch_ms + 10 * 60'000, 40);
  EXPECT_EQ(sink.stats().merged, 1u);
  disk.grow(64u << 20);
  ASSERT_TRUE(sink.drain(60s));
  std::vector<device_view> devices;
  ASSERT_FALSE(db->devices(devices, false));
  const auto it = std::find_if(devices.begin(), devices.end(), [&](const device_view& d) {
    return d.address == testing::sim_address(first_queued);
  });
  ASSERT_NE(it, devices.end());
  EXPECT_EQ(it->supplies[0].level, 40);  // the newest reading won
  const auto st2 = sink.stats();
  EXPECT_EQ(st2.written + st2.dropped + st2.merged, st2.polls_received);
  // Dropped polls were of devices never stored: their next poll stores them from scratch.
  EXPECT_EQ(db->device_id(testing::sim_address(next - 1)), 0u);
  push(sink, next - 1, testing::sim_epoch_ms + 20 * 60'000);
  ASSERT_TRUE(sink.drain(10s));
  EXPECT_NE(db->device_id(testing::sim_address(next - 1)), 0u);
}

}  // namespace
}  // namespace fleetpoll::storage::test
