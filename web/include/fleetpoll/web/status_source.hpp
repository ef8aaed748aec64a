// fleetpoll::web::status_source — what the status page and the supply gauges read.
//
// The page depends on this small interface only, never on storage internals. The engine
// implements it over the live storage::store (web/src/storage_status_source.cpp, built when the
// storage library is part of the build); tests implement it with fixed data.
//
// Values are plain (no references into a database) and already decided: a supply is low or not
// because the source says so (the storage's change rules decide, docs/storage-format.md), the
// page does not second-guess it. Text fields are raw device data: the page escapes everything.
//
// Thread safety: the status page and the supply gauges call a source from the thread that serves
// them — with metrics::http_server that is its strand, one call at a time. A source shared with
// other users (the engine) must be safe to call from that thread while they run.
// Ownership: the page and the gauges hold a shared_ptr to the source.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace fleetpoll::web {

// One supply (toner, drum, waste receptacle, ...) as the list and the detail page show it.
struct supply_row {
  std::uint32_t index = 0;        // prtMarkerSuppliesIndex (unique within a device)
  std::string description;        // "Black Toner Cartridge"
  std::string colorant;           // "black", "cyan", ... or empty
  bool receptacle = false;        // a waste container: percent is how full it is
  std::optional<double> percent;  // remaining (receptacles: fill) 0..100; absent: no number
  std::string level_text;         // when percent is absent: why ("some remaining", "unknown")
  bool low = false;               // low or past the reorder point, as the device reported
  bool empty = false;             // empty (receptacles: full)
};

// One device in the list.
struct device_row {
  std::string id;       // stable key for /status/device?id= ("17")
  std::string address;  // "127.1.0.1:161"
  std::string name;     // sysName, else the printer name, else empty
  std::string vendor, model, serial, location;
  bool up = true;                   // answered its last poll
  std::uint64_t first_seen_ms = 0;  // Unix ms; "recently added" sorts and filters on it
  std::uint64_t last_seen_ms = 0;   // last answer, Unix ms (0: never)
  std::uint32_t alert_count = 0;    // active prtAlertTable rows
  std::vector<supply_row> supplies;

  // Any supply low or empty.
  bool low() const noexcept;
  // Any supply empty.
  bool empty() const noexcept;
};

// A supply's days-to-empty forecast (storage::forecast, reduced to what the page shows).
struct forecast_view {
  bool available = false;
  std::string reason;             // why not, when !available
  double days_to_empty = 0;       // from now
  std::uint64_t empty_at_ms = 0;  // Unix ms
  std::optional<double> pages_to_empty;
  double confidence = 0;  // 0..1
};

// One point of a supply's history (for the sparkline).
struct level_point {
  std::uint64_t at_ms = 0;
  double percent = 0;
};

struct supply_detail {
  supply_row supply;
  std::vector<level_point> history;  // oldest first; may be empty
  forecast_view forecast;
};

struct counter_row {
  std::string name;  // "marker 1: impressions" — what the device counts
  std::uint64_t value = 0;
};

struct alert_row {
  std::string severity;         // "critical", "warning", "other", ...
  std::string group;            // "markerSupplies", "input", ... or empty
  std::string description;      // as the device reports it
  std::uint64_t raised_ms = 0;  // when fleetpoll first saw it (0: unknown)
};

struct device_detail {
  device_row row;
  std::string firmware, mac;
  std::string status;                   // "running", "warning", "down (printer: idle)", ...
  std::vector<std::string> conditions;  // detected error state: "lowPaper", "doorOpen", ...
  std::uint64_t down_since_ms = 0;      // when !row.up
  std::uint32_t failed_polls = 0;
  std::string last_error;               // of the last failed poll ("timeout"); never a secret
  std::vector<supply_detail> supplies;  // same order as row.supplies
  std::vector<counter_row> counters;
  std::vector<alert_row> alerts;
};

// The uplink to the print-service provider, as one line of state.
struct uplink_state {
  bool configured = false;  // false: no uplink in this engine's configuration
  std::string state;        // "ready", "connecting", "backoff", "disconnected", ...
  std::uint32_t connections_ready = 0;
  std::uint32_t connections_total = 0;
  bool receiver_available = false;  // the receiver's presence is seen
  std::uint64_t outbox_depth = 0;   // records waiting for acknowledgement
  double outbox_oldest_age_s = 0;   // age of the oldest waiting record
  std::uint64_t records_acknowledged = 0;
  std::string last_failure;  // the last session failure, "" when none
};

class status_source {
 public:
  virtual ~status_source() = default;

  // Every device, in any order (the page sorts). Errors are shown on the page as "data
  // unavailable" with their message; the gauges skip that collection.
  virtual std::error_code devices(std::vector<device_row>& out) = 0;

  // One device by the id from device_row::id. Return web::error::not_found (404) when unknown.
  virtual std::error_code device(std::string_view id, device_detail& out) = 0;

  // The uplink's state now.
  virtual uplink_state uplink() = 0;
};

}  // namespace fleetpoll::web
