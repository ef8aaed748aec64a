#include "keys.hpp"

#include <limits>

namespace fleetpoll::storage::detail {

const char* cf_name(std::size_t i) noexcept {
  switch (i) {
    case cf_default:
      return "default";
    case cf_meta:
      return "meta";
    case cf_devices:
      return "devices";
    case cf_samples:
      return "samples";
    case cf_events:
      return "events";
    case cf_outbox:
      return "outbox";
  }
  return "?";
}

void put_be32(std::string& out, std::uint32_t v) {
  for (int s = 24; s >= 0; s -= 8) out.push_back(static_cast<char>((v >> s) & 0xFF));
}
void put_be64(std::string& out, std::uint64_t v) {
  for (int s = 56; s >= 0; s -= 8) out.push_back(static_cast<char>((v >> s) & 0xFF));
}
std::string be32(std::uint32_t v) {
  std::string s;
  put_be32(s, v);
  return s;
}
std::string be64(std::uint64_t v) {
  std::string s;
  put_be64(s, v);
  return s;
}
std::uint32_t get_be32(const char* p) noexcept {
  std::uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}
std::uint64_t get_be64(const char* p) noexcept {
  std::uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}

std::string device_key(std::uint64_t device_id) {
  std::string k(1, device_key_tag);
  put_be64(k, device_id);
  return k;
}

std::string address_key(std::string_view address) {
  std::string k(1, address_key_tag);
  k.append(address);
  return k;
}

std::string week_device_prefix(std::uint32_t week, std::uint64_t device_id) {
  std::string k;
  k.reserve(sample_key_size);
  put_be32(k, week);
  put_be64(k, device_id);
  return k;
}

std::string series_prefix(std::uint32_t week, std::uint64_t device_id, series_kind kind,
                          std::uint32_t hr_device_index, std::uint32_t index) {
  std::string k = week_device_prefix(week, device_id);
  k.push_back(static_cast<char>(kind));
  put_be32(k, hr_device_index);
  put_be32(k, index);
  return k;
}

std::string sample_key(std::uint64_t device_id, series_kind kind, std::uint32_t hr_device_index,
                       std::uint32_t index, std::uint64_t at_ms) {
  std::string k = series_prefix(week_of(at_ms), device_id, kind, hr_device_index, index);
  put_be64(k, at_ms);
  return k;
}

bool parse_sample_key(std::string_view key, sample_key_parts& out) noexcept {
  if (key.size() != sample_key_size) return false;
  const char* p = key.data();
  out.week = get_be32(p);
  out.device_id = get_be64(p + 4);
  out.kind = static_cast<series_kind>(static_cast<unsigned char>(p[12]));
  out.hr_device_index = get_be32(p + 13);
  out.index = get_be32(p + 17);
  out.at_ms = get_be64(p + 21);
  return true;
}

std::string event_key(std::uint64_t device_id, std::uint64_t at_ms, std::uint64_t seq) {
  std::string k = week_device_prefix(week_of(at_ms), device_id);
  put_be64(k, at_ms);
  put_be64(k, seq);
  return k;
}

std::string outbox_key(std::uint64_t seq) {
  std::string k;
  put_be64(k, seq);
  return k;
}

// ---- varints (LEB128; zig-zag for signed) ----
void put_uvarint(std::string& out, std::uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7F) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}
void put_svarint(std::string& out, std::int64_t v) {
  put_uvarint(out, (static_cast<std::uint64_t>(v) << 1) ^ static_cast<std::uint64_t>(v >> 63));
}
bool get_uvarint(std::string_view& in, std::uint64_t& v) noexcept {
  v = 0;
  for (int shift = 0; shift < 64 && !in.empty(); shift += 7) {
    const auto b = static_cast<unsigned char>(in.front());
    in.remove_prefix(1);
    v |= static_cast<std::uint64_t>(b & 0x7F) << shift;
    if ((b & 0x80) == 0) return true;
  }
  return false;
}
bool get_svarint(std::string_view& in, std::int64_t& v) noexcept {
  std::uint64_t u = 0;
  if (!get_uvarint(in, u)) return false;
  v = static_cast<std::int64_t>((u >> 1) ^ (~(u & 1) + 1));
  return true;
}

namespace {

template <class T>
bool get_int(std::string_view& in, std::optional<T>& out) noexcept {
  std::int64_t v = 0;
  if (!get_svarint(in, v)) return false;
  if (v < std::numeric_limits<T>::min() || v > std::numeric_limits<T>::max()) return false;
  out = static_cast<T>(v);
  return true;
}

}  // namespace

// supply, tray:  u8 quality | u8 flags (1 level, 2 max, 4 percent, 8 pages) | zz level | zz max |
//                zz percent | uv pages
// counter:       u8 flags (1 count) | uv count
// status:        u8 flags (1 device status, 2 printer status) | zz device | zz printer | uv
// conditions reachability:  u8 up | uv failed_polls
std::string encode_sample_value(const sample& s) {
  std::string v;
  switch (s.kind) {
    case series_kind::supply:
    case series_kind::tray: {
      v.push_back(static_cast<char>(s.quality));
      std::uint8_t flags =
          (s.level ? 1 : 0) | (s.max_capacity ? 2 : 0) | (s.percent ? 4 : 0) | (s.pages ? 8 : 0);
      v.push_back(static_cast<char>(flags));
      if (s.level) put_svarint(v, *s.level);
      if (s.max_capacity) put_svarint(v, *s.max_capacity);
      if (s.percent) put_svarint(v, *s.percent);
      if (s.pages) put_uvarint(v, *s.pages);
      break;
    }
    case series_kind::counter:
      v.push_back(static_cast<char>(s.count ? 1 : 0));
      if (s.count) put_uvarint(v, *s.count);
      break;
    case series_kind::status: {
      std::uint8_t flags = (s.hr_device_status ? 1 : 0) | (s.hr_printer_status ? 2 : 0);
      v.push_back(static_cast<char>(flags));
      if (s.hr_device_status) put_svarint(v, *s.hr_device_status);
      if (s.hr_printer_status) put_svarint(v, *s.hr_printer_status);
      put_uvarint(v, s.conditions);
      break;
    }
    case series_kind::reachability:
      v.push_back(static_cast<char>(s.up ? 1 : 0));
      put_uvarint(v, s.failed_polls);
      break;
  }
  return v;
}

bool decode_sample_value(std::string_view in, sample& s) noexcept {
  if (in.empty()) return false;
  const auto first = static_cast<unsigned char>(in.front());
  in.remove_prefix(1);
  switch (s.kind) {
    case series_kind::supply:
    case series_kind::tray: {
      if (first > static_cast<unsigned>(schema::LevelQuality::MAX) || in.empty()) return false;
      s.quality = static_cast<schema::LevelQuality>(first);
      const auto flags = static_cast<unsigned char>(in.front());
      in.remove_prefix(1);
      if (flags & ~0x0Fu) return false;
      if ((flags & 1) && !get_int(in, s.level)) return false;
      if ((flags & 2) && !get_int(in, s.max_capacity)) return false;
      if ((flags & 4) && !get_int(in, s.percent)) return false;
      if (flags & 8) {
        std::uint64_t p = 0;
        if (!get_uvarint(in, p)) return false;
        s.pages = p;
      }
      break;
    }
    case series_kind::counter:
      if (first & ~0x01u) return false;
      if (first & 1) {
        std::uint64_t c = 0;
        if (!get_uvarint(in, c)) return false;
        s.count = c;
      }
      break;
    case series_kind::status: {
      if (first & ~0x03u) return false;
      if ((first & 1) && !get_int(in, s.hr_device_status)) return false;
      if ((first & 2) && !get_int(in, s.hr_printer_status)) return false;
      std::uint64_t c = 0;
      if (!get_uvarint(in, c) || c > 0xFFFF) return false;
      s.conditions = static_cast<std::uint16_t>(c);
      break;
    }
    case series_kind::reachability: {
      if (first > 1) return false;
      s.up = first == 1;
      std::uint64_t f = 0;
      if (!get_uvarint(in, f) || f > UINT32_MAX) return false;
      s.failed_polls = static_cast<std::uint32_t>(f);
      break;
    }
    default:
      return false;
  }
  return in.empty();
}

}  // namespace fleetpoll::storage::detail
