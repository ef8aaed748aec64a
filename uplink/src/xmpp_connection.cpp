// The XMPP client session. Boost.Asio C++20 coroutines on one executor (a strand); see the header
// for the contract. Login steps read elements with next_element() under one login deadline; once
// ready, a reader loop, a writer loop and a keep-alive loop share the session.
#include "fleetpoll/uplink/xmpp_connection.hpp"

#include <openssl/ssl.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <charconv>
#include <deque>
#include <random>

#include "fleetpoll/uplink/error.hpp"
#include "fleetpoll/uplink/sasl.hpp"

namespace fleetpoll::uplink {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;

namespace {
template <typename E>
bool is(std::error_code ec, E e) {
  return ec == static_cast<std::error_code>(boost::system::error_code(e));
}
const std::error_category& std_cat(const boost::system::error_category& c) {
  return c;
}
constexpr auto nothrow = asio::as_tuple(asio::use_awaitable);
constexpr std::string_view ns_tls = "urn:ietf:params:xml:ns:xmpp-tls";
constexpr std::string_view ns_sasl = "urn:ietf:params:xml:ns:xmpp-sasl";
constexpr std::string_view ns_bind = "urn:ietf:params:xml:ns:xmpp-bind";
constexpr std::string_view ns_sm = "urn:xmpp:sm:3";
}  // namespace

const char* label(connection_state s) noexcept {
  switch (s) {
    case connection_state::disconnected:
      return "disconnected";
    case connection_state::connecting:
      return "connecting";
    case connection_state::ready:
      return "ready";
    case connection_state::backoff:
      return "backoff";
    case connection_state::stopped:
      return "stopped";
  }
  return "unknown";
}

failure_kind classify(std::error_code ec) noexcept {
  if (!ec) return failure_kind::none;
  if (ec.category() == std_cat(asio::error::get_ssl_category()) ||
      ec.category() == std_cat(asio::ssl::error::get_stream_category()))
    return failure_kind::tls;
  if (ec.category() == uplink_category()) {
    switch (static_cast<error>(ec.value())) {
      case error::tls_unavailable:
      case error::tls_refused:
        return failure_kind::tls;
      case error::auth_failed:
      case error::server_signature_mismatch:
      case error::no_usable_mechanism:
      case error::sasl_malformed:
        return failure_kind::auth;
      case error::proxy_refused:
        return failure_kind::proxy;
      case error::stream_closed:
        return failure_kind::closed;
      default:
        return failure_kind::protocol;
    }
  }
  if (is(ec, asio::error::eof) || is(ec, asio::error::connection_reset) ||
      is(ec, asio::error::broken_pipe))
    return failure_kind::closed;
  return failure_kind::connect;
}

std::string jid_bare(const std::string& jid) {
  return jid.substr(0, jid.find('/'));
}
std::string jid_domain(const std::string& jid) {
  std::string bare = jid_bare(jid);
  auto at = bare.find('@');
  return at == std::string::npos ? bare : bare.substr(at + 1);
}
std::string jid_local(const std::string& jid) {
  std::string bare = jid_bare(jid);
  auto at = bare.find('@');
  return at == std::string::npos ? std::string{} : bare.substr(0, at);
}

// One TCP connection and everything that lives exactly as long as it.
struct session {
  explicit session(asio::any_io_executor ex, asio::ssl::context& ctx, const xml_limits& limits)
      : stream(ex, ctx), write_signal(ex), keepalive(ex), deadline(ex), limits_(limits) {
    write_signal.expires_at(asio::steady_timer::time_point::max());
  }
  asio::ssl::stream<tcp::socket> stream;
  bool tls = false;
  bool direct_tls = false;
  bool closed = false;
  std::error_code close_reason;
  std::deque<std::string> outq;
  asio::steady_timer write_signal;  // cancelled to wake the writer
  asio::steady_timer keepalive;
  asio::steady_timer deadline;  // login deadline
  xml_limits limits_;
  std::unique_ptr<xml_stream_parser> parser;
  std::deque<element> inbox;
  std::vector<std::size_t> oversized;  // sizes of stanzas discarded since the last look
  bool got_header = false;
  bool got_close = false;
  std::array<char, std::size_t{16} * 1024> buf{};
  std::chrono::steady_clock::time_point last_rx = std::chrono::steady_clock::now();
  std::chrono::steady_clock::time_point last_tx = std::chrono::steady_clock::now();
  bool r_pending = false;
  bool close_after_flush = false;  // stop(): write the farewell, then close

  void close(std::error_code why) {
    if (closed) return;
    closed = true;
    close_reason = why;
    boost::system::error_code ignored;
    stream.lowest_layer().shutdown(tcp::socket::shutdown_both, ignored);
    stream.lowest_layer().close(ignored);
    write_signal.cancel();
    keepalive.cancel();
    deadline.cancel();
  }
};

struct xmpp_connection::impl : std::enable_shared_from_this<impl> {
  asio::any_io_executor ex;
  xmpp_options opt;
  connection_events ev;
  asio::ssl::context ssl_ctx{asio::ssl::context::tls_client};
  std::error_code ssl_setup_error;
  asio::steady_timer backoff_timer;
  std::shared_ptr<session> cur;
  connection_state st = connection_state::disconnected;
  bool stopped = false;
  bool retry = true;
  std::atomic<bool> finished{true};  // the run loop is not running
  std::string full_jid;
  std::uint64_t tx_bytes = 0;
  std::uint64_t rx_bytes = 0;
  std::error_code last_err;
  std::mt19937_64 rng{std::random_device{}()};
  // XEP-0198
  bool sm_enabled = false;
  std::string sm_id;
  bool sm_resumable = false;
  std::uint32_t h_in = 0;
  std::uint32_t out_acked = 0;
  std::deque<std::string> unacked;
  static constexpr std::size_t sm_request_after = 8;

  impl(asio::any_io_executor e, xmpp_options o, connection_events v)
      : ex(std::move(e)), opt(std::move(o)), ev(std::move(v)), backoff_timer(ex) {
    // TLS >= 1.2, peer verification always on.
    SSL_CTX_set_min_proto_version(ssl_ctx.native_handle(), TLS1_2_VERSION);
    ssl_ctx.set_verify_mode(asio::ssl::verify_peer);
    boost::system::error_code ec;
    if (!opt.ca_file.empty())
      ssl_ctx.load_verify_file(opt.ca_file, ec);
    else
      ssl_ctx.set_default_verify_paths(ec);
    ssl_setup_error = ec;
  }

  std::string domain() const { return jid_domain(opt.jid); }
  std::string server_name() const {
    return opt.tls_server_name.empty() ? domain() : opt.tls_server_name;
  }

  void set_state(connection_state s) {
    if (st == s) return;
    st = s;
    if (!stopped && ev.on_state) ev.on_state(s);
  }

  // ---------------------------------------------------------------- low-level I/O
  asio::awaitable<std::error_code> write_raw(std::shared_ptr<session> s, std::string data) {
    if (s->closed) co_return error::stream_closed;
    std::error_code ec;
    std::size_t n = 0;
    if (s->tls) {
      auto [e, k] = co_await asio::async_write(s->stream, asio::buffer(data), nothrow);
      ec = e;
      n = k;
    } else {
      auto [e, k] = co_await asio::async_write(s->stream.next_layer(), asio::buffer(data), nothrow);
      ec = e;
      n = k;
    }
    tx_bytes += n;
    s->last_tx = std::chrono::steady_clock::now();
    if (ec) s->close(ec);
    co_return ec;
  }

  asio::awaitable<std::error_code> read_more(std::shared_ptr<session> s) {
    if (s->closed)
      co_return s->close_reason ? s->close_reason : make_error_code(error::stream_closed);
    std::error_code ec;
    std::size_t n = 0;
    if (s->tls) {
      auto [e, k] = co_await s->stream.async_read_some(asio::buffer(s->buf), nothrow);
      ec = e;
      n = k;
    } else {
      auto [e, k] = co_await s->stream.next_layer().async_read_some(asio::buffer(s->buf), nothrow);
      ec = e;
      n = k;
    }
    if (s->closed && s->close_reason) co_return s->close_reason;
    if (ec) {
      if (is(ec, asio::error::eof) || is(ec, asio::ssl::error::stream_truncated))
        ec = error::stream_closed;
      s->close(ec);
      co_return ec;
    }
    rx_bytes += n;
    s->last_rx = std::chrono::steady_clock::now();
    if (auto perr = s->parser->feed({s->buf.data(), n})) {
      s->close(perr);
      co_return perr;
    }
    co_return std::error_code{};
  }

  // The next top-level element; a stream error or close ends the session.
  asio::awaitable<std::error_code> next_element(std::shared_ptr<session> s, element& out) {
    while (s->inbox.empty()) {
      if (s->got_close) {
        s->close(error::stream_closed);
        co_return error::stream_closed;
      }
      if (auto ec = co_await read_more(s)) co_return ec;
    }
    out = std::move(s->inbox.front());
    s->inbox.pop_front();
    if (out.is(ns_streams, "error")) {
      s->close(error::stream_error);
      co_return error::stream_error;
    }
    co_return std::error_code{};
  }

  void restart_parser(const std::shared_ptr<session>& s) {
    s->inbox.clear();
    s->got_header = false;
    s->got_close = false;
    std::weak_ptr<session> w = s;
    xml_stream_parser::handlers h;
    h.on_stream_open = [w](const element& e) {
      if (auto p = w.lock()) p->got_header = e.attribute("version") != nullptr;
    };
    h.on_element = [w](element&& e) {
      if (auto p = w.lock()) p->inbox.push_back(std::move(e));
    };
    h.on_stream_close = [w] {
      if (auto p = w.lock()) p->got_close = true;
    };
    h.on_oversized = [w](std::size_t bytes) {
      if (auto p = w.lock()) p->oversized.push_back(bytes);
    };
    s->parser = std::make_unique<xml_stream_parser>(std::move(h), opt.limits);
  }

  // Sends a stream header and reads up to and including <stream:features/>.
  asio::awaitable<std::error_code> open_stream(std::shared_ptr<session> s, element& features) {
    restart_parser(s);
    std::string header = "<?xml version='1.0'?><stream:stream to='" + xml_escape(domain()) +
                         "' version='1.0' xml:lang='en' xmlns='jabber:client' "
                         "xmlns:stream='http://etherx.jabber.org/streams'>";
    if (auto ec = co_await write_raw(s, std::move(header))) co_return ec;
    if (auto ec = co_await next_element(s, features)) co_return ec;
    if (!s->got_header || !features.is(ns_streams, "features")) {
      s->close(error::protocol_violation);
      co_return error::protocol_violation;
    }
    co_return std::error_code{};
  }

  // ---------------------------------------------------------------- connect
  asio::awaitable<std::error_code> tcp_connect(std::shared_ptr<session> s, std::string host,
                                               std::uint16_t port) {
    tcp::resolver resolver(ex);
    auto [rec, results] = co_await resolver.async_resolve(host, std::to_string(port), nothrow);
    if (rec) co_return rec;
    // Bound the connect with a timer that closes the socket.
    asio::steady_timer t(ex);
    t.expires_after(opt.connect_timeout);
    auto timed_out = std::make_shared<bool>(false);
    t.async_wait([s, timed_out](std::error_code e) {
      if (!e) {
        *timed_out = true;
        boost::system::error_code ignored;
        s->stream.lowest_layer().close(ignored);
      }
    });
    auto [ec, ep] = co_await asio::async_connect(s->stream.lowest_layer(), results, nothrow);
    t.cancel();
    if (*timed_out) co_return error::timeout;
    if (!ec) {
      boost::system::error_code ignored;
      s->stream.lowest_layer().set_option(tcp::no_delay(true), ignored);
    }
    co_return ec;
  }

  static bool split_host_port(const std::string& hp, std::string& host, std::uint16_t& port) {
    auto colon = hp.rfind(':');
    if (colon == std::string::npos || colon == 0) return false;
    host = hp.substr(0, colon);
    if (host.size() > 2 && host.front() == '[' && host.back() == ']')
      host = host.substr(1, host.size() - 2);
    auto [p, e] = std::from_chars(hp.data() + colon + 1, hp.data() + hp.size(), port);
    return e == std::errc{} && p == hp.data() + hp.size() && port != 0;
  }

  asio::awaitable<std::error_code> connect_to(std::shared_ptr<session> s, std::uint16_t port) {
    std::string host = opt.host.empty() ? domain() : opt.host;
    if (opt.proxy.empty()) co_return co_await tcp_connect(s, host, port);
    std::string phost;
    std::uint16_t pport = 0;
    if (!split_host_port(opt.proxy, phost, pport)) co_return error::config_invalid;
    if (auto ec = co_await tcp_connect(s, phost, pport)) co_return ec;
    std::string target = (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" +
                         std::to_string(port);
    std::string req = "CONNECT " + target + " HTTP/1.1\r\nHost: " + target + "\r\n";
    if (!opt.proxy_credentials.empty())
      req += "Proxy-Authorization: Basic " + base64_encode(opt.proxy_credentials) + "\r\n";
    req += "\r\n";
    if (auto ec = co_await write_raw(s, std::move(req))) co_return ec;
    // Read the answer byte-exactly up to the blank line (at most 8 KiB), bounded in time.
    asio::steady_timer t(ex);
    t.expires_after(opt.connect_timeout);
    t.async_wait([s](std::error_code e) {
      if (!e) s->close(error::timeout);
    });
    std::string answer;
    while (answer.find("\r\n\r\n") == std::string::npos) {
      char c;
      auto [ec, n] = co_await s->stream.next_layer().async_read_some(asio::buffer(&c, 1), nothrow);
      if (ec || n == 0) {
        t.cancel();
        if (s->closed) co_return s->close_reason;
        co_return ec ? std::error_code(ec) : make_error_code(error::proxy_refused);
      }
      answer += c;
      if (answer.size() > 8192) {
        t.cancel();
        co_return error::proxy_refused;
      }
    }
    t.cancel();
    rx_bytes += answer.size();
    // "HTTP/1.x 2xx ..."
    if (answer.size() < 12 || answer.compare(0, 7, "HTTP/1.") != 0 || answer[9] != '2')
      co_return error::proxy_refused;
    co_return std::error_code{};
  }

  asio::awaitable<std::error_code> tls_handshake(std::shared_ptr<session> s) {
    std::string name = server_name();
    SSL* ssl = s->stream.native_handle();
    // SNI (SSL_set_tlsext_host_name is a macro with an old-style cast).
    SSL_ctrl(ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
             const_cast<char*>(name.c_str()));
    // Host-name verification by OpenSSL (SSL_set1_host): the certificate must name `name`.
    if (SSL_set1_host(ssl, name.c_str()) != 1) co_return error::crypto_failure;
    if (s->direct_tls) {
      static const unsigned char alpn[] = {11,  'x', 'm', 'p', 'p', '-',
                                           'c', 'l', 'i', 'e', 'n', 't'};
      SSL_set_alpn_protos(ssl, alpn, sizeof alpn);
    }
    auto [ec] = co_await s->stream.async_handshake(asio::ssl::stream_base::client, nothrow);
    if (s->closed && s->close_reason) co_return s->close_reason;
    if (ec) {
      s->close(ec);
      co_return ec;
    }
    s->tls = true;
    co_return std::error_code{};
  }

  // ---------------------------------------------------------------- login
  asio::awaitable<std::error_code> authenticate(std::shared_ptr<session> s,
                                                const element& features) {
    const element* mechs = features.child(ns_sasl, "mechanisms");
    bool has_sha256 = false, has_sha1 = false, has_plain = false;
    if (mechs != nullptr)
      for (const auto& m : mechs->children) {
        if (m.name != "mechanism") continue;
        has_sha256 |= m.text == "SCRAM-SHA-256";
        has_sha1 |= m.text == "SCRAM-SHA-1";
        has_plain |= m.text == "PLAIN";
      }
    std::string user = jid_local(opt.jid);
    if (has_sha256 || has_sha1) {
      scram_client scram(has_sha256 ? scram_hash::sha256 : scram_hash::sha1, user, opt.password);
      if (auto ec = co_await write_raw(
              s, std::string("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='") +
                     scram.mechanism() + "'>" + base64_encode(scram.client_first()) + "</auth>"))
        co_return ec;
      element e;
      if (auto ec = co_await next_element(s, e)) co_return ec;
      if (e.is(ns_sasl, "failure")) co_return error::auth_failed;
      if (!e.is(ns_sasl, "challenge")) co_return error::protocol_violation;
      auto server_first = base64_decode(e.text);
      if (!server_first) co_return error::sasl_malformed;
      std::string final_msg;
      if (auto ec = scram.client_final(*server_first, final_msg)) co_return ec;
      if (auto ec = co_await write_raw(s, "<response xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>" +
                                              base64_encode(final_msg) + "</response>"))
        co_return ec;
      if (auto ec = co_await next_element(s, e)) co_return ec;
      if (e.is(ns_sasl, "failure")) co_return error::auth_failed;
      std::string server_final;
      if (e.is(ns_sasl, "challenge")) {  // some servers send v= as a challenge, then success
        auto d = base64_decode(e.text);
        if (!d) co_return error::sasl_malformed;
        server_final = *d;
        if (auto ec = co_await write_raw(s, "<response xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>"))
          co_return ec;
        if (auto ec = co_await next_element(s, e)) co_return ec;
        if (!e.is(ns_sasl, "success"))
          co_return e.is(ns_sasl, "failure") ? error::auth_failed : error::protocol_violation;
      } else if (e.is(ns_sasl, "success")) {
        auto d = base64_decode(e.text);
        if (!d) co_return error::sasl_malformed;
        server_final = *d;
      } else {
        co_return error::protocol_violation;
      }
      co_return scram.verify_server_final(server_final);
    }
    if (has_plain && opt.allow_plain && s->tls) {
      if (auto ec = co_await write_raw(
              s, "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>" +
                     base64_encode(sasl_plain_message(user, opt.password)) + "</auth>"))
        co_return ec;
      element e;
      if (auto ec = co_await next_element(s, e)) co_return ec;
      if (e.is(ns_sasl, "success")) co_return std::error_code{};
      co_return e.is(ns_sasl, "failure") ? error::auth_failed : error::protocol_violation;
    }
    co_return error::no_usable_mechanism;
  }

  asio::awaitable<std::error_code> login(std::shared_ptr<session> s, bool& resumed) {
    resumed = false;
    element features;
    if (!s->direct_tls) {
      if (auto ec = co_await open_stream(s, features)) co_return ec;
      if (features.child(ns_tls, "starttls") == nullptr) {
        s->close(error::tls_unavailable);
        co_return error::tls_unavailable;
      }
      if (auto ec = co_await write_raw(s, "<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>"))
        co_return ec;
      element e;
      if (auto ec = co_await next_element(s, e)) co_return ec;
      if (!e.is(ns_tls, "proceed")) {
        s->close(error::tls_refused);
        co_return error::tls_refused;
      }
      if (!s->inbox.empty())
        co_return error::protocol_violation;  // bytes after <proceed/>: injection
    }
    if (auto ec = co_await tls_handshake(s)) co_return ec;
    if (auto ec = co_await open_stream(s, features)) co_return ec;
    if (auto ec = co_await authenticate(s, features)) {
      s->close(ec);
      co_return ec;
    }
    if (auto ec = co_await open_stream(s, features)) co_return ec;
    bool sm_offered = opt.stream_management && features.child(ns_sm, "sm") != nullptr;

    if (sm_offered && sm_resumable && !sm_id.empty()) {
      if (auto ec =
              co_await write_raw(s, "<resume xmlns='urn:xmpp:sm:3' h='" + std::to_string(h_in) +
                                        "' previd='" + xml_escape(sm_id) + "'/>"))
        co_return ec;
      element e;
      if (auto ec = co_await next_element(s, e)) co_return ec;
      if (e.is(ns_sm, "resumed")) {
        handle_ack(e);
        resumed = true;
        co_return std::error_code{};
      }
      if (!e.is(ns_sm, "failed")) co_return error::protocol_violation;
    }
    reset_sm();

    if (features.child(ns_bind, "bind") == nullptr) co_return error::protocol_violation;
    if (auto ec = co_await write_raw(
            s,
            "<iq type='set' id='bind1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'>"
            "<resource>" +
                xml_escape(opt.resource) + "</resource></bind></iq>"))
      co_return ec;
    element e;
    if (auto ec = co_await next_element(s, e)) co_return ec;
    const std::string* type = e.attribute("type");
    const element* bind = e.child(ns_bind, "bind");
    const element* jid = bind != nullptr ? bind->child("", "jid") : nullptr;
    if (!e.is(ns_client, "iq") || type == nullptr || *type != "result" || jid == nullptr ||
        jid->text.empty())
      co_return error::bind_failed;
    full_jid = jid->text;

    if (sm_offered) {
      if (auto ec = co_await write_raw(s, "<enable xmlns='urn:xmpp:sm:3' resume='true'/>"))
        co_return ec;
      if (auto ec = co_await next_element(s, e)) co_return ec;
      if (e.is(ns_sm, "enabled")) {
        sm_enabled = true;
        const std::string* id = e.attribute("id");
        const std::string* res = e.attribute("resume");
        sm_id = id != nullptr ? *id : std::string{};
        sm_resumable = res != nullptr && (*res == "true" || *res == "1") && !sm_id.empty();
      } else if (!e.is(ns_sm, "failed")) {
        co_return error::protocol_violation;
      }
    }
    co_return std::error_code{};
  }

  void reset_sm() {
    sm_enabled = false;
    sm_id.clear();
    sm_resumable = false;
    h_in = 0;
    out_acked = 0;
    unacked.clear();
  }

  void handle_ack(const element& e) {
    const std::string* h = e.attribute("h");
    if (h == nullptr) return;
    std::uint32_t n = 0;
    auto [p, ec] = std::from_chars(h->data(), h->data() + h->size(), n);
    if (ec != std::errc{}) return;
    std::uint32_t delta = n - out_acked;  // modulo 2^32 (XEP-0198 §5)
    if (delta > unacked.size()) delta = static_cast<std::uint32_t>(unacked.size());
    for (std::uint32_t i = 0; i < delta; ++i) unacked.pop_front();
    out_acked = n;
  }

  // ---------------------------------------------------------------- ready
  void enqueue(const std::shared_ptr<session>& s, std::string stanza) {
    s->outq.push_back(std::move(stanza));
    s->write_signal.cancel();
  }

  asio::awaitable<void> writer(std::shared_ptr<session> s) {
    while (!s->closed) {
      if (s->outq.empty()) {
        // Ask for a stream-management ack once several stanzas wait for one; a lone stanza is
        // covered by the next keep-alive <r/> (end-to-end receipts do not depend on it).
        if (sm_enabled && unacked.size() >= sm_request_after && !s->r_pending) {
          s->r_pending = true;
          if (co_await write_raw(s, "<r xmlns='urn:xmpp:sm:3'/>")) co_return;
          continue;
        }
        s->write_signal.expires_at(asio::steady_timer::time_point::max());
        co_await s->write_signal.async_wait(nothrow);
        continue;
      }
      // Coalesce queued stanzas into one write.
      std::string chunk;
      while (!s->outq.empty() && chunk.size() < std::size_t{256} * 1024) {
        chunk += s->outq.front();
        s->outq.pop_front();
      }
      if (co_await write_raw(s, std::move(chunk))) co_return;
      if (s->outq.empty() && s->close_after_flush) {
        s->close(error::stopped);
        co_return;
      }
    }
  }

  asio::awaitable<void> keepalive(std::shared_ptr<session> s) {
    auto interval = std::max<std::chrono::milliseconds>(opt.keepalive_interval, 10ms);
    while (!s->closed) {
      s->keepalive.expires_after(std::min<std::chrono::milliseconds>(interval, 1000ms));
      co_await s->keepalive.async_wait(nothrow);
      if (s->closed) co_return;
      auto now = std::chrono::steady_clock::now();
      if (now - s->last_rx > opt.idle_timeout) {
        s->close(error::timeout);
        co_return;
      }
      if (now - s->last_tx >= interval && s->outq.empty() && !s->r_pending) {
        // Under stream management an <r/> also proves the server is alive; else whitespace.
        if (sm_enabled) s->r_pending = true;
        enqueue(s, sm_enabled ? "<r xmlns='urn:xmpp:sm:3'/>" : " ");
        s->last_tx = now;
      }
    }
  }

  void answer_iq(const std::shared_ptr<session>& s, const element& iq) {
    const std::string* type = iq.attribute("type");
    if (type == nullptr || (*type != "get" && *type != "set")) return;
    const std::string* id = iq.attribute("id");
    const std::string* from = iq.attribute("from");
    std::string head = "<iq type='";
    std::string tail = "' id='" + xml_escape(id != nullptr ? *id : "") + "'" +
                       (from != nullptr ? " to='" + xml_escape(*from) + "'" : std::string{});
    bool known = iq.child("urn:xmpp:ping", "ping") != nullptr ||
                 (*type == "set" && iq.child("jabber:iq:roster", "query") != nullptr);
    if (known)
      send_stanza(s, head + "result" + tail + "/>");
    else
      send_stanza(s, head + "error" + tail +
                         "><error type='cancel'><service-unavailable "
                         "xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>"
                         "</error></iq>");
  }

  void send_stanza(const std::shared_ptr<session>& s, std::string stanza) {
    if (sm_enabled) unacked.push_back(stanza);
    enqueue(s, std::move(stanza));
  }

  asio::awaitable<std::error_code> serve(std::shared_ptr<session> s) {
    auto self = shared_from_this();
    s->parser->set_skip_oversized(true);
    asio::co_spawn(ex, writer(s), asio::detached);
    asio::co_spawn(ex, keepalive(s), asio::detached);
    for (;;) {
      element e;
      std::error_code ec = co_await next_element(s, e);
      for (std::size_t bytes : s->oversized) {
        if (sm_enabled) ++h_in;  // it was a stanza: acknowledge it so it is not re-delivered
        if (ev.on_oversized && !stopped) ev.on_oversized(bytes);
      }
      s->oversized.clear();
      if (ec) co_return ec;
      if (stopped) co_return error::stopped;
      if (e.ns == ns_sm) {
        if (e.name == "r") {
          enqueue(s, "<a xmlns='urn:xmpp:sm:3' h='" + std::to_string(h_in) + "'/>");
        } else if (e.name == "a") {
          s->r_pending = false;
          handle_ack(e);
          s->write_signal.cancel();
        }
        continue;
      }
      if (e.ns != ns_client) continue;  // unknown nonzas are ignored
      if (sm_enabled) ++h_in;
      if (e.name == "iq") {
        const std::string* type = e.attribute("type");
        if (type != nullptr && (*type == "get" || *type == "set")) {
          answer_iq(s, e);
          continue;
        }
      }
      if (ev.on_stanza) ev.on_stanza(e);
    }
  }

  // ---------------------------------------------------------------- the loop
  asio::awaitable<std::error_code> attempt(std::shared_ptr<session> s) {
    if (ssl_setup_error) co_return ssl_setup_error;
    std::error_code ec = co_await connect_to(s, opt.port);
    if (ec && opt.direct_tls_port != 0 && !stopped) {
      // The STARTTLS port cannot be reached: fall back to direct TLS on a fresh socket.
      auto fallback = std::make_shared<session>(ex, ssl_ctx, opt.limits);
      cur = fallback;
      s = fallback;
      s->direct_tls = true;
      ec = co_await connect_to(s, opt.direct_tls_port);
    }
    if (ec) {
      s->close(ec);
      co_return ec;
    }
    s->deadline.expires_after(opt.login_timeout);
    s->deadline.async_wait([s](std::error_code e) {
      if (!e) s->close(error::timeout);
    });
    bool resumed = false;
    ec = co_await login(s, resumed);
    s->deadline.cancel();
    if (!ec && s->closed) ec = s->close_reason ? s->close_reason : make_error_code(error::timeout);
    if (ec) {
      s->close(ec);
      co_return ec;
    }
    if (stopped) co_return error::stopped;
    set_state(connection_state::ready);
    // Resend what the server did not acknowledge before the break (XEP-0198 §5).
    if (resumed) {
      std::deque<std::string> again;
      again.swap(unacked);
      for (auto& stanza : again) send_stanza(s, std::move(stanza));
    }
    last_err = {};
    if (ev.on_ready) ev.on_ready(resumed);
    co_return co_await serve(s);
  }

  asio::awaitable<void> run() {
    auto self = shared_from_this();
    auto wait = opt.backoff_initial;
    while (!stopped) {
      set_state(connection_state::connecting);
      auto s = std::make_shared<session>(ex, ssl_ctx, opt.limits);
      cur = s;
      auto started = std::chrono::steady_clock::now();
      std::error_code ec = co_await attempt(s);
      bool was_ready = st == connection_state::ready;
      if (cur) cur->close(ec ? ec : make_error_code(error::stream_closed));
      cur.reset();
      if (stopped) break;
      last_err = ec;
      set_state(connection_state::disconnected);
      if (ev.on_down) ev.on_down(ec);
      if (stopped || !retry) break;
      // A session that stayed up a while resets the backoff.
      if (was_ready && std::chrono::steady_clock::now() - started > 30s) wait = opt.backoff_initial;
      std::uniform_int_distribution<long long> pick(wait.count() / 2,
                                                    std::max<long long>(wait.count(), 1));
      set_state(connection_state::backoff);
      backoff_timer.expires_after(std::chrono::milliseconds(pick(rng)));
      co_await backoff_timer.async_wait(nothrow);
      wait = std::min(wait * 2, opt.backoff_max);
    }
    set_state(connection_state::stopped);
    finished = true;
  }
};

xmpp_connection::xmpp_connection(asio::any_io_executor executor, xmpp_options options,
                                 connection_events events)
    : impl_(std::make_shared<impl>(std::move(executor), std::move(options), std::move(events))) {}

xmpp_connection::~xmpp_connection() {
  stop();
}

void xmpp_connection::start(bool retry) {
  impl_->retry = retry;
  impl_->stopped = false;
  impl_->finished = false;
  asio::co_spawn(impl_->ex, impl_->run(), asio::detached);
}

void xmpp_connection::stop() {
  if (!impl_ || impl_->stopped) return;
  impl_->stopped = true;
  impl_->backoff_timer.cancel();
  auto s = impl_->cur;
  if (!s || s->closed) return;
  if (impl_->st == connection_state::ready) {
    // Leave cleanly: unavailable presence and the stream's end, so the server ends the session
    // at once (no stream-management hibernation) and contacts see us go. Bounded at 1 s.
    s->close_after_flush = true;
    impl_->enqueue(s, "<presence type='unavailable'/></stream:stream>");
    s->deadline.expires_after(std::chrono::seconds(1));
    s->deadline.async_wait([s](boost::system::error_code ec) {
      if (!ec) s->close(error::stopped);
    });
  } else {
    s->close(error::stopped);
  }
  impl_->st = connection_state::stopped;
}

bool xmpp_connection::send(std::string stanza) {
  if (impl_->st != connection_state::ready || !impl_->cur || impl_->cur->closed) return false;
  impl_->send_stanza(impl_->cur, std::move(stanza));
  return true;
}

connection_state xmpp_connection::state() const noexcept {
  return impl_->st;
}
const std::string& xmpp_connection::full_jid() const noexcept {
  return impl_->full_jid;
}
std::uint64_t xmpp_connection::bytes_sent() const noexcept {
  return impl_->tx_bytes;
}
std::uint64_t xmpp_connection::bytes_received() const noexcept {
  return impl_->rx_bytes;
}
std::error_code xmpp_connection::last_error() const noexcept {
  return impl_->last_err;
}
bool xmpp_connection::finished() const noexcept {
  return impl_->finished;
}
bool xmpp_connection::direct_tls() const noexcept {
  return impl_->cur && impl_->cur->direct_tls;
}
std::size_t xmpp_connection::unacked_stanzas() const noexcept {
  return impl_->unacked.size();
}

}  // namespace fleetpoll::uplink
