#include "device_template.hpp"

#include <algorithm>
#include <cctype>
#include <map>
#include <optional>

#include "ber.hpp"
#include "fleetpoll/codecs/normalize.hpp"
#include "fleetpoll/codecs/printer_mib.hpp"

namespace fleetpoll::fleetsim::detail {
namespace {

namespace mib = codecs::mib;
using codecs::value_type;

const codecs::oid hr_system_uptime{1, 3, 6, 1, 2, 1, 25, 1, 1, 0};
const codecs::oid system_group{1, 3, 6, 1, 2, 1, 1};
const codecs::oid hr_device_descr_col{1, 3, 6, 1, 2, 1, 25, 3, 2, 1, 3};

std::uint64_t arcs_hash(std::span<const std::uint32_t> a) noexcept {
  std::uint64_t h = 0xcbf29ce484222325ull;
  for (auto x : a) h = (h ^ x) * 0x100000001b3ull;
  return h ^ (h >> 29);
}

bool encodable(const codecs::oid& o) {
  return o.size() >= 2 && o.size() <= 128 && o[0] <= 2 && (o[0] == 2 || o[1] < 40);
}

// The cell entry.col.<index...> of a view, when present.
const codecs::value* cell(const codecs::mib_view& v, const codecs::oid& entry, std::uint32_t col,
                          std::span<const std::uint32_t> index) {
  return v.get(entry.child({col}).child(index));
}

std::optional<std::int64_t> int_cell(const codecs::mib_view& v, const codecs::oid& entry,
                                     std::uint32_t col, std::span<const std::uint32_t> index) {
  const auto* c = cell(v, entry, col, index);
  if (!c || !c->is_numeric()) return std::nullopt;
  return c->type == value_type::integer ? c->integer() : static_cast<std::int64_t>(c->number);
}

bool is_alnum(unsigned char c) {
  return std::isalnum(c) != 0;
}

// Positions where `needle` occurs in `hay` as a whole token (not inside a longer word).
std::vector<std::uint32_t> token_positions(std::string_view hay, std::string_view needle) {
  std::vector<std::uint32_t> out;
  if (needle.empty()) return out;
  for (std::size_t at = hay.find(needle); at != std::string_view::npos;
       at = hay.find(needle, at + 1)) {
    const bool left_ok = at == 0 || !is_alnum(static_cast<unsigned char>(hay[at - 1]));
    const std::size_t end = at + needle.size();
    const bool right_ok = end == hay.size() || !is_alnum(static_cast<unsigned char>(hay[end]));
    if (left_ok && right_ok) out.push_back(static_cast<std::uint32_t>(at));
  }
  return out;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool has_word(std::string_view lowered, std::string_view w) {
  return lowered.find(w) != std::string_view::npos;
}

channel_class classify_supply(std::int32_t type, std::int32_t cls, std::string_view descr) {
  switch (type) {
    case 3:
    case 5:
    case 6:
    case 7:
    case 12:
    case 13:
    case 21:
      return channel_class::toner;
    case 4:
    case 8:
    case 14:
    case 24:
    case 26:
      return channel_class::waste;
    case 9:
      return channel_class::drum;
    case 10:
      return channel_class::developer;
    case 32:
    case 29:
      return channel_class::staples;
    case 0:
    case 1:
    case 2:
      break;  // absent, other, unknown: look at the words
    default:
      return cls == 4 ? channel_class::waste : channel_class::service;
  }
  if (cls == 4) return channel_class::waste;
  const std::string l = lower(descr);
  if (has_word(l, "waste")) return channel_class::waste;
  if (has_word(l, "drum") || has_word(l, "opc") || has_word(l, "imaging"))
    return channel_class::drum;
  if (has_word(l, "developer")) return channel_class::developer;
  if (has_word(l, "staple")) return channel_class::staples;
  if (has_word(l, "fuser") || has_word(l, "belt") || has_word(l, "transfer") ||
      has_word(l, "kit") || has_word(l, "roller"))
    return channel_class::service;
  if (has_word(l, "toner") || has_word(l, "cartridge") || has_word(l, "ink") ||
      !codecs::infer_colorant(descr).empty())
    return channel_class::toner;
  return channel_class::service;
}

// PrtAlertCodeTC codes of "almost empty / full" and "empty / full" per kind of channel, with the
// severity of the second (critical 3 stops printing, warning 4 does not) and who acts on it
// (untrained 3, trained 4, fieldService 5). First match wins; type 0 matches any type.
struct alert_codes {
  channel_class cls;
  std::int32_t type;
  std::uint16_t low, empty;
  std::uint8_t severity, training;
};
constexpr alert_codes code_table[] = {
    {channel_class::toner, 5, 1105, 1102, 3, 4}, {channel_class::toner, 6, 1105, 1102, 3, 4},
    {channel_class::toner, 7, 1106, 1103, 3, 4}, {channel_class::toner, 0, 1104, 1101, 3, 4},
    {channel_class::waste, 8, 1108, 1110, 3, 4}, {channel_class::waste, 0, 1107, 1109, 3, 4},
    {channel_class::drum, 0, 1111, 1112, 4, 4},  {channel_class::developer, 0, 1113, 1114, 4, 5},
    {channel_class::service, 0, 10, 11, 4, 5},   {channel_class::staples, 0, 12, 13, 4, 4},
    {channel_class::tray, 0, 807, 808, 4, 3},
};

void set_codes(channel& c) {
  for (const auto& r : code_table) {
    if (r.cls != c.cls || (r.type != 0 && r.type != c.type)) continue;
    c.low_code = r.low;
    c.empty_code = r.empty;
    c.empty_severity = r.severity;
    c.training = r.training;
    return;
  }
}

// Usage units (1000 per page at weight 1000) that one full unit of the channel lasts.
void set_yield(channel& c) {
  constexpr std::uint64_t page = 1000;
  const bool counts_pages = (c.unit == 7 || c.unit == 8) && c.capacity >= 100;
  switch (c.cls) {
    case channel_class::toner:
      c.base_yield = (counts_pages ? c.capacity : 8000) * page;
      break;
    case channel_class::waste:
      c.base_yield = 30000 * page;
      break;
    case channel_class::drum:
      c.base_yield =
          (counts_pages || (c.capacity >= 1000 && c.capacity != 100) ? c.capacity : 30000) * page;
      break;
    case channel_class::developer:
      c.base_yield = (counts_pages ? c.capacity : 60000) * page;
      break;
    case channel_class::service:
      c.base_yield = (counts_pages ? c.capacity : 100000) * page;
      break;
    case channel_class::staples:
      c.weight = 20;  // one staple on 2 % of pages
      c.base_yield = static_cast<std::uint64_t>(c.capacity) * page;
      break;
    case channel_class::tray:
      c.base_yield = static_cast<std::uint64_t>(c.capacity) * page;
      break;
  }
}

std::string alert_text(const channel& c, bool empty) {
  std::string what = c.description.empty() ? (c.cls == channel_class::tray ? "Tray " : "Supply ") +
                                                 std::to_string(c.index)
                                           : c.description;
  switch (c.cls) {
    case channel_class::toner:
    case channel_class::staples:
    case channel_class::developer:
      return what + (empty ? ": empty" : ": almost empty");
    case channel_class::waste:
      return what + (empty ? ": full" : ": almost full");
    case channel_class::drum:
    case channel_class::service:
      return what + (empty ? ": end of life" : ": near end of life");
    case channel_class::tray:
      return what + (empty ? ": paper empty" : ": paper low");
  }
  return what;
}

}  // namespace

void append_value(std::vector<std::uint8_t>& out, const codecs::value& v) {
  const auto tag = static_cast<std::uint8_t>(v.type);
  switch (v.type) {
    case value_type::integer:
      ber::append_int(out, tag, v.integer());
      break;
    case value_type::octet_string:
    case value_type::opaque:
    case value_type::ip_address:
      ber::append_string(out, tag, v.bytes.data(), v.bytes.size());
      break;
    case value_type::null:
    case value_type::no_such_object:
    case value_type::no_such_instance:
    case value_type::end_of_mib_view:
      ber::append_header(out, tag, 0);
      break;
    case value_type::object_id: {
      auto a = v.object.arcs();
      if (a.size() >= 2 && a[0] <= 2) {
        ber::append_oid(out, a);
      } else {  // "0" or garbage in a recording: encode what BER can say (0.0 / first arc * 40)
        std::vector<std::uint32_t> fixed{a.empty() ? 0u : std::min<std::uint32_t>(a[0], 2u), 0u};
        ber::append_oid(out, fixed);
      }
      break;
    }
    case value_type::counter32:
    case value_type::gauge32:
    case value_type::timeticks:
    case value_type::counter64:
      ber::append_uint(out, tag, v.number);
      break;
  }
}

std::string error_state_octets(std::uint16_t bits, std::size_t octets) {
  std::string out(octets >= 2 ? 2 : 1, '\0');
  for (unsigned b = 0; b < 8 * out.size(); ++b)
    if (bits & (1u << b))
      out[b / 8] = static_cast<char>(static_cast<std::uint8_t>(out[b / 8]) | (0x80u >> (b % 8)));
  return out;
}

std::uint32_t device_template::store(std::span<const std::uint8_t> b) {
  const auto off = static_cast<std::uint32_t>(bytes_.size());
  bytes_.insert(bytes_.end(), b.begin(), b.end());
  return off;
}

void device_template::add_row(const codecs::varbind& vb, row_kind kind, std::uint16_t param) {
  row r;
  r.arcs_off = static_cast<std::uint32_t>(arcs_.size());
  r.arcs_len = static_cast<std::uint16_t>(vb.name.size());
  arcs_.insert(arcs_.end(), vb.name.arcs().begin(), vb.name.arcs().end());
  r.kind = kind;
  r.type = static_cast<std::uint8_t>(vb.val.type);
  r.param = param;
  std::vector<std::uint8_t> oid_tlv, value_tlv;
  ber::append_oid(oid_tlv, vb.name.arcs());
  append_value(value_tlv, vb.val);
  std::vector<std::uint8_t> whole;
  ber::append_header(whole, ber::tag_sequence, oid_tlv.size() + value_tlv.size());
  const std::size_t header = whole.size();
  whole.insert(whole.end(), oid_tlv.begin(), oid_tlv.end());
  whole.insert(whole.end(), value_tlv.begin(), value_tlv.end());
  r.vb_off = store(whole);
  r.vb_len = static_cast<std::uint16_t>(whole.size());
  r.oid_off = r.vb_off + static_cast<std::uint32_t>(header);
  r.oid_len = static_cast<std::uint16_t>(oid_tlv.size());
  rows_.push_back(r);
}

device_template::device_template(std::string name, const codecs::mib_view& view, bool living)
    : name_(std::move(name)), living_(living), source_(view) {
  if (const auto* d = view.get(mib::sys_descr); d && d->type == value_type::octet_string)
    sys_descr_ = d->bytes;
  if (const auto* o = view.get(mib::sys_object_id); o && o->type == value_type::object_id)
    sys_object_id_ = o->object.to_string();
  analyse(view);  // identity, channels, markers: also the ground truth of a static fleet

  std::map<std::string, std::uint16_t> channel_of;  // "entry.col-less index" -> channel
  auto key = [](char kind, std::span<const std::uint32_t> idx) {
    std::string k(1, kind);
    for (auto a : idx) k += "." + std::to_string(a);
    return k;
  };
  for (std::size_t c = 0; c < channels_.size(); ++c) {
    const auto& ch = channels_[c];
    const std::uint32_t idx[2] = {ch.hr_index, ch.index};
    channel_of[key(ch.cls == channel_class::tray ? 't' : 's', idx)] = static_cast<std::uint16_t>(c);
  }
  const codecs::oid level_col =
      mib::prt_marker_supplies_entry.child({mib::prt_supplies_col::level});
  const codecs::oid tray_col = mib::prt_input_entry.child({mib::prt_input_col::current_level});
  const codecs::oid life_col = mib::prt_marker_entry.child({mib::prt_marker_col::life_count});
  const codecs::oid power_col = mib::prt_marker_entry.child({mib::prt_marker_col::power_on_count});
  const codecs::oid dev_status =
      mib::hr_device_entry.child({mib::hr_device_col::status, printer_hr_index_});
  const codecs::oid prn_status =
      mib::hr_printer_entry.child({mib::hr_printer_col::status, printer_hr_index_});
  const codecs::oid err_state =
      mib::hr_printer_entry.child({mib::hr_printer_col::detected_error_state, printer_hr_index_});

  for (const auto& vb : view.rows()) {
    if (!encodable(vb.name)) continue;  // cannot be said in BER; never served
    if (living_ && vb.name.starts_with(mib::prt_alert_entry)) continue;  // generated per device
    row_kind kind = row_kind::fixed;
    std::uint16_t param = 0;
    const auto t = vb.val.type;
    if (living_) {
      const bool numeric = vb.val.is_numeric() && t != value_type::counter64;
      if ((vb.name == mib::sys_uptime || vb.name == hr_system_uptime) &&
          t == value_type::timeticks) {
        kind = row_kind::sys_uptime;
      } else if (vb.name == mib::sys_name && t == value_type::octet_string) {
        kind = row_kind::sys_name;
      } else if (vb.name.starts_with(level_col) && t == value_type::integer) {
        auto it = channel_of.find(key('s', vb.name.suffix_after(level_col)));
        if (it != channel_of.end()) kind = row_kind::channel_level, param = it->second;
      } else if (vb.name.starts_with(tray_col) && t == value_type::integer) {
        auto it = channel_of.find(key('t', vb.name.suffix_after(tray_col)));
        if (it != channel_of.end()) kind = row_kind::channel_level, param = it->second;
      } else if (vb.name.starts_with(life_col) && numeric) {
        kind = row_kind::life_count;
      } else if (vb.name.starts_with(power_col) && numeric) {
        kind = row_kind::power_on_count;
      } else if (vb.name == dev_status && t == value_type::integer) {
        kind = row_kind::hr_device_status;
      } else if (vb.name == prn_status && t == value_type::integer) {
        kind = row_kind::hr_printer_status;
      } else if (vb.name == err_state && t == value_type::octet_string) {
        kind = row_kind::error_state;
        param = static_cast<std::uint16_t>(error_state_octets_);
      } else if (t == value_type::octet_string && has_mac_ && vb.val.bytes.size() == 6 &&
                 std::equal(
                     mac_.begin(), mac_.end(), vb.val.bytes.begin(),
                     [](std::uint8_t a, char b) { return a == static_cast<std::uint8_t>(b); })) {
        kind = row_kind::mac;
        mac_live_ = true;
      } else if (t == value_type::octet_string) {
        // Identity text: the serial anywhere as a whole token; the firmware in the system group,
        // hrDeviceDescr and vendor subtrees.
        std::vector<substitution> subs;
        if (serial_.size() >= 4)
          for (auto pos : token_positions(vb.val.bytes, serial_))
            subs.push_back(
                {pos, static_cast<std::uint32_t>(serial_.size()), identity_field::serial});
        const bool fw_place = vb.name.starts_with(system_group) ||
                              vb.name.starts_with(hr_device_descr_col) ||
                              vb.name.starts_with(mib::enterprises);
        if (fw_place && firmware_.size() >= 2)
          for (auto pos : token_positions(vb.val.bytes, firmware_))
            subs.push_back(
                {pos, static_cast<std::uint32_t>(firmware_.size()), identity_field::firmware});
        if (!subs.empty()) {
          std::sort(subs.begin(), subs.end(), [](auto& a, auto& b) { return a.pos < b.pos; });
          // Overlapping matches (a firmware inside the serial): keep the first.
          std::vector<substitution> kept;
          for (auto& s : subs)
            if (kept.empty() || s.pos >= kept.back().pos + kept.back().len) kept.push_back(s);
          text_overlay o;
          o.value_off = store(
              {reinterpret_cast<const std::uint8_t*>(vb.val.bytes.data()), vb.val.bytes.size()});
          o.value_len = static_cast<std::uint32_t>(vb.val.bytes.size());
          o.first = static_cast<std::uint32_t>(substitutions_.size());
          o.count = static_cast<std::uint32_t>(kept.size());
          substitutions_.insert(substitutions_.end(), kept.begin(), kept.end());
          kind = row_kind::text;
          for (const auto& k : kept)
            (k.what == identity_field::serial ? serial_live_ : firmware_live_) = true;
          param = static_cast<std::uint16_t>(overlays_.size());
          overlays_.push_back(o);
        }
      }
      if (kind == row_kind::sys_uptime) has_uptime_ = true;
      if (kind == row_kind::sys_name) has_sys_name_ = true;
      if (kind == row_kind::hr_device_status) has_hr_device_status_ = true;
      if (kind == row_kind::hr_printer_status || kind == row_kind::error_state)
        has_hr_printer_ = true;
    }
    add_row(vb, kind, param);
  }

  // Where the generated alert table goes: before the first row after 43.18.1.1.
  const auto alert_arcs = mib::prt_alert_entry.arcs();
  alert_at_ = static_cast<std::size_t>(
      std::lower_bound(rows_.begin(), rows_.end(), alert_arcs,
                       [&](const row& r, std::span<const std::uint32_t> a) {
                         auto ra = arcs(r);
                         return std::lexicographical_compare(ra.begin(), ra.end(), a.begin(),
                                                             a.end());
                       }) -
      rows_.begin());
  // The exact-match index for GET: twice as many slots as rows, linear probing.
  std::size_t slots = 16;
  while (slots < 2 * rows_.size()) slots *= 2;
  index_.assign(slots, 0);
  for (std::size_t i = 0; i < rows_.size(); ++i) {
    std::size_t at = arcs_hash(arcs(rows_[i])) & (slots - 1);
    while (index_[at] != 0) at = (at + 1) & (slots - 1);
    index_[at] = static_cast<std::uint32_t>(i + 1);
  }
  has_alert_table_ = living_ && std::any_of(view.rows().begin(), view.rows().end(), [](auto& vb) {
                       return vb.name.starts_with(mib::printer_mib);
                     });
  for (std::uint32_t col = 2; col <= 9; ++col) {
    codecs::oid prefix = mib::prt_alert_entry.child({col, printer_hr_index_});
    alert_arcs_off_[col] = static_cast<std::uint32_t>(arcs_.size());
    arcs_.insert(arcs_.end(), prefix.arcs().begin(), prefix.arcs().end());
    std::vector<std::uint8_t> content(ber::oid_octets(prefix.arcs()));
    ber::put_oid_content(content.data(), prefix.arcs());
    alert_prefix_off_[col] = store(content);
    alert_prefix_len_[col] = static_cast<std::uint32_t>(content.size());
  }
  if (living_) build_alert_kinds();
}

void device_template::analyse(const codecs::mib_view& view) {
  auto snap_buf = codecs::normalize(view);
  const auto* snap = codecs::snapshot_of(snap_buf);
  if (const auto* id = snap->identity()) {
    if (id->serial()) serial_ = id->serial()->str();
    if (id->firmware()) firmware_ = id->firmware()->str();
    if (id->hr_device_index()) printer_hr_index_ = *id->hr_device_index();
    if (id->mac() && id->mac()->size() == 17) {
      const std::string m = id->mac()->str();
      has_mac_ = true;
      for (int i = 0; i < 6; ++i) {
        unsigned v = 0;
        for (int j = 0; j < 2; ++j) {
          const char c = m[static_cast<std::size_t>(i * 3 + j)];
          v = v * 16 +
              static_cast<unsigned>(std::isdigit(static_cast<unsigned char>(c))
                                        ? c - '0'
                                        : std::tolower(static_cast<unsigned char>(c)) - 'a' + 10);
        }
        mac_[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(v);
      }
    }
  }
  if (const auto* e = view.get(mib::hr_printer_entry.child(
          {mib::hr_printer_col::detected_error_state, printer_hr_index_}));
      e && e->type == value_type::octet_string)
    error_state_octets_ = std::clamp<std::size_t>(e->bytes.size(), 1, 2);

  // Live supplies: a numeric level >= 0 against a real capacity > 0.
  const codecs::oid level_col =
      mib::prt_marker_supplies_entry.child({mib::prt_supplies_col::level});
  for (const auto& vb : view.subtree(level_col)) {
    auto idx = vb.name.suffix_after(level_col);
    if (idx.size() != 2 || vb.val.type != value_type::integer) continue;
    auto cap =
        int_cell(view, mib::prt_marker_supplies_entry, mib::prt_supplies_col::max_capacity, idx);
    const std::int64_t level = vb.val.integer();
    if (!cap || *cap <= 0 || *cap > 0x7FFFFFFF || level < 0 || level > *cap) continue;
    channel c;
    c.hr_index = idx[0];
    c.index = idx[1];
    c.capacity = static_cast<std::int32_t>(*cap);
    c.template_level = static_cast<std::int32_t>(level);
    c.type = static_cast<std::int32_t>(
        int_cell(view, mib::prt_marker_supplies_entry, mib::prt_supplies_col::type, idx)
            .value_or(0));
    c.supply_class = static_cast<std::int32_t>(
        int_cell(view, mib::prt_marker_supplies_entry, mib::prt_supplies_col::supply_class, idx)
            .value_or(0));
    c.unit = static_cast<std::int32_t>(
        int_cell(view, mib::prt_marker_supplies_entry, mib::prt_supplies_col::supply_unit, idx)
            .value_or(0));
    if (const auto* d =
            cell(view, mib::prt_marker_supplies_entry, mib::prt_supplies_col::description, idx);
        d && d->type == value_type::octet_string)
      c.description = codecs::clean_description(d->bytes);
    c.cls = classify_supply(c.type, c.supply_class, c.description);
    const std::string colorant = codecs::infer_colorant(c.description);
    c.colour = !colorant.empty() && colorant.find("black") == std::string::npos;
    set_codes(c);
    set_yield(c);
    if (c.base_yield > 0) channels_.push_back(std::move(c));
  }
  // Live trays: current level >= 0 against a max capacity > 0.
  const codecs::oid tray_col = mib::prt_input_entry.child({mib::prt_input_col::current_level});
  std::size_t first_tray = channels_.size();
  for (const auto& vb : view.subtree(tray_col)) {
    auto idx = vb.name.suffix_after(tray_col);
    if (idx.size() != 2 || vb.val.type != value_type::integer) continue;
    auto cap = int_cell(view, mib::prt_input_entry, mib::prt_input_col::max_capacity, idx);
    const std::int64_t level = vb.val.integer();
    if (!cap || *cap <= 0 || *cap > 0x7FFFFFFF || level < 0 || level > *cap) continue;
    channel c;
    c.cls = channel_class::tray;
    c.hr_index = idx[0];
    c.index = idx[1];
    c.capacity = static_cast<std::int32_t>(*cap);
    c.template_level = static_cast<std::int32_t>(level);
    c.type = static_cast<std::int32_t>(
        int_cell(view, mib::prt_input_entry, mib::prt_input_col::type, idx).value_or(0));
    c.unit = static_cast<std::int32_t>(
        int_cell(view, mib::prt_input_entry, mib::prt_input_col::capacity_unit, idx).value_or(0));
    if (const auto* d = cell(view, mib::prt_input_entry, mib::prt_input_col::name, idx);
        d && d->type == value_type::octet_string)
      c.description = codecs::display_text(d->bytes);
    set_codes(c);
    set_yield(c);
    channels_.push_back(std::move(c));
  }
  // Paper is drawn mostly from the first tray.
  const std::size_t trays = channels_.size() - first_tray;
  for (std::size_t i = first_tray; i < channels_.size(); ++i)
    channels_[i].weight = trays == 1        ? 1000
                          : i == first_tray ? 700
                                            : static_cast<std::uint32_t>(300 / (trays - 1));
  if (channels_.size() > 200)
    channels_.resize(200);  // alert kinds stay below 2^16 and the table small

  const codecs::oid life_col = mib::prt_marker_entry.child({mib::prt_marker_col::life_count});
  const codecs::oid power_col = mib::prt_marker_entry.child({mib::prt_marker_col::power_on_count});
  std::map<std::pair<std::uint32_t, std::uint32_t>, marker> markers;
  for (const auto& vb : view.subtree(mib::prt_marker_entry)) {
    const bool life = vb.name.starts_with(life_col), power = vb.name.starts_with(power_col);
    if (!life && !power) continue;
    auto idx = vb.name.suffix_after(life ? life_col : power_col);
    if (idx.size() != 2) continue;
    auto& m = markers[{idx[0], idx[1]}];
    m.hr_index = idx[0];
    m.index = idx[1];
    (life ? m.has_life : m.has_power_on) = true;
  }
  for (auto& [k, m] : markers) markers_.push_back(m);
}

void device_template::build_alert_kinds() {
  auto add = [&](alert_kind k) {
    std::vector<std::uint8_t> tmp;
    const std::int32_t ints[6] = {k.severity,    k.training, k.group,
                                  k.group_index, k.location, k.code};
    for (int c = 0; c < 6; ++c) {
      tmp.clear();
      ber::append_int(tmp, ber::tag_integer, ints[c]);
      k.col_off[static_cast<std::size_t>(c)] = store(tmp);
      k.col_len[static_cast<std::size_t>(c)] = static_cast<std::uint16_t>(tmp.size());
    }
    tmp.clear();
    ber::append_string(tmp, ber::tag_octet_string, k.description.data(),
                       std::min<std::size_t>(k.description.size(), 255));
    k.col_off[6] = store(tmp);
    k.col_len[6] = static_cast<std::uint16_t>(tmp.size());
    alert_kinds_.push_back(std::move(k));
  };
  // RFC 3805 codes: jam(8) in mediaPath(13); coverOpen(3) in cover(6). Severity critical(3),
  // warning(4); training untrained(3), trained(4), fieldService(5). Location -2 = unknown.
  add({3, 3, 13, 1, -2, 8, "Paper jam", {}, {}});
  add({3, 3, 6, 1, -2, 3, "Cover open", {}, {}});
  for (const auto& c : channels_) {
    const std::int32_t group = c.cls == channel_class::tray ? 8 : 11;
    const auto gi = static_cast<std::int32_t>(c.index);
    add({4, c.training, group, gi, -2, c.low_code, alert_text(c, false), {}, {}});
    add({c.empty_severity, c.training, group, gi, -2, c.empty_code, alert_text(c, true), {}, {}});
  }
}

std::size_t device_template::find(std::span<const std::uint32_t> name) const noexcept {
  const std::size_t mask = index_.size() - 1;
  for (std::size_t at = arcs_hash(name) & mask; index_[at] != 0; at = (at + 1) & mask) {
    const std::size_t i = index_[at] - 1;
    const auto a = arcs(rows_[i]);
    if (a.size() == name.size() && std::equal(a.begin(), a.end(), name.begin())) return i;
  }
  return rows_.size();
}

std::span<const std::uint8_t> device_template::alert_oid_prefix(std::uint32_t col) const noexcept {
  return {bytes_.data() + alert_prefix_off_[col], alert_prefix_len_[col]};
}
std::span<const std::uint32_t> device_template::alert_prefix_arcs(
    std::uint32_t col) const noexcept {
  return {arcs_.data() + alert_arcs_off_[col], mib::prt_alert_entry.size() + 2};
}

std::size_t device_template::memory_bytes() const noexcept {
  std::size_t n =
      sizeof(*this) + name_.capacity() + rows_.capacity() * sizeof(row) + arcs_.capacity() * 4 +
      bytes_.capacity() + overlays_.capacity() * sizeof(text_overlay) +
      substitutions_.capacity() * sizeof(substitution) + channels_.capacity() * sizeof(channel) +
      markers_.capacity() * sizeof(marker) + alert_kinds_.capacity() * sizeof(alert_kind);
  for (const auto& c : channels_) n += c.description.capacity();
  for (const auto& vb : source_.rows())
    n += sizeof(vb) + vb.name.size() * 4 + vb.val.bytes.capacity() + vb.val.object.size() * 4;
  for (const auto& k : alert_kinds_) n += k.description.capacity();
  return n + serial_.capacity() + firmware_.capacity() + sys_descr_.capacity() +
         sys_object_id_.capacity();
}

}  // namespace fleetpoll::fleetsim::detail
