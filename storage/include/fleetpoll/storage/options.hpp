// fleetpoll::storage — options of the store: where, whose, which change thresholds, how long.
//
// Every option states its default. Percentages are points of *remaining* percent (level /
// max_capacity): for a receptacle that fills up (waste toner) that is the space left, so "low"
// means nearly full and "empty" means full, and one set of rules serves both. The change rules
// that use the thresholds are in docs/storage-format.md ("Change detection").
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>

namespace prometheus {
class Registry;
}

namespace fleetpoll::storage {

struct change_thresholds {
  // A supply_level record when the remaining percent has moved by at least this many points
  // since the last record about that supply. Default: 10
  int level_change = 10;
  // A supply_reorder record when the remaining percent falls to or below this. 0 disables.
  // Default: 20
  int reorder_point = 20;
  // A supply_low record when the remaining percent falls to or below this (or the device raises
  // an "almost empty/full" alert about the supply). Default: 10
  int low_mark = 10;
  // A rise of at least this many points between two polls is a new cartridge: supply_replaced.
  // Default: 30
  int replacement_jump = 30;
  // A rise of at most this many points is the device's estimate wobbling: no record. A rise above
  // it and below replacement_jump is the same cartridge taken out and put back: supply_reseated.
  // Also the hysteresis for re-arming the reorder/low/empty records. Default: 2
  int reseat_tolerance = 2;
  // A tray_level record when a tray's percent moved by at least this many points since its last
  // record, or when the tray becomes empty or stops being empty. Default: 25
  int tray_level_change = 25;
  // A counter_delta record when a marker's life count has grown by at least this many units
  // since its last counter record. Default: 500
  std::uint64_t counter_delta = 500;
  // ... and only when at least this long has passed since that counter's last record
  // (counter_delta or counter_reset), so a busy printer does not send a record every few
  // polls: counter deltas are most of what leaves a site. Resets are never held back, and the
  // daily heartbeat carries every counter whatever this says. 0: no time limit.
  // Default: 1 h
  std::chrono::seconds counter_interval{3600};
  // A supply (tray, counter) row must be missing from this many consecutive polls that fetched
  // its class before it counts as removed: agents drop rows under load. Default: 2
  int removal_polls = 2;
};

struct store_options {
  // Folder of the RocksDB database. Created when missing; an existing non-empty folder that is
  // not a fleetpoll database is refused. Default: none (required).
  std::filesystem::path path;
  // The site this database belongs to; sequence numbers are per site. Required when the database
  // is created; for an existing database, empty means "the stored one" and any other value must
  // match it. Default: empty.
  std::string site_id;
  // Change-detection thresholds. Default: see change_thresholds.
  change_thresholds thresholds;
  // A heartbeat record per device (counters and supply levels), and a re-stored sample of every
  // time series, once per period. Default: 24 h
  std::chrono::milliseconds heartbeat_period{std::chrono::hours(24)};
  // Samples and events older than this are deleted (in whole weeks, in the background) and never
  // returned by queries. The outbox is exempt: unacknowledged records are kept whatever their
  // age. Default: 400 days
  std::chrono::milliseconds retention{std::chrono::hours(24 * 400)};
  // A device's state is rewritten when it changes; its last-seen time alone is persisted at most
  // this often (queries may show a last-seen time up to this old). Default: 10 min
  std::chrono::milliseconds touch_period{std::chrono::minutes(10)};
  // Shared LRU block cache for all column families. Default: 64 MiB
  std::size_t block_cache_bytes = 64u << 20;
  // Memtable size of the samples column family (others use a quarter). Default: 16 MiB
  std::size_t write_buffer_bytes = 16u << 20;
  // RocksDB background flush/compaction threads. Default: 2
  int background_jobs = 2;
  // Ingest refuses to write (error::no_space) while the file system holding the database has
  // less free space than this, so RocksDB's own flushes and compactions still fit. 0 disables
  // the check (a full disk then surfaces as a RocksDB write error). Default: 256 MiB
  std::uint64_t min_free_bytes = 256u << 20;
  // outbox::read() makes the write-ahead log durable (fsync) before it hands out records that
  // are not yet durable, so no sequence number the receiver has seen can be lost to a power cut
  // and reused. Default: true
  bool sync_before_handout = true;
  // After a write error, how often the store tries to recover (RocksDB Resume, else a reopen of
  // the database). Measured on the steady clock, whatever `clock` says. Default: 1 s
  std::chrono::milliseconds recovery_interval{std::chrono::seconds(1)};
  // Metric families (fleetpoll_storage_*) are created on this registry when set; it must outlive
  // the store. Default: none.
  prometheus::Registry* metrics = nullptr;
  // Wall clock in Unix ms, for created_ms of outbox records, retention and metric ages (not for
  // pacing recovery attempts). Default: std::chrono::system_clock.
  std::function<std::uint64_t()> clock;
};

}  // namespace fleetpoll::storage
