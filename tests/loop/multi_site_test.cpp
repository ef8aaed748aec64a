// The whole loop with two sites: two `fleetpoll run` processes (each its own site id, key,
// XMPP account, database and half of a simulated fleet) feed one `fleetpoll receive` through one
// real prosody. Each site's records must arrive exactly once (every sequence number 1..N the
// engine made, no gap, no repeat), and be kept apart (a site's lines carry only its own devices).
#include <gtest/gtest.h>

#include <csignal>
#include <map>
#include <regex>
#include <set>
#include <sstream>

#include "fleetpoll/fleetsim/fleetsim.hpp"
#include "fleetpoll/uplink/keys.hpp"
#include "prosody.hpp"
#include "support.hpp"
#include "uplink_env.hpp"

namespace {

namespace ut = fleetpoll::uplink::test;
using fleetpoll::engine::test::child;
using fleetpoll::engine::test::fleetpoll_binary;
using fleetpoll::engine::test::temp_dir;
using namespace std::chrono_literals;

constexpr int kDevicesPerSite = 12;

struct site_setup {
  std::string id;
  std::string account;
  std::string base;  // first device address
  std::uint16_t metrics_port = 0;
};

std::string engine_config(const site_setup& s, std::uint16_t snmp_port, std::uint16_t xmpp_port,
                          const std::string& ca_file) {
  std::ostringstream c;
  c << "[snmp]\nport = " << snmp_port << "\n"
    << "[limits]\nsubnet_pps = 0\nglobal_pps = 5000\n"
    << "[schedule]\nstatus = \"2s\"\nalerts = \"2s\"\nsupplies = \"2s\"\ncounters = \"2s\"\n"
    << "identity = \"1m\"\n"
    << "[[targets]]\naddresses = [";
  // kDevicesPerSite consecutive addresses from s.base (last octet counts up).
  const auto dot = s.base.rfind('.');
  const int first = std::stoi(s.base.substr(dot + 1));
  for (int i = 0; i < kDevicesPerSite; ++i)
    c << (i ? ", " : "") << "\"" << s.base.substr(0, dot + 1) << first + i << "\"";
  c << "]\n"
    << "[metrics]\nlisten = \"127.0.0.1:" << s.metrics_port << "\"\n"
    << "[storage]\npath = \"" << s.id << ".db\"\nsite_id = \"" << s.id << "\"\n"
    << "[xmpp]\njid = \"" << s.account << "@localhost\"\npassword_file = \"" << s.id
    << ".pass\"\nhost = \"127.0.0.1\"\nport = " << xmpp_port
    << "\ndirect_tls_port = 0\nca_file = \"" << ca_file << "\"\n"
    << "[uplink]\nreceiver = \"provider@localhost\"\nsite = \"" << s.id << "\"\nkey_file = \""
    << s.id << ".keys\"\nmax_delay_ms = 200\nroutine_delay_ms = 200\n";
  return c.str();
}

// The engine's last shutdown line: "uplink: records created N, acknowledged M, waiting W".
bool final_counts(const std::string& log, std::uint64_t& created, std::uint64_t& acked,
                  std::uint64_t& waiting) {
  static const std::regex re(R"(records created (\d+), acknowledged (\d+), waiting (\d+))");
  std::smatch m;
  std::string::const_iterator from = log.begin();
  bool found = false;
  while (std::regex_search(from, log.end(), m, re)) {
    created = std::stoull(m[1]);
    acked = std::stoull(m[2]);
    waiting = std::stoull(m[3]);
    found = true;
    from = m[0].second;
  }
  return found;
}

// Every line of the receiver's output: site -> sequence numbers (a multiset: repeats count).
std::map<std::string, std::multiset<std::uint64_t>> received_seqs(const std::string& text) {
  std::map<std::string, std::multiset<std::uint64_t>> seqs;
  std::istringstream in(text);
  static const std::regex line_re(R"re(^\{"site":"([^"]+)","seq":(\d+),)re");
  std::smatch m;
  for (std::string line; std::getline(in, line);)
    if (std::regex_search(line, m, line_re)) seqs[m[1]].insert(std::stoull(m[2]));
  return seqs;
}

// True when `got` is exactly 1..n, each once.
bool exactly_once(const std::multiset<std::uint64_t>& got, std::uint64_t n, std::string& why) {
  std::uint64_t expect = 1;
  for (auto q : got) {
    if (q != expect) {
      why = "expected seq " + std::to_string(expect) + ", got " + std::to_string(q);
      return false;
    }
    ++expect;
  }
  if (expect - 1 != n) {
    why = std::to_string(expect - 1) + " records received, " + std::to_string(n) + " made";
    return false;
  }
  return true;
}

TEST(MultiSite, TwoEnginesFeedOneReceiverAndEachSiteArrivesOnceAndApart) {
  temp_dir dir;
  ut::prosody_server xmpp;
  ASSERT_TRUE(xmpp.setup_error().empty()) << xmpp.setup_error();
  const std::string provider_pass = ut::random_hex(12);
  ASSERT_EQ(xmpp.register_user("provider", provider_pass), "");
  std::vector<site_setup> sites = {{"site-a", "engine-a", "127.3.0.1", ut::free_tcp_port()},
                                   {"site-b", "engine-b", "127.3.1.1", ut::free_tcp_port()}};
  for (const auto& s : sites) {
    const std::string pass = ut::random_hex(12);
    ASSERT_EQ(xmpp.register_user(s.account, pass), "");
    ut::write_file((dir / (s.id + ".pass")).string(), pass + "\n", 0600);
    // Each site its own key, generated per run.
    ut::write_file((dir / (s.id + ".keys")).string(),
                   "# generated per test run\n" + fleetpoll::uplink::generate_key_line(1), 0600);
  }
  ASSERT_EQ(xmpp.start(), "");

  // One simulated fleet on loopback; site A polls 127.3.0.1.., site B 127.3.1.1.. (device 256+).
  fleetpoll::fleetsim::options fo;
  fo.devices = 256 + kDevicesPerSite;
  fo.base_address = "127.3.0.1";
  fo.port = 0;
  fo.seed = 11;
  fo.acceleration = 600;  // ten simulated minutes per second: levels and counters move
  std::string why;
  auto fleet = fleetpoll::fleetsim::fleet::create(fo, why);
  ASSERT_TRUE(fleet) << why;
  ASSERT_FALSE(fleet->start(why)) << why;

  // The provider's receiver, with one [[site]] per engine and its key.
  std::ostringstream p;
  p << "[xmpp]\njid = \"provider@localhost\"\npassword = \"" << provider_pass
    << "\"\nhost = \"127.0.0.1\"\nport = " << xmpp.port() << "\ndirect_tls_port = 0\nca_file = \""
    << xmpp.ca_file() << "\"\n"
    << "[output]\npath = \"received.jsonl\"\nstate = \"received.ledger\"\nsync = false\n";
  for (const auto& s : sites)
    p << "[[site]]\nid = \"" << s.id << "\"\njid = \"" << s.account << "@localhost\"\nkey_file = \""
      << s.id << ".keys\"\n";
  ut::write_file((dir / "provider.toml").string(), p.str(), 0600);
  child receiver({fleetpoll_binary(), "receive", "--config", (dir / "provider.toml").string()});
  ASSERT_TRUE(receiver.wait_output(
      [](const std::string& o) { return o.find("logged in") != std::string::npos; }, 30s))
      << receiver.err();

  std::vector<std::unique_ptr<child>> engines;
  for (const auto& s : sites) {
    ut::write_file((dir / (s.id + ".toml")).string(),
                   engine_config(s, fleet->port(), xmpp.port(), xmpp.ca_file()), 0600);
    engines.push_back(std::make_unique<child>(std::vector<std::string>{
        fleetpoll_binary(), "run", "--config", (dir / (s.id + ".toml")).string()}));
  }

  // Wait (bounded) until the receiver has records from every device of both sites: each device
  // sends its identity once, so 2 x kDevicesPerSite distinct addresses.
  const auto received = dir / "received.jsonl";
  auto distinct_addresses = [&] {
    std::set<std::string> seen;
    std::istringstream in(fleetpoll::engine::test::read_file(received));
    static const std::regex addr(R"("address":\s*"([0-9.]+):)");
    std::smatch m;
    for (std::string line; std::getline(in, line);)
      if (std::regex_search(line, m, addr)) seen.insert(m[1]);
    return seen.size();
  };
  const auto deadline = std::chrono::steady_clock::now() + 90s;
  while (distinct_addresses() < 2 * kDevicesPerSite && std::chrono::steady_clock::now() < deadline)
    receiver.wait_output([](const std::string&) { return false; }, 250ms);  // bounded pause
  ASSERT_EQ(distinct_addresses(), 2u * kDevicesPerSite)
      << fleetpoll::engine::test::read_file(received).substr(0, 2000) << engines[0]->err()
      << engines[1]->err() << receiver.err();

  // Stop both engines: each sends what is left in its outbox, then reports its counts.
  std::map<std::string, std::uint64_t> created;
  for (std::size_t i = 0; i < engines.size(); ++i) engines[i]->signal(SIGTERM);
  for (std::size_t i = 0; i < engines.size(); ++i) {
    auto st = engines[i]->wait(60s);
    ASSERT_TRUE(st.has_value()) << "engine " << sites[i].id << " did not stop";
    EXPECT_TRUE(WIFEXITED(*st) && WEXITSTATUS(*st) == 0) << engines[i]->err();
    std::uint64_t c = 0, a = 0, w = 0;
    ASSERT_TRUE(final_counts(engines[i]->out() + engines[i]->err(), c, a, w)) << engines[i]->err();
    EXPECT_GT(c, static_cast<std::uint64_t>(kDevicesPerSite)) << sites[i].id;
    EXPECT_EQ(a, c) << sites[i].id << ": not everything was acknowledged before the stop";
    EXPECT_EQ(w, 0u) << sites[i].id;
    created[sites[i].id] = c;
  }
  receiver.signal(SIGTERM);
  ASSERT_TRUE(receiver.wait(30s).has_value());

  // Every line: its site, its sequence number, its device address.
  std::map<std::string, std::multiset<std::uint64_t>> seqs;
  std::istringstream in(fleetpoll::engine::test::read_file(received));
  static const std::regex line_re(R"re(^\{"site":"([^"]+)","seq":(\d+),)re");
  static const std::regex addr_re(R"("address":\s*"([0-9.]+):)");
  std::size_t lines = 0;
  for (std::string line; std::getline(in, line);) {
    ++lines;
    std::smatch m;
    ASSERT_TRUE(std::regex_search(line, m, line_re)) << line;
    const std::string site = m[1];
    seqs[site].insert(std::stoull(m[2]));
    std::smatch a;
    if (std::regex_search(line, a, addr_re)) {
      // Kept apart: site A's records name only 127.3.0.x devices, site B's only 127.3.1.x.
      const std::string prefix = site == "site-a" ? "127.3.0." : "127.3.1.";
      EXPECT_EQ(std::string(a[1]).rfind(prefix, 0), 0u) << site << ": " << line;
    }
  }
  ASSERT_EQ(seqs.size(), 2u) << "records from " << seqs.size() << " sites";
  for (const auto& s : sites) {
    const auto& got = seqs[s.id];
    EXPECT_EQ(got.size(), created[s.id]) << s.id << ": lines vs records the engine made";
    std::uint64_t expect = 1;
    for (auto q : got) {
      ASSERT_EQ(q, expect) << s.id << ": sequence gap or repeat";
      ++expect;
    }
  }
  std::printf("multi-site: %zu lines; site-a %zu records, site-b %zu records, each once\n", lines,
              seqs["site-a"].size(), seqs["site-b"].size());
}

// One site through the faults of issue 6, with the real engine and storage: the engine is killed
// with SIGKILL while it sends and started again on the same database, the receiver goes away and
// comes back, prosody restarts. Afterwards the receiver holds every record the engine made
// exactly once, in order.
TEST(WholeLoopFaults, EngineKilledReceiverAwayAndServerRestartedLoseAndRepeatNothing) {
  temp_dir dir;
  ut::prosody_server xmpp;
  ASSERT_TRUE(xmpp.setup_error().empty()) << xmpp.setup_error();
  const std::string provider_pass = ut::random_hex(12);
  ASSERT_EQ(xmpp.register_user("provider", provider_pass), "");
  site_setup s{"site-a", "engine-a", "127.4.0.1", ut::free_tcp_port()};
  const std::string pass = ut::random_hex(12);
  ASSERT_EQ(xmpp.register_user(s.account, pass), "");
  ut::write_file((dir / (s.id + ".pass")).string(), pass + "\n", 0600);
  ut::write_file((dir / (s.id + ".keys")).string(),
                 "# generated per test run\n" + fleetpoll::uplink::generate_key_line(1), 0600);
  ASSERT_EQ(xmpp.start(), "");

  fleetpoll::fleetsim::options fo;
  fo.devices = kDevicesPerSite;
  fo.base_address = s.base;
  fo.port = 0;
  fo.seed = 12;
  fo.acceleration = 3600;  // an hour a second: levels, counters and alerts keep changing
  std::string why;
  auto fleet = fleetpoll::fleetsim::fleet::create(fo, why);
  ASSERT_TRUE(fleet) << why;
  ASSERT_FALSE(fleet->start(why)) << why;

  std::ostringstream p;
  p << "[xmpp]\njid = \"provider@localhost\"\npassword = \"" << provider_pass
    << "\"\nhost = \"127.0.0.1\"\nport = " << xmpp.port() << "\ndirect_tls_port = 0\nca_file = \""
    << xmpp.ca_file() << "\"\n"
    << "[output]\npath = \"received.jsonl\"\nstate = \"received.ledger\"\nsync = true\n"
    << "[[site]]\nid = \"" << s.id << "\"\njid = \"" << s.account << "@localhost\"\nkey_file = \""
    << s.id << ".keys\"\n";
  ut::write_file((dir / "provider.toml").string(), p.str(), 0600);
  const std::vector<std::string> receive_cmd = {fleetpoll_binary(), "receive", "--config",
                                                (dir / "provider.toml").string()};
  auto logged_in = [](const std::string& o) { return o.find("logged in") != std::string::npos; };
  ut::write_file((dir / (s.id + ".toml")).string(),
                 engine_config(s, fleet->port(), xmpp.port(), xmpp.ca_file()), 0600);
  const std::vector<std::string> run_cmd = {fleetpoll_binary(), "run", "--config",
                                            (dir / (s.id + ".toml")).string()};
  const auto received = dir / "received.jsonl";
  auto lines = [&] {
    return received_seqs(fleetpoll::engine::test::read_file(received))[s.id].size();
  };
  // Waits (bounded) until the receiver's output has grown past `n` lines.
  auto wait_lines_above = [&](std::size_t n, child& watch) {
    const auto deadline = std::chrono::steady_clock::now() + 60s;
    while (lines() <= n && std::chrono::steady_clock::now() < deadline)
      watch.wait_output([](const std::string&) { return false; }, 200ms);  // bounded pause
    return lines() > n;
  };

  auto receiver = std::make_unique<child>(receive_cmd);
  ASSERT_TRUE(receiver->wait_output(logged_in, 30s)) << receiver->err();
  auto engine = std::make_unique<child>(run_cmd);
  ASSERT_TRUE(wait_lines_above(kDevicesPerSite, *engine)) << engine->err();

  // 1. SIGKILL the engine while it polls and sends; start it again on the same database.
  engine->signal(SIGKILL);
  ASSERT_TRUE(engine->wait(20s).has_value());
  const std::size_t before_restart = lines();
  engine = std::make_unique<child>(run_cmd);
  ASSERT_TRUE(wait_lines_above(before_restart, *engine)) << engine->err();

  // 2. The receiver goes away for a while (records wait in the outbox), then comes back.
  receiver->signal(SIGTERM);
  ASSERT_TRUE(receiver->wait(30s).has_value());
  const std::size_t while_away = lines();
  // Two seconds of polling (simulated hours of change) while nobody receives: nothing arrives.
  engine->wait_output([](const std::string&) { return false; }, 2s);  // bounded pause
  EXPECT_EQ(lines(), while_away);
  receiver = std::make_unique<child>(receive_cmd);
  ASSERT_TRUE(receiver->wait_output(logged_in, 30s)) << receiver->err();
  ASSERT_TRUE(wait_lines_above(while_away, *engine)) << engine->err() << receiver->err();

  // 3. prosody restarts under both.
  xmpp.stop();
  const std::size_t before_server = lines();
  ASSERT_EQ(xmpp.start(), "");
  ASSERT_TRUE(wait_lines_above(before_server, *engine)) << engine->err() << receiver->err();

  // Stop: the engine drains its outbox, then reports what it made.
  engine->signal(SIGTERM);
  auto st = engine->wait(60s);
  ASSERT_TRUE(st.has_value());
  std::uint64_t created = 0, acked = 0, waiting = 0;
  ASSERT_TRUE(final_counts(engine->out() + engine->err(), created, acked, waiting))
      << engine->err();
  EXPECT_EQ(acked, created);
  EXPECT_EQ(waiting, 0u);
  receiver->signal(SIGTERM);
  ASSERT_TRUE(receiver->wait(30s).has_value());
  const auto seqs = received_seqs(fleetpoll::engine::test::read_file(received));
  ASSERT_EQ(seqs.size(), 1u);
  std::string problem;
  EXPECT_TRUE(exactly_once(seqs.at(s.id), created, problem)) << problem;
  std::printf("whole loop with faults: %llu records made, each received once\n",
              static_cast<unsigned long long>(created));
}

}  // namespace
