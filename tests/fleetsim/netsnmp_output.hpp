// Reading what net-snmp's command-line tools print (-On -Ox: numeric OIDs, every string in hex)
// back into codecs values, and the common command lines.
#pragma once

#include <cctype>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "support.hpp"

namespace fleetsim_test {

struct tool_row {
  codecs::oid name;
  std::optional<codecs::value> val;  // absent for exceptions
  std::string exception;             // "No more variables left ...", "No Such Instance ...", ...
};

// The arguments every tool gets: no MIB files, no configuration, numeric and unambiguous output.
// `timeout` seconds per try, `retries` more tries.
inline std::vector<std::string> tool(std::string_view program, std::string_view version,
                                     std::string_view target, std::vector<std::string> tail,
                                     std::string_view community = "public", int timeout = 2,
                                     int retries = 1) {
  std::vector<std::string> a = {std::string(program),
                                std::string("-") + std::string(version),
                                "-c",
                                std::string(community),
                                "-m",
                                "",
                                "-On",
                                "-Ox",
                                "-t",
                                std::to_string(timeout),
                                "-r",
                                std::to_string(retries),
                                std::string(target)};
  a.insert(a.end(), tail.begin(), tail.end());
  return a;
}

inline std::vector<std::string> tool_env(const temp_dir& d) {
  return {"SNMPCONFPATH=" + d.path().string(), "SNMP_PERSISTENT_DIR=" + d.path().string(),
          "MIBS=", "MIBDIRS=/nonexistent"};
}

inline bool only_hex_pairs(const std::string& line) {
  std::istringstream in(line);
  std::string t;
  bool any = false;
  while (in >> t) {
    if (t.size() != 2 || !std::isxdigit(static_cast<unsigned char>(t[0])) ||
        !std::isxdigit(static_cast<unsigned char>(t[1])))
      return false;
    any = true;
  }
  return any;
}

inline std::string hex_bytes(std::string_view hex) {
  std::string out;
  std::istringstream in{std::string(hex)};
  std::string pair;
  while (in >> pair) out.push_back(static_cast<char>(std::stoul(pair, nullptr, 16)));
  return out;
}

// Parses "OID = TYPE: VALUE" records; hex dumps continue on following lines. Lines that are not
// records ("End of MIB", errors) are returned in `other`.
inline std::vector<tool_row> parse_tool_output(const std::string& text,
                                               std::vector<std::string>* other = nullptr) {
  std::vector<std::string> records;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(".1", 0) == 0 && line.find(" = ") != std::string::npos)
      records.push_back(line);
    else if (!records.empty() && only_hex_pairs(line) &&
             records.back().find("Hex-STRING:") != std::string::npos)
      records.back() += " " + line;  // a wrapped hex dump
    else if (other)
      other->push_back(line);
  }
  std::vector<tool_row> rows;
  for (const auto& r : records) {
    const auto eq = r.find(" = ");
    tool_row row;
    row.name = *codecs::oid::parse(r.substr(0, eq));
    const std::string v = r.substr(eq + 3);
    auto after = [&](std::string_view prefix) -> std::optional<std::string> {
      if (v.rfind(prefix, 0) == 0) return v.substr(prefix.size());
      return std::nullopt;
    };
    using codecs::value;
    using codecs::value_type;
    std::optional<std::string> x;
    if ((x = after("INTEGER: ")))
      row.val = value::make_integer(std::stoll(*x));
    else if ((x = after("Hex-STRING: ")))
      row.val = value::make_string(hex_bytes(*x));
    else if (v == "\"\"")
      row.val = value::make_string("");
    else if ((x = after("STRING: ")))
      row.val = value::make_string(x->substr(1, x->size() - 2));
    else if ((x = after("OID: ")))
      row.val = value::make_oid(*codecs::oid::parse(*x));
    else if ((x = after("Timeticks: (")))
      row.val = value::make_unsigned(value_type::timeticks, std::stoull(*x));
    else if ((x = after("Counter32: ")))
      row.val = value::make_unsigned(value_type::counter32, std::stoull(*x));
    else if ((x = after("Gauge32: ")))
      row.val = value::make_unsigned(value_type::gauge32, std::stoull(*x));
    else if ((x = after("Counter64: ")))
      row.val = value::make_unsigned(value_type::counter64, std::stoull(*x));
    else if ((x = after("IpAddress: "))) {
      in_addr a{};
      inet_pton(AF_INET, x->c_str(), &a);
      value ipv = value::make(value_type::ip_address);
      ipv.bytes.assign(reinterpret_cast<const char*>(&a), 4);
      row.val = ipv;
    } else if (v == "NULL")
      row.val = value::make(value_type::null);
    else
      row.exception = v;
    rows.push_back(std::move(row));
  }
  return rows;
}

inline bool is_end_of_view(const tool_row& r) {
  return r.exception.rfind("No more variables left in this MIB View", 0) == 0;
}

}  // namespace fleetsim_test
