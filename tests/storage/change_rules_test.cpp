// Change detection, one rule per test, from scripted snapshot sequences through a real store on
// real RocksDB files (docs/storage-format.md, "Change detection").
#include <gmock/gmock.h>

#include "storage_test_support.hpp"

namespace fleetpoll::storage::test {
namespace {

using ::testing::ElementsAre;
using K = ChangeKind;

constexpr std::uint64_t minute = 60'000;

// A small device: one toner (percent), one waste bottle, one tray, one marker.
device_spec small_device() {
  device_spec d;
  testing::supply_spec toner;
  toner.index = 1;
  toner.description = "Black Toner";
  toner.colorant = "black";
  toner.unit = 19;
  toner.level = 80;
  d.supplies.push_back(toner);
  d.trays = {{1, "Tray 1", 500, 500, 8}};
  d.markers = {{1, 1000, 10, 7}};
  return d;
}

class StorageChangeRules : public store_fixture {
 protected:
  void SetUp() override {
    store_fixture::SetUp();
    dev_ = small_device();
    poll(dev_);
    fresh();  // the first-sight records are tested on their own
  }
  std::vector<ChangeKind> step(std::uint8_t classes = all_classes) {
    advance(5 * minute);
    poll(dev_, classes);
    return kinds(fresh());
  }
  void level(int v) { dev_.supplies[0].level = v; }
  device_spec dev_;
};

TEST_F(StorageStore, FirstPollReportsEverythingOnceInOrder) {
  auto d = testing::office_mfp(7);
  d.alerts.push_back({1, 3, 3, 13, 1, 0, 8, "Paper jam", 100});
  poll(d);
  const auto r = fresh();
  ASSERT_FALSE(r.empty());
  std::vector<ChangeKind> expected{K::identity, K::status_changed, K::alert_raised,
                                   K::counter_delta};
  for (int i = 0; i < 8; ++i) expected.push_back(K::supply_added);
  for (int i = 0; i < 4; ++i) expected.push_back(K::tray_level);
  EXPECT_EQ(kinds(r), expected);
  for (std::size_t i = 0; i < r.size(); ++i) {
    EXPECT_EQ(r[i].seq, i + 1);
    EXPECT_EQ(r[i].get()->seq(), i + 1);
    EXPECT_EQ(r[i].get()->address()->str(), "127.1.0.1:1161");
    EXPECT_EQ(r[i].get()->at_ms(), now_);
  }
  const auto* id = r[0].get()->identity();
  ASSERT_NE(id, nullptr);
  EXPECT_EQ(id->serial()->str(), "E00000007");
  EXPECT_EQ(id->model()->str(), "IM C3000");
  // The first counter record carries the value only: there is no previous one to subtract.
  const auto* c = r[3].get()->counter();
  EXPECT_EQ(*c->life_count(), 0u);
  EXPECT_FALSE(c->delta().has_value());
}

TEST_F(StorageChangeRules, UnchangedPollWritesNothing) {
  advance(minute);
  const auto st = poll(dev_);
  EXPECT_EQ(st.records, 0u);
  EXPECT_EQ(st.samples, 0u);
  EXPECT_FALSE(st.state_written);
}

TEST_F(StorageChangeRules, NewReadingsAloneAreSamplesNotAStateRewrite) {
  level(79);
  advance(minute);
  auto st = poll(dev_);
  EXPECT_EQ(st.samples, 1u);
  EXPECT_FALSE(st.state_written);
  // After a restart the stored state is older than the last readings; judging against it
  // invents nothing.
  close();
  open();
  level(78);
  advance(minute);
  st = poll(dev_);
  EXPECT_EQ(st.records, 0u);
  EXPECT_TRUE(fresh().empty());
  advance(10 * minute);  // the touch period: readings reach the state too
  level(77);
  EXPECT_TRUE(poll(dev_).state_written);
}

TEST_F(StorageChangeRules, IdentityIsSentAgainOnlyWhenAFieldChanges) {
  dev_.firmware = "1.03";
  auto r = fresh();
  advance(minute);
  poll(dev_);
  r = fresh();
  ASSERT_EQ(kinds(r), std::vector<ChangeKind>{K::identity});
  const auto* id = r[0].get()->identity();
  ASSERT_EQ(id->changed()->size(), 1u);
  EXPECT_EQ(id->changed()->Get(0)->str(), "firmware");
  EXPECT_EQ(id->firmware()->str(), "1.03");
  EXPECT_EQ(id->serial()->str(), "SN0001");  // unchanged fields travel too
  // A field the agent did not send this time is not a change.
  dev_.serial.clear();
  EXPECT_TRUE(step().empty());
  // A different serial at the same address is: the printer was swapped.
  dev_.serial = "SN0002";
  const auto k = step();
  EXPECT_EQ(k, std::vector<ChangeKind>{K::identity});
}

TEST_F(StorageChangeRules, SupplyLevelIsReportedPastTheThreshold) {
  level(75);
  EXPECT_TRUE(step().empty());
  level(71);
  EXPECT_TRUE(step().empty());
  level(70);
  const auto r = (advance(5 * minute), poll(dev_), fresh());
  ASSERT_EQ(kinds(r), std::vector<ChangeKind>{K::supply_level});
  EXPECT_EQ(*r[0].get()->supply()->percent(), 70);
  EXPECT_EQ(*r[0].get()->supply()->previous_percent(), 80);
  level(61);
  EXPECT_TRUE(step().empty());  // 9 points from the last record
  level(60);
  EXPECT_EQ(step(), std::vector<ChangeKind>{K::supply_level});
}

TEST_F(StorageChangeRules, ReorderPointIsReportedOnceWhenCrossedDownwards) {
  level(21);
  EXPECT_EQ(step(), std::vector<ChangeKind>{K::supply_level});
  level(20);
  EXPECT_EQ(step(), std::vector<ChangeKind>{K::supply_reorder});
  level(19);
  EXPECT_TRUE(step().empty());
  level(21);  // a wobble of one point back over the line: no record, not re-armed
  EXPECT_TRUE(step().empty());
  level(20);
  EXPECT_TRUE(step().empty());
}

TEST_F(StorageChangeRules, LowAndEmptyAreReportedOnceEach) {
  level(11);
  step();
  level(10);
  EXPECT_EQ(step(), std::vector<ChangeKind>{K::supply_low});
  level(3);
  EXPECT_TRUE(step().empty());
  level(0);
  const auto r = (advance(5 * minute), poll(dev_), fresh());
  ASSERT_EQ(kinds(r), std::vector<ChangeKind>{K::supply_empty});
  EXPECT_EQ(*r[0].get()->supply()->percent(), 0);
  level(0);
  EXPECT_TRUE(step().empty());
}

TEST_F(StorageChangeRules, ReceptacleFullIsItsEmpty) {
  testing::supply_spec waste;
  waste.index = 2;
  waste.description = "Waste Toner Box";
  waste.type = 4;
  waste.supply_class = 4;
  waste.unit = 19;
  waste.level = 30;  // 30 % space left = 70 % full
  dev_.supplies.push_back(waste);
  EXPECT_EQ(step(), std::vector<ChangeKind>{K::supply_added});
  dev_.supplies[1].level = 10;
  auto r = (advance(5 * minute), poll(dev_), fresh());
  EXPECT_EQ(kinds(r), (std::vector<ChangeKind>{K::supply_reorder, K::supply_low}));
  EXPECT_TRUE(r[1].get()->supply()->receptacle());
  EXPECT_EQ(*r[1].get()->supply()->percent(), 90);  // receptacles travel as fill percent
  dev_.supplies[1].level = 0;
  EXPECT_EQ(step(), std::vector<ChangeKind>{K::supply_empty});
  dev_.supplies[1].level = 100;  // emptied
  EXPECT_EQ(step(), std::vector<ChangeKind>{K::supply_replaced});
}

TEST_F(StorageChangeRules, AJumpUpIsAReplacementASmallRiseAReseatAWobbleNothing) {
  level(6);
  step();
  level(5);
  EXPECT_TRUE(step().empty());
  level(100);
  const auto r = (advance(5 * minute), poll(dev_), fresh());
  ASSERT_EQ(kinds(r), std::vector<ChangeKind>{K::supply_replaced});
  EXPECT_EQ(*r[0].get()->supply()->previous_level(), 5);
  EXPECT_EQ(*r[0].get()->supply()->percent(), 100);
  // Reorder/low were re-armed by the new cartridge.
  level(50);
  EXPECT_EQ(step(), std::vector<ChangeKind>{K::supply_level});
  level(52);  // +2: the device's estimate wobbling
  EXPECT_TRUE(step().empty());
  level(50);
  EXPECT_TRUE(step().empty());
  level(56);  // +6: taken out, shaken, put back
  EXPECT_EQ(step(), std::vector<ChangeKind>{K::supply_reseated});
  level(79);  // +23: still below the replacement jump
  EXPECT_EQ(step(), std::vector<ChangeKind>{K::supply_reseated});
  level(10);
  auto k = step();
  EXPECT_EQ(k, (std::vector<ChangeKind>{K::supply_reorder, K::supply_low}));
}

TEST_F(StorageChangeRules, SomeRemainingAndUnknownLevelsAreStatesNotNumbers) {
  level(-3);
  auto r = (advance(5 * minute), poll(dev_), fresh());
  ASSERT_EQ(kinds(r), std::vector<ChangeKind>{K::supply_level});
  EXPECT_EQ(r[0].get()->supply()->quality(), schema::LevelQuality::some_remaining);
  EXPECT_FALSE(r[0].get()->supply()->percent().has_value());
  EXPECT_EQ(*r[0].get()->supply()->previous_percent(), 80);
  EXPECT_TRUE(step().empty());  // still some remaining
  level(-2);
  r = (advance(5 * minute), poll(dev_), fresh());
  ASSERT_EQ(kinds(r), std::vector<ChangeKind>{K::supply_level});
  EXPECT_EQ(r[0].get()->supply()->quality(), schema::LevelQuality::unknown);
  level(-2);
  EXPECT_TRUE(step().empty());
  // No reorder/low/empty can be invented from a level that is not a number.
  level(-3);
  EXPECT_EQ(step(), std::vector<ChangeKind>{K::supply_level});
  std::vector<device_view> devs;
  ASSERT_FALSE(db_->devices(devs, true));
  ASSERT_EQ(devs.size(), 1u);
  ASSERT_TRUE(devs[0].supplies[0].fc.has_value());
  EXPECT_FALSE(devs[0].supplies[0].fc->available);
  EXPECT_THAT(devs[0].supplies[0].fc->reason, ::testing::HasSubstr("some_remaining"));
  EXPECT_FALSE(devs[0].low());
}

TEST_F(StorageChangeRules, TheDevicesOwnAlertMakesALevelLessSupplyLow) {
  level(-3);
  step();
  dev_.alerts.push_back({5, 4, 3, 11, 1, 0, 1104, "Toner almost empty", 0});  // about supply 1
  EXPECT_EQ(step(), (std::vector<ChangeKind>{K::alert_raised, K::supply_low}));
  EXPECT_TRUE(step().empty());
  dev_.alerts.clear();
  EXPECT_EQ(step(), std::vector<ChangeKind>{K::alert_cleared});
  // Re-armed: the next warning is reported again.
  dev_.alerts.push_back({6, 4, 3, 11, 1, 0, 1104, "Toner almost empty", 0});
  EXPECT_EQ(step(alerts_class), (std::vector<ChangeKind>{K::alert_raised, K::supply_low}));
}

TEST_F(StorageChangeRules, CounterDeltasArePositiveAndResetsAreEvents) {
  dev_.markers[0].life_count = 1400;
  EXPECT_TRUE(step().empty());  // 400 < threshold 500
  dev_.markers[0].life_count = 1600;
  auto r = (advance(60 * minute), poll(dev_), fresh());
  ASSERT_EQ(kinds(r), std::vector<ChangeKind>{K::counter_delta});
  EXPECT_EQ(*r[0].get()->counter()->delta(), 600u);
  EXPECT_EQ(*r[0].get()->counter()->previous(), 1000u);
  EXPECT_EQ(*r[0].get()->counter()->life_count(), 1600u);
  dev_.markers[0].life_count = 200;  // a board swap
  r = (advance(5 * minute), poll(dev_), fresh());
  ASSERT_EQ(kinds(r), std::vector<ChangeKind>{K::counter_reset});
  EXPECT_FALSE(r[0].get()->counter()->delta().has_value());
  EXPECT_EQ(*r[0].get()->counter()->previous(), 1600u);
  dev_.markers[0].life_count = 800;
  r = (advance(60 * minute), poll(dev_), fresh());
  ASSERT_EQ(kinds(r), std::vector<ChangeKind>{K::counter_delta});
  EXPECT_EQ(*r[0].get()->counter()->delta(), 600u);  // counted from the reset, never negative
}

TEST_F(StorageChangeRules, CounterDeltasWaitForTheCounterIntervalResetsDoNot) {
  // Default counter_interval: 1 h since the counter's last record (made at the first poll).
  dev_.markers[0].life_count = 1600;
  EXPECT_TRUE(step().empty());  // 600 units, but only 5 minutes
  dev_.markers[0].life_count = 2000;
  advance(50 * minute);
  poll(dev_);
  EXPECT_TRUE(fresh().empty());  // 55 minutes
  dev_.markers[0].life_count = 2100;
  auto r = step();  // 60 minutes: one record with everything since the last one
  ASSERT_EQ(r, std::vector<ChangeKind>{K::counter_delta});
  const auto all = records();
  const auto* c = all.back().get()->counter();
  EXPECT_EQ(*c->previous(), 1000u);
  EXPECT_EQ(*c->delta(), 1100u);
  // A reset is reported at once, whatever the interval.
  dev_.markers[0].life_count = 30;
  EXPECT_EQ(step(), std::vector<ChangeKind>{K::counter_reset});
  // 0 lifts the time limit: units alone decide.
  auto o = options();
  o.thresholds.counter_interval = std::chrono::seconds(0);
  open_with(o);
  dev_.markers[0].life_count = 600;
  EXPECT_EQ(step(), std::vector<ChangeKind>{K::counter_delta});
}

TEST_F(StorageChangeRules, AlertsAreRaisedAndClearedByWhatTheySayNotByIndex) {
  dev_.alerts.push_back({3, 3, 3, 13, 1, 0, 8, "Paper jam", 100});
  auto r = (advance(minute), poll(dev_), fresh());
  ASSERT_EQ(kinds(r), std::vector<ChangeKind>{K::alert_raised});
  EXPECT_EQ(*r[0].get()->alert()->code(), schema::AlertCode::jam);
  EXPECT_EQ(*r[0].get()->alert()->group(), schema::AlertGroup::mediaPath);
  dev_.alerts[0].index = 1;  // the agent rebooted and renumbered its table
  dev_.alerts[0].time_ticks = 5;
  EXPECT_TRUE(step().empty());
  dev_.alerts.clear();
  r = (advance(minute), poll(dev_), fresh());
  ASSERT_EQ(kinds(r), std::vector<ChangeKind>{K::alert_cleared});
  EXPECT_EQ(r[0].get()->alert()->description()->str(), "Paper jam");
  // A binary change event (severity 5) is raised, and leaves without a "cleared".
  dev_.alerts.push_back({9, 5, 7, 6, 1, 0, 3, "Cover opened", 0});
  EXPECT_EQ(step(), std::vector<ChangeKind>{K::alert_raised});
  dev_.alerts.clear();
  EXPECT_TRUE(step().empty());
}

TEST_F(StorageChangeRules, StatusChangesAreReportedPrintingIsNot) {
  dev_.printer_status = 4;  // printing
  EXPECT_TRUE(step().empty());
  dev_.printer_status = 3;
  EXPECT_TRUE(step().empty());
  dev_.device_status = 3;  // warning
  dev_.conditions = {13};  // input tray empty
  const auto r = (advance(minute), poll(dev_), fresh());
  ASSERT_EQ(kinds(r), std::vector<ChangeKind>{K::status_changed});
  const auto* st = r[0].get()->status();
  EXPECT_EQ(*st->hr_device_status(), schema::HrDeviceStatus::warning);
  EXPECT_EQ(*st->previous_hr_device_status(), schema::HrDeviceStatus::running);
  ASSERT_EQ(st->conditions()->size(), 1u);
  EXPECT_EQ(st->conditions()->Get(0), schema::PrinterCondition::input_tray_empty);
  EXPECT_EQ(st->previous_conditions()->size(), 0u);
}

TEST_F(StorageChangeRules, DownThenUpEachReportedOnce) {
  advance(minute);
  ASSERT_FALSE(db_->device_unreachable("127.1.0.1:1161", now_, 3, "timeout"));
  auto r = fresh();
  ASSERT_EQ(kinds(r), std::vector<ChangeKind>{K::device_down});
  EXPECT_EQ(*r[0].get()->reachability()->failed_polls(), 3u);
  EXPECT_EQ(r[0].get()->reachability()->last_error()->str(), "timeout");
  advance(minute);
  ASSERT_FALSE(db_->device_unreachable("127.1.0.1:1161", now_, 6, "timeout"));
  EXPECT_TRUE(fresh().empty());
  level(60);
  r = (advance(minute), poll(dev_), fresh());
  EXPECT_EQ(kinds(r), (std::vector<ChangeKind>{K::device_up, K::supply_level}));
  EXPECT_EQ(*r[0].get()->reachability()->failed_polls(), 6u);
  // An address never ingested has nothing to report.
  ASSERT_FALSE(db_->device_unreachable("127.9.9.9:161", now_, 3, "timeout"));
  EXPECT_TRUE(fresh().empty());
}

TEST_F(StorageChangeRules, TraysAreReportedPastTheirThresholdAndWhenEmpty) {
  dev_.trays[0].level = 400;
  EXPECT_TRUE(step().empty());
  dev_.trays[0].level = 370;
  EXPECT_EQ(step(), std::vector<ChangeKind>{K::tray_level});  // 74 % vs 100 %
  dev_.trays[0].level = 10;
  EXPECT_EQ(step(), std::vector<ChangeKind>{K::tray_level});
  dev_.trays[0].level = 0;
  EXPECT_EQ(step(), std::vector<ChangeKind>{K::tray_level});  // became empty
  dev_.trays[0].level = 500;
  EXPECT_EQ(step(), std::vector<ChangeKind>{K::tray_level});
}

TEST_F(StorageChangeRules, HeartbeatOncePerPeriodWithCounters) {
  dev_.markers[0].life_count = 1100;
  advance(23 * 60 * minute);
  poll(dev_);
  EXPECT_TRUE(fresh().empty());
  advance(60 * minute);
  poll(dev_, status_class);  // any poll: counters come from the stored state
  const auto r = fresh();
  ASSERT_EQ(kinds(r), std::vector<ChangeKind>{K::heartbeat});
  const auto* hb = r[0].get()->heartbeat();
  ASSERT_EQ(hb->counters()->size(), 1u);
  EXPECT_EQ(*hb->counters()->Get(0)->life_count(), 1100u);
  ASSERT_EQ(hb->supplies_percent()->size(), 1u);
  EXPECT_EQ(hb->supplies_percent()->Get(0), 80);
  EXPECT_TRUE(hb->up());
  advance(60 * minute);
  EXPECT_TRUE((poll(dev_), fresh()).empty());
}

TEST_F(StorageChangeRules, ClassLimitedPollsDoNotInventRemovals) {
  auto bare = dev_;
  bare.supplies.clear();
  bare.trays.clear();
  bare.markers.clear();
  bare.alerts.clear();
  advance(minute);
  poll(bare, status_class | alerts_class);  // a status poll has no supplies: not "removed"
  EXPECT_TRUE(fresh().empty());
  advance(minute);
  poll(bare, counters_class);
  EXPECT_TRUE(fresh().empty());
  // A supplies poll that misses a row once is a glitch; twice in a row it is a removal.
  advance(minute);
  poll(bare, supplies_class);
  EXPECT_TRUE(fresh().empty());
  advance(minute);
  poll(bare, supplies_class);
  EXPECT_EQ(kinds(fresh()), std::vector<ChangeKind>{K::supply_removed});
  advance(minute);
  poll(dev_, supplies_class);
  EXPECT_EQ(kinds(fresh()), (std::vector<ChangeKind>{K::supply_added, K::tray_level}));
}

}  // namespace
}  // namespace fleetpoll::storage::test
