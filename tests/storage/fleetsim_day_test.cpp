// Acceptance 1: a day of simulated time — the real engine polling fleetsim through real UDP on
// loopback, every 5 simulated minutes, into engine_sink and a RocksDB store — produces outbox
// and history records that match fleetsim's ground truth: every supply replacement, alert raise
// and clear, and counter reset present, at the poll that first could see it, and no invented
// ones.
//
// fleetsim's clock is frozen and moved by the test (a round polls every device at one simulated
// moment); the truth of each device is computed by fleetsim at exactly the moments its classes
// were fetched (from the poll records the engine handed over). Expected records per pair of
// consecutive observations a < b of a class:
//   supplies  fleetsim's `replacements` of a supply grew            -> supply_replaced at b
//   alerts    an alert (by what it says: hr index, code, group, group index, location) is in
//             the table at b and not at a (or b is the first look)  -> alert_raised at b;
//             the reverse (binary change events excepted)           -> alert_cleared at b
//   counters  fleetsim's `board_swaps` grew (the life count restarts) -> counter_reset at b
//             for every marker
// Supplies whose level is unknown to the device (-2/-3) cannot show a replacement; they are
// counted apart and must produce no replacement record.
//
// Size. The test's own run: 300 devices picked from a 20,000-device fleet (every device with a
// board swap or a supply replacement during the day, the rest from the start), all 288 rounds,
// about a minute on the 2-core machine. The acceptance size by hand:
//   FLEETPOLL_FLEETSIM_DAY_DEVICES=10000 ctest -R StorageFleetsimDay --output-on-failure
// polls every device of a 10,000-device fleet (docs/testing.md has the figures of that run).
#include <gmock/gmock.h>

#include <map>
#include <set>

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

constexpr std::uint32_t bit_identity = 1, bit_status = 2, bit_alerts = 4, bit_supplies = 8,
                        bit_counters = 16;
constexpr std::int64_t day_start_s = 1767571200;  // 2026-01-05T00:00:00Z, a Monday
constexpr std::int64_t step_s = 300;

std::string alert_key(std::uint32_t hr, std::int32_t code, std::int32_t group,
                      std::int32_t group_index, std::int32_t location) {
  return std::to_string(hr) + "/" + std::to_string(code) + "/" + std::to_string(group) + "/" +
         std::to_string(group_index) + "/" + std::to_string(location);
}

// "address kind detail @ms": one expected or recorded event.
std::string event(const std::string& address, const char* kind, const std::string& detail,
                  std::uint64_t at_ms) {
  return address + " " + kind + " " + detail + " @" + std::to_string(at_ms);
}

std::size_t env_size(const char* name, std::size_t fallback) {
  const char* v = std::getenv(name);
  return v ? static_cast<std::size_t>(std::strtoull(v, nullptr, 10)) : fallback;
}

TEST(StorageFleetsimDay, RecordsMatchTheGroundTruthBothWays) {
  const std::size_t acceptance = env_size("FLEETPOLL_FLEETSIM_DAY_DEVICES", 0);
  const std::uint32_t fleet_size = acceptance ? static_cast<std::uint32_t>(acceptance) : 20000;
  const std::size_t wanted = acceptance ? acceptance : 300;
  const std::int64_t rounds =
      static_cast<std::int64_t>(env_size("FLEETPOLL_FLEETSIM_DAY_ROUNDS", 288));

  sim::options so;
  so.devices = fleet_size;
  so.port = 0;
  so.seed = 7;
  so.acceleration = 0;
  so.start_time = day_start_s;
  so.receive_buffer_bytes = 16 << 20;
  std::string why;
  auto fleet = sim::fleet::create(so, why);
  ASSERT_TRUE(fleet) << why;
  ASSERT_FALSE(fleet->start(why)) << why;

  // Which devices to poll.
  const std::int64_t end_s = day_start_s + (rounds - 1) * step_s;
  std::vector<std::uint32_t> chosen;
  if (acceptance) {
    for (std::uint32_t i = 0; i < fleet_size; ++i) chosen.push_back(i);
  } else {
    std::set<std::uint32_t> pick;
    for (std::uint32_t i = 0; i < fleet_size && pick.size() < wanted / 2; ++i) {
      const auto a = fleet->truth(i, static_cast<double>(day_start_s));
      const auto b = fleet->truth(i, static_cast<double>(end_s));
      bool interesting = a.board_swaps != b.board_swaps;
      for (std::size_t s = 0; s < a.supplies.size() && s < b.supplies.size(); ++s)
        interesting |= a.supplies[s].replacements != b.supplies[s].replacements;
      if (interesting) pick.insert(i);
    }
    for (std::uint32_t i = 0; pick.size() < wanted; ++i) pick.insert(i);
    chosen.assign(pick.begin(), pick.end());
  }

  temp_dir dir;
  auto o = test_options(dir.path());
  o.write_buffer_bytes = 16u << 20;
  sim_rig rig;
  rig.now_ms = static_cast<std::uint64_t>(day_start_s) * 1000;
  const std::string failed = rig.open(o, *fleet, chosen);
  ASSERT_EQ(failed, "");
  store& db = *rig.db;

  const auto t0 = std::chrono::steady_clock::now();
  for (std::int64_t k = 0; k < rounds; ++k) {
    const std::int64_t t = day_start_s + k * step_s;
    rig.set_time(*fleet, t);
    std::uint32_t classes = bit_status | bit_alerts | bit_supplies;
    if (k % 3 == 0) classes |= bit_counters;  // counters every 15 minutes
    if (k == 0) classes |= bit_identity;
    rig.eng->poll_all_now(classes);
    ASSERT_TRUE(rig.eng->wait_idle(300s)) << "round " << k;
  }
  ASSERT_TRUE(rig.sink->drain(120s));
  const double poll_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const auto es = rig.eng->stats();
  rig.eng->stop(1s);

  // ---- the expected events, from fleetsim's truth at the observed moments
  const auto observed = rig.stamps->observed();
  std::multiset<std::string> expected;
  std::size_t unknown_level_replacements = 0;
  std::map<std::string, std::size_t> expected_by_kind;
  for (auto i : chosen) {
    const std::string key = device_key(*fleet, i);
    const auto it = observed.find(key);
    ASSERT_NE(it, observed.end()) << key << " never polled";
    std::optional<sim::device_truth> last_supplies, last_alerts, last_counters;
    for (const auto& ob : it->second) {
      const auto truth = fleet->truth(i, static_cast<double>(ob.at_ms / 1000));
      if (ob.classes & bit_supplies) {
        if (last_supplies)
          for (const auto& s : truth.supplies)
            for (const auto& p : last_supplies->supplies)
              if (p.hr_device_index == s.hr_device_index && p.index == s.index &&
                  s.replacements > p.replacements) {
                if (s.level < 0 || p.level < 0) {
                  ++unknown_level_replacements;
                  continue;
                }
                expected.insert(event(
                    key, "supply_replaced",
                    std::to_string(s.hr_device_index) + "/" + std::to_string(s.index), ob.at_ms));
                ++expected_by_kind["supply_replaced"];
              }
        last_supplies = truth;
      }
      if (ob.classes & bit_alerts) {
        std::multiset<std::string> now, before;
        std::set<std::string> binary;
        for (const auto& a : truth.alerts) {
          const auto k = alert_key(a.hr_device_index, a.code, a.group, a.group_index, a.location);
          now.insert(k);
        }
        if (last_alerts)
          for (const auto& a : last_alerts->alerts) {
            const auto k = alert_key(a.hr_device_index, a.code, a.group, a.group_index, a.location);
            before.insert(k);
            if (a.severity == 5) binary.insert(k);  // warningBinaryChangeEvent: never cleared
          }
        for (auto k = now.begin(); k != now.end(); k = now.upper_bound(*k))
          for (auto n = before.count(*k); n < now.count(*k); ++n) {
            expected.insert(event(key, "alert_raised", *k, ob.at_ms));
            ++expected_by_kind["alert_raised"];
          }
        for (auto k = before.begin(); k != before.end(); k = before.upper_bound(*k))
          for (auto n = now.count(*k); n < before.count(*k) && !binary.count(*k); ++n) {
            expected.insert(event(key, "alert_cleared", *k, ob.at_ms));
            ++expected_by_kind["alert_cleared"];
          }
        last_alerts = truth;
      }
      if (ob.classes & bit_counters) {
        if (last_counters && truth.board_swaps > last_counters->board_swaps)
          for (const auto& m : truth.markers)
            if (m.life_count) {
              expected.insert(event(
                  key, "counter_reset",
                  std::to_string(m.hr_device_index) + "/" + std::to_string(m.index), ob.at_ms));
              ++expected_by_kind["counter_reset"];
            }
        last_counters = truth;
      }
    }
  }

  // ---- what the store recorded (outbox), and the same in each device's history
  std::multiset<std::string> recorded;
  std::map<std::string, std::size_t> recorded_by_kind;
  std::map<std::uint64_t, std::size_t> outbox_per_device;
  std::size_t records = 0, downs = 0;
  std::vector<outbox_entry> batch;
  for (std::uint64_t after = 0;;) {
    ASSERT_FALSE(db.outbox().read(after, 5000, 1u << 30, batch));
    if (batch.empty()) break;
    for (const auto& e : batch) {
      after = e.seq;
      ++records;
      const auto* r = codecs::change_record_of(
          std::span(reinterpret_cast<const std::uint8_t*>(e.bytes.data()), e.bytes.size()));
      ASSERT_NE(r, nullptr);
      ++outbox_per_device[r->device_id()];
      const std::string address = r->address()->str();
      const char* kind = schema::EnumNameChangeKind(r->kind());
      std::string d;
      switch (r->kind()) {
        case ChangeKind::supply_replaced:
          d = std::to_string(r->supply()->hr_device_index()) + "/" +
              std::to_string(r->supply()->index());
          break;
        case ChangeKind::alert_raised:
        case ChangeKind::alert_cleared: {
          const auto* a = r->alert();
          d = alert_key(a->hr_device_index(),
                        static_cast<std::int32_t>(a->code().value_or(schema::AlertCode{})),
                        static_cast<std::int32_t>(a->group().value_or(schema::AlertGroup{})),
                        a->group_index().value_or(0), a->location().value_or(0));
          break;
        }
        case ChangeKind::counter_reset:
          d = std::to_string(r->counter()->hr_device_index()) + "/" +
              std::to_string(r->counter()->marker_index());
          break;
        case ChangeKind::device_down:
          ++downs;
          continue;
        default:
          continue;
      }
      recorded.insert(event(address, kind, d, r->at_ms()));
      ++recorded_by_kind[kind];
    }
  }
  for (const auto& [id, n] : outbox_per_device) {
    history_result h;
    ASSERT_FALSE(db.history(id, {}, h));
    EXPECT_EQ(h.events.size(), n) << "device " << id << ": history and outbox differ";
  }

  // ---- both directions
  std::vector<std::string> missing, invented;
  std::set_difference(expected.begin(), expected.end(), recorded.begin(), recorded.end(),
                      std::back_inserter(missing));
  std::set_difference(recorded.begin(), recorded.end(), expected.begin(), expected.end(),
                      std::back_inserter(invented));
  auto first = [](const std::vector<std::string>& v) {
    std::string s;
    for (std::size_t i = 0; i < v.size() && i < 15; ++i) s += "\n  " + v[i];
    return s;
  };
  EXPECT_TRUE(missing.empty()) << missing.size() << " missing:" << first(missing);
  EXPECT_TRUE(invented.empty()) << invented.size() << " invented:" << first(invented);
  EXPECT_EQ(downs, rig.stamps->downs());
  // The run exercised every kind it checks.
  EXPECT_GT(expected_by_kind["supply_replaced"], 0u);
  EXPECT_GT(expected_by_kind["alert_raised"], 0u);
  EXPECT_GT(expected_by_kind["alert_cleared"], 0u);
  EXPECT_GT(expected_by_kind["counter_reset"], 0u);
  std::printf(
      "fleetsim day: %zu devices x %lld rounds in %.1f s (%llu polls complete, %llu partial, "
      "%llu failed); %zu records; expected/recorded: replaced %zu/%zu, raised %zu/%zu, cleared "
      "%zu/%zu, resets %zu/%zu; %zu replacements of unknown-level supplies; %zu down\n",
      chosen.size(), static_cast<long long>(rounds), poll_seconds,
      static_cast<unsigned long long>(es.polls_complete),
      static_cast<unsigned long long>(es.polls_partial),
      static_cast<unsigned long long>(es.polls_failed), records,
      expected_by_kind["supply_replaced"], recorded_by_kind["supply_replaced"],
      expected_by_kind["alert_raised"], recorded_by_kind["alert_raised"],
      expected_by_kind["alert_cleared"], recorded_by_kind["alert_cleared"],
      expected_by_kind["counter_reset"], recorded_by_kind["counter_reset"],
      unknown_level_replacements, downs);
}

}  // namespace
}  // namespace fleetpoll::storage::test
