// The status page's rendering, views, pagination, escaping, JSON and basic auth through
// status_page::handle() with a fake source; the supply gauges' families and cardinality cap; the
// routes on a real metrics::http_server over loopback TCP.
#include <gtest/gtest.h>

#include <prometheus/text_serializer.h>
#include <boost/json/parse.hpp>

#include <cstdio>
#include <sstream>

#include "../metrics/test_client.hpp"
#include "fake_source.hpp"
#include "fleetpoll/metrics/http_server.hpp"
#include "fleetpoll/web/basic_auth.hpp"
#include "fleetpoll/web/error.hpp"
#include "fleetpoll/web/html.hpp"
#include "fleetpoll/web/status_page.hpp"
#include "fleetpoll/web/supply_gauges.hpp"

namespace fleetpoll::web {
namespace {

using test::fake_source;
using test::make_device;

constexpr std::uint64_t now_ms = 1'800'000'000'000;  // 2027-01-15
constexpr std::uint64_t day_ms = 86'400'000;

std::size_t count_of(const std::string& hay, const std::string& needle) {
  std::size_t n = 0;
  for (auto p = hay.find(needle); p != std::string::npos; p = hay.find(needle, p + 1)) ++n;
  return n;
}

struct fixture {
  std::shared_ptr<fake_source> source = std::make_shared<fake_source>();
  std::shared_ptr<status_page> page;

  explicit fixture(status_page_options o = {}) {
    o.clock = [] { return now_ms; };
    EXPECT_FALSE(status_page::create(source, o, "127.0.0.1", page));
  }
  page_response get(std::string_view path, std::string_view query = {}) {
    return page->handle(page_request{path, query, std::nullopt});
  }
};

// ---- helpers -----------------------------------------------------------------------------------

TEST(Html, EscapesMarkupQuotesControlsAndBrokenUtf8) {
  EXPECT_EQ(escape("<a href=\"x\" title='y'>&</a>"),
            "&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&lt;/a&gt;");
  EXPECT_EQ(escape("caf\xC3\xA9"), "caf\xC3\xA9");  // valid UTF-8 kept
  EXPECT_EQ(escape("a\xFF"
                   "b"),
            "a\xEF\xBF\xBD"
            "b");                                             // invalid byte replaced
  EXPECT_EQ(escape("\xC0\xAF"), "\xEF\xBF\xBD\xEF\xBF\xBD");  // overlong '/' refused
  EXPECT_EQ(escape("a\x01\x1B[31m"), "a\xEF\xBF\xBD\xEF\xBF\xBD[31m");
  EXPECT_EQ(escape("\xE2\x82"), "\xEF\xBF\xBD\xEF\xBF\xBD");  // truncated sequence
}

TEST(Html, ParsesQueriesAndRejectsMalformedEscapes) {
  auto q = parse_query("view=low&page=2&id=a%20b+c&view=all");
  ASSERT_TRUE(q);
  EXPECT_EQ(q->at("view"), "low");  // first wins
  EXPECT_EQ(q->at("page"), "2");
  EXPECT_EQ(q->at("id"), "a b c");
  EXPECT_FALSE(parse_query("id=%G1"));
  EXPECT_FALSE(parse_query("id=%2"));
  std::string many;
  for (int i = 0; i < 40; ++i) many += "k" + std::to_string(i) + "=1&";
  EXPECT_FALSE(parse_query(many));
  EXPECT_EQ(url_encode("a b/&<\"é"), "a%20b%2F%26%3C%22%C3%A9");
}

TEST(Html, SparklineDrawsOnePointPerSampleAndNothingForOne) {
  std::vector<level_point> pts{{1000, 100}, {2000, 50}, {3000, 0}};
  const std::string svg = sparkline_svg(pts, 102, 22);
  EXPECT_NE(svg.find("<svg"), std::string::npos);
  EXPECT_NE(svg.find("points=\"1.0,1.0 51.0,11.0 101.0,21.0\""), std::string::npos) << svg;
  EXPECT_EQ(sparkline_svg(std::span(pts).first(1), 100, 20), "");
}

TEST(Html, FormatsCountsTimesAndAges) {
  EXPECT_TRUE(natural_less("127.1.0.3:161", "127.1.0.12:161"));
  EXPECT_FALSE(natural_less("127.1.0.12:161", "127.1.0.3:161"));
  EXPECT_TRUE(natural_less("9", "10"));
  EXPECT_TRUE(natural_less("p007", "p8"));
  EXPECT_TRUE(natural_less("abc", "abd"));
  EXPECT_TRUE(natural_less("ab", "abc"));
  EXPECT_FALSE(natural_less("ab", "ab"));
  EXPECT_EQ(format_count(0), "0");
  EXPECT_EQ(format_count(999), "999");
  EXPECT_EQ(format_count(1234567), "1,234,567");
  EXPECT_EQ(format_time(0), "never");
  EXPECT_EQ(format_time(1'767'603'600'000), "2026-01-05 09:00 UTC");
  EXPECT_EQ(format_age(now_ms - 3 * day_ms, now_ms), "3 days ago");
  EXPECT_EQ(format_age(now_ms - 5 * 60'000, now_ms), "5 min ago");
}

TEST(Loopback, RecognisesLoopbackAddressesOnly) {
  EXPECT_TRUE(is_loopback_address("127.0.0.1"));
  EXPECT_TRUE(is_loopback_address("127.200.1.9"));
  EXPECT_TRUE(is_loopback_address("::1"));
  EXPECT_TRUE(is_loopback_address("::ffff:127.0.0.1"));
  EXPECT_FALSE(is_loopback_address("0.0.0.0"));
  EXPECT_FALSE(is_loopback_address("::"));
  EXPECT_FALSE(is_loopback_address("10.0.0.1"));
  EXPECT_FALSE(is_loopback_address("localhost"));  // no name lookup: not provably loopback
  EXPECT_FALSE(is_loopback_address(""));
}

// ---- list --------------------------------------------------------------------------------------

TEST(StatusList, ShowsEveryDeviceWithNameAddressAndSupplyBars) {
  fixture f;
  f.source->details = {make_device("1", "printer-a", 80), make_device("2", "printer-b", 5)};
  const auto r = f.get("/status");
  ASSERT_EQ(r.status, 200u);
  EXPECT_EQ(r.content_type, "text/html; charset=utf-8");
  EXPECT_EQ(count_of(r.body, "<tr class=\"device\""), 2u);
  EXPECT_NE(r.body.find("printer-a"), std::string::npos);
  EXPECT_NE(r.body.find("127.1.0.2:161"), std::string::npos);
  EXPECT_NE(r.body.find("href=\"/status/device?id=1\""), std::string::npos);
  EXPECT_NE(r.body.find("width:80.0%"), std::string::npos);
  EXPECT_NE(r.body.find("<span class=\"bar low\""), std::string::npos);  // printer-b's 5 %
  EXPECT_EQ(r.body.find("<script"), std::string::npos);                  // no JavaScript
  EXPECT_EQ(r.body.find("src="), std::string::npos);                     // no external asset
  EXPECT_EQ(r.body.find("stylesheet"), std::string::npos);
  EXPECT_NE(r.body.find("All devices (2)"), std::string::npos);
  EXPECT_NE(r.body.find("Low status (1)"), std::string::npos);
}

TEST(StatusList, DeviceDataIsEscapedEverywhere) {
  fixture f;
  auto d = make_device("1", "<script>alert(1)</script>", 50);
  d.row.location = "\"><img src=x onerror=alert(2)>";
  d.row.supplies[0].description = "<b>toner</b>";
  d.row.id = "1\"><x>";
  f.source->details = {d};
  const auto r = f.get("/status");
  EXPECT_EQ(r.body.find("<script>alert"), std::string::npos);
  EXPECT_EQ(r.body.find("<img"), std::string::npos);
  EXPECT_EQ(r.body.find("<b>toner"), std::string::npos);
  EXPECT_EQ(r.body.find("<x>"), std::string::npos);
  EXPECT_NE(r.body.find("&lt;script&gt;alert(1)&lt;/script&gt;"), std::string::npos);
  EXPECT_NE(r.body.find("&quot;&gt;&lt;img src=x onerror=alert(2)&gt;"), std::string::npos);
  EXPECT_NE(r.body.find("href=\"/status/device?id=1%22%3E%3Cx%3E\""), std::string::npos);
}

TEST(StatusList, LowViewListsOnlyLowDevicesEmptyFirst) {
  fixture f;
  f.source->details = {make_device("1", "a-ok", 80), make_device("2", "b-low", 8),
                       make_device("3", "c-empty", 0), make_device("4", "d-ok", 50)};
  const auto r = f.get("/status", "view=low");
  ASSERT_EQ(r.status, 200u);
  EXPECT_EQ(count_of(r.body, "<tr class=\"device\""), 2u);
  const auto empty_at = r.body.find("c-empty"), low_at = r.body.find("b-low");
  ASSERT_NE(empty_at, std::string::npos);
  ASSERT_NE(low_at, std::string::npos);
  EXPECT_LT(empty_at, low_at);
  EXPECT_EQ(r.body.find("a-ok"), std::string::npos);
  EXPECT_NE(r.body.find("id=\"view-low\" href=\"/status?view=low\" class=\"current\""),
            std::string::npos);
}

TEST(StatusList, NewAlertsAndDownViewsFilter) {
  fixture f;
  auto old_dev = make_device("1", "old", 50, now_ms - 30 * day_ms);
  auto new1 = make_device("2", "new-1", 50, now_ms - 2 * day_ms);
  auto new2 = make_device("3", "new-2", 50, now_ms - 1 * day_ms);
  new1.row.alert_count = 2;
  old_dev.row.up = false;
  f.source->details = {old_dev, new1, new2};
  auto r = f.get("/status", "view=new");
  EXPECT_EQ(count_of(r.body, "<tr class=\"device\""), 2u);
  EXPECT_LT(r.body.find("new-2"), r.body.find("new-1"));  // newest first
  r = f.get("/status", "view=alerts");
  EXPECT_EQ(count_of(r.body, "<tr class=\"device\""), 1u);
  EXPECT_NE(r.body.find("new-1"), std::string::npos);
  r = f.get("/status", "view=down");
  EXPECT_EQ(count_of(r.body, "<tr class=\"device\""), 1u);
  EXPECT_NE(r.body.find(">old<"), std::string::npos);
}

TEST(StatusList, PagesAreBoundedAndLinked) {
  status_page_options o;
  o.page_size = 100;
  fixture f(o);
  for (int i = 1; i <= 250; ++i)
    f.source->details.push_back(make_device(std::to_string(i), "", 50));
  auto r = f.get("/status");
  EXPECT_EQ(count_of(r.body, "<tr class=\"device\""), 100u);
  EXPECT_NE(r.body.find("Page 1 of 3"), std::string::npos);
  EXPECT_NE(r.body.find("href=\"/status?view=all&amp;page=2\">next"), std::string::npos);
  r = f.get("/status", "page=3");
  EXPECT_EQ(count_of(r.body, "<tr class=\"device\""), 50u);
  EXPECT_NE(r.body.find("showing 201&ndash;250"), std::string::npos);
  r = f.get("/status", "page=99");  // past the end: the last page
  EXPECT_NE(r.body.find("Page 3 of 3"), std::string::npos);
  EXPECT_EQ(f.get("/status", "page=0").status, 400u);
  EXPECT_EQ(f.get("/status", "page=x").status, 400u);
  EXPECT_EQ(f.get("/status", "view=everything").status, 400u);
  EXPECT_EQ(f.get("/status", "id=%zz").status, 400u);

  status_page_options bad;
  bad.page_size = 1001;
  std::shared_ptr<status_page> p;
  EXPECT_EQ(status_page::create(f.source, bad, "127.0.0.1", p), error::invalid_options);
}

TEST(StatusList, ShowsUplinkStateAndSourceErrors) {
  fixture f;
  f.source->details = {make_device("1", "a", 50)};
  f.source->up = {true, "backoff", 0, 2, false, 1234, 90.5, 77, "tls: certificate expired"};
  auto r = f.get("/status");
  EXPECT_NE(r.body.find("backoff"), std::string::npos);
  EXPECT_NE(r.body.find("connections ready 0/2"), std::string::npos);
  EXPECT_NE(r.body.find("outbox 1,234 records, oldest 90.5 s"), std::string::npos);
  EXPECT_NE(r.body.find("tls: certificate expired"), std::string::npos);
  f.source->up = {};
  r = f.get("/status");
  EXPECT_NE(r.body.find("Uplink:</strong> not configured"), std::string::npos);
  f.source->fail = true;
  r = f.get("/status");
  EXPECT_EQ(r.status, 200u);
  EXPECT_NE(r.body.find("id=\"source-error\""), std::string::npos);
  EXPECT_EQ(f.get("/status/device", "id=1").status, 503u);
}

TEST(StatusList, JsonListHasTheSameRowsAndPaging) {
  status_page_options o;
  o.page_size = 2;
  fixture f(o);
  f.source->details = {make_device("1", "a", 80), make_device("2", "b\"<", 5),
                       make_device("3", "c", 3)};
  const auto r = f.get("/api/status", "view=low");
  ASSERT_EQ(r.status, 200u);
  EXPECT_EQ(r.content_type, "application/json");
  const auto v = boost::json::parse(r.body).as_object();
  EXPECT_EQ(v.at("total").as_int64(), 2);
  EXPECT_EQ(v.at("pages").as_int64(), 1);
  EXPECT_EQ(v.at("view").as_string(), "low");
  ASSERT_EQ(v.at("devices").as_array().size(), 2u);
  EXPECT_EQ(v.at("devices").as_array()[0].at("name").as_string(), "b\"<");
  EXPECT_FALSE(v.at("uplink").at("configured").as_bool());
}

// ---- detail ------------------------------------------------------------------------------------

TEST(StatusDetail, ShowsSuppliesCountersAlertsSparklineAndForecast) {
  fixture f;
  auto d = make_device("7", "office-7", 12);
  d.supplies[0].history = {
      {now_ms - 3 * day_ms, 40}, {now_ms - 2 * day_ms, 30}, {now_ms - day_ms, 20}};
  d.supplies[0].forecast = {true, "", 6.5, now_ms + 6 * day_ms, 1800.0, 0.8};
  supply_detail waste;
  waste.supply.index = 2;
  waste.supply.description = "Waste Toner Box";
  waste.supply.receptacle = true;
  waste.supply.level_text = "some space left";
  waste.forecast.reason = "level is some_remaining";
  d.row.supplies.push_back(waste.supply);
  d.supplies.push_back(waste);
  d.counters = {{"marker 1 life count (impressions)", 123456}};
  d.alerts = {{"warning", "markerSupplies", "Toner low <cartridge 1>", now_ms - day_ms}};
  d.firmware = "2409";
  d.status = "warning (printer: idle)";
  d.conditions = {"lowToner"};
  f.source->details = {d};
  const auto r = f.get("/status/device", "id=7");
  ASSERT_EQ(r.status, 200u);
  EXPECT_NE(r.body.find("<h2 id=\"device-name\">office-7</h2>"), std::string::npos);
  EXPECT_EQ(count_of(r.body, "<tr class=\"supply\""), 2u);
  EXPECT_NE(r.body.find("Black Toner"), std::string::npos);
  EXPECT_NE(r.body.find("width:12.0%"), std::string::npos);
  EXPECT_NE(r.body.find("<polyline"), std::string::npos);
  EXPECT_NE(r.body.find("empty in 6.5 days"), std::string::npos);
  EXPECT_NE(r.body.find("~1,800 pages; confidence 80%"), std::string::npos);
  EXPECT_NE(r.body.find("no forecast: level is some_remaining"), std::string::npos);
  EXPECT_NE(r.body.find("some space left"), std::string::npos);
  EXPECT_NE(r.body.find("123,456"), std::string::npos);
  EXPECT_NE(r.body.find("Toner low &lt;cartridge 1&gt;"), std::string::npos);
  EXPECT_NE(r.body.find("lowToner"), std::string::npos);
  EXPECT_EQ(r.body.find("<script"), std::string::npos);

  const auto j = f.get("/api/status/device", "id=7");
  ASSERT_EQ(j.status, 200u);
  const auto v = boost::json::parse(j.body).as_object();
  EXPECT_EQ(v.at("supplies").as_array().size(), 2u);
  EXPECT_EQ(v.at("supplies").as_array()[0].at("history").as_array().size(), 3u);
  EXPECT_EQ(v.at("counters").as_array()[0].at("value").as_int64(), 123456);
}

TEST(StatusDetail, LongHistoriesAreThinnedToTheConfiguredPoints) {
  status_page_options o;
  o.sparkline_points = 50;
  fixture f(o);
  auto d = make_device("1", "a", 50);
  for (int i = 0; i < 5000; ++i)
    d.supplies[0].history.push_back({now_ms - 5000 * 60'000ull + i * 60'000ull, 100.0 - i / 50.0});
  f.source->details = {d};
  const auto j = f.get("/api/status/device", "id=1");
  const auto v = boost::json::parse(j.body).as_object();
  const auto& h = v.at("supplies").as_array()[0].at("history").as_array();
  ASSERT_EQ(h.size(), 50u);
  EXPECT_EQ(h.front().as_array()[0].to_number<std::uint64_t>(), now_ms - 5000 * 60'000ull);
  EXPECT_EQ(h.back().as_array()[0].to_number<std::uint64_t>(), now_ms - 60'000ull);
}

TEST(StatusDetail, UnknownOrMissingIdIsAnError) {
  fixture f;
  f.source->details = {make_device("1", "a", 50)};
  auto r = f.get("/status/device", "id=%3Cb%3E");
  EXPECT_EQ(r.status, 404u);
  EXPECT_NE(r.body.find("no device with id &lt;b&gt;"), std::string::npos);
  EXPECT_EQ(f.get("/status/device").status, 400u);
  EXPECT_EQ(f.get("/api/status/device", "id=9").status, 404u);
  EXPECT_EQ(f.get("/status/other").status, 404u);
}

// ---- access ------------------------------------------------------------------------------------

TEST(StatusAccess, BeyondLoopbackWithoutAuthIsRefused) {
  auto src = std::make_shared<fake_source>();
  std::shared_ptr<status_page> p;
  EXPECT_EQ(status_page::create(src, {}, "0.0.0.0", p), error::auth_required);
  EXPECT_EQ(status_page::create(src, {}, "192.0.2.10", p), error::auth_required);
  EXPECT_EQ(status_page::create(src, {}, "::", p), error::auth_required);
  EXPECT_FALSE(status_page::create(src, {}, "127.0.0.1", p));
  EXPECT_FALSE(status_page::create(src, {}, "::1", p));
  status_page_options o;
  o.auth.user = "ops";
  o.auth.password_hash = make_password_hash("s3cret", 1000);
  EXPECT_FALSE(status_page::create(src, o, "0.0.0.0", /*credentials_available=*/true, p));
  EXPECT_EQ(status_page::create(src, o, "0.0.0.0", /*credentials_available=*/false, p),
            error::auth_unsupported);
  o.auth.password_hash = "sha1$abc";
  EXPECT_EQ(status_page::create(src, o, "0.0.0.0", true, p), error::invalid_password_hash);
}

std::string basic(std::string_view user_pass) {
  // Independent base64 for the test: the credentials are short ASCII.
  static constexpr char t[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::size_t i = 0;
  for (; i + 2 < user_pass.size(); i += 3) {
    const unsigned v = (static_cast<unsigned char>(user_pass[i]) << 16) |
                       (static_cast<unsigned char>(user_pass[i + 1]) << 8) |
                       static_cast<unsigned char>(user_pass[i + 2]);
    out += {t[v >> 18], t[(v >> 12) & 63], t[(v >> 6) & 63], t[v & 63]};
  }
  if (user_pass.size() - i == 1) {
    const unsigned v = static_cast<unsigned char>(user_pass[i]) << 16;
    out += {t[v >> 18], t[(v >> 12) & 63], '=', '='};
  } else if (user_pass.size() - i == 2) {
    const unsigned v = (static_cast<unsigned char>(user_pass[i]) << 16) |
                       (static_cast<unsigned char>(user_pass[i + 1]) << 8);
    out += {t[v >> 18], t[(v >> 12) & 63], t[(v >> 6) & 63], '='};
  }
  return "Basic " + out;
}

TEST(StatusAccess, BasicAuthAllowsOnlyTheRightUserAndPassword) {
  auto src = std::make_shared<fake_source>();
  src->details = {make_device("1", "a", 50)};
  status_page_options o;
  o.auth.user = "ops";
  o.auth.password_hash = make_password_hash("correct horse", 2000);
  o.auth.max_failures_per_second = 100;
  std::shared_ptr<status_page> p;
  ASSERT_FALSE(status_page::create(src, o, "0.0.0.0", true, p));
  auto get = [&](std::optional<std::string> auth) {
    std::optional<std::string_view> a;
    if (auth) a = *auth;
    return p->handle(page_request{"/status", "", a});
  };
  auto r = get(std::nullopt);
  EXPECT_EQ(r.status, 401u);
  ASSERT_EQ(r.headers.size(), 1u);
  EXPECT_EQ(r.headers[0].first, "WWW-Authenticate");
  EXPECT_EQ(r.headers[0].second, "Basic realm=\"fleetpoll\", charset=\"UTF-8\"");
  EXPECT_EQ(r.body.find("printer"), std::string::npos);  // nothing of the fleet
  EXPECT_EQ(get(basic("ops:wrong")).status, 401u);
  EXPECT_EQ(get(basic("root:correct horse")).status, 401u);
  EXPECT_EQ(get(basic("ops:correct horse ")).status, 401u);
  EXPECT_EQ(get(std::string("Bearer abc")).status, 401u);
  EXPECT_EQ(get(std::string("Basic !!!!")).status, 401u);
  EXPECT_EQ(get(basic("ops:correct horse")).status, 200u);
  EXPECT_EQ(get("basic " + basic("ops:correct horse").substr(6)).status, 200u);  // scheme case
  EXPECT_EQ(p->handle(page_request{"/status/device", "id=1", basic("ops:correct horse")}).status,
            200u);
}

TEST(StatusAccess, FailedLoginsBeyondTheLimitAreThrottledWithoutHashing) {
  basic_auth_options o;
  o.user = "ops";
  o.password_hash = make_password_hash("pw", 1000);
  o.max_failures_per_second = 3;
  std::optional<basic_auth> a;
  ASSERT_FALSE(basic_auth::create(o, a));
  const auto t0 = std::chrono::steady_clock::time_point{} + std::chrono::hours(1);
  const std::string bad = basic("ops:nope"), good = basic("ops:pw");
  for (int i = 0; i < 3; ++i) EXPECT_EQ(a->check(bad, t0), basic_auth::verdict::denied);
  EXPECT_EQ(a->check(bad, t0), basic_auth::verdict::throttled);
  EXPECT_EQ(a->check(good, t0), basic_auth::verdict::throttled);  // not even a good one
  const auto t1 = t0 + std::chrono::milliseconds(1001);
  EXPECT_EQ(a->check(good, t1), basic_auth::verdict::allowed);
  // An accepted header is remembered: allowed even while failures are throttled.
  for (int i = 0; i < 3; ++i) a->check(bad, t1);
  EXPECT_EQ(a->check(bad, t1), basic_auth::verdict::throttled);
  EXPECT_EQ(a->check(good, t1), basic_auth::verdict::allowed);
}

TEST(StatusAccess, HashFromTheDocumentedPythonCommandIsAccepted) {
  // docs/status-page.md's command, with a fixed salt and password instead of prompting.
  const char* cmd =
      "python3 -c 'import hashlib; s=bytes.fromhex(\"00112233445566778899aabbccddeeff\"); "
      "print(\"pbkdf2-sha256$\"+str(5000)+\"$\"+s.hex()+\"$\"+hashlib.pbkdf2_hmac(\"sha256\", "
      "b\"pa:ss w\\xc3\\xb6rd\", s, 5000).hex())' 2>&1";
  FILE* f = ::popen(cmd, "r");
  ASSERT_NE(f, nullptr);
  char buf[512] = {};
  const std::size_t n = std::fread(buf, 1, sizeof buf - 1, f);
  ASSERT_EQ(::pclose(f), 0) << buf;
  std::string hash(buf, n);
  while (!hash.empty() && hash.back() == '\n') hash.pop_back();
  basic_auth_options o;
  o.user = "ops";
  o.password_hash = hash;
  std::optional<basic_auth> a;
  ASSERT_FALSE(basic_auth::create(o, a)) << hash;
  EXPECT_EQ(a->check(basic("ops:pa:ss w\xC3\xB6rd")), basic_auth::verdict::allowed);
  EXPECT_EQ(a->check(basic("ops:pa:ss word")), basic_auth::verdict::denied);
}

TEST(StatusAccess, MalformedHashesAreRejected) {
  std::optional<basic_auth> a;
  auto with = [&](std::string user, std::string hash) {
    basic_auth_options o;
    o.user = std::move(user);
    o.password_hash = std::move(hash);
    return basic_auth::create(o, a);
  };
  const std::string salt = "$00112233445566778899aabbccddeeff$";
  const std::string key(64, 'a');
  EXPECT_FALSE(with("ops", "pbkdf2-sha256$1000" + salt + key));
  EXPECT_EQ(with("ops", "pbkdf2-sha1$1000" + salt + key), error::invalid_password_hash);
  EXPECT_EQ(with("ops", "pbkdf2-sha256$999" + salt + key), error::invalid_password_hash);
  EXPECT_EQ(with("ops", "pbkdf2-sha256$1000" + salt + key + "aa"), error::invalid_password_hash);
  EXPECT_EQ(with("ops", "pbkdf2-sha256$1000$0011$" + key), error::invalid_password_hash);
  EXPECT_EQ(with("ops", "pbkdf2-sha256$1000" + salt + key + "$x"), error::invalid_password_hash);
  EXPECT_EQ(with("ops", "pbkdf2-sha256$1e3" + salt + key), error::invalid_password_hash);
  EXPECT_EQ(with("", "pbkdf2-sha256$1000" + salt + key), error::invalid_options);
  EXPECT_EQ(with("a:b", "pbkdf2-sha256$1000" + salt + key), error::invalid_options);
  EXPECT_EQ(with("ops", ""), error::invalid_options);
}

// ---- supply gauges -----------------------------------------------------------------------------

std::string scrape(const supply_gauges& g) {
  std::ostringstream out;
  prometheus::TextSerializer().Serialize(out, g.Collect());
  return out.str();
}

TEST(SupplyGauges, FleetLevelCountsWithoutPerDeviceSeriesByDefault) {
  auto src = std::make_shared<fake_source>();
  auto a = make_device("1", "a", 80), b = make_device("2", "b", 5), c = make_device("3", "c", 0);
  supply_row unknown;
  unknown.index = 2;
  unknown.level_text = "unknown";
  a.row.supplies.push_back(unknown);
  b.row.alert_count = 1;
  c.row.up = false;
  src->details = {a, b, c};
  supply_gauges g(src);
  const std::string text = scrape(g);
  EXPECT_NE(text.find("fleetpoll_supplies{state=\"ok\"} 1"), std::string::npos) << text;
  EXPECT_NE(text.find("fleetpoll_supplies{state=\"low\"} 1"), std::string::npos);
  EXPECT_NE(text.find("fleetpoll_supplies{state=\"empty\"} 1"), std::string::npos);
  EXPECT_NE(text.find("fleetpoll_supplies{state=\"unknown\"} 1"), std::string::npos);
  EXPECT_NE(text.find("fleetpoll_devices_needing_attention{reason=\"low_supply\"} 2"),
            std::string::npos);
  EXPECT_NE(text.find("fleetpoll_devices_needing_attention{reason=\"empty_supply\"} 1"),
            std::string::npos);
  EXPECT_NE(text.find("fleetpoll_devices_needing_attention{reason=\"alerts\"} 1"),
            std::string::npos);
  EXPECT_NE(text.find("fleetpoll_devices_needing_attention{reason=\"down\"} 1"), std::string::npos);
  EXPECT_EQ(text.find("fleetpoll_device_supply_percent"), std::string::npos);
  EXPECT_NE(text.find("fleetpoll_device_supply_devices_suppressed 0"), std::string::npos);
}

TEST(SupplyGauges, PerDeviceSeriesAreCappedAndTheRestCounted) {
  auto src = std::make_shared<fake_source>();
  for (int i = 12; i >= 1; --i)
    src->details.push_back(make_device(std::to_string(i), "p" + std::to_string(i), i));
  supply_gauges g(src, {true, 10});
  std::string text = scrape(g);
  EXPECT_EQ(count_of(text, "fleetpoll_device_supply_percent{"), 10u) << text;
  EXPECT_EQ(count_of(text, "fleetpoll_device_supply_low{"), 10u);
  // Devices 1..10 by numeric id, not "1", "10", "11", "12", "2"...
  EXPECT_NE(text.find("device_id=\"9\""), std::string::npos);
  EXPECT_EQ(text.find("device_id=\"11\""), std::string::npos);
  EXPECT_EQ(text.find("device_id=\"12\""), std::string::npos);
  EXPECT_NE(text.find("fleetpoll_device_supply_devices_suppressed 2"), std::string::npos);
  EXPECT_NE(text.find("fleetpoll_device_supply_series_suppressed_total 6"), std::string::npos);
  EXPECT_NE(text.find("fleetpoll_device_supply_low{device_id=\"5\",device=\"p5\","
                      "address=\"127.1.0.5:161\",supply_index=\"1\",supply=\"Black Toner\"} 1"),
            std::string::npos)
      << text;
  text = scrape(g);  // a second scrape adds its own suppressed series
  EXPECT_NE(text.find("fleetpoll_device_supply_series_suppressed_total 12"), std::string::npos);
}

TEST(SupplyGauges, LabelValuesFromDevicesCannotBreakTheExposition) {
  auto src = std::make_shared<fake_source>();
  auto d = make_device("1", std::string("bad\xFF\nname\"") + std::string(200, 'x'), 50);
  src->details = {d};
  supply_gauges g(src, {true, 10});
  const std::string text = scrape(g);
  const auto at = text.find("device=\"bad?");
  ASSERT_NE(at, std::string::npos) << text;
  const auto value_end = text.find("\",address=", at);
  ASSERT_NE(value_end, std::string::npos) << text;
  // 64 bytes kept; the exposition escapes '\n' as \n and '"' as \", so a few more on the wire.
  EXPECT_LE(value_end - (at + 8), 64u + 2u) << text;
  EXPECT_GE(value_end - (at + 8), 64u) << text;
  EXPECT_EQ(text.find("\xFF"), std::string::npos);
}

TEST(SupplyGauges, SourceErrorsAreCountedAndFleetFamiliesOmitted) {
  auto src = std::make_shared<fake_source>();
  src->fail = true;
  supply_gauges g(src, {true, 10});
  const std::string text = scrape(g);
  EXPECT_NE(text.find("fleetpoll_status_source_errors_total 1"), std::string::npos) << text;
  EXPECT_EQ(text.find("fleetpoll_supplies{"), std::string::npos);
}

// ---- on the real HTTP server -------------------------------------------------------------------

TEST(StatusRoutes, ServedByTheMetricsServerNextToMetrics) {
  test::serving web;
  metrics::http_server& server = web.server();
  auto src = std::make_shared<fake_source>();
  src->details = {make_device("1", "net-a", 60), make_device("2", "net-b", 4)};
  std::shared_ptr<status_page> page;
  ASSERT_FALSE(status_page::create(src, {}, test::serving::options().address, page));
  ASSERT_FALSE(page->add_routes(server));
  server.add_collectable(std::make_shared<supply_gauges>(src));
  ASSERT_TRUE(web.start());

  metrics::test::client c(server.port());
  ASSERT_TRUE(c.send("GET /status?view=low HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->header("content-type"), "text/html; charset=utf-8");
  EXPECT_NE(r->body.find("net-b"), std::string::npos);
  EXPECT_EQ(r->body.find("net-a"), std::string::npos);
  ASSERT_TRUE(c.send("GET /api/status/device?id=2 HTTP/1.1\r\nHost: x\r\n\r\n"));
  r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(boost::json::parse(r->body).at("name").as_string(), "net-b");
  ASSERT_TRUE(c.send("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"));
  r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_NE(r->body.find("fleetpoll_supplies{state=\"low\"} 1"), std::string::npos);
  // Routes are set up before start(): a late page is refused, not half-registered.
  std::shared_ptr<status_page> second;
  ASSERT_FALSE(status_page::create(src, {}, "127.0.0.1", second));
  EXPECT_TRUE(second->add_routes(server));
}

}  // namespace
}  // namespace fleetpoll::web
