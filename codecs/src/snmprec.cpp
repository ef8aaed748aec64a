#include "fleetpoll/codecs/snmprec.hpp"

#include <algorithm>
#include <charconv>
#include <fstream>
#include <sstream>

#include "fleetpoll/codecs/error.hpp"

namespace fleetpoll::codecs {
namespace {

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool decode_hex(std::string_view in, std::string& out) {
  if (in.size() % 2 != 0) return false;
  out.clear();
  out.reserve(in.size() / 2);
  for (std::size_t i = 0; i < in.size(); i += 2) {
    int hi = hex_digit(in[i]), lo = hex_digit(in[i + 1]);
    if (hi < 0 || lo < 0) return false;
    out.push_back(static_cast<char>((hi << 4) | lo));
  }
  return true;
}

template <class T>
bool parse_number(std::string_view s, T& out) {
  if (s.empty()) return false;
  const char* first = s.data();
  if (*first == '+') ++first;
  auto [ptr, ec] = std::from_chars(first, s.data() + s.size(), out);
  return ec == std::errc() && ptr == s.data() + s.size();
}

bool parse_ipv4(std::string_view s, std::string& out) {
  out.clear();
  for (int i = 0; i < 4; ++i) {
    auto dot = s.find('.');
    std::string_view part = (i < 3) ? s.substr(0, dot) : s;
    if (i < 3 && dot == std::string_view::npos) return false;
    unsigned n = 0;
    if (!parse_number(part, n) || n > 255) return false;
    out.push_back(static_cast<char>(n));
    if (i < 3) s.remove_prefix(dot + 1);
  }
  return true;
}

struct line_error {
  error code;
  std::string detail;
};

// Parses TAG and VALUE into v. Returns nullopt-like (code ok) on success.
line_error parse_value(std::string_view tag, std::string_view text, value& v) {
  bool is_hex = !tag.empty() && (tag.back() == 'x' || tag.back() == 'X');
  if (is_hex) tag.remove_suffix(1);
  unsigned tag_num = 0;
  if (!parse_number(tag, tag_num))
    return {error::snmprec_bad_tag, "tag '" + std::string(tag) + "'"};
  std::string raw;
  if (is_hex) {
    if (!decode_hex(text, raw)) return {error::snmprec_bad_value, "bad hex string"};
  }
  auto as_text = [&]() -> std::string { return is_hex ? raw : std::string(text); };
  switch (tag_num) {
    case 0x02: {
      std::int64_t n = 0;
      if (is_hex || !parse_number(text, n) || n < INT32_MIN || n > INT32_MAX)
        return {error::snmprec_bad_value, "INTEGER '" + std::string(text) + "'"};
      v = value::make_integer(n);
      return {error::ok, {}};
    }
    case 0x04:
      v = value::make_string(as_text());
      return {error::ok, {}};
    case 0x44:
      v = value::make(value_type::opaque);
      v.bytes = as_text();
      return {error::ok, {}};
    case 0x05:
      v = value::make(value_type::null);
      return {error::ok, {}};
    case 0x06: {
      auto o = oid::parse(is_hex ? std::string_view(raw) : text);
      if (!o) return {error::snmprec_bad_value, "OBJECT IDENTIFIER '" + std::string(text) + "'"};
      v = value::make_oid(std::move(*o));
      return {error::ok, {}};
    }
    case 0x40: {
      v = value::make(value_type::ip_address);
      if (is_hex) {
        if (raw.size() != 4) return {error::snmprec_bad_value, "IpAddress is not 4 bytes"};
        v.bytes = raw;
      } else if (!parse_ipv4(text, v.bytes)) {
        return {error::snmprec_bad_value, "IpAddress '" + std::string(text) + "'"};
      }
      return {error::ok, {}};
    }
    case 0x41:
    case 0x42:
    case 0x43:
    case 0x46: {
      std::uint64_t n = 0;
      if (is_hex || !parse_number(text, n) || (tag_num != 0x46 && n > 0xFFFFFFFFull))
        return {error::snmprec_bad_value, "unsigned '" + std::string(text) + "'"};
      v = value::make_unsigned(static_cast<value_type>(tag_num), n);
      return {error::ok, {}};
    }
    case 0x80:
    case 0x81:
    case 0x82:
      v = value::make(static_cast<value_type>(tag_num));
      return {error::ok, {}};
    default:
      return {error::snmprec_bad_tag, "tag " + std::to_string(tag_num)};
  }
}

}  // namespace

std::string snmprec_result::message() const {
  if (!ec) return {};
  std::string out = source;
  if (line) out += ":" + std::to_string(line);
  out += ": " + ec.message();
  if (!detail.empty()) out += " (" + detail + ")";
  return out;
}

std::string snmprec_result::skipped_message(const snmprec_skipped_line& s) const {
  std::string out = source + ":" + std::to_string(s.line) + ": skipped: " + s.ec.message();
  if (!s.detail.empty()) out += " (" + s.detail + ")";
  return out;
}

snmprec_result parse_snmprec(std::string_view text, std::string_view source_name,
                             const snmprec_options& options) {
  snmprec_result result;
  result.source = std::string(source_name);
  std::vector<varbind> rows;
  std::vector<std::size_t> row_lines;
  std::size_t line_no = 0;
  // Returns true when parsing must stop (strict mode); false after recording a skipped line.
  auto bad_line = [&](error e, std::string detail) {
    if (options.skip_bad_lines) {
      result.skipped.push_back({line_no, make_error_code(e), std::move(detail)});
      return false;
    }
    return true;
  };
  auto fail = [&](error e, std::string detail) {
    result.ec = e;
    result.line = line_no;
    result.detail = std::move(detail);
    result.view = mib_view();
    return result;
  };
  while (!text.empty()) {
    ++line_no;
    auto nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty() || line.front() == '#') continue;
    auto p1 = line.find('|');
    auto p2 = p1 == std::string_view::npos ? p1 : line.find('|', p1 + 1);
    if (p2 == std::string_view::npos) {
      if (bad_line(error::snmprec_syntax, "expected OID|TAG|VALUE"))
        return fail(error::snmprec_syntax, "expected OID|TAG|VALUE");
      continue;
    }
    auto name = oid::parse(line.substr(0, p1));
    if (!name || line.front() == '.') {
      std::string detail = "'" + std::string(line.substr(0, p1)) + "'";
      if (bad_line(error::snmprec_bad_oid, detail)) return fail(error::snmprec_bad_oid, detail);
      continue;
    }
    value v;
    auto err = parse_value(line.substr(p1 + 1, p2 - p1 - 1), line.substr(p2 + 1), v);
    if (err.code != error::ok) {
      if (bad_line(err.code, err.detail)) return fail(err.code, std::move(err.detail));
      continue;
    }
    rows.push_back({std::move(*name), std::move(v)});
    row_lines.push_back(line_no);
  }
  // Recordings never legitimately repeat an OID: report the later line of the first repeat.
  std::vector<std::size_t> order(rows.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return rows[a].name < rows[b].name; });
  std::vector<varbind> unique;
  unique.reserve(rows.size());
  for (std::size_t i = 0; i < order.size(); ++i) {
    if (!unique.empty() && rows[order[i]].name == unique.back().name) {
      line_no = row_lines[order[i]];  // stable sort: the later line comes second
      if (bad_line(error::snmprec_duplicate_oid, rows[order[i]].name.to_string()))
        return fail(error::snmprec_duplicate_oid, rows[order[i]].name.to_string());
      continue;
    }
    unique.push_back(std::move(rows[order[i]]));
  }
  std::sort(
      result.skipped.begin(), result.skipped.end(),
      [](const snmprec_skipped_line& a, const snmprec_skipped_line& b) { return a.line < b.line; });
  result.view = mib_view(std::move(unique));
  return result;
}

snmprec_result load_snmprec_file(const std::filesystem::path& path,
                                 const snmprec_options& options) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    snmprec_result r;
    r.source = path.string();
    r.ec = error::io_error;
    r.detail = "cannot open";
    return r;
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) {
    snmprec_result r;
    r.source = path.string();
    r.ec = error::io_error;
    r.detail = "read failed";
    return r;
  }
  return parse_snmprec(ss.str(), path.string(), options);
}

std::vector<std::filesystem::path> snmprec_context_companions(const std::filesystem::path& path) {
  std::vector<std::filesystem::path> out;
  std::error_code ec;
  auto dir = path.parent_path().empty() ? std::filesystem::path(".") : path.parent_path();
  std::string prefix = path.stem().string() + "@";
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    auto name = entry.path().filename().string();
    if (entry.path().extension() == ".snmprec" && name.rfind(prefix, 0) == 0)
      out.push_back(entry.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace fleetpoll::codecs
