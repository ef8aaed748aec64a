// fleetpoll::engine — build identity.
#pragma once

#include <string_view>

namespace fleetpoll::engine {

// The release version, e.g. "0.1.0" (from the CMake project version).
std::string_view version() noexcept;

}  // namespace fleetpoll::engine
