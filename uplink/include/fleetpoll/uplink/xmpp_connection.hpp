// fleetpoll::uplink::xmpp_connection — one XMPP client session that keeps itself logged in.
//
// Connects (optionally through an HTTP CONNECT proxy), secures the stream (STARTTLS on `port`,
// or direct TLS on `direct_tls_port` when the STARTTLS port cannot be reached), verifies the
// server certificate and host name (always; no option turns it off), authenticates with SASL
// SCRAM-SHA-256, SCRAM-SHA-1 or — only when allow_plain is set — PLAIN, binds a resource, enables
// XEP-0198 stream management (acks and resumption), then reports on_ready. While ready it answers
// server pings and <r/> requests, asks for XEP-0198 acks once 8 stanzas await one, sends a
// keep-alive when idle (whitespace, or <r/> under stream management), and closes a session that has
// received nothing for idle_timeout. When a session ends it reports on_down and reconnects after an
// exponential backoff with jitter (backoff_initial doubling up to backoff_max, each wait drawn
// uniformly from [wait/2, wait]), resuming the stream-management session when the server still
// holds it.
//
// Plaintext is never used: if the server does not offer STARTTLS on the STARTTLS port, the
// attempt fails with error::tls_unavailable before anything but the stream header is sent.
// Every byte from the server goes through xml_stream_parser with the configured limits. Before
// login an oversized stanza ends the attempt; once ready it is discarded and reported
// (on_oversized) and the session goes on.
//
// Threading: the object and its callbacks live on `executor`, which must be a strand or an
// io_context run by one thread. Call every method from that executor. Callbacks never run after
// stop(). Destroying the object stops it; pending operations finish harmlessly.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <system_error>

#include <boost/asio/any_io_executor.hpp>

#include "fleetpoll/uplink/xml_stream.hpp"

namespace fleetpoll::uplink {

struct xmpp_options {
  // The account, "user@domain". Required.
  std::string jid;
  // The account's password. Required. Never logged.
  std::string password;
  // Resource to bind. Default: "fleetpoll"
  std::string resource = "fleetpoll";
  // Server address to connect to (name or IP literal). Default: "" = the JID's domain.
  std::string host;
  // STARTTLS port. Default: 5222
  std::uint16_t port = 5222;
  // Direct-TLS (XEP-0368 style) fallback port, tried when `port` cannot be reached; 0 = none.
  // Default: 443
  std::uint16_t direct_tls_port = 443;
  // PEM file of CA certificates to trust instead of the system store. Default: "" (system store)
  std::string ca_file;
  // Name the server certificate must carry (and SNI). Default: "" = the JID's domain.
  std::string tls_server_name;
  // Allow SASL PLAIN (still only inside TLS) when no SCRAM mechanism is offered. Default: false
  bool allow_plain = false;
  // HTTP CONNECT proxy "host:port". Default: "" (connect directly)
  std::string proxy;
  // "user:password" for the proxy's Basic authentication. Default: "" (none)
  std::string proxy_credentials;
  // TCP connect (per address, per port), including the proxy's answer. Default: 10 s
  std::chrono::milliseconds connect_timeout{10'000};
  // From TCP connected to on_ready. Default: 20 s
  std::chrono::milliseconds login_timeout{20'000};
  // Send a keep-alive after this long without sending: an XEP-0198 <r/> (the server answers, which
  // proves the session alive), or a whitespace without stream management. Default: 120 s
  std::chrono::milliseconds keepalive_interval{120'000};
  // Close a session that received nothing for this long. Default: 360 s
  std::chrono::milliseconds idle_timeout{360'000};
  // First reconnect wait; doubles per failed attempt up to backoff_max. Default: 500 ms
  std::chrono::milliseconds backoff_initial{500};
  // Default: 60 s
  std::chrono::milliseconds backoff_max{60'000};
  // Use XEP-0198 when the server offers it. Default: true
  bool stream_management = true;
  // Limits applied to everything the server sends.
  xml_limits limits;
};

enum class connection_state { disconnected, connecting, ready, backoff, stopped };
const char* label(connection_state s) noexcept;

// Why a session ended, for metrics: TLS (handshake, verification), authentication, or other.
enum class failure_kind { none, connect, tls, auth, proxy, protocol, closed };
failure_kind classify(std::error_code ec) noexcept;

struct connection_events {
  // Logged in (resumed: the stream-management session was resumed, nothing was lost).
  std::function<void(bool resumed)> on_ready;
  // The session ended (a reconnect follows unless stopped).
  std::function<void(std::error_code why)> on_down;
  // A <message/>, <presence/> or <iq/> (not answered by the connection itself) while ready.
  std::function<void(const element& stanza)> on_stanza;
  // Every state change.
  std::function<void(connection_state)> on_state;
  // While ready, a stanza over limits.max_stanza_bytes was discarded (it counts as handled for
  // XEP-0198, so the server does not deliver it again); argument: its size in bytes.
  std::function<void(std::size_t bytes)> on_oversized;
};

class xmpp_connection {
 public:
  xmpp_connection(boost::asio::any_io_executor executor, xmpp_options options,
                  connection_events events);
  ~xmpp_connection();
  xmpp_connection(const xmpp_connection&) = delete;
  xmpp_connection& operator=(const xmpp_connection&) = delete;

  // Starts connecting; keeps reconnecting until stop(). With retry == false the first failure
  // or session end stops the connection (tests of a single login attempt).
  void start(bool retry = true);
  // Stops reconnecting. A ready session leaves cleanly (unavailable presence, </stream:stream>,
  // then close; at most 1 s) while the executor keeps running; finished() turns true after.
  void stop();
  // True before start() and once the connection has stopped and closed its socket.
  bool finished() const noexcept;

  // Queues a complete stanza for sending. Returns false (and drops it) when not ready.
  bool send(std::string stanza);

  connection_state state() const noexcept;
  // The bound full JID ("user@domain/resource") once ready.
  const std::string& full_jid() const noexcept;
  // Application bytes written / read on the XMPP stream (before TLS), all sessions together.
  std::uint64_t bytes_sent() const noexcept;
  std::uint64_t bytes_received() const noexcept;
  // Why the last session ended or the last attempt failed.
  std::error_code last_error() const noexcept;
  // True when the current session uses direct TLS (the fallback port).
  bool direct_tls() const noexcept;
  // Stanzas sent and not yet acknowledged by the server (XEP-0198); 0 without it.
  std::size_t unacked_stanzas() const noexcept;

 private:
  struct impl;
  std::shared_ptr<impl> impl_;
};

// The domain part of "user@domain/resource"; the local part; the bare JID.
std::string jid_domain(const std::string& jid);
std::string jid_local(const std::string& jid);
std::string jid_bare(const std::string& jid);

}  // namespace fleetpoll::uplink
