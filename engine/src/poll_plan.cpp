#include "fleetpoll/engine/poll_plan.hpp"

#include <string>

namespace fleetpoll::engine {

std::string_view class_name(data_class c) noexcept {
  switch (c) {
    case data_class::identity:
      return "identity";
    case data_class::status:
      return "status";
    case data_class::alerts:
      return "alerts";
    case data_class::supplies:
      return "supplies";
    case data_class::counters:
      return "counters";
  }
  return "unknown";
}

std::string class_names(std::uint32_t mask, std::string_view sep) {
  std::string out;
  for (int i = 0; i < data_class_count; ++i) {
    if (!(mask & (1u << i))) continue;
    if (!out.empty()) out += sep;
    out += class_name(static_cast<data_class>(i));
  }
  return out;
}

const poll_plan& default_plan() {
  static const poll_plan plan = [] {
    poll_plan p;
    for (const auto& item : codecs::mib::walk_plan()) {
      if (item.scalar)
        p.scalars.push_back({item.prefix, item.cls});
      else
        p.units.push_back({item.prefix, item.cls});
    }
    return p;
  }();
  return plan;
}

}  // namespace fleetpoll::engine
