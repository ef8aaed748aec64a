#include "fleetpoll/uplink/error.hpp"

#include <string>

namespace fleetpoll::uplink {
namespace {

class category final : public std::error_category {
 public:
  const char* name() const noexcept override { return "fleetpoll.uplink"; }
  std::string message(int ev) const override {
    switch (static_cast<error>(ev)) {
      case error::ok:
        return "ok";
      case error::xml_malformed:
        return "XML stream is not well-formed";
      case error::xml_forbidden:
        return "XML construct forbidden in XMPP (DTD, entity, PI, comment)";
      case error::xml_stanza_too_large:
        return "stanza exceeds the size limit";
      case error::xml_too_deep:
        return "XML nesting exceeds the depth limit";
      case error::xml_too_many_attributes:
        return "element has too many attributes";
      case error::xml_too_many_elements:
        return "stanza has too many elements";
      case error::xml_text_outside_stanza:
        return "text between stanzas";
      case error::xml_bad_stream_header:
        return "not an XMPP stream header";
      case error::stream_closed:
        return "XMPP stream closed";
      case error::stream_error:
        return "XMPP stream error from the server";
      case error::tls_unavailable:
        return "server does not offer STARTTLS (plaintext refused)";
      case error::tls_refused:
        return "server refused STARTTLS";
      case error::no_usable_mechanism:
        return "no acceptable SASL mechanism offered";
      case error::auth_failed:
        return "authentication failed";
      case error::server_signature_mismatch:
        return "SCRAM server signature mismatch";
      case error::sasl_malformed:
        return "malformed SASL message";
      case error::bind_failed:
        return "resource binding failed";
      case error::protocol_violation:
        return "XMPP protocol violation";
      case error::timeout:
        return "timed out";
      case error::proxy_refused:
        return "HTTP CONNECT proxy refused the tunnel";
      case error::stopped:
        return "stopped";
      case error::batch_malformed:
        return "malformed batch";
      case error::batch_unknown_key:
        return "batch encrypted with an unknown key id";
      case error::batch_bad_tag:
        return "batch authentication tag mismatch";
      case error::batch_too_large:
        return "batch exceeds a size limit";
      case error::batch_decompress:
        return "batch decompression failed";
      case error::batch_bad_record:
        return "batch holds an invalid or out-of-sequence record";
      case error::batch_header_mismatch:
        return "batch content does not match its envelope";
      case error::crypto_failure:
        return "cryptographic library failure";
      case error::key_file_permissions:
        return "key file is accessible by group or others (chmod 600)";
      case error::key_file_syntax:
        return "key file line is not 'ID HEX64'";
      case error::key_file_empty:
        return "key file holds no key";
      case error::io_error:
        return "I/O error";
      case error::config_invalid:
        return "invalid configuration";
    }
    return "unknown uplink error " + std::to_string(ev);
  }
};

}  // namespace

const std::error_category& uplink_category() noexcept {
  static const category c;
  return c;
}

}  // namespace fleetpoll::uplink
