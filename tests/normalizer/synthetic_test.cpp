// The synthetic fixtures in tests/fixtures (see its README): alerts, receptacles, special levels,
// colorant table, counters — what no real recording carries.
#include <gtest/gtest.h>

#include "fleetpoll/codecs/snapshot_json.hpp"
#include "test_support.hpp"

namespace fleetpoll {
namespace {

namespace s = fleetpoll::schema;
using test::str;

flatbuffers::DetachedBuffer load(const char* name) {
  return test::normalize_checked(test::load_device(test::test_fixtures_dir() / name));
}

const s::Supply* supply(const s::DeviceSnapshot* snap, std::uint32_t i) {
  for (const auto* sp : *snap->supplies())
    if (sp->index() == i) return sp;
  return nullptr;
}

TEST(SyntheticColorMfp, Identity) {
  auto buf = load("synthetic_color_mfp.snmprec");
  const auto* id = codecs::snapshot_of(buf)->identity();
  EXPECT_EQ(str(id->vendor()), "Ricoh");
  EXPECT_EQ(str(id->model()), "IM C3000");
  EXPECT_EQ(id->model_source(), s::Source::vendor_mib);
  EXPECT_EQ(str(id->serial()), "3100R800123");
  EXPECT_EQ(id->serial_source(), s::Source::printer_mib);
  EXPECT_EQ(str(id->firmware()), "1.02");
  EXPECT_EQ(str(id->mac()), "00:26:73:a1:b2:c3");
  EXPECT_EQ(id->enterprise(), 367u);
  EXPECT_EQ(id->sys_uptime_ticks(), 86400000u);
  EXPECT_EQ(str(id->printer_name()), "IM C3000 Floor 2");
  EXPECT_FALSE(id->sys_contact());
}

TEST(SyntheticColorMfp, StatusBothOctets) {
  auto buf = load("synthetic_color_mfp.snmprec");
  const auto* st = codecs::snapshot_of(buf)->status();
  ASSERT_NE(st, nullptr);
  EXPECT_EQ(st->hr_device_status(), s::HrDeviceStatus::warning);
  EXPECT_EQ(st->hr_printer_status(), s::HrPrinterStatus::idle);
  std::vector<s::PrinterCondition> got(st->conditions()->begin(), st->conditions()->end());
  EXPECT_EQ(got, (std::vector{s::PrinterCondition::low_toner, s::PrinterCondition::door_open,
                              s::PrinterCondition::jammed, s::PrinterCondition::input_tray_empty,
                              s::PrinterCondition::overdue_prevent_maint}));
}

TEST(SyntheticColorMfp, SuppliesQualitiesAndColorants) {
  auto buf = load("synthetic_color_mfp.snmprec");
  const auto* snap = codecs::snapshot_of(buf);
  ASSERT_EQ(snap->supplies()->size(), 9u);
  // Toner in tenths of grams: exact percents.
  EXPECT_EQ(supply(snap, 1)->quality(), s::LevelQuality::exact);
  EXPECT_EQ(supply(snap, 1)->remaining_percent(), 50);
  EXPECT_EQ(supply(snap, 1)->unit(), s::Unit::tenthsOfGrams);
  EXPECT_EQ(supply(snap, 2)->remaining_percent(), 5);
  EXPECT_EQ(supply(snap, 3)->quality(), s::LevelQuality::some_remaining);
  EXPECT_FALSE(supply(snap, 3)->remaining_percent());
  EXPECT_EQ(supply(snap, 4)->remaining_percent(), 100);
  // Colorants come from prtMarkerColorantTable.
  const char* colours[] = {"black", "cyan", "magenta", "yellow"};
  for (std::uint32_t i = 1; i <= 4; ++i) {
    EXPECT_EQ(str(supply(snap, i)->colorant()), colours[i - 1]);
    EXPECT_EQ(supply(snap, i)->colorant_source(), s::ColorantSource::colorant_table);
  }
  EXPECT_EQ(str(supply(snap, 6)->colorant()), "black");  // drum, colorant index 1
  // Waste toner: a receptacle with 12 % space left is 88 % full.
  EXPECT_TRUE(supply(snap, 5)->receptacle());
  EXPECT_EQ(supply(snap, 5)->supply_class(), s::SupplyClass::receptacleThatIsFilled);
  EXPECT_EQ(supply(snap, 5)->fill_percent(), 88);
  EXPECT_FALSE(supply(snap, 5)->remaining_percent());
  EXPECT_EQ(supply(snap, 5)->quality(), s::LevelQuality::percent_only);
  // -1, -2, -3.
  EXPECT_EQ(supply(snap, 7)->quality(), s::LevelQuality::unrestricted);
  EXPECT_EQ(supply(snap, 8)->quality(), s::LevelQuality::unknown);
  EXPECT_EQ(supply(snap, 9)->quality(), s::LevelQuality::some_remaining);
  EXPECT_EQ(supply(snap, 9)->max_capacity(), 5000);
  EXPECT_EQ(supply(snap, 9)->type(), s::SupplyType::staples);
  EXPECT_EQ(supply(snap, 9)->unit(), s::Unit::items);
}

TEST(SyntheticColorMfp, TraysAndCounters) {
  auto buf = load("synthetic_color_mfp.snmprec");
  const auto* snap = codecs::snapshot_of(buf);
  ASSERT_EQ(snap->trays()->size(), 4u);
  const auto* bypass = snap->trays()->Get(0);
  EXPECT_EQ(str(bypass->name()), "Bypass Tray");
  EXPECT_EQ(bypass->type(), s::InputType::sheetFeedManual);
  EXPECT_EQ(bypass->quality(), s::LevelQuality::some_remaining);
  EXPECT_FALSE(bypass->percent());
  EXPECT_EQ(snap->trays()->Get(1)->percent(), 58);  // 320/550
  EXPECT_EQ(snap->trays()->Get(2)->percent(), 0);
  EXPECT_EQ(snap->trays()->Get(3)->quality(), s::LevelQuality::unknown);
  EXPECT_EQ(str(snap->trays()->Get(2)->media_name()), "Recycled");
  ASSERT_EQ(snap->markers()->size(), 1u);
  EXPECT_EQ(snap->markers()->Get(0)->life_count(), 184523u);
  EXPECT_EQ(snap->markers()->Get(0)->power_on_count(), 1204u);
  EXPECT_EQ(snap->markers()->Get(0)->counter_unit(), s::Unit::impressions);
  ASSERT_EQ(snap->colorants()->size(), 4u);
  EXPECT_EQ(snap->colorants()->Get(0)->role(), s::ColorantRole::process);
  EXPECT_EQ(snap->colorants()->Get(0)->tonality(), 256);
}

TEST(SyntheticColorMfp, AlertTableFullRows) {
  auto buf = load("synthetic_color_mfp.snmprec");
  const auto* snap = codecs::snapshot_of(buf);
  ASSERT_EQ(snap->alerts()->size(), 6u);
  const auto* jam = snap->alerts()->Get(0);
  EXPECT_EQ(jam->hr_device_index(), 1u);
  EXPECT_EQ(jam->index(), 1u);
  EXPECT_EQ(jam->severity(), s::AlertSeverity::critical);
  EXPECT_EQ(jam->training_level(), s::AlertTrainingLevel::untrained);
  EXPECT_EQ(jam->group(), s::AlertGroup::mediaPath);
  EXPECT_EQ(jam->group_index(), 1);
  EXPECT_EQ(jam->location(), -2);
  EXPECT_EQ(jam->code(), s::AlertCode::jam);
  EXPECT_EQ(jam->time_ticks(), 86001200u);
  const auto* door = snap->alerts()->Get(1);
  EXPECT_EQ(door->code(), s::AlertCode::doorOpen);
  EXPECT_EQ(str(door->description()), "Front cover open");
  const auto* toner = snap->alerts()->Get(2);
  EXPECT_EQ(toner->severity(), s::AlertSeverity::warning);
  EXPECT_EQ(toner->training_level(), s::AlertTrainingLevel::trained);
  EXPECT_EQ(toner->group(), s::AlertGroup::markerSupplies);
  EXPECT_EQ(toner->group_index(), 2);  // the cyan supply
  EXPECT_EQ(toner->code(), s::AlertCode::markerTonerAlmostEmpty);
  EXPECT_EQ(snap->alerts()->Get(3)->code(), s::AlertCode::markerWasteTonerReceptacleAlmostFull);
  EXPECT_EQ(snap->alerts()->Get(3)->training_level(), s::AlertTrainingLevel::fieldService);
  EXPECT_EQ(snap->alerts()->Get(4)->code(), s::AlertCode::inputMediaSupplyEmpty);
  EXPECT_EQ(snap->alerts()->Get(5)->training_level(), s::AlertTrainingLevel::management);
}

TEST(SyntheticMonoTonerEmpty, DownWithTonerEmptyAlert) {
  auto buf = load("synthetic_mono_toner_empty.snmprec");
  const auto* snap = codecs::snapshot_of(buf);
  EXPECT_EQ(str(snap->identity()->vendor()), "Brother");
  EXPECT_EQ(str(snap->identity()->model()), "HL-L5100DN");
  ASSERT_NE(snap->status(), nullptr);
  EXPECT_EQ(snap->status()->hr_device_status(), s::HrDeviceStatus::down);
  EXPECT_EQ(snap->status()->hr_device_errors(), 3u);
  std::vector<s::PrinterCondition> got(snap->status()->conditions()->begin(),
                                       snap->status()->conditions()->end());
  EXPECT_EQ(got, (std::vector{s::PrinterCondition::no_toner, s::PrinterCondition::offline,
                              s::PrinterCondition::marker_supply_missing}));
  // Brother toner level 2 is a status code, not 2 %.
  EXPECT_EQ(supply(snap, 1)->quality(), s::LevelQuality::status_code);
  EXPECT_EQ(supply(snap, 1)->level(), 2);
  EXPECT_FALSE(supply(snap, 1)->remaining_percent());
  EXPECT_EQ(supply(snap, 2)->remaining_percent(), 98);  // 29400/30000
  ASSERT_EQ(snap->alerts()->size(), 2u);
  EXPECT_EQ(snap->alerts()->Get(0)->code(), s::AlertCode::markerTonerEmpty);
  EXPECT_EQ(snap->alerts()->Get(0)->severity(), s::AlertSeverity::critical);
  EXPECT_EQ(snap->alerts()->Get(1)->severity(), s::AlertSeverity::warningBinaryChangeEvent);
  EXPECT_EQ(snap->alerts()->Get(1)->code(), s::AlertCode::subunitOffline);
  EXPECT_EQ(snap->alerts()->Get(1)->training_level(),
            s::AlertTrainingLevel::noInterventionRequired);
  EXPECT_EQ(snap->markers()->Get(0)->counter_unit(), s::Unit::sheets);
}

TEST(SyntheticAlertEdges, AbsentColumnsStayAbsentAndUnknownCodesStayRaw) {
  auto buf = load("synthetic_alert_edges.snmprec");
  const auto* snap = codecs::snapshot_of(buf);
  ASSERT_EQ(snap->alerts()->size(), 3u);
  const auto* a = snap->alerts()->Get(0);
  EXPECT_EQ(a->severity(), s::AlertSeverity::other);
  EXPECT_EQ(a->training_level(), s::AlertTrainingLevel::noInterventionRequired);
  EXPECT_EQ(a->group(), s::AlertGroup::finDevice);
  EXPECT_EQ(a->location(), 12);
  EXPECT_EQ(a->code(), s::AlertCode::subunitAtLimit);
  const auto* sparse = snap->alerts()->Get(1);
  EXPECT_EQ(sparse->index(), 7u);
  EXPECT_EQ(sparse->severity(), s::AlertSeverity::critical);
  EXPECT_EQ(sparse->code(), s::AlertCode::markerTonerCartridgeMissing);
  EXPECT_FALSE(sparse->training_level());
  EXPECT_FALSE(sparse->group());
  EXPECT_FALSE(sparse->group_index());
  EXPECT_FALSE(sparse->location());
  EXPECT_FALSE(sparse->description());
  EXPECT_FALSE(sparse->time_ticks());
  const auto* vendor = snap->alerts()->Get(2);
  EXPECT_EQ(vendor->hr_device_index(), 2u);
  EXPECT_EQ(static_cast<int>(*vendor->code()), 40001);
  EXPECT_EQ(vendor->group_index(), -1);
  EXPECT_EQ(vendor->time_ticks(), 0u);  // present and zero is not absent
  EXPECT_EQ(str(vendor->description()), "Overheat \xe2\x80\x93 cooling");
  // JSON: names for known enum values, the number for an unknown code.
  auto j = codecs::snapshot_to_json(*snap).as_object();
  const auto& alerts = j.at("alerts").as_array();
  EXPECT_EQ(alerts.at(0).at("group").as_string(), "finDevice");
  EXPECT_FALSE(alerts.at(1).as_object().contains("description"));
  EXPECT_EQ(alerts.at(2).at("code").as_int64(), 40001);
}

}  // namespace
}  // namespace fleetpoll
