// fleetpoll::codecs::mib_view — an ordered OID → value map: what one agent said.
//
// Built from a live walk or a .snmprec recording; read by the normalizer and the simulator.
// Lookups are O(log n) on a sorted vector. Building: add() in any order, then seal() once (sorts;
// later add()s on the same OID replace earlier ones only through merge()).
// Thread safety: const member functions may be called from many threads once sealed.
#pragma once

#include <cstddef>
#include <span>
#include <vector>

#include "fleetpoll/codecs/value.hpp"

namespace fleetpoll::codecs {

class mib_view {
 public:
  mib_view() = default;
  explicit mib_view(std::vector<varbind> rows);  // sorts; keeps the last of duplicate OIDs

  // Appends; call seal() before reading. Cheap for bulk loading.
  void add(oid name, value v) {
    rows_.push_back({std::move(name), std::move(v)});
    sealed_ = false;
  }
  void add(varbind vb) {
    rows_.push_back(std::move(vb));
    sealed_ = false;
  }
  // Sorts and removes duplicate OIDs (the last added wins). Returns how many duplicates it removed.
  std::size_t seal();

  // Adds every row of other; on equal OIDs other's value wins (a context companion overrides).
  void merge(const mib_view& other);

  // The value at exactly this OID, or nullptr.
  const value* get(const oid& name) const noexcept;
  // The first row strictly after name in walk order (GETNEXT semantics), or nullptr at the end.
  const varbind* next(const oid& name) const noexcept;
  // Every row whose OID lies below prefix (not equal to it), in walk order.
  std::span<const varbind> subtree(const oid& prefix) const noexcept;

  std::span<const varbind> rows() const noexcept { return rows_; }
  std::size_t size() const noexcept { return rows_.size(); }
  bool empty() const noexcept { return rows_.empty(); }

 private:
  std::vector<varbind> rows_;
  bool sealed_ = true;
};

}  // namespace fleetpoll::codecs
