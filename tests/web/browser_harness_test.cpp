// The browser harness itself, against fleetpoll's real HTTP server: real headless Chromium loads
// a page served on loopback, reads its DOM, follows a link by clicking it, and saves a screenshot.
// The status-page tests (tests/web) stand on this.
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>

#include <thread>

#include "cdp_browser.hpp"
#include "fleetpoll/metrics/http_server.hpp"

namespace fleetpoll {
namespace {

namespace fs = std::filesystem;

TEST(BrowserHarness, LoadsAPageFollowsALinkAndTakesAScreenshot) {
  boost::asio::io_context io;
  metrics::http_server_options o;
  o.port = 0;
  metrics::http_server server(io, o);
  ASSERT_FALSE(server.add_route("/", [](const metrics::http_request&) {
    return metrics::http_response{200, "text/html; charset=utf-8",
                                  "<!doctype html><title>one</title><h1 id=h>first page</h1>"
                                  "<a id=next href=\"/two?x=1\">next</a>"};
  }));
  ASSERT_FALSE(server.add_route("/two", [](const metrics::http_request& r) {
    return metrics::http_response{
        200, "text/html; charset=utf-8",
        "<!doctype html><title>two</title><p id=q>" + std::string(r.query) + "</p>"};
  }));
  ASSERT_FALSE(server.start());
  std::thread runner([&io] { io.run(); });

  test::cdp_browser browser;
  if (!browser.available()) {
    server.stop();
    runner.join();
    GTEST_FAIL() << "chromium did not start: " << browser.error();
  }
  const std::string base = "http://127.0.0.1:" + std::to_string(server.port());
  ASSERT_TRUE(browser.navigate(base + "/")) << browser.error();
  auto h = browser.evaluate("document.getElementById('h').textContent");
  ASSERT_TRUE(h) << browser.error();
  EXPECT_EQ(h->as_string(), "first page");
  ASSERT_TRUE(browser.click_and_wait("#next")) << browser.error();
  auto q = browser.evaluate("document.getElementById('q').textContent + '|' + document.title");
  ASSERT_TRUE(q) << browser.error();
  EXPECT_EQ(q->as_string(), "x=1|two");
  const fs::path png = fs::path(FLEETPOLL_BINARY_DIR) / "test-artifacts" / "browser_harness.png";
  fs::create_directories(png.parent_path());
  ASSERT_TRUE(browser.screenshot(png)) << browser.error();
  EXPECT_GT(fs::file_size(png), 1000u);
  EXPECT_FALSE(browser.click_and_wait("#does-not-exist"));

  server.stop();
  runner.join();
}

}  // namespace
}  // namespace fleetpoll
