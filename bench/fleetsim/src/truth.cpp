// Ground truth: what every device serves at a simulated moment (docs/fleetsim.md).
#include <boost/json.hpp>

#include <algorithm>
#include <cmath>
#include <map>
#include <ostream>

#include "agent.hpp"
#include "fleet_impl.hpp"
#include "fleetpoll/codecs/normalize.hpp"
#include "fleetpoll/codecs/printer_mib.hpp"

namespace fleetpoll::fleetsim {
namespace {

namespace mib = codecs::mib;
using codecs::value_type;

std::string hex(std::string_view bytes) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out.push_back(digits[c >> 4]);
    out.push_back(digits[c & 15]);
  }
  return out;
}

std::string mac_text(const std::array<std::uint8_t, 6>& m) {
  char buf[18];
  std::snprintf(buf, sizeof buf, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4],
                m[5]);
  return buf;
}

std::optional<std::int64_t> int_at(const codecs::mib_view& v, const codecs::oid& o) {
  const auto* x = v.get(o);
  if (!x || !x->is_numeric()) return std::nullopt;
  return x->type == value_type::integer ? x->integer() : static_cast<std::int64_t>(x->number);
}

std::string text_at(const codecs::mib_view& v, const codecs::oid& o) {
  const auto* x = v.get(o);
  return x && x->type == value_type::octet_string ? x->bytes : std::string{};
}

const detail::row* find_row(const detail::device_template& t, const codecs::oid& o) {
  const auto rows = t.rows();
  auto it = std::lower_bound(rows.begin(), rows.end(), o.arcs(), [&](const detail::row& r, auto q) {
    auto a = t.arcs(r);
    return std::lexicographical_compare(a.begin(), a.end(), q.begin(), q.end());
  });
  if (it == rows.end() || !std::ranges::equal(t.arcs(*it), o.arcs())) return nullptr;
  return &*it;
}

}  // namespace

device_truth make_truth(const fleet::impl& f, std::uint32_t dev, double at) {
  device_truth t;
  if (dev >= f.count) return t;
  const auto& tpl = f.template_of(dev);
  const auto& src = tpl.source();
  const bool living = f.living();
  const auto ts = static_cast<std::int64_t>(std::floor(at));
  detail::device_model m(f.model_cfg, tpl, dev, ts);
  const device_slot& slot = f.devices[dev];
  const fault_params params = f.params_of(dev);

  t.device = dev;
  {
    char buf[16];
    const std::uint32_t a = f.base + dev;
    std::snprintf(buf, sizeof buf, "%u.%u.%u.%u", a >> 24, (a >> 16) & 255, (a >> 8) & 255,
                  a & 255);
    t.address = buf;
  }
  t.template_name = tpl.name();
  t.sim_time = ts;
  t.living = living;
  t.faults = slot.faults.load(std::memory_order_relaxed);
  t.asleep = (t.faults & mask_of(fault::sleepy)) &&
             m.asleep(params.sleep_period_s, params.sleep_duration_s);
  t.answers = !(t.faults & mask_of(fault::dead)) && !t.asleep;

  // Identity: the text each row serves.
  std::string scratch;
  auto served_text = [&](const codecs::oid& o) -> std::string {
    const detail::row* r = find_row(tpl, o);
    if (!r) return {};
    if (living && r->kind == detail::row_kind::text) {
      detail::served_text(tpl, tpl.overlay(r->param), m, scratch);
      return scratch;
    }
    if (living && r->kind == detail::row_kind::sys_name) return m.sys_name();
    return text_at(src, o);
  };
  t.sys_descr = codecs::display_text(served_text(mib::sys_descr));
  t.sys_object_id = tpl.sys_object_id();
  t.sys_name = codecs::display_text(served_text(mib::sys_name));
  // A value the normalizer finds but no row carries verbatim (too short to match safely, e.g.
  // Brother's firmware "Q" from "Firmware Ver.Q") is served unchanged.
  if (!tpl.serial().empty()) t.serial = living && tpl.serial_live() ? m.serial() : tpl.serial();
  if (!tpl.firmware().empty())
    t.firmware = living && tpl.firmware_live() ? m.firmware() : tpl.firmware();
  if (tpl.has_mac()) t.mac = mac_text(living && tpl.mac_live() ? m.mac() : tpl.mac());
  if (living && tpl.has_uptime())
    t.sys_uptime_ticks = m.uptime_ticks();
  else if (auto u = int_at(src, mib::sys_uptime))
    t.sys_uptime_ticks = static_cast<std::uint32_t>(*u);

  if (living) {
    t.installed_at = m.install_time();
    t.board_installed_at = m.board_time();
    t.booted_at = m.boot_time();
    t.board_swaps = m.board_swaps();
    t.firmware_updates = m.firmware_updates();
    t.pages = m.pages();
    t.pages_per_day = m.pages_per_day();
  }

  // Status.
  const std::uint32_t hr = tpl.printer_hr_index();
  const codecs::oid dev_status = mib::hr_device_entry.child({mib::hr_device_col::status, hr});
  const codecs::oid prn_status = mib::hr_printer_entry.child({mib::hr_printer_col::status, hr});
  const codecs::oid err_state =
      mib::hr_printer_entry.child({mib::hr_printer_col::detected_error_state, hr});
  if (auto v = int_at(src, dev_status))
    t.hr_device_status =
        living && tpl.has_hr_device_status() ? m.hr_device_status() : static_cast<std::int32_t>(*v);
  if (auto v = int_at(src, prn_status))
    t.hr_printer_status =
        living && tpl.has_hr_printer() ? m.hr_printer_status() : static_cast<std::int32_t>(*v);
  if (const auto* e = src.get(err_state); e && e->type == value_type::octet_string) {
    const std::string octets =
        living && tpl.has_hr_printer()
            ? detail::error_state_octets(m.conditions(), tpl.error_state_octets())
            : e->bytes;
    t.detected_error_state = hex(octets);
    for (auto c : codecs::decode_error_state(octets))
      t.conditions.emplace_back(schema::EnumNamePrinterCondition(c));
  }

  // Markers.
  for (const auto& mk : tpl.markers()) {
    marker_truth x;
    x.hr_device_index = mk.hr_index;
    x.index = mk.index;
    const std::uint32_t idx[2] = {mk.hr_index, mk.index};
    const auto life =
        int_at(src, mib::prt_marker_entry.child({mib::prt_marker_col::life_count}).child(idx));
    const auto power =
        int_at(src, mib::prt_marker_entry.child({mib::prt_marker_col::power_on_count}).child(idx));
    if (mk.has_life && life)
      x.life_count = living ? m.life_count() & 0xFFFFFFFFu : static_cast<std::uint64_t>(*life);
    if (mk.has_power_on && power)
      x.power_on_count =
          living ? m.power_on_count() & 0xFFFFFFFFu : static_cast<std::uint64_t>(*power);
    t.markers.push_back(x);
  }

  // Supplies and trays: fixed columns from the recording, live levels from the model.
  std::map<std::pair<std::uint32_t, std::uint32_t>, std::size_t> supply_channel, tray_channel;
  for (std::size_t c = 0; c < tpl.channels().size(); ++c) {
    const auto& ch = tpl.channels()[c];
    (ch.cls == detail::channel_class::tray ? tray_channel
                                           : supply_channel)[{ch.hr_index, ch.index}] = c;
  }
  const codecs::oid level_col =
      mib::prt_marker_supplies_entry.child({mib::prt_supplies_col::level});
  for (const auto& vb : src.subtree(level_col)) {
    const auto idx = vb.name.suffix_after(level_col);
    if (idx.size() != 2 || vb.val.type != value_type::integer) continue;
    supply_truth s;
    s.hr_device_index = idx[0];
    s.index = idx[1];
    auto col = [&](std::uint32_t c) {
      return mib::prt_marker_supplies_entry.child({c}).child(idx);
    };
    s.type = static_cast<std::int32_t>(int_at(src, col(mib::prt_supplies_col::type)).value_or(0));
    s.supply_class = static_cast<std::int32_t>(
        int_at(src, col(mib::prt_supplies_col::supply_class)).value_or(0));
    s.unit =
        static_cast<std::int32_t>(int_at(src, col(mib::prt_supplies_col::supply_unit)).value_or(0));
    s.description =
        codecs::clean_description(text_at(src, col(mib::prt_supplies_col::description)));
    if (auto c = int_at(src, col(mib::prt_supplies_col::max_capacity)))
      s.max_capacity = static_cast<std::int32_t>(*c);
    s.level = static_cast<std::int32_t>(vb.val.integer());
    if (auto it = supply_channel.find({idx[0], idx[1]}); living && it != supply_channel.end()) {
      const auto st = m.channel(it->second);
      s.level = st.level;
      s.replacements = st.cycles;
    }
    t.supplies.push_back(std::move(s));
  }
  const codecs::oid tray_col = mib::prt_input_entry.child({mib::prt_input_col::current_level});
  for (const auto& vb : src.subtree(tray_col)) {
    const auto idx = vb.name.suffix_after(tray_col);
    if (idx.size() != 2 || vb.val.type != value_type::integer) continue;
    tray_truth x;
    x.hr_device_index = idx[0];
    x.index = idx[1];
    auto col = [&](std::uint32_t c) { return mib::prt_input_entry.child({c}).child(idx); };
    x.name = codecs::display_text(text_at(src, col(mib::prt_input_col::name)));
    if (auto c = int_at(src, col(mib::prt_input_col::max_capacity)))
      x.max_capacity = static_cast<std::int32_t>(*c);
    x.current_level = static_cast<std::int32_t>(vb.val.integer());
    if (auto it = tray_channel.find({idx[0], idx[1]}); living && it != tray_channel.end()) {
      const auto st = m.channel(it->second);
      x.current_level = st.level;
      x.refills = st.cycles;
    }
    t.trays.push_back(std::move(x));
  }

  // Alerts.
  if (living && tpl.has_alert_table()) {
    for (const auto& a : m.alerts()) {
      const auto& k = tpl.alert_kinds()[a.kind];
      t.alerts.push_back({hr, a.index, k.severity, k.training, k.group, k.group_index, k.location,
                          k.code, k.description, a.time_ticks, a.added_s});
    }
  } else {
    std::map<std::pair<std::uint32_t, std::uint32_t>, alert_truth> rows;
    for (const auto& vb : src.subtree(mib::prt_alert_entry)) {
      const auto rest = vb.name.suffix_after(mib::prt_alert_entry);
      if (rest.size() != 3) continue;
      auto& a = rows[{rest[1], rest[2]}];
      a.hr_device_index = rest[1];
      a.index = rest[2];
      const auto n = vb.val.is_numeric() ? static_cast<std::int32_t>(vb.val.number) : 0;
      switch (rest[0]) {
        case mib::prt_alert_col::severity:
          a.severity = n;
          break;
        case mib::prt_alert_col::training_level:
          a.training_level = n;
          break;
        case mib::prt_alert_col::group:
          a.group = n;
          break;
        case mib::prt_alert_col::group_index:
          a.group_index = n;
          break;
        case mib::prt_alert_col::location:
          a.location = n;
          break;
        case mib::prt_alert_col::code:
          a.code = n;
          break;
        case mib::prt_alert_col::description:
          a.description = codecs::display_text(vb.val.bytes);
          break;
        case mib::prt_alert_col::time:
          a.time_ticks = static_cast<std::uint32_t>(vb.val.number);
          break;
        default:
          break;
      }
    }
    for (auto& [k, a] : rows) t.alerts.push_back(std::move(a));
  }
  t.counters = {slot.received.load(std::memory_order_relaxed),
                slot.sent.load(std::memory_order_relaxed),
                slot.dropped.load(std::memory_order_relaxed)};
  return t;
}

namespace {

boost::json::object to_json(const device_truth& t) {
  namespace json = boost::json;
  json::object o;
  o["kind"] = "device";
  o["device"] = t.device;
  o["address"] = t.address;
  o["template"] = t.template_name;
  o["sim_time"] = t.sim_time;
  json::array faults;
  for (std::size_t i = 0; i < fault_count; ++i)
    if (t.faults & (1u << i)) faults.emplace_back(to_string(static_cast<fault>(i)));
  o["faults"] = std::move(faults);
  o["asleep"] = t.asleep;
  o["answers"] = t.answers;
  json::object id;
  auto put = [](json::object& obj, std::string_view k, const std::string& v) {
    if (!v.empty()) obj[k] = v;
  };
  put(id, "sys_descr", t.sys_descr);
  put(id, "sys_object_id", t.sys_object_id);
  put(id, "sys_name", t.sys_name);
  put(id, "serial", t.serial);
  put(id, "firmware", t.firmware);
  put(id, "mac", t.mac);
  if (t.sys_uptime_ticks) id["sys_uptime_ticks"] = *t.sys_uptime_ticks;
  o["identity"] = std::move(id);
  if (t.living) {
    o["life"] = {{"installed_at", t.installed_at},
                 {"board_installed_at", t.board_installed_at},
                 {"booted_at", t.booted_at},
                 {"board_swaps", t.board_swaps},
                 {"firmware_updates", t.firmware_updates},
                 {"pages", t.pages},
                 {"pages_per_day", std::round(t.pages_per_day * 100) / 100}};
  }
  json::object st;
  if (t.hr_device_status) st["hr_device_status"] = *t.hr_device_status;
  if (t.hr_printer_status) st["hr_printer_status"] = *t.hr_printer_status;
  if (!t.detected_error_state.empty()) {
    st["detected_error_state"] = t.detected_error_state;
    json::array c;
    for (const auto& n : t.conditions) c.emplace_back(n);
    st["conditions"] = std::move(c);
  }
  o["status"] = std::move(st);
  json::array markers;
  for (const auto& x : t.markers) {
    json::object j{{"hr_device_index", x.hr_device_index}, {"index", x.index}};
    if (x.life_count) j["life_count"] = *x.life_count;
    if (x.power_on_count) j["power_on_count"] = *x.power_on_count;
    markers.emplace_back(std::move(j));
  }
  o["markers"] = std::move(markers);
  json::array supplies;
  for (const auto& x : t.supplies) {
    json::object j{{"hr_device_index", x.hr_device_index}, {"index", x.index}};
    if (x.type) j["type"] = x.type;
    if (x.supply_class) j["supply_class"] = x.supply_class;
    if (x.unit) j["unit"] = x.unit;
    j["description"] = x.description;
    if (x.max_capacity) j["max_capacity"] = *x.max_capacity;
    j["level"] = x.level;
    j["replacements"] = x.replacements;
    supplies.emplace_back(std::move(j));
  }
  o["supplies"] = std::move(supplies);
  json::array trays;
  for (const auto& x : t.trays) {
    json::object j{{"hr_device_index", x.hr_device_index}, {"index", x.index}, {"name", x.name}};
    if (x.max_capacity) j["max_capacity"] = *x.max_capacity;
    j["current_level"] = x.current_level;
    j["refills"] = x.refills;
    trays.emplace_back(std::move(j));
  }
  o["trays"] = std::move(trays);
  json::array alerts;
  for (const auto& a : t.alerts)
    alerts.emplace_back(json::object{{"hr_device_index", a.hr_device_index},
                                     {"index", a.index},
                                     {"severity", a.severity},
                                     {"training_level", a.training_level},
                                     {"group", a.group},
                                     {"group_index", a.group_index},
                                     {"location", a.location},
                                     {"code", a.code},
                                     {"description", a.description},
                                     {"time_ticks", a.time_ticks},
                                     {"added_at", a.added_at}});
  o["alerts"] = std::move(alerts);
  o["counters"] = {{"received", t.counters.received},
                   {"sent", t.counters.sent},
                   {"dropped", t.counters.dropped}};
  return o;
}

}  // namespace

std::string fleet::truth_json(std::uint32_t device, std::optional<double> at) const {
  return boost::json::serialize(to_json(truth(device, at)));
}

bool fleet::write_ground_truth(std::ostream& out, std::optional<double> at) const {
  const double when = at ? *at : impl_->sim_now();
  const auto& o = impl_->opts;
  boost::json::array names;
  for (const auto& t : impl_->templates) names.emplace_back(t->name());
  boost::json::object header{{"kind", "header"},
                             {"format", "fleetsim-ground-truth"},
                             {"version", 1},
                             {"sim_time", static_cast<std::int64_t>(std::floor(when))},
                             {"sim_time_utc", format_time(when)},
                             {"seed", o.seed},
                             {"profile", o.profile},
                             {"devices", impl_->count},
                             {"base_address", o.base_address},
                             {"port", port()},
                             {"community", o.community},
                             {"faults", describe(o.faults)},
                             {"templates", std::move(names)}};
  out << boost::json::serialize(header) << '\n';
  for (std::uint32_t d = 0; d < impl_->count && out; ++d)
    out << boost::json::serialize(to_json(make_truth(*impl_, d, when))) << '\n';
  out.flush();
  return static_cast<bool>(out);
}

}  // namespace fleetpoll::fleetsim
