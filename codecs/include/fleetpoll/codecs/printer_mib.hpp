// fleetpoll::codecs::mib — the OIDs fleetpoll reads: SNMPv2-MIB system group, IF-MIB, Host-
// Resources (RFC 2790), Printer-MIB (RFC 3805) and the vendor-private scalars the normalizer
// knows. One place for them, so the engine's walker fetches exactly what the normalizer reads.
//
// Tables are given as their *entry* OID plus column numbers; a cell is entry.column.index.
// walk_plan() lists, per data class, the subtrees to walk and the scalars to GET.
// Thread safety: immutable constants; functions are pure.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "fleetpoll/codecs/oid.hpp"

namespace fleetpoll::codecs::mib {

// ---- SNMPv2-MIB system group (scalars, instance .0 included) -------------------------------
inline const oid sys_descr{1, 3, 6, 1, 2, 1, 1, 1, 0};
inline const oid sys_object_id{1, 3, 6, 1, 2, 1, 1, 2, 0};
inline const oid sys_uptime{1, 3, 6, 1, 2, 1, 1, 3, 0};
inline const oid sys_contact{1, 3, 6, 1, 2, 1, 1, 4, 0};
inline const oid sys_name{1, 3, 6, 1, 2, 1, 1, 5, 0};
inline const oid sys_location{1, 3, 6, 1, 2, 1, 1, 6, 0};
inline const oid enterprises{1, 3, 6, 1, 4, 1};

// ---- IF-MIB ifTable ------------------------------------------------------------------------
inline const oid if_entry{1, 3, 6, 1, 2, 1, 2, 2, 1};
namespace if_col {
constexpr std::uint32_t descr = 2, type = 3, phys_address = 6;
}

// ---- HOST-RESOURCES-MIB (RFC 2790) -----------------------------------------------------------
inline const oid hr_device_entry{1, 3, 6, 1, 2, 1, 25, 3, 2, 1};
namespace hr_device_col {
constexpr std::uint32_t index = 1, type = 2, descr = 3, id = 4, status = 5, errors = 6;
}
inline const oid hr_device_printer{1, 3, 6, 1, 2, 1, 25, 3, 1, 5};  // hrDeviceType value
inline const oid hr_printer_entry{1, 3, 6, 1, 2, 1, 25, 3, 5, 1};
namespace hr_printer_col {
constexpr std::uint32_t status = 1, detected_error_state = 2;
}

// ---- Printer-MIB (RFC 3805) ------------------------------------------------------------------
inline const oid printer_mib{1, 3, 6, 1, 2, 1, 43};
inline const oid prt_general_entry{1, 3, 6, 1, 2, 1, 43, 5, 1, 1};
namespace prt_general_col {
constexpr std::uint32_t printer_name = 16, serial_number = 17;
}
inline const oid prt_input_entry{1, 3, 6, 1, 2, 1, 43, 8, 2, 1};
namespace prt_input_col {
constexpr std::uint32_t type = 2, capacity_unit = 8, max_capacity = 9, current_level = 10,
                        status = 11, media_name = 12, name = 13, description = 18;
}
inline const oid prt_marker_entry{1, 3, 6, 1, 2, 1, 43, 10, 2, 1};
namespace prt_marker_col {
constexpr std::uint32_t mark_tech = 2, counter_unit = 3, life_count = 4, power_on_count = 5,
                        process_colorants = 6, spot_colorants = 7, status = 15;
}
inline const oid prt_marker_supplies_entry{1, 3, 6, 1, 2, 1, 43, 11, 1, 1};
namespace prt_supplies_col {
constexpr std::uint32_t marker_index = 2, colorant_index = 3, supply_class = 4, type = 5,
                        description = 6, supply_unit = 7, max_capacity = 8, level = 9;
}
inline const oid prt_marker_colorant_entry{1, 3, 6, 1, 2, 1, 43, 12, 1, 1};
namespace prt_colorant_col {
constexpr std::uint32_t marker_index = 2, role = 3, value = 4, tonality = 5;
}
inline const oid prt_alert_entry{1, 3, 6, 1, 2, 1, 43, 18, 1, 1};
namespace prt_alert_col {
constexpr std::uint32_t severity = 2, training_level = 3, group = 4, group_index = 5, location = 6,
                        code = 7, description = 8, time = 9;
}

// RFC 3805 special values of capacity and level columns.
constexpr std::int64_t level_other = -1;  // "no restriction"
constexpr std::int64_t level_unknown = -2;
constexpr std::int64_t level_some_remaining = -3;

// ---- What to fetch ----------------------------------------------------------------------------

// Data classes polled at different cadences (docs/architecture.md).
enum class data_class : std::uint8_t { identity, status, alerts, supplies, counters };

struct walk_item {
  data_class cls;
  oid prefix;   // walk everything below it (a table column, a table entry or a group)
  bool scalar;  // true: a single instance to GET (prefix is the full instance OID)
};

// Everything normalize() reads, in a stable order. Vendor-private scalars are included (they are
// GETs that simply fail on other vendors' agents).
std::span<const walk_item> walk_plan();

}  // namespace fleetpoll::codecs::mib
