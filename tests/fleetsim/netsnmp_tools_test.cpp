// Conformance of fleetsim's agent with net-snmp's own tools (Debian `snmp`): snmpwalk,
// snmpbulkwalk and snmpget against a static fleet give the template's values, in walk order, with
// the right types and the end of the view; faults show up as net-snmp reports them.
#include <gtest/gtest.h>

#include "fleetpoll/codecs/snmprec.hpp"
#include "netsnmp_output.hpp"

namespace {

using namespace fleetsim_test;

std::vector<std::filesystem::path> conformance_templates() {
  std::vector<std::filesystem::path> t = {test_fixtures() / "synthetic_color_mfp.snmprec",
                                          test_fixtures() / "synthetic_mono_toner_empty.snmprec",
                                          test_fixtures() / "synthetic_alert_edges.snmprec"};
  // Counter64 and IpAddress (jetdirect), 1270 rows (zebra), hex UTF-8 (ricoh), a leading-dot OID
  // value (toshiba-tec_ev4), a corrupt line skipped by the lenient loader (okilan_9450g).
  for (const char* real :
       {"jetdirect", "zebra", "ricoh_mpc2503", "toshiba-tec_ev4", "okilan_9450g", "sharp"})
    if (std::filesystem::exists(shared_fixtures() / (std::string(real) + ".snmprec")))
      t.push_back(shared_fixtures() / (std::string(real) + ".snmprec"));
  return t;
}

class FleetsimNetSnmpTools : public ::testing::Test {
 protected:
  void SetUp() override {
    templates = conformance_templates();
    fs::options o;
    o.devices = static_cast<std::uint32_t>(templates.size());
    o.profile = "static";
    o.templates = templates;
    fleet = start_fleet(o);
    ASSERT_TRUE(fleet);
  }
  std::string target(std::uint32_t dev) {
    return fleet->address_of(dev) + ":" + std::to_string(fleet->port());
  }
  run_result run_tool(const std::vector<std::string>& argv) {
    return run(argv, 60000ms, tool_env(conf));
  }

  static codecs::mib_view load(const std::filesystem::path& p) {
    auto r = codecs::load_snmprec_file(p, {.skip_bad_lines = true});
    EXPECT_TRUE(r) << r.message();
    return std::move(r.view);
  }

  temp_dir conf;
  std::vector<std::filesystem::path> templates;
  std::unique_ptr<fs::fleet> fleet;
};

void expect_same_rows(const std::vector<tool_row>& got, const std::vector<codecs::varbind>& want) {
  ASSERT_EQ(got.size(), want.size());
  for (std::size_t i = 0; i < want.size(); ++i) {
    ASSERT_EQ(got[i].name, want[i].name) << "row " << i;
    ASSERT_TRUE(got[i].val) << got[i].name.to_string() << ": " << got[i].exception;
    EXPECT_EQ(*got[i].val, want[i].val) << got[i].name.to_string();
  }
}

TEST_F(FleetsimNetSnmpTools, WalksGiveTheTemplateInOrderWithTypesAndEndOfView) {
  for (std::uint32_t d = 0; d < templates.size(); ++d) {
    SCOPED_TRACE(templates[d].filename().string());
    const auto view = load(templates[d]);
    const std::vector<codecs::varbind> all(view.rows().begin(), view.rows().end());
    for (const char* program : {"snmpbulkwalk", "snmpwalk"}) {
      SCOPED_TRACE(program);
      const auto r = run_tool(tool(program, "v2c", target(d), {"-Cc", ".1"}));
      ASSERT_EQ(r.code, 0) << r.err;
      auto rows = parse_tool_output(r.out);
      ASSERT_FALSE(rows.empty());
      EXPECT_TRUE(is_end_of_view(rows.back())) << rows.back().exception;
      // snmpbulkwalk prints the endOfMibView of every repetition it got; the walk is the rest.
      while (!rows.empty() && is_end_of_view(rows.back())) rows.pop_back();
      expect_same_rows(rows, all);
    }
    // SNMPv1 has no Counter64: a v1 walk skips those rows and ends with "End of MIB".
    std::vector<codecs::varbind> v1;
    for (const auto& vb : all)
      if (vb.val.type != codecs::value_type::counter64) v1.push_back(vb);
    const auto r = run_tool(tool("snmpwalk", "v1", target(d), {"-Cc", ".1"}));
    ASSERT_EQ(r.code, 0) << r.err;
    std::vector<std::string> other;
    expect_same_rows(parse_tool_output(r.out, &other), v1);
    ASSERT_FALSE(other.empty());
    EXPECT_EQ(other.back(), "End of MIB");
  }
}

TEST_F(FleetsimNetSnmpTools, SnmpGetGivesValuesAndTheRightException) {
  const auto view = load(templates[0]);
  const auto r =
      run_tool(tool("snmpget", "v2c", target(0),
                    {".1.3.6.1.2.1.1.2.0", ".1.3.6.1.2.1.1.3.0", ".1.3.6.1.2.1.43.11.1.1.6.1.5",
                     ".1.3.6.1.2.1.1.3.1", ".1.3.6.1.2.1.99.1.0"}));
  ASSERT_EQ(r.code, 0) << r.err;
  const auto rows = parse_tool_output(r.out);
  ASSERT_EQ(rows.size(), 5u);
  for (int i = 0; i < 3; ++i)
    EXPECT_EQ(*rows[static_cast<std::size_t>(i)].val,
              *view.get(rows[static_cast<std::size_t>(i)].name));
  EXPECT_EQ(rows[2].val->bytes, "Waste Toner Bottle");
  EXPECT_EQ(rows[3].exception, "No Such Instance currently exists at this OID");
  EXPECT_EQ(rows[4].exception, "No Such Object available on this agent at this OID");
  // SNMPv1: the missing OID is a noSuchName error naming it.
  const auto v1 =
      run_tool(tool("snmpget", "v1", target(0), {".1.3.6.1.2.1.1.3.0", ".1.3.6.1.2.1.1.3.1"}));
  EXPECT_NE(v1.code, 0);
  EXPECT_NE(v1.err.find("noSuchName"), std::string::npos) << v1.err;
  EXPECT_NE(v1.err.find("Failed object: .1.3.6.1.2.1.1.3.1"), std::string::npos) << v1.err;
}

TEST_F(FleetsimNetSnmpTools, FaultsShowUpAsNetSnmpReportsThem) {
  ASSERT_FALSE(fleet->set_device_faults(0, fs::mask_of(fs::fault::oid_loop)));
  ASSERT_FALSE(fleet->set_device_faults(1, fs::mask_of(fs::fault::v1_only)));
  fs::fault_params small;
  small.too_big_varbinds = 4;
  ASSERT_FALSE(fleet->set_device_faults(2, fs::mask_of(fs::fault::too_big), small));
  // A loop: snmpwalk notices and stops.
  auto r = run_tool(tool("snmpbulkwalk", "v2c", target(0), {".1.3.6.1.2.1.43"}));
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.err.find("OID not increasing"), std::string::npos) << r.err;
  // A v1-only agent: v2c times out, v1 works.
  r = run_tool(tool("snmpget", "v2c", target(1), {".1.3.6.1.2.1.1.5.0"}, "public", 1, 0));
  EXPECT_NE(r.code, 0);
  EXPECT_NE((r.out + r.err).find("Timeout"), std::string::npos) << r.out << r.err;
  r = run_tool(tool("snmpget", "v1", target(1), {".1.3.6.1.2.1.1.5.0"}));
  EXPECT_EQ(r.code, 0) << r.err;
  // tooBig above four varbinds: a bulk walk of 10 repetitions fails, a GET of three works.
  r = run_tool(tool("snmpbulkwalk", "v2c", target(2), {"-Cr10", ".1.3.6.1.2.1.43"}));
  EXPECT_NE((r.out + r.err).find("tooBig"), std::string::npos) << r.out << r.err;
  r = run_tool(tool("snmpget", "v2c", target(2),
                    {".1.3.6.1.2.1.1.1.0", ".1.3.6.1.2.1.1.3.0", ".1.3.6.1.2.1.1.5.0"}));
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(parse_tool_output(r.out).size(), 3u);
}

}  // namespace
