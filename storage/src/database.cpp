#include "database.hpp"

#include <spdlog/spdlog.h>

#include <rocksdb/cache.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/options.h>
#include <rocksdb/slice_transform.h>
#include <rocksdb/table.h>
#include <rocksdb/utilities/table_properties_collectors.h>

#include <algorithm>
#include <cstdarg>
#include <cstdio>
#include <set>

#include "fleetpoll/codecs/change_record.hpp"
#include "fleetpoll/storage/error.hpp"
#include "fleetpoll/storage/store.hpp"

namespace fleetpoll::storage::detail {
namespace {

namespace fs = std::filesystem;

// RocksDB's own LOG file lives in the database folder; on a full disk Debian's librocksdb (built
// with assertions) aborts the process on the next append to it. Its messages go to spdlog
// instead: warnings and errors as such, the chatty rest at debug level.
class spdlog_logger final : public rocksdb::Logger {
 public:
  // Messages below `shown` go to spdlog's debug level (a secondary instance replaying the
  // writer's log warns about write stalls that are not its own: it passes ERROR_LEVEL).
  explicit spdlog_logger(rocksdb::InfoLogLevel shown = rocksdb::InfoLogLevel::WARN_LEVEL)
      : rocksdb::Logger(rocksdb::InfoLogLevel::INFO_LEVEL), shown_(shown) {}
  using rocksdb::Logger::Logv;
  void Logv(const char* format, va_list ap) override {
    Logv(rocksdb::InfoLogLevel::INFO_LEVEL, format, ap);
  }
  void Logv(const rocksdb::InfoLogLevel level, const char* format, va_list ap) override {
    char buf[1024];
    std::vsnprintf(buf, sizeof buf, format, ap);
    if (level < shown_ || level == rocksdb::InfoLogLevel::HEADER_LEVEL) {
      spdlog::debug("rocksdb: {}", buf);
      return;
    }
    switch (level) {
      case rocksdb::InfoLogLevel::ERROR_LEVEL:
      case rocksdb::InfoLogLevel::FATAL_LEVEL:
        spdlog::error("rocksdb: {}", buf);
        break;
      case rocksdb::InfoLogLevel::WARN_LEVEL:
        spdlog::warn("rocksdb: {}", buf);
        break;
      default:
        spdlog::debug("rocksdb: {}", buf);
        break;
    }
  }

 private:
  rocksdb::InfoLogLevel shown_;
};

std::error_code fail(error e, std::string& detail, std::string text) {
  detail = std::move(text);
  return e;
}

// The column families of an existing database; not_a_database unless it has fleetpoll's meta.
std::error_code list_families(const fs::path& path, std::vector<std::string>& cfs,
                              std::string& detail) {
  rocksdb::Options o;
  o.info_log = std::make_shared<spdlog_logger>();
  const auto s = rocksdb::DB::ListColumnFamilies(o, path.string(), &cfs);
  if (!s.ok())
    return fail(error::io_error, detail, "cannot read " + path.string() + ": " + s.ToString());
  if (std::find(cfs.begin(), cfs.end(), "meta") == cfs.end())
    return fail(
        error::not_a_database, detail,
        path.string() + " is a RocksDB database but not a fleetpoll one (no meta column family)");
  return {};
}

rocksdb::ColumnFamilyOptions cf_options(std::size_t which, const db_tuning& t,
                                        const std::shared_ptr<rocksdb::Cache>& cache) {
  rocksdb::ColumnFamilyOptions o;
  rocksdb::BlockBasedTableOptions table;
  table.block_cache = cache;
  table.cache_index_and_filter_blocks = true;
  table.pin_l0_filter_and_index_blocks_in_cache = true;
  table.format_version = 5;
  o.level_compaction_dynamic_level_bytes = true;
  o.max_write_buffer_number = 3;
  switch (which) {
    case cf_samples:
    case cf_events:
      // Time series and history: written once, read in ranges, kept for a year. Large blocks
      // and zstd for density; no bloom filter (range scans only).
      table.block_size = std::size_t{16} * 1024;
      o.compression = rocksdb::kLZ4Compression;
      o.bottommost_compression = rocksdb::kZSTD;
      o.bottommost_compression_opts.enabled = true;
      o.bottommost_compression_opts.level = 3;
      o.write_buffer_size = which == cf_samples ? t.write_buffer_bytes : t.write_buffer_bytes / 2;
      // A series (samples: week, device, kind, hrDeviceIndex, index) or a device's week (events)
      // grows in time order: inserting next to the last key of the same prefix skips most of the
      // skip list's search (measured: a quarter less CPU per poll).
      o.memtable_insert_with_hint_prefix_extractor.reset(
          rocksdb::NewFixedPrefixTransform(which == cf_samples ? 21 : 12));
      break;
    case cf_outbox:
      // A queue: appended at the tail, deleted at the head. Files full of tombstones are
      // compacted early so reads at the head do not wade through them.
      o.compression = rocksdb::kLZ4Compression;
      o.write_buffer_size = t.write_buffer_bytes / 4;
      o.table_properties_collector_factories.push_back(
          rocksdb::NewCompactOnDeletionCollectorFactory(128, 64, 0.5));
      break;
    default:
      // devices, meta: point lookups.
      table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
      if (which == cf_devices)  // the same 'D' key is rewritten over and over
        o.memtable_insert_with_hint_prefix_extractor.reset(rocksdb::NewFixedPrefixTransform(9));
      o.compression = rocksdb::kLZ4Compression;
      o.write_buffer_size = std::max<std::size_t>(t.write_buffer_bytes / 4, 1u << 20);
      break;
  }
  o.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  return o;
}

rocksdb::DBOptions db_options(const db_tuning& t, bool secondary) {
  rocksdb::DBOptions o;
  o.create_if_missing = true;
  o.create_missing_column_families = true;
  o.max_background_jobs = std::max(2, t.background_jobs);
  o.info_log = std::make_shared<spdlog_logger>(secondary ? rocksdb::InfoLogLevel::ERROR_LEVEL
                                                         : rocksdb::InfoLogLevel::WARN_LEVEL);
  // WAL files are kept until every column family with data in them is flushed; this bounds them.
  o.max_total_wal_size = 64u << 20;
  o.listeners = t.listeners;
  o.avoid_unnecessary_blocking_io = true;
  // Writers waiting for the write group block instead of spinning with sched_yield: on two
  // shared cores spinning only takes the CPU from the thread that holds the group.
  o.enable_write_thread_adaptive_yield = false;
  // Memtable inserts by the write group's leader, so that the insert hints above apply (they
  // are ignored by concurrent inserts; two shared cores gain little from those).
  o.allow_concurrent_memtable_write = false;
  return o;
}

std::shared_ptr<rocksdb::Cache> cache_of(const db_tuning& t) {
  return t.cache ? t.cache : rocksdb::NewLRUCache(t.block_cache_bytes);
}

bool folder_missing_or_empty(const fs::path& p) {
  std::error_code ec;
  if (!fs::exists(p, ec)) return true;
  return fs::is_directory(p, ec) && fs::is_empty(p, ec);
}

// Reads meta from an existing database without opening it for writing (nothing is modified
// when we then refuse it).
std::error_code peek_meta(const fs::path& path, meta_info& meta, std::vector<std::string>& cfs,
                          std::string& detail) {
  if (auto ec = list_families(path, cfs, detail)) return ec;
  rocksdb::Options o;
  o.info_log = std::make_shared<spdlog_logger>();
  std::vector<rocksdb::ColumnFamilyDescriptor> d{{"default", {}}, {"meta", {}}};
  std::vector<rocksdb::ColumnFamilyHandle*> h;
  rocksdb::DB* raw = nullptr;
  auto s = rocksdb::DB::OpenForReadOnly(o, path.string(), d, &h, &raw);
  if (!s.ok()) {
    detail = "cannot open " + path.string() + ": " + s.ToString();
    return from_status(s);
  }
  db_handle tmp;
  tmp.db.reset(raw);
  tmp.cf[cf_default] = h[0];
  tmp.cf[cf_meta] = h[1];
  auto ec = read_meta(tmp, meta);
  if (ec) detail = "cannot read the meta column family of " + path.string();
  return ec;
}

std::error_code check_version(const fs::path& path, const meta_info& meta, std::string& detail) {
  if (!meta.present)
    return fail(error::not_a_database, detail,
                path.string() +
                    " has no fleetpoll format version (not a fleetpoll database, or "
                    "one whose creation was interrupted)");
  if (meta.format_version > format_version)
    return fail(error::newer_format, detail,
                "database " + path.string() + " has format version " +
                    std::to_string(meta.format_version) + "; this fleetpoll reads versions up to " +
                    std::to_string(format_version) + ": use a newer fleetpoll, or another --db");
  return {};
}

std::error_code open_with(const fs::path& path, const db_tuning& t, bool secondary,
                          const fs::path& scratch, const std::vector<std::string>& existing,
                          std::unique_ptr<db_handle>& out, std::string& detail) {
  auto cache = cache_of(t);
  rocksdb::DBOptions o = db_options(t, secondary);
  std::vector<rocksdb::ColumnFamilyDescriptor> descs;
  std::vector<std::size_t> which;
  for (std::size_t i = 0; i < cf_count; ++i) {
    if (secondary && std::find(existing.begin(), existing.end(), cf_name(i)) == existing.end())
      continue;
    descs.emplace_back(cf_name(i), cf_options(i, t, cache));
    which.push_back(i);
  }
  if (!secondary) {
    // A newer fleetpoll may have added column families: they must be opened too.
    for (const auto& name : existing)
      if (std::none_of(descs.begin(), descs.end(), [&](const auto& d) { return d.name == name; }))
        descs.emplace_back(name, rocksdb::ColumnFamilyOptions());
  }
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s;
  if (secondary) {
    o.max_open_files = -1;  // required for secondary instances
    o.create_if_missing = false;
    s = rocksdb::DB::OpenAsSecondary(o, path.string(), scratch.string(), descs, &handles, &raw);
  } else {
    s = rocksdb::DB::Open(o, path.string(), descs, &handles, &raw);
  }
  if (!s.ok()) {
    auto ec = from_status(s);
    if (s.IsIOError() && s.ToString().find("lock") != std::string::npos) {
      ec = error::busy;
      detail = "database " + path.string() +
               " is open for writing in another process (RocksDB: " + s.ToString() + ")";
    } else {
      detail = "cannot open " + path.string() + ": " + s.ToString();
    }
    return ec;
  }
  auto h = std::make_unique<db_handle>();
  h->db.reset(raw);
  h->secondary = secondary;
  h->secondary_path = secondary ? scratch : fs::path();
  for (std::size_t k = 0; k < which.size(); ++k) h->cf[which[k]] = handles[k];
  // Handles of foreign column families are not used; close them now.
  for (std::size_t k = which.size(); k < handles.size(); ++k)
    h->db->DestroyColumnFamilyHandle(handles[k]);
  out = std::move(h);
  return {};
}

}  // namespace

std::uint64_t system_now_ms() {
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                        std::chrono::system_clock::now().time_since_epoch())
                                        .count());
}

db_handle::~db_handle() {
  if (db) {
    for (auto*& c : cf)
      if (c) {
        db->DestroyColumnFamilyHandle(c);
        c = nullptr;
      }
    db->Close();
    db.reset();
  }
  if (!secondary_path.empty()) {
    std::error_code ec;
    fs::remove_all(secondary_path, ec);
  }
}

std::error_code from_status(const rocksdb::Status& s) {
  if (s.ok()) return {};
  if (s.IsNoSpace()) return error::no_space;
  if (s.IsCorruption()) return error::corruption;
  if (s.IsBusy() || s.IsTryAgain()) return error::unavailable;
  return error::io_error;
}

std::error_code read_meta(const db_handle& h, meta_info& meta) {
  meta = meta_info{};
  if (!h.cf[cf_meta]) return {};
  auto get = [&](std::string_view key, std::string& v) {
    auto s = h.db->Get(rocksdb::ReadOptions(), h.cf[cf_meta],
                       rocksdb::Slice(key.data(), key.size()), &v);
    if (s.IsNotFound()) return std::error_code(error::not_found);
    return from_status(s);
  };
  std::string v;
  auto ec = get(meta_format_version, v);
  if (ec == error::not_found) return {};
  if (ec) return ec;
  if (v.size() != 4) return error::corrupt_value;
  meta.present = true;
  meta.format_version = get_be32(v.data());
  if (!get(meta_site_id, v)) meta.site_id = v;
  if (!get(meta_last_seq, v) && v.size() == 8) meta.last_seq = get_be64(v.data());
  if (!get(meta_retention_ms, v) && v.size() == 8) meta.retention_ms = get_be64(v.data());
  if (!get(meta_created_ms, v) && v.size() == 8) meta.created_ms = get_be64(v.data());
  return {};
}

std::error_code open_for_write(const fs::path& path, const std::string& site_id,
                               std::uint64_t retention_ms, std::uint64_t now_ms,
                               const db_tuning& tuning, std::unique_ptr<db_handle>& out,
                               meta_info& meta, std::string& detail) {
  std::error_code fec;
  const bool fresh = folder_missing_or_empty(path);
  std::vector<std::string> existing;
  if (!fresh) {
    if (!fs::exists(path / "CURRENT", fec))
      return fail(error::not_a_database, detail,
                  path.string() +
                      " exists, is not empty and holds no fleetpoll database; "
                      "choose an empty or new folder");
    if (auto ec = peek_meta(path, meta, existing, detail)) return ec;
    if (auto ec = check_version(path, meta, detail)) return ec;
    if (!site_id.empty() && site_id != meta.site_id)
      return fail(error::site_mismatch, detail,
                  "database " + path.string() + " belongs to site '" + meta.site_id + "', not '" +
                      site_id + "'");
  } else if (site_id.empty()) {
    return fail(error::invalid_options, detail, "a new database needs a site id");
  }
  fs::create_directories(path, fec);
  if (fec)
    return fail(error::io_error, detail, "cannot create " + path.string() + ": " + fec.message());
  std::unique_ptr<db_handle> h;
  if (auto ec = open_with(path, tuning, false, {}, existing, h, detail)) return ec;

  rocksdb::WriteBatch b;
  if (fresh) {
    b.Put(h->cf[cf_meta], std::string(meta_format_version), be32(format_version));
    b.Put(h->cf[cf_meta], std::string(meta_site_id), site_id);
    b.Put(h->cf[cf_meta], std::string(meta_created_ms), be64(now_ms));
    b.Put(h->cf[cf_meta], std::string(meta_last_seq), be64(0));
  }
  b.Put(h->cf[cf_meta], std::string(meta_retention_ms), be64(retention_ms));
  b.Put(h->cf[cf_meta], std::string(meta_writer),
        std::string("fleetpoll storage format ") + std::to_string(format_version));
  rocksdb::WriteOptions wo;
  wo.sync = true;
  auto s = h->db->Write(wo, &b);
  if (!s.ok()) {
    detail = "cannot write to " + path.string() + ": " + s.ToString();
    return from_status(s);
  }
  if (auto ec = read_meta(*h, meta)) {
    detail = "cannot read back the meta column family of " + path.string();
    return ec;
  }
  out = std::move(h);
  return {};
}

std::error_code open_secondary(const fs::path& path, const fs::path& scratch,
                               const db_tuning& tuning, std::unique_ptr<db_handle>& out,
                               meta_info& meta, std::string& detail) {
  std::error_code fec;
  if (!fs::exists(path / "CURRENT", fec))
    return fail(error::no_database, detail, "no fleetpoll database at " + path.string());
  std::vector<std::string> existing;
  if (auto ec = list_families(path, existing, detail)) return ec;
  std::unique_ptr<db_handle> h;
  if (auto ec = open_with(path, tuning, true, scratch, existing, h, detail)) return ec;
  if (auto ec = read_meta(*h, meta)) {
    detail = "cannot read the meta column family of " + path.string();
    return ec;
  }
  if (auto ec = check_version(path, meta, detail)) return ec;
  out = std::move(h);
  return {};
}

// ---- reads --------------------------------------------------------------------------------------

std::error_code load_states(const db_ref& r, std::vector<device_state>& out,
                            std::uint64_t* corrupt) {
  out.clear();
  if (!r.cf[cf_devices]) return {};
  std::unique_ptr<rocksdb::Iterator> it(
      r.db->NewIterator(rocksdb::ReadOptions(), r.cf[cf_devices]));
  const std::string start(1, device_key_tag);
  for (it->Seek(start); it->Valid(); it->Next()) {
    const auto k = it->key();
    if (k.empty() || k[0] != device_key_tag) break;
    device_state st;
    const auto v = it->value();
    if (k.size() != 9 || !parse_state(std::string_view(v.data(), v.size()), st) ||
        st.device_id != get_be64(k.data() + 1)) {
      spdlog::error("storage: device state {} fails verification; the device starts afresh",
                    k.size() == 9 ? std::to_string(get_be64(k.data() + 1)) : std::string("?"));
      if (corrupt) ++*corrupt;
      continue;
    }
    out.push_back(std::move(st));
  }
  return from_status(it->status());
}

std::error_code lookup_address(const db_ref& r, std::string_view address, std::uint64_t& id) {
  id = 0;
  std::string v;
  auto s = r.db->Get(rocksdb::ReadOptions(), r.cf[cf_devices], address_key(address), &v);
  if (s.IsNotFound()) return {};
  if (!s.ok()) return from_status(s);
  if (v.size() != 8) return error::corrupt_value;
  id = get_be64(v.data());
  return {};
}

namespace {

// The weeks a time range touches, bounded by retention and by the present (plus a week of clock
// skew) so that "since 0" does not walk 2^32 partitions.
std::pair<std::uint32_t, std::uint32_t> weeks_of(const db_ref& r, std::uint64_t since,
                                                 std::uint64_t until) {
  since = std::max(since, r.cutoff_ms);
  const std::uint64_t horizon = r.now_ms + week_ms;
  until = std::min(until, horizon);
  if (since > until) return {1, 0};
  return {week_of(since), week_of(until)};
}

}  // namespace

std::error_code read_samples(const db_ref& r, std::uint64_t device_id, const series_filter* only,
                             std::uint64_t since_ms, std::uint64_t until_ms,
                             std::vector<sample>& out, std::uint64_t* corrupt) {
  out.clear();
  const auto [w0, w1] = weeks_of(r, since_ms, until_ms);
  since_ms = std::max(since_ms, r.cutoff_ms);
  // A printer stores a few hundred samples a day: avoid regrowing through a month of them.
  if (!only && w0 <= w1)
    out.reserve(std::min<std::size_t>(std::size_t{2048} * (w1 - w0 + 1), 1u << 16));
  std::unique_ptr<rocksdb::Iterator> it(
      r.db->NewIterator(rocksdb::ReadOptions(), r.cf[cf_samples]));
  // Collected per week; a series spans weeks, so sort by series then time at the end.
  for (std::uint32_t w = w0; w <= w1 && w0 <= w1; ++w) {
    const std::string prefix =
        only ? series_prefix(w, device_id, only->kind, only->hr_device_index, only->index)
             : week_device_prefix(w, device_id);
    std::string start = prefix;
    if (only) put_be64(start, since_ms);
    for (it->Seek(start); it->Valid(); it->Next()) {
      const auto k = it->key();
      if (!k.starts_with(rocksdb::Slice(prefix))) break;
      sample_key_parts p;
      if (!parse_sample_key(std::string_view(k.data(), k.size()), p)) {
        if (corrupt) ++*corrupt;
        continue;
      }
      if (p.at_ms < since_ms) continue;
      if (p.at_ms > until_ms) {
        if (only) break;
        continue;
      }
      sample smp;
      smp.at_ms = p.at_ms;
      smp.kind = p.kind;
      smp.hr_device_index = p.hr_device_index;
      smp.index = p.index;
      const auto v = it->value();
      if (!decode_sample_value(std::string_view(v.data(), v.size()), smp)) {
        if (corrupt) ++*corrupt;
        continue;
      }
      out.push_back(smp);
    }
    if (!it->status().ok()) return from_status(it->status());
  }
  std::stable_sort(out.begin(), out.end(), [](const sample& a, const sample& b) {
    return std::tie(a.kind, a.hr_device_index, a.index, a.at_ms) <
           std::tie(b.kind, b.hr_device_index, b.index, b.at_ms);
  });
  return {};
}

std::error_code read_events(const db_ref& r, std::uint64_t device_id, std::uint64_t since_ms,
                            std::uint64_t until_ms, std::vector<std::string>& out,
                            std::uint64_t* corrupt) {
  out.clear();
  const auto [w0, w1] = weeks_of(r, since_ms, until_ms);
  since_ms = std::max(since_ms, r.cutoff_ms);
  std::unique_ptr<rocksdb::Iterator> it(r.db->NewIterator(rocksdb::ReadOptions(), r.cf[cf_events]));
  for (std::uint32_t w = w0; w <= w1 && w0 <= w1; ++w) {
    const std::string prefix = week_device_prefix(w, device_id);
    std::string start = prefix;
    put_be64(start, since_ms);
    for (it->Seek(start); it->Valid(); it->Next()) {
      const auto k = it->key();
      if (!k.starts_with(rocksdb::Slice(prefix))) break;
      if (k.size() != event_key_size) {
        if (corrupt) ++*corrupt;
        continue;
      }
      if (get_be64(k.data() + 12) > until_ms) break;
      std::string bytes = it->value().ToString();
      if (!codecs::verify_change_record(
              std::span(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()))) {
        if (corrupt) ++*corrupt;
        continue;
      }
      out.push_back(std::move(bytes));
    }
    if (!it->status().ok()) return from_status(it->status());
  }
  return {};
}

namespace {
bool numeric_quality(std::uint8_t q) {
  return q == static_cast<std::uint8_t>(schema::LevelQuality::exact) ||
         q == static_cast<std::uint8_t>(schema::LevelQuality::percent_only);
}
}  // namespace

forecast supply_forecast(const db_ref& r, const device_state& s, const supply_state& x) {
  forecast_options fo;
  const auto window = static_cast<std::uint64_t>(fo.window.count());
  const std::uint64_t from = std::max(x.installed_ms, r.now_ms > window ? r.now_ms - window : 0);
  const series_filter only{series_kind::supply, x.hr, x.index};
  std::vector<sample> smp;
  if (read_samples(r, s.device_id, &only, from, r.now_ms, smp, nullptr)) {
    forecast f;
    f.reason = "history unreadable";
    return f;
  }
  std::vector<level_point> pts;
  pts.reserve(smp.size());
  for (const auto& m : smp) {
    if (!m.percent || !(m.quality == schema::LevelQuality::exact ||
                        m.quality == schema::LevelQuality::percent_only))
      continue;
    level_point p;
    p.at_ms = m.at_ms;
    // Raw units give more resolution than the rounded percent.
    if (m.level && m.max_capacity && *m.max_capacity > 0)
      p.percent = 100.0 * static_cast<double>(*m.level) / static_cast<double>(*m.max_capacity);
    else
      p.percent = *m.percent;
    p.pages = m.pages;
    pts.push_back(p);
  }
  // The latest poll's level, which the stored samples only hold if it changed since.
  if (numeric_quality(x.quality) && x.percent && s.last_seen_ms >= from) {
    level_point now_point;
    now_point.at_ms = std::min(s.last_seen_ms, r.now_ms);
    now_point.percent =
        x.level && x.max_capacity && *x.max_capacity > 0
            ? 100.0 * static_cast<double>(*x.level) / static_cast<double>(*x.max_capacity)
            : *x.percent;
    if (pts.empty() || pts.back().at_ms < now_point.at_ms) pts.push_back(now_point);
  }
  return make_forecast(pts, r.now_ms, static_cast<schema::LevelQuality>(x.quality), fo);
}

std::error_code devices_query(const db_ref& r, const std::vector<device_state>& states,
                              bool with_forecast, std::vector<device_view>& out) {
  out.clear();
  out.reserve(states.size());
  for (const auto& s : states) {
    device_view v = to_view(s);
    if (with_forecast)
      for (std::size_t i = 0; i < s.supplies.size(); ++i)
        v.supplies[i].fc = supply_forecast(r, s, s.supplies[i]);
    out.push_back(std::move(v));
  }
  std::sort(out.begin(), out.end(),
            [](const auto& a, const auto& b) { return a.device_id < b.device_id; });
  return {};
}

std::error_code history_query_run(const db_ref& r, const device_state& s, const history_query& q,
                                  history_result& out, std::uint64_t* corrupt) {
  out = history_result{};
  out.device = to_view(s);
  for (std::size_t i = 0; i < s.supplies.size(); ++i)
    if (!q.supply_index || *q.supply_index == s.supplies[i].index)
      out.device.supplies[i].fc = supply_forecast(r, s, s.supplies[i]);
  if (q.samples) {
    if (q.supply_index) {
      // The supply of that index on any hrDevice (normally there is one printer).
      for (const auto& x : s.supplies) {
        if (x.index != *q.supply_index) continue;
        const series_filter only{series_kind::supply, x.hr, x.index};
        std::vector<sample> part;
        if (auto ec = read_samples(r, s.device_id, &only, q.since_ms, q.until_ms, part, corrupt))
          return ec;
        out.samples.insert(out.samples.end(), part.begin(), part.end());
      }
    } else if (auto ec = read_samples(r, s.device_id, nullptr, q.since_ms, q.until_ms, out.samples,
                                      corrupt)) {
      return ec;
    }
  }
  if (q.events) {
    if (auto ec = read_events(r, s.device_id, q.since_ms, q.until_ms, out.events, corrupt))
      return ec;
    if (q.supply_index) {
      std::erase_if(out.events, [&](const std::string& e) {
        const auto* rec = codecs::change_record_of(
            std::span(reinterpret_cast<const std::uint8_t*>(e.data()), e.size()));
        return !rec->supply() || rec->supply()->index() != *q.supply_index;
      });
    }
  }
  return {};
}

std::uint64_t folder_bytes(const fs::path& path) {
  std::uint64_t total = 0;
  std::error_code ec;
  for (fs::directory_iterator it(path, ec), end; !ec && it != end; it.increment(ec)) {
    std::error_code e2;
    if (it->is_regular_file(e2)) total += it->file_size(e2);
  }
  return total;
}

}  // namespace fleetpoll::storage::detail
