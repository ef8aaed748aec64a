#include "fleetpoll/codecs/mib_view.hpp"

#include <algorithm>

namespace fleetpoll::codecs {

mib_view::mib_view(std::vector<varbind> rows) : rows_(std::move(rows)), sealed_(false) {
  seal();
}

std::size_t mib_view::seal() {
  if (sealed_) return 0;
  // Stable sort keeps insertion order among equal OIDs, so "last added wins" is well defined.
  std::stable_sort(rows_.begin(), rows_.end(),
                   [](const varbind& a, const varbind& b) { return a.name < b.name; });
  std::size_t before = rows_.size();
  std::vector<varbind> out;
  out.reserve(rows_.size());
  for (auto& r : rows_) {
    if (!out.empty() && out.back().name == r.name)
      out.back() = std::move(r);
    else
      out.push_back(std::move(r));
  }
  rows_ = std::move(out);
  sealed_ = true;
  return before - rows_.size();
}

void mib_view::merge(const mib_view& other) {
  rows_.insert(rows_.end(), other.rows_.begin(), other.rows_.end());
  sealed_ = false;
  seal();
}

const value* mib_view::get(const oid& name) const noexcept {
  auto it = std::lower_bound(rows_.begin(), rows_.end(), name,
                             [](const varbind& r, const oid& n) { return r.name < n; });
  return (it != rows_.end() && it->name == name) ? &it->val : nullptr;
}

const varbind* mib_view::next(const oid& name) const noexcept {
  auto it = std::upper_bound(rows_.begin(), rows_.end(), name,
                             [](const oid& n, const varbind& r) { return n < r.name; });
  return it != rows_.end() ? &*it : nullptr;
}

std::span<const varbind> mib_view::subtree(const oid& prefix) const noexcept {
  auto first = std::upper_bound(rows_.begin(), rows_.end(), prefix,
                                [](const oid& n, const varbind& r) { return n < r.name; });
  // Rows below the prefix are contiguous right after it in walk order.
  auto last = std::partition_point(first, rows_.end(),
                                   [&](const varbind& r) { return r.name.starts_with(prefix); });
  return {first, last};
}

}  // namespace fleetpoll::codecs
