#include "fleetpoll/engine/error.hpp"

#include <string>

namespace fleetpoll::engine {
namespace {

class category final : public std::error_category {
 public:
  const char* name() const noexcept override { return "fleetpoll.engine"; }
  std::string message(int ev) const override {
    switch (static_cast<error>(ev)) {
      case error::ok:
        return "success";
      case error::timeout:
        return "no reply after every retry";
      case error::cancelled:
        return "cancelled";
      case error::send_failed:
        return "the socket refused the request";
      case error::decode_failed:
        return "the reply did not decode";
      case error::agent_error:
        return "the agent answered with an error status";
      case error::too_big:
        return "the agent answered tooBig even for the smallest request";
      case error::report:
        return "the agent answered with a Report";
      case error::device_busy:
        return "the device already has a request in flight";
      case error::walk_loop:
        return "table walk stopped: the agent repeated or went backwards";
      case error::walk_runaway:
        return "table walk stopped: too many rows";
      case error::bad_target:
        return "refused target address";
      case error::socket_error:
        return "UDP socket error";
      case error::bad_config:
        return "invalid configuration";
      case error::unresolved_host:
        return "host name did not resolve";
      case error::interrupted:
        return "interrupted";
      case error::no_progress:
        return "the agent's replies made no progress";
      case error::version_mismatch:
        return "the reply's SNMP version differs from the request's";
    }
    return "unknown fleetpoll.engine error " + std::to_string(ev);
  }
};

}  // namespace

const std::error_category& engine_category() noexcept {
  static const category instance;
  return instance;
}

}  // namespace fleetpoll::engine
