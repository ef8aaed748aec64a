#include "fleetpoll/web/basic_auth.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <charconv>
#include <stdexcept>

#include "fleetpoll/web/error.hpp"

namespace fleetpoll::web {

namespace {

constexpr std::string_view scheme = "pbkdf2-sha256";
constexpr std::size_t key_bytes = 32;
constexpr std::size_t cache_size = 16;
constexpr unsigned min_iterations = 1000;
constexpr unsigned max_iterations = 10'000'000;

std::string to_hex(const unsigned char* p, std::size_t n) {
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  out.reserve(2 * n);
  for (std::size_t i = 0; i < n; ++i) {
    out.push_back(hex[p[i] >> 4]);
    out.push_back(hex[p[i] & 15u]);
  }
  return out;
}

std::optional<std::vector<unsigned char>> from_hex(std::string_view s) {
  if (s.size() % 2 != 0) return std::nullopt;
  std::vector<unsigned char> out;
  for (std::size_t i = 0; i < s.size(); i += 2) {
    unsigned v = 0;
    const auto r = std::from_chars(s.data() + i, s.data() + i + 2, v, 16);
    if (r.ec != std::errc{} || r.ptr != s.data() + i + 2) return std::nullopt;
    out.push_back(static_cast<unsigned char>(v));
  }
  return out;
}

std::vector<unsigned char> derive(std::string_view password, const std::vector<unsigned char>& salt,
                                  unsigned iterations) {
  std::vector<unsigned char> key(key_bytes);
  if (PKCS5_PBKDF2_HMAC(password.data(), static_cast<int>(password.size()), salt.data(),
                        static_cast<int>(salt.size()), static_cast<int>(iterations), EVP_sha256(),
                        static_cast<int>(key.size()), key.data()) != 1)
    key.clear();
  return key;
}

// Standard base64 (RFC 4648 §4) with padding; nullopt on anything else.
std::optional<std::string> base64_decode(std::string_view in) {
  if (in.empty() || in.size() % 4 != 0 || in.size() > 4096) return std::nullopt;
  std::string out(in.size() / 4 * 3, '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(in.data()),
                                static_cast<int>(in.size()));
  if (n < 0) return std::nullopt;
  std::size_t len = static_cast<std::size_t>(n);
  // EVP_DecodeBlock counts padding as zero bytes.
  if (in.back() == '=') --len;
  if (in[in.size() - 2] == '=') --len;
  out.resize(len);
  return out;
}

std::string sha256_hex(std::string_view s) {
  unsigned char d[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(s.data()), s.size(), d);
  return to_hex(d, sizeof d);
}

bool equal_ct(std::string_view a, std::string_view b) {
  // Compare the user names in constant time for equal lengths; a length difference leaks only
  // the length.
  if (a.size() != b.size()) return false;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace

std::string make_password_hash(std::string_view password, unsigned iterations) {
  std::vector<unsigned char> salt(16);
  if (RAND_bytes(salt.data(), static_cast<int>(salt.size())) != 1)
    throw std::runtime_error("RAND_bytes failed");
  const auto key = derive(password, salt, iterations);
  if (key.empty()) throw std::runtime_error("PBKDF2 failed");
  return std::string(scheme) + "$" + std::to_string(iterations) + "$" +
         to_hex(salt.data(), salt.size()) + "$" + to_hex(key.data(), key.size());
}

std::error_code basic_auth::create(const basic_auth_options& o, std::optional<basic_auth>& out) {
  out.reset();
  if (o.user.empty() || o.password_hash.empty() || o.user.find(':') != std::string::npos)
    return error::invalid_options;
  // pbkdf2-sha256$<iterations>$<salt>$<key>
  std::string_view h = o.password_hash;
  std::string_view parts[4];
  for (int i = 0; i < 4; ++i) {
    const auto d = h.find('$');
    if ((d == std::string_view::npos) != (i == 3)) return error::invalid_password_hash;
    parts[i] = h.substr(0, d);
    if (d != std::string_view::npos) h = h.substr(d + 1);
  }
  if (parts[0] != scheme) return error::invalid_password_hash;
  unsigned iterations = 0;
  const auto r = std::from_chars(parts[1].data(), parts[1].data() + parts[1].size(), iterations);
  if (r.ec != std::errc{} || r.ptr != parts[1].data() + parts[1].size() ||
      iterations < min_iterations || iterations > max_iterations)
    return error::invalid_password_hash;
  auto salt = from_hex(parts[2]);
  auto key = from_hex(parts[3]);
  if (!salt || salt->size() < 8 || !key || key->size() != key_bytes)
    return error::invalid_password_hash;
  basic_auth a;
  a.user_ = o.user;
  a.realm_ = o.realm;
  a.iterations_ = iterations;
  a.salt_ = std::move(*salt);
  a.key_ = std::move(*key);
  a.max_failures_ = o.max_failures_per_second;
  out.emplace(std::move(a));
  return {};
}

basic_auth::basic_auth(basic_auth&& other) noexcept
    : user_(std::move(other.user_)),
      realm_(std::move(other.realm_)),
      iterations_(other.iterations_),
      salt_(std::move(other.salt_)),
      key_(std::move(other.key_)),
      max_failures_(other.max_failures_),
      accepted_(std::move(other.accepted_)),
      failures_(std::move(other.failures_)) {}

std::string basic_auth::challenge() const {
  std::string r;
  for (const char c : realm_)
    if (c != '"' && c != '\\' && static_cast<unsigned char>(c) >= 0x20) r.push_back(c);
  return "Basic realm=\"" + r + "\", charset=\"UTF-8\"";
}

basic_auth::verdict basic_auth::check(std::optional<std::string_view> authorization,
                                      std::chrono::steady_clock::time_point now) {
  if (!authorization) return verdict::denied;
  const std::string digest = sha256_hex(*authorization);
  std::lock_guard lock(mutex_);
  for (const auto& a : accepted_)
    if (equal_ct(a, digest)) return verdict::allowed;

  while (!failures_.empty() && now - failures_.front() >= std::chrono::seconds(1))
    failures_.pop_front();
  if (failures_.size() >= max_failures_) return verdict::throttled;

  auto fail = [&] {
    failures_.push_back(now);
    return verdict::denied;
  };
  std::string_view v = *authorization;
  while (!v.empty() && v.front() == ' ') v.remove_prefix(1);
  if (v.size() < 6) return fail();
  // The scheme is case-insensitive (RFC 7617 §2).
  for (std::size_t i = 0; i < 5; ++i)
    if ((v[i] | 0x20) != "basic"[i]) return fail();
  if (v[5] != ' ') return fail();
  v.remove_prefix(6);
  while (!v.empty() && v.front() == ' ') v.remove_prefix(1);
  while (!v.empty() && v.back() == ' ') v.remove_suffix(1);
  const auto decoded = base64_decode(v);
  if (!decoded) return fail();
  const auto colon = decoded->find(':');
  if (colon == std::string::npos) return fail();
  const std::string_view user = std::string_view(*decoded).substr(0, colon);
  const std::string_view password = std::string_view(*decoded).substr(colon + 1);
  const bool user_ok = equal_ct(user, user_);
  const auto key = derive(password, salt_, iterations_);  // also for a wrong user: same cost
  const bool key_ok =
      key.size() == key_.size() && CRYPTO_memcmp(key.data(), key_.data(), key.size()) == 0;
  if (!user_ok || !key_ok) return fail();
  accepted_.push_back(digest);
  if (accepted_.size() > cache_size) accepted_.pop_front();
  return verdict::allowed;
}

}  // namespace fleetpoll::web
