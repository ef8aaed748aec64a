// Identification-only recordings (no Printer-MIB; see the fixtures README, section B): each gives
// a vendor and a model, or an explicit unknown. Expectations are fleetpoll's own reading of each
// recording (sysDescr, sysObjectID, vendor OIDs), checked by hand against the README's table.
#include <gtest/gtest.h>

#include <set>

#include "test_support.hpp"

namespace fleetpoll {
namespace {

namespace fs = std::filesystem;
namespace s = fleetpoll::schema;
using test::str;

struct expected_identity {
  const char* file;
  const char* vendor;
  const char* model;  // "" = explicit unknown (model_source unknown)
  const char* serial;
  const char* firmware;
};

// clang-format off
const expected_identity identities[] = {
    {"canonprinter_d1180",      "Canon",     "D1180/MF6680",     "",                  ""},
    {"canonprinter_ir-adv",     "Canon",     "iR-ADV C5235",     "",                  ""},
    {"dell-laser",              "Dell",      "B3460dn",          "",                  "NH5.CY.N543"},
    {"dell-laser_mfp",          "Dell",      "MFP Laser 3115cn", "",                  ""},
    {"epson-scanner_ds-860",    "Epson",     "DS-860",           "EP335FDCENSN08",    "02.03"},
    {"gestetner",               "Gestetner", "MPC2500/DSc525",   "M6394300657",       "1.71"},
    // A JetDirect EX print server: the card names no printer; its sysObjectID is Kyocera's.
    {"jetdirect_1",             "HP",        "",                 "",                  ""},
    {"kyocera",                 "Kyocera",   "FS-1028MFP",       "QUV9600664",        "2H9_2F00.002.002"},
    {"lanier",                  "Lanier",    "MP C3501/LD635C",  "",                  "2.01"},
    {"lexmarkprinter",          "Lexmark",   "T640",             "",                  "NS.NP.N219"},
    {"nrg",                     "NRG",       "SP 4210N",         "",                  "1.05"},
    {"okilan",                  "OKI",       "MC342",            "",                  "02.70"},
    {"ricoh",                   "Ricoh",     "MP 3053",          "",                  "1.09"},
    {"samsungprinter_c",        "Samsung",   "C",                "",                  ""},
    {"samsungprinter_clx",      "Samsung",   "CLX-3170",         "AAAAAAA000AAAA000", "V1.00.01.64 Sep-27-2010"},
    {"samsungprinter_ml",       "Samsung",   "ML-2850",          "",                  ""},
    {"sharp_mx2614n",           "Sharp",     "MX-2614N",         "",                  ""},
    {"sharp_mx3140n",           "Sharp",     "MX-3140N",         "",                  ""},
    {"toshiba-tec_estudio2505", "Toshiba",   "e-STUDIO2505AC",   "",                  ""},
    {"toshiba-tec_ev4",         "Toshiba",   "B-EV4",            "",                  ""},
    {"toshiba-tec_fv4",         "Toshiba",   "B-FV4",            "",                  ""},
    {"xerox_color",             "Xerox",     "Color 570",        "",                  ""},
    {"xerox_phaser",            "Xerox",     "Phaser 4600",      "",                  ""},
    {"zebra",                   "Zebra",     "ZTC TLP 2824 Plus", "7062184",          "V61.17.17Z"},
};
// clang-format on

class Identification : public ::testing::TestWithParam<expected_identity> {};

TEST_P(Identification, GivesVendorAndModelOrAnExplicitUnknown) {
  const auto& e = GetParam();
  const fs::path file = test::shared_fixtures_dir() / (std::string(e.file) + ".snmprec");
  if (!fs::exists(file)) GTEST_SKIP() << "recording not found: " << file;
  auto buf = test::normalize_checked(test::load_device(file));
  const auto* snap = codecs::snapshot_of(buf);
  const auto* id = snap->identity();
  EXPECT_FALSE(snap->has_printer_mib());
  EXPECT_EQ(str(id->vendor()), e.vendor);
  EXPECT_NE(id->vendor_source(), s::Source::unknown);
  EXPECT_EQ(str(id->model()), e.model);
  if (*e.model == '\0')
    EXPECT_EQ(id->model_source(), s::Source::unknown) << "an absent model must say unknown";
  else
    EXPECT_NE(id->model_source(), s::Source::unknown);
  EXPECT_EQ(str(id->serial()), e.serial);
  EXPECT_EQ(str(id->firmware()), e.firmware);
  // A model never repeats the brand ("Canon Canon ...") and is never just punctuation.
  EXPECT_NE(str(id->model()).rfind(e.vendor, 0), 0u);
}

std::string identity_name(const ::testing::TestParamInfo<expected_identity>& info) {
  std::string n = info.param.file;
  for (auto& c : n)
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  return n;
}

INSTANTIATE_TEST_SUITE_P(IdentificationOnly, Identification, ::testing::ValuesIn(identities),
                         identity_name);

// Every identification-only recording in the folder is in the table above (a new recording
// cannot slip in untested).
TEST(IdentificationCoverage, EveryRecordingWithoutPrinterMibIsListed) {
  std::error_code ec;
  if (!fs::is_directory(test::shared_fixtures_dir(), ec))
    GTEST_SKIP() << "no recordings found in " << test::shared_fixtures_dir();
  std::set<std::string> listed;
  for (const auto& e : identities) listed.insert(e.file);
  std::size_t checked = 0;
  for (const auto& entry : fs::directory_iterator(test::shared_fixtures_dir(), ec)) {
    const auto name = entry.path().stem().string();
    if (entry.path().extension() != ".snmprec" || name.find('@') != std::string::npos) continue;
    auto buf = test::normalize_checked(test::load_device(entry.path()));
    if (codecs::snapshot_of(buf)->has_printer_mib()) continue;
    // Recordings whose printer data sits only in a context companion merge to has_printer_mib.
    ++checked;
    EXPECT_TRUE(listed.count(name))
        << name << " has no Printer-MIB data and is not in the identity table";
  }
  EXPECT_EQ(checked, std::size(identities));
}

}  // namespace
}  // namespace fleetpoll
