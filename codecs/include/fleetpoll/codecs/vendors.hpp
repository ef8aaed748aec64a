// fleetpoll::codecs — printer vendors: IANA enterprise numbers, brand names, the vendor-private
// OIDs that carry model / serial / firmware, and the text rules that pull a model out of
// sysDescr or hrDeviceDescr. Data and pure functions; the normalizer decides the order.
//
// Thread safety: immutable tables; functions are pure.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "fleetpoll/codecs/oid.hpp"

namespace fleetpoll::codecs {

struct vendor_entry {
  std::uint32_t enterprise;     // IANA private enterprise number (1.3.6.1.4.1.N)
  std::string_view registrant;  // who holds the number
  std::string_view brand;       // the brand fleetpoll reports as `vendor`
};

// The printer vendors fleetpoll knows, by enterprise number.
std::span<const vendor_entry> vendor_table() noexcept;
const vendor_entry* find_vendor(std::uint32_t enterprise) noexcept;

// The brand a text names at its start ("RICOH MP C2503 ..." -> "Ricoh", "HP ETHERNET ..." ->
// "HP", "Gestetner ..." -> "Gestetner"), or nullopt. Case-insensitive; the brand must be a whole
// word. `matched` receives the length of the matched prefix.
std::optional<std::string_view> brand_at_start(std::string_view text,
                                               std::size_t* matched = nullptr);

// A model string without a leading brand word and without a trailing " series":
// "Brother MFC-L2710DW series" -> "MFC-L2710DW", "HP Color LaserJet M880" -> "Color LaserJet M880".
std::string strip_brand(std::string_view model);

// What sysDescr says about the printer, per brand rules (docs/normalization.md "Identity").
// Fields are empty when sysDescr does not say (e.g. it describes a print server card).
struct sys_descr_facts {
  std::string brand;
  std::string model;
  std::string firmware;
  std::string serial;
};
sys_descr_facts parse_sys_descr(std::string_view sys_descr);

// A field of an IEEE 1284 device ID ("MFG:Hewlett-Packard;MDL:HP LaserJet;...") by any of its
// key spellings ("MDL"/"MODEL", "MFG"/"MANUFACTURER"). Empty when absent.
std::string ieee1284_field(std::string_view device_id, std::string_view key);

// Vendor-private scalars the normalizer reads.
enum class vendor_fact : std::uint8_t { model, serial, firmware, device_id };
struct vendor_scalar {
  vendor_fact fact;
  std::uint32_t enterprise;       // the subtree it lives in
  oid name;                       // full instance OID
  std::string_view strip_prefix;  // text to drop at the start of the value (e.g. "Firmware Ver.")
};
// In priority order per fact.
std::span<const vendor_scalar> vendor_scalars();

}  // namespace fleetpoll::codecs
