// Text rules of the normalizer: agent strings to clean UTF-8, supply descriptions, colorants.
#include <algorithm>
#include <array>
#include <cctype>
#include <cstdint>
#include <string>
#include <string_view>

#include "fleetpoll/codecs/normalize.hpp"

namespace fleetpoll::codecs {
namespace {

bool is_xdigit(char c) {
  return std::isxdigit(static_cast<unsigned char>(c)) != 0;
}
bool is_ascii_alnum(char c) {
  auto u = static_cast<unsigned char>(c);
  return u < 0x80 && std::isalnum(u) != 0;
}
int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return c - 'A' + 10;
}

// Length of the UTF-8 sequence at s[i], or 0 when it is not a valid one (overlong forms,
// surrogates and code points above U+10FFFF are invalid).
std::size_t utf8_sequence(std::string_view s, std::size_t i) {
  auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char c = b(i);
  if (c < 0x80) return 1;
  std::size_t n;
  std::uint32_t cp;
  if (c >= 0xC2 && c <= 0xDF) {
    n = 2;
    cp = c & 0x1Fu;
  } else if (c >= 0xE0 && c <= 0xEF) {
    n = 3;
    cp = c & 0x0Fu;
  } else if (c >= 0xF0 && c <= 0xF4) {
    n = 4;
    cp = c & 0x07u;
  } else
    return 0;
  if (i + n > s.size()) return 0;
  for (std::size_t k = 1; k < n; ++k) {
    if ((b(i + k) & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (b(i + k) & 0x3Fu);
  }
  if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || cp > 0x10FFFF ||
      (cp >= 0xD800 && cp <= 0xDFFF))
    return 0;
  return n;
}

bool valid_utf8(std::string_view s) {
  for (std::size_t i = 0; i < s.size();) {
    auto n = utf8_sequence(s, i);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

std::string latin1_to_utf8(std::string_view s) {
  std::string out;
  out.reserve(s.size() * 2);
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    if (c < 0x80) {
      out.push_back(ch);
    } else {
      out.push_back(static_cast<char>(0xC0 | (c >> 6)));
      out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
    }
  }
  return out;
}

// "38 32 37 41 00 " -> true. require_pairs: minimum number of pairs.
bool is_hex_pair_line(std::string_view line, std::size_t require_pairs) {
  while (!line.empty() && (line.back() == ' ' || line.back() == '\r')) line.remove_suffix(1);
  if (line.empty()) return false;
  std::size_t pairs = 0, i = 0;
  while (i < line.size()) {
    if (i + 1 >= line.size() || !is_xdigit(line[i]) || !is_xdigit(line[i + 1])) return false;
    i += 2;
    ++pairs;
    if (i == line.size()) break;
    if (line[i] != ' ') return false;
    ++i;
  }
  return pairs >= require_pairs;
}

std::string decode_hex_pairs(std::string_view line) {
  std::string out;
  for (std::size_t i = 0; i + 1 < line.size();) {
    if (is_xdigit(line[i]) && is_xdigit(line[i + 1])) {
      out.push_back(static_cast<char>(hex_value(line[i]) * 16 + hex_value(line[i + 1])));
      i += 2;
    } else {
      ++i;
    }
  }
  return out;
}

// Decoded hex is used only when it is text: valid UTF-8 without control characters once the
// NUL padding is gone. Otherwise the literal line stays (it was not hex-rendered text).
bool decoded_is_text(std::string_view bytes) {
  std::string no_nul;
  for (char c : bytes)
    if (c != '\0') no_nul.push_back(c);
  if (!valid_utf8(no_nul)) return false;
  return std::none_of(no_nul.begin(), no_nul.end(), [](char c) {
    auto u = static_cast<unsigned char>(c);
    return u < 0x20 || u == 0x7F;
  });
}

std::string maybe_decode(std::string_view line, std::size_t require_pairs, bool* decoded) {
  *decoded = false;
  if (!is_hex_pair_line(line, require_pairs)) return std::string(line);
  auto bytes = decode_hex_pairs(line);
  if (!decoded_is_text(bytes)) return std::string(line);
  *decoded = true;
  return bytes;
}

struct colorant_word {
  std::string_view word;  // lower case; CJK words match as substrings
  std::string_view colorant;
  bool cjk;
};

constexpr std::array<colorant_word, 38> colorant_words{{
    {"matte black", "matte black", false},
    {"photo black", "photo black", false},
    {"light black", "light black", false},
    {"light cyan", "light cyan", false},
    {"light magenta", "light magenta", false},
    {"light gray", "light gray", false},
    {"light grey", "light gray", false},
    {"black", "black", false},
    {"cyan", "cyan", false},
    {"magenta", "magenta", false},
    {"yellow", "yellow", false},
    {"gray", "gray", false},
    {"grey", "gray", false},
    {"red", "red", false},
    {"green", "green", false},
    {"blue", "blue", false},
    {"orange", "orange", false},
    {"violet", "violet", false},
    {"white", "white", false},
    {"clear", "clear", false},
    // German, French, Spanish, Italian
    {"schwarz", "black", false},
    {"gelb", "yellow", false},
    {"noir", "black", false},
    {"jaune", "yellow", false},
    {"negro", "black", false},
    {"amarillo", "yellow", false},
    {"nero", "black", false},
    {"giallo", "yellow", false},
    // Chinese / Japanese (UTF-8)
    {"\xe9\xbb\x91", "black", true},                         // 黑
    {"\xe9\xbb\x92", "black", true},                         // 黒 (Japanese)
    {"\xe6\xb4\x8b\xe7\xb4\x85", "magenta", true},           // 洋紅
    {"\xe6\xb4\x8b\xe7\xba\xa2", "magenta", true},           // 洋红
    {"\xe5\x93\x81\xe7\xb4\x85", "magenta", true},           // 品紅
    {"\xe5\x93\x81\xe7\xba\xa2", "magenta", true},           // 品红
    {"\xe9\x9d\x92", "cyan", true},                          // 青
    {"\xe9\xbb\x83", "yellow", true},                        // 黃
    {"\xe9\xbb\x84", "yellow", true},                        // 黄
    {"\xe3\x82\xb7\xe3\x82\xa2\xe3\x83\xb3", "cyan", true},  // シアン
}};

}  // namespace

std::string display_text(std::string_view raw) {
  std::string s;
  s.reserve(raw.size());
  for (char c : raw)
    if (c != '\0') s.push_back(c);
  if (!valid_utf8(s)) s = latin1_to_utf8(s);
  std::string out;
  out.reserve(s.size());
  bool blank = false;
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    bool space = u < 0x20 || u == 0x7F || c == ' ';
    if (space) {
      blank = true;
      continue;
    }
    if (blank && !out.empty()) out.push_back(' ');
    blank = false;
    out.push_back(c);
  }
  return out;
}

std::string clean_description(std::string_view raw) {
  // Split into lines (HP firmware splits long descriptions at 16 bytes and sends the rest as a
  // line of hex pairs, as net-snmp would have printed them).
  std::vector<std::string_view> lines;
  std::size_t pos = 0;
  while (true) {
    auto nl = raw.find('\n', pos);
    lines.push_back(
        raw.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos));
    if (nl == std::string_view::npos) break;
    pos = nl + 1;
  }
  std::string text;
  bool decoded = false;
  if (lines.size() == 1) {
    // A whole description as net-snmp hex ("E9 BB 91 E8 89 B2 ..."): at least two pairs.
    text = maybe_decode(lines[0], 2, &decoded);
  } else {
    text = maybe_decode(lines[0], 2, &decoded);
    for (std::size_t i = 1; i < lines.size(); ++i) {
      auto part = maybe_decode(lines[i], 1, &decoded);
      if (decoded) {
        text += part;  // a continuation: the split fell inside a word
      } else if (!display_text(part).empty()) {
        text += ' ';
        text += part;
      }
    }
  }
  text = display_text(text);
  auto pn = text.find(", PN");
  if (pn != std::string::npos) text = display_text(text.substr(0, pn));
  return text;
}

std::string infer_colorant(std::string_view description) {
  std::string lower;
  lower.reserve(description.size());
  for (char c : description) {
    auto u = static_cast<unsigned char>(c);
    lower.push_back(u < 0x80 ? static_cast<char>(std::tolower(u)) : c);
  }
  std::size_t best_pos = std::string::npos, best_len = 0;
  std::string_view best;
  for (const auto& w : colorant_words) {
    std::size_t from = 0;
    while (true) {
      auto p = lower.find(w.word, from);
      if (p == std::string::npos) break;
      bool ok = w.cjk ||
                ((p == 0 || !is_ascii_alnum(lower[p - 1])) &&
                 (p + w.word.size() == lower.size() || !is_ascii_alnum(lower[p + w.word.size()])));
      if (ok) {
        if (p < best_pos || (p == best_pos && w.word.size() > best_len)) {
          best_pos = p;
          best_len = w.word.size();
          best = w.colorant;
        }
        break;
      }
      from = p + 1;
    }
  }
  return std::string(best);
}

std::vector<schema::PrinterCondition> decode_error_state(std::string_view octets) {
  std::vector<schema::PrinterCondition> out;
  for (std::size_t i = 0; i < octets.size() && i < 2; ++i) {
    auto byte = static_cast<unsigned char>(octets[i]);
    for (unsigned bit = 0; bit < 8; ++bit) {
      if ((byte & (0x80u >> bit)) == 0) continue;
      auto n = i * 8 + bit;
      if (n <= static_cast<std::size_t>(schema::PrinterCondition::MAX))
        out.push_back(static_cast<schema::PrinterCondition>(n));
    }
  }
  return out;
}

level_judgement judge_level(const level_input& in) {
  using schema::LevelQuality;
  level_judgement j;
  if (!in.level) return j;
  const std::int64_t level = *in.level;
  if (level == -1) {
    j.quality = LevelQuality::unrestricted;
    return j;
  }
  if (level == -2) {
    j.quality = LevelQuality::unknown;
    return j;
  }
  if (level == -3) {
    j.quality = LevelQuality::some_remaining;
    return j;
  }
  if (level < 0) {
    j.quality = LevelQuality::invalid;
    return j;
  }
  if (in.status_codes && level <= 3) {
    j.quality = LevelQuality::status_code;
    return j;
  }
  if (!in.max_capacity || *in.max_capacity <= 0) {
    j.quality = LevelQuality::no_capacity;
    return j;
  }
  const std::int64_t max = *in.max_capacity;
  if (level > max) {
    j.quality = LevelQuality::invalid;
    return j;
  }
  // Round half up; level <= max, so the result is 0..100.
  j.percent = static_cast<std::int16_t>((level * 200 + max) / (2 * max));
  constexpr std::int32_t unit_percent = 19;
  bool percent_scale = (in.unit && *in.unit == unit_percent) ||
                       (!in.unit && in.capacity_100_means_percent && max == 100);
  j.quality = percent_scale ? LevelQuality::percent_only : LevelQuality::exact;
  return j;
}

}  // namespace fleetpoll::codecs
