// fleetpoll::storage::forecast — days and pages until a supply is empty (a receptacle full).
//
// Method (docs/storage-format.md, "Forecast"): the remaining percent as a step function (each
// observation holds until the next) read at every whole hour since the supply was installed
// (first seen or last replacement), at most `window` back; ordinary least squares of it against
// time gives the average drain. The start is the last observation (the caller passes the latest
// poll's level as the last point), less what has drained since it first showed (at most one
// reporting step). With a week or more of changes, the days to empty follow the drain's weekly
// shape (average drain per hour of the week, scaled to the fitted average), so a cartridge that
// empties on Tuesday is not forecast as if the weekend's pause were spread evenly. Pages: least
// squares of the level against the marker's page counter. Confidence comes from the slope's
// standard error and the span of history behind it. A forecast is made only for levels the device
// reports as a number (LevelQuality exact or percent_only); unknown, "some remaining", status codes
// and the rest get none, with the reason. Thread safety: pure functions.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include "fleetpoll/schema/snapshot_generated.h"

namespace fleetpoll::storage {

// One observation of a supply: remaining percent (level / max_capacity * 100, unrounded when
// the raw units allow) and, when known, the marker's life count at that moment.
struct level_point {
  std::uint64_t at_ms = 0;
  double percent = 0;
  std::optional<std::uint64_t> pages;
};

struct forecast_options {
  // Fewer distinct observations than this: no forecast. Default: 3
  std::size_t min_points = 3;
  // Less history than this between the first and last observation: no forecast. Default: 1 day
  std::chrono::milliseconds min_span{std::chrono::hours(24)};
  // Only observations this recent are used. Default: 60 days
  std::chrono::milliseconds window{std::chrono::hours(24 * 60)};
  // History (first to last observation) at which confidence stops growing with span.
  // Default: 7 days
  std::chrono::milliseconds full_confidence_span{std::chrono::hours(24 * 7)};
};

struct forecast {
  bool available = false;
  std::string reason;               // why not, when !available ("level is some_remaining", ...)
  double percent_now = 0;           // remaining percent now (last observation, drained on)
  double percent_per_day = 0;       // drain rate (positive while draining)
  double days_to_empty = 0;         // from `now`
  std::uint64_t empty_at_ms = 0;    // now + days_to_empty
  double days_low = 0;              // roughly a 95 % interval of days_to_empty
  std::optional<double> days_high;  // absent when the drain could be zero within the interval
  std::optional<double> pages_to_empty;  // from the page-counter fit, when counters were known
  double confidence = 0;                 // 0..1: 1 - 2 * relative slope error, scaled by span
  std::size_t points = 0;                // observations used
  double span_days = 0;                  // first to last observation used
  bool weekly_profile = false;           // days_to_empty follows the weekly shape of the drain
};

// Forecast from observations in any order. `quality` is the supply's current LevelQuality.
forecast make_forecast(std::span<const level_point> points, std::uint64_t now_ms,
                       schema::LevelQuality quality, const forecast_options& options = {});

}  // namespace fleetpoll::storage
