#include "fleetpoll/web/error.hpp"

#include <string>

namespace fleetpoll::web {
namespace {

class category final : public std::error_category {
 public:
  const char* name() const noexcept override { return "fleetpoll.web"; }
  std::string message(int ev) const override {
    switch (static_cast<error>(ev)) {
      case error::ok:
        return "success";
      case error::not_found:
        return "no such device";
      case error::auth_required:
        return "the status page listens beyond loopback: configure basic auth (user and "
               "password_hash) or listen on 127.0.0.1";
      case error::auth_unsupported:
        return "basic auth is configured but this HTTP server does not pass the Authorization "
               "header to routes";
      case error::invalid_password_hash:
        return "password_hash must be pbkdf2-sha256$<iterations>$<salt hex>$<hash hex> "
               "(docs/status-page.md shows how to make one)";
      case error::invalid_options:
        return "invalid status page options";
      case error::source_unavailable:
        return "status data unavailable";
    }
    return "unknown fleetpoll.web error " + std::to_string(ev);
  }
};

}  // namespace

const std::error_category& web_category() noexcept {
  static const category instance;
  return instance;
}

}  // namespace fleetpoll::web
