// fleetpoll::codecs::oid — an SNMP OBJECT IDENTIFIER as a sequence of sub-identifiers.
//
// Value type with lexicographic (SNMP walk) ordering. Sub-identifiers are 32-bit unsigned, as
// RFC 2578 requires; at most max_length (128) of them.
// Thread safety: like std::vector (distinct objects from any thread; one object: readers only).
#pragma once

#include <compare>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace fleetpoll::codecs {

class oid {
 public:
  static constexpr std::size_t max_length = 128;

  oid() = default;
  oid(std::initializer_list<std::uint32_t> arcs) : arcs_(arcs) {}
  explicit oid(std::vector<std::uint32_t> arcs) : arcs_(std::move(arcs)) {}
  explicit oid(std::span<const std::uint32_t> arcs) : arcs_(arcs.begin(), arcs.end()) {}

  // Parses "1.3.6.1.2.1.1.1.0" (one leading dot allowed). Returns nullopt for anything else:
  // empty, a non-digit, an empty arc, an arc over 2^32-1, or more than max_length arcs.
  static std::optional<oid> parse(std::string_view dotted);

  std::string to_string() const;  // "1.3.6.1..." without a leading dot

  std::span<const std::uint32_t> arcs() const noexcept { return arcs_; }
  std::size_t size() const noexcept { return arcs_.size(); }
  bool empty() const noexcept { return arcs_.empty(); }
  std::uint32_t operator[](std::size_t i) const noexcept { return arcs_[i]; }
  std::uint32_t back() const noexcept { return arcs_.back(); }

  // True when this OID lies strictly below (or equals, with or_equal) the prefix.
  bool starts_with(const oid& prefix) const noexcept;

  // A new OID: this one followed by the given arcs.
  oid child(std::initializer_list<std::uint32_t> more) const;
  oid child(std::span<const std::uint32_t> more) const;
  void push_back(std::uint32_t arc) { arcs_.push_back(arc); }

  // The arcs after a prefix (the table index of a column instance). Empty if not below it.
  std::span<const std::uint32_t> suffix_after(const oid& prefix) const noexcept;

  friend std::strong_ordering operator<=>(const oid& a, const oid& b) noexcept;
  friend bool operator==(const oid& a, const oid& b) noexcept { return a.arcs_ == b.arcs_; }

 private:
  std::vector<std::uint32_t> arcs_;
};

}  // namespace fleetpoll::codecs
