#include "fleetpoll/codecs/error.hpp"

#include <string>

namespace fleetpoll::codecs {
namespace {

class category final : public std::error_category {
 public:
  const char* name() const noexcept override { return "fleetpoll.codecs"; }
  std::string message(int ev) const override {
    switch (static_cast<error>(ev)) {
      case error::ok:
        return "success";
      case error::truncated:
        return "packet truncated inside a TLV";
      case error::bad_length:
        return "bad BER length";
      case error::bad_tag:
        return "unexpected BER tag";
      case error::bad_version:
        return "unsupported SNMP version";
      case error::bad_pdu_type:
        return "unexpected PDU type";
      case error::bad_integer:
        return "malformed INTEGER";
      case error::bad_oid:
        return "malformed OBJECT IDENTIFIER";
      case error::bad_value:
        return "varbind value of a type SNMP does not allow";
      case error::trailing_data:
        return "trailing bytes after the SNMP message";
      case error::too_many_varbinds:
        return "too many varbinds in one message";
      case error::buffer_too_small:
        return "output buffer too small";
      case error::invalid_request:
        return "request cannot be encoded";
      case error::snmprec_syntax:
        return "line is not OID|TAG|VALUE";
      case error::snmprec_bad_oid:
        return "OID is not dotted decimal";
      case error::snmprec_bad_tag:
        return "unknown .snmprec tag";
      case error::snmprec_bad_value:
        return "value does not parse for its tag";
      case error::snmprec_duplicate_oid:
        return "OID appears twice";
      case error::io_error:
        return "cannot read the recording";
    }
    return "unknown fleetpoll.codecs error " + std::to_string(ev);
  }
};

}  // namespace

const std::error_category& codecs_category() noexcept {
  static const category instance;
  return instance;
}

}  // namespace fleetpoll::codecs
