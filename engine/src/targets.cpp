#include "fleetpoll/engine/targets.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>

namespace fleetpoll::engine {

namespace ip = boost::asio::ip;

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

template <class T>
bool parse_uint(std::string_view s, T& out) {
  if (s.empty() || s.size() > 10) return false;
  auto r = std::from_chars(s.data(), s.data() + s.size(), out);
  return r.ec == std::errc{} && r.ptr == s.data() + s.size();
}

bool parse_port(std::string_view s, std::optional<std::uint16_t>& port, std::string& why) {
  std::uint32_t p = 0;
  if (!parse_uint(s, p) || p == 0 || p > 65535) {
    why = "port must be a number from 1 to 65535";
    return false;
  }
  port = static_cast<std::uint16_t>(p);
  return true;
}

bool valid_host_name(std::string_view h) {
  if (h.empty() || h.size() > 253 || h.front() == '.' || h.front() == '-') return false;
  std::size_t label = 0;
  for (char c : h) {
    if (c == '.') {
      if (label == 0) return false;
      label = 0;
      continue;
    }
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_')) return false;
    if (++label > 63) return false;
  }
  return true;
}

std::optional<ip::address> parse_address(std::string_view s) {
  boost::system::error_code ec;
  auto a = ip::make_address(std::string(s), ec);
  if (ec) return std::nullopt;
  return a;
}

// Address + n (saturating within the family is the caller's business: n < range size).
ip::address add(const ip::address& base, std::uint64_t n) {
  if (base.is_v4()) return ip::address_v4(static_cast<std::uint32_t>(base.to_v4().to_uint() + n));
  auto b = base.to_v6().to_bytes();
  for (int i = 15; i >= 0 && n; --i) {
    const std::uint64_t sum = b[static_cast<std::size_t>(i)] + (n & 0xFF);
    b[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(sum & 0xFF);
    n = (n >> 8) + (sum >> 8);
  }
  return ip::address_v6(b);
}

ip::address network_of(const ip::address& a, unsigned prefix) {
  if (a.is_v4()) {
    const std::uint32_t mask = prefix == 0 ? 0 : ~std::uint32_t{0} << (32 - prefix);
    return ip::address_v4(a.to_v4().to_uint() & mask);
  }
  auto b = a.to_v6().to_bytes();
  for (unsigned i = 0; i < 16; ++i) {
    const unsigned bits_before = i * 8;
    if (bits_before >= prefix)
      b[i] = 0;
    else if (prefix - bits_before < 8)
      b[i] = static_cast<std::uint8_t>(b[i] & (0xFF << (8 - (prefix - bits_before))));
  }
  return ip::address_v6(b);
}

}  // namespace

std::optional<target_spec> parse_target_spec(std::string_view text, std::string& why) {
  text = trim(text);
  if (text.empty()) {
    why = "empty target";
    return std::nullopt;
  }
  target_spec t;
  std::string_view body = text;
  // "[v6]" or "[v6]:port" or "[v6/prefix]:port"
  if (body.front() == '[') {
    const auto close = body.find(']');
    if (close == std::string_view::npos) {
      why = "missing ']' after an IPv6 address";
      return std::nullopt;
    }
    std::string_view rest = body.substr(close + 1);
    body = body.substr(1, close - 1);
    if (!rest.empty()) {
      if (rest.front() != ':' || !parse_port(rest.substr(1), t.port, why)) {
        if (why.empty()) why = "expected ':PORT' after ']'";
        return std::nullopt;
      }
    }
  } else if (std::count(body.begin(), body.end(), ':') == 1) {
    const auto colon = body.find(':');
    if (!parse_port(body.substr(colon + 1), t.port, why)) return std::nullopt;
    body = body.substr(0, colon);
  }
  // CIDR
  if (const auto slash = body.find('/'); slash != std::string_view::npos) {
    auto a = parse_address(body.substr(0, slash));
    unsigned prefix = 0;
    if (!a) {
      why = "'" + std::string(body.substr(0, slash)) + "' is not an IP address";
      return std::nullopt;
    }
    const unsigned max_prefix = a->is_v4() ? 32 : 128;
    if (!parse_uint(body.substr(slash + 1), prefix) || prefix > max_prefix) {
      why = "prefix length must be 0 to " + std::to_string(max_prefix);
      return std::nullopt;
    }
    t.k = target_spec::kind::range;
    t.prefix = prefix;
    t.address = network_of(*a, prefix);
    if (address_count(t) > max_range_addresses) {
      why = "range too large (" + std::string(body) + "); at most 2^20 addresses per range";
      return std::nullopt;
    }
    return t;
  }
  if (auto a = parse_address(body)) {
    t.k = target_spec::kind::address;
    t.address = *a;
    t.prefix = a->is_v4() ? 32 : 128;
    return t;
  }
  if (!valid_host_name(body)) {
    why = "'" + std::string(body) + "' is neither an IP address, a CIDR range nor a host name";
    return std::nullopt;
  }
  t.k = target_spec::kind::host;
  t.host = std::string(body);
  return t;
}

std::uint64_t address_count(const target_spec& spec) noexcept {
  switch (spec.k) {
    case target_spec::kind::address:
      return 1;
    case target_spec::kind::host:
      return 0;
    case target_spec::kind::range:
      break;
  }
  const unsigned bits = (spec.address.is_v4() ? 32 : 128) - spec.prefix;
  if (bits >= 63) return ~std::uint64_t{0};
  std::uint64_t n = std::uint64_t{1} << bits;
  if (spec.address.is_v4() && bits >= 2) n -= 2;  // network and broadcast
  return n;
}

ip::address nth_address(const target_spec& spec, std::uint64_t i) {
  if (spec.k != target_spec::kind::range) return spec.address;
  const unsigned bits = (spec.address.is_v4() ? 32 : 128) - spec.prefix;
  const std::uint64_t first =
      spec.address.is_v4() && bits >= 2 ? 1 : 0;  // skip the network address
  return add(spec.address, first + i);
}

void for_each_address(const target_spec& spec, const std::function<bool(const ip::address&)>& fn) {
  if (spec.k == target_spec::kind::host) return;
  const std::uint64_t n = std::min(address_count(spec), max_range_addresses);
  for (std::uint64_t i = 0; i < n; ++i)
    if (!fn(nth_address(spec, i))) return;
}

std::optional<version_choice> parse_version(std::string_view text) {
  text = trim(text);
  if (text == "auto") return version_choice::auto_detect;
  if (text == "1" || text == "v1") return version_choice::v1;
  if (text == "2c" || text == "v2c" || text == "2") return version_choice::v2c;
  return std::nullopt;
}

std::string_view to_string(version_choice v) noexcept {
  switch (v) {
    case version_choice::auto_detect:
      return "auto";
    case version_choice::v1:
      return "1";
    case version_choice::v2c:
      return "2c";
  }
  return "auto";
}

targets_file_result parse_targets_file(std::string_view text) {
  targets_file_result out;
  std::size_t line_no = 0;
  while (!text.empty()) {
    const auto nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    ++line_no;
    line = trim(line);
    if (line.empty() || line.front() == '#') continue;
    if (line_no == 1 || out.targets.empty()) {
      std::string lower;
      for (char c : line.substr(0, 7))
        lower.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
      if (lower == "address") continue;  // header
    }
    std::array<std::string_view, 4> cols{};
    std::size_t n = 0;
    std::string_view rest = line;
    while (true) {
      const auto comma = rest.find(',');
      if (n == cols.size()) {
        out.error =
            std::to_string(line_no) + ": more than 4 columns (address,port,version,community)";
        return out;
      }
      cols[n++] = trim(rest.substr(0, comma));
      if (comma == std::string_view::npos) break;
      rest = rest.substr(comma + 1);
    }
    file_target ft;
    ft.line = line_no;
    std::string why;
    auto spec = parse_target_spec(cols[0], why);
    if (!spec) {
      out.error = std::to_string(line_no) + ": " + why;
      return out;
    }
    ft.spec = std::move(*spec);
    if (n > 1 && !cols[1].empty()) {
      if (!parse_port(cols[1], ft.spec.port, why)) {
        out.error = std::to_string(line_no) + ": " + why;
        return out;
      }
    }
    if (n > 2 && !cols[2].empty()) {
      ft.version = parse_version(cols[2]);
      if (!ft.version) {
        out.error = std::to_string(line_no) + ": version must be auto, 1 or 2c";
        return out;
      }
    }
    if (n > 3 && !cols[3].empty()) ft.community = std::string(cols[3]);
    out.targets.push_back(std::move(ft));
  }
  return out;
}

std::string format_endpoint(const ip::udp::endpoint& ep) {
  if (ep.address().is_v6())
    return "[" + ep.address().to_string() + "]:" + std::to_string(ep.port());
  return ep.address().to_string() + ":" + std::to_string(ep.port());
}

}  // namespace fleetpoll::engine
