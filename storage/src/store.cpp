#include "fleetpoll/storage/store.hpp"

#include <spdlog/spdlog.h>
#include <sys/statvfs.h>

#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstring>
#include <map>
#include <mutex>
#include <shared_mutex>
#include <thread>
#include <unordered_map>

#include "database.hpp"
#include "detector.hpp"
#include "device_state.hpp"
#include "fleetpoll/codecs/change_record.hpp"
#include "fleetpoll/codecs/normalize.hpp"
#include "keys.hpp"
#include "storage_metrics.hpp"

namespace fleetpoll::storage {

using namespace detail;

namespace {

struct text_hash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const noexcept {
    return std::hash<std::string_view>{}(s);
  }
};

rocksdb::Slice slice(std::string_view s) {
  return {s.data(), s.size()};
}

std::error_code validate(const store_options& o, std::string& detail) {
  const auto& t = o.thresholds;
  auto bad = [&](const std::string& what) {
    detail = "invalid storage option: " + what;
    return std::error_code(error::invalid_options);
  };
  if (o.path.empty()) return bad("path is empty");
  if (t.level_change < 1 || t.level_change > 100)
    return bad("thresholds.level_change must be 1..100");
  if (t.reorder_point < 0 || t.reorder_point > 100)
    return bad("thresholds.reorder_point must be 0..100");
  if (t.low_mark < 0 || t.low_mark > 100) return bad("thresholds.low_mark must be 0..100");
  if (t.replacement_jump < 1 || t.replacement_jump > 100)
    return bad("thresholds.replacement_jump must be 1..100");
  if (t.reseat_tolerance < 0 || t.reseat_tolerance >= t.replacement_jump)
    return bad("thresholds.reseat_tolerance must be 0..replacement_jump-1");
  if (t.tray_level_change < 1 || t.tray_level_change > 100)
    return bad("thresholds.tray_level_change must be 1..100");
  if (t.counter_delta < 1) return bad("thresholds.counter_delta must be at least 1");
  if (t.removal_polls < 1 || t.removal_polls > 255)
    return bad("thresholds.removal_polls must be 1..255");
  if (o.heartbeat_period.count() <= 0) return bad("heartbeat_period must be positive");
  if (o.retention < std::chrono::hours(24)) return bad("retention must be at least a day");
  if (o.touch_period.count() < 0) return bad("touch_period must not be negative");
  if (o.recovery_interval.count() <= 0) return bad("recovery_interval must be positive");
  if (o.block_cache_bytes < (1u << 20)) return bad("block_cache_bytes must be at least 1 MiB");
  if (o.write_buffer_bytes < (1u << 20)) return bad("write_buffer_bytes must be at least 1 MiB");
  return {};
}

}  // namespace

class store::impl final : public storage::outbox {
 public:
  explicit impl(const store_options& o) : opt_(o) {
    cfg_.thresholds = o.thresholds;
    cfg_.heartbeat_ms = static_cast<std::uint64_t>(o.heartbeat_period.count());
    tuning_.block_cache_bytes = o.block_cache_bytes;
    tuning_.write_buffer_bytes = o.write_buffer_bytes;
    tuning_.background_jobs = o.background_jobs;
    if (o.metrics) metrics_ = std::make_unique<storage_metrics>(*o.metrics);
  }

  ~impl() override {
    {
      std::lock_guard lk(maint_mu_);
      stop_ = true;
    }
    maint_cv_.notify_all();
    if (maint_.joinable()) maint_.join();
    std::unique_lock lk(db_mu_);
    db_.reset();
  }

  std::error_code start(std::string& detail) {
    meta_info meta;
    const auto ec =
        open_for_write(opt_.path, opt_.site_id, retention_ms(), now(), tuning_, db_, meta, detail);
    if (ec) return ec;
    site_id_ = meta.site_id;
    if (auto e2 = reload(meta)) {
      detail = "cannot load the state of " + opt_.path.string() + ": " + e2.message();
      return e2;
    }
    refresh_free_space();
    maint_ = std::thread([this] { maintenance(); });
    return {};
  }

  // ---- ingest ---------------------------------------------------------------------------------

  std::error_code ingest_many(std::span<const poll_record> polls,
                              std::span<std::error_code> results, std::span<ingest_stats> stats) {
    if (results.size() < polls.size() || (!stats.empty() && stats.size() < polls.size()))
      return error::invalid_record;
    results = results.first(polls.size());
    for (std::size_t i = 0; i < polls.size(); ++i) {
      results[i] = {};
      if (!stats.empty()) stats[i] = {};
    }
    bool appended = false;
    std::error_code ec;
    {
      auto lk = use_db(ec);
      if (ec) {
        for (std::size_t i = 0; i < polls.size(); ++i) {
          results[i] = ec;
          count_failure(ec);
        }
        return ec;
      }
      // Verified, then the entries, all while no entry is locked: entry_for() may take map_mu_
      // exclusively, and queries hold map_mu_ while they lock entries. A refused poll makes no
      // entry (and takes no device id).
      thread_local std::vector<device_entry*> entries;
      entries.assign(polls.size(), nullptr);
      for (std::size_t i = 0; i < polls.size(); ++i) {
        const auto& p = polls[i];
        if (p.address.empty() || (p.classes & ~class_all) != 0) {
          results[i] = error::invalid_record;
          count_poll(poll_result::rejected);
          continue;
        }
        if (!codecs::verify_snapshot(std::span(aligned_snapshot(p), p.snapshot.size()))) {
          results[i] = error::invalid_snapshot;
          count_poll(poll_result::rejected);
          continue;
        }
        entries[i] = entry_for(p.address, true);
      }
      thread_local group g;
      group_guard guard{g};
      std::error_code wec;  // a failed write: the calls after it are not attempted
      for (std::size_t i = 0; i < polls.size(); ++i) {
        if (!entries[i]) continue;
        const auto& p = polls[i];
        const std::uint8_t* data = aligned_snapshot(p);
        device_entry& e = *entries[i];
        if ((wec = lock_into(g, e, results, stats, appended))) {
          fail_rest(results, i, wec);
          break;
        }
        const bool staged_it = stage(g, e, i, p.at_ms, [&](detection& d) {
          detect_poll(e.on_disk ? &e.state : nullptr, e.id, p.address,
                      *schema::GetDeviceSnapshot(data), p.classes, p.at_ms, cfg_, d);
        });
        if (!staged_it) continue;
        if (g.n == store::max_group_polls && (wec = flush(g, results, stats, appended))) {
          fail_rest(results, i + 1, wec);
          break;
        }
      }
      if (!wec) wec = flush(g, results, stats, appended);
    }
    if (appended) notify_append();
    for (std::size_t i = 0; i < polls.size(); ++i)
      if (results[i]) return results[i];
    return {};
  }

  std::error_code unreachable(std::string_view address, std::uint64_t at_ms,
                              std::uint32_t failed_polls, std::string_view last_error) {
    if (address.empty()) return error::invalid_record;
    bool appended = false;
    std::error_code ec;
    {
      auto lk = use_db(ec);
      if (ec) {
        count_failure(ec);
        return ec;
      }
      device_entry* e = entry_for(address, false);
      if (!e) return {};
      thread_local group g;
      group_guard guard{g};
      std::span<std::error_code> result(&ec, 1);
      if (lock_into(g, *e, result, {}, appended)) return ec;
      if (!e->on_disk) {  // never ingested: nothing to report about it yet
        e->mu.unlock();
        return {};
      }
      const bool staged_it = stage(g, *e, 0, at_ms, [&](detection& d) {
        detect_unreachable(e->state, at_ms, failed_polls, last_error, cfg_, d);
      });
      if (!staged_it) return {};
      flush(g, result, {}, appended);
    }
    if (appended) notify_append();
    return ec;
  }

  // ---- outbox ---------------------------------------------------------------------------------

  std::error_code read(std::uint64_t after_seq, std::size_t max_records, std::size_t max_bytes,
                       std::vector<outbox_entry>& out) override {
    out.clear();
    if (max_records == 0) return {};
    std::error_code ec;
    auto lk = use_db(ec);
    if (ec) return ec;
    std::unique_ptr<rocksdb::Iterator> it(
        db_->db->NewIterator(rocksdb::ReadOptions(), db_->cf[cf_outbox]));
    std::size_t total = 0;
    for (it->Seek(outbox_key(after_seq + 1)); it->Valid() && out.size() < max_records; it->Next()) {
      const auto k = it->key();
      const auto v = it->value();
      outbox_entry e;
      e.seq = k.size() == 8 ? get_be64(k.data()) : 0;
      bool good = k.size() == 8 && v.size() > outbox_header_size;
      if (good) {
        e.created_ms = get_be64(v.data());
        e.bytes.assign(v.data() + outbox_header_size, v.size() - outbox_header_size);
        const std::span bytes(reinterpret_cast<const std::uint8_t*>(e.bytes.data()),
                              e.bytes.size());
        good =
            codecs::verify_change_record(bytes) && codecs::change_record_of(bytes)->seq() == e.seq;
      }
      if (!good) {
        if (metrics_) metrics_->corrupt_values->Increment();
        spdlog::error("storage: outbox record {} fails verification; the uplink cannot send it",
                      e.seq);
        if (out.empty()) return error::corrupt_value;
        break;
      }
      if (!out.empty() && total + e.bytes.size() > max_bytes) break;
      total += e.bytes.size();
      out.push_back(std::move(e));
    }
    if (!it->status().ok()) {
      out.clear();
      return from_status(it->status());
    }
    if (opt_.sync_before_handout && !out.empty() && out.back().seq > synced_seq_.load()) {
      std::lock_guard sl(sync_mu_);
      if (out.back().seq > synced_seq_.load()) {
        const std::uint64_t target = last_seq_.load();
        const auto s = db_->db->SyncWAL();
        if (!s.ok()) {
          // Hand out only what is already durable (the disk may be full: the uplink can still
          // drain what was made durable before).
          const auto durable = synced_seq_.load();
          std::erase_if(out, [&](const outbox_entry& e) { return e.seq > durable; });
          log_error(from_status(s),
                    "cannot make the outbox durable before handing it out: " + s.ToString());
          return out.empty() ? from_status(s) : std::error_code();
        }
        synced_seq_.store(std::max(synced_seq_.load(), target));
      }
    }
    return {};
  }

  std::error_code acknowledge(std::uint64_t first_seq, std::uint64_t last_seq_arg) override {
    if (first_seq == 0 || first_seq > last_seq_arg || last_seq_arg > last_seq_.load())
      return error::invalid_ack;
    std::error_code ec;
    auto lk = use_db(ec);
    if (ec) return ec;
    std::lock_guard al(ack_mu_);
    rocksdb::WriteBatch batch;
    std::uint64_t n = 0;
    {
      rocksdb::ReadOptions ro;
      const std::string upper = outbox_key(last_seq_arg + 1);
      rocksdb::Slice upper_slice(upper);
      ro.iterate_upper_bound = &upper_slice;
      std::unique_ptr<rocksdb::Iterator> it(db_->db->NewIterator(ro, db_->cf[cf_outbox]));
      for (it->Seek(outbox_key(first_seq)); it->Valid(); it->Next()) {
        batch.Delete(db_->cf[cf_outbox], it->key());
        ++n;
      }
      if (!it->status().ok()) return from_status(it->status());
    }
    if (n > 0) {
      const auto s = db_->db->Write(rocksdb::WriteOptions(), &batch);
      if (!s.ok()) return write_failed(s);
      if (metrics_) {
        metrics_->writes->Increment();
        metrics_->records_acknowledged->Increment(static_cast<double>(n));
      }
    }
    std::lock_guard ol(ob_mu_);
    depth_ -= std::min(depth_, n);
    const auto old_floor = floor_;
    mark_acked(first_seq, last_seq_arg);
    if (floor_ != old_floor) refresh_oldest();
    update_outbox_gauges();
    return {};
  }

  std::uint64_t first_unacknowledged() const override {
    std::lock_guard ol(ob_mu_);
    return floor_ + 1;
  }
  std::uint64_t last_seq() const override { return last_seq_.load(); }
  std::uint64_t depth() const override {
    std::lock_guard ol(ob_mu_);
    return depth_;
  }
  std::uint64_t oldest_created_ms() const override {
    std::lock_guard ol(ob_mu_);
    return depth_ == 0 ? 0 : oldest_created_;
  }
  void set_append_listener(std::function<void()> listener) override {
    std::lock_guard ll(listener_mu_);
    listener_ = listener ? std::make_shared<std::function<void()>>(std::move(listener)) : nullptr;
  }

  // ---- queries ----------------------------------------------------------------------------------

  std::error_code devices(std::vector<device_view>& out, bool with_forecast) {
    std::error_code ec;
    auto lk = use_db(ec);
    if (ec) return ec;
    std::vector<device_state> states;
    {
      std::shared_lock ml(map_mu_);
      states.reserve(by_id_.size());
      for (const auto& [id, e] : by_id_) {
        std::lock_guard el(e->mu);
        if (e->on_disk) states.push_back(e->state);
      }
    }
    return devices_query(ref(), states, with_forecast, out);
  }

  std::error_code history(std::uint64_t id, const history_query& q, history_result& out) {
    std::error_code ec;
    auto lk = use_db(ec);
    if (ec) return ec;
    device_state st;
    {
      std::shared_lock ml(map_mu_);
      auto it = by_id_.find(id);
      if (it == by_id_.end()) return error::not_found;
      std::lock_guard el(it->second->mu);
      if (!it->second->on_disk) return error::not_found;
      st = it->second->state;
    }
    std::uint64_t corrupt = 0;
    ec = history_query_run(ref(), st, q, out, &corrupt);
    if (corrupt && metrics_) metrics_->corrupt_values->Increment(static_cast<double>(corrupt));
    return ec;
  }

  std::uint64_t device_id(std::string_view address) const {
    std::shared_lock ml(map_mu_);
    auto it = by_address_.find(address);
    if (it == by_address_.end()) return 0;
    std::lock_guard el(it->second->mu);
    return it->second->on_disk ? it->second->id : 0;
  }

  // ---- operations -------------------------------------------------------------------------------

  std::error_code enforce_retention(std::uint64_t* deleted) {
    if (deleted) *deleted = 0;
    std::lock_guard rl(retention_mu_);  // one pass at a time (the hourly one, or a caller's)
    std::error_code ec;
    auto lk = use_db(ec);
    if (ec) return ec;
    const std::uint64_t t = now();
    const std::uint64_t cutoff = t > retention_ms() ? t - retention_ms() : 0;
    const std::uint32_t first_kept_week = week_of(cutoff);  // weeks before it are wholly expired
    if (first_kept_week == 0) return {};
    std::string boundary;
    put_be32(boundary, first_kept_week);
    std::uint64_t counts[2] = {0, 0};
    const std::size_t families[2] = {cf_samples, cf_events};
    for (int i = 0; i < 2; ++i) {
      rocksdb::ReadOptions ro;
      rocksdb::Slice upper(boundary);
      ro.iterate_upper_bound = &upper;
      std::unique_ptr<rocksdb::Iterator> it(db_->db->NewIterator(ro, db_->cf[families[i]]));
      for (it->SeekToFirst(); it->Valid(); it->Next()) ++counts[i];
      if (!it->status().ok()) return from_status(it->status());
    }
    if (counts[0] + counts[1] == 0) return {};
    rocksdb::WriteBatch batch;
    for (auto f : families) batch.DeleteRange(db_->cf[f], rocksdb::Slice(), boundary);
    const auto s = db_->db->Write(rocksdb::WriteOptions(), &batch);
    if (!s.ok()) return write_failed(s);
    // Reclaim the space now rather than whenever compaction reaches those files.
    rocksdb::CompactRangeOptions co;
    rocksdb::Slice end(boundary);
    for (auto f : families) db_->db->CompactRange(co, db_->cf[f], nullptr, &end);
    if (metrics_) {
      metrics_->retention_samples->Increment(static_cast<double>(counts[0]));
      metrics_->retention_events->Increment(static_cast<double>(counts[1]));
    }
    spdlog::info("storage: retention deleted {} samples and {} events older than week {}",
                 counts[0], counts[1], first_kept_week);
    if (deleted) *deleted = counts[0] + counts[1];
    return {};
  }

  std::error_code compact() {
    std::error_code ec;
    auto lk = use_db(ec);
    if (ec) return ec;
    // Memtables first (all column families together, so that no write-ahead log file is kept
    // alive by one of them), then every level down to the last.
    std::vector<rocksdb::ColumnFamilyHandle*> all;
    for (auto* c : db_->cf)
      if (c) all.push_back(c);
    rocksdb::FlushOptions fo;
    fo.wait = true;
    if (const auto s = db_->db->Flush(fo, all); !s.ok()) return from_status(s);
    rocksdb::CompactRangeOptions co;
    co.bottommost_level_compaction = rocksdb::BottommostLevelCompaction::kForce;
    for (auto* c : db_->cf)
      if (c) {
        const auto s = db_->db->CompactRange(co, c, nullptr, nullptr);
        if (!s.ok()) return from_status(s);
      }
    return {};
  }

  std::uint64_t disk_bytes() { return folder_bytes(opt_.path); }
  bool writable() const noexcept { return writable_.load(); }
  bool wait_writable(std::chrono::milliseconds timeout) {
    maint_cv_.notify_all();
    std::unique_lock hl(health_mu_);
    return health_cv_.wait_for(hl, timeout, [&] { return writable_.load(); });
  }

 private:
  struct device_entry {
    std::mutex mu;
    std::uint64_t id = 0;
    bool on_disk = false;  // a state is stored (and `state` is it)
    device_state state;
    std::uint64_t persisted_seen_ms = 0;
  };

  std::uint64_t now() const { return opt_.clock ? opt_.clock() : system_now_ms(); }
  std::uint64_t retention_ms() const { return static_cast<std::uint64_t>(opt_.retention.count()); }

  db_ref ref() const {
    db_ref r;
    r.db = db_->db.get();
    r.cf = db_->cf;
    r.now_ms = now();
    r.cutoff_ms = r.now_ms > retention_ms() ? r.now_ms - retention_ms() : 0;
    return r;
  }

  // Shared use of the database; `unavailable` while a recovery reopens it.
  std::shared_lock<std::shared_mutex> use_db(std::error_code& ec) {
    if (recovering_.load()) {
      ec = error::unavailable;
      return {};
    }
    std::shared_lock lk(db_mu_);
    if (!db_) {
      ec = error::unavailable;
      return {};
    }
    return lk;
  }

  device_entry* entry_for(std::string_view address, bool create) {
    {
      std::shared_lock ml(map_mu_);
      auto it = by_address_.find(address);
      if (it != by_address_.end()) return it->second.get();
    }
    if (!create) return nullptr;
    std::unique_lock ml(map_mu_);
    auto it = by_address_.find(address);
    if (it != by_address_.end()) return it->second.get();
    auto e = std::make_unique<device_entry>();
    e->id = next_id_++;
    auto* raw = e.get();
    by_id_[raw->id] = raw;
    by_address_.emplace(std::string(address), std::move(e));
    return raw;
  }

  // One judged call waiting for its group's write; its device entry is locked meanwhile.
  struct staged {
    device_entry* e = nullptr;
    detection d;
    std::uint64_t at = 0;
    std::size_t index = 0;  // the call's position in the caller's results
    bool write_state = false;
  };

  // The calls of one thread that go into its next RocksDB write (group commit). Slots are kept
  // per thread: judging into a slot whose detection held an earlier state mostly reuses its
  // buffers (the old state's buffers come back from the entry on commit).
  struct group {
    std::vector<std::unique_ptr<staged>> slots;  // slots[0, n) are staged, their entries locked
    std::size_t n = 0;
    rocksdb::WriteBatch batch;
    std::string value;
    staged& next() {
      if (slots.size() == n) slots.push_back(std::make_unique<staged>());
      auto& s = *slots[n];
      s.d.records.clear();
      s.d.samples.clear();
      return s;
    }
  };

  // Unlocks whatever a group still holds when its call is left early (an exception).
  struct group_guard {
    group& g;
    ~group_guard() {
      for (std::size_t k = 0; k < g.n; ++k) g.slots[k]->e->mu.unlock();
      g.n = 0;
    }
  };

  // The poll's snapshot bytes where the flatbuffers verifier and accessors may read them: in
  // place when aligned (the engine's buffers normally are), else a per-thread copy that stays
  // valid until the next call.
  static const std::uint8_t* aligned_snapshot(const poll_record& p) {
    const std::uint8_t* data = p.snapshot.data();
    if (reinterpret_cast<std::uintptr_t>(data) % alignof(std::uint64_t) == 0) return data;
    thread_local std::vector<std::uint64_t> aligned;
    aligned.resize(p.snapshot.size() / 8 + 1);
    std::memcpy(aligned.data(), p.snapshot.data(), p.snapshot.size());
    return reinterpret_cast<const std::uint8_t*>(aligned.data());
  }

  // Locks `e` for a call that joins the group. The thread blocks on an entry only while it holds
  // none (the group is written first), so two threads cannot wait on each other; an entry
  // already in the group is written first too, so its next call is judged against the result.
  // Fails when that write failed.
  std::error_code lock_into(group& g, device_entry& e, std::span<std::error_code> results,
                            std::span<ingest_stats> stats, bool& appended) {
    if (g.n > 0) {
      bool mine = false;
      for (std::size_t k = 0; k < g.n && !mine; ++k) mine = g.slots[k]->e == &e;
      if (!mine && e.mu.try_lock()) return {};
      if (auto ec = flush(g, results, stats, appended)) return ec;
    }
    e.mu.lock();
    return {};
  }

  // After a failed write: the calls from `from` on are not attempted and fail with the same error
  // (so a caller that retries from its first failure keeps every device's calls in order).
  void fail_rest(std::span<std::error_code> results, std::size_t from, std::error_code ec) {
    for (std::size_t i = from; i < results.size(); ++i)
      if (!results[i]) {
        results[i] = ec;
        count_failure(ec);
      }
  }

  // Judges a call on locked entry `e` into the group's next slot. True when it joined the group
  // (its entry stays locked until the group is written); false when it writes nothing (done, the
  // entry unlocked). The slot counts at once, so the group's guard unlocks it should `judge`
  // throw.
  template <class Judge>
  bool stage(group& g, device_entry& e, std::size_t index, std::uint64_t at, Judge&& judge) {
    staged& s = g.next();
    ++g.n;
    s.e = &e;
    s.index = index;
    s.at = at;
    judge(s.d);
    if (needs_write(s)) return true;
    --g.n;
    e.mu.unlock();
    return false;
  }

  // Decides what a judged call writes: false when nothing (the call is then done: only the time
  // it was last seen moved, which is kept in memory until the next write of the device).
  bool needs_write(staged& s) {
    // The state is rewritten when something other than readings changed (references, flags,
    // alerts, status, identity, rows), with every record, and at least every touch period;
    // changed readings alone travel as samples.
    auto& e = *s.e;
    auto& d = s.d;
    const bool significant = !e.on_disk || !same_but_readings(d.next, e.state);
    const bool touch = d.next.last_seen_ms >=
                       e.persisted_seen_ms + static_cast<std::uint64_t>(opt_.touch_period.count());
    s.write_state = significant || touch || !d.records.empty();
    if (!s.write_state && d.samples.empty()) {
      e.state.last_seen_ms = d.next.last_seen_ms;  // readings are equal too: nothing else moved
      count_poll(poll_result::unchanged);
      return false;
    }
    return true;
  }

  // Writes the staged calls in one atomic batch, applies them to memory on success, unlocks their
  // entries and fills their results. Fails when the write failed (nothing of it was kept).
  std::error_code flush(group& g, std::span<std::error_code> results, std::span<ingest_stats> stats,
                        bool& appended) {
    if (g.n == 0) return {};
    const std::error_code ec = write_group(g, appended);
    std::uint64_t samples = 0;
    for (std::size_t k = 0; k < g.n; ++k) {
      auto& s = *g.slots[k];
      auto& e = *s.e;
      if (ec) {
        results[s.index] = ec;
        count_failure(ec);
      } else {
        samples += s.d.samples.size();
        if (!stats.empty()) {
          auto& st = stats[s.index];
          st.records = static_cast<std::uint32_t>(s.d.records.size());
          st.samples = static_cast<std::uint32_t>(s.d.samples.size());
          st.state_written = s.write_state;
        }
        std::swap(e.state, s.d.next);  // the old state's buffers go back to the slot
        e.on_disk = true;
        if (s.write_state) e.persisted_seen_ms = e.state.last_seen_ms;
        count_poll(poll_result::written);
      }
      e.mu.unlock();
    }
    if (!ec && metrics_ && samples)
      metrics_->samples_written->Increment(static_cast<double>(samples));
    g.n = 0;
    return ec;
  }

  std::error_code write_group(group& g, bool& appended) {
    if (!writable_.load()) return error::unavailable;
    if (opt_.min_free_bytes > 0 && free_bytes_.load() < opt_.min_free_bytes) refresh_free_space();
    if (opt_.min_free_bytes > 0 && free_bytes_.load() < opt_.min_free_bytes) {
      log_error(error::no_space, "free space below min_free_bytes (" +
                                     std::to_string(free_bytes_.load()) +
                                     " bytes free); polls are not stored");
      return error::no_space;
    }
    auto& batch = g.batch;
    batch.Clear();
    std::size_t n = 0;
    for (std::size_t k = 0; k < g.n; ++k) {
      const auto& s = *g.slots[k];
      if (s.write_state)
        batch.Put(db_->cf[cf_devices], device_key(s.e->id), serialize_state(s.d.next));
      if (!s.e->on_disk)
        batch.Put(db_->cf[cf_devices], address_key(s.d.next.address), be64(s.e->id));
      for (const auto& smp : s.d.samples) batch.Put(db_->cf[cf_samples], smp.key, smp.value);
      n += s.d.records.size();
    }
    rocksdb::Status st;
    if (n > 0) {
      // Sequence numbers are assigned and written under one lock, so records become visible
      // strictly in sequence order.
      std::lock_guard wl(write_mu_);
      std::uint64_t seq = last_seq_.load();
      const std::uint64_t created = now();
      for (std::size_t k = 0; k < g.n; ++k) {
        auto& s = *g.slots[k];
        for (auto& rec : s.d.records) {
          ++seq;
          patch_seq(rec, seq);
          const std::string_view bytes(reinterpret_cast<const char*>(rec.data()), rec.size());
          g.value.clear();
          put_be64(g.value, created);
          g.value.append(bytes);
          batch.Put(db_->cf[cf_outbox], outbox_key(seq), g.value);
          batch.Put(db_->cf[cf_events], event_key(s.e->id, s.at, seq), slice(bytes));
        }
      }
      batch.Put(db_->cf[cf_meta], slice(meta_last_seq), be64(seq));
      st = db_->db->Write(rocksdb::WriteOptions(), &batch);
      if (st.ok()) {
        last_seq_.store(seq);
        std::lock_guard ol(ob_mu_);
        if (depth_ == 0) oldest_created_ = created;
        depth_ += n;
        update_outbox_gauges();
      }
    } else {
      st = db_->db->Write(rocksdb::WriteOptions(), &batch);
    }
    if (!st.ok()) return note_write_error(st);
    // Keep the free-space estimate current between the maintenance thread's looks at the file
    // system (the write-ahead log grows by about the batch size).
    const std::uint64_t used = batch.GetDataSize();
    for (auto f = free_bytes_.load();
         !free_bytes_.compare_exchange_weak(f, f > used ? f - used : 0);) {
    }
    appended = appended || n > 0;
    if (metrics_) {
      metrics_->writes->Increment();
      if (n) metrics_->records_appended->Increment(static_cast<double>(n));
    }
    return {};
  }

  // Logs a failed RocksDB write and starts recovery; the caller counts it.
  std::error_code note_write_error(const rocksdb::Status& s) {
    const auto ec = from_status(s);
    log_error(ec, s.ToString());
    if (writable_.exchange(false)) {
      if (metrics_) metrics_->writable->Set(0);
      maint_cv_.notify_all();
    }
    return ec;
  }

  std::error_code write_failed(const rocksdb::Status& s) {
    const auto ec = note_write_error(s);
    count_failure(ec);
    return ec;
  }

  void count_poll(poll_result r) {
    if (metrics_) metrics_->polls[static_cast<std::size_t>(r)]->Increment();
  }
  void count_failure(std::error_code ec) {
    count_poll(poll_result::failed);
    if (metrics_) metrics_->write_errors[static_cast<std::size_t>(kind_of(ec))]->Increment();
  }

  // The first error of a kind is logged at once, then at most once a minute with a count.
  void log_error(std::error_code ec, const std::string& what) {
    const auto k = static_cast<std::size_t>(kind_of(ec));
    std::lock_guard ll(log_mu_);
    ++suppressed_[k];
    const std::uint64_t t = now();
    if (t < last_log_[k] + 60'000) return;
    spdlog::error("storage: write failed ({}): {} [{} failure(s) since the last report]",
                  ec.message(), what, suppressed_[k]);
    suppressed_[k] = 0;
    last_log_[k] = t;
  }

  void notify_append() {
    std::shared_ptr<std::function<void()>> l;
    {
      std::lock_guard ll(listener_mu_);
      l = listener_;
    }
    if (l) (*l)();
  }

  // Under ob_mu_: [first, last] is acknowledged; advance the floor over contiguous ranges.
  void mark_acked(std::uint64_t first, std::uint64_t last) {
    if (last <= floor_) return;
    first = std::max(first, floor_ + 1);
    auto it = acked_.upper_bound(first);
    if (it != acked_.begin()) {
      auto p = std::prev(it);
      if (p->second + 1 >= first) {
        first = p->first;
        last = std::max(last, p->second);
        it = acked_.erase(p);
      }
    }
    while (it != acked_.end() && it->first <= last + 1) {
      last = std::max(last, it->second);
      it = acked_.erase(it);
    }
    acked_[first] = last;
    auto b = acked_.begin();
    if (b != acked_.end() && b->first == floor_ + 1) {
      floor_ = b->second;
      acked_.erase(b);
    }
  }

  // Under ob_mu_ with the database in use.
  void refresh_oldest() {
    oldest_created_ = 0;
    if (depth_ == 0) return;
    std::string v;
    const auto s =
        db_->db->Get(rocksdb::ReadOptions(), db_->cf[cf_outbox], outbox_key(floor_ + 1), &v);
    if (s.ok() && v.size() >= outbox_header_size) oldest_created_ = get_be64(v.data());
  }

  void update_outbox_gauges() {
    if (!metrics_) return;
    metrics_->outbox_depth->Set(static_cast<double>(depth_));
    metrics_->outbox_last_seq->Set(static_cast<double>(last_seq_.load()));
    const std::uint64_t t = now();
    metrics_->outbox_oldest_age->Set(depth_ == 0 || oldest_created_ > t
                                         ? 0.0
                                         : static_cast<double>(t - oldest_created_) / 1000.0);
  }

  // (Re)loads everything the store keeps in memory from the database: sequence numbers, outbox
  // bookkeeping, device states. At open, and after a recovery reopened the database.
  std::error_code reload(const meta_info& meta) {
    const db_ref r = ref();
    std::uint64_t last = meta.last_seq;
    std::uint64_t depth = 0, first_key = 0, prev = 0;
    std::map<std::uint64_t, std::uint64_t> gaps;
    {
      std::unique_ptr<rocksdb::Iterator> it(
          r.db->NewIterator(rocksdb::ReadOptions(), r.cf[cf_outbox]));
      for (it->SeekToFirst(); it->Valid(); it->Next()) {
        if (it->key().size() != 8) continue;
        const std::uint64_t seq = get_be64(it->key().data());
        if (depth == 0)
          first_key = seq;
        else if (seq > prev + 1)
          gaps[prev + 1] = seq - 1;
        prev = seq;
        ++depth;
      }
      if (!it->status().ok()) return from_status(it->status());
    }
    last = std::max(last, prev);
    std::vector<device_state> states;
    std::uint64_t corrupt = 0;
    if (auto ec = load_states(r, states, &corrupt)) return ec;
    if (corrupt && metrics_) metrics_->corrupt_values->Increment(static_cast<double>(corrupt));
    // Addresses whose state failed verification keep their id (history stays theirs).
    std::vector<std::pair<std::string, std::uint64_t>> addresses;
    {
      std::unique_ptr<rocksdb::Iterator> it(
          r.db->NewIterator(rocksdb::ReadOptions(), r.cf[cf_devices]));
      for (it->Seek(std::string(1, address_key_tag)); it->Valid(); it->Next()) {
        const auto k = it->key();
        if (k.empty() || k[0] != address_key_tag) break;
        if (it->value().size() == 8)
          addresses.emplace_back(std::string(k.data() + 1, k.size() - 1),
                                 get_be64(it->value().data()));
      }
      if (!it->status().ok()) return from_status(it->status());
    }
    {
      std::unique_lock ml(map_mu_);
      for (auto& [addr, e] : by_address_) e->on_disk = false;
      std::uint64_t max_id = 0;
      auto place = [&](const std::string& address, std::uint64_t id) -> device_entry& {
        max_id = std::max(max_id, id);
        auto it = by_address_.find(address);
        if (it == by_address_.end()) {
          auto e = std::make_unique<device_entry>();
          it = by_address_.emplace(address, std::move(e)).first;
        }
        auto& e = *it->second;
        if (e.id != id) by_id_.erase(e.id);
        e.id = id;
        by_id_[id] = &e;
        return e;
      };
      for (const auto& [address, id] : addresses) place(address, id);
      for (auto& st : states) {
        auto& e = place(st.address, st.device_id);
        std::lock_guard el(e.mu);
        e.persisted_seen_ms = st.last_seen_ms;
        e.state = std::move(st);
        e.on_disk = true;
      }
      next_id_ = std::max(next_id_, max_id + 1);
    }
    last_seq_.store(last);
    synced_seq_.store(0);
    std::lock_guard ol(ob_mu_);
    depth_ = depth;
    floor_ = depth == 0 ? last : first_key - 1;
    acked_ = std::move(gaps);
    if (depth > 0 && prev < last) acked_[prev + 1] = last;
    refresh_oldest();
    update_outbox_gauges();
    return {};
  }

  void refresh_free_space() {
    struct statvfs sv {};
    if (::statvfs(opt_.path.c_str(), &sv) == 0)
      free_bytes_.store(static_cast<std::uint64_t>(sv.f_bavail) * sv.f_frsize);
  }

  // Background: free space, recovery after write errors, gauges, hourly retention.
  // Recovery attempts and disk gauges are paced by the steady clock: `now()` is the data clock,
  // which a test may freeze or simulate and the wall clock may step back (NTP). Retention is
  // judged in data time, as the samples are stamped.
  void maintenance() {
    using steady = std::chrono::steady_clock;
    std::uint64_t next_retention = 0;
    steady::time_point next_disk{}, next_recovery{};
    std::unique_lock lk(maint_mu_);
    while (!stop_) {
      lk.unlock();
      refresh_free_space();
      const std::uint64_t t = now();
      const auto mono = steady::now();
      if (!writable_.load() && mono >= next_recovery) {
        try_recover();
        next_recovery = mono + opt_.recovery_interval;
      }
      if (metrics_) {
        {
          std::lock_guard ol(ob_mu_);
          update_outbox_gauges();
        }
        if (mono >= next_disk) {
          metrics_->disk_bytes->Set(static_cast<double>(disk_bytes()));
          next_disk = mono + std::chrono::seconds(10);
        }
      }
      if (t >= next_retention && writable_.load()) {
        if (auto ec = enforce_retention(nullptr))
          spdlog::warn("storage: retention pass failed: {}", ec.message());
        next_retention = t + 3'600'000;
      }
      lk.lock();
      maint_cv_.wait_for(
          lk, std::min<std::chrono::milliseconds>(opt_.recovery_interval, std::chrono::seconds(1)),
          [&] { return stop_; });
    }
  }

  void try_recover() {
    if (opt_.min_free_bytes > 0 && free_bytes_.load() < opt_.min_free_bytes) return;
    recovering_.store(true);
    {
      std::unique_lock lk(db_mu_);
      bool ok = false;
      if (db_) ok = db_->db->Resume().ok();
      if (!ok) {
        // A write-ahead-log write error is not resumable in this RocksDB: close and reopen (the
        // log is replayed up to the last complete write; a failed write is not in it).
        db_.reset();
        std::unique_ptr<db_handle> h;
        meta_info meta;
        std::string detail;
        if (auto ec = open_for_write(opt_.path, site_id_, retention_ms(), now(), tuning_, h, meta,
                                     detail)) {
          spdlog::warn("storage: recovery failed, retrying: {}", detail);
          recovering_.store(false);
          return;
        }
        db_ = std::move(h);
        if (auto ec = reload(meta)) {
          spdlog::error("storage: recovery could not reload the state: {}", ec.message());
          db_.reset();
          recovering_.store(false);
          return;
        }
      }
    }
    recovering_.store(false);
    spdlog::info("storage: writes succeed again");
    if (metrics_) {
      metrics_->recoveries->Increment();
      metrics_->writable->Set(1);
    }
    {
      std::lock_guard hl(health_mu_);
      writable_.store(true);
    }
    health_cv_.notify_all();
  }

  store_options opt_;
  detect_config cfg_;
  db_tuning tuning_;
  std::string site_id_;
  std::unique_ptr<storage_metrics> metrics_;

  mutable std::shared_mutex db_mu_;  // shared: any use of db_; exclusive: recovery swaps it
  std::unique_ptr<db_handle> db_;
  std::atomic<bool> recovering_{false};

  mutable std::shared_mutex map_mu_;
  std::unordered_map<std::string, std::unique_ptr<device_entry>, text_hash, std::equal_to<>>
      by_address_;
  std::unordered_map<std::uint64_t, device_entry*> by_id_;
  std::uint64_t next_id_ = 1;

  std::mutex write_mu_;  // sequence numbers are assigned and written under it
  std::atomic<std::uint64_t> last_seq_{0};
  std::mutex ack_mu_;
  mutable std::mutex ob_mu_;
  std::uint64_t depth_ = 0;
  std::uint64_t floor_ = 0;                       // every seq <= floor_ is acknowledged
  std::map<std::uint64_t, std::uint64_t> acked_;  // acknowledged ranges above floor_ + 1
  std::uint64_t oldest_created_ = 0;
  std::mutex sync_mu_;
  std::atomic<std::uint64_t> synced_seq_{0};

  std::mutex listener_mu_;
  std::shared_ptr<std::function<void()>> listener_;

  std::atomic<bool> writable_{true};
  std::atomic<std::uint64_t> free_bytes_{UINT64_MAX};
  std::mutex health_mu_;
  std::condition_variable health_cv_;

  std::mutex log_mu_;
  std::uint64_t suppressed_[4] = {0, 0, 0, 0};
  std::uint64_t last_log_[4] = {0, 0, 0, 0};

  std::mutex retention_mu_;
  std::mutex maint_mu_;
  std::condition_variable maint_cv_;
  bool stop_ = false;
  std::thread maint_;
};

// ---- store
// ----------------------------------------------------------------------------------------

store::store(std::unique_ptr<impl> p) : impl_(std::move(p)) {}
store::~store() = default;

std::error_code store::open(const store_options& options, std::unique_ptr<store>& out,
                            std::string* detail) {
  out.reset();
  std::string d;
  if (auto ec = validate(options, d)) {
    if (detail) *detail = d;
    return ec;
  }
  auto p = std::make_unique<impl>(options);
  if (auto ec = p->start(d)) {
    if (detail) *detail = d;
    return ec;
  }
  out.reset(new store(std::move(p)));
  return {};
}

std::error_code store::ingest(const poll_record& poll) {
  std::error_code result;
  impl_->ingest_many(std::span(&poll, 1), std::span(&result, 1), {});
  return result;
}
std::error_code store::ingest(const poll_record& poll, ingest_stats& stats) {
  std::error_code result;
  impl_->ingest_many(std::span(&poll, 1), std::span(&result, 1), std::span(&stats, 1));
  return result;
}
std::error_code store::ingest_many(std::span<const poll_record> polls,
                                   std::span<std::error_code> results,
                                   std::span<ingest_stats> stats) {
  return impl_->ingest_many(polls, results, stats);
}
std::error_code store::device_unreachable(std::string_view address, std::uint64_t at_ms,
                                          std::uint32_t failed_polls, std::string_view last_error) {
  return impl_->unreachable(address, at_ms, failed_polls, last_error);
}
storage::outbox& store::outbox() noexcept {
  return *impl_;
}
std::error_code store::devices(std::vector<device_view>& out, bool with_forecast) {
  return impl_->devices(out, with_forecast);
}
std::error_code store::history(std::uint64_t id, const history_query& query, history_result& out) {
  return impl_->history(id, query, out);
}
std::uint64_t store::device_id(std::string_view address) const {
  return impl_->device_id(address);
}
std::error_code store::enforce_retention(std::uint64_t* deleted) {
  return impl_->enforce_retention(deleted);
}
std::error_code store::compact() {
  return impl_->compact();
}
std::uint64_t store::disk_bytes() {
  return impl_->disk_bytes();
}
bool store::writable() const noexcept {
  return impl_->writable();
}
bool store::wait_writable(std::chrono::milliseconds timeout) {
  return impl_->wait_writable(timeout);
}

}  // namespace fleetpoll::storage
