// fleetsim internal: BER primitives for the agent (reading requests, writing responses).
// Writers are raw: the caller checks the room first (every *_octets function says how much a
// field takes). Readers are bounds-checked and never read past `end`.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <vector>

#include "fleetpoll/fleetsim/error.hpp"

namespace fleetpoll::fleetsim::ber {

constexpr std::uint8_t tag_integer = 0x02, tag_octet_string = 0x04, tag_null = 0x05, tag_oid = 0x06,
                       tag_sequence = 0x30, tag_response = 0xA2;

// ---- sizes ---------------------------------------------------------------------------------
constexpr std::size_t length_octets(std::size_t len) noexcept {
  return len < 0x80 ? 1 : len < 0x100 ? 2 : len < 0x10000 ? 3 : 4;
}
constexpr std::size_t tlv_octets(std::size_t content) noexcept {
  return 1 + length_octets(content) + content;
}
// Minimal two's complement octets of a signed value.
constexpr std::size_t int_octets(std::int64_t v) noexcept {
  std::size_t n = 1;
  while (n < 8) {
    const std::int64_t lo = -(std::int64_t{1} << (8 * n - 1));
    const std::int64_t hi = (std::int64_t{1} << (8 * n - 1)) - 1;
    if (v >= lo && v <= hi) break;
    ++n;
  }
  return n;
}
// Octets of an unsigned value as a BER INTEGER-like content (a leading 0 when the top bit is set).
constexpr std::size_t uint_octets(std::uint64_t v) noexcept {
  std::size_t n = 1;
  while (n < 9 && (v >> (8 * n - 1)) != 0) ++n;
  return n;
}
constexpr std::size_t subid_octets(std::uint64_t v) noexcept {
  std::size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    ++n;
  }
  return n;
}
// Content octets of an OID; arcs.size() >= 2 and arcs[0] <= 2 (callers check).
inline std::size_t oid_octets(std::span<const std::uint32_t> arcs) noexcept {
  std::size_t n = subid_octets(std::uint64_t{arcs[0]} * 40 + arcs[1]);
  for (std::size_t i = 2; i < arcs.size(); ++i) n += subid_octets(arcs[i]);
  return n;
}

// ---- raw writers (return the end of what they wrote) ---------------------------------------
inline std::uint8_t* put_length(std::uint8_t* p, std::size_t len) noexcept {
  const std::size_t n = length_octets(len);
  if (n == 1) {
    *p++ = static_cast<std::uint8_t>(len);
    return p;
  }
  *p++ = static_cast<std::uint8_t>(0x80 | (n - 1));
  for (std::size_t i = n - 1; i-- > 0;) *p++ = static_cast<std::uint8_t>(len >> (8 * i));
  return p;
}
inline std::uint8_t* put_header(std::uint8_t* p, std::uint8_t tag, std::size_t len) noexcept {
  *p++ = tag;
  return put_length(p, len);
}
inline std::uint8_t* put_int(std::uint8_t* p, std::uint8_t tag, std::int64_t v) noexcept {
  const std::size_t n = int_octets(v);
  p = put_header(p, tag, n);
  for (std::size_t i = n; i-- > 0;)
    *p++ = static_cast<std::uint8_t>(static_cast<std::uint64_t>(v) >> (8 * i));
  return p;
}
inline std::uint8_t* put_uint(std::uint8_t* p, std::uint8_t tag, std::uint64_t v) noexcept {
  const std::size_t n = uint_octets(v);
  p = put_header(p, tag, n);
  for (std::size_t i = n; i-- > 0;) *p++ = i >= 8 ? 0 : static_cast<std::uint8_t>(v >> (8 * i));
  return p;
}
inline std::uint8_t* put_subid(std::uint8_t* p, std::uint64_t v) noexcept {
  const std::size_t n = subid_octets(v);
  for (std::size_t i = n; i-- > 0;) {
    const auto b = static_cast<std::uint8_t>((v >> (7 * i)) & 0x7F);
    *p++ = i ? (b | 0x80) : b;
  }
  return p;
}
inline std::uint8_t* put_oid_content(std::uint8_t* p,
                                     std::span<const std::uint32_t> arcs) noexcept {
  p = put_subid(p, std::uint64_t{arcs[0]} * 40 + arcs[1]);
  for (std::size_t i = 2; i < arcs.size(); ++i) p = put_subid(p, arcs[i]);
  return p;
}
inline std::uint8_t* put_bytes(std::uint8_t* p, const void* data, std::size_t n) noexcept {
  if (n) std::memcpy(p, data, n);
  return p + n;
}

// ---- growable writers (template pre-encoding; not on the hot path) ---------------------------
inline void append_header(std::vector<std::uint8_t>& out, std::uint8_t tag, std::size_t len) {
  std::uint8_t tmp[8];
  out.insert(out.end(), tmp, put_header(tmp, tag, len));
}
inline void append_int(std::vector<std::uint8_t>& out, std::uint8_t tag, std::int64_t v) {
  std::uint8_t tmp[16];
  out.insert(out.end(), tmp, put_int(tmp, tag, v));
}
inline void append_uint(std::vector<std::uint8_t>& out, std::uint8_t tag, std::uint64_t v) {
  std::uint8_t tmp[16];
  out.insert(out.end(), tmp, put_uint(tmp, tag, v));
}
inline void append_oid(std::vector<std::uint8_t>& out, std::span<const std::uint32_t> arcs) {
  append_header(out, tag_oid, oid_octets(arcs));
  const std::size_t at = out.size();
  out.resize(at + oid_octets(arcs));
  put_oid_content(out.data() + at, arcs);
}
inline void append_string(std::vector<std::uint8_t>& out, std::uint8_t tag, const void* data,
                          std::size_t n) {
  append_header(out, tag, n);
  const auto* b = static_cast<const std::uint8_t*>(data);
  out.insert(out.end(), b, b + n);
}

// ---- bounds-checked reader -------------------------------------------------------------------
struct reader {
  const std::uint8_t* p;
  const std::uint8_t* end;
  bool outermost;  // the container is the packet itself: running out is `truncated`

  bool empty() const noexcept { return p == end; }

  // Reads one tag + length; `content` is set to the value bytes and the reader moves past them.
  error read(std::uint8_t& tag, std::span<const std::uint8_t>& content) noexcept {
    if (p == end) return error::truncated;
    tag = *p++;
    if ((tag & 0x1F) == 0x1F) return error::bad_tag;  // multi-byte tags never occur in SNMP
    if (p == end) return error::truncated;
    std::size_t len = *p++;
    if (len & 0x80) {
      const std::size_t n = len & 0x7F;
      if (n == 0 || n > 4) return error::bad_length;  // indefinite or absurd
      if (static_cast<std::size_t>(end - p) < n) return error::truncated;
      len = 0;
      for (std::size_t i = 0; i < n; ++i) len = (len << 8) | *p++;
    }
    if (len > static_cast<std::size_t>(end - p))
      return outermost ? error::truncated : error::bad_length;
    content = {p, len};
    p += len;
    return error::ok;
  }

  error expect(std::uint8_t want, std::span<const std::uint8_t>& content) noexcept {
    std::uint8_t tag = 0;
    if (auto e = read(tag, content); e != error::ok) return e;
    return tag == want ? error::ok : error::bad_tag;
  }

  error read_int32(std::int32_t& v) noexcept {
    std::span<const std::uint8_t> c;
    if (auto e = expect(tag_integer, c); e != error::ok) return e;
    if (c.empty() || c.size() > 5) return error::bad_integer;
    std::int64_t x = (c[0] & 0x80) ? -1 : 0;
    for (auto b : c) x = static_cast<std::int64_t>((static_cast<std::uint64_t>(x) << 8) | b);
    if (x < INT32_MIN || x > INT32_MAX) return error::bad_integer;
    v = static_cast<std::int32_t>(x);
    return error::ok;
  }
};

inline reader sub_reader(std::span<const std::uint8_t> c) noexcept {
  return {c.data(), c.data() + c.size(), false};
}

// Decodes OID content bytes into arcs (at most max_arcs). Returns the count, or 0 on error.
inline std::size_t decode_oid(std::span<const std::uint8_t> c, std::uint32_t* arcs,
                              std::size_t max_arcs) noexcept {
  if (c.empty() || max_arcs < 2) return 0;
  std::size_t n = 0;
  std::size_t i = 0;
  bool first = true;
  while (i < c.size()) {
    if (c[i] == 0x80) return 0;  // non-minimal sub-identifier
    std::uint64_t v = 0;
    for (;;) {
      if (i >= c.size()) return 0;  // the last sub-identifier does not end
      const std::uint8_t b = c[i++];
      v = (v << 7) | (b & 0x7F);
      if (v > 0xFFFFFFFFull) return 0;  // every sub-identifier, the first too (as net-snmp)
      if (!(b & 0x80)) break;
    }
    if (first) {
      const std::uint64_t a0 = v < 40 ? 0 : v < 80 ? 1 : 2;
      const std::uint64_t a1 = v - a0 * 40;
      arcs[n++] = static_cast<std::uint32_t>(a0);
      arcs[n++] = static_cast<std::uint32_t>(a1);
      first = false;
    } else {
      if (v > 0xFFFFFFFFull || n >= max_arcs) return 0;
      arcs[n++] = static_cast<std::uint32_t>(v);
    }
  }
  return n;
}

}  // namespace fleetpoll::fleetsim::ber
