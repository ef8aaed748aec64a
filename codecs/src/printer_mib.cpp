#include "fleetpoll/codecs/printer_mib.hpp"

#include <vector>

#include "fleetpoll/codecs/vendors.hpp"

namespace fleetpoll::codecs::mib {
namespace {

std::vector<walk_item> make_plan() {
  std::vector<walk_item> p;
  auto walk = [&](data_class c, const oid& o) { p.push_back({c, o, false}); };
  auto get = [&](data_class c, const oid& o) { p.push_back({c, o, true}); };
  using dc = data_class;
  for (const auto* o :
       {&sys_descr, &sys_object_id, &sys_uptime, &sys_contact, &sys_name, &sys_location})
    get(dc::identity, *o);
  walk(dc::identity, if_entry.child({if_col::type}));
  walk(dc::identity, if_entry.child({if_col::phys_address}));
  walk(dc::identity, hr_device_entry.child({hr_device_col::type}));
  walk(dc::identity, hr_device_entry.child({hr_device_col::descr}));
  walk(dc::identity, prt_general_entry.child({prt_general_col::printer_name}));
  walk(dc::identity, prt_general_entry.child({prt_general_col::serial_number}));
  for (const auto& s : vendor_scalars()) get(dc::identity, s.name);
  walk(dc::status, hr_device_entry.child({hr_device_col::status}));
  walk(dc::status, hr_device_entry.child({hr_device_col::errors}));
  walk(dc::status, hr_printer_entry);
  walk(dc::alerts, prt_alert_entry);
  walk(dc::supplies, prt_marker_supplies_entry);
  walk(dc::supplies, prt_marker_colorant_entry);
  walk(dc::supplies, prt_input_entry);
  walk(dc::counters, prt_marker_entry);
  return p;
}

}  // namespace

std::span<const walk_item> walk_plan() {
  static const std::vector<walk_item> plan = make_plan();
  return plan;
}

}  // namespace fleetpoll::codecs::mib
