#include "fleetpoll/codecs/snapshot_json.hpp"

#include <boost/json.hpp>

namespace fleetpoll::codecs {
namespace {

namespace json = boost::json;
namespace s = fleetpoll::schema;
namespace fb = flatbuffers;

std::string hex(const fb::Vector<std::uint8_t>* v) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  if (v == nullptr) return out;
  for (auto b : *v) {
    out.push_back(digits[b >> 4]);
    out.push_back(digits[b & 15]);
  }
  return out;
}

template <class E, class NameFn>
json::value enum_value(E e, NameFn name) {
  const char* n = name(e);
  if (n != nullptr && *n != '\0') return json::string(n);
  return json::value(static_cast<std::int64_t>(e));
}

void put(json::object& o, const char* key, const fb::String* v) {
  if (v != nullptr) o[key] = json::string(v->string_view());
}
template <class T>
void put(json::object& o, const char* key, fb::Optional<T> v) {
  if (v) o[key] = *v;
}

#define FLEETPOLL_PUT_ENUM(obj, key, opt, Type)                           \
  do {                                                                    \
    if (auto _v = (opt)) (obj)[key] = enum_value(*_v, s::EnumName##Type); \
  } while (0)

json::object identity_json(const s::Identity& id) {
  json::object o;
  put(o, "sys_descr", id.sys_descr());
  put(o, "sys_object_id", id.sys_object_id());
  put(o, "sys_name", id.sys_name());
  put(o, "sys_location", id.sys_location());
  put(o, "sys_contact", id.sys_contact());
  put(o, "sys_uptime_ticks", id.sys_uptime_ticks());
  put(o, "enterprise", id.enterprise());
  put(o, "enterprise_name", id.enterprise_name());
  put(o, "vendor", id.vendor());
  o["vendor_source"] = enum_value(id.vendor_source(), s::EnumNameSource);
  put(o, "model", id.model());
  o["model_source"] = enum_value(id.model_source(), s::EnumNameSource);
  put(o, "serial", id.serial());
  o["serial_source"] = enum_value(id.serial_source(), s::EnumNameSource);
  put(o, "firmware", id.firmware());
  o["firmware_source"] = enum_value(id.firmware_source(), s::EnumNameSource);
  put(o, "mac", id.mac());
  put(o, "mac_if_index", id.mac_if_index());
  put(o, "hr_device_index", id.hr_device_index());
  put(o, "hr_device_descr", id.hr_device_descr());
  put(o, "device_id", id.device_id());
  put(o, "printer_name", id.printer_name());
  return o;
}

json::object status_json(const s::Status& st) {
  json::object o;
  FLEETPOLL_PUT_ENUM(o, "hr_device_status", st.hr_device_status(), HrDeviceStatus);
  FLEETPOLL_PUT_ENUM(o, "hr_printer_status", st.hr_printer_status(), HrPrinterStatus);
  put(o, "hr_device_errors", st.hr_device_errors());
  if (st.detected_error_state()) o["detected_error_state"] = hex(st.detected_error_state());
  if (st.conditions()) {
    json::array a;
    for (auto c : *st.conditions()) a.push_back(enum_value(c, s::EnumNamePrinterCondition));
    o["conditions"] = std::move(a);
  }
  return o;
}

}  // namespace

json::value snapshot_to_json(const s::DeviceSnapshot& snap, const json_options& options) {
  json::object o;
  o["schema_version"] = snap.schema_version();
  put(o, "polled_at_ms", snap.polled_at_ms());
  put(o, "source", snap.source());
  if (snap.identity()) o["identity"] = identity_json(*snap.identity());
  if (snap.status()) o["status"] = status_json(*snap.status());
  o["has_printer_mib"] = snap.has_printer_mib();

  json::array markers;
  if (snap.markers())
    for (const auto* m : *snap.markers()) {
      json::object r;
      r["hr_device_index"] = m->hr_device_index();
      r["index"] = m->index();
      FLEETPOLL_PUT_ENUM(r, "counter_unit", m->counter_unit(), Unit);
      put(r, "life_count", m->life_count());
      put(r, "power_on_count", m->power_on_count());
      put(r, "marking_technology", m->marking_technology());
      put(r, "process_colorants", m->process_colorants());
      put(r, "spot_colorants", m->spot_colorants());
      put(r, "status", m->status());
      markers.push_back(std::move(r));
    }
  o["markers"] = std::move(markers);

  json::array supplies;
  if (snap.supplies())
    for (const auto* sp : *snap.supplies()) {
      json::object r;
      r["hr_device_index"] = sp->hr_device_index();
      r["index"] = sp->index();
      put(r, "marker_index", sp->marker_index());
      put(r, "colorant_index", sp->colorant_index());
      FLEETPOLL_PUT_ENUM(r, "supply_class", sp->supply_class(), SupplyClass);
      FLEETPOLL_PUT_ENUM(r, "type", sp->type(), SupplyType);
      put(r, "description", sp->description());
      if (options.include_raw && sp->description_raw())
        r["description_raw_hex"] = hex(sp->description_raw());
      FLEETPOLL_PUT_ENUM(r, "unit", sp->unit(), Unit);
      put(r, "max_capacity", sp->max_capacity());
      put(r, "level", sp->level());
      r["receptacle"] = sp->receptacle();
      r["quality"] = enum_value(sp->quality(), s::EnumNameLevelQuality);
      put(r, "remaining_percent", sp->remaining_percent());
      put(r, "fill_percent", sp->fill_percent());
      put(r, "colorant", sp->colorant());
      r["colorant_source"] = enum_value(sp->colorant_source(), s::EnumNameColorantSource);
      supplies.push_back(std::move(r));
    }
  o["supplies"] = std::move(supplies);

  json::array trays;
  if (snap.trays())
    for (const auto* t : *snap.trays()) {
      json::object r;
      r["hr_device_index"] = t->hr_device_index();
      r["index"] = t->index();
      FLEETPOLL_PUT_ENUM(r, "type", t->type(), InputType);
      put(r, "name", t->name());
      put(r, "description", t->description());
      put(r, "media_name", t->media_name());
      FLEETPOLL_PUT_ENUM(r, "capacity_unit", t->capacity_unit(), Unit);
      put(r, "max_capacity", t->max_capacity());
      put(r, "current_level", t->current_level());
      put(r, "status", t->status());
      r["quality"] = enum_value(t->quality(), s::EnumNameLevelQuality);
      put(r, "percent", t->percent());
      trays.push_back(std::move(r));
    }
  o["trays"] = std::move(trays);

  json::array colorants;
  if (snap.colorants())
    for (const auto* c : *snap.colorants()) {
      json::object r;
      r["hr_device_index"] = c->hr_device_index();
      r["index"] = c->index();
      put(r, "marker_index", c->marker_index());
      FLEETPOLL_PUT_ENUM(r, "role", c->role(), ColorantRole);
      put(r, "value", c->value());
      put(r, "tonality", c->tonality());
      colorants.push_back(std::move(r));
    }
  o["colorants"] = std::move(colorants);

  json::array alerts;
  if (snap.alerts())
    for (const auto* a : *snap.alerts()) {
      json::object r;
      r["hr_device_index"] = a->hr_device_index();
      r["index"] = a->index();
      FLEETPOLL_PUT_ENUM(r, "severity", a->severity(), AlertSeverity);
      FLEETPOLL_PUT_ENUM(r, "training_level", a->training_level(), AlertTrainingLevel);
      FLEETPOLL_PUT_ENUM(r, "group", a->group(), AlertGroup);
      put(r, "group_index", a->group_index());
      put(r, "location", a->location());
      FLEETPOLL_PUT_ENUM(r, "code", a->code(), AlertCode);
      put(r, "description", a->description());
      put(r, "time_ticks", a->time_ticks());
      alerts.push_back(std::move(r));
    }
  o["alerts"] = std::move(alerts);
  return o;
}

namespace {

void pretty_print(std::string& out, const json::value& v, int depth) {
  auto indent = [&](int d) { out.append(static_cast<std::size_t>(d) * 2, ' '); };
  if (v.is_object()) {
    const auto& o = v.get_object();
    if (o.empty()) {
      out += "{}";
      return;
    }
    out += "{\n";
    bool first = true;
    for (const auto& kv : o) {
      if (!first) out += ",\n";
      first = false;
      indent(depth + 1);
      out += json::serialize(json::string(kv.key()));
      out += ": ";
      pretty_print(out, kv.value(), depth + 1);
    }
    out += "\n";
    indent(depth);
    out += "}";
  } else if (v.is_array()) {
    const auto& a = v.get_array();
    if (a.empty()) {
      out += "[]";
      return;
    }
    bool scalars =
        std::none_of(a.begin(), a.end(), [](const json::value& e) { return e.is_structured(); });
    if (scalars) {
      out += json::serialize(v);
      return;
    }
    out += "[\n";
    bool first = true;
    for (const auto& e : a) {
      if (!first) out += ",\n";
      first = false;
      indent(depth + 1);
      pretty_print(out, e, depth + 1);
    }
    out += "\n";
    indent(depth);
    out += "]";
  } else {
    out += json::serialize(v);
  }
}

}  // namespace

std::string to_json_text(const json::value& v, bool pretty) {
  if (!pretty) return json::serialize(v);
  std::string out;
  pretty_print(out, v, 0);
  return out;
}

}  // namespace fleetpoll::codecs
