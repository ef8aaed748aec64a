#include "fleetpoll/codecs/value.hpp"

#include <cstdio>

namespace fleetpoll::codecs {

std::string_view to_string(value_type t) noexcept {
  switch (t) {
    case value_type::integer:
      return "INTEGER";
    case value_type::octet_string:
      return "OCTET STRING";
    case value_type::null:
      return "NULL";
    case value_type::object_id:
      return "OBJECT IDENTIFIER";
    case value_type::ip_address:
      return "IpAddress";
    case value_type::counter32:
      return "Counter32";
    case value_type::gauge32:
      return "Gauge32";
    case value_type::timeticks:
      return "TimeTicks";
    case value_type::opaque:
      return "Opaque";
    case value_type::counter64:
      return "Counter64";
    case value_type::no_such_object:
      return "noSuchObject";
    case value_type::no_such_instance:
      return "noSuchInstance";
    case value_type::end_of_mib_view:
      return "endOfMibView";
  }
  return "?";
}

namespace {
bool printable(const std::string& s) {
  for (unsigned char c : s)
    if (c < 0x20 || c > 0x7e) return false;
  return true;
}
std::string hex(const std::string& s) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out = "0x";
  for (unsigned char c : s) {
    out.push_back(digits[c >> 4]);
    out.push_back(digits[c & 15]);
  }
  return out;
}
}  // namespace

std::string value::to_string() const {
  switch (type) {
    case value_type::integer:
      return std::to_string(integer());
    case value_type::counter32:
    case value_type::gauge32:
    case value_type::timeticks:
    case value_type::counter64:
      return std::to_string(number);
    case value_type::octet_string:
      return printable(bytes) ? "\"" + bytes + "\"" : hex(bytes);
    case value_type::opaque:
      return hex(bytes);
    case value_type::object_id:
      return object.to_string();
    case value_type::ip_address: {
      if (bytes.size() != 4) return hex(bytes);
      char buf[16];
      std::snprintf(buf, sizeof buf, "%u.%u.%u.%u", static_cast<unsigned char>(bytes[0]),
                    static_cast<unsigned char>(bytes[1]), static_cast<unsigned char>(bytes[2]),
                    static_cast<unsigned char>(bytes[3]));
      return buf;
    }
    case value_type::null:
    case value_type::no_such_object:
    case value_type::no_such_instance:
    case value_type::end_of_mib_view:
      return std::string(codecs::to_string(type));
  }
  return "?";
}

}  // namespace fleetpoll::codecs
