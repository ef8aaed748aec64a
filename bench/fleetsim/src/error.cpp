#include "fleetpoll/fleetsim/error.hpp"

#include <string>

namespace fleetpoll::fleetsim {
namespace {

class category final : public std::error_category {
 public:
  const char* name() const noexcept override { return "fleetpoll.fleetsim"; }
  std::string message(int ev) const override {
    switch (static_cast<error>(ev)) {
      case error::ok:
        return "success";
      case error::truncated:
        return "request truncated inside a TLV";
      case error::bad_length:
        return "bad BER length in request";
      case error::bad_tag:
        return "unexpected BER tag in request";
      case error::bad_version:
        return "unsupported SNMP version";
      case error::bad_pdu_type:
        return "PDU is not GET, GETNEXT or GETBULK";
      case error::bad_integer:
        return "malformed INTEGER in request";
      case error::bad_oid:
        return "malformed OBJECT IDENTIFIER in request";
      case error::trailing_data:
        return "trailing bytes in request";
      case error::too_many_names:
        return "too many varbinds in request";
      case error::bad_community:
        return "community too long";
      case error::no_templates:
        return "no usable template";
      case error::bad_template:
        return "template does not load";
      case error::bad_address:
        return "address outside 127.0.0.0/8";
      case error::bad_option:
        return "option out of range";
      case error::bad_fault_spec:
        return "fault plan does not parse";
      case error::bad_config_file:
        return "configuration file does not parse";
      case error::already_started:
        return "fleet already started";
      case error::not_started:
        return "fleet not started";
    }
    return "unknown fleetpoll.fleetsim error " + std::to_string(ev);
  }
};

}  // namespace

const std::error_category& fleetsim_category() noexcept {
  static const category instance;
  return instance;
}

}  // namespace fleetpoll::fleetsim
