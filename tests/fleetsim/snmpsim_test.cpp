// snmpsim (snmpsimd, a second, independent simulator) serving the same recordings and a static
// fleetsim agree on a full snmpbulkwalk of several templates, read with net-snmp's snmpbulkwalk.
#include <gtest/gtest.h>

#include <sys/stat.h>

#include <pwd.h>

#include "netsnmp_output.hpp"

namespace {

using namespace fleetsim_test;

std::uint16_t free_udp_port() {
  const int fd = socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  close(fd);
  return ntohs(a.sin_port);
}

// The walk as net-snmp prints it, without the endOfMibView lines (snmpsim repeats endOfMibView
// for every remaining repetition of the last GETBULK, fleetsim stops after one round as
// net-snmp's own agent does; both are RFC 3416 conformant and the walk is the same).
std::vector<std::string> walk_lines(const std::string& out) {
  std::vector<std::string> lines;
  std::istringstream in(out);
  std::string line;
  while (std::getline(in, line))
    if (line.find("No more variables left in this MIB View") == std::string::npos)
      lines.push_back(line);
  return lines;
}

TEST(FleetsimSnmpsim, FullBulkWalksOfSeveralTemplatesAreIdentical) {
  if (access("/usr/bin/snmpsimd", X_OK) != 0)
    GTEST_SKIP() << "snmpsimd not installed (Debian package snmpsim)";
  std::vector<std::filesystem::path> templates = {
      test_fixtures() / "synthetic_color_mfp.snmprec",
      test_fixtures() / "synthetic_alert_edges.snmprec"};
  for (const char* real : {"sharp", "jetdirect_m880", "ricoh_mpc2503", "brother", "epson", "konica",
                           "canonprinter_tm"})
    if (std::filesystem::exists(shared_fixtures() / (std::string(real) + ".snmprec")))
      templates.push_back(shared_fixtures() / (std::string(real) + ".snmprec"));

  // snmpsimd drops root privileges to nobody: its data must be readable and its cache writable
  // by that user. The community selects the file: t<i>.snmprec answers community t<i>.
  temp_dir tmp;
  const auto data = tmp.path() / "data", cache = tmp.path() / "cache", conf = tmp.path() / "conf";
  std::filesystem::create_directories(data);
  std::filesystem::create_directories(cache);
  std::filesystem::create_directories(conf);
  for (std::size_t i = 0; i < templates.size(); ++i)
    std::filesystem::copy_file(templates[i], data / ("t" + std::to_string(i) + ".snmprec"));
  chmod(tmp.path().c_str(), 0755);
  chmod(data.c_str(), 0755);
  for (const auto& e : std::filesystem::directory_iterator(data)) chmod(e.path().c_str(), 0644);
  if (const passwd* nobody = getpwnam("nobody"); nobody && geteuid() == 0) {
    ASSERT_EQ(chown(cache.c_str(), nobody->pw_uid, static_cast<gid_t>(-1)), 0);
  } else {
    chmod(cache.c_str(), 0777);
  }
  const std::uint16_t sim_port = free_udp_port();
  std::vector<std::string> argv = {"snmpsimd", "--data-dir=" + data.string(),
                                   "--cache-dir=" + cache.string(),
                                   "--agent-udpv4-endpoint=127.0.0.1:" + std::to_string(sim_port)};
  if (geteuid() == 0) {
    argv.push_back("--process-user=nobody");
    argv.push_back("--process-group=nogroup");
  }
  child sim(argv, {"PYTHONUNBUFFERED=1"});  // its log is block-buffered on a pipe otherwise
  // snmpsimd logs "Listening at UDP/IPv4 endpoint ..." once it indexed the files and bound.
  ASSERT_TRUE(sim.read_until(
      [](const std::string& s) { return s.find("Listening at") != std::string::npos; }, 30000ms))
      << "snmpsimd did not start:\n"
      << sim.out() << sim.err();
  sim.drain_in_background();  // it logs every request

  fs::options o;
  o.devices = static_cast<std::uint32_t>(templates.size());
  o.profile = "static";
  o.templates = templates;
  auto fleet = start_fleet(o);
  ASSERT_TRUE(fleet);

  temp_dir tool_conf;
  for (std::size_t i = 0; i < templates.size(); ++i) {
    SCOPED_TRACE(templates[i].filename().string());
    const auto theirs = run(tool("snmpbulkwalk", "v2c", "127.0.0.1:" + std::to_string(sim_port),
                                 {"-Cc", ".1"}, "t" + std::to_string(i)),
                            60000ms, tool_env(tool_conf));
    const auto ours = run(
        tool("snmpbulkwalk", "v2c",
             fleet->address_of(static_cast<std::uint32_t>(i)) + ":" + std::to_string(fleet->port()),
             {"-Cc", ".1"}),
        60000ms, tool_env(tool_conf));
    ASSERT_EQ(theirs.code, 0) << theirs.err;
    ASSERT_EQ(ours.code, 0) << ours.err;
    const auto a = walk_lines(theirs.out), b = walk_lines(ours.out);
    EXPECT_GT(a.size(), 10u);
    ASSERT_EQ(a.size(), b.size());
    for (std::size_t k = 0; k < a.size(); ++k) ASSERT_EQ(a[k], b[k]) << "line " << k;
  }
}

}  // namespace
