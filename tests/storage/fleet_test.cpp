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

// Alert intervals per (code, group index) from the truth, merged across gaps a poll could miss.
std::map<std::pair<int, std::uint32_t>, std::vector<interval>> alert_intervals(
    const std::vector<truth_event>& truth, std::uint64_t gap) {
  std::map<std::pair<int, std::uint32_t>, std::vector<interval>> out;
  for (const auto& e : truth) {
    auto& v = out[{e.code, e.index}];
    if (e.kind == truth_event::alert_raised) {
      if (!v.empty() && v.back().to != UINT64_MAX && e.at_ms - v.back().to < gap)
        v.back().to = UINT64_MAX;
      else
        v.push_back({e.at_ms, UINT64_MAX});
    } else if (e.kind == truth_event::alert_cleared && !v.empty()) {
      v.back().to = e.at_ms;
    }
  }
  return out;
}

TEST(StorageFleetDay, HistoryMatchesTheSimulatedTruth) {
  temp_dir dir;
  testing::fleet_options fo;
  fo.devices = 200;
  fo.start_ms = testing::sim_epoch_ms;  // a Monday
  fo.end_ms = fo.start_ms + 2 * testing::day_ms;
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

    // Alerts: every raise and clear falls in (or at the end of) a true interval; every interval
    // long enough for two status polls was seen raised, and cleared if it ended in time.
    const auto intervals = alert_intervals(truth, 6 * minute_ms);
    for (const auto* r : recs) {
      if (r->kind() != ChangeKind::alert_raised && r->kind() != ChangeKind::alert_cleared) continue;
      const auto key = std::pair{static_cast<int>(*r->alert()->code()),
                                 static_cast<std::uint32_t>(*r->alert()->group_index())};
      const auto it = intervals.find(key);
      ASSERT_NE(it, intervals.end()) << p->address() << " invented alert " << key.first;
      const bool fits = std::any_of(it->second.begin(), it->second.end(), [&](const interval& iv) {
        return r->kind() == ChangeKind::alert_raised ? r->at_ms() > iv.from && r->at_ms() <= iv.to
                                                     : iv.to != UINT64_MAX && r->at_ms() > iv.to &&
                                                           r->at_ms() <= iv.to + 10 * minute_ms;
      });
      EXPECT_TRUE(fits) << p->address() << " " << schema::EnumNameChangeKind(r->kind()) << " code "
                        << key.first << " at " << r->at_ms();
      (r->kind() == ChangeKind::alert_raised ? raised : cleared) += 1;
    }
    for (const auto& [key, ivs] : intervals)
      for (const auto& iv : ivs) {
        const std::uint64_t to = std::min(iv.to, fo.end_ms);
        if (to - iv.from < 6 * minute_ms || iv.from > tail) continue;
        const bool seen = std::any_of(recs.begin(), recs.end(), [&](auto* r) {
          return r->kind() == ChangeKind::alert_raised &&
                 *r->alert()->code() == static_cast<schema::AlertCode>(key.first) &&
                 r->at_ms() > iv.from && r->at_ms() <= to;
        });
        EXPECT_TRUE(seen) << p->address() << " missed alert " << key.first << " from " << iv.from;
      }

    // Counter resets: each one reported within the counter cadence, none invented.
    for (const auto& e : truth) {
      if (e.kind != truth_event::counter_reset || e.at_ms > tail) continue;
      EXPECT_TRUE(std::any_of(recs.begin(), recs.end(),
                              [&](auto* r) {
                                return r->kind() == ChangeKind::counter_reset &&
                                       r->at_ms() > e.at_ms &&
                                       r->at_ms() <= e.at_ms + 16 * minute_ms;
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
                                         r->at_ms() <= e.at_ms + 16 * minute_ms;
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
    const auto first_power = std::find_if(truth.begin(), truth.end(), [](auto& e) {
      return e.kind == truth_event::power_on || e.kind == truth_event::power_off;
    });
    const bool started_off =
        first_power != truth.end() && first_power->kind == truth_event::power_on;
    EXPECT_EQ(downs, offs) << p->address();
    EXPECT_EQ(ups, ons - (started_off ? 1 : 0)) << p->address();
    outages += static_cast<std::size_t>(downs);
  }
  // The run exercised every kind it checks.
  EXPECT_GT(replaced, 10u);
  EXPECT_GT(reseated, 3u);
  EXPECT_GT(raised, 100u);
  EXPECT_GT(cleared, 100u);
  EXPECT_GT(resets, 3u);
  EXPECT_GT(outages, 20u);
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
