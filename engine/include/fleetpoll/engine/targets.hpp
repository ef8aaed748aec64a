// fleetpoll::engine::targets — what to poll or sweep: addresses, CIDR ranges, host names, files.
//
// Text forms (parse_target_spec):
//   192.0.2.7   192.0.2.7:1161   [2001:db8::7]:1161   2001:db8::7      a single address
//   192.0.2.0/24   10.1.0.0/16:1161   2001:db8::/120                   a CIDR range
//   printer-3.example.com   printer-3.example.com:1161                  a host name (resolved
//   later)
// A targets file (parse_targets_file) holds one device per line as CSV:
//   address[,port[,version[,community]]]    e.g.  127.1.0.5,1161,2c
// with an optional header line starting with "address", blank lines and '#' comments; the
// address column takes any text form above. `fleetpoll discover` writes this format.
//
// Ranges: for IPv4 prefixes up to /30 the network and broadcast addresses are left out. A range
// may hold at most max_range_addresses addresses (a /12), so a typo cannot start a sweep of a /8.
// Thread safety: pure functions.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/udp.hpp>

#include "fleetpoll/codecs/snmp_codec.hpp"

namespace fleetpoll::engine {

inline constexpr std::uint64_t max_range_addresses = std::uint64_t{1} << 20;

struct target_spec {
  enum class kind : std::uint8_t { address, range, host };
  kind k = kind::address;
  boost::asio::ip::address address;  // the address, or a range's first address
  unsigned prefix = 32;              // range only
  std::string host;                  // host only
  std::optional<std::uint16_t> port;
};

// Parses one target. On failure returns nullopt and sets `why` to a one-line reason.
std::optional<target_spec> parse_target_spec(std::string_view text, std::string& why);

// Addresses in a spec (1 for an address, 0 for a host, the usable addresses of a range).
std::uint64_t address_count(const target_spec& spec) noexcept;

// The i-th address (0-based) of an address or range spec; i < address_count(spec).
boost::asio::ip::address nth_address(const target_spec& spec, std::uint64_t i);

// Calls fn for each address of an address or range spec, in order; stops when fn returns false.
void for_each_address(const target_spec& spec,
                      const std::function<bool(const boost::asio::ip::address&)>& fn);

// SNMP version of a target: known (v1, v2c) or to be found out (auto).
enum class version_choice : std::uint8_t { auto_detect, v1, v2c };
std::optional<version_choice> parse_version(
    std::string_view text);                             // "auto", "1", "v1", "2c", "v2c"
std::string_view to_string(version_choice v) noexcept;  // "auto", "1", "2c"

// One line of a targets file.
struct file_target {
  target_spec spec;
  std::optional<version_choice> version;
  std::optional<std::string> community;
  std::size_t line = 0;
};

struct targets_file_result {
  std::vector<file_target> targets;
  std::string error;  // "LINE: reason" of the first bad line; empty when all parsed
  explicit operator bool() const noexcept { return error.empty(); }
};

// Parses the text of a targets file (no I/O).
targets_file_result parse_targets_file(std::string_view text);

// "127.0.0.1:161", "[::1]:161".
std::string format_endpoint(const boost::asio::ip::udp::endpoint& ep);

}  // namespace fleetpoll::engine
