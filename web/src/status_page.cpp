#include "fleetpoll/web/status_page.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include "fleetpoll/metrics/http_server.hpp"
#include "fleetpoll/web/error.hpp"
#include "fleetpoll/web/html.hpp"

namespace fleetpoll::web {

namespace json = boost::json;

// ---- device_row --------------------------------------------------------------------------------

bool device_row::low() const noexcept {
  return std::any_of(supplies.begin(), supplies.end(),
                     [](const supply_row& s) { return s.low || s.empty; });
}

bool device_row::empty() const noexcept {
  return std::any_of(supplies.begin(), supplies.end(), [](const supply_row& s) { return s.empty; });
}

namespace {

constexpr std::string_view html_type = "text/html; charset=utf-8";
constexpr std::string_view json_type = "application/json";
constexpr std::size_t max_page_size = 1000;
constexpr std::size_t max_list_supplies = 8;  // mini bars per row in the list

template <typename R>
constexpr bool has_authorization = requires(const R& r) {
  r.authorization;
};

// What the server hands over, whatever version of metrics::http_request this is built against:
// the Authorization header once http_request has an `authorization` member.
template <typename R>
std::optional<std::string_view> authorization_of(const R& r) {
  if constexpr (requires { r.authorization; }) {
    if constexpr (std::is_convertible_v<decltype(r.authorization), std::optional<std::string_view>>)
      return std::optional<std::string_view>(r.authorization);
    else
      return std::nullopt;
  } else {
    return std::nullopt;
  }
}

template <typename Response>
void copy_headers(Response& to, const page_response& from) {
  if constexpr (requires { to.headers.emplace_back(std::string{}, std::string{}); }) {
    for (const auto& [k, v] : from.headers) to.headers.emplace_back(k, v);
  }
}

const char* const style = R"css(
body{font:14px/1.4 system-ui,sans-serif;margin:0;color:#1d2330;background:#f6f7f9}
header{background:#1d2330;color:#fff;padding:10px 20px;display:flex;gap:24px;align-items:baseline;flex-wrap:wrap}
header h1{font-size:18px;margin:0}header a{color:#fff}
main{padding:12px 20px}
nav.views a{display:inline-block;padding:4px 10px;margin-right:4px;border-radius:4px;background:#e3e6ec;color:#1d2330;text-decoration:none}
nav.views a.current{background:#2f6fde;color:#fff}
table{border-collapse:collapse;background:#fff;width:100%;margin:8px 0}
th,td{padding:4px 8px;border-bottom:1px solid #e3e6ec;text-align:left;vertical-align:middle}
th{background:#eef0f4;font-weight:600}
.bar{display:inline-block;width:120px;height:10px;background:#e3e6ec;border-radius:2px;overflow:hidden;vertical-align:middle}
.bar span{display:block;height:100%;background:#3a9b4b}
.bar.low span{background:#e0a01b}.bar.empty span{background:#d33}
.mini .bar{width:36px;height:8px;margin-right:2px}
.state-up{color:#3a9b4b}.state-down{color:#d33;font-weight:600}
.low-tag{color:#b07400;font-weight:600}.empty-tag{color:#d33;font-weight:600}
.uplink{background:#fff;border:1px solid #e3e6ec;padding:6px 10px;margin:8px 0}
.err{background:#fde8e8;border:1px solid #d33;padding:6px 10px}
dl{display:grid;grid-template-columns:max-content auto;gap:2px 16px;background:#fff;padding:8px;border:1px solid #e3e6ec}
dt{font-weight:600}dd{margin:0}
.spark{color:#2f6fde;vertical-align:middle}
a.device-link{white-space:nowrap}
.pager{margin:8px 0}
)css";

struct page_shell {
  std::string& out;
  page_shell(std::string& o, std::string_view title, std::string_view site) : out(o) {
    out +=
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
        "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><title>";
    append_escaped(out, title);
    out += " - ";
    append_escaped(out, site);
    out += "</title><style>";
    out += style;
    out += "</style></head><body><header><h1><a href=\"/status\">";
    append_escaped(out, site);
    out += "</a></h1><span>printer fleet status</span></header><main>";
  }
  ~page_shell() { out += "</main></body></html>\n"; }
  page_shell(const page_shell&) = delete;
  page_shell& operator=(const page_shell&) = delete;
};

std::string percent_text(double p) {
  char buf[16];
  const int n = std::snprintf(buf, sizeof buf, "%.0f%%", std::clamp(p, 0.0, 100.0));
  return std::string(buf, static_cast<std::size_t>(n));
}

std::string one_decimal(double v) {
  char buf[32];
  const int n = std::snprintf(buf, sizeof buf, "%.1f", v);
  return std::string(buf, static_cast<std::size_t>(n));
}

void append_bar(std::string& out, const supply_row& s) {
  out += "<span class=\"bar";
  if (s.empty)
    out += " empty";
  else if (s.low)
    out += " low";
  out += "\" title=\"";
  append_escaped(out, s.description);
  out += ": ";
  out += s.percent ? percent_text(*s.percent)
                   : escape(s.level_text.empty() ? "no level" : s.level_text);
  if (s.receptacle) out += " full";
  out += "\"><span style=\"width:";
  out += s.percent ? one_decimal(std::clamp(*s.percent, 0.0, 100.0)) : std::string("0");
  out += "%\"></span></span>";
}

std::string device_label(const device_row& d) {
  if (!d.name.empty()) return d.name;
  return d.address;
}

void append_uplink(std::string& out, const uplink_state& u, std::uint64_t /*now_ms*/) {
  out += "<section class=\"uplink\" id=\"uplink\"><strong>Uplink:</strong> ";
  if (!u.configured) {
    out += "not configured (no feed to a print-service provider)</section>";
    return;
  }
  append_escaped(out, u.state.empty() ? std::string("unknown") : u.state);
  out += " &middot; connections ready " + std::to_string(u.connections_ready) + "/" +
         std::to_string(u.connections_total);
  out += " &middot; receiver ";
  out += u.receiver_available ? "online" : "<span class=\"state-down\">offline</span>";
  out += " &middot; outbox " + format_count(u.outbox_depth) + " records";
  if (u.outbox_depth > 0) out += ", oldest " + one_decimal(u.outbox_oldest_age_s) + " s";
  out += " &middot; acknowledged " + format_count(u.records_acknowledged);
  if (!u.last_failure.empty()) {
    out += " &middot; last failure: ";
    append_escaped(out, u.last_failure);
  }
  out += "</section>";
}

json::object uplink_json(const uplink_state& u) {
  json::object o;
  o["configured"] = u.configured;
  o["state"] = u.state;
  o["connections_ready"] = u.connections_ready;
  o["connections_total"] = u.connections_total;
  o["receiver_available"] = u.receiver_available;
  o["outbox_depth"] = u.outbox_depth;
  o["outbox_oldest_age_seconds"] = u.outbox_oldest_age_s;
  o["records_acknowledged"] = u.records_acknowledged;
  o["last_failure"] = u.last_failure;
  return o;
}

json::object supply_json(const supply_row& s) {
  json::object o;
  o["index"] = s.index;
  o["description"] = s.description;
  o["colorant"] = s.colorant;
  o["receptacle"] = s.receptacle;
  if (s.percent)
    o["percent"] = *s.percent;
  else
    o["percent"] = nullptr;
  o["level_text"] = s.level_text;
  o["low"] = s.low;
  o["empty"] = s.empty;
  return o;
}

json::object row_json(const device_row& d) {
  json::object o;
  o["id"] = d.id;
  o["address"] = d.address;
  o["name"] = d.name;
  o["vendor"] = d.vendor;
  o["model"] = d.model;
  o["serial"] = d.serial;
  o["location"] = d.location;
  o["up"] = d.up;
  o["first_seen_ms"] = d.first_seen_ms;
  o["last_seen_ms"] = d.last_seen_ms;
  o["alert_count"] = d.alert_count;
  o["low"] = d.low();
  json::array supplies;
  for (const auto& s : d.supplies) supplies.push_back(supply_json(s));
  o["supplies"] = std::move(supplies);
  return o;
}

page_response text(unsigned status, std::string body) {
  return page_response{status, "text/plain; charset=utf-8", std::move(body), {}};
}

page_response error_page(unsigned status, std::string_view title, std::string_view message,
                         std::string_view site, bool as_json) {
  if (as_json) {
    json::object o;
    o["error"] = message;
    return page_response{status, std::string(json_type), json::serialize(o), {}};
  }
  page_response r;
  r.status = status;
  {
    page_shell shell(r.body, title, site);
    r.body += "<p class=\"err\">";
    append_escaped(r.body, message);
    r.body += "</p><p><a href=\"/status\">all devices</a></p>";
  }
  return r;
}

std::optional<view> parse_view(std::string_view s) {
  if (s.empty() || s == "all") return view::all;
  if (s == "low") return view::low;
  if (s == "new") return view::new_devices;
  if (s == "alerts") return view::alerts;
  if (s == "down") return view::down;
  return std::nullopt;
}

}  // namespace

const char* view_name(view v) noexcept {
  switch (v) {
    case view::all:
      return "all";
    case view::low:
      return "low";
    case view::new_devices:
      return "new";
    case view::alerts:
      return "alerts";
    case view::down:
      return "down";
  }
  return "all";
}

bool is_loopback_address(std::string_view address) noexcept {
  std::string a(address);
  if (a.size() > 2 && a.front() == '[' && a.back() == ']') a = a.substr(1, a.size() - 2);
  in_addr v4{};
  if (::inet_pton(AF_INET, a.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  in6_addr v6{};
  if (::inet_pton(AF_INET6, a.c_str(), &v6) == 1) {
    if (IN6_IS_ADDR_LOOPBACK(&v6)) return true;
    if (IN6_IS_ADDR_V4MAPPED(&v6)) return v6.s6_addr[12] == 127;
  }
  return false;
}

void select_view(std::vector<device_row>& devices, view v, std::uint64_t now_ms,
                 std::chrono::hours new_within) {
  const std::uint64_t window = static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(new_within).count());
  const std::uint64_t since = now_ms > window ? now_ms - window : 0;
  std::erase_if(devices, [&](const device_row& d) {
    switch (v) {
      case view::all:
        return false;
      case view::low:
        return !d.low();
      case view::new_devices:
        return d.first_seen_ms < since || d.first_seen_ms == 0;
      case view::alerts:
        return d.alert_count == 0;
      case view::down:
        return d.up;
    }
    return false;
  });
  auto by_name = [](const device_row& a, const device_row& b) {
    const std::string la = device_label(a), lb = device_label(b);
    if (la != lb) return natural_less(la, lb);
    return natural_less(a.id, b.id);
  };
  switch (v) {
    case view::low:
      // Empty first, then low; then by name.
      std::stable_sort(devices.begin(), devices.end(),
                       [&](const device_row& a, const device_row& b) {
                         if (a.empty() != b.empty()) return a.empty();
                         return by_name(a, b);
                       });
      break;
    case view::new_devices:
      std::stable_sort(devices.begin(), devices.end(),
                       [&](const device_row& a, const device_row& b) {
                         if (a.first_seen_ms != b.first_seen_ms)
                           return a.first_seen_ms > b.first_seen_ms;
                         return by_name(a, b);
                       });
      break;
    case view::alerts:
      std::stable_sort(devices.begin(), devices.end(),
                       [&](const device_row& a, const device_row& b) {
                         if (a.alert_count != b.alert_count) return a.alert_count > b.alert_count;
                         return by_name(a, b);
                       });
      break;
    case view::all:
    case view::down:
      std::stable_sort(devices.begin(), devices.end(), by_name);
      break;
  }
}

// ---- status_page -------------------------------------------------------------------------------

status_page::status_page(std::shared_ptr<status_source> source, status_page_options options,
                         std::optional<basic_auth> auth)
    : source_(std::move(source)), options_(std::move(options)), auth_(std::move(auth)) {}

bool status_page::server_passes_credentials() noexcept {
  return has_authorization<metrics::http_request>;
}

std::error_code status_page::create(std::shared_ptr<status_source> source,
                                    status_page_options options, std::string_view listen_address,
                                    std::shared_ptr<status_page>& out) {
  return create(std::move(source), std::move(options), listen_address, server_passes_credentials(),
                out);
}

std::error_code status_page::create(std::shared_ptr<status_source> source,
                                    status_page_options options, std::string_view listen_address,
                                    bool credentials_available, std::shared_ptr<status_page>& out) {
  out.reset();
  if (!source || options.page_size == 0 || options.page_size > max_page_size ||
      options.sparkline_points < 2)
    return error::invalid_options;
  std::optional<basic_auth> auth;
  if (options.auth.enabled()) {
    if (auto ec = basic_auth::create(options.auth, auth)) return ec;
    if (!credentials_available) return error::auth_unsupported;
  } else if (!is_loopback_address(listen_address)) {
    return error::auth_required;
  }
  out = std::make_shared<status_page>(std::move(source), std::move(options), std::move(auth));
  return {};
}

const std::vector<std::string>& status_page::paths() {
  static const std::vector<std::string> p{"/status", "/status/device", "/api/status",
                                          "/api/status/device"};
  return p;
}

std::error_code status_page::add_routes(metrics::http_server& server) {
  for (const auto& path : paths()) {
    auto handler = [self = shared_from_this()](const metrics::http_request& r) {
      const page_response p = self->handle(page_request{r.path, r.query, authorization_of(r)});
      metrics::http_response res{p.status, p.content_type, p.body, {}};
      copy_headers(res, p);
      return res;
    };
    if (auto ec = server.add_route(path, std::move(handler))) return ec;
  }
  return {};
}

std::uint64_t status_page::now_ms() const {
  if (options_.clock) return options_.clock();
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                        std::chrono::system_clock::now().time_since_epoch())
                                        .count());
}

page_response status_page::handle(const page_request& request) noexcept {
  try {
    if (auth_) {
      switch (auth_->check(request.authorization)) {
        case basic_auth::verdict::allowed:
          break;
        case basic_auth::verdict::throttled:
          return text(429, "too many failed logins; try again in a second\n");
        case basic_auth::verdict::denied: {
          page_response r = text(401, "authentication required\n");
          r.headers.emplace_back("WWW-Authenticate", auth_->challenge());
          return r;
        }
      }
    }
    if (request.path == "/status") return list(request.query, false);
    if (request.path == "/api/status") return list(request.query, true);
    if (request.path == "/status/device") return detail(request.query, false);
    if (request.path == "/api/status/device") return detail(request.query, true);
    return text(404, "not found\n");
  } catch (...) {
    try {
      return text(500, "internal error\n");
    } catch (...) {
      return page_response{500, {}, {}, {}};
    }
  }
}

page_response status_page::list(std::string_view query, bool as_json) {
  const auto params = parse_query(query);
  if (!params)
    return error_page(400, "Bad request", "malformed query string", options_.title, as_json);
  view v = view::all;
  if (auto it = params->find("view"); it != params->end()) {
    const auto parsed = parse_view(it->second);
    if (!parsed)
      return error_page(400, "Bad request", "unknown view (all, low, new, alerts, down)",
                        options_.title, as_json);
    v = *parsed;
  }
  std::size_t page = 1;
  if (auto it = params->find("page"); it != params->end()) {
    const auto& s = it->second;
    const auto r = std::from_chars(s.data(), s.data() + s.size(), page);
    if (r.ec != std::errc{} || r.ptr != s.data() + s.size() || page == 0)
      return error_page(400, "Bad request", "page must be a number from 1", options_.title,
                        as_json);
  }

  const std::uint64_t now = now_ms();
  std::vector<device_row> devices;
  const std::error_code ec = source_->devices(devices);
  const uplink_state uplink = source_->uplink();

  // Counts per view (over every device) for the navigation.
  constexpr view views[] = {view::all, view::low, view::new_devices, view::alerts, view::down};
  std::size_t counts[5] = {};
  {
    const std::uint64_t window = static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::milliseconds>(options_.new_within).count());
    const std::uint64_t since = now > window ? now - window : 0;
    for (const auto& d : devices) {
      ++counts[0];
      counts[1] += d.low() ? 1 : 0;
      counts[2] += (d.first_seen_ms != 0 && d.first_seen_ms >= since) ? 1 : 0;
      counts[3] += d.alert_count > 0 ? 1 : 0;
      counts[4] += d.up ? 0 : 1;
    }
  }
  select_view(devices, v, now, options_.new_within);
  const std::size_t total = devices.size();
  const std::size_t pages =
      std::max<std::size_t>(1, (total + options_.page_size - 1) / options_.page_size);
  page = std::min(page, pages);
  const std::size_t first = (page - 1) * options_.page_size;
  const std::size_t last = std::min(total, first + options_.page_size);

  if (as_json) {
    json::object o;
    o["view"] = view_name(v);
    o["page"] = page;
    o["pages"] = pages;
    o["page_size"] = options_.page_size;
    o["total"] = total;
    if (ec) o["error"] = ec.message();
    json::array rows;
    for (std::size_t i = first; i < last; ++i) rows.push_back(row_json(devices[i]));
    o["devices"] = std::move(rows);
    o["uplink"] = uplink_json(uplink);
    return page_response{200, std::string(json_type), json::serialize(o), {}};
  }

  static const char* const titles[] = {"All devices", "Low status", "Recently added", "With alerts",
                                       "Down"};
  page_response r;
  r.content_type = std::string(html_type);
  r.body.reserve(4096 + (last - first) * 900);
  {
    page_shell shell(r.body, titles[static_cast<int>(v)], options_.title);
    std::string& out = r.body;
    out += "<nav class=\"views\">";
    for (std::size_t i = 0; i < 5; ++i) {
      out += "<a id=\"view-";
      out += view_name(views[i]);
      out += "\" href=\"/status?view=";
      out += view_name(views[i]);
      out += "\"";
      if (views[i] == v) out += " class=\"current\" aria-current=\"page\"";
      out += ">";
      out += titles[i];
      out += " (" + std::to_string(counts[i]) + ")</a>";
    }
    out += "</nav>";
    append_uplink(out, uplink, now);
    if (ec) {
      out += "<p class=\"err\" id=\"source-error\">Device data unavailable: ";
      append_escaped(out, ec.message());
      out += "</p>";
    }
    out += "<h2 id=\"view-title\">";
    out += titles[static_cast<int>(v)];
    out += "</h2><p id=\"summary\">" + std::to_string(total) + " devices";
    if (total > 0)
      out += ", showing " + std::to_string(first + 1) + "&ndash;" + std::to_string(last);
    out += "</p>";
    out +=
        "<table id=\"devices\"><thead><tr><th>Device</th><th>Address</th><th>Model</th>"
        "<th>Serial</th><th>Location</th><th>State</th><th>Supplies</th><th>Alerts</th>"
        "<th>First seen</th></tr></thead><tbody>";
    for (std::size_t i = first; i < last; ++i) {
      const device_row& d = devices[i];
      out += "<tr class=\"device\" data-id=\"";
      append_escaped(out, d.id);
      out += "\"><td><a class=\"device-link\" href=\"/status/device?id=";
      append_escaped(out, url_encode(d.id));
      out += "\">";
      append_escaped(out, device_label(d));
      out += "</a></td><td>";
      append_escaped(out, d.address);
      out += "</td><td>";
      append_escaped(out, d.vendor);
      if (!d.vendor.empty() && !d.model.empty()) out += " ";
      append_escaped(out, d.model);
      out += "</td><td>";
      append_escaped(out, d.serial);
      out += "</td><td>";
      append_escaped(out, d.location);
      out += "</td><td>";
      out += d.up ? "<span class=\"state-up\">up</span>" : "<span class=\"state-down\">down</span>";
      out += "</td><td class=\"mini\">";
      for (std::size_t k = 0; k < d.supplies.size() && k < max_list_supplies; ++k)
        append_bar(out, d.supplies[k]);
      if (d.empty())
        out += " <span class=\"empty-tag\">empty</span>";
      else if (d.low())
        out += " <span class=\"low-tag\">low</span>";
      out += "</td><td>" + std::to_string(d.alert_count) + "</td><td>";
      append_escaped(out, format_time(d.first_seen_ms));
      out += "</td></tr>";
    }
    out += "</tbody></table>";
    out += "<nav class=\"pager\" id=\"pager\">Page " + std::to_string(page) + " of " +
           std::to_string(pages);
    const std::string base = std::string("/status?view=") + view_name(v) + "&amp;page=";
    if (page > 1)
      out += " <a id=\"prev\" href=\"" + base + std::to_string(page - 1) + "\">previous</a>";
    if (page < pages)
      out += " <a id=\"next\" href=\"" + base + std::to_string(page + 1) + "\">next</a>";
    out += "</nav><p><a href=\"/api/status?view=";
    out += view_name(v);
    out += "\">JSON</a> &middot; <a href=\"/metrics\">metrics</a> &middot; generated ";
    out += format_time(now);
    out += "</p>";
  }
  return r;
}

page_response status_page::detail(std::string_view query, bool as_json) {
  const auto params = parse_query(query);
  if (!params)
    return error_page(400, "Bad request", "malformed query string", options_.title, as_json);
  const auto it = params->find("id");
  if (it == params->end() || it->second.empty())
    return error_page(400, "Bad request", "id is required: /status/device?id=...", options_.title,
                      as_json);
  device_detail d;
  if (const auto ec = source_->device(it->second, d)) {
    if (ec == error::not_found)
      return error_page(404, "Not found", "no device with id " + it->second, options_.title,
                        as_json);
    return error_page(503, "Unavailable", "device data unavailable: " + ec.message(),
                      options_.title, as_json);
  }
  const uplink_state uplink = source_->uplink();
  const std::uint64_t now = now_ms();

  // Thin each history evenly to at most sparkline_points.
  for (auto& s : d.supplies) {
    auto& h = s.history;
    if (h.size() > options_.sparkline_points) {
      std::vector<level_point> thin;
      thin.reserve(options_.sparkline_points);
      const double step =
          static_cast<double>(h.size() - 1) / static_cast<double>(options_.sparkline_points - 1);
      for (std::size_t k = 0; k < options_.sparkline_points; ++k)
        thin.push_back(h[std::min(h.size() - 1, static_cast<std::size_t>(std::llround(k * step)))]);
      h = std::move(thin);
    }
  }

  if (as_json) {
    json::object o = row_json(d.row);
    o["firmware"] = d.firmware;
    o["mac"] = d.mac;
    o["status"] = d.status;
    json::array conditions;
    for (const auto& c : d.conditions) conditions.push_back(json::value(c));
    o["conditions"] = std::move(conditions);
    o["down_since_ms"] = d.down_since_ms;
    o["failed_polls"] = d.failed_polls;
    o["last_error"] = d.last_error;
    json::array supplies;
    for (const auto& s : d.supplies) {
      json::object so = supply_json(s.supply);
      json::object f;
      f["available"] = s.forecast.available;
      f["reason"] = s.forecast.reason;
      f["days_to_empty"] = s.forecast.days_to_empty;
      f["empty_at_ms"] = s.forecast.empty_at_ms;
      if (s.forecast.pages_to_empty) f["pages_to_empty"] = *s.forecast.pages_to_empty;
      f["confidence"] = s.forecast.confidence;
      so["forecast"] = std::move(f);
      json::array hist;
      for (const auto& p : s.history) hist.push_back(json::array{p.at_ms, p.percent});
      so["history"] = std::move(hist);
      supplies.push_back(std::move(so));
    }
    o["supplies"] = std::move(supplies);
    json::array counters;
    for (const auto& c : d.counters)
      counters.push_back(json::object{{"name", c.name}, {"value", c.value}});
    o["counters"] = std::move(counters);
    json::array alerts;
    for (const auto& a : d.alerts)
      alerts.push_back(json::object{{"severity", a.severity},
                                    {"group", a.group},
                                    {"description", a.description},
                                    {"raised_ms", a.raised_ms}});
    o["alerts"] = std::move(alerts);
    o["uplink"] = uplink_json(uplink);
    return page_response{200, std::string(json_type), json::serialize(o), {}};
  }

  page_response r;
  r.content_type = std::string(html_type);
  {
    const std::string label = device_label(d.row);
    page_shell shell(r.body, label, options_.title);
    std::string& out = r.body;
    out += "<p><a href=\"/status\">&larr; all devices</a></p><h2 id=\"device-name\">";
    append_escaped(out, label);
    out += "</h2>";
    append_uplink(out, uplink, now);
    out += "<dl id=\"identity\">";
    auto field = [&](std::string_view name, std::string_view value) {
      if (value.empty()) return;
      out += "<dt>";
      out += name;
      out += "</dt><dd>";
      append_escaped(out, value);
      out += "</dd>";
    };
    field("Address", d.row.address);
    field("Vendor", d.row.vendor);
    field("Model", d.row.model);
    field("Serial", d.row.serial);
    field("Firmware", d.firmware);
    field("MAC", d.mac);
    field("Location", d.row.location);
    out += "<dt>State</dt><dd id=\"state\">";
    if (d.row.up) {
      out += "<span class=\"state-up\">up</span>";
    } else {
      out += "<span class=\"state-down\">down</span> since ";
      append_escaped(out, format_time(d.down_since_ms));
      out += " (" + std::to_string(d.failed_polls) + " failed polls";
      if (!d.last_error.empty()) {
        out += ", ";
        append_escaped(out, d.last_error);
      }
      out += ")";
    }
    out += "</dd>";
    field("Status", d.status);
    if (!d.conditions.empty()) {
      std::string c;
      for (const auto& x : d.conditions) c += (c.empty() ? "" : ", ") + x;
      field("Conditions", c);
    }
    field("First seen", format_time(d.row.first_seen_ms));
    field("Last answer",
          format_time(d.row.last_seen_ms) + " (" + format_age(d.row.last_seen_ms, now) + ")");
    out += "</dl>";

    out +=
        "<h3>Supplies</h3><table id=\"supplies\"><thead><tr><th>Supply</th><th>Level</th>"
        "<th></th><th>State</th><th>History</th><th>Forecast</th></tr></thead><tbody>";
    for (const auto& sd : d.supplies) {
      const supply_row& s = sd.supply;
      out += "<tr class=\"supply\" data-index=\"" + std::to_string(s.index) +
             "\"><td class=\"supply-name\">";
      append_escaped(out,
                     s.description.empty() ? "supply " + std::to_string(s.index) : s.description);
      if (!s.colorant.empty()) {
        out += " <small>(";
        append_escaped(out, s.colorant);
        out += ")</small>";
      }
      out += "</td><td>";
      append_bar(out, s);
      out += "</td><td class=\"level\">";
      if (s.percent)
        out += percent_text(*s.percent) + (s.receptacle ? " full" : "");
      else
        append_escaped(out, s.level_text.empty() ? "no level" : s.level_text);
      out += "</td><td>";
      if (s.empty)
        out += s.receptacle ? "<span class=\"empty-tag\">full</span>"
                            : "<span class=\"empty-tag\">empty</span>";
      else if (s.low)
        out += "<span class=\"low-tag\">low</span>";
      else
        out += "ok";
      out += "</td><td>";
      out += sparkline_svg(sd.history, 160, 28);
      out += "</td><td class=\"forecast\">";
      const forecast_view& f = sd.forecast;
      if (f.available) {
        out += "empty in " + one_decimal(f.days_to_empty) + " days (";
        append_escaped(out, format_time(f.empty_at_ms));
        out += ")";
        if (f.pages_to_empty)
          out += ", ~" +
                 format_count(static_cast<std::uint64_t>(std::max(0.0, *f.pages_to_empty))) +
                 " pages";
        out += "; confidence " + percent_text(f.confidence * 100);
      } else {
        out += "<small>no forecast";
        if (!f.reason.empty()) {
          out += ": ";
          append_escaped(out, f.reason);
        }
        out += "</small>";
      }
      out += "</td></tr>";
    }
    if (d.supplies.empty()) out += "<tr><td colspan=\"6\">no supplies reported</td></tr>";
    out += "</tbody></table>";

    out +=
        "<h3>Counters</h3><table id=\"counters\"><thead><tr><th>Counter</th><th>Value</th></tr>"
        "</thead><tbody>";
    for (const auto& c : d.counters) {
      out += "<tr><td>";
      append_escaped(out, c.name);
      out += "</td><td>" + format_count(c.value) + "</td></tr>";
    }
    if (d.counters.empty()) out += "<tr><td colspan=\"2\">no counters reported</td></tr>";
    out += "</tbody></table>";

    out +=
        "<h3>Alerts</h3><table id=\"alerts\"><thead><tr><th>Severity</th><th>Group</th>"
        "<th>Description</th><th>Raised</th></tr></thead><tbody>";
    for (const auto& a : d.alerts) {
      out += "<tr class=\"alert\"><td>";
      append_escaped(out, a.severity);
      out += "</td><td>";
      append_escaped(out, a.group);
      out += "</td><td>";
      append_escaped(out, a.description);
      out += "</td><td>";
      append_escaped(out, format_time(a.raised_ms));
      out += "</td></tr>";
    }
    if (d.alerts.empty()) out += "<tr><td colspan=\"4\">no active alerts</td></tr>";
    out += "</tbody></table><p><a href=\"/api/status/device?id=";
    append_escaped(out, url_encode(d.row.id));
    out += "\">JSON</a> &middot; generated ";
    out += format_time(now);
    out += "</p>";
  }
  return r;
}

}  // namespace fleetpoll::web
