// Opening (format versions, sites, foreign folders, a second writer), hostile input (snapshots
// that fail verification, damaged values in the database) and the read-only reader.
#include <gmock/gmock.h>
#include <prometheus/registry.h>
#include <rocksdb/db.h>

#include <fstream>
#include <map>
#include <random>

#include "fleetpoll/storage/reader.hpp"
#include "storage_test_support.hpp"

namespace fleetpoll::storage::test {
namespace {

using ::testing::HasSubstr;

// The database opened with RocksDB directly, every column family by name: to damage it.
class raw_db {
 public:
  explicit raw_db(const fs::path& path) {
    std::vector<std::string> names;
    EXPECT_TRUE(rocksdb::DB::ListColumnFamilies(rocksdb::Options(), path.string(), &names).ok());
    std::vector<rocksdb::ColumnFamilyDescriptor> d;
    for (const auto& n : names) d.emplace_back(n, rocksdb::ColumnFamilyOptions());
    std::vector<rocksdb::ColumnFamilyHandle*> h;
    rocksdb::DB* raw = nullptr;
    const auto s = rocksdb::DB::Open(rocksdb::DBOptions(), path.string(), d, &h, &raw);
    EXPECT_TRUE(s.ok()) << s.ToString();
    db_.reset(raw);
    for (std::size_t i = 0; i < h.size(); ++i) cf_[names[i]] = h[i];
  }
  ~raw_db() {
    for (auto& [n, h] : cf_) db_->DestroyColumnFamilyHandle(h);
    db_->Close();
  }
  void put(const std::string& cf, const std::string& key, const std::string& value) {
    ASSERT_TRUE(db_->Put(rocksdb::WriteOptions(), cf_.at(cf), key, value).ok());
  }
  // The first key of a column family with this first byte (or any, when 0).
  std::string first_key(const std::string& cf, char tag = 0) {
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), cf_.at(cf)));
    for (it->SeekToFirst(); it->Valid(); it->Next())
      if (tag == 0 || it->key()[0] == tag) return it->key().ToString();
    return {};
  }

 private:
  std::unique_ptr<rocksdb::DB> db_;
  std::map<std::string, rocksdb::ColumnFamilyHandle*> cf_;
};

std::string be32(std::uint32_t v) {
  std::string s;
  for (int i = 3; i >= 0; --i) s.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
  return s;
}

class StorageDatabase : public store_fixture {
 protected:
  fs::path db_path() const { return dir_.path() / "db"; }
  // Polls one device, closes the store and overwrites the first value of a column family (of
  // keys starting with `tag`, when given). Returns the device's id.
  std::uint64_t poll_then_damage(const std::string& cf, char tag, const std::string& value) {
    poll(testing::office_mfp(1));
    const auto id = db_->device_id("127.1.0.1:1161");
    close();
    raw_db raw(db_path());
    const auto key = raw.first_key(cf, tag);
    EXPECT_FALSE(key.empty());
    raw.put(cf, key, value);
    return id;
  }
  std::unique_ptr<reader> open_reader() {
    reader_options ro;
    ro.path = db_path();
    ro.clock = [this] { return now_; };
    std::unique_ptr<reader> r;
    std::string detail;
    EXPECT_FALSE(reader::open(ro, r, &detail)) << detail;
    return r;
  }
  std::error_code try_open(store_options o, std::string& detail) {
    std::unique_ptr<store> s;
    return store::open(o, s, &detail);
  }
};

TEST_F(StorageDatabase, ANewerFormatIsRefusedWithAClearMessageAndLeftAlone) {
  poll(testing::office_mfp(1));
  close();
  { raw_db(db_path()).put("meta", "format_version", be32(format_version + 1)); }
  std::string detail;
  EXPECT_EQ(try_open(options(), detail), make_error_code(error::newer_format));
  EXPECT_THAT(detail, HasSubstr("format version " + std::to_string(format_version + 1)));
  EXPECT_THAT(detail, HasSubstr("use a newer fleetpoll"));
  // The reader refuses it the same way.
  std::unique_ptr<reader> r;
  reader_options ro;
  ro.path = db_path();
  EXPECT_EQ(reader::open(ro, r, &detail), make_error_code(error::newer_format));
  // Put back, it opens again with its data intact: the refusal changed nothing.
  { raw_db(db_path()).put("meta", "format_version", be32(format_version)); }
  open();
  EXPECT_GT(db_->outbox().last_seq(), 0u);
}

TEST_F(StorageDatabase, SitesAreCheckedAndAnEmptySiteMeansTheStoredOne) {
  close();
  std::string detail;
  auto o = options();
  o.site_id = "another-site";
  EXPECT_EQ(try_open(o, detail), make_error_code(error::site_mismatch));
  EXPECT_THAT(detail, HasSubstr("belongs to site 'test-site'"));
  o.site_id.clear();
  EXPECT_FALSE(try_open(o, detail)) << detail;
  o.path = dir_.path() / "fresh";
  EXPECT_EQ(try_open(o, detail), make_error_code(error::invalid_options));
}

TEST_F(StorageDatabase, AFolderThatIsNotOursIsRefused) {
  const auto other = dir_.path() / "documents";
  fs::create_directories(other);
  std::ofstream(other / "letter.txt") << "hello";
  auto o = options();
  o.path = other;
  std::string detail;
  EXPECT_EQ(try_open(o, detail), make_error_code(error::not_a_database));
  EXPECT_THAT(detail, HasSubstr("holds no fleetpoll database"));
  EXPECT_TRUE(fs::exists(other / "letter.txt"));
  EXPECT_FALSE(fs::exists(other / "CURRENT"));
  // A RocksDB database of someone else is refused too.
  const auto foreign = dir_.path() / "foreign";
  {
    rocksdb::Options ro;
    ro.create_if_missing = true;
    rocksdb::DB* raw = nullptr;
    ASSERT_TRUE(rocksdb::DB::Open(ro, foreign.string(), &raw).ok());
    delete raw;
  }
  o.path = foreign;
  EXPECT_EQ(try_open(o, detail), make_error_code(error::not_a_database));
}

TEST_F(StorageDatabase, ASecondWriterIsToldTheDatabaseIsBusy) {
  std::string detail;
  EXPECT_EQ(try_open(options(), detail), make_error_code(error::busy));
  EXPECT_THAT(detail, HasSubstr("in another process"));
}

TEST_F(StorageDatabase, OptionsOutOfRangeAreRefused) {
  close();
  std::string detail;
  auto o = options();
  o.thresholds.reseat_tolerance = o.thresholds.replacement_jump;
  EXPECT_EQ(try_open(o, detail), make_error_code(error::invalid_options));
  EXPECT_THAT(detail, HasSubstr("reseat_tolerance"));
  o = options();
  o.path.clear();
  EXPECT_EQ(try_open(o, detail), make_error_code(error::invalid_options));
  o = options();
  o.retention = std::chrono::hours(1);
  EXPECT_EQ(try_open(o, detail), make_error_code(error::invalid_options));
}

TEST_F(StorageDatabase, SnapshotsThatFailVerificationAreRejectedAndNothingIsWritten) {
  const auto good = testing::build_snapshot(testing::office_mfp(1));
  std::vector<std::vector<std::uint8_t>> hostile;
  hostile.emplace_back();                                            // empty
  hostile.emplace_back(good.data(), good.data() + good.size() / 2);  // truncated
  std::mt19937 rng(5);
  for (int i = 0; i < 50; ++i) {  // garbage, and the good one with bytes flipped
    std::vector<std::uint8_t> g(good.data(), good.data() + good.size());
    if (i % 2) {
      for (auto& b : g) b = static_cast<std::uint8_t>(rng());
    } else {
      for (int k = 0; k < 8; ++k) g[rng() % g.size()] ^= static_cast<std::uint8_t>(1 + rng() % 255);
    }
    hostile.push_back(std::move(g));
  }
  std::size_t rejected = 0;
  for (const auto& h : hostile) {
    poll_record p;
    p.address = "127.1.0.1:1161";
    p.at_ms = now_;
    p.classes = all_classes;
    p.snapshot = h;
    const auto ec = db_->ingest(p);
    if (ec) {
      EXPECT_EQ(ec, make_error_code(error::invalid_snapshot));
      ++rejected;
    }
  }
  // Every undamaged-looking one that passed is a structurally valid snapshot; garbage never is.
  EXPECT_GE(rejected, 27u);
  // Nonsense records.
  poll_record p;
  p.at_ms = now_;
  p.classes = all_classes;
  p.snapshot = std::span(good.data(), good.size());
  EXPECT_EQ(db_->ingest(p), make_error_code(error::invalid_record));  // no address
  p.address = "127.1.0.1:1161";
  p.classes = 0x20;
  EXPECT_EQ(db_->ingest(p), make_error_code(error::invalid_record));  // unknown class bit
}

TEST_F(StorageDatabase, AMisalignedSnapshotIsStillRead) {
  const auto good = testing::build_snapshot(testing::office_mfp(1));
  std::vector<std::uint8_t> shifted(good.size() + 1);
  std::memcpy(shifted.data() + 1, good.data(), good.size());
  poll_record p;
  p.address = "127.1.0.1:1161";
  p.at_ms = now_;
  p.classes = all_classes;
  p.snapshot = std::span(shifted.data() + 1, good.size());
  ASSERT_FALSE(db_->ingest(p));
  EXPECT_GT(db_->outbox().last_seq(), 0u);
}

TEST_F(StorageDatabase, ADamagedDeviceStateIsReportedAndTheDeviceStartsAfresh) {
  const auto d = testing::office_mfp(1);
  const auto id = poll_then_damage("devices", 'D', "this is not a flatbuffer");
  prometheus::Registry reg;
  // The store updates metrics on reg from its maintenance thread: close it before reg goes.
  struct close_first {
    std::unique_ptr<store>& db;
    ~close_first() { db.reset(); }
  } closer{db_};
  auto o = options();
  o.metrics = &reg;
  open_with(o);
  EXPECT_EQ(db_->device_id("127.1.0.1:1161"), 0u);  // no usable state
  advance(60'000);
  fresh();
  poll(d);
  // Same id (its history stays its own), first-sight records again.
  EXPECT_EQ(db_->device_id("127.1.0.1:1161"), id);
  const auto r = fresh();
  ASSERT_FALSE(r.empty());
  EXPECT_EQ(r.front().kind(), ChangeKind::identity);
  EXPECT_EQ(r.front().get()->device_id(), id);
  bool counted = false;
  for (const auto& f : reg.Collect())
    if (f.name == "fleetpoll_storage_corrupt_values_total")
      counted = f.metric.at(0).counter.value >= 1;
  EXPECT_TRUE(counted);
}

TEST_F(StorageDatabase, ADamagedOutboxRecordIsReportedNeverSent) {
  poll(testing::office_mfp(1));
  const auto last = db_->outbox().last_seq();
  ASSERT_GE(last, 5u);
  close();
  {
    raw_db raw(db_path());
    std::string key;
    for (int i = 7; i >= 0; --i)
      key.push_back(static_cast<char>((std::uint64_t{3} >> (8 * i)) & 0xFF));
    raw.put("outbox", key, std::string(8, '\0') + "garbage that is no ChangeRecord");
  }
  open();
  std::vector<outbox_entry> out;
  // Up to the damaged record: the good ones before it.
  EXPECT_FALSE(db_->outbox().read(0, 100, 1u << 20, out));
  ASSERT_EQ(out.size(), 2u);
  // At it: a clear error, nothing handed out.
  EXPECT_EQ(db_->outbox().read(2, 100, 1u << 20, out), make_error_code(error::corrupt_value));
  EXPECT_TRUE(out.empty());
  // Past it, the queue goes on.
  EXPECT_FALSE(db_->outbox().read(3, 100, 1u << 20, out));
  EXPECT_EQ(out.size(), last - 3);
}

TEST_F(StorageDatabase, ADamagedSampleIsSkippedByQueries) {
  const auto id = poll_then_damage("samples", 0, "\xff\xff\xff");
  open();
  history_result h;
  history_query q;
  ASSERT_FALSE(db_->history(id, q, h));
  EXPECT_FALSE(h.samples.empty());  // the rest is there
  std::unique_ptr<reader> r = open_reader();
  ASSERT_TRUE(r);
  history_result h2;
  ASSERT_FALSE(r->history(id, q, h2));
  EXPECT_EQ(h2.samples.size(), h.samples.size());
  EXPECT_EQ(r->corrupt_values(), 1u);
}

TEST_F(StorageDatabase, TheReaderSeesWhatTheWriterWroteWhileItIsOpen) {
  poll(testing::office_mfp(1));
  std::unique_ptr<reader> r = open_reader();
  ASSERT_TRUE(r);
  std::vector<device_view> devs;
  ASSERT_FALSE(r->devices(devs, false));
  ASSERT_EQ(devs.size(), 1u);
  EXPECT_EQ(devs[0].serial, "E00000001");
  poll(testing::office_mfp(2), all_classes, "127.1.0.2:1161");
  ASSERT_FALSE(r->refresh());
  ASSERT_FALSE(r->devices(devs, false));
  EXPECT_EQ(devs.size(), 2u);
  device_view v;
  EXPECT_FALSE(r->find_device("127.1.0.2:1161", v));
  EXPECT_EQ(v.serial, "E00000002");
  EXPECT_FALSE(r->find_device("E00000001", v));
  EXPECT_EQ(v.address, "127.1.0.1:1161");
  EXPECT_EQ(r->find_device("nope", v), make_error_code(error::not_found));
  database_info info;
  ASSERT_FALSE(r->info(info));
  EXPECT_EQ(info.site_id, "test-site");
  EXPECT_EQ(info.outbox_depth, db_->outbox().depth());
  // Nothing at a path: a clear error, and nothing created there.
  reader_options ro;
  std::string detail;
  ro.path = dir_.path() / "missing";
  EXPECT_EQ(reader::open(ro, r, &detail), make_error_code(error::no_database));
  EXPECT_FALSE(fs::exists(ro.path));
}

}  // namespace
}  // namespace fleetpoll::storage::test
