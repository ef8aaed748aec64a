// fleetpoll::codecs::error — the one error enum of the codecs module.
//
// Every decoder in codecs/ (SNMP packets, .snmprec recordings, batches) reports failure as a
// std::error_code made from this enum. Codes are stable: never renumber, only append.
// Thread safety: the category is a function-local static; safe from any thread.
#pragma once

#include <system_error>

namespace fleetpoll::codecs {

enum class error {
  ok = 0,
  // ---- SNMP/BER decoding ----
  truncated = 1,      // the packet ends inside a TLV
  bad_length,         // a length that is indefinite, over-long, or exceeds its container
  bad_tag,            // a tag that is not what the grammar requires at that position
  bad_version,        // SNMP version other than v1 (0) or v2c (1)
  bad_pdu_type,       // a PDU that is not Response or Report where one was expected
  bad_integer,        // an INTEGER with no bytes or more than fits its type
  bad_oid,            // an OBJECT IDENTIFIER that is empty, over-long or badly encoded
  bad_value,          // a varbind value of a type that SNMP does not allow
  trailing_data,      // bytes after the outer SEQUENCE
  too_many_varbinds,  // more varbinds than the decoder accepts (see snmp_codec.hpp)
  // ---- SNMP/BER encoding ----
  buffer_too_small = 20,  // the caller's buffer cannot hold the encoded packet
  invalid_request,        // a request that cannot be encoded (no OIDs, bad field for the PDU type)
  // ---- .snmprec recordings ----
  snmprec_syntax = 40,    // a line that is not OID|TAG|VALUE
  snmprec_bad_oid,        // the OID field is not dotted decimal
  snmprec_bad_tag,        // an unknown or unsupported tag
  snmprec_bad_value,      // the value does not parse for its tag (number, hex, IP, OID)
  snmprec_duplicate_oid,  // the same OID twice in one file
  io_error,               // the recording could not be read
};

const std::error_category& codecs_category() noexcept;

inline std::error_code make_error_code(error e) noexcept {
  return {static_cast<int>(e), codecs_category()};
}

}  // namespace fleetpoll::codecs

template <>
struct std::is_error_code_enum<fleetpoll::codecs::error> : std::true_type {};
