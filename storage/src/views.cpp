#include "fleetpoll/storage/views.hpp"

#include <algorithm>

namespace fleetpoll::storage {

const char* series_name(series_kind k) noexcept {
  switch (k) {
    case series_kind::supply:
      return "supply";
    case series_kind::tray:
      return "tray";
    case series_kind::counter:
      return "counter";
    case series_kind::status:
      return "status";
    case series_kind::reachability:
      return "reachability";
  }
  return "unknown";
}

bool device_view::low() const noexcept {
  return std::any_of(supplies.begin(), supplies.end(),
                     [](const supply_view& s) { return s.low || s.empty || s.reorder; });
}

}  // namespace fleetpoll::storage
