#include "fleetpoll/storage/testing/office_sim.hpp"

#include <algorithm>
#include <cmath>

namespace fleetpoll::storage::testing {
namespace {

constexpr std::uint64_t hour_ms = 3'600'000;

int weekday(std::uint64_t t) {
  return static_cast<int>((t / day_ms + 3) % 7);
}  // 0 = Monday
int hour_of(std::uint64_t t) {
  return static_cast<int>((t % day_ms) / hour_ms);
}

// Alert codes and groups (RFC 3805) used by the simulation.
constexpr int code_cover_open = 3, code_jam = 8, code_tray_empty = 808, code_toner_empty = 1101,
              code_toner_low = 1104, code_waste_almost_full = 1107;
constexpr int group_cover = 6, group_input = 8, group_supplies = 11, group_media_path = 13;
constexpr int sev_critical = 3, sev_warning = 4;

}  // namespace

std::string sim_address(int n) {
  return "127.1." + std::to_string(n / 250) + "." + std::to_string(n % 250 + 1) + ":1161";
}

std::uint8_t due_classes(const cadence& c, int n, std::uint64_t prev_ms, std::uint64_t t_ms) {
  const std::uint64_t periods[5] = {c.identity_ms, c.status_ms, c.status_ms, c.supplies_ms,
                                    c.counters_ms};
  std::uint8_t mask = 0;
  for (int k = 0; k < 5; ++k) {
    const std::uint64_t p = periods[k];
    const std::uint64_t phase =
        (static_cast<std::uint64_t>(n) * 2654435761u + static_cast<std::uint64_t>(k) * 40503u) % p;
    if ((t_ms + phase) / p != (prev_ms + phase) / p)
      mask = static_cast<std::uint8_t>(mask | (1u << k));
  }
  return mask;
}

office_printer::office_printer(int n, std::uint64_t start_ms, std::uint64_t seed,
                               const office_profile& profile)
    : n_(n),
      address_(sim_address(n)),
      p_(profile),
      rng_(seed ^ (static_cast<std::uint64_t>(n) * 0x9E3779B97F4A7C15ull)),
      now_(start_ms) {
  std::uniform_real_distribution<double> u(0, 1);
  // What the device is depends on its number only: the same fleet whatever the seed.
  std::mt19937_64 kind(static_cast<std::uint64_t>(n) * 0x9E3779B97F4A7C15ull + 17);
  mono_ = std::uniform_real_distribution<double>(0, 1)(kind) < p_.mono_share;
  spec_ = mono_ ? mono_laser(n) : office_mfp(n);
  std::normal_distribution<double> spread(0, 0.35);
  pages_per_day_ = p_.pages_per_day * std::clamp(std::exp(spread(rng_)), 0.5, 2.0);
  powers_off_ = u(rng_) < p_.power_off_share;
  const int toners = mono_ ? 1 : 4;
  for (int i = 1; i <= toners; ++i) {
    toner k;
    k.index = static_cast<std::uint32_t>(i);
    k.colour = i > 1;
    k.yield = new_yield(k.colour);
    k.left = 0.01 + 0.99 * u(rng_);  // cartridges of every age
    toners_.push_back(k);
  }
  drum_capacity_ = mono_ ? 30000 : 120000;
  drum_left_ =
      static_cast<std::int64_t>((0.3 + 0.7 * u(rng_)) * static_cast<double>(drum_capacity_));
  waste_used_ = u(rng_) * 0.8 * waste_capacity_;
  tray_capacity_ = mono_ ? 250 : 500;
  tray_level_[0] = tray_level_[1] = tray_capacity_;
  life_ = 10'000 + static_cast<std::uint64_t>(u(rng_) * 400'000);
  power_on_ = static_cast<std::uint64_t>(u(rng_) * 5'000);
  booted_ms_ = start_ms - static_cast<std::uint64_t>(u(rng_) * 20 * day_ms);
  if (powers_off_) {
    const int h = hour_of(start_ms);
    powered_ = weekday(start_ms) < 5 && h >= 7 && h < 19;
  }
  update_spec();
}

double office_printer::new_yield(bool colour) {
  std::uniform_real_distribution<double> u(0.9, 1.1);
  return (colour ? p_.colour_yield : p_.black_yield) * u(rng_);
}

bool office_printer::business(std::uint64_t t) const {
  const int h = hour_of(t);
  return weekday(t) < 5 && h >= 8 && h < 18;
}

double office_printer::toner_left(std::uint32_t index) const {
  for (const auto& k : toners_)
    if (k.index == index) return k.left;
  return 0;
}

void office_printer::advance_to(std::uint64_t t_ms) {
  while (now_ + minute_ms <= t_ms) {
    step(now_);
    now_ += minute_ms;
  }
}

void office_printer::set_alert(bool on, int code, int severity, int group, int group_index,
                               const char* descr, std::uint64_t t) {
  auto& a = spec_.alerts;
  auto it = std::find_if(a.begin(), a.end(), [&](const alert_spec& x) {
    return x.code && *x.code == code && x.group_index && *x.group_index == group_index;
  });
  if (on && it == a.end()) {
    alert_spec s;
    s.index = next_alert_index_++;
    s.severity = severity;
    s.training_level = 3;
    s.group = group;
    s.group_index = group_index;
    s.location = 0;
    s.code = code;
    s.description = descr;
    s.time_ticks = static_cast<std::uint32_t>((t - booted_ms_) / 10);
    a.push_back(s);
    truth_.push_back({t, truth_event::alert_raised, static_cast<std::uint32_t>(group_index), code});
  } else if (!on && it != a.end()) {
    a.erase(it);
    truth_.push_back(
        {t, truth_event::alert_cleared, static_cast<std::uint32_t>(group_index), code});
  }
}

void office_printer::replace_toner(toner& k, std::uint64_t t) {
  k.left = 1.0;
  k.yield = new_yield(k.colour);
  k.empty_since = 0;
  k.replace_at = 0;
  cover_until_ = t + 3 * minute_ms;
  truth_.push_back({t, truth_event::replaced, k.index, 0});
}

void office_printer::print(std::uint64_t t, std::uint64_t pages) {
  // Paper: tray 1, then tray 2.
  std::uint64_t printed = 0;
  const int trays = mono_ ? 1 : 2;
  for (int i = 0; i < trays && printed < pages; ++i) {
    const auto take =
        std::min<std::uint64_t>(pages - printed, static_cast<std::uint64_t>(tray_level_[i]));
    tray_level_[i] -= static_cast<int>(take);
    printed += take;
  }
  if (printed == 0) return;
  std::uint64_t colour = 0;
  if (!mono_) colour = std::binomial_distribution<std::uint64_t>(printed, p_.colour_share)(rng_);
  for (auto& k : toners_) {
    const double used = static_cast<double>(k.colour ? colour : printed);
    k.left = std::max(0.0, k.left - used / k.yield);
  }
  waste_used_ += static_cast<double>(printed);
  drum_left_ -= static_cast<std::int64_t>(printed);
  life_ += printed;
  power_on_ += printed;
  printed_last_minute_ = true;
  const double p_jam = 1.0 - std::pow(1.0 - p_.jam_per_page, static_cast<double>(printed));
  if (std::uniform_real_distribution<double>(0, 1)(rng_) < p_jam)
    jam_until_ = t + minute_ms * static_cast<std::uint64_t>(
                                     5 + std::exponential_distribution<double>(1.0 / 10)(rng_));
}

void office_printer::step(std::uint64_t t) {
  std::uniform_real_distribution<double> u(0, 1);
  // Power: some devices are switched off outside 07:00-19:00 on weekdays.
  if (powers_off_) {
    const int h = hour_of(t);
    const bool want = weekday(t) < 5 && h >= 7 && h < 19;
    if (want != powered_) {
      powered_ = want;
      truth_.push_back({t, want ? truth_event::power_on : truth_event::power_off, 0, 0});
      if (want) {
        booted_ms_ = t;
        power_on_ = 0;
        // The alert table is rebuilt at boot: same alerts, new indexes and times.
        std::uint32_t i = 1;
        for (auto& a : spec_.alerts) {
          a.index = i++;
          a.time_ticks = 0;
        }
        next_alert_index_ = i;
      }
    }
  }
  if (!powered_) return;
  printed_last_minute_ = false;
  const bool people = business(t);

  // People: replacements, refills, clearing jams.
  if (people) {
    for (auto& k : toners_)
      if (k.replace_at && t >= k.replace_at) replace_toner(k, t);
    if (waste_replace_at_ && t >= waste_replace_at_) {
      waste_used_ = 0;
      waste_replace_at_ = 0;
      cover_until_ = t + 3 * minute_ms;
      truth_.push_back({t, truth_event::replaced, 6, 0});
    }
    if (drum_left_ <= 0) {
      drum_left_ = drum_capacity_;
      cover_until_ = t + 3 * minute_ms;
      truth_.push_back({t, truth_event::replaced, mono_ ? 2u : 5u, 0});
    }
    for (int i = 0; i < 2; ++i)
      if (tray_refill_at_[i] && t >= tray_refill_at_[i]) {
        tray_level_[i] = tray_capacity_;
        tray_refill_at_[i] = 0;
      }
    if (u(rng_) < p_.reseat_per_day / 600.0) {
      for (auto& k : toners_)
        if (k.left > 0.06 && k.left < 0.85) {
          k.left = std::min(1.0, k.left + 0.05);
          truth_.push_back({t, truth_event::reseated, k.index, 0});
          break;
        }
    }
  }
  if (jam_until_ && t >= jam_until_) jam_until_ = 0;
  if (p_.counter_reset_per_day > 0 && u(rng_) < p_.counter_reset_per_day / 1440.0) {
    life_ =
        static_cast<std::uint64_t>(u(rng_) * static_cast<double>(life_ / 2));  // always backwards
    truth_.push_back({t, truth_event::counter_reset, 1, 0});
  }

  // Printing.
  const bool blocked =
      jam_until_ != 0 || t < cover_until_ ||
      std::any_of(toners_.begin(), toners_.end(), [](const toner& k) { return k.left <= 0; });
  const int h = hour_of(t);
  if (!blocked && h >= 8 && h < 18) {
    const double rate = pages_per_day_ / 600.0 * (weekday(t) < 5 ? 1.0 : p_.weekend_share);
    const auto pages = std::poisson_distribution<std::uint64_t>(rate)(rng_);
    if (pages) print(t, pages);
  }

  // Consequences: empties get scheduled for replacement, trays for refill.
  for (auto& k : toners_) {
    if (k.left <= 0 && k.empty_since == 0) {
      k.empty_since = t;
      k.replace_at = t + hour_ms / 2 + static_cast<std::uint64_t>(u(rng_) * 8 * hour_ms);
    } else if (k.left > 0 && k.left <= 0.03 && k.replace_at == 0 && u(rng_) < 0.002) {
      k.replace_at = t + hour_ms;  // some offices swap a nearly empty cartridge early
    }
  }
  if (!mono_ && waste_used_ >= waste_capacity_ && waste_replace_at_ == 0)
    waste_replace_at_ = t + hour_ms + static_cast<std::uint64_t>(u(rng_) * 4 * hour_ms);
  for (int i = 0; i < (mono_ ? 1 : 2); ++i)
    if (tray_level_[i] == 0 && tray_refill_at_[i] == 0)
      tray_refill_at_[i] = t + 10 * minute_ms +
                           static_cast<std::uint64_t>(
                               std::exponential_distribution<double>(1.0 / 45)(rng_) * 60'000);

  // Alerts that hold while their condition does.
  for (const auto& k : toners_) {
    const int pct = static_cast<int>(std::ceil(k.left * 100 - 1e-9));
    set_alert(k.left > 0 && pct <= 10, code_toner_low, sev_warning, group_supplies,
              static_cast<int>(k.index), "Toner almost empty", t);
    set_alert(k.left <= 0, code_toner_empty, sev_critical, group_supplies,
              static_cast<int>(k.index), "Toner empty", t);
  }
  if (!mono_)
    set_alert(waste_used_ >= 0.9 * waste_capacity_, code_waste_almost_full, sev_warning,
              group_supplies, 6, "Waste toner bottle almost full", t);
  for (int i = 0; i < (mono_ ? 1 : 2); ++i)
    set_alert(tray_level_[i] == 0, code_tray_empty, sev_warning, group_input, i + 1,
              "Paper tray empty", t);
  set_alert(jam_until_ != 0, code_jam, sev_critical, group_media_path, 1, "Paper jam", t);
  set_alert(t < cover_until_, code_cover_open, sev_warning, group_cover, 1, "Front cover open", t);
}

void office_printer::update_spec() {
  auto& d = spec_;
  for (auto& s : d.supplies) {
    for (const auto& k : toners_)
      if (k.index == s.index) {
        if (s.max_capacity && *s.max_capacity == 100) {
          // Percent devices never say 0 before the cartridge is really out, and their estimate
          // wobbles up a point now and then.
          int pct = static_cast<int>(std::ceil(k.left * 100 - 1e-9));
          if (pct > 0 && pct < 100 && (life_ / 37) % 11 == 0) ++pct;
          s.level = pct;
        } else {
          s.level = static_cast<int>(std::lround(k.left * *s.max_capacity));
        }
      }
    if (s.type && *s.type == 9) s.level = static_cast<int>(std::max<std::int64_t>(0, drum_left_));
    if (s.supply_class && *s.supply_class == 4)
      s.level =
          static_cast<int>(std::lround(std::max(0.0, 1.0 - waste_used_ / waste_capacity_) * 100));
  }
  for (auto& t : d.trays)
    if (t.index <= 2 && t.index <= d.trays.size() && t.level && *t.level >= 0)
      t.level = tray_level_[t.index - 1];
  d.markers.front().life_count = life_;
  d.markers.front().power_on_count = power_on_;
  d.uptime_ticks = static_cast<std::uint32_t>((now_ - booted_ms_) / 10);
  bool warning = false, critical = false;
  for (const auto& a : d.alerts) {
    warning = warning || (a.severity && *a.severity == sev_warning);
    critical = critical || (a.severity && *a.severity == sev_critical);
  }
  d.device_status = critical ? 5 : warning ? 3 : 2;
  d.printer_status = printed_last_minute_ ? 4 : 3;
  d.conditions.clear();
  auto has = [&](int code) {
    return std::any_of(d.alerts.begin(), d.alerts.end(),
                       [&](const alert_spec& a) { return a.code && *a.code == code; });
  };
  if (has(code_toner_low)) d.conditions.push_back(2);
  if (has(code_toner_empty)) d.conditions.push_back(3);
  if (has(code_cover_open)) d.conditions.push_back(4);
  if (has(code_jam)) d.conditions.push_back(5);
  if (has(code_tray_empty)) d.conditions.push_back(13);
}

}  // namespace fleetpoll::storage::testing
