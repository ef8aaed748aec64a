// fleetpoll::engine::error — the one error enum of the engine module (polling, walking, I/O).
//
// Codes are stable: only append. Thread safety: the category is a function-local static.
#pragma once

#include <system_error>

namespace fleetpoll::engine {

enum class error {
  ok = 0,
  timeout = 1,       // no reply after every retry
  cancelled,         // the request or walk was cancelled (shutdown, caller)
  send_failed,       // the socket refused the datagram on every attempt
  decode_failed,     // a reply matched the request but did not decode
  agent_error,       // the agent answered with an error-status (see the response)
  too_big,           // the agent answered tooBig even for the smallest request
  report,            // the agent answered with a Report PDU (wrong version/community for v3)
  device_busy,       // the device already has its maximum outstanding requests
  walk_loop,         // a table walk stopped: the agent repeated or went backwards
  walk_runaway,      // a table walk stopped: more rows than the per-column cap
  bad_target,        // an address fleetpoll refuses to poll (unspecified, multicast, ...)
  socket_error,      // opening or binding the UDP socket failed
  bad_config,        // the configuration was rejected (see config_error for field and reason)
  unresolved_host,   // a host name did not resolve to any address
  interrupted,       // the operation was stopped by a signal or a time limit
  no_progress,       // a walk got replies that added nothing (empty or exception-only)
  version_mismatch,  // the reply's SNMP version differs from the request's
};

const std::error_category& engine_category() noexcept;

inline std::error_code make_error_code(error e) noexcept {
  return {static_cast<int>(e), engine_category()};
}

}  // namespace fleetpoll::engine

template <>
struct std::is_error_code_enum<fleetpoll::engine::error> : std::true_type {};
