#include "office_profile.hpp"

#include <algorithm>
#include <cmath>
#include <random>

#include "change_records.hpp"

namespace fleetpoll::uplink::bench {

std::vector<timed_record> office_day(std::uint32_t printers, std::uint32_t counter_minutes,
                                     std::uint64_t seed) {
  using schema::ChangeKind;
  constexpr std::uint64_t minute = 60'000, hour = 60 * minute, day = 24 * hour;
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  std::vector<timed_record> out;
  auto add = [&](std::uint64_t at, std::uint32_t device, ChangeKind kind, bool urgent,
                 std::uint64_t value) {
    out.push_back(
        {at, test::make_change_record(0, device, kind, 1'700'000'000'000 + at, value), urgent});
  };
  auto business = [&] { return 8 * hour + static_cast<std::uint64_t>(u(rng) * 10 * hour); };
  auto count = [&](double mean) {  // a Poisson count
    std::poisson_distribution<int> p(mean);
    return p(rng);
  };
  for (std::uint32_t d = 1; d <= printers; ++d) {
    std::uint64_t counter = 10'000 + d * 37;
    const std::uint64_t poll = std::max<std::uint32_t>(counter_minutes, 1) * minute;
    // P(no print in a poll) = 0.4 per 20 minutes, so 0.4^(interval/20 min) per poll.
    const double p_print =
        1.0 - std::pow(0.4, static_cast<double>(poll) / static_cast<double>(20 * minute));
    std::uint64_t offset = static_cast<std::uint64_t>(u(rng) * 20 * minute);
    for (std::uint64_t t = 8 * hour + offset % poll; t < 18 * hour; t += poll)
      if (u(rng) < p_print)
        add(t, d, ChangeKind::counter_delta, false,
            counter += 1 + static_cast<std::uint64_t>(u(rng) * 40));
    for (int i = count(1.3); i > 0; --i) add(business(), d, ChangeKind::supply_level, false, d + i);
    for (int i = count(0.27); i > 0; --i) {
      static const ChangeKind k[] = {ChangeKind::supply_low, ChangeKind::supply_reorder,
                                     ChangeKind::supply_empty, ChangeKind::supply_replaced};
      ChangeKind kind = k[rng() % 4];
      add(business(), d, kind, kind != ChangeKind::supply_replaced, d);
    }
    for (int i = count(0.6); i > 0; --i) {
      std::uint64_t t = business();
      add(t, d, ChangeKind::alert_raised, true, static_cast<std::uint64_t>(i));
      add(t + 5 * minute + static_cast<std::uint64_t>(u(rng) * 25 * minute), d,
          ChangeKind::alert_cleared, false, static_cast<std::uint64_t>(i));
    }
    add(7 * hour + 30 * minute + offset, d, ChangeKind::status_changed, false, 1);
    add(18 * hour + 30 * minute + offset, d, ChangeKind::status_changed, false, 2);
    add(static_cast<std::uint64_t>(u(rng) * day), d, ChangeKind::heartbeat, false, counter);
    if (u(rng) < 1.0 / 30) add(business(), d, ChangeKind::identity, true, 0);
    if (u(rng) < 0.05) {
      std::uint64_t t = business();
      add(t, d, ChangeKind::device_down, true, 0);
      add(t + 10 * minute + static_cast<std::uint64_t>(u(rng) * 50 * minute), d,
          ChangeKind::device_up, false, 0);
    }
  }
  std::stable_sort(out.begin(), out.end(),
                   [](const timed_record& a, const timed_record& b) { return a.at_ms < b.at_ms; });
  return out;
}

}  // namespace fleetpoll::uplink::bench
