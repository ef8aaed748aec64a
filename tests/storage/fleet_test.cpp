// Two simulated days of a 200-printer office fleet through a real store, compared with the
// simulation's ground truth: every replacement, reseat, alert raised and cleared, counter reset
// and outage is in the history, and nothing else of those kinds is. (Acceptance 1 at integration
// runs the same comparison on fleetsim's 10,000-device fleet.)
#include <map>
#include <tuple>

#include "fleetpoll/storage/testing/fleet_driver.hpp"
#include "storage_test_support.hpp"

namespace fleetpoll::storage::test {
namespace {

using testing::minute_ms;
using testing::truth_event;

struct interval {
  std::uint64_t from = 0, to = UINT64_MAX;  // visible to polls at t with from < t <= to
};

// Alert intervals per (code, group index) from the truth.
std::map<std::pair<int, std::uint32_t>, std::vector<interval>> alert_intervals(
    const std::vector<truth_event>& truth) {
  std::map<std::pair<int, std::uint32_t>, std::vector<interval>> out;
  for (const auto& e : truth) {
    auto& v = out[{e.code, e.index}];
    if (e.kind == truth_event::alert_raised)
      v.push_back({e.at_ms, UINT64_MAX});
    else if (e.kind == truth_event::alert_cleared && !v.empty())
      v.back().to = e.at_ms;
  }
  return out;
}

// When the device is off nobody polls it: what happened just before it went off is seen when it
// is back. The latest moment a record about something at `t` may come: `window` after it, or
// `window` after the device came back if it went off within that window.
std::uint64_t deadline(const std::vector<truth_event>& truth, std::uint64_t t,
                       std::uint64_t window) {
  std::uint64_t limit = t + window;
  bool off = false;
  for (const auto& e : truth) {
    if (e.kind == truth_event::power_off && e.at_ms > t && e.at_ms <= limit) off = true;
    if (off && e.kind == truth_event::power_on && e.at_ms > t) return e.at_ms + window;
  }
  return off ? UINT64_MAX : limit;
}

// How long the device was on during [from, to] (`on_at_start`: on when the run began).
std::uint64_t powered_ms(const std::vector<truth_event>& truth, std::uint64_t from,
                         std::uint64_t to, bool on_at_start) {
  bool on = on_at_start;
  std::uint64_t cursor = from, total = 0;
  for (const auto& e : truth) {
    if (e.kind != truth_event::power_on && e.kind != truth_event::power_off) continue;
    if (e.at_ms > to) break;
    if (e.at_ms > from) {
      if (on) total += e.at_ms - cursor;
      cursor = e.at_ms;
    }
    on = e.kind == truth_event::power_on;
  }
  if (on) total += to - cursor;
  return total;
}

TEST(StorageFleetDay, HistoryMatchesTheSimulatedTruth) {
  temp_dir dir;
  testing::fleet_options fo;
  // FLEETPOLL_FLEET_DEVICES / FLEETPOLL_FLEET_DAYS run a bigger fleet by hand (acceptance:
  // 10,000 devices for a day); the test's own size keeps it within the test budget.
  fo.devices = std::getenv("FLEETPOLL_FLEET_DEVICES")
                   ? std::atoi(std::getenv("FLEETPOLL_FLEET_DEVICES"))
                   : 200;
  const int days =
      std::getenv("FLEETPOLL_FLEET_DAYS") ? std::atoi(std::getenv("FLEETPOLL_FLEET_DAYS")) : 2;
  fo.start_ms = testing::sim_epoch_ms;  // a Monday
  fo.end_ms = fo.start_ms + static_cast<std::uint64_t>(days) * testing::day_ms;
  fo.seed = 42;
  fo.profile.counter_reset_per_day = 0.05;
  fo.profile.reseat_per_day = 0.1;
  fo.profile.power_off_share = 0.2;
  auto o = test_options(dir.path());
  o.clock = [&] { return fo.end_ms; };
  std::unique_ptr<store> db;
  ASSERT_FALSE(store::open(o, db));
  const auto run = testing::run_fleet(*db, fo);
  EXPECT_EQ(run.errors, 0u);
  EXPECT_GT(run.unreachable, 0u);

  const std::uint64_t tail = fo.end_ms - 20 * minute_ms;  // truth too late to have been polled
  std::size_t replaced = 0, reseated = 0, raised = 0, cleared = 0, resets = 0, outages = 0;
  for (const auto& p : run.printers) {
    const auto id = db->device_id(p->address());
    ASSERT_NE(id, 0u);
    history_result h;
    ASSERT_FALSE(db->history(id, {}, h));
    std::vector<const schema::ChangeRecord*> recs;
    for (const auto& e : h.events)
      recs.push_back(codecs::change_record_of(
          std::span(reinterpret_cast<const std::uint8_t*>(e.data()), e.size())));
    const auto& truth = p->truth();
    auto count = [&](ChangeKind k) {
      return std::count_if(recs.begin(), recs.end(), [&](auto* r) { return r->kind() == k; });
    };
    EXPECT_EQ(count(ChangeKind::identity), 1) << p->address();

    // Supplies: replacements and reseats, both ways, matched within the supply cadence.
    for (auto [tk, rk] : {std::pair{truth_event::replaced, ChangeKind::supply_replaced},
                          std::pair{truth_event::reseated, ChangeKind::supply_reseated}}) {
      for (const auto& e : truth) {
        if (e.kind != tk || e.at_ms > tail) continue;
        const bool found = std::any_of(recs.begin(), recs.end(), [&](auto* r) {
          return r->kind() == rk && r->supply()->index() == e.index && r->at_ms() > e.at_ms &&
                 r->at_ms() <= e.at_ms + 10 * minute_ms;
        });
        EXPECT_TRUE(found) << p->address() << " " << static_cast<int>(tk) << " supply " << e.index
                           << " at " << e.at_ms;
      }
      for (const auto* r : recs) {
        if (r->kind() != rk) continue;
        const bool real = std::any_of(truth.begin(), truth.end(), [&](const truth_event& e) {
          return e.kind == tk && e.index == r->supply()->index() && r->at_ms() > e.at_ms &&
                 r->at_ms() <= e.at_ms + 10 * minute_ms;
        });
        EXPECT_TRUE(real) << p->address() << " invented " << schema::EnumNameChangeKind(rk)
                          << " supply " << r->supply()->index() << " at " << r->at_ms();
        (rk == ChangeKind::supply_replaced ? replaced : reseated) += 1;
      }
    }

    // Alerts: every raise falls in a true interval, every clear just after one; every interval
    // the device was on for two status polls or more was seen raised (or seen continuing an
    // interval that ended moments before), and seen cleared when the next did not follow at once.
    const auto intervals = alert_intervals(truth);
    const auto first_power = std::find_if(truth.begin(), truth.end(), [](auto& e) {
      return e.kind == truth_event::power_on || e.kind == truth_event::power_off;
    });
    const bool started_off =
        first_power != truth.end() && first_power->kind == truth_event::power_on;
    auto is = [&](const schema::ChangeRecord* r, ChangeKind k,
                  const std::pair<int, std::uint32_t>& key) {
      return r->kind() == k && static_cast<int>(*r->alert()->code()) == key.first &&
             static_cast<std::uint32_t>(*r->alert()->group_index()) == key.second;
    };
    for (const auto* r : recs) {
      if (r->kind() != ChangeKind::alert_raised && r->kind() != ChangeKind::alert_cleared) continue;
      const auto key = std::pair{static_cast<int>(*r->alert()->code()),
                                 static_cast<std::uint32_t>(*r->alert()->group_index())};
      const auto it = intervals.find(key);
      ASSERT_NE(it, intervals.end()) << p->address() << " invented alert " << key.first;
      const bool fits = std::any_of(it->second.begin(), it->second.end(), [&](const interval& iv) {
        if (r->kind() == ChangeKind::alert_raised)
          return r->at_ms() > iv.from && r->at_ms() <= iv.to;
        return iv.to != UINT64_MAX && r->at_ms() > iv.to &&
               r->at_ms() <= deadline(truth, iv.to, 10 * minute_ms);
      });
      EXPECT_TRUE(fits) << p->address() << " " << schema::EnumNameChangeKind(r->kind()) << " code "
                        << key.first << " at " << r->at_ms();
      (r->kind() == ChangeKind::alert_raised ? raised : cleared) += 1;
    }
    for (const auto& [key, ivs] : intervals)
      for (std::size_t i = 0; i < ivs.size(); ++i) {
        const auto& iv = ivs[i];
        const std::uint64_t to = std::min(iv.to, fo.end_ms);
        if (iv.from > tail || powered_ms(truth, iv.from, to, !started_off) < 6 * minute_ms)
          continue;
        // Interval i-1 ending moments before this one may have looked continuous to the polls.
        const bool joined = i > 0 && iv.from - ivs[i - 1].to < 6 * minute_ms;
        const std::uint64_t seen_from = joined ? ivs[i - 1].from : iv.from;
        EXPECT_TRUE(std::any_of(recs.begin(), recs.end(),
                                [&](auto* r) {
                                  return is(r, ChangeKind::alert_raised, key) &&
                                         r->at_ms() > seen_from && r->at_ms() <= to;
                                }))
            << p->address() << " missed alert " << key.first << " from " << iv.from;
        const bool next_at_once = i + 1 < ivs.size() && ivs[i + 1].from - iv.to < 6 * minute_ms;
        if (iv.to == UINT64_MAX || iv.to > tail || next_at_once) continue;
        EXPECT_TRUE(std::any_of(recs.begin(), recs.end(),
                                [&](auto* r) {
                                  return is(r, ChangeKind::alert_cleared, key) &&
                                         r->at_ms() > iv.to &&
                                         r->at_ms() <= deadline(truth, iv.to, 10 * minute_ms);
                                }))
            << p->address() << " missed clear of alert " << key.first << " at " << iv.to;
      }

    // Counter resets: each one reported within the counter cadence, none invented.
    for (const auto& e : truth) {
      if (e.kind != truth_event::counter_reset || e.at_ms > tail) continue;
      EXPECT_TRUE(std::any_of(recs.begin(), recs.end(),
                              [&](auto* r) {
                                return r->kind() == ChangeKind::counter_reset &&
                                       r->at_ms() > e.at_ms &&
                                       r->at_ms() <= deadline(truth, e.at_ms, 16 * minute_ms);
                              }))
          << p->address() << " missed counter reset at " << e.at_ms;
    }
    for (const auto* r : recs)
      if (r->kind() == ChangeKind::counter_reset) {
        ++resets;
        EXPECT_TRUE(std::any_of(truth.begin(), truth.end(),
                                [&](const truth_event& e) {
                                  return e.kind == truth_event::counter_reset &&
                                         r->at_ms() > e.at_ms &&
                                         r->at_ms() <= deadline(truth, e.at_ms, 16 * minute_ms);
                                }))
            << p->address() << " invented counter reset at " << r->at_ms();
      }

    // Outages: one device_down per switch-off; a device_up after each that ended (a device that
    // was off when the run began has no state yet: its first answer is a first sight).
    const auto downs = count(ChangeKind::device_down), ups = count(ChangeKind::device_up);
    const auto offs = std::count_if(truth.begin(), truth.end(),
                                    [](auto& e) { return e.kind == truth_event::power_off; });
    const auto ons = std::count_if(truth.begin(), truth.end(),
                                   [](auto& e) { return e.kind == truth_event::power_on; });
    EXPECT_EQ(downs, offs) << p->address();
    EXPECT_EQ(ups, ons - (started_off ? 1 : 0)) << p->address();
    outages += static_cast<std::size_t>(downs);
  }
  // The run exercised every kind it checks.
  const std::size_t scale = static_cast<std::size_t>(fo.devices) * static_cast<std::size_t>(days);
  EXPECT_GT(replaced, scale / 40);
  EXPECT_GT(reseated, scale / 130);
  EXPECT_GT(raised, scale / 4);
  EXPECT_GT(cleared, scale / 4);
  EXPECT_GT(resets, scale / 130);
  EXPECT_GT(outages, scale / 20);
  // Only changes: far fewer records than polls.
  EXPECT_LT(db->outbox().last_seq() * 10, run.polls);
  std::printf(
      "fleet day: %llu polls, %llu records; %zu replaced, %zu reseated, %zu raised, %zu cleared, "
      "%zu resets, %zu outages\n",
      static_cast<unsigned long long>(run.polls),
      static_cast<unsigned long long>(db->outbox().last_seq()), replaced, reseated, raised, cleared,
      resets, outages);
}

}  // namespace
}  // namespace fleetpoll::storage::test
