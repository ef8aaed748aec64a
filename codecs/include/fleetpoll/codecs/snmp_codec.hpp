// fleetpoll::codecs — SNMPv1/v2c message encoding and decoding (no I/O, no sockets).
//
// encode_request writes GET / GETNEXT / GETBULK messages into a caller's buffer; decode_response
// reads Response and Report messages into an owned, compact form. BER is done by net-snmp's
// codec functions, confined to one translation unit (its macros leak, its globals are not
// thread-safe in Debian's build); no net-snmp session, socket or MIB file is ever used.
//
// Errors: a codecs::error as std::error_code; never an exception, a crash or an out-of-bounds
// read, whatever the input bytes are.
// Thread safety: every function may be called from any thread; calls into net-snmp are
// serialized by one process-wide mutex inside the codec (see docs/architecture.md).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "fleetpoll/codecs/error.hpp"
#include "fleetpoll/codecs/value.hpp"

namespace fleetpoll::codecs {

enum class snmp_version : std::uint8_t { v1 = 0, v2c = 1 };

enum class pdu_type : std::uint8_t {
  get = 0xA0,
  get_next = 0xA1,
  response = 0xA2,
  set = 0xA3,
  trap_v1 = 0xA4,
  get_bulk = 0xA5,
  inform = 0xA6,
  trap_v2 = 0xA7,
  report = 0xA8,
};

// A request to encode. GETBULK is v2c only; non_repeaters/max_repetitions are used only by it.
struct snmp_request {
  snmp_version version = snmp_version::v2c;
  std::string_view community = "public";
  pdu_type type = pdu_type::get;
  std::int32_t request_id = 0;
  std::int32_t non_repeaters = 0;
  std::int32_t max_repetitions = 10;
  std::span<const oid> names;  // 1..max_request_names OIDs; values are encoded as NULL
};

inline constexpr std::size_t max_request_names = 128;
// The largest number of varbinds decode_response accepts in one message.
inline constexpr std::size_t max_response_varbinds = 2048;

// Encodes req into out. On success returns {} and sets written to the message length.
// Errors: invalid_request (no names, too many names, GETBULK on v1, negative bulk fields, an
// empty OID), buffer_too_small.
std::error_code encode_request(const snmp_request& req, std::span<std::uint8_t> out,
                               std::size_t& written);

struct snmp_response {
  snmp_version version = snmp_version::v2c;
  std::string community;
  pdu_type type = pdu_type::response;  // response or report
  std::int32_t request_id = 0;
  std::int32_t error_status = 0;  // RFC 3416 error-status (0 noError, 1 tooBig, 2 noSuchName, ...)
  std::int32_t error_index = 0;
  std::vector<varbind> varbinds;
};

// Decodes one whole UDP payload. On error, out is left in an unspecified but valid state.
// Errors: truncated, bad_length, bad_tag, bad_version, bad_pdu_type, bad_integer, bad_oid,
// bad_value, trailing_data, too_many_varbinds.
std::error_code decode_response(std::span<const std::uint8_t> packet, snmp_response& out);

// The request-id of a message without decoding the rest (for demultiplexing), or an error.
// Cheap: reads only the headers, does not touch net-snmp.
std::error_code peek_request_id(std::span<const std::uint8_t> packet, std::int32_t& request_id);

}  // namespace fleetpoll::codecs
