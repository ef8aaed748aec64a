// The status_source over storage::store (compiled only when fleetpoll::storage is built).
#include "fleetpoll/web/storage_status_source.hpp"

#include <algorithm>
#include <charconv>
#include <map>
#include <mutex>
#include <utility>

#include "fleetpoll/storage/error.hpp"
#include "fleetpoll/storage/forecast.hpp"
#include "fleetpoll/storage/store.hpp"
#include "fleetpoll/web/error.hpp"

namespace fleetpoll::web {

namespace {

namespace st = fleetpoll::storage;
namespace sc = fleetpoll::schema;

std::uint64_t system_now_ms() {
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                        std::chrono::system_clock::now().time_since_epoch())
                                        .count());
}

std::string level_text(const st::supply_view& s) {
  switch (s.quality) {
    case sc::LevelQuality::missing:
      return "not reported";
    case sc::LevelQuality::some_remaining:
      return s.receptacle ? "some space left" : "some remaining";
    case sc::LevelQuality::unknown:
      return "unknown";
    case sc::LevelQuality::unrestricted:
      return "no restriction";
    case sc::LevelQuality::status_code:
      return "status code " + (s.level ? std::to_string(*s.level) : std::string("?"));
    case sc::LevelQuality::no_capacity:
      return "level " + (s.level ? std::to_string(*s.level) : std::string("?")) +
             ", capacity unknown";
    case sc::LevelQuality::invalid:
      return "invalid level";
    case sc::LevelQuality::exact:
    case sc::LevelQuality::percent_only:
      break;
  }
  return {};
}

// Remaining percent of a supply (receptacles: fill), finer than the stored int16 when the raw
// units allow.
std::optional<double> percent_of(std::optional<std::int32_t> level, std::optional<std::int32_t> max,
                                 std::optional<std::int16_t> stored, sc::LevelQuality q) {
  if (q != sc::LevelQuality::exact && q != sc::LevelQuality::percent_only) return std::nullopt;
  if (level && max && *max > 0 && *level >= 0 && *level <= *max)
    return 100.0 * static_cast<double>(*level) / static_cast<double>(*max);
  if (stored) return static_cast<double>(*stored);
  return std::nullopt;
}

supply_row to_row(const st::supply_view& s) {
  supply_row r;
  r.index = s.index;
  r.description = s.description;
  r.colorant = s.colorant;
  r.receptacle = s.receptacle;
  r.percent = percent_of(s.level, s.max_capacity, s.percent, s.quality);
  if (!r.percent) r.level_text = level_text(s);
  r.low = s.low || s.reorder;
  r.empty = s.empty;
  return r;
}

device_row to_row(const st::device_view& d) {
  device_row r;
  r.id = std::to_string(d.device_id);
  r.address = d.address;
  r.name = !d.sys_name.empty() ? d.sys_name : d.printer_name;
  r.vendor = d.vendor;
  r.model = d.model;
  r.serial = d.serial;
  r.location = d.sys_location;
  r.up = d.up;
  r.first_seen_ms = d.first_seen_ms;
  r.last_seen_ms = d.last_seen_ms;
  r.alert_count = static_cast<std::uint32_t>(d.alerts.size());
  r.supplies.reserve(d.supplies.size());
  for (const auto& s : d.supplies) r.supplies.push_back(to_row(s));
  return r;
}

template <typename E>
std::string enum_name(std::optional<std::int32_t> v, const char* (*name)(E)) {
  if (!v) return {};
  const char* n = name(static_cast<E>(*v));
  if (n == nullptr || *n == '\0') return std::to_string(*v);
  return n;
}

std::string status_text(const st::device_view& d) {
  std::string s = enum_name<sc::HrDeviceStatus>(d.hr_device_status, sc::EnumNameHrDeviceStatus);
  const std::string p =
      enum_name<sc::HrPrinterStatus>(d.hr_printer_status, sc::EnumNameHrPrinterStatus);
  if (!p.empty()) s += (s.empty() ? "printer: " : " (printer: ") + p + (s.empty() ? "" : ")");
  return s;
}

class storage_source final : public status_source {
 public:
  storage_source(st::store& store, storage_source_options o) : store_(store), o_(std::move(o)) {}

  std::error_code devices(std::vector<device_row>& out) override {
    const auto now = std::chrono::steady_clock::now();
    std::lock_guard lock(m_);
    if (!cached_ || now - cached_at_ >= o_.cache_for) {
      std::vector<st::device_view> views;
      if (auto ec = store_.devices(views, false)) return ec;
      std::vector<device_row> rows;
      rows.reserve(views.size());
      for (const auto& v : views) rows.push_back(to_row(v));
      rows_ = std::move(rows);
      cached_ = true;
      cached_at_ = now;
    }
    out = rows_;
    return {};
  }

  std::error_code device(std::string_view id, device_detail& out) override {
    std::uint64_t device_id = 0;
    const auto r = std::from_chars(id.data(), id.data() + id.size(), device_id);
    if (r.ec != std::errc{} || r.ptr != id.data() + id.size() || device_id == 0)
      return error::not_found;
    const std::uint64_t now = o_.clock ? o_.clock() : system_now_ms();
    const auto window = static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::milliseconds>(o_.history).count());
    st::history_query q;
    q.since_ms = now > window ? now - window : 0;
    q.samples = true;
    q.events = false;
    st::history_result h;
    if (auto ec = store_.history(device_id, q, h)) {
      if (ec == st::error::not_found) return error::not_found;
      return ec;
    }
    const st::device_view& d = h.device;
    out = {};
    out.row = to_row(d);
    out.firmware = d.firmware;
    out.mac = d.mac;
    out.status = status_text(d);
    for (unsigned bit = 0; bit < 16; ++bit)
      if (d.conditions & (1u << bit)) {
        const char* n = sc::EnumNamePrinterCondition(static_cast<sc::PrinterCondition>(bit));
        out.conditions.emplace_back(n && *n ? n : "condition " + std::to_string(bit));
      }
    out.down_since_ms = d.down_since_ms;
    out.failed_polls = d.failed_polls;
    out.last_error = d.last_error;

    // Supply samples by (hrDeviceIndex, index), in time order.
    std::map<std::pair<std::uint32_t, std::uint32_t>, std::vector<const st::sample*>> series;
    for (const auto& s : h.samples)
      if (s.kind == st::series_kind::supply) series[{s.hr_device_index, s.index}].push_back(&s);
    for (std::size_t i = 0; i < d.supplies.size(); ++i) {
      const st::supply_view& sv = d.supplies[i];
      supply_detail sd;
      sd.supply = out.row.supplies[i];
      std::vector<st::level_point> points;
      auto it = series.find({sv.hr_device_index, sv.index});
      if (it != series.end()) {
        auto& v = it->second;
        std::sort(v.begin(), v.end(), [](auto* a, auto* b) { return a->at_ms < b->at_ms; });
        for (const st::sample* s : v) {
          // Only since the supply was installed (a replacement starts a new history).
          if (s->at_ms < sv.installed_ms) continue;
          const auto p = percent_of(s->level, s->max_capacity, s->percent, s->quality);
          if (!p) continue;
          sd.history.push_back({s->at_ms, *p});
          points.push_back({s->at_ms, *p, s->pages});
        }
      }
      if (sd.supply.percent && d.last_seen_ms != 0 &&
          (points.empty() || points.back().at_ms < d.last_seen_ms)) {
        points.push_back({d.last_seen_ms, *sd.supply.percent, std::nullopt});
        sd.history.push_back({d.last_seen_ms, *sd.supply.percent});
      }
      const st::forecast f = st::make_forecast(points, now, sv.quality);
      sd.forecast.available = f.available;
      sd.forecast.reason = f.reason;
      sd.forecast.days_to_empty = f.days_to_empty;
      sd.forecast.empty_at_ms = f.empty_at_ms;
      sd.forecast.pages_to_empty = f.pages_to_empty;
      sd.forecast.confidence = f.confidence;
      out.supplies.push_back(std::move(sd));
    }
    for (const auto& c : d.counters) {
      if (!c.life_count) continue;
      std::string unit;
      if (c.unit) {
        const char* n = sc::EnumNameUnit(static_cast<sc::Unit>(*c.unit));
        unit = n && *n ? n : std::to_string(*c.unit);
      }
      out.counters.push_back({"marker " + std::to_string(c.index) + " life count" +
                                  (unit.empty() ? "" : " (" + unit + ")"),
                              *c.life_count});
      if (c.power_on_count)
        out.counters.push_back({"marker " + std::to_string(c.index) + " since power-on" +
                                    (unit.empty() ? "" : " (" + unit + ")"),
                                *c.power_on_count});
    }
    for (const auto& a : d.alerts) {
      alert_row ar;
      ar.severity = enum_name<sc::AlertSeverity>(a.severity, sc::EnumNameAlertSeverity);
      ar.group = enum_name<sc::AlertGroup>(a.group, sc::EnumNameAlertGroup);
      ar.description = a.description;
      ar.raised_ms = a.raised_ms;
      out.alerts.push_back(std::move(ar));
    }
    return {};
  }

  uplink_state uplink() override { return o_.uplink ? o_.uplink() : uplink_state{}; }

 private:
  st::store& store_;
  const storage_source_options o_;
  std::mutex m_;
  bool cached_ = false;
  std::chrono::steady_clock::time_point cached_at_;
  std::vector<device_row> rows_;
};

}  // namespace

std::shared_ptr<status_source> make_storage_status_source(storage::store& store,
                                                          storage_source_options options) {
  return std::make_shared<storage_source>(store, std::move(options));
}

}  // namespace fleetpoll::web
