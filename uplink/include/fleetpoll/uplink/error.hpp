// fleetpoll::uplink::error — the one error enum of the uplink module.
//
// Every failure inside uplink/ (XML stream, SASL, TLS set-up, batches, keys, configuration) is a
// std::error_code made from this enum; Asio and OpenSSL errors pass through as their own
// categories. Codes are stable: never renumber, only append.
// Thread safety: the category is a function-local static; safe from any thread.
#pragma once

#include <system_error>

namespace fleetpoll::uplink {

enum class error {
  ok = 0,
  // ---- XML stream (xml_stream.hpp) ----
  xml_malformed = 1,     // not well-formed XML (expat error)
  xml_forbidden,         // DOCTYPE, entity declaration, processing instruction or comment
  xml_stanza_too_large,  // a stanza longer than the configured limit
  xml_too_deep,          // nesting deeper than the limit
  xml_too_many_attributes,
  xml_too_many_elements,    // more elements in one stanza than the limit
  xml_text_outside_stanza,  // non-whitespace text between stanzas
  xml_bad_stream_header,    // the root is not <stream:stream> in the streams namespace
  // ---- XMPP session ----
  stream_closed = 20,         // the server closed the XML stream (</stream:stream>) or the socket
  stream_error,               // the server sent <stream:error/>
  tls_unavailable,            // the server offered no STARTTLS: refused, plaintext is never used
  tls_refused,                // <failure/> in answer to <starttls/>
  no_usable_mechanism,        // no SASL mechanism both sides accept (PLAIN needs allow_plain)
  auth_failed,                // SASL <failure/> (wrong password, unknown user)
  server_signature_mismatch,  // SCRAM server-final did not prove the server knows the password
  sasl_malformed,             // a SCRAM message that does not parse or breaks a rule (nonce, count)
  bind_failed,                // resource binding answered with an error
  protocol_violation,         // any other answer that is not what the protocol allows at that step
  timeout,                    // a step did not finish within its deadline
  proxy_refused,              // the HTTP CONNECT proxy answered other than 2xx, or not HTTP
  stopped,                    // stop() was called
  // ---- batches (batch_codec.hpp) ----
  batch_malformed = 40,   // bad base64, bad header attribute, or a buffer that does not verify
  batch_unknown_key,      // key id not in the keyring
  batch_bad_tag,          // AES-GCM authentication failed (tampered, or wrong key)
  batch_too_large,        // a limit on encoded, compressed or plain size, or record count
  batch_decompress,       // zstd frame invalid or its size undeclared
  batch_bad_record,       // a record that is not a valid ChangeRecord or is out of sequence
  batch_header_mismatch,  // the plaintext's site or sequence range differs from the envelope's
  crypto_failure,         // OpenSSL failed where it should not (random bytes, cipher set-up)
  // ---- keys and configuration ----
  key_file_permissions = 60,  // the key file is readable or writable by group or others
  key_file_syntax,            // a line that is not "ID HEX64"
  key_file_empty,             // no key in the file
  io_error,                   // a file could not be read or written
  config_invalid,             // a configuration value out of range or missing
};

const std::error_category& uplink_category() noexcept;

inline std::error_code make_error_code(error e) noexcept {
  return {static_cast<int>(e), uplink_category()};
}

}  // namespace fleetpoll::uplink

template <>
struct std::is_error_code_enum<fleetpoll::uplink::error> : std::true_type {};
