#include "fleetpoll/storage/commands.hpp"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>
#include <boost/json.hpp>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <sstream>

#include "database.hpp"
#include "fleetpoll/codecs/change_record.hpp"
#include "fleetpoll/storage/error.hpp"
#include "fleetpoll/storage/reader.hpp"

namespace fleetpoll::storage {
namespace {

namespace s = fleetpoll::schema;
namespace json = boost::json;

std::uint64_t now_ms() {
  return detail::system_now_ms();
}

std::string fixed(double v, int decimals) {
  std::ostringstream o;
  o << std::fixed << std::setprecision(decimals) << v;
  return o.str();
}

template <class E, class F>
std::string enum_text(std::optional<std::int32_t> v, F name) {
  if (!v) return "-";
  const char* n = name(static_cast<E>(*v));
  return (n && *n) ? std::string(n) : std::to_string(*v);
}

template <class E>
std::optional<std::int32_t> oe(flatbuffers::Optional<E> v) {
  return v ? std::optional<std::int32_t>(static_cast<std::int32_t>(*v)) : std::nullopt;
}

std::string quality_text(s::LevelQuality q) {
  const char* n = s::EnumNameLevelQuality(q);
  return (n && *n) ? n : std::to_string(static_cast<int>(q));
}

std::string supply_name(const supply_view& x) {
  if (!x.description.empty()) return x.description;
  if (!x.colorant.empty()) return x.colorant;
  return "supply " + std::to_string(x.index);
}

// "54%", "some remaining", "unknown", ...
std::string level_text(const supply_view& x) {
  if (x.percent) return std::to_string(*x.percent) + (x.receptacle ? "% full" : "%");
  switch (x.quality) {
    case s::LevelQuality::some_remaining:
      return x.receptacle ? "some space" : "some remaining";
    case s::LevelQuality::unknown:
      return "unknown";
    case s::LevelQuality::unrestricted:
      return "unrestricted";
    case s::LevelQuality::status_code:
      return "code " + (x.level ? std::to_string(*x.level) : std::string("-"));
    case s::LevelQuality::no_capacity:
      return x.level ? std::to_string(*x.level) + " units" : "-";
    default:
      return quality_text(x.quality);
  }
}

std::string forecast_text(const supply_view& x) {
  if (!x.fc) return "";
  const auto& f = *x.fc;
  if (!f.available) return "no forecast: " + f.reason;
  std::string t =
      std::string(x.receptacle ? "full" : "empty") + " in " + fixed(f.days_to_empty, 1) + " d";
  if (f.pages_to_empty)
    t +=
        " (~" + std::to_string(static_cast<long long>(std::llround(*f.pages_to_empty))) + " pages)";
  t += ", confidence " + fixed(f.confidence, 2);
  return t;
}

json::object forecast_json(const forecast& f) {
  json::object o;
  o["available"] = f.available;
  if (!f.available) {
    o["reason"] = f.reason;
    return o;
  }
  o["days_to_empty"] = f.days_to_empty;
  o["empty_at"] = iso_time(f.empty_at_ms);
  o["days_low"] = f.days_low;
  if (f.days_high) o["days_high"] = *f.days_high;
  if (f.pages_to_empty) o["pages_to_empty"] = *f.pages_to_empty;
  o["percent_now"] = f.percent_now;
  o["percent_per_day"] = f.percent_per_day;
  o["confidence"] = f.confidence;
  o["points"] = f.points;
  o["span_days"] = f.span_days;
  return o;
}

template <class T>
void put_opt(json::object& o, const char* key, const std::optional<T>& v) {
  if (v) o[key] = *v;
}

json::object device_json(const device_view& d) {
  json::object o;
  o["device_id"] = d.device_id;
  o["address"] = d.address;
  auto text = [&](const char* k, const std::string& v) {
    if (!v.empty()) o[k] = v;
  };
  text("vendor", d.vendor);
  text("model", d.model);
  text("serial", d.serial);
  text("firmware", d.firmware);
  text("mac", d.mac);
  text("sys_name", d.sys_name);
  text("sys_location", d.sys_location);
  text("printer_name", d.printer_name);
  o["first_seen"] = iso_time(d.first_seen_ms);
  o["last_seen"] = iso_time(d.last_seen_ms);
  o["up"] = d.up;
  if (!d.up) {
    o["down_since"] = iso_time(d.down_since_ms);
    o["failed_polls"] = d.failed_polls;
    text("last_error", d.last_error);
  }
  if (d.hr_device_status)
    o["hr_device_status"] =
        enum_text<s::HrDeviceStatus>(d.hr_device_status, s::EnumNameHrDeviceStatus);
  if (d.hr_printer_status)
    o["hr_printer_status"] =
        enum_text<s::HrPrinterStatus>(d.hr_printer_status, s::EnumNameHrPrinterStatus);
  json::array conds;
  for (int i = 0; i < 16; ++i)
    if (d.conditions & (1u << i))
      conds.emplace_back(s::EnumNamePrinterCondition(static_cast<s::PrinterCondition>(i)));
  if (!conds.empty()) o["conditions"] = std::move(conds);
  json::array sup;
  for (const auto& x : d.supplies) {
    json::object so;
    so["index"] = x.index;
    if (!x.description.empty()) so["description"] = x.description;
    if (!x.colorant.empty()) so["colorant"] = x.colorant;
    if (x.type) so["type"] = enum_text<s::SupplyType>(x.type, s::EnumNameSupplyType);
    so["receptacle"] = x.receptacle;
    put_opt(so, "level", x.level);
    put_opt(so, "max_capacity", x.max_capacity);
    so["quality"] = quality_text(x.quality);
    put_opt(so, "percent", x.percent);
    so["reorder"] = x.reorder;
    so["low"] = x.low;
    so["empty"] = x.empty;
    so["installed"] = iso_time(x.installed_ms);
    if (x.fc) so["forecast"] = forecast_json(*x.fc);
    sup.push_back(std::move(so));
  }
  o["supplies"] = std::move(sup);
  json::array trays;
  for (const auto& t : d.trays) {
    json::object to;
    to["index"] = t.index;
    if (!t.name.empty()) to["name"] = t.name;
    put_opt(to, "level", t.level);
    put_opt(to, "max_capacity", t.max_capacity);
    to["quality"] = quality_text(t.quality);
    put_opt(to, "percent", t.percent);
    trays.push_back(std::move(to));
  }
  o["trays"] = std::move(trays);
  json::array counters;
  for (const auto& c : d.counters) {
    json::object co;
    co["index"] = c.index;
    if (c.unit) co["unit"] = enum_text<s::Unit>(c.unit, s::EnumNameUnit);
    put_opt(co, "life_count", c.life_count);
    put_opt(co, "power_on_count", c.power_on_count);
    counters.push_back(std::move(co));
  }
  o["counters"] = std::move(counters);
  json::array alerts;
  for (const auto& a : d.alerts) {
    json::object ao;
    ao["index"] = a.index;
    if (a.severity)
      ao["severity"] = enum_text<s::AlertSeverity>(a.severity, s::EnumNameAlertSeverity);
    if (a.code) ao["code"] = enum_text<s::AlertCode>(a.code, s::EnumNameAlertCode);
    if (a.group) ao["group"] = enum_text<s::AlertGroup>(a.group, s::EnumNameAlertGroup);
    put_opt(ao, "group_index", a.group_index);
    if (!a.description.empty()) ao["description"] = a.description;
    ao["raised"] = iso_time(a.raised_ms);
    alerts.push_back(std::move(ao));
  }
  o["alerts"] = std::move(alerts);
  return o;
}

std::string pad(std::string t, std::size_t w) {
  if (t.size() < w) t.append(w - t.size(), ' ');
  return t;
}

std::string open_error(const char* cmd, std::error_code ec, const std::string& detail) {
  return std::string("fleetpoll ") + cmd + ": " + (detail.empty() ? ec.message() : detail) + "\n";
}

// One line about a change record for people.
std::string describe(const s::ChangeRecord& r) {
  std::ostringstream o;
  o << pad(s::EnumNameChangeKind(r.kind()), 16) << " ";
  auto str = [](const flatbuffers::String* t) { return t ? t->str() : std::string(); };
  if (const auto* x = r.supply()) {
    o << (x->description() ? x->description()->str() : "supply " + std::to_string(x->index()));
    if (x->percent())
      o << " " << *x->percent() << "%";
    else
      o << " " << quality_text(x->quality());
    if (x->previous_percent()) o << " (was " << *x->previous_percent() << "%)";
  } else if (const auto* a = r.alert()) {
    o << enum_text<s::AlertSeverity>(oe(a->severity()), s::EnumNameAlertSeverity) << " "
      << enum_text<s::AlertCode>(oe(a->code()), s::EnumNameAlertCode);
    if (a->description()) o << ": " << a->description()->str();
  } else if (const auto* st = r.status()) {
    o << enum_text<s::HrDeviceStatus>(oe(st->hr_device_status()), s::EnumNameHrDeviceStatus) << "/"
      << enum_text<s::HrPrinterStatus>(oe(st->hr_printer_status()), s::EnumNameHrPrinterStatus);
    if (st->conditions())
      for (auto c : *st->conditions()) o << " " << s::EnumNamePrinterCondition(c);
  } else if (const auto* c = r.counter()) {
    o << "marker " << c->marker_index() << " "
      << (c->life_count() ? std::to_string(*c->life_count()) : "-");
    if (c->delta())
      o << " (+" << *c->delta() << ")";
    else if (c->previous())
      o << " (was " << *c->previous() << ")";
  } else if (const auto* t = r.tray()) {
    o << (t->name() ? t->name()->str() : "tray " + std::to_string(t->index()));
    if (t->percent())
      o << " " << *t->percent() << "%";
    else
      o << " " << quality_text(t->quality());
  } else if (const auto* id = r.identity()) {
    o << str(id->vendor()) << " " << str(id->model()) << " serial " << str(id->serial());
    if (id->changed()) {
      o << " [changed:";
      for (const auto* f : *id->changed()) o << " " << f->str();
      o << "]";
    }
  } else if (const auto* re = r.reachability()) {
    if (re->failed_polls()) o << *re->failed_polls() << " failed polls";
    if (re->last_error()) o << " (" << re->last_error()->str() << ")";
  } else if (const auto* hb = r.heartbeat()) {
    o << (hb->up() ? "up" : "down");
    if (hb->counters())
      for (const auto* v : *hb->counters())
        if (v->life_count()) o << " marker " << v->marker_index() << "=" << *v->life_count();
  }
  return o.str();
}

std::string sample_value_text(const sample& m) {
  std::ostringstream o;
  switch (m.kind) {
    case series_kind::supply:
    case series_kind::tray:
      o << (m.level ? std::to_string(*m.level) : "-") << "/"
        << (m.max_capacity ? std::to_string(*m.max_capacity) : "-");
      if (m.percent) o << " " << *m.percent << "%";
      o << " " << quality_text(m.quality);
      if (m.pages) o << " at " << *m.pages << " pages";
      break;
    case series_kind::counter:
      o << (m.count ? std::to_string(*m.count) : "-");
      break;
    case series_kind::status:
      o << enum_text<s::HrDeviceStatus>(m.hr_device_status, s::EnumNameHrDeviceStatus) << "/"
        << enum_text<s::HrPrinterStatus>(m.hr_printer_status, s::EnumNameHrPrinterStatus);
      for (int i = 0; i < 16; ++i)
        if (m.conditions & (1u << i))
          o << " " << s::EnumNamePrinterCondition(static_cast<s::PrinterCondition>(i));
      break;
    case series_kind::reachability:
      o << (m.up ? "up" : "down");
      if (!m.up) o << " after " << m.failed_polls << " failed polls";
      break;
  }
  return o.str();
}

json::object sample_json(const device_view& d, const sample& m) {
  json::object o;
  o["device_id"] = d.device_id;
  o["address"] = d.address;
  o["at_ms"] = m.at_ms;
  o["time"] = iso_time(m.at_ms);
  o["series"] = series_name(m.kind);
  o["hr_device_index"] = m.hr_device_index;
  o["index"] = m.index;
  switch (m.kind) {
    case series_kind::supply:
    case series_kind::tray:
      put_opt(o, "level", m.level);
      put_opt(o, "max_capacity", m.max_capacity);
      put_opt(o, "percent", m.percent);
      o["quality"] = quality_text(m.quality);
      put_opt(o, "pages", m.pages);
      break;
    case series_kind::counter:
      put_opt(o, "count", m.count);
      break;
    case series_kind::status:
      if (m.hr_device_status)
        o["hr_device_status"] =
            enum_text<s::HrDeviceStatus>(m.hr_device_status, s::EnumNameHrDeviceStatus);
      if (m.hr_printer_status)
        o["hr_printer_status"] =
            enum_text<s::HrPrinterStatus>(m.hr_printer_status, s::EnumNameHrPrinterStatus);
      o["conditions"] = m.conditions;
      break;
    case series_kind::reachability:
      o["up"] = m.up;
      o["failed_polls"] = m.failed_polls;
      break;
  }
  return o;
}

std::string csv_field(const std::string& v) {
  if (v.find_first_of(",\"\n\r") == std::string::npos) return v;
  std::string q = "\"";
  for (char c : v) {
    if (c == '"') q += '"';
    q += c;
  }
  return q + "\"";
}

template <class T>
std::string csv_opt(const std::optional<T>& v) {
  return v ? std::to_string(*v) : std::string();
}

std::string sample_csv(const device_view& d, const sample& m) {
  std::string line;
  auto add = [&](const std::string& f) {
    if (!line.empty()) line += ',';
    line += f;
  };
  line = std::to_string(d.device_id);
  add(csv_field(d.address));
  add(csv_field(d.serial));
  add(std::to_string(m.at_ms));
  add(iso_time(m.at_ms));
  add(series_name(m.kind));
  add(std::to_string(m.hr_device_index));
  add(std::to_string(m.index));
  const bool lvl = m.kind == series_kind::supply || m.kind == series_kind::tray;
  add(lvl ? csv_opt(m.level) : "");
  add(lvl ? csv_opt(m.max_capacity) : "");
  add(lvl ? csv_opt(m.percent) : "");
  add(lvl ? quality_text(m.quality) : "");
  add(csv_opt(m.pages));
  add(csv_opt(m.count));
  add(m.kind == series_kind::status ? csv_opt(m.hr_device_status) : "");
  add(m.kind == series_kind::status ? csv_opt(m.hr_printer_status) : "");
  add(m.kind == series_kind::status ? std::to_string(m.conditions) : "");
  add(m.kind == series_kind::reachability ? (m.up ? "1" : "0") : "");
  add(m.kind == series_kind::reachability ? std::to_string(m.failed_polls) : "");
  return line;
}

constexpr const char* sample_csv_header =
    "device_id,address,serial,at_ms,time,series,hr_device_index,index,level,max_capacity,percent,"
    "quality,pages,count,hr_device_status,hr_printer_status,conditions,up,failed_polls";

std::optional<std::uint32_t> resolve_supply(const device_view& d, const std::string& key) {
  std::uint32_t idx = 0;
  const auto r = std::from_chars(key.data(), key.data() + key.size(), idx);
  if (r.ec == std::errc() && r.ptr == key.data() + key.size()) return idx;
  std::string lower;
  for (char c : key) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (const auto& x : d.supplies)
    if (x.colorant == lower && !x.receptacle) return x.index;
  for (const auto& x : d.supplies) {
    std::string dl;
    for (char c : x.description)
      dl += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (dl.find(lower) != std::string::npos) return x.index;
  }
  return std::nullopt;
}

// Query output goes to stdout; log lines (RocksDB's, the storage's) must not mix into it.
void log_to_stderr() {
  if (!spdlog::get("fleetpoll-query")) {
    auto l = spdlog::stderr_color_mt("fleetpoll-query");
    l->set_level(spdlog::level::warn);
    spdlog::set_default_logger(l);
  }
}

reader_options reader_at(const std::string& db) {
  reader_options ro;
  ro.path = db;
  return ro;
}

}  // namespace

std::string iso_time(std::uint64_t unix_ms) {
  const std::time_t t = static_cast<std::time_t>(unix_ms / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::optional<std::uint64_t> parse_when(const std::string& when, std::uint64_t now) {
  if (when == "all" || when == "0") return 0;
  if (when.size() >= 2) {
    std::uint64_t n = 0;
    const auto r = std::from_chars(when.data(), when.data() + when.size() - 1, n);
    if (r.ec == std::errc() && r.ptr == when.data() + when.size() - 1) {
      std::uint64_t unit = 0;
      switch (when.back()) {
        case 'd':
          unit = 86'400'000;
          break;
        case 'h':
          unit = 3'600'000;
          break;
        case 'm':
          unit = 60'000;
          break;
        case 's':
          unit = 1'000;
          break;
      }
      if (unit && n <= now / unit) return now - n * unit;
      if (unit) return 0;
    }
  }
  // YYYY-MM-DD[THH:MM[:SS]][Z], UTC.
  std::tm tm{};
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, sec = 0;
  char tail[8] = {0};
  const int got =
      std::sscanf(when.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%7s", &y, &mo, &d, &h, &mi, &sec, tail);
  if (got < 3 || y < 1970 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
    return std::nullopt;
  if (got == 3 && when.size() != 10) return std::nullopt;
  if (got == 7 && std::string(tail) != "Z") return std::nullopt;
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = sec;
  const std::time_t t = timegm(&tm);
  if (t < 0) return std::nullopt;
  return static_cast<std::uint64_t>(t) * 1000;
}

int run_devices(const devices_options& o, std::ostream& out, std::ostream& err) {
  std::unique_ptr<reader> r;
  std::string detail;
  if (auto ec = reader::open(reader_at(o.db), r, &detail)) {
    err << open_error("devices", ec, detail);
    return 1;
  }
  std::vector<device_view> all;
  if (auto ec = r->devices(all, o.forecast)) {
    err << open_error("devices", ec, "");
    return 1;
  }
  const std::uint64_t now = now_ms();
  std::vector<const device_view*> shown;
  for (const auto& d : all) {
    if (o.low && !d.low()) continue;
    if (o.alerts && d.alerts.empty()) continue;
    if (o.down && d.up) continue;
    if (o.recent_days &&
        d.first_seen_ms + static_cast<std::uint64_t>(*o.recent_days) * 86'400'000 < now)
      continue;
    shown.push_back(&d);
  }
  if (o.recent_days)
    std::stable_sort(shown.begin(), shown.end(),
                     [](auto* a, auto* b) { return a->first_seen_ms > b->first_seen_ms; });
  if (o.json) {
    for (const auto* d : shown) out << json::serialize(device_json(*d)) << "\n";
    return 0;
  }
  out << pad("ID", 6) << pad("ADDRESS", 22) << pad("MODEL", 30) << pad("SERIAL", 16)
      << pad("STATE", 7) << pad("LOWEST SUPPLY", 30) << pad("ALERTS", 7) << "LAST SEEN\n";
  std::size_t low = 0, with_alerts = 0, down = 0;
  for (const auto& d : all) {
    low += d.low() ? 1 : 0;
    with_alerts += d.alerts.empty() ? 0 : 1;
    down += d.up ? 0 : 1;
  }
  for (const auto* d : shown) {
    const supply_view* lowest = nullptr;
    for (const auto& x : d->supplies) {
      if (!x.percent ||
          !(x.quality == s::LevelQuality::exact || x.quality == s::LevelQuality::percent_only))
        continue;
      const int remaining = x.receptacle ? 100 - *x.percent : *x.percent;
      if (!lowest || remaining < (lowest->receptacle ? 100 - *lowest->percent : *lowest->percent))
        lowest = &x;
    }
    std::string lw = lowest ? supply_name(*lowest).substr(0, 18) + " " + level_text(*lowest) : "-";
    std::string model = (d->vendor.empty() ? "" : d->vendor + " ") + d->model;
    out << pad(std::to_string(d->device_id), 6) << pad(d->address, 22)
        << pad(model.substr(0, 28), 30) << pad(d->serial.substr(0, 15), 16)
        << pad(d->up ? "up" : "down", 7) << pad(lw, 30) << pad(std::to_string(d->alerts.size()), 7)
        << iso_time(d->last_seen_ms) << "\n";
    if (o.low)
      for (const auto& x : d->supplies)
        if (x.low || x.empty || x.reorder) {
          out << "      "
              << (x.empty ? (x.receptacle ? "FULL   " : "EMPTY  ")
                  : x.low ? "LOW    "
                          : "REORDER")
              << " " << supply_name(x) << ": " << level_text(x);
          const auto f = forecast_text(x);
          if (!f.empty()) out << "; " << f;
          out << "\n";
        }
    if (o.alerts)
      for (const auto& a : d->alerts)
        out << "      " << enum_text<s::AlertSeverity>(a.severity, s::EnumNameAlertSeverity) << " "
            << enum_text<s::AlertCode>(a.code, s::EnumNameAlertCode)
            << (a.description.empty() ? "" : ": " + a.description) << " (since "
            << iso_time(a.raised_ms) << ")\n";
  }
  database_info info;
  r->info(info);
  out << shown.size() << " of " << all.size() << " devices shown; " << low << " low, "
      << with_alerts << " with alerts, " << down << " down; outbox: " << info.outbox_depth
      << " records waiting\n";
  if (r->corrupt_values())
    err << "fleetpoll devices: " << r->corrupt_values()
        << " stored values failed verification and were skipped\n";
  return 0;
}

int run_history(const history_options& o, std::ostream& out, std::ostream& err) {
  const std::uint64_t now = now_ms();
  const auto since = parse_when(o.since, now);
  const auto until =
      o.until.empty() ? std::optional<std::uint64_t>(UINT64_MAX) : parse_when(o.until, now);
  if (!since || !until) {
    err << "fleetpoll history: cannot read the time '" << (!since ? o.since : o.until)
        << "' (use 7d, 36h, 2024-05-01, 2024-05-01T08:00:00Z or all)\n";
    return 2;
  }
  std::unique_ptr<reader> r;
  std::string detail;
  if (auto ec = reader::open(reader_at(o.db), r, &detail)) {
    err << open_error("history", ec, detail);
    return 1;
  }
  device_view d;
  if (r->find_device(o.device, d)) {
    err << "fleetpoll history: no device '" << o.device << "' in " << o.db
        << " (give an id, address, serial or sysName)\n";
    return 1;
  }
  history_query q;
  q.since_ms = *since;
  q.until_ms = *until;
  q.samples = o.samples || !o.supply.empty();
  if (!o.supply.empty()) {
    q.supply_index = resolve_supply(d, o.supply);
    if (!q.supply_index) {
      err << "fleetpoll history: device " << d.device_id << " has no supply '" << o.supply << "'\n";
      return 1;
    }
  }
  history_result h;
  if (auto ec = r->history(d.device_id, q, h)) {
    err << open_error("history", ec, "");
    return 1;
  }
  if (o.json) {
    json::object dev = device_json(h.device);
    dev["type"] = "device";
    out << json::serialize(dev) << "\n";
    for (const auto& e : h.events) {
      const auto bytes = std::span(reinterpret_cast<const std::uint8_t*>(e.data()), e.size());
      out << "{\"type\":\"event\",\"record\":" << codecs::change_record_json(bytes) << "}\n";
    }
    for (const auto& m : h.samples) {
      json::object so = sample_json(h.device, m);
      so["type"] = "sample";
      out << json::serialize(so) << "\n";
    }
    return 0;
  }
  const auto& dv = h.device;
  out << "device " << dv.device_id << "  " << dv.address << "  " << dv.vendor << " " << dv.model;
  if (!dv.serial.empty()) out << "  serial " << dv.serial;
  out << "  " << (dv.up ? "up" : "down") << ", first seen " << iso_time(dv.first_seen_ms)
      << ", last seen " << iso_time(dv.last_seen_ms) << "\n";
  out << "events " << (q.since_ms ? "since " + iso_time(q.since_ms) : std::string("(all)")) << ": "
      << h.events.size() << "\n";
  for (const auto& e : h.events) {
    const auto* rec = codecs::change_record_of(
        std::span(reinterpret_cast<const std::uint8_t*>(e.data()), e.size()));
    out << "  " << iso_time(rec->at_ms()) << "  #" << pad(std::to_string(rec->seq()), 8)
        << describe(*rec) << "\n";
  }
  if (q.samples) {
    out << "samples: " << h.samples.size() << "\n";
    for (const auto& m : h.samples)
      out << "  " << iso_time(m.at_ms) << "  "
          << pad(std::string(series_name(m.kind)) + " " + std::to_string(m.index), 14)
          << sample_value_text(m) << "\n";
  }
  out << "supplies:\n";
  for (const auto& x : dv.supplies) {
    if (q.supply_index && x.index != *q.supply_index) continue;
    out << "  " << pad(std::to_string(x.index), 4) << pad(supply_name(x).substr(0, 30), 32)
        << pad(level_text(x), 16) << forecast_text(x) << "\n";
  }
  return 0;
}

int run_export(const export_options& o, std::ostream& out_default, std::ostream& err) {
  if (o.format != "csv" && o.format != "jsonl") {
    err << "fleetpoll export: --format must be csv or jsonl\n";
    return 2;
  }
  if (o.what != "samples" && o.what != "events" && o.what != "devices") {
    err << "fleetpoll export: --what must be samples, events or devices\n";
    return 2;
  }
  const auto since = parse_when(o.since, now_ms());
  if (!since) {
    err << "fleetpoll export: cannot read the time '" << o.since << "'\n";
    return 2;
  }
  std::unique_ptr<reader> r;
  std::string detail;
  if (auto ec = reader::open(reader_at(o.db), r, &detail)) {
    err << open_error("export", ec, detail);
    return 1;
  }
  std::ofstream file;
  if (!o.output.empty()) {
    file.open(o.output, std::ios::binary | std::ios::trunc);
    if (!file) {
      err << "fleetpoll export: cannot write " << o.output << "\n";
      return 1;
    }
  }
  std::ostream& out = o.output.empty() ? out_default : file;
  std::vector<device_view> all;
  if (auto ec = r->devices(all, false)) {
    err << open_error("export", ec, "");
    return 1;
  }
  const bool csv = o.format == "csv";
  std::uint64_t rows = 0;
  if (o.what == "devices") {
    if (csv)
      out << "device_id,address,vendor,model,serial,firmware,mac,sys_name,sys_location,first_seen,"
             "last_seen,up,alerts,low\n";
    for (const auto& d : all) {
      if (csv) {
        out << d.device_id << ',' << csv_field(d.address) << ',' << csv_field(d.vendor) << ','
            << csv_field(d.model) << ',' << csv_field(d.serial) << ',' << csv_field(d.firmware)
            << ',' << csv_field(d.mac) << ',' << csv_field(d.sys_name) << ','
            << csv_field(d.sys_location) << ',' << iso_time(d.first_seen_ms) << ','
            << iso_time(d.last_seen_ms) << ',' << (d.up ? 1 : 0) << ',' << d.alerts.size() << ','
            << (d.low() ? 1 : 0) << "\n";
      } else {
        out << json::serialize(device_json(d)) << "\n";
      }
      ++rows;
    }
  } else {
    if (csv)
      out << (o.what == "samples" ? sample_csv_header
                                  : "device_id,address,seq,at_ms,time,kind,record")
          << "\n";
    const bool progress = !o.output.empty();
    std::size_t done = 0;
    for (const auto& d : all) {
      history_query q;
      q.since_ms = *since;
      q.samples = o.what == "samples";
      q.events = o.what == "events";
      history_result h;
      if (auto ec = r->history(d.device_id, q, h)) {
        err << open_error("export", ec,
                          "device " + std::to_string(d.device_id) + ": " + ec.message());
        return 1;
      }
      if (q.samples) {
        std::stable_sort(h.samples.begin(), h.samples.end(),
                         [](const sample& a, const sample& b) { return a.at_ms < b.at_ms; });
        for (const auto& m : h.samples)
          out << (csv ? sample_csv(d, m) : json::serialize(sample_json(d, m))) << "\n";
        rows += h.samples.size();
      } else {
        for (const auto& e : h.events) {
          const auto bytes = std::span(reinterpret_cast<const std::uint8_t*>(e.data()), e.size());
          const auto* rec = codecs::change_record_of(bytes);
          const std::string js = codecs::change_record_json(bytes);
          if (csv)
            out << d.device_id << ',' << csv_field(d.address) << ',' << rec->seq() << ','
                << rec->at_ms() << ',' << iso_time(rec->at_ms()) << ','
                << s::EnumNameChangeKind(rec->kind()) << ',' << csv_field(js) << "\n";
          else
            out << js << "\n";
        }
        rows += h.events.size();
      }
      if (progress && ++done % 1000 == 0)
        err << "fleetpoll export: " << done << "/" << all.size() << " devices\n";
    }
  }
  out.flush();
  if (!out) {
    err << "fleetpoll export: writing failed\n";
    return 1;
  }
  if (!o.output.empty())
    err << "fleetpoll export: " << rows << " rows of " << all.size() << " devices written to "
        << o.output << "\n";
  if (r->corrupt_values())
    err << "fleetpoll export: " << r->corrupt_values()
        << " stored values failed verification and were skipped\n";
  return 0;
}

void add_storage_commands(CLI::App& app, int& exit_code) {
  {
    auto opts = std::make_shared<devices_options>();
    auto recent = std::make_shared<bool>(false);
    auto days = std::make_shared<int>(7);
    auto no_forecast = std::make_shared<bool>(false);
    auto* c = app.add_subcommand(
        "devices",
        "List the printers in a site database with their state (reads while the engine runs)");
    c->add_option("--db", opts->db, "Database folder")->required();
    c->add_flag("--low", opts->low,
                "Only devices with a supply low, empty or past the reorder point (and list those "
                "supplies)");
    c->add_flag("--alerts", opts->alerts, "Only devices with active alerts (and list them)");
    c->add_flag("--recent", *recent,
                "Only devices first seen recently (see --recent-days), newest first");
    c->add_option("--recent-days", *days, "What --recent means, in days")
        ->default_val(7)
        ->check(CLI::PositiveNumber);
    c->add_flag("--down", opts->down, "Only devices marked unreachable");
    c->add_flag("--json", opts->json, "One JSON object per device per line");
    c->add_flag("--no-forecast", *no_forecast,
                "Skip the days/pages-until-empty forecasts (faster on big fleets)");
    c->callback([opts, recent, days, no_forecast, &exit_code] {
      log_to_stderr();
      if (*recent) opts->recent_days = *days;
      opts->forecast = !*no_forecast;
      exit_code = run_devices(*opts, std::cout, std::cerr);
    });
  }
  {
    auto opts = std::make_shared<history_options>();
    auto* c = app.add_subcommand("history",
                                 "What happened to one printer: change events, samples, forecasts "
                                 "(reads while the engine runs)");
    c->add_option("DEVICE", opts->device, "Device id, address (127.1.0.1:1161), serial or sysName")
        ->required();
    c->add_option("--db", opts->db, "Database folder")->required();
    c->add_option("--since", opts->since, "Start: 7d, 36h, 2024-05-01, 2024-05-01T08:00:00Z or all")
        ->default_val("30d");
    c->add_option("--until", opts->until, "End (default: now), same forms as --since");
    c->add_option("--supply", opts->supply,
                  "Only this supply: its index or colourant (black, cyan, ...); lists its samples");
    c->add_flag("--samples", opts->samples, "List the time-series samples too");
    c->add_flag("--json", opts->json, "JSON lines: the device, then events and samples");
    c->callback([opts, &exit_code] {
      log_to_stderr();
      exit_code = run_history(*opts, std::cout, std::cerr);
    });
  }
  {
    auto opts = std::make_shared<export_options>();
    auto* c = app.add_subcommand(
        "export", "Export samples, events or devices of a site database as CSV or JSON lines");
    c->add_option("--db", opts->db, "Database folder")->required();
    c->add_option("--format", opts->format, "csv or jsonl")
        ->required()
        ->check(CLI::IsMember({"csv", "jsonl"}));
    c->add_option("--what", opts->what, "samples, events or devices")
        ->default_val("samples")
        ->check(CLI::IsMember({"samples", "events", "devices"}));
    c->add_option("--since", opts->since, "Start: 7d, 36h, 2024-05-01 or all")->default_val("all");
    c->add_option("--output", opts->output, "Write to this file instead of standard output");
    c->callback([opts, &exit_code] {
      log_to_stderr();
      exit_code = run_export(*opts, std::cout, std::cerr);
    });
  }
}

}  // namespace fleetpoll::storage
