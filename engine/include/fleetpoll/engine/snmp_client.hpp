// fleetpoll::engine::snmp_client — many concurrent SNMP requests over one UDP socket per family.
//
// Each attempt of a request is encoded with a fresh request-id; a reply to ANY attempt of a
// request completes it (slow agents often answer the first try late). Replies are matched by
// (source address, request-id): a reply from another address is dropped and counted
// (drop_unknown_source) unless the peer opts in (`accept_any_source`, for agents that answer from
// a second interface). A second reply to a request already answered is counted as a duplicate, a
// reply after the request timed out or was cancelled as late; both are ignored. A reply that
// matches but does not decode is counted (drop_malformed) and the request keeps waiting for a
// good one; only if none comes does it end with decode_failed.
//
// Timeouts adapt per peer (rtt_estimator, limits in client_options::rtt); attempt k waits
// timeout·backoff^k with ±jitter, capped at rtt.max·backoff^k. Every send passes the
// rate_limiter (device gap, subnet cap, global cap). At most `max_outstanding` requests per peer
// (default 1): one more fails at once with device_busy.
//
// Ownership: the client owns its sockets and pending requests. `peer` objects are owned by the
// caller and must outlive every request issued for them (cancel(&peer) first to drop them
// early); the community a peer points at must outlive it too.
// Thread safety: none; one client per io_context thread (a shard). Completions run on that
// thread, never inside async_request(); cancel() runs the cancelled completions before it returns.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string_view>
#include <system_error>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/udp.hpp>

#include "fleetpoll/codecs/snmp_codec.hpp"
#include "fleetpoll/engine/error.hpp"
#include "fleetpoll/engine/latency_histogram.hpp"
#include "fleetpoll/engine/rate_limiter.hpp"
#include "fleetpoll/engine/rtt_estimator.hpp"
#include "fleetpoll/engine/udp_transport.hpp"

namespace fleetpoll::engine {

// What the client keeps per polled device (72 bytes). Owned by the caller (the device table).
struct peer {
  boost::asio::ip::udp::endpoint address;
  std::string_view community = "public";              // not owned; never logged
  std::chrono::steady_clock::time_point last_send{};  // managed by the client (rate limiting)
  rtt_estimator rtt{};                                // managed by the client
  codecs::snmp_version version = codecs::snmp_version::v2c;
  bool accept_any_source = false;  // accept replies from any address (opt-in, per device)
  std::uint8_t outstanding = 0;    // managed by the client
};

struct client_options {
  int retries = 2;                    // Default: 2 retries after the first attempt
  double backoff = 2.0;               // Default: each retry waits 2x longer
  double jitter = 0.1;                // Default: ±10 % random spread on each wait
  std::uint32_t max_outstanding = 1;  // Default: one request in flight per device
  rtt_limits rtt{};                   // Default: initial 1 s, min 50 ms, max 5 s
  rate_limits rate{};                 // Default: see rate_limits
  udp_transport::options transport{};
  // Local endpoints. Default: 0.0.0.0:0 (IPv4); [::]:0 (IPv6, opened on the first IPv6 peer).
  boost::asio::ip::udp::endpoint bind_v4{boost::asio::ip::address_v4::any(), 0};
  boost::asio::ip::udp::endpoint bind_v6{boost::asio::ip::address_v6::any(), 0};
  std::uint64_t seed = 0x5eed;  // Default: fixed; jitter and the first request-id
};

// The request to send: the codec request minus what the client fills in (version, community,
// request-id come from the peer and the client).
struct request_spec {
  codecs::pdu_type type = codecs::pdu_type::get;
  std::vector<codecs::oid> names;
  std::int32_t non_repeaters = 0;
  std::int32_t max_repetitions = 10;
  // Retries for this request: -1 = client_options::retries, else min(that, max_retries).
  int max_retries = -1;
  // For a device whose version is not known yet (GET and GETNEXT only): the last attempt (when
  // there are at least two) uses the other version (v1 for a v2c peer). The reply's version says
  // which one the agent speaks. The last rather than every other attempt, so that a lost v2c
  // packet does not make a v2c agent look like a v1-only one.
  bool alternate_version = false;
  // The first attempt waits as attempt number `backoff_start` would (a caller re-sending after a
  // timeout keeps backing off).
  std::uint32_t backoff_start = 0;
  // Called on the client's thread when an attempt of this request timed out unanswered and the
  // next attempt has been scheduled (not after the last attempt: the completion reports that).
  // The caller learns that the request now only waits on a silent device (the engine lets such
  // a poll leave its slot). It may issue or cancel other requests; it must not cancel this one.
  // Keep the callable small and trivially copyable (a pointer and an id): the client copies it
  // before the call, and one that fits std::function's inline buffer costs no allocation.
  // Default: none.
  std::function<void()> on_attempt_timeout;
};

// What one request did (for metrics, byte accounting and adaptive walking).
struct request_stats {
  std::uint32_t attempts = 0;           // datagrams sent
  std::size_t bytes_sent = 0;           // UDP payload bytes of every attempt
  std::size_t reply_bytes = 0;          // UDP payload bytes of the reply that completed it
  std::chrono::microseconds rtt{0};     // reply time relative to the attempt it answered
  std::chrono::microseconds waited{0};  // time spent waiting for the rate limiter
};

using completion =
    std::function<void(std::error_code ec, codecs::snmp_response&& response, const request_stats&)>;

class snmp_client {
 public:
  struct counters {
    std::uint64_t requests = 0, completed_ok = 0, timeouts = 0, decode_errors = 0, agent_errors = 0,
                  send_errors = 0, cancelled = 0, refused = 0;  // refused: bad_target, device_busy
    std::uint64_t retries = 0;
    std::uint64_t rate_waits_device = 0, rate_waits_subnet = 0, rate_waits_global = 0;
    std::uint64_t drop_unknown_source = 0, drop_unknown_request = 0, drop_duplicate = 0,
                  drop_late = 0, drop_malformed = 0;

    counters& operator+=(const counters& o) noexcept;  // adds every counter
  };

  snmp_client(boost::asio::io_context& io, const client_options& opts);
  // Cancels what is pending (completions run with `cancelled`) and closes the sockets.
  ~snmp_client();
  snmp_client(const snmp_client&) = delete;
  snmp_client& operator=(const snmp_client&) = delete;

  // Opens the IPv4 socket (IPv6 opens on the first IPv6 peer). Call once before requests.
  std::error_code open();
  boost::asio::ip::udp::endpoint local_endpoint_v4() const;

  // Issues a request; `done` runs exactly once on the io_context (never inside this call).
  // Errors: timeout, decode_failed, agent_error (response holds error_status/index), report,
  // device_busy, send_failed, cancelled, bad_target, and codecs::error::invalid_request.
  void async_request(peer& p, request_spec spec, completion done);

  // Completes every pending request of `p` (or all, with nullptr) with `cancelled`, now.
  void cancel(const peer* p = nullptr);

  std::size_t in_flight() const noexcept;
  const counters& stats() const noexcept;
  // Latency of every request that got an answer: first send to the reply (retries included).
  const latency_histogram& latencies() const noexcept;
  // Transport counters, IPv4 and IPv6 sockets added up.
  udp_transport::stats transport_stats() const noexcept;
  const client_options& options() const noexcept;

  // Takes new retry, timeout, backoff and rate-limit settings (a configuration reload); requests
  // in flight keep the schedule they have. The sockets (transport, bind addresses) stay as they
  // are. The rate limiter starts afresh under the new caps.
  void reconfigure(const client_options& o);

 private:
  struct impl;  // shared with in-flight handlers
  std::shared_ptr<impl> impl_;
};

}  // namespace fleetpoll::engine
