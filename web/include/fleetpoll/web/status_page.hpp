// fleetpoll::web::status_page — the engine's status page: server-rendered HTML (no script, no
// external asset) and a small JSON API, served by the process's one metrics::http_server.
//
// Routes (docs/status-page.md):
//   /status?view=all|low|new|alerts|down&page=N   the device list, one view, one page
//   /status/device?id=ID                           one device: supplies (bars, history sparkline,
//                                                  forecast), counters, alerts
//   /api/status?view=...&page=N                    the same list as JSON
//   /api/status/device?id=ID                       the same device as JSON
// Every view shows the uplink's state. Pages are bounded: page_size devices per list page.
// Every text that comes from a device or the configuration is HTML-escaped (JSON: escaped by
// Boost.JSON).
//
// Access: the page is meant for loopback. create() refuses an address beyond loopback unless
// basic auth is configured (error::auth_required). Basic auth needs the Authorization header,
// which metrics::http_request passes only once it has an `authorization` member
// (docs/status-page.md, "Integration"); until then create() refuses auth (auth_unsupported).
//
// Thread safety: handle() may be called from any thread; each call reads the source once
// (see status_source for what that means). Ownership: holds the source by shared_ptr; the
// routes added to a server hold the page by shared_ptr.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "fleetpoll/web/basic_auth.hpp"
#include "fleetpoll/web/status_source.hpp"

namespace fleetpoll::metrics {
class http_server;
}

namespace fleetpoll::web {

struct status_page_options {
  // Devices per list page (1..1000). Default: 100
  std::size_t page_size = 100;
  // "Recently added": first seen within this long. Default: 7 days
  std::chrono::hours new_within{24 * 7};
  // Heading and <title>, e.g. the site name. Default: "fleetpoll"
  std::string title = "fleetpoll";
  // Points of history drawn per sparkline (older points are thinned evenly). Default: 200
  std::size_t sparkline_points = 200;
  // Optional basic auth; required when listening beyond loopback. Default: off
  basic_auth_options auth;
  // Wall clock, Unix ms (ages, "recently added"). Default: std::chrono::system_clock
  std::function<std::uint64_t()> clock;
};

// The views of the list.
enum class view { all, low, new_devices, alerts, down };
const char* view_name(view v) noexcept;  // "all", "low", "new", "alerts", "down"

// A request as the page sees it (independent of the HTTP server).
struct page_request {
  std::string_view path;   // "/status"
  std::string_view query;  // "view=low&page=2"
  // The Authorization header's value; absent when the request had none.
  std::optional<std::string_view> authorization;
};

struct page_response {
  unsigned status = 200;
  std::string content_type = "text/html; charset=utf-8";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // e.g. WWW-Authenticate on a 401
};

class status_page : public std::enable_shared_from_this<status_page> {
 public:
  // `listen_address` is where the HTTP server listens (http_server_options::address).
  // Errors: invalid_options, invalid_password_hash, auth_required (beyond loopback without auth),
  // auth_unsupported (auth configured and `credentials_available` false).
  // `credentials_available` defaults to what metrics::http_server can pass (see above).
  static std::error_code create(std::shared_ptr<status_source> source, status_page_options options,
                                std::string_view listen_address, std::shared_ptr<status_page>& out);
  static std::error_code create(std::shared_ptr<status_source> source, status_page_options options,
                                std::string_view listen_address, bool credentials_available,
                                std::shared_ptr<status_page>& out);

  // True when metrics::http_server hands the Authorization header to routes.
  static bool server_passes_credentials() noexcept;

  // Adds the routes above to `server` (before server.start()).
  std::error_code add_routes(metrics::http_server& server);

  // Answers one request for any of the routes (404 for another path). Never throws.
  page_response handle(const page_request& request) noexcept;

  // The paths handle() serves.
  static const std::vector<std::string>& paths();

  status_page(std::shared_ptr<status_source> source, status_page_options options,
              std::optional<basic_auth> auth);  // use create()

 private:
  page_response list(std::string_view query, bool json);
  page_response detail(std::string_view query, bool json);
  std::uint64_t now_ms() const;

  std::shared_ptr<status_source> source_;
  status_page_options options_;
  std::optional<basic_auth> auth_;
};

// True for 127.0.0.0/8, ::1 and ::ffff:127.x.y.z (numeric addresses only).
bool is_loopback_address(std::string_view address) noexcept;

// Devices of `v` in the order the page lists them (the caller's vector is filtered and sorted).
void select_view(std::vector<device_row>& devices, view v, std::uint64_t now_ms,
                 std::chrono::hours new_within);

}  // namespace fleetpoll::web
