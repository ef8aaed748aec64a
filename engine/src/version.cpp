#include "fleetpoll/engine/version.hpp"

namespace fleetpoll::engine {

std::string_view version() noexcept {
  return FLEETPOLL_VERSION;
}

}  // namespace fleetpoll::engine
