// fleetpoll::fleetsim — the agent side of SNMPv1/v2c BER: decode GET / GETNEXT / GETBULK requests
// (outside input), encode requests for load generators.
//
// Hand-written on purpose, not net-snmp: the simulator must answer >= 150k requests/s on one
// core, and net-snmp's snmp_parse/snmp_build cost ~2 us and several allocations per packet and
// keep unguarded globals (docs/fleetsim.md, "Why the agent's BER is hand-written"). The manager
// side of fleetpoll uses codecs/snmp_codec.hpp; tests of fleetsim decode its replies with that
// codec or with net-snmp's tools, never with this file.
//
// decode_request reads a whole UDP payload in place: it never allocates, never reads outside
// the packet, and rejects (with a fleetsim::error) anything that is not exactly one well-formed
// v1/v2c GET, GETNEXT or GETBULK message within the limits below. Fuzzed by
// tests/fuzz/fuzz_fleetsim_request.cpp.
// Thread safety: free functions; a decoded_request is a plain object (one per thread).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <system_error>

namespace fleetpoll::fleetsim {

enum class request_pdu : std::uint8_t { get = 0xA0, get_next = 0xA1, get_bulk = 0xA5 };

// One decoded request. The spans point into the packet given to decode_request, which must
// outlive this object; OIDs are decoded into arcs held here.
struct decoded_request {
  static constexpr std::size_t max_names = 128;        // varbinds per request
  static constexpr std::size_t max_arcs = 128;         // arcs per OID (RFC 2578)
  static constexpr std::size_t max_total_arcs = 4096;  // arcs over all names of one request
  static constexpr std::size_t max_community = 255;    // bytes

  std::uint8_t version = 0;  // 0 = SNMPv1, 1 = SNMPv2c
  std::span<const std::uint8_t> community;
  request_pdu pdu = request_pdu::get;
  std::int32_t request_id = 0;
  std::int32_t non_repeaters = 0;    // GETBULK only (error-status of GET/GETNEXT is ignored)
  std::int32_t max_repetitions = 0;  // GETBULK only (error-index of GET/GETNEXT is ignored)
  // The bytes inside the VarBindList SEQUENCE, as received.
  std::span<const std::uint8_t> varbind_list;
  std::size_t name_count = 0;

  std::span<const std::uint32_t> name(std::size_t i) const noexcept {
    return {arcs.data() + names[i].offset, names[i].length};
  }

  struct name_ref {
    std::uint16_t offset = 0;
    std::uint16_t length = 0;
  };
  std::array<name_ref, max_names> names{};
  std::array<std::uint32_t, max_total_arcs> arcs{};
};

// Decodes one UDP payload. Errors: truncated, bad_length, bad_tag, bad_version, bad_pdu_type,
// bad_integer, bad_oid, trailing_data, too_many_names, bad_community. On error `out` holds
// partial, meaningless data.
std::error_code decode_request(std::span<const std::uint8_t> packet, decoded_request& out);

// Encodes a v1/v2c GET/GETNEXT/GETBULK with NULL values into out; returns the length, or 0 when
// out is too small or the request is invalid (GETBULK on v1, an OID with fewer than 2 arcs or a
// first arc over 2). For load generators and this module's own tests of the decoder; the
// request-id is written as a 4-byte INTEGER at a fixed offset (request_id_offset) so a
// generator can patch it in place.
struct request_spec {
  std::uint8_t version = 1;  // 0 = v1, 1 = v2c
  std::string_view community = "public";
  request_pdu pdu = request_pdu::get;
  std::int32_t request_id = 1;
  std::int32_t non_repeaters = 0;
  std::int32_t max_repetitions = 10;
  std::span<const std::span<const std::uint32_t>> names;
};
std::size_t encode_request(const request_spec& spec, std::span<std::uint8_t> out);
// Offset of the 4 request-id bytes (big endian) in a message from encode_request.
std::size_t request_id_offset(const request_spec& spec);

}  // namespace fleetpoll::fleetsim
