// Internal: column families, key and value encodings (docs/storage-format.md is the reference;
// keep the two in step). Every fixed-width integer is big-endian, so byte order is numeric order.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "fleetpoll/storage/views.hpp"

namespace fleetpoll::storage::detail {

// Column families, in the order they are opened (handles are indexed by this enum).
enum cf : std::size_t {
  cf_default = 0,
  cf_meta,
  cf_devices,
  cf_samples,
  cf_events,
  cf_outbox,
  cf_count
};
const char* cf_name(std::size_t i) noexcept;

// Time partition of samples and events: whole weeks since the Unix epoch. Retention drops whole
// weeks; a query filters the partly expired week by time.
inline constexpr std::uint64_t week_ms = 7ull * 24 * 3600 * 1000;
inline std::uint32_t week_of(std::uint64_t at_ms) noexcept {
  return static_cast<std::uint32_t>(at_ms / week_ms);
}

// ---- fixed-width big-endian ----
void put_be32(std::string& out, std::uint32_t v);
void put_be64(std::string& out, std::uint64_t v);
std::uint32_t get_be32(const char* p) noexcept;
std::uint64_t get_be64(const char* p) noexcept;
std::string be32(std::uint32_t v);
std::string be64(std::uint64_t v);

// ---- meta keys ----
inline constexpr std::string_view meta_format_version = "format_version";  // be32
inline constexpr std::string_view meta_site_id = "site_id";                // UTF-8 text
inline constexpr std::string_view meta_created_ms = "created_ms";          // be64
inline constexpr std::string_view meta_last_seq = "last_seq";              // be64
inline constexpr std::string_view meta_retention_ms = "retention_ms";      // be64
inline constexpr std::string_view meta_writer = "writer";  // text: "fleetpoll 0.1.0"

// ---- devices ----
std::string device_key(std::uint64_t device_id);    // 'D' be64(id)
std::string address_key(std::string_view address);  // 'A' address
inline constexpr char device_key_tag = 'D';
inline constexpr char address_key_tag = 'A';

// ---- samples: be32 week | be64 device | u8 kind | be32 hr_device_index | be32 index | be64 at_ms
inline constexpr std::size_t sample_key_size = 29;
std::string sample_key(std::uint64_t device_id, series_kind kind, std::uint32_t hr_device_index,
                       std::uint32_t index, std::uint64_t at_ms);
std::string week_device_prefix(std::uint32_t week, std::uint64_t device_id);  // 12 bytes
std::string series_prefix(std::uint32_t week, std::uint64_t device_id, series_kind kind,
                          std::uint32_t hr_device_index, std::uint32_t index);  // 21 bytes
struct sample_key_parts {
  std::uint32_t week = 0;
  std::uint64_t device_id = 0;
  series_kind kind = series_kind::supply;
  std::uint32_t hr_device_index = 0;
  std::uint32_t index = 0;
  std::uint64_t at_ms = 0;
};
bool parse_sample_key(std::string_view key, sample_key_parts& out) noexcept;

// ---- events: be32 week | be64 device | be64 at_ms | be64 seq -> ChangeRecord bytes
inline constexpr std::size_t event_key_size = 28;
std::string event_key(std::uint64_t device_id, std::uint64_t at_ms, std::uint64_t seq);

// ---- outbox: be64 seq -> be64 created_ms, ChangeRecord bytes
std::string outbox_key(std::uint64_t seq);
inline constexpr std::size_t outbox_header_size = 8;

// ---- sample values (compact, see docs/storage-format.md "samples") ----
std::string encode_sample_value(const sample& s);
// Fills the value fields of `s` (kind must be set). False when the bytes do not decode.
bool decode_sample_value(std::string_view bytes, sample& s) noexcept;

// ---- varints ----
void put_uvarint(std::string& out, std::uint64_t v);
void put_svarint(std::string& out, std::int64_t v);
bool get_uvarint(std::string_view& in, std::uint64_t& v) noexcept;
bool get_svarint(std::string_view& in, std::int64_t& v) noexcept;

}  // namespace fleetpoll::storage::detail
