// fleetpoll::uplink::sasl — base64 and the client side of SASL SCRAM (RFC 5802, RFC 7677) and
// PLAIN (RFC 4616), over OpenSSL's digests. No I/O: the XMPP connection carries the messages.
//
// Why by hand and not libgsasl: SCRAM's client side is three messages and four primitives
// (PBKDF2, HMAC, a hash, XOR) that OpenSSL — already linked for TLS — provides; writing it here
// keeps one crypto library, no global library context, and lets us enforce what a hostile
// server could abuse (iteration-count ceiling, nonce prefix, mandatory server signature check).
// docs/security.md says more. Verified against the RFC 5802 / RFC 7677 test vectors and a real
// prosody.
//
// Thread safety: scram_client is a value; use one per authentication attempt.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>

namespace fleetpoll::uplink {

// Standard base64 with padding (RFC 4648 §4). decode rejects anything else, including embedded
// whitespace; it returns nullopt on bad input.
std::string base64_encode(std::string_view bytes);
std::optional<std::string> base64_decode(std::string_view text);

enum class scram_hash { sha1, sha256 };

class scram_client {
 public:
  // Iteration counts outside [min_iterations, max_iterations] are refused: a low count weakens
  // the stored key, a huge one is a denial of service against us.
  static constexpr std::uint32_t min_iterations = 4096;
  static constexpr std::uint32_t max_iterations = 1'000'000;

  // `client_nonce` empty: 24 random bytes, base64-encoded (tests pass the RFC's nonce).
  scram_client(scram_hash hash, std::string username, std::string password,
               std::string client_nonce = {});

  const char* mechanism() const noexcept;
  // "n,,n=user,r=nonce"
  std::string client_first() const;
  // Parses server-first ("r=..,s=..,i=..") and returns client-final ("c=biws,r=..,p=..").
  std::error_code client_final(std::string_view server_first, std::string& out);
  // Checks server-final ("v=...") against the expected server signature.
  std::error_code verify_server_final(std::string_view server_final) const;

 private:
  scram_hash hash_;
  std::string username_;
  std::string password_;
  std::string nonce_;
  std::string expected_server_signature_;
  bool have_final_ = false;
};

// "\0user\0password" for SASL PLAIN. Only ever sent inside TLS, and only when configured.
std::string sasl_plain_message(std::string_view username, std::string_view password);

}  // namespace fleetpoll::uplink
