// fleetpoll::storage::parse_storage_config — the [storage] section of fleetpoll.toml.
//
// Reads one TOML table (the section; no I/O) into a storage_config, validating every field. It
// collects every problem, each with where it is ("fleetpoll.toml:12:1"), the field's dotted name
// ("storage.retention_days") and the reason ("must be an integer from 1 to 36500"), in the
// shape of engine::config_error, so `fleetpoll run` reports them with its own. Unknown keys are
// errors (a typo must not fall back to a default). Fields and defaults:
//
//   [storage]
//   enabled = true                 # false: no database, nothing stored (Default: true when the
//                                  # section exists)
//   path = "/var/lib/fleetpoll/db" # required: the database folder (created when missing)
//   site_id = "acme-hq"            # required when the database is created (1..64 characters of
//                                  # [A-Za-z0-9._-]); for an existing one it must match
//   retention_days = 400           # samples and events older than this are deleted (1..36500)
//   heartbeat_s = 86400            # heartbeat record per device and re-stored series (60..7 days)
//   touch_s = 600                  # last-seen time persisted at most this often (1..86400)
//   block_cache_mb = 64            # shared RocksDB block cache (1..65536)
//   write_buffer_mb = 16           # samples memtable (1..4096)
//   background_jobs = 2            # RocksDB flush/compaction threads (1..64)
//   min_free_mb = 256              # refuse writes below this much free disk (0 disables)
//   sync_before_handout = true     # fsync the log before the uplink gets records
//   recovery_interval_ms = 1000    # how often to retry after a write error (10..600000)
//   writer_threads = 2             # engine sink writer threads (1..64)
//   max_queued_polls = 65536       # engine sink queue bound per writer (1..16777216)
//   group_polls = 64               # polls per RocksDB write (group commit) (1..256)
//   [storage.thresholds]           # change rules (docs/storage-format.md, "Change detection")
//   level_change = 10              # 1..100 points
//   reorder_point = 20             # 0..100 (0 disables)
//   low_mark = 10                  # 0..100
//   replacement_jump = 30          # 1..100, > reseat_tolerance
//   reseat_tolerance = 2           # 0..100
//   tray_level_change = 25         # 1..100
//   counter_delta = 500            # 1..1e9 units
//   counter_interval_s = 3600      # 0..7 days; 0: a counter_delta record whenever counter_delta
//                                  # units accumulated
//   removal_polls = 2              # 1..255
//
// The `metrics` registry and `clock` of store_options are not configuration: the caller sets
// them. Thread safety: pure function.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <toml++/toml.h>

#include "fleetpoll/storage/engine_sink.hpp"
#include "fleetpoll/storage/options.hpp"

namespace fleetpoll::storage {

struct storage_config {
  bool enabled = true;       // Default: true (the section is there)
  store_options store;       // path, site, thresholds, retention, ...
  engine_sink_options sink;  // writer threads, queue bound
};

struct storage_config_error {
  std::string where;            // "fleetpoll.toml:12:1" (or the source name alone)
  std::string field;            // "storage.retention_days"
  std::string reason;           // "must be an integer from 1 to 36500"
  std::string message() const;  // "where: field: reason"
};

// Parses `section` (the value of the [storage] key). `source` names the file in messages.
// Returns every problem; empty means `out` is complete and valid.
std::vector<storage_config_error> parse_storage_config(const toml::table& section,
                                                       std::string_view source,
                                                       storage_config& out);

}  // namespace fleetpoll::storage
