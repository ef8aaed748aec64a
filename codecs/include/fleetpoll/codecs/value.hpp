// fleetpoll::codecs::value and varbind — SNMP values in a compact, owned, typed form.
//
// The same representation comes out of the SNMP decoder, the .snmprec loader and (later) the
// simulator, so the normalizer cannot tell a live walk from a recording.
// Thread safety: plain value types.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "fleetpoll/codecs/oid.hpp"

namespace fleetpoll::codecs {

// BER tags of the SNMP value types (RFC 2578 / RFC 3416). The numbers are also the tags of the
// snmpsim .snmprec format.
enum class value_type : std::uint8_t {
  integer = 0x02,
  octet_string = 0x04,
  null = 0x05,
  object_id = 0x06,
  ip_address = 0x40,
  counter32 = 0x41,
  gauge32 = 0x42,
  timeticks = 0x43,
  opaque = 0x44,
  counter64 = 0x46,
  no_such_object = 0x80,
  no_such_instance = 0x81,
  end_of_mib_view = 0x82,
};

// "INTEGER", "OCTET STRING", ..., "endOfMibView"; "?" for a value outside the enum.
std::string_view to_string(value_type t) noexcept;

struct value {
  value_type type = value_type::null;
  // INTEGER: the signed value stored as two's complement; Counter32/Gauge32/TimeTicks/Counter64:
  // the unsigned value. Unused for other types.
  std::uint64_t number = 0;
  // OCTET STRING and Opaque: the raw bytes; IpAddress: the 4 address bytes.
  std::string bytes;
  // OBJECT IDENTIFIER.
  oid object;

  static value make_integer(std::int64_t v) {
    return {value_type::integer, static_cast<std::uint64_t>(v), {}, {}};
  }
  static value make_unsigned(value_type t, std::uint64_t v) { return {t, v, {}, {}}; }
  static value make_string(std::string s) {
    return {value_type::octet_string, 0, std::move(s), {}};
  }
  static value make_oid(oid o) { return {value_type::object_id, 0, {}, std::move(o)}; }
  static value make(value_type t) { return {t, 0, {}, {}}; }

  std::int64_t integer() const noexcept { return static_cast<std::int64_t>(number); }
  bool is_exception() const noexcept {
    return type == value_type::no_such_object || type == value_type::no_such_instance ||
           type == value_type::end_of_mib_view;
  }
  bool is_numeric() const noexcept {
    return type == value_type::integer || type == value_type::counter32 ||
           type == value_type::gauge32 || type == value_type::timeticks ||
           type == value_type::counter64;
  }

  // A readable rendering for logs and tests: 42, "text", 1.3.6.1, 127.0.0.1, 0x00ff, ...
  std::string to_string() const;

  friend bool operator==(const value&, const value&) = default;
};

struct varbind {
  oid name;
  value val;
  friend bool operator==(const varbind&, const varbind&) = default;
};

}  // namespace fleetpoll::codecs
