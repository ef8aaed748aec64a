// Internal: a device's state in memory (value types, copyable) and its flatbuffer form in the
// devices column family (storage/schema/state.fbs).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fleetpoll/storage/views.hpp"

namespace fleetpoll::storage::detail {

struct identity_state {
  std::string vendor, model, serial, firmware, mac, sys_object_id, sys_name, sys_location,
      printer_name, sys_descr;
  std::optional<std::uint32_t> enterprise;
  bool operator==(const identity_state&) const = default;
};

struct status_state {
  std::optional<std::int32_t> device_status;
  std::optional<std::int32_t> printer_status;
  std::uint16_t conditions = 0;
  bool has_conditions = false;
  std::optional<std::uint32_t> errors;
  bool operator==(const status_state&) const = default;
};

// Supply flags: what has been reported and not re-armed since.
inline constexpr std::uint8_t flag_reorder = 1, flag_low = 2, flag_empty = 4;

struct supply_state {
  std::uint32_t hr = 0, index = 0;
  std::optional<std::int32_t> marker_index;
  std::string description, colorant;
  std::optional<std::int32_t> type, supply_class, unit;
  bool receptacle = false;
  std::optional<std::int32_t> max_capacity, level;
  std::uint8_t quality = 0;
  std::optional<std::int16_t> percent;  // level/max (remaining; receptacles: space left)
  std::optional<std::int32_t> ref_level;
  std::optional<std::int16_t> ref_percent;
  std::uint8_t ref_quality = 0;
  std::uint8_t flags = 0;
  std::uint8_t missing_polls = 0;
  std::uint64_t installed_ms = 0;
  bool operator==(const supply_state&) const = default;
};

struct tray_state {
  std::uint32_t hr = 0, index = 0;
  std::string name;
  std::optional<std::int32_t> max_capacity, level;
  std::uint8_t quality = 0;
  std::optional<std::int16_t> percent;
  std::optional<std::int16_t> ref_percent;
  std::uint8_t ref_quality = 0;
  std::uint8_t missing_polls = 0;
  bool operator==(const tray_state&) const = default;
};

struct counter_state {
  std::uint32_t hr = 0, index = 0;
  std::optional<std::int32_t> unit;
  std::optional<std::uint64_t> life, power_on, ref_life;
  std::uint64_t ref_ms = 0;  // when ref_life was recorded (0: unknown, e.g. an older database)
  std::uint8_t missing_polls = 0;
  bool operator==(const counter_state&) const = default;
};

struct alert_state {
  std::uint32_t hr = 0, index = 0;
  std::optional<std::int32_t> severity, training_level, group, group_index, location, code;
  std::string description;
  std::optional<std::uint32_t> time_ticks;
  std::uint64_t raised_ms = 0;
  bool operator==(const alert_state&) const = default;
};

struct device_state {
  std::uint64_t device_id = 0;
  std::string address;
  std::uint64_t first_seen_ms = 0, last_seen_ms = 0, last_heartbeat_ms = 0;
  bool up = true;
  std::uint64_t down_since_ms = 0;
  std::uint32_t failed_polls = 0;
  std::string last_error;
  std::uint8_t classes_seen = 0;
  bool status_known = false;
  identity_state identity;
  status_state status;
  std::vector<supply_state> supplies;
  std::vector<tray_state> trays;
  std::vector<counter_state> counters;
  std::vector<alert_state> alerts;
  bool operator==(const device_state&) const = default;
};

// Equal but for the readings: last_seen_ms and the last-seen level / capacity / quality /
// percent of supplies and trays and the last-seen counter values. Readings that changed are
// stored as samples in the same write; the state itself is rewritten for them only every
// touch period (docs/storage-format.md, "devices").
bool same_but_readings(const device_state& a, const device_state& b);

// Flatbuffer bytes ("FPDS") of a state.
std::string serialize_state(const device_state& s);
// Parses verified bytes; false (and `out` unspecified) when they fail verification.
bool parse_state(std::string_view bytes, device_state& out);

// The query view of a state (no forecasts).
device_view to_view(const device_state& s);

}  // namespace fleetpoll::storage::detail
