// `fleetpoll probe --snmprec` end to end: the built program, its stdout, stderr and exit code.
#include <gtest/gtest.h>

#include <sys/wait.h>

#include <boost/json.hpp>

#include <array>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "test_support.hpp"

namespace fleetpoll {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

struct run_result {
  int exit_code = -1;
  std::string out, err;
};

// Runs the fleetpoll binary with arguments (each single-quoted for the shell).
run_result run_fleetpoll(const std::vector<std::string>& args) {
  const fs::path bin = fs::path(FLEETPOLL_BINARY_DIR) / "engine" / "fleetpoll";
  const fs::path err_file =
      fs::temp_directory_path() / ("fleetpoll_probe_err_" + std::to_string(::getpid()));
  std::string cmd = "'" + bin.string() + "'";
  for (const auto& a : args) cmd += " '" + a + "'";
  cmd += " 2>'" + err_file.string() + "'";
  run_result r;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (p == nullptr) return r;
  std::array<char, 4096> buf{};
  std::size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), p)) > 0) r.out.append(buf.data(), n);
  int status = ::pclose(p);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  std::ifstream ef(err_file);
  std::stringstream ss;
  ss << ef.rdbuf();
  r.err = ss.str();
  fs::remove(err_file);
  return r;
}

fs::path shared(const char* name) {
  return test::shared_fixtures_dir() / name;
}

TEST(ProbeCli, JetdirectM880ListsFifteenDecodedSuppliesWithColorantsAndQuality) {
  if (!fs::exists(shared("jetdirect_m880.snmprec")))
    GTEST_SKIP() << "not found: " << shared("jetdirect_m880.snmprec");
  auto r =
      run_fleetpoll({"probe", "--snmprec", shared("jetdirect_m880.snmprec").string(), "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto doc = json::parse(r.out).as_object();
  const auto& supplies = doc.at("supplies").as_array();
  ASSERT_EQ(supplies.size(), 15u);
  const auto& black = supplies.at(0).as_object();
  EXPECT_EQ(black.at("description").as_string(), "Black Cartridge 827A HP CF300A");
  EXPECT_EQ(black.at("colorant").as_string(), "black");
  EXPECT_EQ(black.at("quality").as_string(), "percent_only");
  EXPECT_EQ(black.at("remaining_percent").as_int64(), 92);
  for (const auto& sv : supplies) {
    const auto& s = sv.as_object();
    const std::string d(s.at("description").as_string());
    // No hex pairs left from HP's split descriptions ("38 32 37 41 ...").
    EXPECT_EQ(d.find(" 38 "), std::string::npos) << d;
    EXPECT_EQ(d.find('\n'), std::string::npos) << d;
    EXPECT_TRUE(s.contains("quality")) << d;
  }
  const auto& stapler = supplies.at(12).as_object();
  EXPECT_EQ(stapler.at("quality").as_string(), "some_remaining");
  EXPECT_FALSE(stapler.contains("remaining_percent")) << "-3 must not become a number";
  EXPECT_EQ(doc.at("trays").as_array().size(), 4u);
}

TEST(ProbeCli, TableIsTheDefaultAndSummaryIsOneLinePerPrinter) {
  const auto a = (test::test_fixtures_dir() / "synthetic_color_mfp.snmprec").string();
  const auto b = (test::test_fixtures_dir() / "synthetic_mono_toner_empty.snmprec").string();
  auto table = run_fleetpoll({"probe", "--snmprec", a});
  ASSERT_EQ(table.exit_code, 0) << table.err;
  EXPECT_NE(table.out.find("supplies (9)"), std::string::npos) << table.out;
  EXPECT_NE(table.out.find("alerts (6)"), std::string::npos) << table.out;

  auto summary = run_fleetpoll({"probe", "--summary", "--snmprec", a, b});
  ASSERT_EQ(summary.exit_code, 0) << summary.err;
  EXPECT_EQ(std::count(summary.out.begin(), summary.out.end(), '\n'), 2) << summary.out;
  EXPECT_NE(summary.out.find("Ricoh"), std::string::npos);
  EXPECT_NE(summary.out.find("Brother"), std::string::npos);
}

TEST(ProbeCli, BadRecordingIsReportedOnStderrWithFileAndLineAndOthersStillPrint) {
  auto dir = fs::temp_directory_path() / ("fleetpoll_probe_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const auto bad = dir / "broken.snmprec";
  std::ofstream(bad) << "1.3.6.1.2.1.1.1.0|4|ok\nnot a line at all\n";
  const auto good = (test::test_fixtures_dir() / "synthetic_alert_edges.snmprec").string();
  auto r = run_fleetpoll({"probe", "--strict", "--json", "--snmprec", bad.string(), good});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("broken.snmprec:2:"), std::string::npos) << r.err;
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 1) << "the good file is still printed";

  // Lenient (default): the bad line is skipped with a warning, the device is still probed.
  auto lenient = run_fleetpoll({"probe", "--json", "--snmprec", bad.string()});
  EXPECT_EQ(lenient.exit_code, 0) << lenient.err;
  EXPECT_NE(lenient.err.find("broken.snmprec:2: skipped"), std::string::npos) << lenient.err;

  auto missing = run_fleetpoll({"probe", "--snmprec", (dir / "nope.snmprec").string()});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.err.find("nope.snmprec"), std::string::npos) << missing.err;
  fs::remove_all(dir);
}

TEST(ProbeCli, NothingToProbeExitsTwo) {
  auto r = run_fleetpoll({"probe"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_FALSE(r.err.empty());
}

}  // namespace
}  // namespace fleetpoll
