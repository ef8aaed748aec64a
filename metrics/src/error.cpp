#include "fleetpoll/metrics/error.hpp"

#include <string>

namespace fleetpoll::metrics {
namespace {

class category final : public std::error_category {
 public:
  const char* name() const noexcept override { return "fleetpoll.metrics"; }
  std::string message(int ev) const override {
    switch (static_cast<error>(ev)) {
      case error::ok:
        return "success";
      case error::invalid_address:
        return "listen address is not a numeric IP address";
      case error::already_started:
        return "HTTP server already started";
      case error::stopped:
        return "HTTP server was stopped and cannot be restarted";
      case error::invalid_route:
        return "route path must begin with '/'";
      case error::duplicate_route:
        return "route path already registered";
    }
    return "unknown fleetpoll.metrics error " + std::to_string(ev);
  }
};

}  // namespace

const std::error_category& metrics_category() noexcept {
  static const category instance;
  return instance;
}

}  // namespace fleetpoll::metrics
