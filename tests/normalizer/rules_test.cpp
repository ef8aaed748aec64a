// One test per normalization rule (docs/normalization.md). Inputs are written here, not copied
// from recordings.
#include <gtest/gtest.h>

#include <string>

#include "fleetpoll/codecs/normalize.hpp"
#include "fleetpoll/codecs/snapshot_json.hpp"
#include "test_support.hpp"

namespace fleetpoll {
namespace {

using codecs::clean_description;
using codecs::infer_colorant;
using schema::LevelQuality;
using schema::PrinterCondition;
using test::str;

const std::string supplies = "1.3.6.1.2.1.43.11.1.1.";

// ---- descriptions -------------------------------------------------------------------------

TEST(CleanDescription, JoinsHpSplitLinesOfHexPairs) {
  // "Cyan Toner Cart" + "ridge 123A" (hex pairs, NUL terminated) on the next lines.
  std::string raw = "Cyan Toner Cart\n72 69 64 67 65 20 31 32 33 41 \n00 ";
  EXPECT_EQ(clean_description(raw), "Cyan Toner Cartridge 123A");
}

TEST(CleanDescription, SplitAfterABlankKeepsTheBlank) {
  std::string raw = "Black Drum \n31 32 41 00 ";
  EXPECT_EQ(clean_description(raw), "Black Drum 12A");
}

TEST(CleanDescription, TextContinuationLinesAreJoinedWithABlank) {
  EXPECT_EQ(clean_description("Toner\nBlack"), "Toner Black");
}

TEST(CleanDescription, WholeDescriptionOfSpacedHexPairsIsDecodedAsUtf8) {
  // 黑色 as net-snmp would print it.
  EXPECT_EQ(clean_description("E9 BB 91 E8 89 B2"), "\xe9\xbb\x91\xe8\x89\xb2");
}

TEST(CleanDescription, HexThatIsNotTextStaysLiteral) {
  EXPECT_EQ(clean_description("CAFE"), "CAFE");          // no spaces: a word, not hex
  EXPECT_EQ(clean_description("AB"), "AB");              // a single pair is not enough
  EXPECT_EQ(clean_description("01 02 03"), "01 02 03");  // decodes to control characters
}

TEST(CleanDescription, NulPaddingIsRemoved) {
  EXPECT_EQ(clean_description(std::string("Waste Toner\0\0\0\0", 15)), "Waste Toner");
}

TEST(CleanDescription, PartNumberTailIsCut) {
  EXPECT_EQ(clean_description("Magenta Toner, PN 123R456;SN99AA"), "Magenta Toner");
  EXPECT_EQ(clean_description("Fuser, PN unknown;SNunknown"), "Fuser");
  EXPECT_EQ(clean_description("Fuser Kit 110V-A1, 220V-B2"), "Fuser Kit 110V-A1, 220V-B2");
}

TEST(CleanDescription, InvalidUtf8IsReadAsLatin1AndBlanksCollapse) {
  EXPECT_EQ(clean_description("Toner  noir\t\xe9"), "Toner noir \xc3\xa9");
  EXPECT_EQ(clean_description("  padded  "), "padded");
}

// ---- colorants ----------------------------------------------------------------------------

TEST(InferColorant, FromDescriptionWords) {
  EXPECT_EQ(infer_colorant("Toner (Magenta)"), "magenta");
  EXPECT_EQ(infer_colorant("Black Cartridge 12A"), "black");
  EXPECT_EQ(infer_colorant("Yellow Image Drum Unit"), "yellow");
  EXPECT_EQ(infer_colorant("Photo Ink Matte Black"), "matte black");
  EXPECT_EQ(infer_colorant("Light Cyan Ink"), "light cyan");
  EXPECT_EQ(infer_colorant("Toner Schwarz"), "black");
  EXPECT_EQ(infer_colorant("\xe9\xbb\x83\xe8\x89\xb2"), "yellow");               // 黃色
  EXPECT_EQ(infer_colorant("\xe6\xb4\x8b\xe7\xb4\x85\xe8\x89\xb2"), "magenta");  // 洋紅色
}

TEST(InferColorant, NoneWhenNoColourWord) {
  EXPECT_EQ(infer_colorant("Drum Cartridge (R1)"), "");
  EXPECT_EQ(infer_colorant("Waste Toner Container"), "");
  EXPECT_EQ(infer_colorant("Blackberry Kit"), "");  // whole words only
  EXPECT_EQ(infer_colorant(""), "");
}

TEST(InferColorant, FirstColourInTheTextWins) {
  EXPECT_EQ(infer_colorant("Cyan/Magenta Drum"), "cyan");
}

// ---- hrPrinterDetectedErrorState ------------------------------------------------------------

TEST(ErrorState, FirstOctetBitsMostSignificantFirst) {
  EXPECT_EQ(codecs::decode_error_state(std::string("\x80", 1)),
            std::vector{PrinterCondition::low_paper});
  EXPECT_EQ(codecs::decode_error_state(std::string("\x20", 1)),
            std::vector{PrinterCondition::low_toner});
  EXPECT_EQ(codecs::decode_error_state(std::string("\x01", 1)),
            std::vector{PrinterCondition::service_requested});
  EXPECT_EQ(codecs::decode_error_state(std::string("\x0c", 1)),
            (std::vector{PrinterCondition::door_open, PrinterCondition::jammed}));
}

TEST(ErrorState, SecondOctetIsDecodedToo) {
  EXPECT_EQ(codecs::decode_error_state(std::string("\x00\x80", 2)),
            std::vector{PrinterCondition::input_tray_missing});
  EXPECT_EQ(codecs::decode_error_state(std::string("\x00\x04", 2)),
            std::vector{PrinterCondition::input_tray_empty});
  EXPECT_EQ(codecs::decode_error_state(std::string("\x00\x02", 2)),
            std::vector{PrinterCondition::overdue_prevent_maint});
  EXPECT_EQ(codecs::decode_error_state(std::string("\x40\x20", 2)),
            (std::vector{PrinterCondition::no_paper, PrinterCondition::marker_supply_missing}));
}

TEST(ErrorState, UnnamedBitsAndEmptyStringGiveNoCondition) {
  EXPECT_TRUE(
      codecs::decode_error_state(std::string("\x00\x01", 2)).empty());  // bit 15: not defined
  EXPECT_TRUE(codecs::decode_error_state(std::string("\x00\x00\xff", 3)).empty());
  EXPECT_TRUE(codecs::decode_error_state("").empty());
}

// ---- level judgement ----------------------------------------------------------------------------

codecs::level_judgement judge(std::optional<std::int64_t> level, std::optional<std::int64_t> max,
                              std::optional<std::int32_t> unit = std::nullopt, bool pct100 = true,
                              bool codes = false) {
  codecs::level_input in;
  in.level = level;
  in.max_capacity = max;
  in.unit = unit;
  in.capacity_100_means_percent = pct100;
  in.status_codes = codes;
  return codecs::judge_level(in);
}

TEST(JudgeLevel, SpecialValuesGetAQualityAndNoPercent) {
  EXPECT_EQ(judge(-1, 100).quality, LevelQuality::unrestricted);
  EXPECT_EQ(judge(-2, 100).quality, LevelQuality::unknown);
  EXPECT_EQ(judge(-3, -2).quality, LevelQuality::some_remaining);
  EXPECT_EQ(judge(-100, 100).quality, LevelQuality::invalid);
  for (auto l : {-1, -2, -3, -100}) EXPECT_FALSE(judge(l, 100).percent) << l;
}

TEST(JudgeLevel, MissingLevelIsMissingNotZero) {
  auto j = judge(std::nullopt, 100);
  EXPECT_EQ(j.quality, LevelQuality::missing);
  EXPECT_FALSE(j.percent);
}

TEST(JudgeLevel, NoUsableCapacityGivesNoPercent) {
  EXPECT_EQ(judge(100, -2).quality, LevelQuality::no_capacity);
  EXPECT_EQ(judge(5, -1).quality, LevelQuality::no_capacity);
  EXPECT_EQ(judge(5, 0).quality, LevelQuality::no_capacity);
  EXPECT_EQ(judge(5, std::nullopt).quality, LevelQuality::no_capacity);
  EXPECT_FALSE(judge(100, -2).percent);
}

TEST(JudgeLevel, LevelAboveCapacityIsInvalid) {
  auto j = judge(120, 100);
  EXPECT_EQ(j.quality, LevelQuality::invalid);
  EXPECT_FALSE(j.percent);
}

TEST(JudgeLevel, ExactLevelsRoundHalfUp) {
  EXPECT_EQ(judge(22050, 45000).percent, 49);
  EXPECT_EQ(judge(11501, 12000).percent, 96);
  EXPECT_EQ(judge(1, 200).percent, 1);  // 0.5 -> 1
  EXPECT_EQ(judge(0, 550).percent, 0);
  EXPECT_EQ(judge(22050, 45000).quality, LevelQuality::exact);
}

TEST(JudgeLevel, PercentScales) {
  EXPECT_EQ(judge(37, 100, 19).quality, LevelQuality::percent_only);  // unit percent
  EXPECT_EQ(judge(37, 100, std::nullopt).quality,
            LevelQuality::percent_only);  // 100, no unit (supplies)
  EXPECT_EQ(judge(37, 100, std::nullopt, false).quality, LevelQuality::exact);  // trays: 100 sheets
  EXPECT_EQ(judge(37, 100, 8).quality, LevelQuality::exact);                    // 100 sheets
  EXPECT_EQ(judge(37, 100, 19).percent, 37);
}

TEST(JudgeLevel, StatusCodesAreNotLevels) {
  auto j = judge(2, -2, std::nullopt, true, /*codes=*/true);
  EXPECT_EQ(j.quality, LevelQuality::status_code);
  EXPECT_FALSE(j.percent);
  EXPECT_EQ(judge(11501, 12000, std::nullopt, true, true).quality, LevelQuality::exact);
}

// ---- through normalize()
// ---------------------------------------------------------------------------

const schema::Supply* supply(const schema::DeviceSnapshot* s, std::uint32_t index) {
  if (!s->supplies()) return nullptr;
  for (const auto* sp : *s->supplies())
    if (sp->index() == index) return sp;
  return nullptr;
}

TEST(Normalize, MissingColumnsStayAbsent) {
  auto buf = test::normalize_checked(test::view_of(supplies + "6.1.1|4|Some Supply\n"));
  const auto* s = codecs::snapshot_of(buf);
  ASSERT_EQ(s->supplies()->size(), 1u);
  const auto* sp = supply(s, 1);
  EXPECT_EQ(str(sp->description()), "Some Supply");
  EXPECT_FALSE(sp->level());
  EXPECT_FALSE(sp->max_capacity());
  EXPECT_FALSE(sp->type());
  EXPECT_FALSE(sp->supply_class());
  EXPECT_FALSE(sp->unit());
  EXPECT_FALSE(sp->marker_index());
  EXPECT_FALSE(sp->remaining_percent());
  EXPECT_FALSE(sp->fill_percent());
  EXPECT_EQ(sp->quality(), LevelQuality::missing);
  EXPECT_FALSE(s->status());  // no Host-Resources printer device: no status at all
  EXPECT_FALSE(s->identity()->sys_uptime_ticks());
  EXPECT_EQ(s->identity()->model_source(), schema::Source::unknown);
  // JSON leaves absent fields out.
  auto j = codecs::snapshot_to_json(*s).as_object();
  const auto& row = j.at("supplies").as_array().at(0).as_object();
  EXPECT_FALSE(row.contains("level"));
  EXPECT_FALSE(row.contains("max_capacity"));
  EXPECT_FALSE(row.contains("remaining_percent"));
  EXPECT_EQ(row.at("quality").as_string(), "missing");
}

TEST(Normalize, ReceptaclesReportFillNotRemaining) {
  // RFC 3805: a receptacle's level is the space left. 30 of 200 left = 85 % full.
  auto buf = test::normalize_checked(test::view_of(
      supplies + "4.1.1|2|4\n" + supplies + "5.1.1|2|4\n" + supplies + "6.1.1|4|Waste Box\n" +
      supplies + "8.1.1|2|200\n" + supplies + "9.1.1|2|30\n"));
  const auto* sp = supply(codecs::snapshot_of(buf), 1);
  EXPECT_TRUE(sp->receptacle());
  EXPECT_EQ(sp->fill_percent(), 85);
  EXPECT_FALSE(sp->remaining_percent());
  EXPECT_EQ(sp->quality(), LevelQuality::exact);
}

TEST(Normalize, WasteTypeOrWasteWordMakesAReceptacleWithoutTheClassColumn) {
  auto buf = test::normalize_checked(
      test::view_of(supplies + "5.1.1|2|8\n" + supplies + "8.1.1|2|100\n" + supplies +
                    "9.1.1|2|90\n" +  // wasteInk, no class
                    supplies + "6.1.2|4|Waste Toner Box\n" + supplies + "8.1.2|2|100\n" + supplies +
                    "9.1.2|2|-3\n" + supplies + "5.1.3|2|3\n" + supplies + "8.1.3|2|100\n" +
                    supplies + "9.1.3|2|90\n"));
  const auto* s = codecs::snapshot_of(buf);
  EXPECT_TRUE(supply(s, 1)->receptacle());
  EXPECT_EQ(supply(s, 1)->fill_percent(), 10);
  EXPECT_TRUE(supply(s, 2)->receptacle());
  EXPECT_EQ(supply(s, 2)->quality(), LevelQuality::some_remaining);
  EXPECT_FALSE(supply(s, 2)->fill_percent());
  EXPECT_FALSE(supply(s, 3)->receptacle());
  EXPECT_EQ(supply(s, 3)->remaining_percent(), 90);
}

TEST(Normalize, ExplicitConsumedClassWinsOverTheWord) {
  auto buf = test::normalize_checked(
      test::view_of(supplies + "4.1.1|2|3\n" + supplies + "6.1.1|4|Waste Toner\n"));
  EXPECT_FALSE(supply(codecs::snapshot_of(buf), 1)->receptacle());
}

TEST(Normalize, QualityFlagsForSpecialLevels) {
  auto buf = test::normalize_checked(test::view_of(
      supplies + "8.1.1|2|100\n" + supplies + "9.1.1|2|-1\n" + supplies + "8.1.2|2|100\n" +
      supplies + "9.1.2|2|-2\n" + supplies + "8.1.3|2|-2\n" + supplies + "9.1.3|2|-3\n"));
  const auto* s = codecs::snapshot_of(buf);
  EXPECT_EQ(supply(s, 1)->quality(), LevelQuality::unrestricted);
  EXPECT_EQ(supply(s, 2)->quality(), LevelQuality::unknown);
  EXPECT_EQ(supply(s, 3)->quality(), LevelQuality::some_remaining);
  for (std::uint32_t i = 1; i <= 3; ++i) {
    EXPECT_FALSE(supply(s, i)->remaining_percent()) << i;
    EXPECT_FALSE(supply(s, i)->fill_percent()) << i;
  }
  EXPECT_EQ(supply(s, 1)->level(), -1);  // raw kept next to the judgement
  EXPECT_EQ(supply(s, 3)->max_capacity(), -2);
}

TEST(Normalize, ColorantFromTheColorantTableBeatsTheDescription) {
  auto buf = test::normalize_checked(
      test::view_of("1.3.6.1.2.1.43.12.1.1.4.1.7|4|Cyan\n" + supplies + "3.1.1|2|7\n" + supplies +
                    "6.1.1|4|Black Toner\n" + supplies + "3.1.2|2|9\n" + supplies +
                    "6.1.2|4|Yellow Toner\n" +  // colorant 9 not in the table
                    supplies + "3.1.3|2|0\n" + supplies + "6.1.3|4|Fuser\n"));
  const auto* s = codecs::snapshot_of(buf);
  EXPECT_EQ(str(supply(s, 1)->colorant()), "cyan");
  EXPECT_EQ(supply(s, 1)->colorant_source(), schema::ColorantSource::colorant_table);
  EXPECT_EQ(str(supply(s, 2)->colorant()), "yellow");
  EXPECT_EQ(supply(s, 2)->colorant_source(), schema::ColorantSource::description);
  EXPECT_FALSE(supply(s, 3)->colorant());
  EXPECT_EQ(supply(s, 3)->colorant_source(), schema::ColorantSource::none);
  ASSERT_EQ(s->colorants()->size(), 1u);
  EXPECT_EQ(str(s->colorants()->Get(0)->value()), "Cyan");
}

TEST(Normalize, StatusDecodesBothOctetsOfThePrinterDevice) {
  auto buf = test::normalize_checked(
      test::view_of("1.3.6.1.2.1.25.3.2.1.2.1|6|1.3.6.1.2.1.25.3.1.3\n"  // a processor first
                    "1.3.6.1.2.1.25.3.2.1.2.2|6|1.3.6.1.2.1.25.3.1.5\n"  // the printer
                    "1.3.6.1.2.1.25.3.2.1.5.1|2|2\n"
                    "1.3.6.1.2.1.25.3.2.1.5.2|2|3\n"
                    "1.3.6.1.2.1.25.3.5.1.1.2|2|5\n"
                    "1.3.6.1.2.1.25.3.5.1.2.2|4x|2004\n"));
  const auto* st = codecs::snapshot_of(buf)->status();
  ASSERT_NE(st, nullptr);
  EXPECT_EQ(st->hr_device_status(), schema::HrDeviceStatus::warning);
  EXPECT_EQ(st->hr_printer_status(), schema::HrPrinterStatus::warmup);
  EXPECT_FALSE(st->hr_device_errors());
  ASSERT_EQ(st->conditions()->size(), 2u);
  EXPECT_EQ(st->conditions()->Get(0), PrinterCondition::low_toner);
  EXPECT_EQ(st->conditions()->Get(1), PrinterCondition::input_tray_empty);
  EXPECT_EQ(st->detected_error_state()->size(), 2u);
}

TEST(Normalize, CountersKeepTheirUnitAndAbsentColumns) {
  auto buf = test::normalize_checked(
      test::view_of("1.3.6.1.2.1.43.10.2.1.3.1.1|2|8\n1.3.6.1.2.1.43.10.2.1.4.1.1|65|4000000000\n"
                    "1.3.6.1.2.1.43.10.2.1.4.1.2|65|7\n"));
  const auto* s = codecs::snapshot_of(buf);
  ASSERT_EQ(s->markers()->size(), 2u);
  const auto* m1 = s->markers()->Get(0);
  EXPECT_EQ(m1->counter_unit(), schema::Unit::sheets);
  EXPECT_EQ(m1->life_count(), 4000000000u);
  EXPECT_FALSE(m1->power_on_count());
  const auto* m2 = s->markers()->Get(1);
  EXPECT_FALSE(m2->counter_unit());
  EXPECT_EQ(m2->life_count(), 7u);
}

TEST(Normalize, ContactIsLeftOutUnlessConfigured) {
  auto view = test::view_of("1.3.6.1.2.1.1.4.0|4|Jane Doe\n1.3.6.1.2.1.1.5.0|4|printer-7\n");
  auto without = test::normalize_checked(view);
  EXPECT_FALSE(codecs::snapshot_of(without)->identity()->sys_contact());
  EXPECT_EQ(str(codecs::snapshot_of(without)->identity()->sys_name()), "printer-7");
  codecs::normalize_options o;
  o.include_contact = true;
  auto with = test::normalize_checked(view, o);
  EXPECT_EQ(str(codecs::snapshot_of(with)->identity()->sys_contact()), "Jane Doe");
}

TEST(Normalize, MacIsTheFirstEthernetInterfaceWithARealAddress) {
  auto buf = test::normalize_checked(test::view_of(
      "1.3.6.1.2.1.2.2.1.3.1|2|24\n1.3.6.1.2.1.2.2.1.6.1|4x|0102030405aa\n"  // loopback
      "1.3.6.1.2.1.2.2.1.3.2|2|6\n1.3.6.1.2.1.2.2.1.6.2|4x|000000000000\n"   // zero
      "1.3.6.1.2.1.2.2.1.3.3|2|6\n1.3.6.1.2.1.2.2.1.6.3|4x|A0B1C2D3E4F5\n"
      "1.3.6.1.2.1.2.2.1.3.4|2|6\n1.3.6.1.2.1.2.2.1.6.4|4x|0A0B0C0D0E0F\n"));
  const auto* id = codecs::snapshot_of(buf)->identity();
  EXPECT_EQ(str(id->mac()), "a0:b1:c2:d3:e4:f5");
  EXPECT_EQ(id->mac_if_index(), 3u);
}

TEST(Normalize, SerialFallsBackFromPrinterMibToVendorMibToSysDescr) {
  // prtGeneralSerialNumber wins.
  auto a = test::normalize_checked(test::view_of(
      "1.3.6.1.2.1.43.5.1.1.17.1|4|PRT123\n1.3.6.1.4.1.367.3.2.1.2.1.4.0|4|VENDOR1\n"));
  EXPECT_EQ(str(codecs::snapshot_of(a)->identity()->serial()), "PRT123");
  EXPECT_EQ(codecs::snapshot_of(a)->identity()->serial_source(), schema::Source::printer_mib);
  // Then a vendor OID; unprintable values are not believed.
  auto b = test::normalize_checked(
      test::view_of("1.3.6.1.4.1.11.2.3.9.4.2.1.1.3.3.0|4x|0115414243440a\n1.3.6.1.4.1.367.3.2.1.2."
                    "1.4.0|4|VENDOR1\n"));
  EXPECT_EQ(str(codecs::snapshot_of(b)->identity()->serial()), "VENDOR1");
  EXPECT_EQ(codecs::snapshot_of(b)->identity()->serial_source(), schema::Source::vendor_mib);
  // Then sysDescr.
  auto c = test::normalize_checked(
      test::view_of("1.3.6.1.2.1.1.1.0|4|HP ETHERNET MULTI-ENVIRONMENT,SN:XYZ987,FN:1\n"));
  EXPECT_EQ(str(codecs::snapshot_of(c)->identity()->serial()), "XYZ987");
  EXPECT_EQ(codecs::snapshot_of(c)->identity()->serial_source(), schema::Source::sys_descr);
}

TEST(Normalize, WrongValueTypesAreIgnoredNotMisread) {
  auto buf = test::normalize_checked(test::view_of(supplies + "8.1.1|4|100\n" + supplies +
                                                   "9.1.1|4|50\n" + supplies +
                                                   "6.1.1|2|7\n"
                                                   "1.3.6.1.2.1.1.2.0|4|1.3.6.1.4.1.11\n"));
  const auto* s = codecs::snapshot_of(buf);
  const auto* sp = supply(s, 1);
  EXPECT_FALSE(sp->level());
  EXPECT_FALSE(sp->max_capacity());
  EXPECT_FALSE(sp->description());
  EXPECT_FALSE(s->identity()->sys_object_id());
  EXPECT_FALSE(s->identity()->enterprise());
}

TEST(Normalize, RowsNeedTheFullIndex) {
  // A supplies cell with a one-arc index is not a row.
  auto buf =
      test::normalize_checked(test::view_of(supplies + "9.1|2|50\n" + supplies + "9.1.2.3|2|50\n"));
  EXPECT_EQ(codecs::snapshot_of(buf)->supplies()->size(), 0u);
}

TEST(Normalize, EmptyViewGivesAnEmptyButValidSnapshot) {
  auto buf = test::normalize_checked(codecs::mib_view{});
  const auto* s = codecs::snapshot_of(buf);
  EXPECT_EQ(s->schema_version(), 1);
  EXPECT_FALSE(s->has_printer_mib());
  EXPECT_EQ(s->supplies()->size(), 0u);
  EXPECT_EQ(s->identity()->vendor_source(), schema::Source::unknown);
  EXPECT_FALSE(s->polled_at_ms());
}

TEST(Normalize, OptionsAreCopied) {
  codecs::normalize_options o;
  o.polled_at_ms = 1700000000123u;
  o.source = "a.snmprec";
  auto buf = test::normalize_checked(codecs::mib_view{}, o);
  EXPECT_EQ(codecs::snapshot_of(buf)->polled_at_ms(), 1700000000123u);
  EXPECT_EQ(str(codecs::snapshot_of(buf)->source()), "a.snmprec");
}

}  // namespace
}  // namespace fleetpoll
