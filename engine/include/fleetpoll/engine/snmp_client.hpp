// fleetpoll::engine::snmp_client — many concurrent SNMP requests over one UDP socket per family.
//
// Each request is encoded once per attempt with a fresh request-id; a reply to ANY attempt of a
// request completes it (slow agents often answer the first try late). Replies are matched by
// (source address, request-id): a reply from another address is dropped and counted unless the
// device opts in (`accept_any_source`, for agents that answer from a second interface).
// Duplicates and late replies are counted and ignored. Timeouts adapt per device (rtt_estimator);
// retries back off exponentially with jitter; every send passes the rate_limiter (device gap,
// subnet cap, global cap). At most `max_outstanding` (default 1) requests per device.
//
// Ownership: the client owns its sockets and pending requests; `device` objects are owned by the
// caller and must outlive every request issued for them (cancel() first to drop them early).
// Thread safety: none; one client per io_context thread (shard). Completions run on that thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <system_error>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/udp.hpp>

#include "fleetpoll/codecs/snmp_codec.hpp"
#include "fleetpoll/engine/error.hpp"
#include "fleetpoll/engine/rate_limiter.hpp"
#include "fleetpoll/engine/rtt_estimator.hpp"
#include "fleetpoll/engine/udp_transport.hpp"

namespace fleetpoll::engine {

// What the client keeps per polled device. Owned by the caller (the device table).
struct device {
  boost::asio::ip::udp::endpoint address;
  codecs::snmp_version version = codecs::snmp_version::v2c;
  std::string community = "public";
  bool accept_any_source = false;  // accept replies from any address (opt-in, per device)
  rtt_estimator rtt{};
  // Managed by the client:
  std::chrono::steady_clock::time_point last_send{};
  std::uint32_t outstanding = 0;
};

struct client_options {
  int retries = 2;                              // Default: 2 retries after the first attempt
  double backoff = 2.0;                         // Default: each retry waits 2x longer
  double jitter = 0.1;                          // Default: ±10 % random spread on each wait
  std::uint32_t max_outstanding = 1;            // Default: one request in flight per device
  std::size_t late_memory = 65536;              // Default: remember 65,536 finished request-ids
                                                // to tell late/duplicate replies from strays
  rate_limiter::options rate{};
  udp_transport::options transport{};
  boost::asio::ip::udp::endpoint bind_v4{boost::asio::ip::address_v4::any(), 0};  // Default: any:0
  boost::asio::ip::udp::endpoint bind_v6{boost::asio::ip::address_v6::any(), 0};  // opened on demand
  std::uint64_t seed = 0x5eed;                  // jitter and request-id start
};

// What one request did (for metrics and adaptive walking).
struct request_stats {
  std::uint32_t attempts = 0;         // datagrams sent
  std::size_t request_bytes = 0;      // bytes of the last request datagram
  std::size_t reply_bytes = 0;        // bytes of the reply that completed it (0 if none)
  std::chrono::microseconds rtt{0};   // reply time relative to the attempt it answered
  std::chrono::microseconds waited{0};  // time spent waiting for the rate limiter
};

// The request to send: the codec request minus what the client fills in (version, community,
// request-id come from the device and the client).
struct request_spec {
  codecs::pdu_type type = codecs::pdu_type::get;
  std::vector<codecs::oid> names;
  std::int32_t non_repeaters = 0;
  std::int32_t max_repetitions = 10;
};

using completion =
    std::function<void(std::error_code ec, codecs::snmp_response&& response, const request_stats&)>;

class snmp_client {
 public:
  struct counters {
    std::uint64_t requests = 0, completed_ok = 0, timeouts = 0, decode_errors = 0,
                  agent_errors = 0, send_errors = 0, cancelled = 0;
    std::uint64_t retries = 0;
    std::uint64_t rate_waits_device = 0, rate_waits_subnet = 0, rate_waits_global = 0;
    std::uint64_t drop_unknown_source = 0, drop_unknown_request = 0, drop_late = 0,
                  drop_malformed = 0;
  };

  snmp_client(boost::asio::io_context& io, const client_options& opts);
  ~snmp_client();
  snmp_client(const snmp_client&) = delete;
  snmp_client& operator=(const snmp_client&) = delete;

  // Opens the IPv4 socket (IPv6 opens on the first IPv6 device). Call once before requests.
  std::error_code open();
  boost::asio::ip::udp::endpoint local_endpoint_v4() const;

  // Issues a request; `done` runs exactly once on the io_context (never inside this call).
  // Errors: timeout, decode_failed, agent_error (response holds error_status/index), report,
  // device_busy, send_failed, cancelled, bad_target.
  void async_request(device& dev, request_spec spec, completion done);

  // Completes every pending request of `dev` (or all, with nullptr) with `cancelled`.
  void cancel(const device* dev = nullptr);

  std::size_t in_flight() const noexcept;
  const counters& stats() const noexcept;
  const udp_transport::stats& transport_stats() const noexcept;

 private:
  struct impl;  // shared with in-flight handlers
  std::shared_ptr<impl> impl_;
};

}  // namespace fleetpoll::engine
