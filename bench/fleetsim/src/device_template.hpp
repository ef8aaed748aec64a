// fleetsim internal: a device template — one .snmprec recording prepared for serving.
//
// Rows are sorted in walk order; each holds its OID arcs and its whole varbind pre-encoded in
// BER, so a response is assembled by copying. Rows whose value varies per device or with time
// (identity, levels, counters, status) are marked with a row_kind and encoded at answer time
// from the device model. In living profiles the template's own prtAlertTable rows are removed:
// a device's alert table is generated from its simulated state and spliced in at `alert_at`.
// Ownership: immutable after prepare(); shared by every device made from it.
// Thread safety: const access from any thread.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "fleetpoll/codecs/mib_view.hpp"

namespace fleetpoll::fleetsim::detail {

enum class row_kind : std::uint8_t {
  fixed,              // the pre-encoded varbind, copied as is
  sys_uptime,         // TimeTicks: hundredths of a second since the device's last boot
  sys_name,           // OCTET STRING: the device's sysName
  text,               // OCTET STRING: template text with identity substitutions (param: overlay)
  mac,                // OCTET STRING: the device's 6-byte MAC
  channel_level,      // INTEGER: a live supply level or tray level (param: channel)
  life_count,         // prtMarkerLifeCount (template's type)
  power_on_count,     // prtMarkerPowerOnCount (template's type)
  hr_device_status,   // INTEGER (RFC 2790)
  hr_printer_status,  // INTEGER (RFC 2790)
  error_state,        // OCTET STRING: hrPrinterDetectedErrorState (param: octet count)
};

struct row {
  std::uint32_t arcs_off = 0;
  std::uint16_t arcs_len = 0;
  row_kind kind = row_kind::fixed;
  std::uint8_t type = 0;     // codecs::value_type of the template value
  std::uint32_t vb_off = 0;  // pre-encoded varbind TLV (SEQUENCE { OID, value })
  std::uint16_t vb_len = 0;
  std::uint16_t oid_len = 0;  // length of the OID TLV, which starts at oid_off
  std::uint32_t oid_off = 0;
  std::uint16_t param = 0;
};

enum class identity_field : std::uint8_t { serial, firmware };

struct substitution {
  std::uint32_t pos;  // byte offset in the template text
  std::uint32_t len;  // bytes replaced
  identity_field what;
};

struct text_overlay {
  std::uint32_t value_off = 0;  // template text in bytes_
  std::uint32_t value_len = 0;
  std::uint32_t first = 0;  // substitutions_[first, first + count)
  std::uint32_t count = 0;
};

// What a live channel (a consumable, a receptacle or an input tray) is, from the template.
enum class channel_class : std::uint8_t {
  toner,  // toner/ink/ribbon/wax: low -> lowToner, empty -> noToner, device down
  waste,  // receptacle that fills: almost full / full, device down when full
  drum,   // OPC
  developer,
  service,  // fuser, transfer unit, cleaner, other: service requested when over
  staples,
  tray,  // prtInputTable
};

struct channel {
  channel_class cls = channel_class::service;
  bool colour = false;  // consumed only by colour pages
  std::uint32_t hr_index = 1;
  std::uint32_t index = 0;    // prtMarkerSuppliesIndex / prtInputIndex
  std::int32_t capacity = 0;  // max capacity as served (> 0)
  std::int32_t template_level = 0;
  std::int32_t type = 0;          // prtMarkerSuppliesType / prtInputType, 0 when absent
  std::int32_t supply_class = 0;  // prtMarkerSuppliesClass, 0 when absent
  std::int32_t unit = 0;          // supply unit / capacity unit, 0 when absent
  std::string description;        // cleaned text (supply description / tray name)
  std::uint64_t base_yield = 0;   // usage units (1000 per page at weight 1.0) per full unit
  std::uint32_t weight = 1000;    // usage units per page (before the profile's colour share)
  std::uint16_t low_code = 0, empty_code = 0;  // PrtAlertCodeTC
  std::uint8_t empty_severity = 3;             // critical(3) or warning(4)
  std::uint8_t training = 4;                   // trained(4) / fieldService(5) / untrained(3)
};

struct marker {
  std::uint32_t hr_index = 1;
  std::uint32_t index = 1;
  bool has_life = false, has_power_on = false;
};

// The pre-encoded values of one kind of alert: columns 2..8 of prtAlertEntry.
struct alert_kind {
  std::int32_t severity = 0, training = 0, group = 0, group_index = 0, location = -2, code = 0;
  std::string description;
  std::array<std::uint32_t, 7> col_off{};  // value TLV of columns 2..8 in bytes_
  std::array<std::uint16_t, 7> col_len{};
};

class device_template {
 public:
  // Prepares a sealed view. living=false serves the recording exactly (profile "static").
  device_template(std::string name, const codecs::mib_view& view, bool living);

  const std::string& name() const noexcept { return name_; }
  std::span<const row> rows() const noexcept { return rows_; }
  std::span<const std::uint32_t> arcs(const row& r) const noexcept {
    return {arcs_.data() + r.arcs_off, r.arcs_len};
  }
  std::span<const std::uint8_t> bytes(std::uint32_t off, std::size_t len) const noexcept {
    return {bytes_.data() + off, len};
  }
  const text_overlay& overlay(std::size_t i) const noexcept { return overlays_[i]; }
  std::span<const substitution> substitutions(const text_overlay& o) const noexcept {
    return {substitutions_.data() + o.first, o.count};
  }

  bool living() const noexcept { return living_; }
  // Living templates with a Printer-MIB get a generated prtAlertTable spliced in before
  // rows_[alert_at].
  bool has_alert_table() const noexcept { return has_alert_table_; }
  std::size_t alert_at() const noexcept { return alert_at_; }
  std::uint32_t printer_hr_index() const noexcept { return printer_hr_index_; }
  // Pre-encoded OID prefix "06 L 1.3.6.1.2.1.43.18.1.1.<col>.<hr>" content for columns 2..9.
  std::span<const std::uint8_t> alert_oid_prefix(std::uint32_t col) const noexcept;
  std::span<const std::uint32_t> alert_prefix_arcs(std::uint32_t col) const noexcept;

  std::span<const channel> channels() const noexcept { return channels_; }
  std::span<const marker> markers() const noexcept { return markers_; }
  // Alert kinds: 0 jam, 1 cover open, then 2 + 2c low and 3 + 2c empty of channel c.
  std::span<const alert_kind> alert_kinds() const noexcept { return alert_kinds_; }
  std::size_t error_state_octets() const noexcept { return error_state_octets_; }

  // Whether some served row carries the serial / firmware / MAC (then it is per device / living).
  bool serial_live() const noexcept { return serial_live_; }
  bool firmware_live() const noexcept { return firmware_live_; }
  bool mac_live() const noexcept { return mac_live_; }

  // Identity as recorded (empty when the template has none).
  const std::string& serial() const noexcept { return serial_; }
  const std::string& firmware() const noexcept { return firmware_; }
  const std::string& sys_descr() const noexcept { return sys_descr_; }
  const std::string& sys_object_id() const noexcept { return sys_object_id_; }
  bool has_mac() const noexcept { return has_mac_; }
  const std::array<std::uint8_t, 6>& mac() const noexcept { return mac_; }
  bool has_sys_name() const noexcept { return has_sys_name_; }
  bool has_uptime() const noexcept { return has_uptime_; }
  bool has_hr_printer() const noexcept { return has_hr_printer_; }
  bool has_hr_device_status() const noexcept { return has_hr_device_status_; }

  // The row with exactly these arcs (GET), through a hash index; rows().size() when none.
  std::size_t find(std::span<const std::uint32_t> name) const noexcept;

  // The recording as loaded (for the ground truth of fixed columns).
  const codecs::mib_view& source() const noexcept { return source_; }

  // Bytes held (rows, arcs, encodings, tables) — for memory accounting.
  std::size_t memory_bytes() const noexcept;

 private:
  void add_row(const codecs::varbind& vb, row_kind kind, std::uint16_t param);
  void analyse(const codecs::mib_view& view);
  void build_alert_kinds();
  std::uint32_t store(std::span<const std::uint8_t> b);

  std::string name_;
  bool living_ = false;
  codecs::mib_view source_;
  std::vector<row> rows_;
  std::vector<std::uint32_t> index_;  // open addressing: row + 1, 0 = empty; size a power of 2
  std::vector<std::uint32_t> arcs_;
  std::vector<std::uint8_t> bytes_;
  std::vector<text_overlay> overlays_;
  std::vector<substitution> substitutions_;
  std::vector<channel> channels_;
  std::vector<marker> markers_;
  std::vector<alert_kind> alert_kinds_;
  std::array<std::uint32_t, 10> alert_prefix_off_{}, alert_prefix_len_{};
  std::array<std::uint32_t, 10> alert_arcs_off_{};
  std::size_t alert_at_ = 0;
  bool has_alert_table_ = false;
  std::uint32_t printer_hr_index_ = 1;
  std::size_t error_state_octets_ = 1;
  std::string serial_, firmware_, sys_descr_, sys_object_id_;
  std::array<std::uint8_t, 6> mac_{};
  bool serial_live_ = false, firmware_live_ = false, mac_live_ = false;
  bool has_mac_ = false, has_sys_name_ = false, has_uptime_ = false, has_hr_printer_ = false,
       has_hr_device_status_ = false;
};

// Encodes one codecs::value as a BER TLV (appended). Exceptions (noSuchObject ...) as [8x] 00.
void append_value(std::vector<std::uint8_t>& out, const codecs::value& v);

// hrPrinterDetectedErrorState octets (1 or 2) for condition bits (bit 0 = MSB of octet 0).
std::string error_state_octets(std::uint16_t bits, std::size_t octets);

}  // namespace fleetpoll::fleetsim::detail
