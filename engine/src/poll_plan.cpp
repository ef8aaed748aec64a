#include "fleetpoll/engine/poll_plan.hpp"

#include <string>

#include "fleetpoll/codecs/vendors.hpp"

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

std::uint32_t enterprise_of(const codecs::oid& name) noexcept {
  const auto& ent = codecs::mib::enterprises;
  if (name.size() <= ent.size() || !name.starts_with(ent)) return 0;
  return name[ent.size()];
}

bool scalar_wanted(const codecs::oid& name, std::uint32_t device_enterprise) noexcept {
  const std::uint32_t e = enterprise_of(name);
  if (e == 0 || e == device_enterprise) return true;
  if (e == 11 && name.size() > 9 && name[7] == 2 && name[8] == 3 && name[9] == 9)
    return true;  // HP device ID
  const auto* mine = codecs::find_vendor(device_enterprise);
  const auto* theirs = codecs::find_vendor(e);
  return mine && theirs && mine->brand == theirs->brand;
}

}  // namespace fleetpoll::engine
