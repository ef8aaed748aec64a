// fleetpoll::web::error — the one error enum of the web module (status page, supply gauges).
// Codes are stable: never renumber, only append.
// Thread safety: the category is a function-local static; safe from any thread.
#pragma once

#include <system_error>

namespace fleetpoll::web {

enum class error {
  ok = 0,
  not_found = 1,          // a status_source has no device with that id
  auth_required,          // the page would listen beyond loopback without basic auth
  auth_unsupported,       // basic auth configured, but the HTTP server passes no credentials
  invalid_password_hash,  // basic_auth_options::password_hash is not "pbkdf2-sha256$..."
  invalid_options,        // page_size 0 or over 1000, empty auth user with a hash, ...
  source_unavailable,     // a status_source could not read its data (storage error)
};

const std::error_category& web_category() noexcept;

inline std::error_code make_error_code(error e) noexcept {
  return {static_cast<int>(e), web_category()};
}

}  // namespace fleetpoll::web

template <>
struct std::is_error_code_enum<fleetpoll::web::error> : std::true_type {};
