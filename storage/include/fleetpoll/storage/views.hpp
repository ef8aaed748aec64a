// fleetpoll::storage — what queries return: devices with their latest state, time-series samples,
// change events. Plain values (no references into the database); safe to keep and copy.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "fleetpoll/schema/snapshot_generated.h"
#include "fleetpoll/storage/forecast.hpp"

namespace fleetpoll::storage {

// What a time-series sample is about (the byte after the device id in a samples key).
enum class series_kind : std::uint8_t {
  supply = 1,        // index: prtMarkerSuppliesIndex; level, max_capacity, quality, percent, pages
  tray = 2,          // index: prtInputIndex; level, max_capacity, quality, percent
  counter = 3,       // index: prtMarkerIndex; count (prtMarkerLifeCount)
  status = 4,        // index 0; hr_device_status, hr_printer_status, conditions
  reachability = 5,  // index 0; up, failed_polls
};
const char* series_name(series_kind k) noexcept;

struct sample {
  std::uint64_t at_ms = 0;
  series_kind kind = series_kind::supply;
  std::uint32_t hr_device_index = 0;
  std::uint32_t index = 0;
  // supply, tray
  std::optional<std::int32_t> level;
  std::optional<std::int32_t> max_capacity;
  schema::LevelQuality quality = schema::LevelQuality::missing;
  std::optional<std::int16_t> percent;  // level / max: remaining (receptacles: space left)
  std::optional<std::uint64_t> pages;   // supply: the marker's life count at that moment
  // counter
  std::optional<std::uint64_t> count;
  // status
  std::optional<std::int32_t> hr_device_status;
  std::optional<std::int32_t> hr_printer_status;
  std::uint16_t conditions = 0;  // bit n: schema::PrinterCondition n
  // reachability
  bool up = true;
  std::uint32_t failed_polls = 0;
};

struct supply_view {
  std::uint32_t hr_device_index = 0;
  std::uint32_t index = 0;
  std::string description;
  std::string colorant;
  std::optional<std::int32_t> type;  // schema::SupplyType
  bool receptacle = false;
  std::optional<std::int32_t> level;  // raw, incl. -1/-2/-3
  std::optional<std::int32_t> max_capacity;
  schema::LevelQuality quality = schema::LevelQuality::missing;
  std::optional<std::int16_t> percent;  // remaining; receptacles: fill (as in the snapshot)
  bool reorder = false;                 // at or below the reorder point (reported)
  bool low = false;                     // low (reported): by level or by the device's alert
  bool empty = false;                   // empty (receptacles: full)
  std::uint64_t installed_ms = 0;       // first seen or last replacement
  std::optional<forecast> fc;           // filled when asked for
};

struct tray_view {
  std::uint32_t hr_device_index = 0;
  std::uint32_t index = 0;
  std::string name;
  std::optional<std::int32_t> level;
  std::optional<std::int32_t> max_capacity;
  schema::LevelQuality quality = schema::LevelQuality::missing;
  std::optional<std::int16_t> percent;
};

struct counter_view {
  std::uint32_t hr_device_index = 0;
  std::uint32_t index = 0;
  std::optional<std::int32_t> unit;  // schema::Unit
  std::optional<std::uint64_t> life_count;
  std::optional<std::uint64_t> power_on_count;
};

struct alert_view {
  std::uint32_t hr_device_index = 0;
  std::uint32_t index = 0;
  std::optional<std::int32_t> severity;  // schema::AlertSeverity
  std::optional<std::int32_t> training_level;
  std::optional<std::int32_t> group;  // schema::AlertGroup
  std::optional<std::int32_t> group_index;
  std::optional<std::int32_t> location;
  std::optional<std::int32_t> code;  // schema::AlertCode
  std::string description;
  std::uint64_t raised_ms = 0;
};

struct device_view {
  std::uint64_t device_id = 0;
  std::string address;
  std::string vendor, model, serial, firmware, mac, sys_name, sys_location, printer_name;
  std::uint64_t first_seen_ms = 0;
  std::uint64_t last_seen_ms = 0;
  bool up = true;
  std::uint64_t down_since_ms = 0;
  std::uint32_t failed_polls = 0;
  std::string last_error;
  std::optional<std::int32_t> hr_device_status;
  std::optional<std::int32_t> hr_printer_status;
  std::uint16_t conditions = 0;
  std::vector<supply_view> supplies;
  std::vector<tray_view> trays;
  std::vector<counter_view> counters;
  std::vector<alert_view> alerts;

  // Any supply reported low, empty or past the reorder point.
  bool low() const noexcept;
};

struct history_query {
  std::uint64_t since_ms = 0;           // inclusive
  std::uint64_t until_ms = UINT64_MAX;  // inclusive
  bool samples = true;                  // include time-series samples
  bool events = true;                   // include change records
  // Only samples of this supply (prtMarkerSuppliesIndex) and only events about it.
  std::optional<std::uint32_t> supply_index;
};

struct history_result {
  device_view device;
  std::vector<sample> samples;      // by series, then time
  std::vector<std::string> events;  // ChangeRecord flatbuffers, in time order
};

}  // namespace fleetpoll::storage
