// fleetpoll::fleetsim::error — the one error enum of the simulator module.
//
// Request decoding (fleetsim's own agent-side BER, agent_codec.hpp), configuration (options,
// fault plans, TOML) and start-up report failures as std::error_code values of this enum.
// Socket errors keep their std::system_category codes. Codes are stable: only append.
// Thread safety: the category is a function-local static; safe from any thread.
#pragma once

#include <system_error>

namespace fleetpoll::fleetsim {

enum class error {
  ok = 0,
  // ---- decoding a request (outside input) ----
  truncated = 1,   // the packet ends inside a TLV
  bad_length,      // indefinite, over-long, or larger than its container
  bad_tag,         // a tag the grammar does not allow at that position
  bad_version,     // an SNMP version other than v1 (0) or v2c (1)
  bad_pdu_type,    // a PDU other than GET, GETNEXT, GETBULK
  bad_integer,     // an INTEGER with no bytes or more than 32 bits of value
  bad_oid,         // an OBJECT IDENTIFIER that is empty, over-long or badly encoded
  trailing_data,   // bytes after the message or after a varbind list
  too_many_names,  // more varbinds than decoded_request::max_names
  bad_community,   // community longer than decoded_request::max_community
  // ---- configuration ----
  no_templates = 20,  // no usable template was given or found
  bad_template,       // a template file that does not load
  bad_address,        // a base address outside 127.0.0.0/8, or a range that leaves it
  bad_option,         // an option out of range (devices, port, acceleration, sizes ...)
  bad_fault_spec,     // a fault plan that does not parse
  bad_config_file,    // a TOML file that does not parse or has unknown keys
  // ---- running ----
  already_started = 40,
  not_started,
};

const std::error_category& fleetsim_category() noexcept;

inline std::error_code make_error_code(error e) noexcept {
  return {static_cast<int>(e), fleetsim_category()};
}

}  // namespace fleetpoll::fleetsim

template <>
struct std::is_error_code_enum<fleetpoll::fleetsim::error> : std::true_type {};
