#include "fleetpoll/storage/testing/snapshot_builder.hpp"

#include <cstdio>

#include "fleetpoll/codecs/normalize.hpp"
#include "fleetpoll/schema/snapshot_generated.h"

namespace fleetpoll::storage::testing {
namespace {

namespace fb = flatbuffers;
namespace s = fleetpoll::schema;

fb::Offset<fb::String> str(fb::FlatBufferBuilder& b, const std::string& t) {
  return t.empty() ? fb::Offset<fb::String>() : b.CreateString(t);
}

}  // namespace

flatbuffers::DetachedBuffer build_snapshot(const device_spec& d, std::uint64_t polled_at_ms) {
  fb::FlatBufferBuilder b(2048);
  auto vendor = str(b, d.vendor), model = str(b, d.model), serial = str(b, d.serial),
       firmware = str(b, d.firmware), mac = str(b, d.mac), name = str(b, d.sys_name),
       location = str(b, d.sys_location), oid = str(b, d.sys_object_id),
       printer = str(b, d.printer_name), descr = str(b, d.sys_descr);
  s::IdentityBuilder ib(b);
  ib.add_vendor(vendor);
  ib.add_model(model);
  ib.add_serial(serial);
  ib.add_firmware(firmware);
  ib.add_mac(mac);
  ib.add_sys_name(name);
  ib.add_sys_location(location);
  ib.add_sys_object_id(oid);
  ib.add_printer_name(printer);
  ib.add_sys_descr(descr);
  if (d.enterprise) ib.add_enterprise(*d.enterprise);
  if (d.uptime_ticks) ib.add_sys_uptime_ticks(*d.uptime_ticks);
  const auto identity = ib.Finish();

  fb::Offset<s::Status> status;
  if (d.has_status) {
    std::vector<s::PrinterCondition> conds;
    std::uint8_t octets[2] = {0, 0};
    for (int c : d.conditions) {
      conds.push_back(static_cast<s::PrinterCondition>(c));
      octets[c / 8] = static_cast<std::uint8_t>(octets[c / 8] | (0x80u >> (c % 8)));
    }
    auto state = b.CreateVector(octets, 2);
    auto cv = b.CreateVector(conds);
    s::StatusBuilder sb(b);
    if (d.device_status) sb.add_hr_device_status(static_cast<s::HrDeviceStatus>(*d.device_status));
    if (d.printer_status)
      sb.add_hr_printer_status(static_cast<s::HrPrinterStatus>(*d.printer_status));
    sb.add_detected_error_state(state);
    sb.add_conditions(cv);
    status = sb.Finish();
  }

  std::vector<fb::Offset<s::Marker>> markers;
  for (const auto& m : d.markers) {
    s::MarkerBuilder mb(b);
    mb.add_hr_device_index(d.hr_device_index);
    mb.add_index(m.index);
    if (m.unit) mb.add_counter_unit(static_cast<s::Unit>(*m.unit));
    if (m.life_count) mb.add_life_count(*m.life_count);
    if (m.power_on_count) mb.add_power_on_count(*m.power_on_count);
    markers.push_back(mb.Finish());
  }

  std::vector<fb::Offset<s::Supply>> supplies;
  for (const auto& x : d.supplies) {
    codecs::level_input in;
    if (x.level) in.level = *x.level;
    if (x.max_capacity) in.max_capacity = *x.max_capacity;
    in.unit = x.unit;
    in.capacity_100_means_percent = true;
    in.status_codes = x.status_codes;
    const auto j = codecs::judge_level(in);
    const bool receptacle = x.supply_class && *x.supply_class == 4;
    auto sd = str(b, x.description), sc = str(b, x.colorant);
    s::SupplyBuilder sb(b);
    sb.add_hr_device_index(d.hr_device_index);
    sb.add_index(x.index);
    if (x.marker_index) sb.add_marker_index(*x.marker_index);
    if (x.supply_class) sb.add_supply_class(static_cast<s::SupplyClass>(*x.supply_class));
    if (x.type) sb.add_type(static_cast<s::SupplyType>(*x.type));
    sb.add_description(sd);
    if (x.unit) sb.add_unit(static_cast<s::Unit>(*x.unit));
    if (x.max_capacity) sb.add_max_capacity(*x.max_capacity);
    if (x.level) sb.add_level(*x.level);
    sb.add_receptacle(receptacle);
    sb.add_quality(j.quality);
    if (j.percent) {
      if (receptacle)
        sb.add_fill_percent(static_cast<std::int16_t>(100 - *j.percent));
      else
        sb.add_remaining_percent(*j.percent);
    }
    sb.add_colorant(sc);
    supplies.push_back(sb.Finish());
  }

  std::vector<fb::Offset<s::InputTray>> trays;
  for (const auto& t : d.trays) {
    codecs::level_input in;
    if (t.level) in.level = *t.level;
    if (t.max_capacity) in.max_capacity = *t.max_capacity;
    in.unit = t.unit;
    const auto j = codecs::judge_level(in);
    auto tn = str(b, t.name);
    s::InputTrayBuilder tb(b);
    tb.add_hr_device_index(d.hr_device_index);
    tb.add_index(t.index);
    tb.add_name(tn);
    if (t.unit) tb.add_capacity_unit(static_cast<s::Unit>(*t.unit));
    if (t.max_capacity) tb.add_max_capacity(*t.max_capacity);
    if (t.level) tb.add_current_level(*t.level);
    tb.add_quality(j.quality);
    if (j.percent) tb.add_percent(*j.percent);
    trays.push_back(tb.Finish());
  }

  std::vector<fb::Offset<s::Alert>> alerts;
  for (const auto& a : d.alerts) {
    auto ad = str(b, a.description);
    s::AlertBuilder ab(b);
    ab.add_hr_device_index(d.hr_device_index);
    ab.add_index(a.index);
    if (a.severity) ab.add_severity(static_cast<s::AlertSeverity>(*a.severity));
    if (a.training_level)
      ab.add_training_level(static_cast<s::AlertTrainingLevel>(*a.training_level));
    if (a.group) ab.add_group(static_cast<s::AlertGroup>(*a.group));
    if (a.group_index) ab.add_group_index(*a.group_index);
    if (a.location) ab.add_location(*a.location);
    if (a.code) ab.add_code(static_cast<s::AlertCode>(*a.code));
    ab.add_description(ad);
    if (a.time_ticks) ab.add_time_ticks(*a.time_ticks);
    alerts.push_back(ab.Finish());
  }

  auto mv = b.CreateVector(markers);
  auto sv = b.CreateVector(supplies);
  auto tv = b.CreateVector(trays);
  auto av = b.CreateVector(alerts);
  auto source = b.CreateString("testing::build_snapshot");
  s::DeviceSnapshotBuilder db(b);
  if (polled_at_ms) db.add_polled_at_ms(polled_at_ms);
  db.add_source(source);
  db.add_identity(identity);
  db.add_status(status);
  db.add_has_printer_mib(true);
  db.add_markers(mv);
  db.add_supplies(sv);
  db.add_trays(tv);
  db.add_alerts(av);
  b.Finish(db.Finish(), s::DeviceSnapshotIdentifier());
  return b.Release();
}

device_spec office_mfp(int n) {
  device_spec d;
  char buf[64];
  std::snprintf(buf, sizeof buf, "E%08d", n);
  d.serial = buf;
  std::snprintf(buf, sizeof buf, "00:26:73:%02x:%02x:%02x", (n >> 16) & 0xFF, (n >> 8) & 0xFF,
                n & 0xFF);
  d.mac = buf;
  d.sys_name = "mfp-" + std::to_string(n);
  d.sys_location = "Building " + std::to_string(n % 7 + 1) + ", floor " + std::to_string(n % 4 + 1);
  auto toner = [](std::uint32_t i, const char* colour, const char* descr) {
    supply_spec s;
    s.index = i;
    s.description = descr;
    s.colorant = colour;
    s.max_capacity = 100;
    s.level = 100;
    s.unit = 19;  // percent
    return s;
  };
  d.supplies = {toner(1, "black", "Print Cartridge Black IM C3000"),
                toner(2, "cyan", "Print Cartridge Cyan IM C3000"),
                toner(3, "magenta", "Print Cartridge Magenta IM C3000"),
                toner(4, "yellow", "Print Cartridge Yellow IM C3000")};
  supply_spec drum;
  drum.index = 5;
  drum.description = "Photo Conductor Unit";
  drum.type = 9;  // opc
  drum.unit = 7;  // impressions
  drum.max_capacity = 120000;
  drum.level = 120000;
  d.supplies.push_back(drum);
  supply_spec waste;
  waste.index = 6;
  waste.description = "Waste Toner Bottle";
  waste.type = 4;
  waste.supply_class = 4;
  waste.unit = 19;
  waste.max_capacity = 100;
  waste.level = 100;  // space left
  d.supplies.push_back(waste);
  supply_spec fuser;
  fuser.index = 7;
  fuser.description = "Fusing Unit";
  fuser.type = 15;
  fuser.max_capacity = -1;
  fuser.level = -1;
  d.supplies.push_back(fuser);
  supply_spec belt;
  belt.index = 8;
  belt.description = "Transfer Belt";
  belt.type = 20;
  belt.max_capacity = -2;
  belt.level = -2;
  d.supplies.push_back(belt);
  d.trays = {{1, "Tray 1", 500, 500, 8},
             {2, "Tray 2", 500, 500, 8},
             {3, "Tray 3", 500, -3, 8},
             {4, "Bypass Tray", 100, -2, 8}};
  d.markers = {{1, 0, 0, 7}};
  return d;
}

device_spec mono_laser(int n) {
  device_spec d;
  d.vendor = "Brother";
  d.model = "HL-L5100DN";
  d.sys_descr = "Brother NC-8300h, Firmware Ver.1.15";
  d.sys_object_id = "1.3.6.1.4.1.2435.2.3.9.1";
  d.enterprise = 2435;
  char buf[64];
  std::snprintf(buf, sizeof buf, "U%08d", n);
  d.serial = buf;
  std::snprintf(buf, sizeof buf, "30:05:5c:%02x:%02x:%02x", (n >> 16) & 0xFF, (n >> 8) & 0xFF,
                n & 0xFF);
  d.mac = buf;
  d.sys_name = "laser-" + std::to_string(n);
  supply_spec toner;
  toner.index = 1;
  toner.description = "Black Toner Cartridge";
  toner.colorant = "black";
  toner.unit = 13;  // tenths of grams
  toner.max_capacity = 2400;
  toner.level = 2400;
  supply_spec drum;
  drum.index = 2;
  drum.description = "Drum Unit";
  drum.type = 9;
  drum.unit = 7;
  drum.max_capacity = 30000;
  drum.level = 30000;
  d.supplies = {toner, drum};
  d.trays = {{1, "Tray 1", 250, 250, 8}};
  d.markers = {{1, 0, 0, 7}};
  return d;
}

}  // namespace fleetpoll::storage::testing
