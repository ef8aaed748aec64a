// Internal: Unix epoch milliseconds (no Asio, usable by the codec files).
#pragma once

#include <chrono>
#include <cstdint>

namespace fleetpoll::uplink::detail {

inline std::uint64_t wall_ms() {
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                        std::chrono::system_clock::now().time_since_epoch())
                                        .count());
}

}  // namespace fleetpoll::uplink::detail
