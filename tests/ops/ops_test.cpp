// ops/: the Grafana dashboard is a valid model whose every PromQL expression parses (checked by
// the real promtool), and every metric — and every exact label value — that the alerting rules
// and the dashboard use is exported: by a live `fleetpoll run` polling an in-process fleetsim
// fleet, by the uplink's and the status page's collectables (collected in-process, as they are
// not wired into `run` yet), or, for the storage families, named in the storage's source.
#include <gtest/gtest.h>

#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <regex>
#include <set>
#include <sstream>

#include "../engine/support.hpp"
#include "../metrics/test_client.hpp"
#include "fleetpoll/uplink/uplink_metrics.hpp"
#include "fleetpoll/web/status_source.hpp"
#include "fleetpoll/web/supply_gauges.hpp"

namespace fleetpoll {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using engine::test::child;
using engine::test::read_file;
using engine::test::temp_dir;
using engine::test::write_file;
using namespace std::chrono_literals;

const fs::path ops_dir = fs::path(FLEETPOLL_SOURCE_DIR) / "ops";

// Every PromQL expression of the dashboard (panel targets and query variables).
std::vector<std::string> dashboard_expressions(const json::value& dash) {
  std::vector<std::string> out;
  for (const auto& p : dash.at("panels").as_array())
    if (const auto* t = p.as_object().if_contains("targets"))
      for (const auto& q : t->as_array()) out.emplace_back(q.at("expr").as_string());
  return out;
}

// Grafana's variables replaced by what they stand for, so promtool can parse the expression.
std::string substitute_variables(std::string e) {
  const std::pair<std::string, std::string> vars[] = {
      {"$__rate_interval", "5m"}, {"$__interval", "1m"}, {"$__range", "1h"}, {"$instance", ".*"}};
  for (const auto& [from, to] : vars)
    for (auto p = e.find(from); p != std::string::npos; p = e.find(from, p + to.size()))
      e.replace(p, from.size(), to);
  return e;
}

// Runs promtool with `args`; returns its exit code and output.
std::pair<int, std::string> promtool(const std::string& args) {
  const std::string cmd = std::string(FLEETPOLL_PROMTOOL) + " " + args + " 2>&1";
  FILE* f = ::popen(cmd.c_str(), "r");
  if (f == nullptr) return {-1, "popen failed"};
  std::string out;
  char buf[4096];
  for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, f)) > 0;) out.append(buf, n);
  const int st = ::pclose(f);
  return {WIFEXITED(st) ? WEXITSTATUS(st) : -1, out};
}

// A rule file with one recording rule per expression (promtool has no expression check; a rule
// file check parses each expression).
std::string rules_of(const std::vector<std::string>& exprs) {
  std::string y = "groups:\n  - name: dashboard\n    rules:\n";
  for (std::size_t i = 0; i < exprs.size(); ++i)
    y += "      - record: dashboard:expr_" + std::to_string(i) +
         "\n        expr: " + json::serialize(json::value(substitute_variables(exprs[i]))) + "\n";
  return y;
}

TEST(Dashboard, IsAGrafanaModelWithADatasourceVariable) {
  const auto dash = json::parse(read_file(ops_dir / "grafana" / "fleetpoll-dashboard.json"));
  const auto& d = dash.as_object();
  EXPECT_GE(d.at("schemaVersion").to_number<int>(), 30);
  EXPECT_FALSE(d.at("title").as_string().empty());
  EXPECT_FALSE(d.at("uid").as_string().empty());
  bool datasource_var = false;
  for (const auto& v : d.at("templating").at("list").as_array())
    if (v.at("type").as_string() == "datasource" && v.at("query").as_string() == "prometheus" &&
        v.at("name").as_string() == "datasource")
      datasource_var = true;
  EXPECT_TRUE(datasource_var);
  std::set<std::int64_t> ids;
  std::set<std::string> titles;
  std::size_t queries = 0;
  for (const auto& pv : d.at("panels").as_array()) {
    const auto& p = pv.as_object();
    const std::string title(p.at("title").as_string());
    EXPECT_TRUE(ids.insert(p.at("id").as_int64()).second) << "duplicate panel id in " << title;
    const auto& g = p.at("gridPos").as_object();
    EXPECT_LE(g.at("x").as_int64() + g.at("w").as_int64(), 24) << title;
    if (p.at("type").as_string() == "row") continue;
    EXPECT_TRUE(titles.insert(title).second) << "duplicate panel title " << title;
    EXPECT_EQ(p.at("datasource").at("uid").as_string(), "${datasource}") << title;
    const auto& targets = p.at("targets").as_array();
    ASSERT_FALSE(targets.empty()) << title;
    for (const auto& t : targets) {
      EXPECT_FALSE(t.at("expr").as_string().empty()) << title;
      EXPECT_EQ(t.at("datasource").at("uid").as_string(), "${datasource}") << title;
      ++queries;
    }
  }
  // The issue's sections: fleet health, poll rates and latencies, errors, supplies, uplink.
  for (const char* t :
       {"Devices by state", "Polls per second by result", "Poll duration by data class (p50, p99)",
        "Failed SNMP requests per second", "Supplies by state", "Records per second", "Outbox"})
    EXPECT_TRUE(titles.count(t)) << "missing panel " << t;
  std::cout << "dashboard: " << ids.size() << " panels, " << queries << " queries\n";
}

TEST(Dashboard, EveryExpressionParsesInPromtool) {
  const auto dash = json::parse(read_file(ops_dir / "grafana" / "fleetpoll-dashboard.json"));
  const auto exprs = dashboard_expressions(dash);
  ASSERT_GT(exprs.size(), 20u);
  temp_dir tmp;
  write_file(tmp / "dashboard.yml", rules_of(exprs));
  auto [rc, out] = promtool("check rules '" + (tmp / "dashboard.yml").string() + "'");
  EXPECT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("SUCCESS: " + std::to_string(exprs.size()) + " rules found"),
            std::string::npos)
      << out;
  // The check can fail: one broken expression among them is reported.
  auto broken = exprs;
  broken.push_back("sum by (le (rate(fleetpoll_polls_total[5m]))");
  write_file(tmp / "broken.yml", rules_of(broken));
  std::tie(rc, out) = promtool("check rules '" + (tmp / "broken.yml").string() + "'");
  EXPECT_NE(rc, 0) << out;
}

// ---- metric names
// --------------------------------------------------------------------------------

// A metric referenced by a rule or a panel, with the exact-match label values it selects.
struct reference {
  std::string family;  // histogram suffixes removed
  std::set<std::pair<std::string, std::string>> labels;
  std::string where;
};

std::vector<reference> references_in(const std::string& text, const std::string& where) {
  std::vector<reference> out;
  static const std::regex metric(R"(\b((?:fleetpoll|process)_[a-z0-9_]+)(\{([^}]*)\})?)");
  static const std::regex matcher(R"re(([a-z_]+)\s*=\s*"([^"]*)")re");
  for (std::sregex_iterator it(text.begin(), text.end(), metric), end; it != end; ++it) {
    reference r;
    r.family = (*it)[1];
    r.where = where;
    for (const char* suffix : {"_bucket", "_sum", "_count"}) {
      const std::string s = suffix;
      if (r.family.size() > s.size() && r.family.ends_with(s) &&
          (r.family.find("_seconds") != std::string::npos)) {
        r.family.resize(r.family.size() - s.size());
        break;
      }
    }
    const std::string sel = (*it)[3];
    for (std::sregex_iterator m(sel.begin(), sel.end(), matcher); m != end; ++m) {
      const std::string name = (*m)[1];
      if (name == "job" || name == "instance") continue;  // Prometheus' target labels
      r.labels.emplace(name, (*m)[2]);
    }
    out.push_back(std::move(r));
  }
  return out;
}

// Families and their label pairs from a Prometheus text exposition.
using family_map = std::map<std::string, std::set<std::pair<std::string, std::string>>>;

void add_exposition(const std::string& text, family_map& out) {
  static const std::regex type_line(R"(^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (\w+)$)");
  static const std::regex series(R"(^([a-zA-Z_:][a-zA-Z0-9_:]*)\{([^}]*)\})");
  static const std::regex pair(R"re(([a-zA-Z_]+)="((?:[^"\\]|\\.)*)")re");
  std::istringstream in(text);
  std::string family;
  for (std::string line; std::getline(in, line);) {
    std::smatch m;
    if (std::regex_search(line, m, type_line)) {
      family = m[1];
      out[family];
    } else if (!line.empty() && line[0] != '#' && std::regex_search(line, m, series)) {
      const std::string labels = m[2];
      for (std::sregex_iterator p(labels.begin(), labels.end(), pair), end; p != end; ++p)
        out[family].emplace((*p)[1], (*p)[2]);
    }
  }
}

std::string serialize(const std::vector<prometheus::MetricFamily>& families) {
  std::ostringstream out;
  prometheus::TextSerializer().Serialize(out, families);
  return out.str();
}

class one_device_source final : public web::status_source {
 public:
  std::error_code devices(std::vector<web::device_row>& out) override {
    web::device_row d;
    d.id = "1";
    d.address = "127.1.0.1:161";
    d.supplies.push_back({1, "Black Toner", "black", false, 50.0, "", false, false});
    out = {d};
    return {};
  }
  std::error_code device(std::string_view, web::device_detail&) override { return {}; }
  web::uplink_state uplink() override { return {}; }
};

TEST(Metrics, EveryMetricOfTheRulesAndTheDashboardIsExported) {
  // 1. References.
  std::vector<reference> refs;
  const std::string rules = read_file(ops_dir / "prometheus" / "fleetpoll-alerts.yml");
  for (auto& r : references_in(rules, "fleetpoll-alerts.yml")) refs.push_back(std::move(r));
  const auto dash = json::parse(read_file(ops_dir / "grafana" / "fleetpoll-dashboard.json"));
  for (const auto& e : dashboard_expressions(dash))
    for (auto& r : references_in(e, "dashboard: " + e)) refs.push_back(std::move(r));
  for (const auto& v : dash.at("templating").at("list").as_array())
    if (const auto* q = v.as_object().if_contains("definition"))
      for (auto& r : references_in(std::string(q->as_string()), "dashboard variable"))
        refs.push_back(std::move(r));
  ASSERT_GT(refs.size(), 50u);

  // 2. A live `fleetpoll run` polling 8 simulated printers, metrics on an ephemeral port.
  fleetsim::options fo;
  fo.devices = 8;
  fo.acceleration = 0;
  auto fleet = engine::test::start_fleet(fo);
  ASSERT_TRUE(fleet);
  temp_dir tmp;
  std::string addresses;
  for (std::uint32_t i = 0; i < fo.devices; ++i)
    addresses += (i ? ", \"" : "\"") + fleet->address_of(i) + "\"";
  write_file(tmp / "fleetpoll.toml",
             "[engine]\nthreads = 1\n[snmp]\nport = " + std::to_string(fleet->port()) +
                 "\n[[targets]]\naddresses = [" + addresses +
                 "]\n[metrics]\nlisten = \"127.0.0.1:0\"\n[log]\nlevel = \"info\"\n"
                 // Storage and the status page are wired into run: their families (storage_*,
                 // supplies, devices_needing_attention, ...) come from this live scrape too.
                 "[storage]\npath = \"db\"\nsite_id = \"ops-test\"\nmin_free_mb = 0\n"
                 "[status]\nper_device_supply_gauges = true\n");
  child run(
      {engine::test::fleetpoll_binary(), "run", "--config", (tmp / "fleetpoll.toml").string()});
  static const std::regex listening(R"(metrics on http://127\.0\.0\.1:(\d+)/metrics)");
  ASSERT_TRUE(
      run.wait_output([](const std::string& s) { return std::regex_search(s, listening); }, 20s))
      << run.err();
  std::smatch m;
  const std::string log = run.err();
  ASSERT_TRUE(std::regex_search(log, m, listening));
  const auto port = static_cast<std::uint16_t>(std::stoi(m[1]));
  metrics::test::client c(port);
  ASSERT_TRUE(c.send("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"));
  const auto scrape = c.read_response();
  ASSERT_TRUE(scrape);
  ASSERT_EQ(scrape->status, 200);
  family_map live;
  add_exposition(scrape->body, live);
  EXPECT_TRUE(live.count("fleetpoll_devices")) << scrape->body;
  run.signal(SIGTERM);
  EXPECT_EQ(engine::test::exit_code(run.wait(20s)), 0) << run.err();

  // 3. The uplink's families (run has no XMPP server here) and the per-device gauges' label
  //    values, collected in-process from their own code.
  family_map in_process;
  {
    prometheus::Registry reg;
    uplink::uplink_metrics um(reg);
    add_exposition(serialize(reg.Collect()), in_process);
    web::supply_gauges g(std::make_shared<one_device_source>(), {true, 10});
    add_exposition(serialize(g.Collect()), in_process);
  }

  // 4. The storage families: named in storage/src/storage_metrics.cpp once storage is merged.
  const fs::path storage_src = fs::path(FLEETPOLL_SOURCE_DIR) / "storage/src/storage_metrics.cpp";
  const std::string storage_text = fs::exists(storage_src) ? read_file(storage_src) : "";

  std::set<std::string> from_live, from_process, from_source, unverified;
  for (const auto& r : refs) {
    const family_map* where = live.count(r.family)         ? &live
                              : in_process.count(r.family) ? &in_process
                                                           : nullptr;
    if (where != nullptr) {
      (where == &live ? from_live : from_process).insert(r.family);
      for (const auto& l : r.labels)
        EXPECT_TRUE(where->at(r.family).count(l)) << r.family << "{" << l.first << "=\"" << l.second
                                                  << "\"} is never exported (" << r.where << ")";
      continue;
    }
    if (r.family.rfind("fleetpoll_storage_", 0) == 0) {
      if (storage_text.empty()) {
        unverified.insert(r.family);
      } else {
        EXPECT_NE(storage_text.find("\"" + r.family + "\""), std::string::npos)
            << r.family << " is not a storage family (" << r.where << ")";
        from_source.insert(r.family);
      }
      continue;
    }
    ADD_FAILURE() << r.family << " is exported by nothing (" << r.where << ")";
  }
  auto list = [](const std::set<std::string>& s) {
    std::string o;
    for (const auto& x : s) o += " " + x;
    return o;
  };
  std::cout << "live scrape of fleetpoll run (" << from_live.size() << "):" << list(from_live)
            << "\nin-process uplink_metrics / supply_gauges (" << from_process.size()
            << "):" << list(from_process) << "\nstorage source (" << from_source.size()
            << "):" << list(from_source) << "\n";
  if (!unverified.empty())
    GTEST_SKIP() << "storage/src/storage_metrics.cpp is not in this tree (storage not merged): "
                    "unverified:"
                 << list(unverified);
}

}  // namespace
}  // namespace fleetpoll
