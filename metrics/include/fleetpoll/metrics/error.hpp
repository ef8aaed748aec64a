// fleetpoll::metrics::error — the one error enum of the metrics module.
//
// Failures at the module boundary (starting the HTTP server, registering a route) are reported as
// a std::error_code made from this enum, or, for socket failures such as "address in use", as the
// operating system's own error_code passed through unchanged. Codes are stable: never renumber,
// only append.
// Thread safety: the category is a function-local static; safe from any thread.
#pragma once

#include <system_error>

namespace fleetpoll::metrics {

enum class error {
  ok = 0,
  invalid_address = 1,  // http_server_options::address is not a numeric IPv4/IPv6 address
  already_started,      // start() called twice, or add_route()/set_health_check() after start()
  stopped,              // start() after stop(): a server object is started at most once
  invalid_route,        // a route path that is empty or does not begin with '/'
  duplicate_route,      // a route path that is already registered (including /metrics, /healthz)
};

const std::error_category& metrics_category() noexcept;

inline std::error_code make_error_code(error e) noexcept {
  return {static_cast<int>(e), metrics_category()};
}

}  // namespace fleetpoll::metrics

template <>
struct std::is_error_code_enum<fleetpoll::metrics::error> : std::true_type {};
