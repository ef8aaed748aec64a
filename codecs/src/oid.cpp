#include "fleetpoll/codecs/oid.hpp"

#include <algorithm>

namespace fleetpoll::codecs {

std::optional<oid> oid::parse(std::string_view s) {
  if (!s.empty() && s.front() == '.') s.remove_prefix(1);
  if (s.empty()) return std::nullopt;
  std::vector<std::uint32_t> arcs;
  std::uint64_t cur = 0;
  bool have_digit = false;
  for (char c : s) {
    if (c == '.') {
      if (!have_digit || arcs.size() >= max_length) return std::nullopt;
      arcs.push_back(static_cast<std::uint32_t>(cur));
      cur = 0;
      have_digit = false;
    } else if (c >= '0' && c <= '9') {
      cur = cur * 10 + static_cast<std::uint64_t>(c - '0');
      if (cur > 0xFFFFFFFFull) return std::nullopt;
      have_digit = true;
    } else {
      return std::nullopt;
    }
  }
  if (!have_digit || arcs.size() >= max_length) return std::nullopt;
  arcs.push_back(static_cast<std::uint32_t>(cur));
  return oid(std::move(arcs));
}

std::string oid::to_string() const {
  std::string out;
  out.reserve(arcs_.size() * 4);
  for (std::size_t i = 0; i < arcs_.size(); ++i) {
    if (i) out.push_back('.');
    out += std::to_string(arcs_[i]);
  }
  return out;
}

bool oid::starts_with(const oid& prefix) const noexcept {
  return prefix.arcs_.size() <= arcs_.size() &&
         std::equal(prefix.arcs_.begin(), prefix.arcs_.end(), arcs_.begin());
}

oid oid::child(std::initializer_list<std::uint32_t> more) const {
  return child(std::span<const std::uint32_t>(more.begin(), more.size()));
}

oid oid::child(std::span<const std::uint32_t> more) const {
  std::vector<std::uint32_t> arcs;
  arcs.reserve(arcs_.size() + more.size());
  arcs.insert(arcs.end(), arcs_.begin(), arcs_.end());
  arcs.insert(arcs.end(), more.begin(), more.end());
  return oid(std::move(arcs));
}

std::span<const std::uint32_t> oid::suffix_after(const oid& prefix) const noexcept {
  if (!starts_with(prefix)) return {};
  return std::span<const std::uint32_t>(arcs_).subspan(prefix.size());
}

std::strong_ordering operator<=>(const oid& a, const oid& b) noexcept {
  return std::lexicographical_compare_three_way(a.arcs_.begin(), a.arcs_.end(), b.arcs_.begin(),
                                                b.arcs_.end());
}

}  // namespace fleetpoll::codecs
