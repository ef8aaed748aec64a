#include "fleetpoll/uplink/sasl.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <array>
#include <charconv>
#include <vector>

#include "fleetpoll/uplink/error.hpp"

namespace fleetpoll::uplink {
namespace {

constexpr char b64_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int b64_value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

const EVP_MD* digest(scram_hash h) {
  return h == scram_hash::sha1 ? EVP_sha1() : EVP_sha256();
}

std::string hmac(scram_hash h, std::string_view key, std::string_view data) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> out{};
  unsigned int len = 0;
  HMAC(digest(h), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), out.data(), &len);
  return {reinterpret_cast<const char*>(out.data()), len};
}

std::string hash_of(scram_hash h, std::string_view data) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> out{};
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), out.data(), &len, digest(h), nullptr);
  return {reinterpret_cast<const char*>(out.data()), len};
}

// RFC 5802 §5.1: '=' -> "=3D", ',' -> "=2C" in the username.
std::string saslname(std::string_view user) {
  std::string out;
  for (char c : user) {
    if (c == '=')
      out += "=3D";
    else if (c == ',')
      out += "=2C";
    else
      out += c;
  }
  return out;
}

// The value of attribute `key` ("k=value") in a comma-separated SCRAM message.
std::optional<std::string_view> scram_attr(std::string_view msg, char key) {
  while (!msg.empty()) {
    auto comma = msg.find(',');
    std::string_view part = msg.substr(0, comma);
    if (part.size() >= 2 && part[0] == key && part[1] == '=') return part.substr(2);
    if (comma == std::string_view::npos) break;
    msg.remove_prefix(comma + 1);
  }
  return std::nullopt;
}

}  // namespace

std::string base64_encode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  auto u = [&](std::size_t k) { return static_cast<unsigned char>(bytes[k]); };
  for (; i + 3 <= bytes.size(); i += 3) {
    unsigned v = (u(i) << 16) | (u(i + 1) << 8) | u(i + 2);
    out += b64_alphabet[(v >> 18) & 63];
    out += b64_alphabet[(v >> 12) & 63];
    out += b64_alphabet[(v >> 6) & 63];
    out += b64_alphabet[v & 63];
  }
  if (bytes.size() - i == 1) {
    unsigned v = u(i) << 16;
    out += b64_alphabet[(v >> 18) & 63];
    out += b64_alphabet[(v >> 12) & 63];
    out += "==";
  } else if (bytes.size() - i == 2) {
    unsigned v = (u(i) << 16) | (u(i + 1) << 8);
    out += b64_alphabet[(v >> 18) & 63];
    out += b64_alphabet[(v >> 12) & 63];
    out += b64_alphabet[(v >> 6) & 63];
    out += '=';
  }
  return out;
}

std::optional<std::string> base64_decode(std::string_view text) {
  if (text.size() % 4 != 0) return std::nullopt;
  std::string out;
  out.reserve(text.size() / 4 * 3);
  for (std::size_t i = 0; i < text.size(); i += 4) {
    int v[4];
    int pad = 0;
    for (int k = 0; k < 4; ++k) {
      char c = text[i + static_cast<std::size_t>(k)];
      if (c == '=') {
        // Padding only in the last quantum, only in its last two places, and only trailing.
        if (i + 4 != text.size() || k < 2) return std::nullopt;
        v[k] = 0;
        ++pad;
      } else {
        if (pad != 0) return std::nullopt;
        v[k] = b64_value(c);
        if (v[k] < 0) return std::nullopt;
      }
    }
    unsigned n = (static_cast<unsigned>(v[0]) << 18) | (static_cast<unsigned>(v[1]) << 12) |
                 (static_cast<unsigned>(v[2]) << 6) | static_cast<unsigned>(v[3]);
    out += static_cast<char>((n >> 16) & 0xff);
    if (pad < 2) out += static_cast<char>((n >> 8) & 0xff);
    if (pad < 1) out += static_cast<char>(n & 0xff);
  }
  return out;
}

scram_client::scram_client(scram_hash hash, std::string username, std::string password,
                           std::string client_nonce)
    : hash_(hash),
      username_(std::move(username)),
      password_(std::move(password)),
      nonce_(std::move(client_nonce)) {
  if (nonce_.empty()) {
    std::array<unsigned char, 24> raw{};
    if (RAND_bytes(raw.data(), static_cast<int>(raw.size())) != 1) {
      // Without randomness there is no safe nonce; an empty one makes client_final fail.
      return;
    }
    nonce_ = base64_encode({reinterpret_cast<const char*>(raw.data()), raw.size()});
  }
}

const char* scram_client::mechanism() const noexcept {
  return hash_ == scram_hash::sha1 ? "SCRAM-SHA-1" : "SCRAM-SHA-256";
}

std::string scram_client::client_first() const {
  return "n,,n=" + saslname(username_) + ",r=" + nonce_;
}

std::error_code scram_client::client_final(std::string_view server_first, std::string& out) {
  if (nonce_.empty()) return error::crypto_failure;
  if (server_first.size() > 4096 || server_first.starts_with("m=")) return error::sasl_malformed;
  auto r = scram_attr(server_first, 'r');
  auto s = scram_attr(server_first, 's');
  auto i = scram_attr(server_first, 'i');
  if (!r || !s || !i) return error::sasl_malformed;
  // The combined nonce must extend ours with at least one character of the server's.
  if (r->size() <= nonce_.size() || r->substr(0, nonce_.size()) != nonce_)
    return error::sasl_malformed;
  for (char c : *r)
    if (c < 0x21 || c > 0x7e || c == ',') return error::sasl_malformed;
  auto salt = base64_decode(*s);
  if (!salt || salt->empty()) return error::sasl_malformed;
  std::uint32_t iterations = 0;
  auto [ptr, ec] = std::from_chars(i->data(), i->data() + i->size(), iterations);
  if (ec != std::errc{} || ptr != i->data() + i->size()) return error::sasl_malformed;
  if (iterations < min_iterations || iterations > max_iterations) return error::sasl_malformed;

  const EVP_MD* md = digest(hash_);
  const auto md_len = static_cast<std::size_t>(EVP_MD_get_size(md));
  std::string salted(md_len, '\0');
  if (PKCS5_PBKDF2_HMAC(password_.data(), static_cast<int>(password_.size()),
                        reinterpret_cast<const unsigned char*>(salt->data()),
                        static_cast<int>(salt->size()), static_cast<int>(iterations), md,
                        static_cast<int>(md_len),
                        reinterpret_cast<unsigned char*>(salted.data())) != 1)
    return error::crypto_failure;

  std::string client_key = hmac(hash_, salted, "Client Key");
  std::string stored_key = hash_of(hash_, client_key);
  std::string without_proof = "c=biws,r=" + std::string(*r);
  std::string client_first_bare = client_first().substr(3);
  std::string auth_message =
      client_first_bare + "," + std::string(server_first) + "," + without_proof;
  std::string signature = hmac(hash_, stored_key, auth_message);
  std::string proof = client_key;
  for (std::size_t k = 0; k < proof.size(); ++k)
    proof[k] = static_cast<char>(proof[k] ^ signature[k]);
  std::string server_key = hmac(hash_, salted, "Server Key");
  expected_server_signature_ = hmac(hash_, server_key, auth_message);
  have_final_ = true;
  OPENSSL_cleanse(salted.data(), salted.size());
  OPENSSL_cleanse(client_key.data(), client_key.size());
  out = without_proof + ",p=" + base64_encode(proof);
  return {};
}

std::error_code scram_client::verify_server_final(std::string_view server_final) const {
  if (!have_final_) return error::protocol_violation;
  if (scram_attr(server_final, 'e')) return error::auth_failed;
  auto v = scram_attr(server_final, 'v');
  if (!v) return error::sasl_malformed;
  auto sig = base64_decode(*v);
  if (!sig || sig->size() != expected_server_signature_.size() ||
      CRYPTO_memcmp(sig->data(), expected_server_signature_.data(), sig->size()) != 0)
    return error::server_signature_mismatch;
  return {};
}

std::string sasl_plain_message(std::string_view username, std::string_view password) {
  std::string m;
  m += '\0';
  m += username;
  m += '\0';
  m += password;
  return m;
}

}  // namespace fleetpoll::uplink
