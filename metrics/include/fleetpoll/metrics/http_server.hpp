// fleetpoll::metrics::http_server — the process's one HTTP/1.1 server.
//
// Serves the Prometheus exposition at /metrics, a health probe at /healthz, and any route another
// component registers (the status page, a JSON API). It runs on an io_context the caller owns and
// runs — typically one of the engine's — and has no thread of its own. Boost.Beast stays inside
// http_server.cpp; this header needs no Beast or Asio include.
//
// Contract
//   * GET and HEAD only; any other method gets 405 with "Allow: GET, HEAD".
//   * Routes match the request path exactly (the query string is passed to the handler, not
//     matched). An unknown path gets 404.
//   * HEAD runs the GET handler and sends its headers (with the GET Content-Length) and no body.
//   * Keep-alive per HTTP/1.1 (and HTTP/1.0 "Connection: keep-alive").
//   * Request header block over max_header_bytes gets 431, a body over max_body_bytes gets 413,
//     a malformed request gets 400; each of those closes the connection after the response.
//   * At most max_connections connections are served at once. A connection beyond that has its
//     request answered with 503 and is closed; beyond twice that, it is closed at once.
//   * A connection that does not deliver a complete request within request_timeout, or does not
//     take a response within write_timeout, is closed.
//   * /metrics concatenates Collect() of every registered collectable (in registration order),
//     serialized by prometheus::TextSerializer, with
//     "Content-Type: text/plain; version=0.0.4; charset=utf-8". Collectables must not expose the
//     same family name twice.
//   * /healthz calls the health check: healthy -> 200 "ok\n"; unhealthy -> 503 "<reason>\n".
//   * A handler or collectable that throws produces a 500; no exception leaves the server's
//     handlers into io_context::run().
//
// Ownership
//   The io_context must outlive the http_server. The server keeps shared ownership of every
//   collectable and copies of handlers. Its internal state is shared with its pending
//   asynchronous operations, so destroying the http_server (which calls stop()) is safe while
//   the io_context still runs; handlers are never called after stop() has taken effect.
//
// Thread safety
//   add_route(), add_collectable() and set_health_check() are for set-up: call them before
//   start(), from one thread. start(), stop(), port() and connection_count() may be called from
//   any thread. All network work, route handlers, the health check and Collect() calls run on
//   one strand of the io_context, so handlers need no locking against each other, even when
//   several threads run that io_context. Handlers run on the engine's io_context: keep them short.
//
// Network safety
//   The default endpoint is loopback (127.0.0.1:9750). Listening on any other address is an
//   explicit operator choice made through http_server_options::address.
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

namespace boost::asio {
class io_context;
}
namespace prometheus {
class Collectable;
}

namespace fleetpoll::metrics {

struct http_server_options {
  // Numeric IPv4 or IPv6 address to listen on (no name lookup).
  // Default: "127.0.0.1" (loopback only). Any other value exposes the server beyond this host.
  std::string address = "127.0.0.1";

  // TCP port; 0 picks an ephemeral port (read it back with http_server::port()).
  // Default: 9750
  std::uint16_t port = 9750;

  // Connections served at once; more are answered 503 and closed.
  // Default: 64
  std::size_t max_connections = 64;

  // Largest request line + header block accepted; larger gets 431.
  // Default: 8192 bytes
  std::size_t max_header_bytes = 8192;

  // Largest request body accepted (GET and HEAD rarely carry one); larger gets 413.
  // Default: 4096 bytes
  std::size_t max_body_bytes = 4096;

  // Time allowed to receive one complete request, including a keep-alive connection's idle wait
  // for its next request. Zero closes every connection at once (used by tests).
  // Default: 30 s
  std::chrono::milliseconds request_timeout{30'000};

  // Time allowed to send one response.
  // Default: 10 s
  std::chrono::milliseconds write_timeout{10'000};

  // After a final response (Connection: close, 4xx, 503), the server half-closes and drains what
  // the client still sends for at most this long, so the client reads the response instead of a
  // TCP reset.
  // Default: 1 s
  std::chrono::milliseconds linger_timeout{1'000};
};

enum class http_method { get, head };

// One request as a handler sees it. The views are valid only during the handler call.
struct http_request {
  http_method method = http_method::get;
  std::string_view path;   // "/status" — the target before any '?'
  std::string_view query;  // "a=1&b=2" — the target after '?', empty if none
  // The Authorization header's value when the request had one (for routes with basic auth).
  std::optional<std::string_view> authorization;
};

// What a handler returns. The server adds Content-Length, Connection and, for HEAD, drops the body.
struct http_response {
  unsigned status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
  // Extra header fields (e.g. WWW-Authenticate on a 401, Cache-Control). A field Beast refuses
  // turns the response into a 500.
  std::vector<std::pair<std::string, std::string>> headers{};
};

using route_handler = std::function<http_response(const http_request&)>;

// Result of a health check: healthy, or not with a one-line reason for the operator.
struct health_status {
  bool healthy = true;
  std::string reason;
};

using health_check = std::function<health_status()>;

// Content type of the Prometheus text exposition format 0.0.4.
inline constexpr std::string_view exposition_content_type =
    "text/plain; version=0.0.4; charset=utf-8";

class http_server {
 public:
  // Prepares a server on `io`; opens nothing until start().
  explicit http_server(boost::asio::io_context& io, http_server_options options = {});

  // Calls stop().
  ~http_server();

  http_server(const http_server&) = delete;
  http_server& operator=(const http_server&) = delete;

  // Adds a source for /metrics (a prometheus::Registry, a process_collector, ...).
  void add_collectable(std::shared_ptr<const prometheus::Collectable> collectable);

  // Replaces the /healthz check. Default: always healthy.
  // Returns error::already_started after start().
  std::error_code set_health_check(health_check check);

  // Registers `handler` for the exact path `path` ("/status").
  // Returns error::invalid_route, error::duplicate_route or error::already_started.
  std::error_code add_route(std::string path, route_handler handler);

  // Binds and listens, then begins accepting on the io_context. Returns the bind/listen error
  // (e.g. std::errc::address_in_use), error::invalid_address, error::already_started or
  // error::stopped. Synchronous: on success the port is bound when start() returns.
  std::error_code start();

  // Closes the acceptor and every open connection, idle or busy. Returns at once; the closing
  // runs on the io_context (inline if called from the server's strand). Once it has run, the
  // server holds no pending operation, so io_context::run() returns if nothing else is queued.
  // Idempotent.
  void stop();

  // The bound port once start() succeeded (the ephemeral one when options.port was 0), else 0.
  std::uint16_t port() const noexcept;

  // Connections currently open (served or being rejected). For tests and the status page.
  std::size_t connection_count() const noexcept;

  struct impl;

 private:
  std::shared_ptr<impl> impl_;
};

}  // namespace fleetpoll::metrics
