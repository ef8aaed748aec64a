// fleetpoll.toml: the annotated example is exactly the defaults; every kind of mistake is
// rejected with its place, the field's name and the reason; communities never show in messages;
// hostile input is an error, never a crash; targets are collected from addresses, ranges, files
// and host names.
#include <gtest/gtest.h>

#include <filesystem>
#include <random>

#include "fleetpoll/engine/config.hpp"
#include "support.hpp"

namespace fleetpoll::engine {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

const fs::path example = fs::path(FLEETPOLL_SOURCE_DIR) / "docs" / "fleetpoll.toml.example";

config_result parse(const std::string& text) {
  return parse_config(text, "f.toml");
}

// The one error of a config that must be rejected.
config_error one_error(const std::string& text) {
  auto r = parse(text);
  EXPECT_EQ(r.errors.size(), 1u) << text << "\n" << r.message();
  return r.errors.empty() ? config_error{} : r.errors.front();
}

TEST(Config, TheAnnotatedExampleParsesToExactlyTheDefaults) {
  auto r = load_config(example);
  ASSERT_TRUE(r) << r.message();
  const config& c = r.cfg;
  const config d;
  EXPECT_EQ(c.engine.threads, d.engine.threads);
  EXPECT_EQ(c.engine.max_concurrent_polls, d.engine.max_concurrent_polls);
  EXPECT_EQ(c.engine.max_waiting_polls, d.engine.max_waiting_polls);
  EXPECT_EQ(c.engine.include_contact, d.engine.include_contact);
  EXPECT_EQ(c.community, d.community);
  EXPECT_EQ(c.version, d.version);
  EXPECT_EQ(c.port, d.port);
  EXPECT_EQ(c.engine.client.retries, d.engine.client.retries);
  EXPECT_EQ(c.engine.client.backoff, d.engine.client.backoff);
  EXPECT_EQ(c.engine.client.jitter, d.engine.client.jitter);
  EXPECT_EQ(c.engine.client.rtt.initial, d.engine.client.rtt.initial);
  EXPECT_EQ(c.engine.client.rtt.min, d.engine.client.rtt.min);
  EXPECT_EQ(c.engine.client.rtt.max, d.engine.client.rtt.max);
  EXPECT_EQ(c.engine.client.max_outstanding, d.engine.client.max_outstanding);
  EXPECT_EQ(c.engine.client.rate.device_min_gap, d.engine.client.rate.device_min_gap);
  EXPECT_EQ(c.engine.client.rate.subnet_pps, d.engine.client.rate.subnet_pps);
  EXPECT_EQ(c.engine.client.rate.global_pps, d.engine.client.rate.global_pps);
  EXPECT_EQ(c.engine.client.rate.burst, d.engine.client.rate.burst);
  EXPECT_EQ(c.engine.client.transport.receive_buffer_bytes,
            d.engine.client.transport.receive_buffer_bytes);
  EXPECT_EQ(c.engine.client.bind_v4, d.engine.client.bind_v4);
  EXPECT_EQ(c.engine.walk.retry_budget, d.engine.walk.retry_budget);
  EXPECT_EQ(c.engine.walk.max_repetitions_start, d.engine.walk.max_repetitions_start);
  EXPECT_EQ(c.engine.walk.max_repetitions_cap, d.engine.walk.max_repetitions_cap);
  EXPECT_EQ(c.engine.walk.reply_budget_bytes, d.engine.walk.reply_budget_bytes);
  EXPECT_EQ(c.engine.walk.max_varbinds_per_unit, d.engine.walk.max_varbinds_per_unit);
  EXPECT_EQ(c.engine.walk.max_requests, d.engine.walk.max_requests);
  EXPECT_EQ(c.engine.walk.recheck_scalars_every, d.engine.walk.recheck_scalars_every);
  EXPECT_EQ(c.engine.schedule.cadence, d.engine.schedule.cadence);
  EXPECT_EQ(c.engine.schedule.coalesce, d.engine.schedule.coalesce);
  EXPECT_EQ(c.engine.schedule.first_poll_spread, d.engine.schedule.first_poll_spread);
  EXPECT_EQ(c.engine.schedule.down_after, d.engine.schedule.down_after);
  EXPECT_EQ(c.engine.schedule.down_probe_interval, d.engine.schedule.down_probe_interval);
  EXPECT_EQ(c.discovery.port, d.discovery.port);
  EXPECT_EQ(c.discovery.communities, d.discovery.communities);
  EXPECT_EQ(c.discovery.versions, d.discovery.versions);
  EXPECT_EQ(c.discovery.pps, d.discovery.pps);
  EXPECT_EQ(c.discovery.timeout, d.discovery.timeout);
  EXPECT_EQ(c.discovery.time_limit, d.discovery.time_limit);
  EXPECT_EQ(c.discovery.save_to, d.discovery.save_to);
  EXPECT_EQ(c.metrics.address, d.metrics.address);
  EXPECT_EQ(c.metrics.port, d.metrics.port);
  EXPECT_EQ(c.output.jsonl, d.output.jsonl);
  EXPECT_EQ(c.log.level, d.log.level);
  ASSERT_EQ(c.targets.size(), 1u);
  EXPECT_EQ(c.targets[0].addresses, std::vector<std::string>{"127.0.0.1:1161"});
}

TEST(Config, EmptyFileIsAllDefaults) {
  auto r = parse("");
  ASSERT_TRUE(r) << r.message();
  EXPECT_EQ(r.cfg.engine.schedule.cadence[1], std::chrono::seconds(180));
}

TEST(Config, ValuesAreReadWithUnits) {
  auto r = parse(R"(
[engine]
max_concurrent_polls = 512
max_waiting_polls = 2048
[snmp]
retries = 5
timeout_initial_ms = 250
[limits]
device_min_gap_ms = 0
global_pps = 50000
[schedule]
status = "90s"
supplies = "1h30m"
identity = 86400
down_probe_interval = "2m"
[metrics]
listen = "[::1]:0"
[[targets]]
addresses = ["127.1.0.0/30", "localhost:1161"]
version = "1"
community = "other"
)");
  ASSERT_TRUE(r) << r.message();
  const auto& c = r.cfg;
  EXPECT_EQ(c.engine.max_concurrent_polls, 512u);
  EXPECT_EQ(c.engine.max_waiting_polls, 2048u);
  EXPECT_EQ(c.engine.client.retries, 5);
  EXPECT_EQ(c.engine.client.rtt.initial, 250ms);
  EXPECT_EQ(c.engine.client.rate.device_min_gap, 0us);
  EXPECT_EQ(c.engine.client.rate.global_pps, 50000);
  EXPECT_EQ(c.engine.schedule.cadence[1], 90s);
  EXPECT_EQ(c.engine.schedule.cadence[3], 5400s);
  EXPECT_EQ(c.engine.schedule.cadence[0], 86400s);
  EXPECT_EQ(c.engine.schedule.down_probe_interval, 120s);
  EXPECT_EQ(c.metrics.address, "::1");
  EXPECT_EQ(c.metrics.port, 0);
  ASSERT_EQ(c.targets.size(), 1u);
  EXPECT_EQ(*c.targets[0].version, version_choice::v1);
  EXPECT_EQ(*c.targets[0].community, "other");
}

struct rejection {
  const char* text;
  const char* field;
  const char* reason_part;
  unsigned line;
};

TEST(Config, EachMistakeIsRejectedWithPlaceFieldAndReason) {
  const rejection cases[] = {
      {"[stroage]\npath = \"x\"\n", "[stroage]", "unknown section", 1},
      {"[snmp]\nretires = 3\n", "snmp.retires", "unknown key", 2},
      {"[snmp]\nretries = 11\n", "snmp.retries", "from 0 to 10", 2},
      {"[snmp]\nretries = \"two\"\n", "snmp.retries", "got a string", 2},
      {"[snmp]\nbackoff = 0.5\n", "snmp.backoff", "from 1 to 10", 2},
      {"[snmp]\nversion = \"3\"\n", "snmp.version", "\"auto\", \"1\" or \"2c\"", 2},
      {"[snmp]\nport = 0\n", "snmp.port", "from 1 to 65535", 2},
      {"[snmp]\nbind_address = \"example.com\"\n", "snmp.bind_address", "IPv4 address", 2},
      {"[snmp]\ntimeout_initial_ms = -5\n", "snmp.timeout_initial_ms", "duration", 2},
      {"[limits]\nsubnet_pps = -1\n", "limits.subnet_pps", "from 0", 2},
      {"[limits]\nburst = 0\n", "limits.burst", "from 1", 2},
      {"[schedule]\nstatus = \"3 minutes\"\n", "schedule.status", "duration", 2},
      {"[schedule]\nstatus = \"0s\"\n", "schedule.status", "from 1s", 2},
      {"[schedule]\ncoalesce = 2.0\n", "schedule.coalesce", "from 0 to 0.9", 2},
      {"[[targets]]\naddresses = [\"127.0.0.1/40\"]\n", "targets[0].addresses[0]", "prefix length",
       2},
      {"[[targets]]\nversion = \"2c\"\n", "targets[0]", "needs `addresses` or `file`", 1},
      {"[[targets]]\naddresses = \"127.0.0.1\"\n", "targets[0].addresses", "array of strings", 2},
      {"[discovery]\nversions = [\"2c\", \"2c\"]\n", "discovery.versions", "each once", 2},
      {"[discovery]\ntime_limit = \"forever\"\n", "discovery.time_limit", "duration", 2},
      {"[metrics]\nlisten = \"localhost:9750\"\n", "metrics.listen", "numeric address", 2},
      {"[log]\nlevel = \"verbose\"\n", "log.level", "one of trace", 2},
      {"snmp = 3\n", "[snmp]", "must be a table", 1},
      {"[engine]\nthreads = 1.5\n", "engine.threads", "integer", 2},
      {"[engine]\nmax_waiting_polls = -1\n", "engine.max_waiting_polls", "from 0 to 8000000", 2},
      {"[engine]\nmax_waiting_polls = \"many\"\n", "engine.max_waiting_polls", "got a string", 2},
      {"targets = 1\n", "[[targets]]", "array of tables", 1},
  };
  for (const auto& c : cases) {
    const auto e = one_error(c.text);
    EXPECT_EQ(e.field, c.field) << c.text;
    EXPECT_NE(e.reason.find(c.reason_part), std::string::npos) << c.text << " -> " << e.message();
    EXPECT_EQ(e.where.rfind("f.toml:" + std::to_string(c.line) + ":", 0), 0u)
        << c.text << " -> " << e.message();
  }
}

TEST(Config, SyntaxErrorsNameTheLine) {
  const auto e = one_error("[snmp]\nretries = 2\nport = = 3\n");
  EXPECT_EQ(e.where.rfind("f.toml:3:", 0), 0u) << e.message();
  EXPECT_NE(e.reason.find("not valid TOML"), std::string::npos);
}

TEST(Config, AllMistakesAreReportedAtOnce) {
  auto r = parse("[snmp]\nretries = 99\nport = 0\n[bogus]\n");
  EXPECT_EQ(r.errors.size(), 3u) << r.message();
}

TEST(Config, CrossFieldRulesAreChecked) {
  auto e = one_error("[snmp]\ntimeout_min_ms = 6000\ntimeout_max_ms = 5000\n");
  EXPECT_EQ(e.field, "snmp.timeout_min_ms");
  e = one_error("[snmp]\nmax_repetitions_start = 80\nmax_repetitions_cap = 64\n");
  EXPECT_EQ(e.field, "snmp.max_repetitions_start");
}

TEST(Config, CommunitiesNeverAppearInMessages) {
  const std::string secret = "Zq7-s3cr3t-community";
  const std::string texts[] = {
      "[snmp]\ncommunity = \"" + std::string(300, 'Z') + "\"\n",  // too long (its text is 'Z's)
      "[snmp]\ncommunity = " + secret + "\n",                     // bare word: a TOML error
      "[snmp]\ncommunity = '" + secret + "'x\n",                  // junk after the string
      "[snmp]\ncommunity = \"" + secret + "\"\ncommunity = \"" + secret + "\"\n",    // twice
      "[[targets]]\naddresses = [\"127.0.0.1\"]\ncommunity = ['" + secret + "']\n",  // wrong type
      "[discovery]\ncommunities = ['" + secret + "', 7]\n",
  };
  for (const auto& t : texts) {
    auto r = parse(t);
    ASSERT_FALSE(r) << t;
    const std::string m = r.message();
    EXPECT_EQ(m.find(secret), std::string::npos) << m;
    EXPECT_EQ(m.find("Zq7"), std::string::npos) << m;
    EXPECT_EQ(m.find("ZZZZ"), std::string::npos) << m;
  }
}

TEST(Config, HostileInputIsAnErrorNotACrash) {
  std::vector<std::string> inputs = {
      std::string("\0\0\0", 3),
      "\xff\xfe\xfd",
      std::string(100000, '['),
      "[snmp]\nretries = 99999999999999999999999\n",
      "[schedule]\nstatus = \"" + std::string(1000, '9') + "s\"\n",
      "a = " + std::string(5000, '[') + std::string(5000, ']') + "\n",
      "[[targets]]\naddresses = [" + std::string(20000, '"') + "]\n",
      "[engine]\n" + std::string(100000, ' ') + "threads = 1\n",
  };
  std::mt19937 rng(42);
  const std::string base = test::read_file(example);
  for (int i = 0; i < 300; ++i) {
    std::string m = base;
    for (int k = 0; k < 8; ++k) m[rng() % m.size()] = static_cast<char>(rng() % 256);
    inputs.push_back(m);
  }
  for (const auto& in : inputs) {
    auto r = parse(in);
    if (!r) {
      EXPECT_FALSE(r.message().empty());
    }
  }
}

TEST(Config, LoadingAMissingOrHugeFileSaysSo) {
  test::temp_dir dir;
  auto r = load_config(dir / "nope.toml");
  ASSERT_FALSE(r);
  EXPECT_NE(r.message().find("cannot read"), std::string::npos);
  test::write_file(dir / "big.toml", std::string(2 << 20, '#'));
  r = load_config(dir / "big.toml");
  ASSERT_FALSE(r);
  EXPECT_NE(r.message().find("1 MiB"), std::string::npos);
}

TEST(Config, TargetsComeFromAddressesRangesFilesAndHostNamesWithoutDuplicates) {
  test::temp_dir dir;
  test::write_file(
      dir / "t.csv",
      "# from discover\naddress,port,version,community\n127.1.0.9,1161,1,\n127.1.0.1,,2c,c2\n");
  test::write_file(dir / "f.toml", R"(
[snmp]
port = 1161
[[targets]]
addresses = ["127.1.0.0/30", "localhost:2000"]
community = "c1"
[[targets]]
file = "t.csv"
)");
  auto r = load_config(dir / "f.toml");
  ASSERT_TRUE(r) << r.message();
  std::vector<target> out;
  std::string why;
  ASSERT_TRUE(collect_targets(r.cfg, out, why, 5s)) << why;
  std::vector<std::string> names;
  for (const auto& t : out) names.push_back(format_endpoint(t.address) + "/" + t.community);
  EXPECT_EQ(names, (std::vector<std::string>{"127.1.0.1:1161/c1", "127.1.0.2:1161/c1",
                                             "127.1.0.9:1161/public", "127.0.0.1:2000/c1"}));
  EXPECT_EQ(out[2].version, version_choice::v1);

  test::write_file(dir / "g.toml", "[[targets]]\nfile = \"missing.csv\"\n");
  r = load_config(dir / "g.toml");
  ASSERT_TRUE(r);
  out.clear();
  EXPECT_FALSE(collect_targets(r.cfg, out, why));
  EXPECT_NE(why.find("missing.csv"), std::string::npos);
  test::write_file(dir / "bad.csv", "127.0.0.1\nnot valid!\n");
  test::write_file(dir / "h.toml", "[[targets]]\nfile = \"bad.csv\"\n");
  r = load_config(dir / "h.toml");
  EXPECT_FALSE(collect_targets(r.cfg, out, why));
  EXPECT_NE(why.find("bad.csv:2:"), std::string::npos) << why;
}

TEST(Config, DurationsParse) {
  EXPECT_EQ(parse_duration("500ms"), 500ms);
  EXPECT_EQ(parse_duration("90s"), 90s);
  EXPECT_EQ(parse_duration("1h30m"), 5400s);
  EXPECT_EQ(parse_duration("2d"), 172800s);
  for (const char* bad : {"", "s", "5", "5x", "-5s", "1.5h", "9999999999s"})
    EXPECT_FALSE(parse_duration(bad)) << bad;
}

}  // namespace
}  // namespace fleetpoll::engine
