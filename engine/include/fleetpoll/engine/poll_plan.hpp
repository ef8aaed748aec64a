// fleetpoll::engine::poll_plan — what one poll of one device fetches, per data class.
//
// Built once from codecs::mib::walk_plan() (the OIDs the normalizer reads): scalar instances to
// fetch and subtrees ("units": a table column or a whole table entry) to walk, each tagged with
// its data class. The walker fetches the items of the classes a poll asks for; the normalizer
// then sees exactly what it would see in a full recording of those subtrees.
//
// Thread safety: immutable after construction; default_plan() is built once, thread-safely.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "fleetpoll/codecs/oid.hpp"
#include "fleetpoll/codecs/printer_mib.hpp"

namespace fleetpoll::engine {

using codecs::mib::data_class;

inline constexpr int data_class_count = 5;
// The bit of a class in a poll's class mask (the `classes` field of a poll record).
constexpr std::uint32_t class_bit(data_class c) noexcept {
  return 1u << static_cast<int>(c);
}
inline constexpr std::uint32_t all_classes = (1u << data_class_count) - 1;

// "identity", "status", "alerts", "supplies", "counters".
std::string_view class_name(data_class c) noexcept;
// Names of the classes in a mask, in enum order, joined by `sep`.
std::string class_names(std::uint32_t mask, std::string_view sep = ",");

struct plan_scalar {
  codecs::oid name;  // the full instance (…​.0 for SNMPv2 scalars)
  data_class cls;
};

struct plan_unit {
  codecs::oid prefix;  // walk every OID strictly below it
  data_class cls;
};

struct poll_plan {
  // At most max_scalars and max_units (walk_memory keeps a bit or a byte per item).
  std::vector<plan_scalar> scalars;
  std::vector<plan_unit> units;
  static constexpr std::size_t max_scalars = 32;
  static constexpr std::size_t max_units = 28;
};

// The plan derived from codecs::mib::walk_plan(), in its order.
const poll_plan& default_plan();

}  // namespace fleetpoll::engine
