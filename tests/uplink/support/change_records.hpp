// Test and benchmark helper: plausible ChangeRecord flatbuffers (codecs/schema/change.fbs).
#pragma once

#include <cstdint>
#include <string>

#include "fleetpoll/schema/change_generated.h"

namespace fleetpoll::uplink::test {

// A record of `kind` for device `device` (address 127.1.x.y:161), with fields a real change of
// that kind carries. `value` varies the numbers (counter, level, alert index).
std::string make_change_record(std::uint64_t seq, std::uint64_t device, schema::ChangeKind kind,
                               std::uint64_t at_ms, std::uint64_t value = 0);

}  // namespace fleetpoll::uplink::test
