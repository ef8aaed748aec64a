// Forecast accuracy on fleetsim's drain: the real engine polls an office fleet's supplies and
// counters every simulated hour for 14 simulated days (through real UDP into engine_sink and a
// RocksDB store); then each toner's forecast empty date is compared with the moment fleetsim's
// ground truth first reads 0 for it.
//
// Which supplies count: every toner (supply type 3 toner or 21 tonerCartridge) with a live level (≥
// 0, a real capacity) that was not replaced during the 14 days and that drained at least 5 points
// in them (a cartridge that barely moved has no drain to measure: the store gives those a low
// confidence or no forecast, as it should), on the first 200 devices of a seeded fleet.
#include <gmock/gmock.h>

#include <cmath>
#include <numeric>

#include "fleetpoll/storage/testing/engine_fleet.hpp"
#include "storage_test_support.hpp"

namespace fleetpoll::storage::test {
namespace {

using testing::add_fleet;
using testing::device_key;
using testing::fast_engine_options;
using testing::poll_round;
using testing::sim_rig;

using namespace std::chrono_literals;
namespace sim = fleetpoll::fleetsim;

constexpr std::int64_t start_s = 1767571200;  // 2026-01-05T00:00:00Z, a Monday
constexpr std::int64_t hour_s = 3600, day_s = 86400;

// The first simulated second after `from` at which fleetsim reads 0 for the supply (within two
// years), to the hour; nullopt when it is replaced first or never empties.
std::optional<std::int64_t> true_empty(const sim::fleet& f, std::uint32_t device, std::size_t s,
                                       std::int64_t from) {
  const auto base = f.truth(device, static_cast<double>(from)).supplies.at(s).replacements;
  auto empty_at = [&](std::int64_t t) {
    const auto x = f.truth(device, static_cast<double>(t)).supplies.at(s);
    return std::pair{x.level == 0, x.replacements != base};
  };
  std::int64_t lo = from, hi = from;
  for (;;) {  // by days
    hi = lo + day_s;
    if (hi > from + 730 * day_s) return std::nullopt;
    const auto [empty, replaced] = empty_at(hi);
    if (empty && !replaced) break;
    if (replaced) {
      // Replaced without a visible 0 at the day's end: look for the 0 inside the day.
      break;
    }
    lo = hi;
  }
  for (std::int64_t t = lo + hour_s; t <= hi; t += hour_s) {  // to the hour
    const auto [empty, replaced] = empty_at(t);
    if (replaced) return std::nullopt;
    if (empty) return t;
  }
  return std::nullopt;
}

TEST(StorageFleetsimForecast, EmptyDateWithinTenPercentOfTheTruthAfterFourteenDays) {
  sim::options so;
  so.devices = 200;
  so.port = 0;
  so.seed = 3;
  so.acceleration = 0;
  so.start_time = start_s;
  std::string why;
  auto fleet = sim::fleet::create(so, why);
  ASSERT_TRUE(fleet) << why;
  ASSERT_FALSE(fleet->start(why)) << why;

  temp_dir dir;
  sim_rig rig;
  std::vector<std::uint32_t> all(fleet->size());
  std::iota(all.begin(), all.end(), 0u);
  const std::string failed = rig.open(test_options(dir.path()), *fleet, all);
  ASSERT_EQ(failed, "");
  const std::int64_t end_s = start_s + 14 * day_s;
  for (std::int64_t t = start_s; t <= end_s; t += hour_s) {
    rig.set_time(*fleet, t);
    // Everything first, then supplies and counters every hour.
    ASSERT_TRUE(poll_round(*rig.eng, *rig.sink, t == start_s ? engine::all_classes : (8u | 16u)));
  }
  rig.eng->stop(1s);
  store& db = *rig.db;

  std::vector<device_view> devices;
  ASSERT_FALSE(db.devices(devices, true));
  std::map<std::string, const device_view*> by_address;
  for (const auto& d : devices) by_address[d.address] = &d;
  int judged = 0, within = 0;
  double worst = 0, error_sum = 0;
  std::string misses;
  for (std::uint32_t i = 0; i < fleet->size(); ++i) {
    const auto a = fleet->truth(i, static_cast<double>(start_s));
    const auto b = fleet->truth(i, static_cast<double>(end_s));
    ASSERT_TRUE(by_address.count(device_key(*fleet, i)));
    const device_view& v = *by_address.at(device_key(*fleet, i));
    for (std::size_t s = 0; s < b.supplies.size(); ++s) {
      const auto& x = b.supplies[s];
      if ((x.type != 3 && x.type != 21) || x.level < 0 || !x.max_capacity || *x.max_capacity <= 0)
        continue;
      if (x.replacements != a.supplies[s].replacements) continue;
      const double drained =
          100.0 * (a.supplies[s].level - x.level) / static_cast<double>(*x.max_capacity);
      if (drained < 5) continue;
      const auto empty = true_empty(*fleet, i, s, end_s);
      if (!empty) continue;
      const auto it = std::find_if(v.supplies.begin(), v.supplies.end(), [&](const auto& vs) {
        return vs.hr_device_index == x.hr_device_index && vs.index == x.index;
      });
      ASSERT_NE(it, v.supplies.end());
      ASSERT_TRUE(it->fc && it->fc->available)
          << v.address << " supply " << x.index << ": " << (it->fc ? it->fc->reason : "none");
      const double truth_days = static_cast<double>(*empty - end_s) / day_s;
      const double err = std::abs(it->fc->days_to_empty - truth_days) / truth_days;
      worst = std::max(worst, err);
      error_sum += err;
      ++judged;
      if (err <= 0.1) {
        ++within;
      } else {
        misses += "\n  " + v.address + " supply " + std::to_string(x.index) + ": forecast " +
                  std::to_string(it->fc->days_to_empty) + " d, truth " +
                  std::to_string(truth_days) + " d, drained " + std::to_string(drained) +
                  " points, confidence " + std::to_string(it->fc->confidence);
      }
    }
  }
  std::printf(
      "forecast on fleetsim: %d toners judged, %d within 10 %% of the truth; mean error %.1f %%, "
      "worst %.1f %%%s\n",
      judged, within, judged ? 100 * error_sum / judged : 0.0, 100 * worst, misses.c_str());
  ASSERT_GE(judged, 20);
  // At least 95 % within 10 % (measured: 103 of 104, mean error 1.4 %; the miss is a toner one
  // hour from empty, forecast as empty now). A straight line through the history, which spreads
  // the weekend's pause over the week, had 95 of 104 and a mean error of 5.2 %.
  EXPECT_GE(within * 20, judged * 19) << misses;
  EXPECT_LT(error_sum / judged, 0.03);
}

}  // namespace
}  // namespace fleetpoll::storage::test
