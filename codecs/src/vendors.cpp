#include "fleetpoll/codecs/vendors.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <vector>

namespace fleetpoll::codecs {
namespace {

// IANA private enterprise numbers of printer vendors
// (https://www.iana.org/assignments/enterprise-numbers).
constexpr std::array<vendor_entry, 18> vendors{{
    {2, "IBM", "IBM"},
    {11, "Hewlett-Packard", "HP"},
    {236, "Samsung Electronics", "Samsung"},
    {253, "Xerox", "Xerox"},
    {297, "Fuji Xerox", "Fuji Xerox"},
    {367, "Ricoh", "Ricoh"},
    {641, "Lexmark International", "Lexmark"},
    {674, "Dell", "Dell"},
    {683, "Extended Systems (ZebraNet print servers)", "Zebra"},
    {1129, "Toshiba", "Toshiba"},
    {1248, "Seiko Epson", "Epson"},
    {1347, "Kyocera", "Kyocera"},
    {1602, "Canon", "Canon"},
    {2001, "Oki Data", "OKI"},
    {2385, "Sharp", "Sharp"},
    {2435, "Brother Industries", "Brother"},
    {10642, "Zebra Technologies", "Zebra"},
    {18334, "Konica Minolta", "Konica Minolta"},
}};

struct brand_token {
  std::string_view token;  // as it appears at the start of sysDescr (case-insensitive)
  std::string_view brand;
};

// Longer tokens first where one is a prefix of another.
constexpr std::array<brand_token, 30> brand_tokens{{
    {"Hewlett-Packard", "HP"}, {"HP", "HP"},
    {"Brother", "Brother"},    {"Canon", "Canon"},
    {"RICOH", "Ricoh"},        {"Gestetner", "Gestetner"},
    {"LANIER", "Lanier"},      {"NRG", "NRG"},
    {"Savin", "Savin"},        {"FUJI XEROX", "Fuji Xerox"},
    {"FUJIFILM", "FUJIFILM"},  {"Xerox", "Xerox"},
    {"EPSON", "Epson"},        {"KYOCERA", "Kyocera"},
    {"Lexmark", "Lexmark"},    {"KONICA MINOLTA", "Konica Minolta"},
    {"SHARP", "Sharp"},        {"OKI", "OKI"},
    {"Samsung", "Samsung"},    {"TOSHIBA TEC", "Toshiba"},
    {"TOSHIBA", "Toshiba"},    {"Dell", "Dell"},
    {"ZebraNet", "Zebra"},     {"Zebra", "Zebra"},
    {"UTAX", "UTAX"},          {"TA Triumph-Adler", "TA Triumph-Adler"},
    {"Kodak", "Kodak"},        {"Olivetti", "Olivetti"},
    {"Pantum", "Pantum"},      {"Lenovo", "Lenovo"},
}};

const std::array<vendor_scalar, 24>& scalars() {
  static const std::array<vendor_scalar, 24> s{{
      // model
      {vendor_fact::model, 367, {1, 3, 6, 1, 4, 1, 367, 3, 2, 1, 1, 1, 1, 0}, ""},
      {vendor_fact::model, 18334, {1, 3, 6, 1, 4, 1, 18334, 1, 1, 1, 1, 6, 2, 1, 0}, ""},
      {vendor_fact::model, 1602, {1, 3, 6, 1, 4, 1, 1602, 1, 1, 1, 1, 0}, ""},
      {vendor_fact::model, 2435, {1, 3, 6, 1, 4, 1, 2435, 2, 4, 3, 2435, 5, 13, 3, 0}, ""},
      {vendor_fact::model, 1347, {1, 3, 6, 1, 4, 1, 1347, 43, 5, 1, 1, 1, 1}, ""},
      {vendor_fact::model, 10642, {1, 3, 6, 1, 4, 1, 10642, 1, 1, 0}, ""},
      // serial
      {vendor_fact::serial, 367, {1, 3, 6, 1, 4, 1, 367, 3, 2, 1, 2, 1, 4, 0}, ""},
      {vendor_fact::serial, 2435, {1, 3, 6, 1, 4, 1, 2435, 2, 3, 9, 4, 2, 1, 5, 5, 1, 0}, ""},
      {vendor_fact::serial, 1347, {1, 3, 6, 1, 4, 1, 1347, 43, 5, 1, 1, 28, 1}, ""},
      {vendor_fact::serial, 1248, {1, 3, 6, 1, 4, 1, 1248, 1, 1, 3, 1, 1, 1, 0}, ""},
      {vendor_fact::serial, 683, {1, 3, 6, 1, 4, 1, 683, 1, 5, 0}, ""},
      {vendor_fact::serial, 11, {1, 3, 6, 1, 4, 1, 11, 2, 3, 9, 4, 2, 1, 1, 3, 3, 0}, ""},
      // firmware
      {vendor_fact::firmware, 367, {1, 3, 6, 1, 4, 1, 367, 3, 2, 1, 1, 1, 2, 0}, ""},
      {vendor_fact::firmware, 18334, {1, 3, 6, 1, 4, 1, 18334, 1, 1, 1, 1, 6, 1, 0}, ""},
      {vendor_fact::firmware, 1602, {1, 3, 6, 1, 4, 1, 1602, 1, 1, 1, 4, 0}, ""},
      {vendor_fact::firmware,
       2435,
       {1, 3, 6, 1, 4, 1, 2435, 2, 4, 3, 1240, 6, 5, 0},
       "Firmware Ver."},
      {vendor_fact::firmware, 1347, {1, 3, 6, 1, 4, 1, 1347, 43, 5, 4, 1, 5, 1, 1}, ""},
      {vendor_fact::firmware, 10642, {1, 3, 6, 1, 4, 1, 10642, 1, 2, 0}, ""},
      {vendor_fact::firmware, 683, {1, 3, 6, 1, 4, 1, 683, 1, 9, 0}, ""},
      {vendor_fact::firmware, 1248, {1, 3, 6, 1, 4, 1, 1248, 1, 1, 3, 1, 21, 1, 1, 2, 1}, ""},
      {vendor_fact::firmware, 2385, {1, 3, 6, 1, 4, 1, 2385, 2, 1, 1, 2, 1, 2, 1}, ""},
      // IEEE 1284 device ID strings
      {vendor_fact::device_id, 11, {1, 3, 6, 1, 4, 1, 11, 2, 3, 9, 1, 1, 7, 0}, ""},
      {vendor_fact::device_id, 2435, {1, 3, 6, 1, 4, 1, 2435, 2, 3, 9, 1, 1, 7, 0}, ""},
      {vendor_fact::device_id, 253, {1, 3, 6, 1, 4, 1, 253, 8, 51, 1, 2, 1, 20, 1}, ""},
  }};
  return s;
}

char lower(char c) {
  return static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
}
bool is_alnum(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0;
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(),
                                            [](char x, char y) { return lower(x) == lower(y); });
}

bool istarts_with(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && iequals(s.substr(0, prefix.size()), prefix);
}

std::size_t ifind(std::string_view s, std::string_view needle, std::size_t from = 0) {
  if (needle.empty()) return from;
  for (std::size_t i = from; i + needle.size() <= s.size(); ++i)
    if (iequals(s.substr(i, needle.size()), needle)) return i;
  return std::string_view::npos;
}

std::string_view trim(std::string_view s, std::string_view chars = " \t\r\n,;:") {
  auto b = s.find_first_not_of(chars);
  if (b == std::string_view::npos) return {};
  auto e = s.find_last_not_of(chars);
  return s.substr(b, e - b + 1);
}

std::string_view cut_at(std::string_view s, std::string_view sep, bool case_insensitive = false) {
  auto p = case_insensitive ? ifind(s, sep) : s.find(sep);
  return p == std::string_view::npos ? s : s.substr(0, p);
}

bool has_alnum(std::string_view s) {
  return std::any_of(s.begin(), s.end(), is_alnum);
}

bool version_like(std::string_view s) {
  if (s.empty() || !std::isdigit(static_cast<unsigned char>(s.front()))) return false;
  bool dot = false;
  for (char c : s) {
    if (c == '.')
      dot = true;
    else if (!std::isdigit(static_cast<unsigned char>(c)))
      return false;
  }
  return dot;
}

std::string model_or_empty(std::string_view s) {
  s = trim(s);
  return has_alnum(s) ? std::string(s) : std::string();
}

}  // namespace

std::span<const vendor_entry> vendor_table() noexcept {
  return vendors;
}

const vendor_entry* find_vendor(std::uint32_t enterprise) noexcept {
  for (const auto& v : vendors)
    if (v.enterprise == enterprise) return &v;
  return nullptr;
}

std::optional<std::string_view> brand_at_start(std::string_view text, std::size_t* matched) {
  text = trim(text, " \t\r\n");
  for (const auto& t : brand_tokens) {
    if (!istarts_with(text, t.token)) continue;
    if (text.size() > t.token.size() && is_alnum(text[t.token.size()])) continue;  // whole word
    if (matched) {
      // Offset in the caller's (untrimmed) text is not needed: callers pass trimmed text.
      *matched = t.token.size();
    }
    return t.brand;
  }
  return std::nullopt;
}

std::string strip_brand(std::string_view model) {
  model = trim(model, " \t\r\n");
  std::size_t n = 0;
  if (brand_at_start(model, &n)) model = trim(model.substr(n), " \t\r\n");
  // "series" / "Series" at the end.
  constexpr std::string_view series = " series";
  if (model.size() > series.size() && iequals(model.substr(model.size() - series.size()), series))
    model = trim(model.substr(0, model.size() - series.size()), " \t\r\n");
  return std::string(model);
}

sys_descr_facts parse_sys_descr(std::string_view text) {
  sys_descr_facts f;
  text = trim(text, " \t\r\n");
  std::size_t n = 0;
  auto brand = brand_at_start(text, &n);
  if (!brand) return f;
  f.brand = std::string(*brand);
  std::string_view rest = trim(text.substr(n));
  const std::string_view b = *brand;

  if (b == "HP") {
    // JetDirect: "HP ETHERNET MULTI-ENVIRONMENT,SN:XXXX,FN:...,PID:HP Color LaserJet Test".
    // The card says nothing reliable about the printer model except a PID that names an HP product.
    std::size_t pos = 0;
    while (pos <= rest.size()) {
      auto end = rest.find(',', pos);
      auto field =
          trim(rest.substr(pos, end == std::string_view::npos ? std::string_view::npos : end - pos),
               " ");
      if (field.substr(0, 3) == "SN:") f.serial = std::string(trim(field.substr(3), " "));
      if (field.substr(0, 4) == "PID:") {
        auto pid = trim(field.substr(4), " ");
        if (istarts_with(pid, "HP ")) f.model = strip_brand(pid);
      }
      if (end == std::string_view::npos) break;
      pos = end + 1;
    }
    return f;
  }
  if (b == "Brother") {
    if (istarts_with(rest, "NC-")) return f;  // the print server, not the printer
    f.model = model_or_empty(cut_at(rest, ","));
    return f;
  }
  if (b == "Ricoh" || b == "Gestetner" || b == "Lanier" || b == "NRG" || b == "Savin") {
    // "RICOH MP C2503 1.35 / RICOH Network Printer C model / ..."
    auto head = trim(cut_at(rest, " /"), " ");
    auto sp = head.rfind(' ');
    if (sp != std::string_view::npos && version_like(head.substr(sp + 1))) {
      f.firmware = std::string(head.substr(sp + 1));
      head = head.substr(0, sp);
    }
    f.model = model_or_empty(head);
    return f;
  }
  if (b == "OKI") {
    // "OKI OkiLAN 9450g Rev.00.69 ... PrintServer: Attached to MC873 Rev.07.87 : Copyright ..."
    auto p = ifind(rest, "Attached to ");
    if (p == std::string_view::npos) return f;
    auto after = rest.substr(p + 12);
    auto sp = after.find(' ');
    f.model = model_or_empty(after.substr(0, sp));
    if (sp != std::string_view::npos) {
      auto tail = trim(after.substr(sp + 1), " ");
      if (istarts_with(tail, "Rev."))
        f.firmware = std::string(trim(cut_at(tail.substr(4), " "), " "));
    }
    return f;
  }
  if (b == "Samsung") {
    // "Samsung M4080FX; V11.01...;Engine ...;NIC ;S/N 123" / "Samsung ML-2850 Series OS 1.01 ..."
    auto head = cut_at(rest, ";");
    head = cut_at(head, " Series", true);
    head = cut_at(head, " OS ", false);
    f.model = model_or_empty(head);
    std::size_t pos = rest.find(';');
    while (pos != std::string_view::npos) {
      auto end = rest.find(';', pos + 1);
      auto field = trim(rest.substr(pos + 1, end == std::string_view::npos ? std::string_view::npos
                                                                           : end - pos - 1),
                        " ");
      if (f.firmware.empty() && field.size() > 1 && field[0] == 'V' &&
          std::isdigit(static_cast<unsigned char>(field[1])))
        f.firmware = std::string(field);
      if (istarts_with(field, "S/N")) f.serial = std::string(trim(field.substr(3), " :"));
      pos = end;
    }
    return f;
  }
  if (b == "Epson") {
    if (ifind(rest, "Built-in") != std::string_view::npos ||
        ifind(rest, "Ethernet") != std::string_view::npos ||
        ifind(rest, "Server") != std::string_view::npos)
      return f;
    f.model = model_or_empty(cut_at(cut_at(rest, ","), ";"));
    return f;
  }
  if (b == "Kyocera" || b == "Zebra") {
    // "KYOCERA Document Solutions Printing System", "ZebraNet Wired PS": no model.
    return f;
  }
  if (b == "Canon") {
    f.model = model_or_empty(cut_at(rest, " /"));
    return f;
  }
  if (b == "Lexmark" || b == "Dell") {
    // "Lexmark T640 version NS.NP.N219 kernel ..." / "Dell MFP Laser 3115cn; Net 9.26, ..."
    auto head = cut_at(rest, ";");
    auto v = ifind(head, " version ");
    if (v != std::string_view::npos) {
      f.firmware = std::string(trim(cut_at(head.substr(v + 9), " "), " "));
      head = head.substr(0, v);
    }
    head = trim(head, " ");
    constexpr std::string_view laser_printer = " Laser Printer";
    if (head.size() > laser_printer.size() &&
        iequals(head.substr(head.size() - laser_printer.size()), laser_printer))
      head = head.substr(0, head.size() - laser_printer.size());
    f.model = model_or_empty(head);
    return f;
  }
  // Xerox, Fuji Xerox, FUJIFILM, Sharp, Konica Minolta, Toshiba, ...: "BRAND MODEL; firmware..."
  f.model = model_or_empty(cut_at(cut_at(rest, ";"), ","));
  return f;
}

std::string ieee1284_field(std::string_view device_id, std::string_view key) {
  auto matches = [&](std::string_view k) {
    if (iequals(k, key)) return true;
    if (iequals(key, "MDL")) return iequals(k, "MODEL");
    if (iequals(key, "MFG")) return iequals(k, "MANUFACTURER");
    if (iequals(key, "CMD")) return iequals(k, "COMMAND SET");
    if (iequals(key, "DES")) return iequals(k, "DESCRIPTION");
    return false;
  };
  std::size_t pos = 0;
  while (pos < device_id.size()) {
    auto end = device_id.find(';', pos);
    auto field =
        device_id.substr(pos, end == std::string_view::npos ? std::string_view::npos : end - pos);
    auto colon = field.find(':');
    if (colon != std::string_view::npos && matches(trim(field.substr(0, colon), " ")))
      return std::string(trim(field.substr(colon + 1), " "));
    if (end == std::string_view::npos) break;
    pos = end + 1;
  }
  return {};
}

std::span<const vendor_scalar> vendor_scalars() {
  return scalars();
}

}  // namespace fleetpoll::codecs
