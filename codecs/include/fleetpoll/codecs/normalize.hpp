// fleetpoll::codecs::normalize — Printer-MIB / Host-Resources view -> DeviceSnapshot flatbuffer.
//
// One function from what an agent said (an OID -> value mib_view, from a live walk or a
// .snmprec recording; the normalizer cannot tell which) to a finished, verifiable
// fleetpoll.schema.DeviceSnapshot (codecs/schema/snapshot.fbs). The rules are in
// docs/normalization.md; the fields in docs/snapshot-schema.md.
//
// Contract
// - Never invents a number: a column the agent did not send is absent in the snapshot, not 0.
//   RFC 3805 special values (-1, -2, -3) are kept raw and given a LevelQuality; a percent is
//   set only when it is really known.
// - Total: any view, however odd (wrong types, missing columns, garbage bytes), gives a valid
//   snapshot; strings in it are valid UTF-8.
// - sysContact names a person: it is left out unless options.include_contact.
// Ownership: the returned buffer owns its bytes; the view is only read during the call.
// Thread safety: pure function of its arguments; call from any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <flatbuffers/flatbuffers.h>

#include "fleetpoll/codecs/mib_view.hpp"
#include "fleetpoll/schema/snapshot_generated.h"

namespace fleetpoll::codecs {

struct normalize_options {
  // Copy sysContact into identity.sys_contact. It names a person (privacy allowlist).
  // Default: false.
  bool include_contact = false;
  // When the view was collected, Unix epoch milliseconds; absent leaves polled_at_ms absent.
  // Default: absent.
  std::optional<std::uint64_t> polled_at_ms;
  // Where the view came from (recording file names, "host:port"), copied to `source`.
  // Default: empty (field absent).
  std::string source;
};

// Normalizes one device's view. The result starts with a DeviceSnapshot root (file identifier
// "FPSN"); read it with snapshot_of().
flatbuffers::DetachedBuffer normalize(const mib_view& view, const normalize_options& options = {});

// The root table of a buffer returned by normalize(). For untrusted bytes, verify first with
// verify_snapshot().
inline const schema::DeviceSnapshot* snapshot_of(const flatbuffers::DetachedBuffer& buffer) {
  return schema::GetDeviceSnapshot(buffer.data());
}
// True when bytes hold a structurally valid DeviceSnapshot (flatbuffers verifier).
bool verify_snapshot(std::span<const std::uint8_t> bytes);

// ---- individual rules, exposed for tests, the simulator and the docs --------------------------

// prtMarkerSuppliesDescription as a human reads it: HP's split lines of hex pairs decoded and
// joined, a whole description of space-separated hex pairs decoded, NUL padding removed,
// invalid UTF-8 read as Latin-1, control characters and repeated blanks collapsed, and
// everything from ", PN" on cut off.
std::string clean_description(std::string_view raw);

// Text from an agent as valid, trimmed UTF-8 (NULs dropped, invalid UTF-8 read as Latin-1,
// control characters replaced by blanks).
std::string display_text(std::string_view raw);

// The colorant a supply description names ("Black Cartridge 827A" -> "black", "CANON Matte
// Black Ink Tank" -> "matte black", "黑色碳粉" -> "black"), or empty.
std::string infer_colorant(std::string_view description);

// hrPrinterDetectedErrorState bits, both octets (bit 0 = MSB of octet 0); bits beyond 15 are
// not named and left out.
std::vector<schema::PrinterCondition> decode_error_state(std::string_view octets);

// Quality and percent of a level against a capacity (RFC 3805 semantics).
struct level_judgement {
  schema::LevelQuality quality = schema::LevelQuality::missing;
  std::optional<std::int16_t>
      percent;  // of max_capacity, rounded half up; set for exact / percent_only
};
struct level_input {
  std::optional<std::int64_t> level;
  std::optional<std::int64_t> max_capacity;
  std::optional<std::int32_t> unit;         // PrtMarkerSuppliesSupplyUnitTC / PrtCapacityUnitTC
  bool capacity_100_means_percent = false;  // supplies: max 100 without a unit is a percent scale
  bool status_codes = false;                // the device reports 0..3 status codes (Brother)
};
level_judgement judge_level(const level_input& in);

}  // namespace fleetpoll::codecs
