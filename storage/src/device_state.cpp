#include "device_state.hpp"

#include <cstring>
#include <memory>

#include "fleetpoll/storage/format.hpp"
#include "fleetpoll/storage/state_generated.h"
#include "keys.hpp"

namespace fleetpoll::storage::detail {
namespace {

namespace fb = flatbuffers;
namespace sf = fleetpoll::storage::fb;

fb::Offset<fb::String> str(fb::FlatBufferBuilder& b, const std::string& s) {
  return s.empty() ? fb::Offset<fb::String>() : b.CreateString(s);
}
std::string str(const fb::String* s) {
  return s ? s->str() : std::string();
}

template <class T>
std::optional<T> opt(fb::Optional<T> v) {
  return v ? std::optional<T>(*v) : std::nullopt;
}

}  // namespace

std::string serialize_state(const device_state& s) {
  fb::FlatBufferBuilder b(1024);
  fb::Offset<sf::IdentityState> identity;
  {
    const auto& i = s.identity;
    auto vendor = str(b, i.vendor), model = str(b, i.model), serial = str(b, i.serial),
         firmware = str(b, i.firmware), mac = str(b, i.mac), oid = str(b, i.sys_object_id),
         name = str(b, i.sys_name), location = str(b, i.sys_location),
         printer = str(b, i.printer_name), descr = str(b, i.sys_descr);
    sf::IdentityStateBuilder ib(b);
    ib.add_vendor(vendor);
    ib.add_model(model);
    ib.add_serial(serial);
    ib.add_firmware(firmware);
    ib.add_mac(mac);
    ib.add_sys_object_id(oid);
    if (i.enterprise) ib.add_enterprise(*i.enterprise);
    ib.add_sys_name(name);
    ib.add_sys_location(location);
    ib.add_printer_name(printer);
    ib.add_sys_descr(descr);
    identity = ib.Finish();
  }
  fb::Offset<sf::StatusState> status;
  {
    sf::StatusStateBuilder sb(b);
    if (s.status.device_status) sb.add_hr_device_status(*s.status.device_status);
    if (s.status.printer_status) sb.add_hr_printer_status(*s.status.printer_status);
    sb.add_conditions(s.status.conditions);
    sb.add_has_conditions(s.status.has_conditions);
    if (s.status.errors) sb.add_hr_device_errors(*s.status.errors);
    status = sb.Finish();
  }
  std::vector<fb::Offset<sf::SupplyState>> supplies;
  for (const auto& x : s.supplies) {
    auto descr = str(b, x.description), colorant = str(b, x.colorant);
    sf::SupplyStateBuilder sb(b);
    sb.add_hr_device_index(x.hr);
    sb.add_index(x.index);
    if (x.marker_index) sb.add_marker_index(*x.marker_index);
    sb.add_description(descr);
    if (x.type) sb.add_type(*x.type);
    if (x.supply_class) sb.add_supply_class(*x.supply_class);
    sb.add_colorant(colorant);
    sb.add_receptacle(x.receptacle);
    if (x.unit) sb.add_unit(*x.unit);
    if (x.max_capacity) sb.add_max_capacity(*x.max_capacity);
    if (x.level) sb.add_level(*x.level);
    sb.add_quality(x.quality);
    if (x.percent) sb.add_percent(*x.percent);
    if (x.ref_level) sb.add_ref_level(*x.ref_level);
    if (x.ref_percent) sb.add_ref_percent(*x.ref_percent);
    sb.add_ref_quality(x.ref_quality);
    sb.add_flags(x.flags);
    sb.add_missing_polls(x.missing_polls);
    sb.add_installed_ms(x.installed_ms);
    supplies.push_back(sb.Finish());
  }
  std::vector<fb::Offset<sf::TrayState>> trays;
  for (const auto& x : s.trays) {
    auto name = str(b, x.name);
    sf::TrayStateBuilder tb(b);
    tb.add_hr_device_index(x.hr);
    tb.add_index(x.index);
    tb.add_name(name);
    if (x.max_capacity) tb.add_max_capacity(*x.max_capacity);
    if (x.level) tb.add_level(*x.level);
    tb.add_quality(x.quality);
    if (x.percent) tb.add_percent(*x.percent);
    if (x.ref_percent) tb.add_ref_percent(*x.ref_percent);
    tb.add_ref_quality(x.ref_quality);
    tb.add_missing_polls(x.missing_polls);
    trays.push_back(tb.Finish());
  }
  std::vector<fb::Offset<sf::CounterState>> counters;
  for (const auto& x : s.counters) {
    sf::CounterStateBuilder cb(b);
    cb.add_hr_device_index(x.hr);
    cb.add_index(x.index);
    if (x.unit) cb.add_unit(*x.unit);
    if (x.life) cb.add_life_count(*x.life);
    if (x.power_on) cb.add_power_on_count(*x.power_on);
    if (x.ref_life) cb.add_ref_life_count(*x.ref_life);
    if (x.ref_ms) cb.add_ref_at_ms(x.ref_ms);
    cb.add_missing_polls(x.missing_polls);
    counters.push_back(cb.Finish());
  }
  std::vector<fb::Offset<sf::AlertState>> alerts;
  for (const auto& x : s.alerts) {
    auto descr = str(b, x.description);
    sf::AlertStateBuilder ab(b);
    ab.add_hr_device_index(x.hr);
    ab.add_index(x.index);
    if (x.severity) ab.add_severity(*x.severity);
    if (x.training_level) ab.add_training_level(*x.training_level);
    if (x.group) ab.add_group(*x.group);
    if (x.group_index) ab.add_group_index(*x.group_index);
    if (x.location) ab.add_location(*x.location);
    if (x.code) ab.add_code(*x.code);
    ab.add_description(descr);
    if (x.time_ticks) ab.add_time_ticks(*x.time_ticks);
    ab.add_raised_ms(x.raised_ms);
    alerts.push_back(ab.Finish());
  }
  auto address = str(b, s.address), last_error = str(b, s.last_error);
  auto sv = b.CreateVector(supplies);
  auto tv = b.CreateVector(trays);
  auto cv = b.CreateVector(counters);
  auto av = b.CreateVector(alerts);
  sf::DeviceStateBuilder db(b);
  db.add_device_id(s.device_id);
  db.add_address(address);
  db.add_first_seen_ms(s.first_seen_ms);
  db.add_last_seen_ms(s.last_seen_ms);
  db.add_last_heartbeat_ms(s.last_heartbeat_ms);
  db.add_up(s.up);
  db.add_down_since_ms(s.down_since_ms);
  db.add_failed_polls(s.failed_polls);
  db.add_last_error(last_error);
  db.add_classes_seen(s.classes_seen);
  db.add_identity(identity);
  db.add_status(status);
  db.add_supplies(sv);
  db.add_trays(tv);
  db.add_counters(cv);
  db.add_alerts(av);
  db.add_status_known(s.status_known);
  b.Finish(db.Finish(), sf::DeviceStateIdentifier());
  return std::string(reinterpret_cast<const char*>(b.GetBufferPointer()), b.GetSize());
}

bool parse_state(std::string_view bytes, device_state& out) {
  // The verifier insists on aligned scalars; values read from RocksDB come at any address.
  std::unique_ptr<std::uint64_t[]> aligned;
  const auto* data = reinterpret_cast<const std::uint8_t*>(bytes.data());
  if (reinterpret_cast<std::uintptr_t>(data) % alignof(std::uint64_t) != 0) {
    aligned.reset(new std::uint64_t[bytes.size() / 8 + 1]);
    std::memcpy(aligned.get(), bytes.data(), bytes.size());
    data = reinterpret_cast<const std::uint8_t*>(aligned.get());
  }
  fb::Verifier v(data, bytes.size(), 16, 100'000);
  if (bytes.size() < 8 || !sf::VerifyDeviceStateBuffer(v)) return false;
  const auto* d = sf::GetDeviceState(data);
  out = device_state{};
  out.device_id = d->device_id();
  out.address = str(d->address());
  out.first_seen_ms = d->first_seen_ms();
  out.last_seen_ms = d->last_seen_ms();
  out.last_heartbeat_ms = d->last_heartbeat_ms();
  out.up = d->up();
  out.down_since_ms = d->down_since_ms();
  out.failed_polls = d->failed_polls();
  out.last_error = str(d->last_error());
  out.classes_seen = d->classes_seen();
  out.status_known = d->status_known();
  if (const auto* i = d->identity()) {
    auto& o = out.identity;
    o.vendor = str(i->vendor());
    o.model = str(i->model());
    o.serial = str(i->serial());
    o.firmware = str(i->firmware());
    o.mac = str(i->mac());
    o.sys_object_id = str(i->sys_object_id());
    o.enterprise = opt(i->enterprise());
    o.sys_name = str(i->sys_name());
    o.sys_location = str(i->sys_location());
    o.printer_name = str(i->printer_name());
    o.sys_descr = str(i->sys_descr());
  }
  if (const auto* st = d->status()) {
    out.status.device_status = opt(st->hr_device_status());
    out.status.printer_status = opt(st->hr_printer_status());
    out.status.conditions = st->conditions();
    out.status.has_conditions = st->has_conditions();
    out.status.errors = opt(st->hr_device_errors());
  }
  if (const auto* v2 = d->supplies())
    for (const auto* x : *v2) {
      supply_state s;
      s.hr = x->hr_device_index();
      s.index = x->index();
      s.marker_index = opt(x->marker_index());
      s.description = str(x->description());
      s.type = opt(x->type());
      s.supply_class = opt(x->supply_class());
      s.colorant = str(x->colorant());
      s.receptacle = x->receptacle();
      s.unit = opt(x->unit());
      s.max_capacity = opt(x->max_capacity());
      s.level = opt(x->level());
      s.quality = x->quality();
      s.percent = opt(x->percent());
      s.ref_level = opt(x->ref_level());
      s.ref_percent = opt(x->ref_percent());
      s.ref_quality = x->ref_quality();
      s.flags = x->flags();
      s.missing_polls = x->missing_polls();
      s.installed_ms = x->installed_ms();
      out.supplies.push_back(std::move(s));
    }
  if (const auto* v2 = d->trays())
    for (const auto* x : *v2) {
      tray_state t;
      t.hr = x->hr_device_index();
      t.index = x->index();
      t.name = str(x->name());
      t.max_capacity = opt(x->max_capacity());
      t.level = opt(x->level());
      t.quality = x->quality();
      t.percent = opt(x->percent());
      t.ref_percent = opt(x->ref_percent());
      t.ref_quality = x->ref_quality();
      t.missing_polls = x->missing_polls();
      out.trays.push_back(std::move(t));
    }
  if (const auto* v2 = d->counters())
    for (const auto* x : *v2) {
      counter_state c;
      c.hr = x->hr_device_index();
      c.index = x->index();
      c.unit = opt(x->unit());
      c.life = opt(x->life_count());
      c.power_on = opt(x->power_on_count());
      c.ref_life = opt(x->ref_life_count());
      c.ref_ms = x->ref_at_ms();
      c.missing_polls = x->missing_polls();
      out.counters.push_back(c);
    }
  if (const auto* v2 = d->alerts())
    for (const auto* x : *v2) {
      alert_state a;
      a.hr = x->hr_device_index();
      a.index = x->index();
      a.severity = opt(x->severity());
      a.training_level = opt(x->training_level());
      a.group = opt(x->group());
      a.group_index = opt(x->group_index());
      a.location = opt(x->location());
      a.code = opt(x->code());
      a.description = str(x->description());
      a.time_ticks = opt(x->time_ticks());
      a.raised_ms = x->raised_ms();
      out.alerts.push_back(std::move(a));
    }
  return true;
}

bool same_but_readings(const device_state& a, const device_state& b) {
  if (a.device_id != b.device_id || a.address != b.address || a.first_seen_ms != b.first_seen_ms ||
      a.last_heartbeat_ms != b.last_heartbeat_ms || a.up != b.up ||
      a.down_since_ms != b.down_since_ms || a.failed_polls != b.failed_polls ||
      a.last_error != b.last_error || a.classes_seen != b.classes_seen ||
      a.status_known != b.status_known || !(a.identity == b.identity) || !(a.status == b.status) ||
      !(a.alerts == b.alerts) || a.supplies.size() != b.supplies.size() ||
      a.trays.size() != b.trays.size() || a.counters.size() != b.counters.size())
    return false;
  for (std::size_t i = 0; i < a.supplies.size(); ++i) {
    const auto &x = a.supplies[i], &y = b.supplies[i];
    if (x.hr != y.hr || x.index != y.index || x.marker_index != y.marker_index ||
        x.description != y.description || x.colorant != y.colorant || x.type != y.type ||
        x.supply_class != y.supply_class || x.unit != y.unit || x.receptacle != y.receptacle ||
        x.ref_level != y.ref_level || x.ref_percent != y.ref_percent ||
        x.ref_quality != y.ref_quality || x.flags != y.flags ||
        x.missing_polls != y.missing_polls || x.installed_ms != y.installed_ms)
      return false;
  }
  for (std::size_t i = 0; i < a.trays.size(); ++i) {
    const auto &x = a.trays[i], &y = b.trays[i];
    if (x.hr != y.hr || x.index != y.index || x.name != y.name || x.ref_percent != y.ref_percent ||
        x.ref_quality != y.ref_quality || x.missing_polls != y.missing_polls)
      return false;
  }
  for (std::size_t i = 0; i < a.counters.size(); ++i) {
    const auto &x = a.counters[i], &y = b.counters[i];
    if (x.hr != y.hr || x.index != y.index || x.unit != y.unit || x.ref_life != y.ref_life ||
        x.ref_ms != y.ref_ms || x.missing_polls != y.missing_polls)
      return false;
  }
  return true;
}

device_view to_view(const device_state& s) {
  device_view v;
  v.device_id = s.device_id;
  v.address = s.address;
  v.vendor = s.identity.vendor;
  v.model = s.identity.model;
  v.serial = s.identity.serial;
  v.firmware = s.identity.firmware;
  v.mac = s.identity.mac;
  v.sys_name = s.identity.sys_name;
  v.sys_location = s.identity.sys_location;
  v.printer_name = s.identity.printer_name;
  v.first_seen_ms = s.first_seen_ms;
  v.last_seen_ms = s.last_seen_ms;
  v.up = s.up;
  v.down_since_ms = s.down_since_ms;
  v.failed_polls = s.failed_polls;
  v.last_error = s.last_error;
  v.hr_device_status = s.status.device_status;
  v.hr_printer_status = s.status.printer_status;
  v.conditions = s.status.conditions;
  for (const auto& x : s.supplies) {
    supply_view sv;
    sv.hr_device_index = x.hr;
    sv.index = x.index;
    sv.description = x.description;
    sv.colorant = x.colorant;
    sv.type = x.type;
    sv.receptacle = x.receptacle;
    sv.level = x.level;
    sv.max_capacity = x.max_capacity;
    sv.quality = static_cast<schema::LevelQuality>(x.quality);
    if (x.percent)
      sv.percent = x.receptacle ? static_cast<std::int16_t>(100 - *x.percent) : *x.percent;
    sv.reorder = (x.flags & flag_reorder) != 0;
    sv.low = (x.flags & flag_low) != 0;
    sv.empty = (x.flags & flag_empty) != 0;
    sv.installed_ms = x.installed_ms;
    v.supplies.push_back(std::move(sv));
  }
  for (const auto& x : s.trays)
    v.trays.push_back({x.hr, x.index, x.name, x.level, x.max_capacity,
                       static_cast<schema::LevelQuality>(x.quality), x.percent});
  for (const auto& x : s.counters)
    v.counters.push_back({x.hr, x.index, x.unit, x.life, x.power_on});
  for (const auto& x : s.alerts)
    v.alerts.push_back({x.hr, x.index, x.severity, x.training_level, x.group, x.group_index,
                        x.location, x.code, x.description, x.raised_ms});
  return v;
}

}  // namespace fleetpoll::storage::detail

namespace fleetpoll::storage {

bool decode_sample(std::string_view key, std::string_view value, sample& out) noexcept {
  detail::sample_key_parts p;
  if (!detail::parse_sample_key(key, p)) return false;
  out = sample{};
  out.at_ms = p.at_ms;
  out.kind = p.kind;
  out.hr_device_index = p.hr_device_index;
  out.index = p.index;
  return detail::decode_sample_value(value, out);
}

bool decode_device_state(std::string_view value, device_view& out) {
  detail::device_state s;
  if (!detail::parse_state(value, s)) return false;
  out = detail::to_view(s);
  return true;
}

}  // namespace fleetpoll::storage
