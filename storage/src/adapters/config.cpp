#include "fleetpoll/storage/config.hpp"

#include <chrono>
#include <cstdint>
#include <set>
#include <string>

#include "fleetpoll/storage/store.hpp"

namespace fleetpoll::storage {

namespace {

// Reads the keys of one table, each at most once, and reports the keys nobody read.
class reader {
 public:
  reader(const toml::table& t, std::string prefix, std::string_view source,
         std::vector<storage_config_error>& errors)
      : t_(t), prefix_(std::move(prefix)), source_(source), errors_(errors) {}

  const toml::node* get(std::string_view key) {
    known_.insert(std::string(key));
    return t_.get(key);
  }
  void fail(const toml::source_region& r, std::string_view key, std::string reason) {
    std::string where(source_);
    if (r.begin.line != 0)
      where += ":" + std::to_string(r.begin.line) + ":" + std::to_string(r.begin.column);
    errors_.push_back({std::move(where), prefix_ + "." + std::string(key), std::move(reason)});
  }

  template <class T>
  bool integer(std::string_view key, T& out, std::int64_t min, std::int64_t max) {
    const toml::node* n = get(key);
    if (!n) return false;
    const auto v = n->value_exact<std::int64_t>();
    if (!n->is_integer() || !v || *v < min || *v > max) {
      fail(n->source(), key,
           "must be an integer from " + std::to_string(min) + " to " + std::to_string(max));
      return false;
    }
    out = static_cast<T>(*v);
    return true;
  }
  // An integer of `Unit` (the unit the key's name says: _s, _ms) into a duration field.
  template <class Unit, class D>
  void duration(std::string_view key, D& out, std::int64_t min, std::int64_t max) {
    std::int64_t v = 0;
    if (integer(key, v, min, max)) out = std::chrono::duration_cast<D>(Unit{v});
  }
  void boolean(std::string_view key, bool& out) {
    const toml::node* n = get(key);
    if (!n) return;
    if (!n->is_boolean()) return fail(n->source(), key, "must be true or false");
    out = *n->value<bool>();
  }
  bool string(std::string_view key, std::string& out) {
    const toml::node* n = get(key);
    if (!n) return false;
    if (!n->is_string()) {
      fail(n->source(), key, "must be a string");
      return false;
    }
    out = n->as_string()->get();
    return true;
  }
  void finish() {
    for (auto&& [k, v] : t_)
      if (!known_.count(std::string(k.str())))
        fail(k.source(), k.str(),
             "unknown key (see docs/storage-format.md, \"Configuration\", for the keys of [" +
                 prefix_ + "])");
  }

 private:
  const toml::table& t_;
  std::string prefix_;
  std::string_view source_;
  std::vector<storage_config_error>& errors_;
  std::set<std::string> known_;
};

bool valid_site(const std::string& s) {
  if (s.empty() || s.size() > 64) return false;
  for (char c : s)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
          c == '_' || c == '-'))
      return false;
  return true;
}

}  // namespace

std::string storage_config_error::message() const {
  std::string m = where;
  if (!field.empty()) m += (m.empty() ? "" : ": ") + field;
  return m + ": " + reason;
}

std::vector<storage_config_error> parse_storage_config(const toml::table& section,
                                                       std::string_view source,
                                                       storage_config& out) {
  std::vector<storage_config_error> errors;
  reader r(section, "storage", source, errors);
  store_options& o = out.store;
  constexpr std::int64_t day_s = 86400;

  r.boolean("enabled", out.enabled);
  std::string path;
  if (r.string("path", path)) {
    if (path.empty())
      r.fail(section.get("path")->source(), "path", "must not be empty");
    else
      o.path = path;
  } else if (!section.contains("path") && out.enabled) {
    r.fail(section.source(), "path", "is required (the database folder)");
  }
  std::string site;
  if (r.string("site_id", site)) {
    if (!valid_site(site))
      r.fail(section.get("site_id")->source(), "site_id",
             "must be 1 to 64 characters of letters, digits, '.', '_' and '-'");
    else
      o.site_id = site;
  }
  std::int64_t days = 0;
  if (r.integer("retention_days", days, 1, 36500)) o.retention = std::chrono::hours(24 * days);
  r.duration<std::chrono::seconds>("heartbeat_s", o.heartbeat_period, 60, 7 * day_s);
  r.duration<std::chrono::seconds>("touch_s", o.touch_period, 1, day_s);
  std::int64_t mb = 0;
  if (r.integer("block_cache_mb", mb, 1, 65536))
    o.block_cache_bytes = static_cast<std::size_t>(mb) << 20;
  if (r.integer("write_buffer_mb", mb, 1, 4096))
    o.write_buffer_bytes = static_cast<std::size_t>(mb) << 20;
  r.integer("background_jobs", o.background_jobs, 1, 64);
  if (r.integer("min_free_mb", mb, 0, 1 << 24))
    o.min_free_bytes = static_cast<std::uint64_t>(mb) << 20;
  r.boolean("sync_before_handout", o.sync_before_handout);
  r.duration<std::chrono::milliseconds>("recovery_interval_ms", o.recovery_interval, 10, 600000);
  r.integer("writer_threads", out.sink.writer_threads, 1, 64);
  r.integer("max_queued_polls", out.sink.max_queued_polls, 1, 1 << 24);
  r.integer("group_polls", out.sink.max_group_polls, 1, store::max_group_polls);

  if (const toml::node* n = r.get("thresholds")) {
    if (!n->is_table()) {
      r.fail(n->source(), "thresholds", "must be a table ([storage.thresholds])");
    } else {
      reader t(*n->as_table(), "storage.thresholds", source, errors);
      change_thresholds& c = o.thresholds;
      t.integer("level_change", c.level_change, 1, 100);
      t.integer("reorder_point", c.reorder_point, 0, 100);
      t.integer("low_mark", c.low_mark, 0, 100);
      t.integer("replacement_jump", c.replacement_jump, 1, 100);
      t.integer("reseat_tolerance", c.reseat_tolerance, 0, 100);
      t.integer("tray_level_change", c.tray_level_change, 1, 100);
      t.integer("counter_delta", c.counter_delta, 1, 1'000'000'000);
      t.duration<std::chrono::seconds>("counter_interval_s", c.counter_interval, 0, 7 * day_s);
      t.integer("removal_polls", c.removal_polls, 1, 255);
      if (c.replacement_jump <= c.reseat_tolerance)
        t.fail(n->source(), "replacement_jump", "must be larger than reseat_tolerance");
      t.finish();
    }
  }
  r.finish();
  return errors;
}

}  // namespace fleetpoll::storage
