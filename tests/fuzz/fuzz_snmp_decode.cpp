// libFuzzer: decode_response and peek_request_id on any bytes. Neither may crash or read out of
// bounds; they must agree on the request-id of every packet decode accepts; what decode accepts
// re-encodes (as a request of the same names) whenever the names are valid request OIDs.
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "fleetpoll/codecs/snmp_codec.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace c = fleetpoll::codecs;
  std::span<const std::uint8_t> packet(data, size);
  c::snmp_response r;
  auto ec = c::decode_response(packet, r);
  std::int32_t id = 0;
  auto peek_ec = c::peek_request_id(packet, id);
  if (ec) return 0;
  if (peek_ec || id != r.request_id) __builtin_trap();  // peek must agree with a full decode
  if (r.varbinds.size() > c::max_response_varbinds) __builtin_trap();
  for (const auto& vb : r.varbinds) (void)vb.val.to_string();

  std::vector<c::oid> names;
  for (const auto& vb : r.varbinds)
    if (names.size() < c::max_request_names) names.push_back(vb.name);
  if (names.empty()) return 0;
  c::snmp_request req;
  req.version = r.version;
  req.community = r.community;
  req.request_id = r.request_id;
  req.names = names;
  std::vector<std::uint8_t> out(65536);
  std::size_t n = 0;
  (void)c::encode_request(req, out, n);  // may refuse odd names (invalid_request), never crash
  return 0;
}
