// The normalizer: mib_view -> DeviceSnapshot. Rules: docs/normalization.md.
#include "fleetpoll/codecs/normalize.hpp"

#include <algorithm>
#include <cctype>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "fleetpoll/codecs/printer_mib.hpp"
#include "fleetpoll/codecs/vendors.hpp"

namespace fleetpoll::codecs {
namespace {

namespace fb = flatbuffers;
namespace s = fleetpoll::schema;

// ---- reading values ----------------------------------------------------------------------------

std::optional<std::int64_t> as_int(const value* v) {
  if (v == nullptr) return std::nullopt;
  switch (v->type) {
    case value_type::integer:
      return v->integer();
    case value_type::counter32:
    case value_type::gauge32:
    case value_type::timeticks:
      return static_cast<std::int64_t>(v->number & 0xFFFFFFFFu);
    case value_type::counter64:
      if (v->number > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
        return std::nullopt;
      return static_cast<std::int64_t>(v->number);
    default:
      return std::nullopt;
  }
}

// An Integer32 column: values that do not fit are treated as not sent.
std::optional<std::int32_t> as_i32(const value* v) {
  auto n = as_int(v);
  if (!n || *n < std::numeric_limits<std::int32_t>::min() ||
      *n > std::numeric_limits<std::int32_t>::max())
    return std::nullopt;
  return static_cast<std::int32_t>(*n);
}

std::optional<std::uint64_t> as_u64(const value* v) {
  if (v == nullptr) return std::nullopt;
  if (v->type == value_type::counter64) return v->number;
  auto n = as_int(v);
  if (!n || *n < 0) return std::nullopt;
  return static_cast<std::uint64_t>(*n);
}

std::optional<std::uint32_t> as_u32(const value* v) {
  auto n = as_int(v);
  if (!n || *n < 0 || *n > std::numeric_limits<std::uint32_t>::max()) return std::nullopt;
  return static_cast<std::uint32_t>(*n);
}

const std::string* as_bytes(const value* v) {
  if (v == nullptr) return nullptr;
  if (v->type == value_type::octet_string || v->type == value_type::opaque) return &v->bytes;
  return nullptr;
}

std::optional<std::string> as_text(const value* v) {
  const auto* b = as_bytes(v);
  if (b == nullptr) return std::nullopt;
  auto t = display_text(*b);
  if (t.empty()) return std::nullopt;
  return t;
}

// ---- tables
// --------------------------------------------------------------------------------------

using index_t = std::vector<std::uint32_t>;
using row_t = std::map<std::uint32_t, const value*>;  // column -> value
using table_t = std::map<index_t, row_t>;             // walk order

// Every cell below a table entry with an index of index_len arcs; exceptions are dropped.
table_t read_table(const mib_view& view, const oid& entry, std::size_t index_len) {
  table_t t;
  for (const auto& vb : view.subtree(entry)) {
    auto rest = vb.name.suffix_after(entry);
    if (rest.size() != index_len + 1 || vb.val.is_exception()) continue;
    t[index_t(rest.begin() + 1, rest.end())][rest[0]] = &vb.val;
  }
  return t;
}

const value* cell(const row_t& row, std::uint32_t col) {
  auto it = row.find(col);
  return it == row.end() ? nullptr : it->second;
}

// ---- identity ----------------------------------------------------------------------------------

struct identity_facts {
  std::optional<std::string> sys_descr, sys_object_id, sys_name, sys_location, sys_contact;
  std::optional<std::uint32_t> uptime, enterprise, mac_if_index, hr_device_index;
  std::string enterprise_name;
  std::string vendor, model, serial, firmware, mac, hr_device_descr, device_id, printer_name;
  s::Source vendor_source = s::Source::unknown, model_source = s::Source::unknown,
            serial_source = s::Source::unknown, firmware_source = s::Source::unknown;
};

bool has_alnum(std::string_view t) {
  return std::any_of(t.begin(), t.end(),
                     [](char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; });
}

// A serial as the device sent it is believed only if it is plain printable text.
std::optional<std::string> serial_text(const value* v) {
  const auto* b = as_bytes(v);
  if (b == nullptr) return std::nullopt;
  std::string t = *b;
  while (!t.empty() && (t.back() == '\0' || t.back() == ' ')) t.pop_back();
  while (!t.empty() && t.front() == ' ') t.erase(t.begin());
  if (t.size() < 3 || t.size() > 64) return std::nullopt;
  for (char c : t) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u >= 0x7F) return std::nullopt;
  }
  std::string lower;
  for (char c : t) lower.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  if (lower == "unknown" || lower == "none" || lower == "n/a") return std::nullopt;
  return t;
}

std::string mac_string(const std::string& b) {
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (std::size_t i = 0; i < b.size(); ++i) {
    if (i) out.push_back(':');
    auto u = static_cast<unsigned char>(b[i]);
    out.push_back(hex[u >> 4]);
    out.push_back(hex[u & 15]);
  }
  return out;
}

bool ethernet_type(std::int64_t t) {
  // ethernetCsmacd(6), iso88023Csmacd(7), fastEther(62), fastEtherFX(69), gigabitEthernet(117)
  return t == 6 || t == 7 || t == 62 || t == 69 || t == 117;
}

struct printer_device {
  std::optional<std::uint32_t> index;        // the hrDeviceIndex of the printer
  std::optional<std::uint32_t> descr_index;  // where to read a model description from
};

printer_device find_printer_device(const table_t& hr_devices, const table_t& hr_printers) {
  printer_device d;
  for (const auto& [idx, row] : hr_devices) {
    const value* type = cell(row, mib::hr_device_col::type);
    if (type && type->type == value_type::object_id && type->object == mib::hr_device_printer) {
      d.index = idx[0];
      break;
    }
  }
  if (!d.index && !hr_printers.empty()) d.index = hr_printers.begin()->first[0];
  if (d.index) {
    d.descr_index = d.index;
    return d;
  }
  // No printer device (a scanner, a print server): the first device of type other/unknown or
  // without a type still names the product.
  const oid hr_device_other{1, 3, 6, 1, 2, 1, 25, 3, 1, 1};
  const oid hr_device_unknown{1, 3, 6, 1, 2, 1, 25, 3, 1, 2};
  for (const auto& [idx, row] : hr_devices) {
    const value* type = cell(row, mib::hr_device_col::type);
    bool generic =
        type == nullptr || (type->type == value_type::object_id &&
                            (type->object == hr_device_other || type->object == hr_device_unknown));
    if (generic && cell(row, mib::hr_device_col::descr)) {
      d.descr_index = idx[0];
      break;
    }
  }
  return d;
}

std::optional<std::string> first_vendor_text(const mib_view& view, vendor_fact fact,
                                             bool serial = false) {
  for (const auto& sc : vendor_scalars()) {
    if (sc.fact != fact) continue;
    const value* v = view.get(sc.name);
    std::optional<std::string> t = serial ? serial_text(v) : as_text(v);
    if (!t) continue;
    std::string_view tv = *t;
    if (!sc.strip_prefix.empty() && tv.substr(0, sc.strip_prefix.size()) == sc.strip_prefix)
      tv.remove_prefix(sc.strip_prefix.size());
    std::string out = display_text(tv);
    if (has_alnum(out)) return out;
  }
  return std::nullopt;
}

identity_facts read_identity(const mib_view& view, const normalize_options& opt,
                             const table_t& hr_devices, const printer_device& printer) {
  identity_facts id;
  id.sys_descr = as_text(view.get(mib::sys_descr));
  id.sys_name = as_text(view.get(mib::sys_name));
  id.sys_location = as_text(view.get(mib::sys_location));
  if (opt.include_contact) id.sys_contact = as_text(view.get(mib::sys_contact));
  if (const value* v = view.get(mib::sys_uptime)) id.uptime = as_u32(v);
  if (const value* v = view.get(mib::sys_object_id);
      v && v->type == value_type::object_id && !v->object.empty()) {
    id.sys_object_id = v->object.to_string();
    if (v->object.size() > mib::enterprises.size() && v->object.starts_with(mib::enterprises))
      id.enterprise = v->object[mib::enterprises.size()];
  }
  const vendor_entry* ent = id.enterprise ? find_vendor(*id.enterprise) : nullptr;
  if (ent) id.enterprise_name = std::string(ent->registrant);

  // The printer's hrDevice row.
  if (printer.index) id.hr_device_index = printer.index;
  if (printer.descr_index) {
    auto it = hr_devices.find(index_t{*printer.descr_index});
    if (it != hr_devices.end())
      if (auto t = as_text(cell(it->second, mib::hr_device_col::descr))) id.hr_device_descr = *t;
  }
  // prtGeneral: the first row.
  for (const auto& [idx, row] : read_table(view, mib::prt_general_entry, 1)) {
    if (id.printer_name.empty())
      if (auto t = as_text(cell(row, mib::prt_general_col::printer_name))) id.printer_name = *t;
    if (id.serial.empty())
      if (auto t = serial_text(cell(row, mib::prt_general_col::serial_number))) {
        id.serial = *t;
        id.serial_source = s::Source::printer_mib;
      }
  }
  if (auto t = first_vendor_text(view, vendor_fact::device_id)) id.device_id = *t;

  const sys_descr_facts sd = parse_sys_descr(id.sys_descr.value_or(""));
  const std::string mfg = ieee1284_field(id.device_id, "MFG");

  // Vendor: the brand the device names, else the enterprise's brand.
  if (!sd.brand.empty()) {
    id.vendor = sd.brand;
    id.vendor_source = s::Source::sys_descr;
  } else if (auto b = brand_at_start(id.hr_device_descr)) {
    id.vendor = std::string(*b);
    id.vendor_source = s::Source::hr_device;
  } else if (auto bm = brand_at_start(mfg)) {
    id.vendor = std::string(*bm);
    id.vendor_source = s::Source::ieee1284;
  } else if (ent) {
    id.vendor = std::string(ent->brand);
    id.vendor_source = s::Source::sys_object_id;
  }

  // Model: vendor MIB, sysDescr, hrDeviceDescr, IEEE 1284 MDL.
  if (auto t = first_vendor_text(view, vendor_fact::model)) {
    id.model = strip_brand(*t);
    id.model_source = s::Source::vendor_mib;
  }
  if (id.model.empty() && !sd.model.empty()) {
    id.model = strip_brand(sd.model);
    id.model_source = s::Source::sys_descr;
  }
  if (id.model.empty() && !id.hr_device_descr.empty()) {
    id.model = strip_brand(id.hr_device_descr);
    id.model_source = s::Source::hr_device;
  }
  if (id.model.empty()) {
    auto mdl = ieee1284_field(id.device_id, "MDL");
    if (has_alnum(mdl)) {
      id.model = strip_brand(mdl);
      id.model_source = s::Source::ieee1284;
    }
  }
  if (!has_alnum(id.model)) {
    id.model.clear();
    id.model_source = s::Source::unknown;
  }

  // Serial: prtGeneralSerialNumber (above), vendor MIB, sysDescr.
  if (id.serial.empty())
    if (auto t = first_vendor_text(view, vendor_fact::serial, /*serial=*/true)) {
      id.serial = *t;
      id.serial_source = s::Source::vendor_mib;
    }
  if (id.serial.empty() && !sd.serial.empty()) {
    id.serial = sd.serial;
    id.serial_source = s::Source::sys_descr;
  }

  // Firmware: vendor MIB, sysDescr.
  if (auto t = first_vendor_text(view, vendor_fact::firmware)) {
    id.firmware = *t;
    id.firmware_source = s::Source::vendor_mib;
  } else if (!sd.firmware.empty()) {
    id.firmware = sd.firmware;
    id.firmware_source = s::Source::sys_descr;
  }

  // MAC: ifPhysAddress of the first Ethernet interface with a real (6-byte, non-zero) address.
  auto ifs = read_table(view, mib::if_entry, 1);
  bool any_type = std::any_of(ifs.begin(), ifs.end(), [](const auto& r) {
    return cell(r.second, mib::if_col::type) != nullptr;
  });
  for (const auto& [idx, row] : ifs) {
    auto type = as_int(cell(row, mib::if_col::type));
    if (any_type && !(type && ethernet_type(*type))) continue;
    const auto* addr = as_bytes(cell(row, mib::if_col::phys_address));
    if (addr == nullptr || addr->size() != 6 ||
        std::all_of(addr->begin(), addr->end(), [](char c) { return c == 0; }))
      continue;
    id.mac = mac_string(*addr);
    id.mac_if_index = idx[0];
    break;
  }
  return id;
}

// ---- building ----------------------------------------------------------------------------------

fb::Offset<fb::String> str(fb::FlatBufferBuilder& b, const std::string& t) {
  return t.empty() ? fb::Offset<fb::String>() : b.CreateString(t);
}
fb::Offset<fb::String> str(fb::FlatBufferBuilder& b, const std::optional<std::string>& t) {
  return t ? b.CreateString(*t) : fb::Offset<fb::String>();
}

template <class Enum>
fb::Optional<Enum> opt_enum(std::optional<std::int32_t> v) {
  if (!v) return fb::nullopt;
  return static_cast<Enum>(*v);
}

fb::Offset<s::Identity> build_identity(fb::FlatBufferBuilder& b, const identity_facts& id) {
  auto sys_descr = str(b, id.sys_descr), sys_object_id = str(b, id.sys_object_id),
       sys_name = str(b, id.sys_name), sys_location = str(b, id.sys_location),
       sys_contact = str(b, id.sys_contact), enterprise_name = str(b, id.enterprise_name),
       vendor = str(b, id.vendor), model = str(b, id.model), serial = str(b, id.serial),
       firmware = str(b, id.firmware), mac = str(b, id.mac), hr_descr = str(b, id.hr_device_descr),
       device_id = str(b, id.device_id), printer_name = str(b, id.printer_name);
  s::IdentityBuilder ib(b);
  ib.add_sys_descr(sys_descr);
  ib.add_sys_object_id(sys_object_id);
  ib.add_sys_name(sys_name);
  ib.add_sys_location(sys_location);
  ib.add_sys_contact(sys_contact);
  if (id.uptime) ib.add_sys_uptime_ticks(*id.uptime);
  if (id.enterprise) ib.add_enterprise(*id.enterprise);
  ib.add_enterprise_name(enterprise_name);
  ib.add_vendor(vendor);
  ib.add_vendor_source(id.vendor_source);
  ib.add_model(model);
  ib.add_model_source(id.model_source);
  ib.add_serial(serial);
  ib.add_serial_source(id.serial_source);
  ib.add_firmware(firmware);
  ib.add_firmware_source(id.firmware_source);
  ib.add_mac(mac);
  if (id.mac_if_index) ib.add_mac_if_index(*id.mac_if_index);
  if (id.hr_device_index) ib.add_hr_device_index(*id.hr_device_index);
  ib.add_hr_device_descr(hr_descr);
  ib.add_device_id(device_id);
  ib.add_printer_name(printer_name);
  return ib.Finish();
}

fb::Offset<s::Status> build_status(fb::FlatBufferBuilder& b, const mib_view& view,
                                   const table_t& hr_devices, const table_t& hr_printers,
                                   const printer_device& printer) {
  if (!printer.index) return {};
  const row_t empty;
  auto dev = hr_devices.find(index_t{*printer.index});
  const row_t& drow = dev == hr_devices.end() ? empty : dev->second;
  auto prn = hr_printers.find(index_t{*printer.index});
  const row_t& prow = prn == hr_printers.end() ? empty : prn->second;
  (void)view;

  auto device_status = as_i32(cell(drow, mib::hr_device_col::status));
  auto errors = as_u32(cell(drow, mib::hr_device_col::errors));
  auto printer_status = as_i32(cell(prow, mib::hr_printer_col::status));
  const std::string* state = as_bytes(cell(prow, mib::hr_printer_col::detected_error_state));

  fb::Offset<fb::Vector<std::uint8_t>> state_vec;
  fb::Offset<fb::Vector<s::PrinterCondition>> cond_vec;
  if (state) {
    state_vec = b.CreateVector(reinterpret_cast<const std::uint8_t*>(state->data()), state->size());
    cond_vec = b.CreateVector(decode_error_state(*state));
  }
  s::StatusBuilder sb(b);
  if (device_status) sb.add_hr_device_status(static_cast<s::HrDeviceStatus>(*device_status));
  if (printer_status) sb.add_hr_printer_status(static_cast<s::HrPrinterStatus>(*printer_status));
  if (errors) sb.add_hr_device_errors(*errors);
  if (state) {
    sb.add_detected_error_state(state_vec);
    sb.add_conditions(cond_vec);
  }
  return sb.Finish();
}

bool is_receptacle(std::optional<std::int32_t> cls, std::optional<std::int32_t> type,
                   const std::string& descr) {
  if (cls && *cls == 4) return true;   // receptacleThatIsFilled
  if (cls && *cls == 3) return false;  // supplyThatIsConsumed
  if (type) {
    // wasteToner(4), wasteInk(8), wasteWax(14), wasteWater(24), wastePaper(26)
    return *type == 4 || *type == 8 || *type == 14 || *type == 24 || *type == 26;
  }
  std::string lower;
  for (char c : descr)
    lower.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  return lower.find("waste") != std::string::npos ||
         descr.find("\xe5\xbb\xa2") != std::string::npos ||  // 廢
         descr.find("\xe5\xba\x9f") != std::string::npos;    // 废
}

}  // namespace

flatbuffers::DetachedBuffer normalize(const mib_view& view, const normalize_options& options) {
  fb::FlatBufferBuilder b(4096);

  const table_t hr_devices = read_table(view, mib::hr_device_entry, 1);
  const table_t hr_printers = read_table(view, mib::hr_printer_entry, 1);
  const printer_device printer = find_printer_device(hr_devices, hr_printers);
  const identity_facts id = read_identity(view, options, hr_devices, printer);

  const bool brother = id.vendor == "Brother" || (id.enterprise && *id.enterprise == 2435);
  // LibreNMS exempts the MFC-L8850 from Brother's status-code levels; so do we.
  const bool brother_status_codes = brother && id.model.find("MFC-L8850") == std::string::npos;

  // ---- markers (counters)
  std::vector<fb::Offset<s::Marker>> markers;
  for (const auto& [idx, row] : read_table(view, mib::prt_marker_entry, 2)) {
    namespace c = mib::prt_marker_col;
    s::MarkerBuilder mb(b);
    mb.add_hr_device_index(idx[0]);
    mb.add_index(idx[1]);
    if (auto u = as_i32(cell(row, c::counter_unit))) mb.add_counter_unit(static_cast<s::Unit>(*u));
    if (auto v = as_u64(cell(row, c::life_count))) mb.add_life_count(*v);
    if (auto v = as_u64(cell(row, c::power_on_count))) mb.add_power_on_count(*v);
    if (auto v = as_i32(cell(row, c::mark_tech))) mb.add_marking_technology(*v);
    if (auto v = as_i32(cell(row, c::process_colorants))) mb.add_process_colorants(*v);
    if (auto v = as_i32(cell(row, c::spot_colorants))) mb.add_spot_colorants(*v);
    if (auto v = as_i32(cell(row, c::status))) mb.add_status(*v);
    markers.push_back(mb.Finish());
  }

  // ---- colorants
  std::map<index_t, std::string> colorant_names;
  std::vector<fb::Offset<s::Colorant>> colorants;
  for (const auto& [idx, row] : read_table(view, mib::prt_marker_colorant_entry, 2)) {
    namespace c = mib::prt_colorant_col;
    auto name = as_text(cell(row, c::value));
    if (name) {
      std::string lower;
      for (char ch : *name)
        lower.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(ch))));
      colorant_names[idx] = lower;
    }
    auto value_off = str(b, name);
    s::ColorantBuilder cb(b);
    cb.add_hr_device_index(idx[0]);
    cb.add_index(idx[1]);
    if (auto v = as_i32(cell(row, c::marker_index))) cb.add_marker_index(*v);
    if (auto v = as_i32(cell(row, c::role))) cb.add_role(static_cast<s::ColorantRole>(*v));
    cb.add_value(value_off);
    if (auto v = as_i32(cell(row, c::tonality))) cb.add_tonality(*v);
    colorants.push_back(cb.Finish());
  }

  // ---- supplies
  std::vector<fb::Offset<s::Supply>> supplies;
  for (const auto& [idx, row] : read_table(view, mib::prt_marker_supplies_entry, 2)) {
    namespace c = mib::prt_supplies_col;
    const std::string* raw_descr = as_bytes(cell(row, c::description));
    std::string descr = raw_descr ? clean_description(*raw_descr) : std::string();
    auto marker_index = as_i32(cell(row, c::marker_index));
    auto colorant_index = as_i32(cell(row, c::colorant_index));
    auto cls = as_i32(cell(row, c::supply_class));
    auto type = as_i32(cell(row, c::type));
    auto unit = as_i32(cell(row, c::supply_unit));
    auto max = as_i32(cell(row, c::max_capacity));
    auto level = as_i32(cell(row, c::level));
    const bool receptacle = is_receptacle(cls, type, descr);

    std::string colorant;
    auto colorant_source = s::ColorantSource::none;
    if (colorant_index && *colorant_index > 0) {
      auto it = colorant_names.find(index_t{idx[0], static_cast<std::uint32_t>(*colorant_index)});
      if (it != colorant_names.end() && !it->second.empty()) {
        colorant = it->second;
        colorant_source = s::ColorantSource::colorant_table;
      }
    }
    if (colorant.empty()) {
      colorant = infer_colorant(descr);
      if (!colorant.empty()) colorant_source = s::ColorantSource::description;
    }

    level_input in;
    if (level) in.level = *level;
    if (max) in.max_capacity = *max;
    in.unit = unit;
    in.capacity_100_means_percent = true;
    in.status_codes = brother_status_codes;
    const level_judgement j = judge_level(in);

    auto descr_off = raw_descr ? b.CreateString(descr) : fb::Offset<fb::String>();
    auto raw_off = raw_descr
                       ? b.CreateVector(reinterpret_cast<const std::uint8_t*>(raw_descr->data()),
                                        raw_descr->size())
                       : fb::Offset<fb::Vector<std::uint8_t>>();
    auto colorant_off = str(b, colorant);
    s::SupplyBuilder sb(b);
    sb.add_hr_device_index(idx[0]);
    sb.add_index(idx[1]);
    if (marker_index) sb.add_marker_index(*marker_index);
    if (colorant_index) sb.add_colorant_index(*colorant_index);
    if (cls) sb.add_supply_class(static_cast<s::SupplyClass>(*cls));
    if (type) sb.add_type(static_cast<s::SupplyType>(*type));
    sb.add_description(descr_off);
    sb.add_description_raw(raw_off);
    if (unit) sb.add_unit(static_cast<s::Unit>(*unit));
    if (max) sb.add_max_capacity(*max);
    if (level) sb.add_level(*level);
    sb.add_receptacle(receptacle);
    sb.add_quality(j.quality);
    if (j.percent) {
      if (receptacle)
        sb.add_fill_percent(static_cast<std::int16_t>(100 - *j.percent));
      else
        sb.add_remaining_percent(*j.percent);
    }
    sb.add_colorant(colorant_off);
    sb.add_colorant_source(colorant_source);
    supplies.push_back(sb.Finish());
  }

  // ---- input trays
  std::vector<fb::Offset<s::InputTray>> trays;
  for (const auto& [idx, row] : read_table(view, mib::prt_input_entry, 2)) {
    namespace c = mib::prt_input_col;
    auto name = str(b, as_text(cell(row, c::name)));
    auto descr = str(b, as_text(cell(row, c::description)));
    auto media = str(b, as_text(cell(row, c::media_name)));
    auto type = as_i32(cell(row, c::type));
    auto unit = as_i32(cell(row, c::capacity_unit));
    auto max = as_i32(cell(row, c::max_capacity));
    auto level = as_i32(cell(row, c::current_level));
    auto status = as_i32(cell(row, c::status));
    level_input in;
    if (level) in.level = *level;
    if (max) in.max_capacity = *max;
    in.unit = unit;
    const level_judgement j = judge_level(in);
    s::InputTrayBuilder tb(b);
    tb.add_hr_device_index(idx[0]);
    tb.add_index(idx[1]);
    if (type) tb.add_type(static_cast<s::InputType>(*type));
    tb.add_name(name);
    tb.add_description(descr);
    tb.add_media_name(media);
    if (unit) tb.add_capacity_unit(static_cast<s::Unit>(*unit));
    if (max) tb.add_max_capacity(*max);
    if (level) tb.add_current_level(*level);
    if (status) tb.add_status(*status);
    tb.add_quality(j.quality);
    if (j.percent) tb.add_percent(*j.percent);
    trays.push_back(tb.Finish());
  }

  // ---- alerts
  std::vector<fb::Offset<s::Alert>> alerts;
  for (const auto& [idx, row] : read_table(view, mib::prt_alert_entry, 2)) {
    namespace c = mib::prt_alert_col;
    auto descr = str(b, as_text(cell(row, c::description)));
    s::AlertBuilder ab(b);
    ab.add_hr_device_index(idx[0]);
    ab.add_index(idx[1]);
    if (auto v = as_i32(cell(row, c::severity))) ab.add_severity(static_cast<s::AlertSeverity>(*v));
    if (auto v = as_i32(cell(row, c::training_level)))
      ab.add_training_level(static_cast<s::AlertTrainingLevel>(*v));
    if (auto v = as_i32(cell(row, c::group))) ab.add_group(static_cast<s::AlertGroup>(*v));
    if (auto v = as_i32(cell(row, c::group_index))) ab.add_group_index(*v);
    if (auto v = as_i32(cell(row, c::location))) ab.add_location(*v);
    if (auto v = as_i32(cell(row, c::code))) ab.add_code(static_cast<s::AlertCode>(*v));
    ab.add_description(descr);
    if (auto v = as_u32(cell(row, c::time))) ab.add_time_ticks(*v);
    alerts.push_back(ab.Finish());
  }

  auto identity = build_identity(b, id);
  auto status = build_status(b, view, hr_devices, hr_printers, printer);
  auto source = str(b, options.source);
  auto markers_v = b.CreateVector(markers);
  auto supplies_v = b.CreateVector(supplies);
  auto trays_v = b.CreateVector(trays);
  auto colorants_v = b.CreateVector(colorants);
  auto alerts_v = b.CreateVector(alerts);

  s::DeviceSnapshotBuilder db(b);
  db.add_schema_version(1);
  if (options.polled_at_ms) db.add_polled_at_ms(*options.polled_at_ms);
  db.add_source(source);
  db.add_identity(identity);
  if (!status.IsNull()) db.add_status(status);
  db.add_has_printer_mib(!view.subtree(mib::printer_mib).empty());
  db.add_markers(markers_v);
  db.add_supplies(supplies_v);
  db.add_trays(trays_v);
  db.add_colorants(colorants_v);
  db.add_alerts(alerts_v);
  b.Finish(db.Finish(), s::DeviceSnapshotIdentifier());
  return b.Release();
}

bool verify_snapshot(std::span<const std::uint8_t> bytes) {
  fb::Verifier v(bytes.data(), bytes.size());
  return s::VerifyDeviceSnapshotBuffer(v);
}

}  // namespace fleetpoll::codecs
