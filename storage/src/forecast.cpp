#include "fleetpoll/storage/forecast.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

namespace fleetpoll::storage {
namespace {

constexpr double ms_per_day = 86'400'000.0;

// y = a + b * x by ordinary least squares, with the standard error of b.
struct line_fit {
  double a = 0, b = 0, se_b = 0;
  bool ok = false;
};

line_fit fit(std::span<const double> x, std::span<const double> y) {
  line_fit f;
  const std::size_t n = x.size();
  if (n < 2) return f;
  double mx = 0, my = 0;
  for (std::size_t i = 0; i < n; ++i) {
    mx += x[i];
    my += y[i];
  }
  mx /= static_cast<double>(n);
  my /= static_cast<double>(n);
  double sxx = 0, sxy = 0;
  for (std::size_t i = 0; i < n; ++i) {
    sxx += (x[i] - mx) * (x[i] - mx);
    sxy += (x[i] - mx) * (y[i] - my);
  }
  if (sxx <= 0) return f;
  f.b = sxy / sxx;
  f.a = my - f.b * mx;
  double ssr = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const double r = y[i] - (f.a + f.b * x[i]);
    ssr += r * r;
  }
  // Integer percent steps carry a quantisation error of up to half a point even on a perfect
  // line; never claim less noise than that (a uniform +-0.5 error has variance 1/12).
  const double var = n > 2 ? std::max(ssr / static_cast<double>(n - 2), 1.0 / 12.0) : 1.0 / 12.0;
  f.se_b = std::sqrt(var / sxx);
  f.ok = true;
  return f;
}

// The drain's weekly shape: average drain per hour of the week (168 bins, hours counted from
// the Unix epoch, so the bins line up whatever the time zone), from the level interpolated
// linearly between the moments it changed — a device reports whole steps, and a step function
// would put a whole step's drain into the one hour it showed. Its sum is the average drain of a
// week: each hour of the week is averaged over the weeks that saw it (a least-squares line
// through a staircase of working days and still weekends is not; it depends on where in the
// week the history starts and ends). Empty when the changes span less than a week (a bin would
// be unseen) or the profile has no drain in it.
constexpr std::uint64_t hour_ms = 3'600'000;
constexpr std::size_t week_hours = 168;

std::vector<double> weekly_profile(std::span<const level_point> p) {
  std::vector<std::pair<std::uint64_t, double>> changes{{p.front().at_ms, p.front().percent}};
  for (std::size_t i = 1; i < p.size(); ++i)
    if (p[i].percent != p[i - 1].percent) changes.emplace_back(p[i].at_ms, p[i].percent);
  if (changes.back().first - changes.front().first < week_hours * hour_ms + hour_ms) return {};
  std::vector<double> sum(week_hours, 0.0), seen(week_hours, 0.0);
  double prev = 0;
  std::size_t k = 0;
  for (std::uint64_t t = (changes.front().first + hour_ms - 1) / hour_ms * hour_ms;
       t <= changes.back().first; t += hour_ms) {
    while (k + 2 < changes.size() && changes[k + 1].first <= t) ++k;
    const auto& [t0, v0] = changes[k];
    const auto& [t1, v1] = changes[k + 1];
    const double level =
        t1 > t0 ? v0 + (v1 - v0) * static_cast<double>(t - t0) / static_cast<double>(t1 - t0) : v1;
    if (t >= changes.front().first + hour_ms) {
      const std::size_t bin = ((t - hour_ms) / hour_ms) % week_hours;  // the hour that drained
      sum[bin] += prev - level;
      seen[bin] += 1;
    }
    prev = level;
  }
  double total = 0;
  for (std::size_t b = 0; b < week_hours; ++b) {
    if (seen[b] == 0) return {};
    sum[b] = std::max(0.0, sum[b] / seen[b]);  // a reseat's small rise is not negative drain
    total += sum[b];
  }
  if (total < 0.07) return {};  // less than a hundredth of a point a day is not draining
  // The shape used is separable: each day of the week's drain, spread over its hours by the
  // average shape of a day (7 + 24 figures instead of 168: less noise from a few weeks).
  std::vector<double> day(7, 0.0), hour(24, 0.0);
  for (std::size_t b = 0; b < week_hours; ++b) {
    day[b / 24] += sum[b];
    hour[b % 24] += sum[b] / total;
  }
  for (std::size_t b = 0; b < week_hours; ++b) sum[b] = day[b / 24] * hour[b % 24];
  return sum;
}

// Days from `now_ms` until `percent` has drained, hour by hour along the weekly profile.
double days_along(std::span<const double> profile, std::uint64_t now_ms, double percent,
                  double per_week) {
  double left = percent;
  std::uint64_t t = now_ms;
  // Whole weeks first (all but the last one), then hour by hour: at most two weeks of steps.
  const double weeks = std::floor(left / per_week);
  if (weeks > 1) {
    left -= (weeks - 1) * per_week;
    t += static_cast<std::uint64_t>(weeks - 1) * week_hours * hour_ms;
  }
  for (std::size_t step = 0; step < 3 * week_hours && left > 0; ++step) {
    const std::uint64_t hour_end = (t / hour_ms + 1) * hour_ms;
    const double rate = profile[(t / hour_ms) % week_hours];  // points per hour
    const double can = rate * static_cast<double>(hour_end - t) / static_cast<double>(hour_ms);
    if (can >= left) {
      t += static_cast<std::uint64_t>(std::llround(left / rate * static_cast<double>(hour_ms)));
      left = 0;
      break;
    }
    left -= can;
    t = hour_end;
  }
  return static_cast<double>(t - now_ms) / ms_per_day;
}

const char* quality_name(schema::LevelQuality q) {
  const char* n = schema::EnumNameLevelQuality(q);
  return (n && *n) ? n : "invalid";
}

}  // namespace

forecast make_forecast(std::span<const level_point> points, std::uint64_t now_ms,
                       schema::LevelQuality quality, const forecast_options& options) {
  forecast out;
  if (quality != schema::LevelQuality::exact && quality != schema::LevelQuality::percent_only) {
    out.reason = std::string("level is ") + quality_name(quality) + ", not a number";
    return out;
  }
  const auto window = static_cast<std::uint64_t>(options.window.count());
  const std::uint64_t from = now_ms > window ? now_ms - window : 0;
  std::vector<level_point> p;
  p.reserve(points.size());
  for (const auto& pt : points)
    if (pt.at_ms >= from && pt.at_ms <= now_ms && std::isfinite(pt.percent)) p.push_back(pt);
  std::sort(p.begin(), p.end(), [](const auto& l, const auto& r) { return l.at_ms < r.at_ms; });
  out.points = p.size();
  if (p.size() < options.min_points) {
    out.reason = "too little history (" + std::to_string(p.size()) + " observations)";
    return out;
  }
  const std::uint64_t span_ms = p.back().at_ms - p.front().at_ms;
  out.span_days = static_cast<double>(span_ms) / ms_per_day;
  if (span_ms < static_cast<std::uint64_t>(options.min_span.count())) {
    out.reason = "too little history (" + std::to_string(out.span_days).substr(0, 4) + " days)";
    return out;
  }

  // Levels are stored when they change, so observations crowd into the hours when the printer
  // prints and thin out at night and at weekends; a straight fit through them would mostly see
  // the steep working hours. Both methods below therefore read the level as a step function
  // (each observation holds until the next) at every whole hour.
  std::vector<std::uint64_t> gt;  // grid times
  std::vector<double> gy;         // level at each
  for (std::uint64_t t = (p.front().at_ms + hour_ms - 1) / hour_ms * hour_ms, k = 0;
       t <= p.back().at_ms; t += hour_ms) {
    while (k + 1 < p.size() && p[k + 1].at_ms <= t) ++k;
    gt.push_back(t);
    gy.push_back(p[k].percent);
  }
  if (gt.size() < 3) {
    out.reason = "too little history";
    return out;
  }
  // The average drain: a straight line through the hourly levels. Its residuals are
  // autocorrelated, so the slope's standard error counts one independent observation per day
  // of history rather than one per hour.
  std::vector<double> x(gt.size());
  for (std::size_t i = 0; i < gt.size(); ++i)
    x[i] = -static_cast<double>(now_ms - gt[i]) / ms_per_day;
  line_fit t = fit(x, gy);
  t.se_b *= std::sqrt(static_cast<double>(gt.size()) / std::max(1.0, out.span_days));
  // Draining means losing at least a hundredth of a point per day.
  if (!t.ok || t.b > -0.01) {
    out.reason = "not draining";
    return out;
  }
  out.percent_per_day = -t.b;
  const double rel = t.se_b / out.percent_per_day;  // relative standard error of the drain
  // When the supply is used unevenly over the week (offices: weekdays, working hours), the drain
  // is the weekly profile's average and the days to empty follow its shape from now on.
  const std::vector<double> profile = weekly_profile(p);
  double per_week = 0;
  for (double r : profile) per_week += r;
  if (!profile.empty()) out.percent_per_day = per_week / 7;
  out.weekly_profile = !profile.empty();

  // Where the supply stands now. The device last showed value v, first at t_change (the
  // caller passes the latest poll's level as the last point). Since then it has drained by what
  // the average drain says — but by less than one reporting step, or it would show a
  // new value. The step is the smallest change seen (1 for whole-percent devices).
  std::size_t c = p.size() - 1;
  while (c > 0 && p[c - 1].percent == p.back().percent) --c;
  double quantum = 100.0;
  for (std::size_t i = 1; i < p.size(); ++i) {
    const double d = std::abs(p[i].percent - p[i - 1].percent);
    if (d > 1e-9) quantum = std::min(quantum, d);
  }
  const std::uint64_t t_change = p[c].at_ms;
  const double drained = out.percent_per_day * static_cast<double>(now_ms - t_change) / ms_per_day;
  out.percent_now = std::clamp(p.back().percent - std::clamp(drained, 0.0, quantum), 0.0, 100.0);
  out.days_to_empty = profile.empty() ? out.percent_now / out.percent_per_day
                                      : days_along(profile, now_ms, out.percent_now, per_week);
  out.empty_at_ms =
      now_ms + static_cast<std::uint64_t>(std::llround(out.days_to_empty * ms_per_day));
  // The interval scales the forecast by the uncertainty of the average drain.
  out.days_low = out.days_to_empty / (1 + 2 * rel);
  if (rel < 0.5) out.days_high = out.days_to_empty / (1 - 2 * rel);
  const double span_factor =
      std::min(1.0, static_cast<double>(span_ms) / static_cast<double>(std::max<std::int64_t>(
                                                       1, options.full_confidence_span.count())));
  out.confidence = std::clamp(1.0 - 2.0 * rel, 0.0, 1.0) * span_factor;

  // Pages: the same fit against the page counter, where the observations carry one.
  std::vector<double> px, py;
  for (const auto& pt : p)
    if (pt.pages) {
      px.push_back(static_cast<double>(*pt.pages));
      py.push_back(pt.percent);
    }
  if (px.size() >= options.min_points) {
    const double last_pages = px.back();
    for (auto& v : px) v -= last_pages;  // relative to the latest counter, for precision
    const line_fit g = fit(px, py);
    if (g.ok && g.b < 0) out.pages_to_empty = std::max(0.0, g.a) / -g.b;
  }
  out.available = true;
  return out;
}

}  // namespace fleetpoll::storage
