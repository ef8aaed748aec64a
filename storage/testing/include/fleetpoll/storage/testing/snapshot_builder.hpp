// fleetpoll::storage::testing — DeviceSnapshots from a plain description, for tests, the crash
// driver and the benchmark. Not part of the product (built only with tests or benchmarks).
//
// Levels are judged by the normalizer's own rule (codecs::judge_level), so quality and percent
// are what normalize() would give for the same raw values.
// Thread safety: pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <flatbuffers/flatbuffers.h>

namespace fleetpoll::storage::testing {

struct supply_spec {
  std::uint32_t index = 1;
  std::string description;
  std::string colorant;
  std::optional<int> type = 21;         // tonerCartridge
  std::optional<int> supply_class = 3;  // supplyThatIsConsumed (4: receptacleThatIsFilled)
  std::optional<int> unit;              // absent: max 100 means percent
  std::optional<int> max_capacity = 100;
  std::optional<int> level = 100;  // raw, incl. -1/-2/-3
  std::optional<int> marker_index = 1;
  bool status_codes = false;  // Brother-style 0..3 codes
};

struct tray_spec {
  std::uint32_t index = 1;
  std::string name;
  std::optional<int> max_capacity = 500;
  std::optional<int> level = 500;
  std::optional<int> unit = 8;  // sheets
};

struct marker_spec {
  std::uint32_t index = 1;
  std::optional<std::uint64_t> life_count = 0;
  std::optional<std::uint64_t> power_on_count;
  std::optional<int> unit = 7;  // impressions
};

struct alert_spec {
  std::uint32_t index = 1;
  std::optional<int> severity = 4;  // warning
  std::optional<int> training_level = 3;
  std::optional<int> group;
  std::optional<int> group_index;
  std::optional<int> location;
  std::optional<int> code;
  std::string description;
  std::optional<std::uint32_t> time_ticks;
};

struct device_spec {
  std::string vendor = "Ricoh", model = "IM C3000", serial = "SN0001", firmware = "1.02",
              mac = "00:26:73:00:00:01", sys_name = "printer-1", sys_location = "Floor 1",
              sys_object_id = "1.3.6.1.4.1.367.1.1", printer_name, sys_descr = "RICOH IM C3000";
  std::optional<std::uint32_t> enterprise = 367;
  std::optional<std::uint32_t> uptime_ticks;
  bool has_status = true;
  std::optional<int> device_status = 2;   // running
  std::optional<int> printer_status = 3;  // idle
  std::vector<int> conditions;            // PrinterCondition bit numbers
  std::vector<supply_spec> supplies;
  std::vector<tray_spec> trays;
  std::vector<marker_spec> markers;
  std::vector<alert_spec> alerts;
  std::uint32_t hr_device_index = 1;
};

flatbuffers::DetachedBuffer build_snapshot(const device_spec& d, std::uint64_t polled_at_ms = 0);

// A colour office MFP: 4 toners in percent, a drum in impressions, a waste toner bottle
// (receptacle), fuser -1/-1 and belt -2/-2; trays 500/500 sheets, a -3 tray and a -2 bypass;
// one marker counting impressions. `n` varies serial, MAC and name.
device_spec office_mfp(int n);
// A mono laser: one toner in tenths of grams (exact), drum, one 250-sheet tray.
device_spec mono_laser(int n);

}  // namespace fleetpoll::storage::testing
