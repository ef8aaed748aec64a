// The fleetsim program end to end: the acceptance run (100,000 devices, a full printer
// MIB by snmpbulkwalk, silence at a non-device address), ground-truth files that change with
// simulated time, SIGUSR1/SIGTERM, the TOML file, the truth of --help and of its errors.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <fstream>

#include "netsnmp_output.hpp"

namespace {

using namespace fleetsim_test;

std::string program() {
  return fleetsim_program().string();
}

// Starts the program and waits (bounded) for its one-line status; returns the port.
std::uint16_t wait_ready(child& c) {
  const bool up = c.read_until(
      [](const std::string& s) {
        return s.find(" udp/") != std::string::npos && s.find('\n') != std::string::npos;
      },
      20000ms);
  EXPECT_TRUE(up) << c.out() << c.err();
  const std::string out = c.out();
  const auto at = out.find(" udp/");
  if (at == std::string::npos) return 0;
  return static_cast<std::uint16_t>(std::stoi(out.substr(at + 5)));
}

std::vector<boost::json::object> read_truth(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::vector<boost::json::object> lines;
  std::string line;
  while (std::getline(in, line)) lines.push_back(boost::json::parse(line).as_object());
  return lines;
}

TEST(FleetsimProgram, HundredThousandDevicesOnLoopbackAnswerAFullPrinterMib) {
  temp_dir tmp;
  child sim({program(), "--devices", "100000", "--port", "0"});
  const auto port = wait_ready(sim);
  ASSERT_NE(port, 0);
  EXPECT_NE(sim.out().find("fleetsim: 100000 devices"), std::string::npos) << sim.out();
  EXPECT_NE(sim.out().find("127.1.0.1-127.2.134.160"), std::string::npos) << sim.out();
  const std::string p = ":" + std::to_string(port);

  // The acceptance command, as the issue writes it (plus numeric output).
  auto r = run(
      {"snmpbulkwalk", "-v2c", "-c", "public", "-On", "-m", "", "127.1.0.1" + p, "1.3.6.1.2.1.43"},
      20000ms, tool_env(tmp));
  ASSERT_EQ(r.code, 0) << r.err;
  const auto rows = parse_tool_output(r.out);
  std::size_t supplies = 0, alerts = 0, trays = 0, markers = 0;
  for (const auto& row : rows) {
    const auto s = row.name.to_string();
    supplies += s.rfind("1.3.6.1.2.1.43.11.1.1.", 0) == 0;
    alerts += s.rfind("1.3.6.1.2.1.43.18.1.1.", 0) == 0;
    trays += s.rfind("1.3.6.1.2.1.43.8.2.1.", 0) == 0;
    markers += s.rfind("1.3.6.1.2.1.43.10.2.1.", 0) == 0;
  }
  EXPECT_EQ(supplies, 9u * 8u);  // 9 supplies x 8 columns in the built-in colour MFP template
  EXPECT_EQ(trays, 4u * 8u);
  EXPECT_EQ(markers, 7u);
  EXPECT_EQ(alerts % 8u, 0u);  // whole alert rows (columns 2..9)
  EXPECT_GT(rows.size(), 100u);

  // The last device answers; a 127.x address that is not a device times out like a dead host.
  r = run(tool("snmpget", "v2c", "127.2.134.160" + p, {".1.3.6.1.2.1.1.5.0"}), 20000ms,
          tool_env(tmp));
  EXPECT_EQ(r.code, 0) << r.err;
  const auto name = parse_tool_output(r.out);
  ASSERT_EQ(name.size(), 1u);
  ASSERT_TRUE(name[0].val);
  EXPECT_EQ(name[0].val->bytes, "prn-099999");
  for (const char* dead : {"127.2.134.161", "127.3.0.1"}) {
    r = run(tool("snmpget", "v2c", std::string(dead) + p, {".1.3.6.1.2.1.1.5.0"}, "public", 1, 0),
            20000ms, tool_env(tmp));
    EXPECT_NE(r.code, 0);
    EXPECT_NE((r.out + r.err).find("Timeout"), std::string::npos) << dead << ": " << r.out << r.err;
  }
  kill(sim.pid(), SIGTERM);
  EXPECT_EQ(sim.wait(10000ms), 0);
  EXPECT_NE(sim.out().find("stopped after"), std::string::npos) << sim.out();
  EXPECT_NE(sim.out().find("not a device 2"), std::string::npos) << sim.out();
}

TEST(FleetsimProgram, GroundTruthFilesShowTimeChangingLevelsCountersAndAlerts) {
  temp_dir tmp;
  const auto a = tmp.path() / "monday.jsonl", b = tmp.path() / "month-later.jsonl";
  ASSERT_EQ(run({program(), "--devices", "30", "--truth-at", "2026-01-05T09:00:00Z", "--truth-file",
                 a.string()})
                .code,
            0);
  ASSERT_EQ(run({program(), "--devices", "30", "--truth-at", "2026-02-04T15:00:00Z", "--truth-file",
                 b.string()})
                .code,
            0);
  const auto x = read_truth(a), y = read_truth(b);
  ASSERT_EQ(x.size(), 31u);
  ASSERT_EQ(y.size(), 31u);
  EXPECT_EQ(x[0].at("sim_time_utc").as_string(), "2026-01-05T09:00:00Z");
  std::size_t pages_up = 0, levels_changed = 0, alerts_changed = 0;
  for (std::size_t d = 1; d <= 30; ++d) {
    const auto& p = x[d].at("life").as_object();
    const auto& q = y[d].at("life").as_object();
    pages_up += q.at("pages").to_number<std::int64_t>() > p.at("pages").to_number<std::int64_t>();
    levels_changed += x[d].at("supplies") != y[d].at("supplies");
    alerts_changed += x[d].at("alerts") != y[d].at("alerts");
  }
  EXPECT_EQ(pages_up, 30u);
  EXPECT_GT(levels_changed, 15u);
  EXPECT_GT(alerts_changed, 5u);
  // Same seed, same moment, same file.
  const auto c = tmp.path() / "again.jsonl";
  ASSERT_EQ(run({program(), "--devices", "30", "--truth-at", "2026-02-04T15:00:00Z", "--truth-file",
                 c.string()})
                .code,
            0);
  std::ifstream fb(b), fc(c);
  EXPECT_EQ(std::string(std::istreambuf_iterator<char>(fb), {}),
            std::string(std::istreambuf_iterator<char>(fc), {}));
}

TEST(FleetsimProgram, SigUsr1WritesTheGroundTruthOfTheRunningFleet) {
  temp_dir tmp;
  const auto file = tmp.path() / "truth.jsonl";
  child sim({program(), "--devices", "50", "--port", "0", "--accel", "3600", "--faults", "dead=0.2",
             "--device-fault", "0=none", "--truth-file", file.string()});
  const auto port = wait_ready(sim);
  ASSERT_NE(port, 0);
  udp_client c;
  const auto req = encode(codecs::pdu_type::get, {O("1.3.6.1.2.1.1.3.0")});
  for (int i = 0; i < 3; ++i) c.send(ip("127.1.0.5"), port, req);  // device 4
  ASSERT_TRUE(barrier(c, ip("127.1.0.1"), port));                  // device 0 is healthy
  kill(sim.pid(), SIGUSR1);
  ASSERT_TRUE(sim.read_until(
      [](const std::string& s) { return s.find("written to") != std::string::npos; }, 10000ms))
      << sim.out() << sim.err();
  const auto lines = read_truth(file);
  ASSERT_EQ(lines.size(), 51u);
  EXPECT_EQ(lines[0].at("faults").as_string(), "dead=0.2");
  EXPECT_EQ(lines[5].at("device").to_number<int>(), 4);
  EXPECT_EQ(lines[5].at("counters").at("received").to_number<int>(), 3);
  EXPECT_TRUE(lines[1].at("answers").as_bool());
  std::size_t dead = 0;
  for (std::size_t d = 1; d <= 50; ++d) dead += !lines[d].at("answers").as_bool();
  EXPECT_GT(dead, 3u);
  EXPECT_LT(dead, 20u);
  kill(sim.pid(), SIGINT);
  EXPECT_EQ(sim.wait(10000ms), 0);
}

TEST(FleetsimProgram, TomlFileSetsEverythingAndFlagsWin) {
  temp_dir tmp;
  const auto conf = tmp.path() / "fleet.toml";
  {
    std::ofstream f(conf);
    f << "devices = 12\nseed = 3\nprofile = \"workgroup\"\nstart = \"2026-03-02T10:00:00Z\"\n"
         "acceleration = 0.0\ntemplates = [\""
      << (test_fixtures() / "synthetic_mono_toner_empty.snmprec").string()
      << "\"]\n[faults]\nslow = 0.5\nslow_ms = 250\n[[device]]\nindex = 2\nfaults = [\"dead\"]\n";
  }
  child sim({program(), "--config", conf.string(), "--port", "0", "--devices", "7"});
  const auto port = wait_ready(sim);
  ASSERT_NE(port, 0);
  const std::string out = sim.out();
  EXPECT_NE(out.find("7 devices (1 template)"), std::string::npos) << out;  // the flag won
  EXPECT_NE(out.find("seed 3, profile workgroup, time 2026-03-02T10:00:00Z x0"), std::string::npos)
      << out;
  EXPECT_NE(out.find("faults slow=0.5,slow_ms=250"), std::string::npos) << out;
  udp_client c;
  c.send(ip("127.1.0.3"), port,
         encode(codecs::pdu_type::get, {O("1.3.6.1.2.1.1.5.0")}));  // dead by [[device]]
  ASSERT_TRUE(barrier(c, ip("127.1.0.1"), port));                   // device 0 answers, slow or not
  kill(sim.pid(), SIGTERM);
  EXPECT_EQ(sim.wait(10000ms), 0);
  EXPECT_NE(sim.out().find("dropped: fault 1"), std::string::npos) << sim.out();

  // Errors in the file name the file and the line.
  {
    std::ofstream f(conf);
    f << "devices = 12\nbogus = 1\n";
  }
  auto r = run({program(), "--config", conf.string()});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("unknown key 'bogus'"), std::string::npos) << r.err;
  {
    std::ofstream f(conf);
    f << "devices = 12\nseed = [\n";
  }
  r = run({program(), "--config", conf.string()});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("fleet.toml:"), std::string::npos) << r.err;
}

TEST(FleetsimProgram, HelpAndErrorsTellTheTruth) {
  const auto help = run({program(), "--help"});
  EXPECT_EQ(help.code, 0);
  for (const char* flag :
       {"--devices", "--templates", "--base", "--port", "--seed", "--faults", "--device-fault",
        "--profile", "--start", "--accel", "--config", "--truth-file", "--truth-at", "--threads",
        "--max-size", "--community", "--status-every", "--no-bind-lo"})
    EXPECT_NE(help.out.find(flag), std::string::npos) << flag;
  for (std::size_t i = 0; i < fs::fault_count; ++i) {
    const auto name = std::string(fs::to_string(static_cast<fs::fault>(i)));
    EXPECT_NE(help.out.find(name), std::string::npos) << "--help does not name fault " << name;
  }
  for (const char* profile : {"office", "workgroup", "static"})
    EXPECT_NE(help.out.find(profile), std::string::npos);

  auto r = run({program(), "--devices", "0"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("--devices"), std::string::npos) << r.err;
  r = run({program(), "--base", "10.1.0.1"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("loopback"), std::string::npos) << r.err;
  r = run({program(), "--faults", "bogus=1"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("unknown fault or parameter 'bogus'"), std::string::npos) << r.err;
  r = run({program(), "--device-fault", "3=slow,melting"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("unknown fault 'melting'"), std::string::npos) << r.err;
  r = run({program(), "--templates", "/nonexistent"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("does not exist"), std::string::npos) << r.err;
}

}  // namespace
