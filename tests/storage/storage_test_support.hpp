// Shared helpers of the storage tests: fresh temporary folders, a store opened on one, polls
// from device_spec descriptions, and decoded outbox records.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "fleetpoll/codecs/change_record.hpp"
#include "fleetpoll/storage/store.hpp"
#include "fleetpoll/storage/testing/office_sim.hpp"
#include "fleetpoll/storage/testing/snapshot_builder.hpp"

namespace fleetpoll::storage::test {

namespace fs = std::filesystem;
using schema::ChangeKind;
using testing::device_spec;

inline constexpr std::uint8_t all_classes = 0x1F;
inline constexpr std::uint8_t identity_class = 1, status_class = 2, alerts_class = 4,
                              supplies_class = 8, counters_class = 16;

// A new empty folder, removed with everything in it when the object goes.
class temp_dir {
 public:
  temp_dir() {
    std::string t = (fs::temp_directory_path() / "fleetpoll-storage-test-XXXXXX").string();
    if (::mkdtemp(t.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = t;
  }
  ~temp_dir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

// A ChangeRecord read back from the outbox.
struct record {
  std::uint64_t seq = 0;
  std::uint64_t created_ms = 0;
  std::string bytes;
  const schema::ChangeRecord* get() const {
    return codecs::change_record_of(
        std::span(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()));
  }
  ChangeKind kind() const { return get()->kind(); }
};

// A poll of these snapshot bytes (the buffer must outlive the record).
inline poll_record poll_of(const flatbuffers::DetachedBuffer& buf, const std::string& address,
                           std::uint64_t at, std::uint8_t classes = all_classes) {
  poll_record p;
  p.address = address;
  p.at_ms = at;
  p.classes = classes;
  p.snapshot = std::span(buf.data(), buf.size());
  return p;
}

inline store_options test_options(const fs::path& path) {
  store_options o;
  o.path = path / "db";
  o.site_id = "test-site";
  o.min_free_bytes = 0;
  o.block_cache_bytes = 8u << 20;
  o.write_buffer_bytes = 4u << 20;
  return o;
}

class store_fixture : public ::testing::Test {
 protected:
  void SetUp() override { open(); }

  // The store's clock is the simulated one: retention and ages follow the test's time.
  store_options options() {
    auto o = test_options(dir_.path());
    o.clock = [this] { return now_; };
    return o;
  }
  void open() { open_with(options()); }
  void open_with(const store_options& o) {
    db_.reset();
    std::string detail;
    const auto ec = store::open(o, db_, &detail);
    ASSERT_FALSE(ec) << ec.message() << ": " << detail;
  }
  void close() { db_.reset(); }

  ingest_stats poll(const device_spec& d, std::uint8_t classes = all_classes,
                    const std::string& address = "127.1.0.1:1161") {
    const auto buf = testing::build_snapshot(d, now_);
    ingest_stats st;
    const auto ec = db_->ingest(poll_of(buf, address, now_, classes), st);
    EXPECT_FALSE(ec) << ec.message();
    return st;
  }

  // Every record in the outbox after `after`.
  std::vector<record> records(std::uint64_t after = 0) {
    std::vector<record> out;
    std::vector<outbox_entry> batch;
    for (;;) {
      const auto ec = db_->outbox().read(after, 1000, 1u << 30, batch);
      EXPECT_FALSE(ec) << ec.message();
      if (ec || batch.empty()) break;
      for (auto& e : batch) {
        EXPECT_TRUE(codecs::verify_change_record(
            std::span(reinterpret_cast<const std::uint8_t*>(e.bytes.data()), e.bytes.size())));
        after = e.seq;
        out.push_back({e.seq, e.created_ms, std::move(e.bytes)});
      }
    }
    return out;
  }
  // Records appended since the last call of fresh().
  std::vector<record> fresh() {
    auto r = records(seen_);
    if (!r.empty()) seen_ = r.back().seq;
    return r;
  }
  static std::vector<ChangeKind> kinds(const std::vector<record>& r) {
    std::vector<ChangeKind> k;
    for (const auto& x : r) k.push_back(x.kind());
    return k;
  }

  void advance(std::uint64_t ms) { now_ += ms; }

  temp_dir dir_;
  std::unique_ptr<store> db_;
  std::uint64_t now_ = testing::sim_epoch_ms;
  std::uint64_t seen_ = 0;
};

// For tests that need nothing but the fixture.
using StorageStore = store_fixture;

}  // namespace fleetpoll::storage::test
