// fleetpoll::web::basic_auth — HTTP basic authentication for the status page (RFC 7617).
//
// The password is never stored: the configuration holds a PBKDF2-HMAC-SHA256 hash in the form
//   pbkdf2-sha256$<iterations>$<salt as hex>$<derived key as hex>
// (docs/status-page.md shows a one-line python3 command that makes one). A check decodes the
// "Basic" credentials, compares the user in constant time and derives the key from the password
// with the stored salt and iterations (OpenSSL PKCS5_PBKDF2_HMAC), compared in constant time.
//
// Cost control: PBKDF2 is slow on purpose, and the page runs on the engine's I/O thread. A
// successful Authorization header is remembered (its SHA-256, up to 16 of them) so a browser's
// following requests cost one hash; failed checks are limited to max_failures_per_second — more
// are refused without deriving anything (status 429), so wrong passwords cannot stall the engine.
//
// Thread safety: check() may be called from any thread (a mutex guards the cache and the limit).
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace fleetpoll::web {

struct basic_auth_options {
  // User name the page asks for. Default: "" (no authentication).
  std::string user;
  // pbkdf2-sha256$<iterations>$<salt hex>$<hash hex>; iterations 1000..10,000,000, salt at least
  // 8 bytes, hash 32 bytes. Default: "" (no authentication).
  std::string password_hash;
  // Realm sent in WWW-Authenticate. Default: "fleetpoll"
  std::string realm = "fleetpoll";
  // Failed checks per second that are evaluated; more get 429 without a key derivation.
  // Default: 5
  unsigned max_failures_per_second = 5;

  bool enabled() const noexcept { return !user.empty() || !password_hash.empty(); }
};

// Makes a password_hash (for tests and tools). Salt: 16 random bytes from OpenSSL.
std::string make_password_hash(std::string_view password, unsigned iterations = 100'000);

class basic_auth {
 public:
  enum class verdict { allowed, denied, throttled };

  // Errors: invalid_password_hash, invalid_options (a user without a hash or the reverse).
  static std::error_code create(const basic_auth_options& options, std::optional<basic_auth>& out);

  // `authorization`: the Authorization header's value, absent when the request had none.
  // `now` is injectable for tests.
  verdict check(std::optional<std::string_view> authorization,
                std::chrono::steady_clock::time_point now = std::chrono::steady_clock::now());

  // The WWW-Authenticate value to send with a 401.
  std::string challenge() const;

  basic_auth(basic_auth&& other) noexcept;
  basic_auth& operator=(basic_auth&&) = delete;
  basic_auth(const basic_auth&) = delete;

 private:
  basic_auth() = default;
  std::string user_;
  std::string realm_;
  unsigned iterations_ = 0;
  std::vector<unsigned char> salt_, key_;
  unsigned max_failures_ = 5;
  std::mutex mutex_;
  std::deque<std::string> accepted_;                            // SHA-256 of accepted headers
  std::deque<std::chrono::steady_clock::time_point> failures_;  // in the last second
};

}  // namespace fleetpoll::web
