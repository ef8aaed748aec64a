// Internal: change detection — the rules that turn (last state, new poll) into ChangeRecords,
// time-series samples and the next state. Pure: no I/O, no clock, no locks. The rules and their
// defaults are documented in docs/storage-format.md ("Change detection"); keep them in step.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <flatbuffers/flatbuffers.h>

#include "device_state.hpp"
#include "fleetpoll/schema/change_generated.h"
#include "fleetpoll/schema/snapshot_generated.h"
#include "fleetpoll/storage/options.hpp"

namespace fleetpoll::storage::detail {

// Records are built with this sequence number and patched (patch_seq) once the number is known.
inline constexpr std::uint64_t seq_placeholder = UINT64_MAX;

struct pending_sample {
  std::string key;
  std::string value;
};

struct detection {
  device_state next;                                 // the state after this poll
  std::vector<flatbuffers::DetachedBuffer> records;  // ChangeRecords, seq = seq_placeholder
  std::vector<pending_sample> samples;               // samples column family puts
};

struct detect_config {
  change_thresholds thresholds;
  std::uint64_t heartbeat_ms = 24ull * 3600 * 1000;
};

// Data class bits of poll_record::classes (codecs::mib::data_class).
inline constexpr std::uint8_t class_identity = 1u << 0, class_status = 1u << 1,
                              class_alerts = 1u << 2, class_supplies = 1u << 3,
                              class_counters = 1u << 4, class_all = 0x1F;

// One successful poll. `prev` is null for a device never ingested (then device_id/address make
// the new state). Precondition: `snap` is a verified DeviceSnapshot.
void detect_poll(const device_state* prev, std::uint64_t device_id, std::string_view address,
                 const schema::DeviceSnapshot& snap, std::uint8_t classes, std::uint64_t at_ms,
                 const detect_config& config, detection& out);

// The engine marked the device unreachable.
void detect_unreachable(const device_state& prev, std::uint64_t at_ms, std::uint32_t failed_polls,
                        std::string_view last_error, const detect_config& config, detection& out);

// Writes `seq` into a record built with seq_placeholder.
void patch_seq(flatbuffers::DetachedBuffer& record, std::uint64_t seq);

}  // namespace fleetpoll::storage::detail
