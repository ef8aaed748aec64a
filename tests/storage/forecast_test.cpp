// Forecasts: the method on exact inputs, the cases where there must be none, and accuracy on a
// scripted office drain through a real store.
//
// The scripted drain below has the shape of an office (pages per business day with noise, a
// little weekend printing, level proportional to pages); fleetsim's own drain is judged in
// fleetsim_forecast_test.cpp.
#include <gmock/gmock.h>

#include <cmath>
#include <random>

#include "storage_test_support.hpp"

namespace fleetpoll::storage::test {
namespace {

using schema::LevelQuality;
constexpr std::uint64_t day = 86'400'000, minute = 60'000;

TEST(StorageForecast, AStraightDrainIsForecastExactly) {
  std::vector<level_point> p;
  const std::uint64_t t0 = testing::sim_epoch_ms;
  for (int h = 0; h <= 14 * 24; ++h)  // an observation every hour
    p.push_back({t0 + static_cast<std::uint64_t>(h) * 3'600'000, 100.0 - 3.0 * h / 24.0,
                 1000u + 100u * static_cast<unsigned>(h) / 24u});
  const auto f = make_forecast(p, t0 + 14 * day, LevelQuality::percent_only);
  ASSERT_TRUE(f.available) << f.reason;
  EXPECT_NEAR(f.percent_per_day, 3.0, 1e-9);
  EXPECT_NEAR(f.days_to_empty, 58.0 / 3.0, 1e-6);
  EXPECT_EQ(f.empty_at_ms,
            t0 + 14 * day + static_cast<std::uint64_t>(std::llround(58.0 / 3.0 * day)));
  ASSERT_TRUE(f.pages_to_empty.has_value());
  EXPECT_NEAR(*f.pages_to_empty, 58.0 / 0.03, 58.0 / 0.03 * 0.01);  // the counter steps whole pages
  EXPECT_GT(f.confidence, 0.9);
  EXPECT_LE(f.days_low, f.days_to_empty);
  ASSERT_TRUE(f.days_high.has_value());
  EXPECT_GE(*f.days_high, f.days_to_empty);
}

// A toner used on weekdays only, 08:00-18:00, 4 points a day, reported in whole percent every 5
// minutes. After two weeks (Monday 00:00) it shows 60: it empties at 18:00 on the third Friday,
// 18.75 days on. A straight line (40 points in 14 days) would say 21 days, the Monday after.
TEST(StorageForecast, AWeekdayDrainEmptiesOnTheWorkingDayNotAfterTheWeekend) {
  constexpr std::uint64_t hour = 3'600'000;
  const std::uint64_t t0 = testing::sim_epoch_ms;  // a Monday, 00:00 UTC
  auto level_at = [&](std::uint64_t t) {
    double used = 0;
    for (std::uint64_t d = 0; d * day < t - t0; ++d) {
      if (d % 7 >= 5) continue;
      const std::uint64_t from = t0 + d * day + 8 * hour, to = from + 10 * hour;
      if (t > from) used += 0.4 * static_cast<double>(std::min(t, to) - from) / hour;
    }
    return std::ceil(100 - used - 1e-9);
  };
  std::vector<level_point> p;
  for (std::uint64_t t = t0; t < t0 + 14 * day; t += 5 * minute)
    if (p.empty() || level_at(t) != p.back().percent) p.push_back({t, level_at(t), std::nullopt});
  p.push_back({t0 + 14 * day - 5 * minute, level_at(t0 + 14 * day), std::nullopt});
  ASSERT_EQ(p.back().percent, 60);
  const auto f = make_forecast(p, t0 + 14 * day, LevelQuality::percent_only);
  ASSERT_TRUE(f.available) << f.reason;
  EXPECT_TRUE(f.weekly_profile);
  // The shape is learnt between the first and the last change (Friday 17:30): the last
  // weekend is not in it, and the step across each weekend is spread over it.
  EXPECT_NEAR(f.percent_per_day, 40.0 / 14, 0.03 * 40 / 14);
  EXPECT_NEAR(f.days_to_empty, 18.75, 0.25) << "a straight line says 21";
  // Less than a week of history: no weekly shape, the straight line.
  std::vector<level_point> week(p.begin(), p.begin() + 15);
  const auto g = make_forecast(week, week.back().at_ms, LevelQuality::percent_only);
  ASSERT_TRUE(g.available) << g.reason;
  EXPECT_FALSE(g.weekly_profile);
}

TEST(StorageForecast, NoisyOrShortHistoryLowersConfidence) {
  std::vector<level_point> clean, noisy;
  std::mt19937 rng(3);
  std::normal_distribution<double> noise(0, 4);
  const std::uint64_t t0 = testing::sim_epoch_ms;
  for (int h = 0; h <= 14 * 24; h += 6) {
    const double level = 90.0 - 2.0 * h / 24.0;
    clean.push_back({t0 + static_cast<std::uint64_t>(h) * 3'600'000, level, std::nullopt});
    noisy.push_back(
        {t0 + static_cast<std::uint64_t>(h) * 3'600'000, level + noise(rng), std::nullopt});
  }
  const auto now = t0 + 14 * day;
  const auto a = make_forecast(clean, now, LevelQuality::exact);
  const auto b = make_forecast(noisy, now, LevelQuality::exact);
  ASSERT_TRUE(a.available && b.available);
  EXPECT_GT(a.confidence, b.confidence);
  std::vector<level_point> two_days(clean.begin(), clean.begin() + 9);
  const auto c = make_forecast(two_days, t0 + 2 * day, LevelQuality::exact);
  ASSERT_TRUE(c.available);
  EXPECT_LT(c.confidence, a.confidence);       // less history, less confidence
  EXPECT_FALSE(a.pages_to_empty.has_value());  // no counters, no pages
}

TEST(StorageForecast, NoneWithoutANumberOrWithoutADrain) {
  std::vector<level_point> p;
  const std::uint64_t t0 = testing::sim_epoch_ms;
  for (int d = 0; d <= 10; ++d)
    p.push_back({t0 + static_cast<std::uint64_t>(d) * day, 80.0 - d, std::nullopt});
  for (auto q : {LevelQuality::some_remaining, LevelQuality::unknown, LevelQuality::unrestricted,
                 LevelQuality::status_code, LevelQuality::no_capacity, LevelQuality::missing}) {
    const auto f = make_forecast(p, t0 + 10 * day, q);
    EXPECT_FALSE(f.available);
    EXPECT_THAT(f.reason, ::testing::HasSubstr("not a number"));
  }
  std::vector<level_point> flat;
  for (int d = 0; d <= 10; ++d)
    flat.push_back({t0 + static_cast<std::uint64_t>(d) * day, 40.0, std::nullopt});
  auto f = make_forecast(flat, t0 + 10 * day, LevelQuality::percent_only);
  EXPECT_FALSE(f.available);
  EXPECT_EQ(f.reason, "not draining");
  f = make_forecast(std::vector<level_point>(p.begin(), p.begin() + 2), t0 + day,
                    LevelQuality::percent_only);
  EXPECT_FALSE(f.available);
  EXPECT_THAT(f.reason, ::testing::HasSubstr("too little history"));
  std::vector<level_point> hours;
  for (int h = 0; h < 10; ++h)
    hours.push_back({t0 + static_cast<std::uint64_t>(h) * 3'600'000, 50.0 - h, std::nullopt});
  f = make_forecast(hours, t0 + 10 * 3'600'000, LevelQuality::percent_only);
  EXPECT_FALSE(f.available);
  EXPECT_THAT(f.reason, ::testing::HasSubstr("days"));
}

// An office toner drain: pages per weekday ~ N(300, sd) (sd 30 unless given: a day-to-day
// variation of 10 %), weekends 5 % of that, Poisson arrivals over 08:00-18:00; the level falls
// with the pages (yield 9,000 pages).
class office_drain {
 public:
  explicit office_drain(unsigned seed, double sd = 30) : rng_(seed), sd_(sd) {}
  // Pages printed in the minute starting at t.
  std::uint64_t minute_pages(std::uint64_t t) {
    const std::uint64_t d = (t - testing::sim_epoch_ms) / day;
    if (d != day_) {
      day_ = d;
      const bool weekend = d % 7 >= 5;
      today_ =
          std::max(0.0, std::normal_distribution<double>(300, sd_)(rng_)) * (weekend ? 0.05 : 1.0);
    }
    const auto h = ((t - testing::sim_epoch_ms) % day) / 3'600'000;
    if (h < 8 || h >= 18) return 0;
    return std::poisson_distribution<std::uint64_t>(today_ / 600.0)(rng_);
  }
  static constexpr double yield = 9000;

 private:
  std::mt19937_64 rng_;
  double sd_;
  std::uint64_t day_ = UINT64_MAX;
  double today_ = 0;
};

struct drain_outcome {
  double true_days = 0, true_pages = 0;
  std::vector<forecast> forecasts;  // per supply: whole percent, tenths of grams
};

// Fourteen days of 5-minute supply and counter polls of one drain through a real store, then
// its forecasts, then the drain run on to the truth.
drain_outcome drain_through_store(unsigned seed) {
  temp_dir dir;
  std::uint64_t now = testing::sim_epoch_ms;
  auto o = test_options(dir.path());
  o.clock = [&now] { return now; };
  std::unique_ptr<store> db;
  EXPECT_FALSE(store::open(o, db));
  office_drain drain(seed);
  device_spec d;
  testing::supply_spec percent_toner;  // reports whole percent
  percent_toner.index = 1;
  percent_toner.description = "Black Toner";
  percent_toner.colorant = "black";
  percent_toner.unit = 19;
  testing::supply_spec gram_toner = percent_toner;  // reports tenths of grams
  gram_toner.index = 2;
  gram_toner.description = "Black Toner (grams)";
  gram_toner.unit = 13;
  gram_toner.max_capacity = 2400;
  d.supplies = {percent_toner, gram_toner};
  d.markers = {{1, 50'000, 0, 7}};
  std::uint64_t pages = 0;
  auto poll = [&](std::uint8_t classes) {
    const double left = std::max(0.0, 1.0 - static_cast<double>(pages) / office_drain::yield);
    d.supplies[0].level = static_cast<int>(std::ceil(left * 100 - 1e-9));
    d.supplies[1].level = static_cast<int>(std::lround(left * 2400));
    d.markers[0].life_count = 50'000 + pages;
    const auto buf = testing::build_snapshot(d, now);
    poll_record p;
    p.address = "127.1.0.1:1161";
    p.at_ms = now;
    p.classes = classes;
    p.snapshot = std::span(buf.data(), buf.size());
    EXPECT_FALSE(db->ingest(p));
  };
  const std::uint64_t start = now;
  poll(all_classes);
  for (std::uint64_t t = start; t < start + 14 * day; t += minute) {
    pages += drain.minute_pages(t);
    if ((t - start) % (5 * minute) == 0) {
      now = t;
      poll(supplies_class | counters_class);
    }
  }
  now = start + 14 * day;
  std::vector<device_view> devs;
  EXPECT_FALSE(db->devices(devs, true));
  drain_outcome out;
  for (const auto& s : devs.at(0).supplies) out.forecasts.push_back(s.fc.value_or(forecast{}));
  out.true_pages = office_drain::yield - static_cast<double>(pages);
  std::uint64_t t = now;
  while (static_cast<double>(pages) < office_drain::yield) {
    pages += drain.minute_pages(t);
    t += minute;
  }
  out.true_days = static_cast<double>(t - now) / day;
  return out;
}

TEST(StorageForecastAccuracy, EmptyDateWithinTenPercentOfTheTruthAfterFourteenDays) {
  // Ten drains (seeds 1..10, not chosen). This drain empties around the fourth Friday in most
  // seeds, so a few hours' more or less printing moves the true date across a weekend (2.7
  // days, 11 %); the forecast follows the weekday shape and lands on one side. Two in ten may
  // miss by more than 10 % (8 of 10 were within; the mean error is the sharper measure).
  int within = 0, forecasts = 0;
  double error_sum = 0;
  for (unsigned seed = 1; seed <= 10; ++seed) {
    const auto r = drain_through_store(seed);
    ASSERT_EQ(r.forecasts.size(), 2u);
    bool all = true;
    for (const auto& f : r.forecasts) {
      ASSERT_TRUE(f.available) << f.reason;
      ++forecasts;
      all = all && std::abs(f.days_to_empty - r.true_days) <= 0.1 * r.true_days;
      error_sum += std::abs(f.days_to_empty - r.true_days) / r.true_days;
      EXPECT_EQ(f.empty_at_ms, testing::sim_epoch_ms + 14 * day +
                                   static_cast<std::uint64_t>(std::llround(f.days_to_empty * day)));
      ASSERT_TRUE(f.pages_to_empty.has_value());
      EXPECT_NEAR(*f.pages_to_empty, r.true_pages, 0.1 * r.true_pages) << "seed " << seed;
      EXPECT_GT(f.confidence, 0.5) << "seed " << seed;
    }
    within += all ? 1 : 0;
  }
  EXPECT_EQ(forecasts, 20);
  std::printf("scripted drains through a store: %d of 10 within 10 %%, mean error %.1f %%\n",
              within, 100 * error_sum / forecasts);
  EXPECT_GE(within, 8);
  EXPECT_LE(error_sum / forecasts, 0.06);
}

// The method over many drains (the store's sampling rule replayed in memory: a point whenever
// the reported level changes, and the latest poll's level): unbiased within a few percent, a mean
// error under 5 %, and the empty date within 10 % of the truth for at least 85 % of drains
// (measured: 89; the misses are true Friday afternoons forecast for Monday morning or the
// reverse, see above). docs/storage-format.md gives the figures.
TEST(StorageForecastSpread, ManyDrainsAreForecastWithinTenPercent) {
  constexpr int drains = 100;
  int within = 0;
  double sum = 0, abs_sum = 0;
  for (unsigned seed = 100; seed < 100 + drains; ++seed) {
    office_drain drain(seed);
    std::vector<level_point> pts;
    std::uint64_t pages = 0;
    int last = -1;
    const std::uint64_t start = testing::sim_epoch_ms, end = start + 14 * day;
    for (std::uint64_t t = start; t < end; t += minute) {
      pages += drain.minute_pages(t);
      if ((t - start) % (5 * minute)) continue;
      const int level = static_cast<int>(
          std::ceil((1.0 - static_cast<double>(pages) / office_drain::yield) * 100 - 1e-9));
      if (level != last) pts.push_back({t, static_cast<double>(level), 50'000 + pages});
      last = level;
    }
    pts.push_back({end - 5 * minute, static_cast<double>(last), 50'000 + pages});
    const auto f = make_forecast(pts, end, LevelQuality::percent_only);
    ASSERT_TRUE(f.available) << f.reason;
    std::uint64_t t = end;
    while (static_cast<double>(pages) < office_drain::yield) {
      pages += drain.minute_pages(t);
      t += minute;
    }
    const double ratio = f.days_to_empty / (static_cast<double>(t - end) / day);
    sum += ratio;
    abs_sum += std::abs(ratio - 1);
    within += std::abs(ratio - 1) <= 0.1 ? 1 : 0;
  }
  std::printf("%d drains: mean forecast/truth %.3f, mean error %.1f %%, %d within 10 %%\n", drains,
              sum / drains, 100 * abs_sum / drains, within);
  EXPECT_NEAR(sum / drains, 1.0, 0.03);
  EXPECT_LT(abs_sum / drains, 0.05);
  EXPECT_GE(within, 85);
}

TEST_F(StorageStore, AForecastStartsAgainWithANewCartridge) {
  device_spec d;
  testing::supply_spec toner;
  toner.index = 1;
  toner.unit = 19;
  toner.description = "Black Toner";
  d.supplies = {toner};
  d.markers = {{1, 0, 0, 7}};
  // Old cartridge: 5 points a day for 10 days; new one: 2 points a day for 5 days.
  for (int h = 0; h <= 240; h += 4) {
    d.supplies[0].level = 60 - (5 * h) / 24;
    poll(d, supplies_class);
    advance(4 * 3'600'000);
  }
  for (int h = 0; h <= 120; h += 4) {
    d.supplies[0].level = 100 - (2 * h) / 24;
    poll(d, supplies_class);
    advance(4 * 3'600'000);
  }
  std::vector<device_view> devs;
  ASSERT_FALSE(db_->devices(devs, true));
  const auto& f = *devs[0].supplies[0].fc;
  ASSERT_TRUE(f.available) << f.reason;
  EXPECT_NEAR(f.percent_per_day, 2.0, 0.3);  // the new cartridge's drain, not a blend
  EXPECT_NEAR(f.days_to_empty, 90.0 / 2.0, 6.0);
}

}  // namespace
}  // namespace fleetpoll::storage::test
