// A tiny BER writer for tests: builds SNMP messages byte by byte so tests can make valid packets
// and bend them (wrong lengths, wrong tags, extra bytes) independently of the codec under test.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string_view>
#include <vector>

namespace fleetpoll::test::ber {

using bytes = std::vector<std::uint8_t>;

inline bytes length(std::size_t n) {
  if (n < 0x80) return {static_cast<std::uint8_t>(n)};
  bytes b;
  for (std::size_t v = n; v != 0; v >>= 8) b.insert(b.begin(), static_cast<std::uint8_t>(v & 0xFF));
  b.insert(b.begin(), static_cast<std::uint8_t>(0x80 | b.size()));
  return b;
}

inline bytes tlv(std::uint8_t tag, const bytes& content) {
  bytes out{tag};
  auto l = length(content.size());
  out.insert(out.end(), l.begin(), l.end());
  out.insert(out.end(), content.begin(), content.end());
  return out;
}

inline bytes cat(std::initializer_list<bytes> parts) {
  bytes out;
  for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

inline bytes integer(std::int64_t v, std::uint8_t tag = 0x02) {
  bytes c;
  do {
    c.insert(c.begin(), static_cast<std::uint8_t>(v & 0xFF));
    v >>= 8;
  } while (!((v == 0 && !(c.front() & 0x80)) || (v == -1 && (c.front() & 0x80))));
  return tlv(tag, c);
}

inline bytes unsigned_int(std::uint64_t v, std::uint8_t tag) {
  bytes c;
  do {
    c.insert(c.begin(), static_cast<std::uint8_t>(v & 0xFF));
    v >>= 8;
  } while (v != 0);
  if (c.front() & 0x80) c.insert(c.begin(), 0);
  return tlv(tag, c);
}

inline bytes octets(std::string_view s, std::uint8_t tag = 0x04) {
  return tlv(tag, bytes(s.begin(), s.end()));
}

inline bytes object_id(std::initializer_list<std::uint64_t> arcs) {
  bytes c;
  auto it = arcs.begin();
  std::uint64_t first = *it++ * 40;
  if (it != arcs.end()) first += *it++;
  auto put = [&c](std::uint64_t v) {
    bytes sub{static_cast<std::uint8_t>(v & 0x7F)};
    for (v >>= 7; v != 0; v >>= 7)
      sub.insert(sub.begin(), static_cast<std::uint8_t>(0x80 | (v & 0x7F)));
    c.insert(c.end(), sub.begin(), sub.end());
  };
  put(first);
  for (; it != arcs.end(); ++it) put(*it);
  return tlv(0x06, c);
}

inline bytes seq(std::initializer_list<bytes> parts) {
  return tlv(0x30, cat(parts));
}

// A whole message: version, community, PDU(tag) with request-id, two integers and varbinds.
inline bytes message(std::int64_t version, std::string_view community, std::uint8_t pdu_tag,
                     std::int64_t request_id, const bytes& varbind_list, std::int64_t f2 = 0,
                     std::int64_t f3 = 0) {
  return seq({integer(version), octets(community),
              tlv(pdu_tag, cat({integer(request_id), integer(f2), integer(f3), varbind_list}))});
}

}  // namespace fleetpoll::test::ber
