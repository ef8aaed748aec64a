// fleetpoll::storage — decoders of the values the database stores, for tools and fuzzing.
//
// The store and the reader use the same functions on every value they read; a value that does
// not decode is skipped and counted (fleetpoll_storage_corrupt_values_total), never trusted.
// The byte layout they read is docs/storage-format.md.
// Thread safety: pure functions.
#pragma once

#include <string_view>

#include "fleetpoll/storage/views.hpp"

namespace fleetpoll::storage {

// A samples-column-family entry (29-byte key, compact value). False for anything malformed.
bool decode_sample(std::string_view key, std::string_view value, sample& out) noexcept;

// A devices-column-family state value ("FPDS" flatbuffer). False when it fails verification.
bool decode_device_state(std::string_view value, device_view& out);

}  // namespace fleetpoll::storage
