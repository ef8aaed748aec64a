// The one TU of the metrics module that includes Asio and Beast (10-18 s to compile here).
//
// Shape: http_server::impl owns the acceptor, the route table and the set of live sessions. Every
// handler — accept, read, write, timer, stop — runs on one strand, so that state has no locks
// even when several threads run the io_context. Sessions hold a shared_ptr to impl; impl holds
// raw pointers to sessions, removed by the session's destructor.
#include "fleetpoll/metrics/http_server.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <exception>
#include <map>
#include <optional>
#include <sstream>
#include <unordered_set>
#include <utility>
#include <vector>

#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>
#include <prometheus/text_serializer.h>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core/bind_handler.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include "fleetpoll/metrics/error.hpp"

namespace fleetpoll::metrics {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

constexpr std::string_view plain_text = "text/plain; charset=utf-8";
constexpr std::size_t max_drain_bytes = 64 * 1024;      // lingering close gives up after this
constexpr std::chrono::milliseconds accept_retry{100};  // after EMFILE and the like

enum class server_state : int { created = 0, started = 1, stopped = 2 };

http_response text_response(unsigned status, std::string body) {
  return http_response{status, std::string(plain_text), std::move(body), {}};
}

}  // namespace

class session;

struct http_server::impl : std::enable_shared_from_this<http_server::impl> {
  impl(asio::io_context& io, http_server_options o)
      : options(std::move(o)),
        strand(asio::make_strand(io)),
        acceptor(strand),
        retry_timer(strand) {
    routes.emplace("/metrics", [this](const http_request&) { return scrape(); });
    routes.emplace("/healthz", [this](const http_request&) { return healthz(); });
  }

  http_response scrape() const {
    std::ostringstream out;
    const prometheus::TextSerializer serializer;
    for (const auto& c : collectables) serializer.Serialize(out, c->Collect());
    return http_response{200, std::string(exposition_content_type), std::move(out).str(), {}};
  }

  http_response healthz() const {
    const health_status h = health ? health() : health_status{};
    if (h.healthy) return text_response(200, "ok\n");
    std::string reason = h.reason.empty() ? std::string("unhealthy") : h.reason;
    std::replace(reason.begin(), reason.end(), '\n', ' ');
    return text_response(503, reason + "\n");
  }

  // Runs the route for `req`; never throws.
  http_response route(const http_request& req) const noexcept {
    try {
      const auto it = routes.find(req.path);
      if (it == routes.end()) return text_response(404, "not found\n");
      return it->second(req);
    } catch (...) {
      try {
        return text_response(500, "internal error\n");
      } catch (...) {
        return http_response{500, {}, {}, {}};  // allocation failed: empty 500
      }
    }
  }

  void do_accept();
  void on_accept(beast::error_code ec, tcp::socket socket);
  void do_stop();

  const http_server_options options;
  asio::strand<asio::io_context::executor_type> strand;

  // Set-up state: written before start(), read-only afterwards.
  std::vector<std::shared_ptr<const prometheus::Collectable>> collectables;
  health_check health;
  std::map<std::string, route_handler, std::less<>> routes;

  // Any thread.
  std::atomic<int> state{static_cast<int>(server_state::created)};
  std::atomic<std::uint16_t> bound_port{0};
  std::atomic<std::size_t> open_connections{0};

  // Strand only.
  tcp::acceptor acceptor;
  asio::steady_timer retry_timer;
  bool stopping = false;
  std::unordered_set<session*> sessions;
};

// One accepted connection: read a request, answer it, repeat while keep-alive; a "reject" session
// answers its one request with 503 (too many connections) and closes.
class session : public std::enable_shared_from_this<session> {
 public:
  session(std::shared_ptr<http_server::impl> server, tcp::socket socket, bool reject)
      : server_(std::move(server)),
        stream_(std::move(socket)),
        buffer_(server_->options.max_header_bytes + server_->options.max_body_bytes + 1024),
        reject_(reject) {
    server_->sessions.insert(this);
    server_->open_connections.fetch_add(1, std::memory_order_relaxed);
  }

  ~session() {
    server_->sessions.erase(this);
    server_->open_connections.fetch_sub(1, std::memory_order_relaxed);
  }

  session(const session&) = delete;
  session& operator=(const session&) = delete;

  void start() {
    beast::error_code ec;
    stream_.socket().set_option(tcp::no_delay(true), ec);  // best effort
    do_read();
  }

  // Closes the socket and cancels the pending operation; the session then dies with its last
  // handler.
  void close() noexcept {
    closed_ = true;
    stream_.close();
  }

 private:
  const http_server_options& opts() const { return server_->options; }

  void do_read() {
    parser_.emplace();
    parser_->header_limit(
        static_cast<std::uint32_t>(std::min<std::size_t>(opts().max_header_bytes, UINT32_MAX)));
    parser_->body_limit(static_cast<std::uint64_t>(opts().max_body_bytes));
    stream_.expires_after(opts().request_timeout);
    http::async_read(stream_, buffer_, *parser_,
                     beast::bind_front_handler(&session::on_read, shared_from_this()));
  }

  void on_read(beast::error_code ec, std::size_t /*bytes*/) {
    if (closed_ || server_->stopping) return close();
    if (ec == http::error::end_of_stream) return linger();  // client closed between requests
    if (ec == http::error::header_limit || ec == http::error::buffer_overflow)
      return respond_final(431, "request header too large\n");
    if (ec == http::error::body_limit) return respond_final(413, "request body too large\n");
    if (ec && ec.category() == http::make_error_code(http::error::bad_target).category())
      return respond_final(400, "bad request\n");
    if (ec) return close();  // timeout, reset, aborted
    handle_request();
  }

  void handle_request() {
    const auto& req = parser_->get();
    bool keep_alive = req.keep_alive() && !reject_;
    const bool head = req.method() == http::verb::head;
    res_ = {};
    res_.version(req.version());
    try {
      http_response r;
      if (reject_) {
        r = text_response(503, "too many connections\n");
      } else if (req.method() != http::verb::get && !head) {
        r = text_response(405, "method not allowed\n");
        res_.set(http::field::allow, "GET, HEAD");
      } else {
        const std::string_view target = req.target();
        const auto q = target.find('?');
        http_request view;
        view.method = head ? http_method::head : http_method::get;
        view.path = target.substr(0, q);
        view.query = q == std::string_view::npos ? std::string_view{} : target.substr(q + 1);
        if (auto it = req.find(http::field::authorization); it != req.end())
          view.authorization = std::string_view(it->value().data(), it->value().size());
        r = server_->route(view);
      }
      if (r.status < 100 || r.status > 999)
        r = text_response(500, "handler returned a bad status\n");
      res_.result(r.status);
      res_.set(http::field::content_type, r.content_type);
      for (const auto& [name, value] : r.headers) res_.set(name, value);
      res_.content_length(r.body.size());
      if (!head) res_.body() = std::move(r.body);
    } catch (...) {
      // Building the response failed (a field value Beast refused, or memory): plain 500.
      res_ = {};
      res_.version(req.version());
      res_.result(http::status::internal_server_error);
      res_.content_length(0);
      keep_alive = false;
    }
    res_.keep_alive(keep_alive);
    write(keep_alive);
  }

  // A response after which the connection closes (errors the parser cannot recover from).
  void respond_final(unsigned status, std::string_view body) {
    res_ = {};
    res_.version(11);
    res_.result(status);
    res_.set(http::field::content_type, plain_text);
    res_.body().assign(body.data(), body.size());
    res_.prepare_payload();
    res_.keep_alive(false);
    write(false);
  }

  void write(bool keep_alive) {
    stream_.expires_after(opts().write_timeout);
    http::async_write(
        stream_, res_,
        beast::bind_front_handler(&session::on_write, shared_from_this(), keep_alive));
  }

  void on_write(bool keep_alive, beast::error_code ec, std::size_t /*bytes*/) {
    if (ec || closed_ || server_->stopping) return close();
    if (!keep_alive) return linger();
    do_read();
  }

  // Lingering close: half-close, then read and discard until the client closes, linger_timeout
  // passes or max_drain_bytes arrive, so unread request bytes do not turn our close into a reset
  // that could destroy the response in the client's receive queue.
  void linger() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    if (ec) return close();
    stream_.expires_after(opts().linger_timeout);
    do_drain();
  }

  void do_drain() {
    stream_.async_read_some(asio::buffer(drain_),
                            beast::bind_front_handler(&session::on_drain, shared_from_this()));
  }

  void on_drain(beast::error_code ec, std::size_t bytes) {
    drained_ += bytes;
    if (ec || closed_ || server_->stopping || drained_ > max_drain_bytes) return close();
    do_drain();
  }

  std::shared_ptr<http_server::impl> server_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  http::response<http::string_body> res_;
  std::array<char, 4096> drain_{};
  std::size_t drained_ = 0;
  const bool reject_;
  bool closed_ = false;
};

void http_server::impl::do_accept() {
  acceptor.async_accept(beast::bind_front_handler(&impl::on_accept, shared_from_this()));
}

void http_server::impl::on_accept(beast::error_code ec, tcp::socket socket) {
  if (stopping || ec == asio::error::operation_aborted) {
    beast::error_code ignored;
    socket.close(ignored);
    return;
  }
  if (ec) {
    // EMFILE, ENOBUFS, ECONNABORTED...: try again shortly rather than spin or give up.
    retry_timer.expires_after(accept_retry);
    retry_timer.async_wait([self = shared_from_this()](beast::error_code wait_ec) {
      if (!wait_ec && !self->stopping) self->do_accept();
    });
    return;
  }
  const std::size_t open = sessions.size();
  if (open >= 2 * options.max_connections) {
    beast::error_code ignored;
    socket.close(ignored);  // far over the limit: not even a 503
  } else {
    try {
      const auto s = std::make_shared<session>(shared_from_this(), std::move(socket),
                                               open >= options.max_connections);
      s->start();
    } catch (const std::exception&) {
      // Out of memory for one session: drop that connection, keep accepting.
    }
  }
  do_accept();
}

void http_server::impl::do_stop() {
  stopping = true;
  beast::error_code ignored;
  acceptor.close(ignored);
  retry_timer.cancel();
  // close() does not destroy the session (its pending handler holds it), so iterating is safe.
  for (session* s : sessions) s->close();
}

// ---- http_server -------------------------------------------------------------------------------

http_server::http_server(asio::io_context& io, http_server_options options)
    : impl_(std::make_shared<impl>(io, std::move(options))) {}

http_server::~http_server() {
  try {
    stop();
  } catch (...) {
    // Only allocation of the posted close can fail; nothing sensible remains to do here.
  }
}

void http_server::add_collectable(std::shared_ptr<const prometheus::Collectable> collectable) {
  if (collectable) impl_->collectables.push_back(std::move(collectable));
}

std::error_code http_server::set_health_check(health_check check) {
  if (impl_->state.load() != static_cast<int>(server_state::created)) return error::already_started;
  impl_->health = std::move(check);
  return {};
}

std::error_code http_server::add_route(std::string path, route_handler handler) {
  if (impl_->state.load() != static_cast<int>(server_state::created)) return error::already_started;
  if (path.empty() || path.front() != '/' || path.find('?') != std::string::npos || !handler)
    return error::invalid_route;
  if (!impl_->routes.emplace(std::move(path), std::move(handler)).second)
    return error::duplicate_route;
  return {};
}

std::error_code http_server::start() {
  impl& s = *impl_;
  int expected = static_cast<int>(server_state::created);
  if (!s.state.compare_exchange_strong(expected, static_cast<int>(server_state::started)))
    return expected == static_cast<int>(server_state::started) ? error::already_started
                                                               : error::stopped;
  auto fail = [&s](std::error_code ec) {
    int started = static_cast<int>(server_state::started);
    s.state.compare_exchange_strong(started, static_cast<int>(server_state::created));
    return ec;
  };

  beast::error_code ec;
  const auto address = asio::ip::make_address(s.options.address, ec);
  if (ec) return fail(error::invalid_address);
  const tcp::endpoint endpoint(address, s.options.port);

  // Bind a local acceptor, then hand it to the strand: start() never touches strand state.
  tcp::acceptor acceptor(s.strand);
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  tcp::endpoint local;
  if (!ec) local = acceptor.local_endpoint(ec);
  if (ec) return fail(ec);
  s.bound_port.store(local.port());

  asio::dispatch(s.strand, [self = impl_, a = std::move(acceptor)]() mutable {
    if (self->stopping) {
      beast::error_code ignored;
      a.close(ignored);
      return;
    }
    self->acceptor = std::move(a);
    self->do_accept();
  });
  return {};
}

void http_server::stop() {
  impl_->state.store(static_cast<int>(server_state::stopped));
  asio::dispatch(impl_->strand, [self = impl_] { self->do_stop(); });
}

std::uint16_t http_server::port() const noexcept {
  return impl_->bound_port.load();
}

std::size_t http_server::connection_count() const noexcept {
  return impl_->open_connections.load(std::memory_order_relaxed);
}

}  // namespace fleetpoll::metrics
