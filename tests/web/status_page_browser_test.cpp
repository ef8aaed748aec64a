// The status page in real headless Chromium: a real metrics::http_server on loopback serves the
// page over a simulated fleet (fleetsim's ground truth of 40 printers: names, serials, supply
// levels, counters, alerts). The list shows every device, the "low status" view shows exactly the
// low ones, a device page shows that device's supplies; screenshots are saved as artefacts.
#include <gtest/gtest.h>

#include <algorithm>
#include <iostream>
#include <set>

#include "cdp_browser.hpp"
#include "fake_source.hpp"
#include "fleetpoll/fleetsim/fleetsim.hpp"
#include "fleetpoll/metrics/http_server.hpp"
#include "fleetpoll/web/status_page.hpp"

namespace fleetpoll::web {
namespace {

namespace fs = std::filesystem;

// The source's rule for this test: a supply is low at or below 25 %, empty at 0.
constexpr double low_percent = 25;

device_detail from_truth(const fleetsim::device_truth& t, std::uint32_t port) {
  device_detail d;
  d.row.id = std::to_string(t.device + 1);
  d.row.address = t.address + ":" + std::to_string(port);
  d.row.name = t.sys_name.empty() ? "" : t.sys_name;
  d.row.model = t.template_name;
  d.row.serial = t.serial;
  d.row.up = t.answers;
  d.row.first_seen_ms = static_cast<std::uint64_t>(t.installed_at) * 1000;
  d.row.last_seen_ms = static_cast<std::uint64_t>(t.sim_time) * 1000;
  d.row.alert_count = static_cast<std::uint32_t>(t.alerts.size());
  d.firmware = t.firmware;
  d.mac = t.mac;
  for (const auto& s : t.supplies) {
    supply_row r;
    r.index = s.index;
    r.description = s.description;
    r.receptacle = s.supply_class == 4;
    if (s.max_capacity && *s.max_capacity > 0 && s.level >= 0 && s.level <= *s.max_capacity) {
      r.percent = 100.0 * s.level / *s.max_capacity;
      r.low = !r.receptacle && *r.percent <= low_percent;
      r.empty = !r.receptacle && s.level == 0;
    } else {
      r.level_text = s.level == -3 ? "some remaining" : "unknown";
    }
    d.row.supplies.push_back(r);
    supply_detail sd;
    sd.supply = r;
    if (r.percent) {
      // Two points of history: full at installation, the level now.
      sd.history = {{d.row.first_seen_ms, 100.0}, {d.row.last_seen_ms, *r.percent}};
    }
    sd.forecast.reason = "test source: no forecast";
    d.supplies.push_back(sd);
  }
  for (const auto& m : t.markers)
    if (m.life_count)
      d.counters.push_back({"marker " + std::to_string(m.index) + " life count", *m.life_count});
  for (const auto& a : t.alerts)
    d.alerts.push_back({a.severity == 3   ? "critical"
                        : a.severity == 4 ? "warning"
                                          : "other",
                        "", a.description, static_cast<std::uint64_t>(a.added_at) * 1000});
  return d;
}

std::set<std::string> as_set(const boost::json::value& v) {
  std::set<std::string> out;
  for (const auto& x : v.as_array()) out.emplace(x.as_string());
  return out;
}

TEST(StatusPageBrowser, ListLowViewAndDevicePageInChromium) {
  // A simulated fleet (no sockets needed: only its ground truth is read).
  fleetsim::options fo;
  fo.devices = 40;
  fo.acceleration = 0;
  fo.start_time = 1767603600 + 200 * 86400;  // 200 simulated days in: supplies have drained
  std::string why;
  auto fleet = fleetsim::fleet::create(fo, why);
  ASSERT_TRUE(fleet) << why;
  auto source = std::make_shared<test::fake_source>();
  std::set<std::string> all_ids, low_ids;
  for (std::uint32_t i = 0; i < fo.devices; ++i) {
    source->details.push_back(from_truth(fleet->truth(i), fo.port));
    all_ids.insert(source->details.back().row.id);
    if (source->details.back().row.low()) low_ids.insert(source->details.back().row.id);
  }
  ASSERT_GT(low_ids.size(), 0u) << "the simulated fleet has no low supply: the filter is untested";
  ASSERT_LT(low_ids.size(), all_ids.size()) << "every device is low: the filter is untested";
  source->up = {true, "ready", 2, 2, true, 12, 3.5, 4567, ""};

  test::serving web;
  std::shared_ptr<status_page> page;
  status_page_options po;
  po.title = "Simulated site";
  ASSERT_FALSE(status_page::create(source, po, test::serving::options().address, page));
  ASSERT_FALSE(page->add_routes(web.server()));
  ASSERT_TRUE(web.start());

  fleetpoll::test::cdp_browser browser;
  ASSERT_TRUE(browser.available()) << "chromium did not start: " << browser.error();
  const std::string base = "http://127.0.0.1:" + std::to_string(web.port());
  const fs::path artefacts = fs::path(FLEETPOLL_BINARY_DIR) / "test-artifacts";
  fs::create_directories(artefacts);
  const char* row_ids =
      "Array.from(document.querySelectorAll('#devices tr.device')).map(r => r.dataset.id)";

  // 1. The list: every simulated device, with its name and address.
  ASSERT_TRUE(browser.navigate(base + "/status")) << browser.error();
  auto ids = browser.evaluate(row_ids);
  ASSERT_TRUE(ids) << browser.error();
  EXPECT_EQ(as_set(*ids), all_ids);
  const auto& first = source->details.front().row;
  auto text = browser.evaluate("document.querySelector('#devices').innerText");
  ASSERT_TRUE(text);
  const std::string list_text(text->as_string());
  EXPECT_NE(list_text.find(first.address), std::string::npos);
  if (!first.name.empty()) {
    EXPECT_NE(list_text.find(first.name), std::string::npos);
  }
  auto uplink = browser.evaluate("document.getElementById('uplink').innerText");
  ASSERT_TRUE(uplink);
  EXPECT_NE(std::string(uplink->as_string()).find("ready"), std::string::npos);
  EXPECT_TRUE(browser.screenshot(artefacts / "status_list.png")) << browser.error();

  // 2. "Low status" by clicking its link: exactly the low devices.
  ASSERT_TRUE(browser.click_and_wait("#view-low")) << browser.error();
  ids = browser.evaluate(row_ids);
  ASSERT_TRUE(ids) << browser.error();
  EXPECT_EQ(as_set(*ids), low_ids);
  auto title = browser.evaluate("document.getElementById('view-title').textContent");
  ASSERT_TRUE(title);
  EXPECT_EQ(title->as_string(), "Low status");
  // Every listed row has a low or empty tag.
  auto tagged = browser.evaluate(
      "Array.from(document.querySelectorAll('#devices tr.device')).every(r => "
      "r.querySelector('.low-tag, .empty-tag') !== null)");
  ASSERT_TRUE(tagged);
  EXPECT_TRUE(tagged->as_bool());
  EXPECT_TRUE(browser.screenshot(artefacts / "status_low.png")) << browser.error();

  // 3. A device page from the low list: its supplies, by name, with their levels.
  auto first_low = browser.evaluate("document.querySelector('#devices tr.device').dataset.id");
  ASSERT_TRUE(first_low);
  const std::string id(first_low->as_string());
  ASSERT_TRUE(browser.click_and_wait("#devices tr.device a.device-link")) << browser.error();
  const auto it = std::find_if(source->details.begin(), source->details.end(),
                               [&](const device_detail& d) { return d.row.id == id; });
  ASSERT_NE(it, source->details.end());
  auto names = browser.evaluate(
      "Array.from(document.querySelectorAll('#supplies tr.supply td.supply-name'))"
      ".map(td => td.firstChild.textContent.trim())");
  ASSERT_TRUE(names) << browser.error();
  std::vector<std::string> expected;
  for (const auto& s : it->row.supplies) expected.push_back(s.description);
  std::vector<std::string> shown;
  for (const auto& n : names->as_array()) shown.emplace_back(n.as_string());
  EXPECT_EQ(shown, expected);
  auto bars = browser.evaluate(
      "Array.from(document.querySelectorAll('#supplies .bar > span')).map(s => s.style.width)");
  ASSERT_TRUE(bars);
  ASSERT_EQ(bars->as_array().size(), it->row.supplies.size());
  for (std::size_t i = 0; i < it->row.supplies.size(); ++i) {
    const auto& s = it->row.supplies[i];
    if (!s.percent) continue;
    const double w = std::stod(std::string(bars->as_array()[i].as_string()));
    EXPECT_NEAR(w, *s.percent, 0.06) << s.description;
  }
  auto spark = browser.evaluate("document.querySelectorAll('#supplies svg.spark polyline').length");
  ASSERT_TRUE(spark);
  EXPECT_GT(spark->template to_number<int>(), 0);
  auto low_tags = browser.evaluate(
      "document.querySelectorAll('#supplies .low-tag, #supplies .empty-tag').length");
  ASSERT_TRUE(low_tags);
  EXPECT_GT(low_tags->template to_number<int>(), 0);
  EXPECT_TRUE(browser.screenshot(artefacts / "status_device.png")) << browser.error();
  EXPECT_GT(fs::file_size(artefacts / "status_device.png"), 5000u);

  std::cout << "screenshots: " << (artefacts / "status_list.png").string() << " "
            << (artefacts / "status_low.png").string() << " "
            << (artefacts / "status_device.png").string() << "\n"
            << all_ids.size() << " devices listed, " << low_ids.size() << " in low status\n";
}

}  // namespace
}  // namespace fleetpoll::web
