// fleetpoll::codecs — ChangeRecord flatbuffers (codecs/schema/change.fbs): checks and JSON.
//
// A ChangeRecord is what leaves a site: storage/ builds them, uplink/ batches them, the receiver
// writes them as JSON lines. This header holds what every one of those needs and nothing else.
//
// JSON: field names are the schema's; enums are rendered by name (a value outside the enum as its
// number); absent optional fields are left out (absent is not zero); fields equal to their
// schema default are left out too (flatbuffers does not store them). Rendering uses flatbuffers'
// own reflection (minireflect's ToStringVisitor with quoted keys), so a field appended to the
// schema shows up without code changes here.
// Thread safety: pure functions.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "fleetpoll/schema/change_generated.h"

namespace fleetpoll::codecs {

// True when bytes hold a structurally valid ChangeRecord (flatbuffers verifier, depth and table
// limits) with the "FPCR" file identifier. Untrusted bytes must pass this before any access.
bool verify_change_record(std::span<const std::uint8_t> bytes);

// The record as one line of JSON. Precondition: verify_change_record(bytes).
std::string change_record_json(std::span<const std::uint8_t> bytes);

// The root of verified bytes.
inline const schema::ChangeRecord* change_record_of(std::span<const std::uint8_t> bytes) {
  return schema::GetChangeRecord(bytes.data());
}

}  // namespace fleetpoll::codecs
