// fleetpoll::web — small text helpers of the status page: HTML escaping, URL query parsing and
// encoding, time and number formatting, the inline SVG sparkline. No I/O; pure functions, safe
// from any thread.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "fleetpoll/web/status_source.hpp"

namespace fleetpoll::web {

// Appends `text` to `out` with & < > " ' replaced by entities, and control characters other than
// tab and newline, and bytes that are not valid UTF-8, replaced by U+FFFD. Safe in element
// content and in quoted attribute values.
void append_escaped(std::string& out, std::string_view text);
std::string escape(std::string_view text);

// Length of the valid UTF-8 sequence at s[i] (i < s.size()), or 0 when it is not one (overlong
// forms, surrogates and code points above U+10FFFF are invalid).
std::size_t utf8_length(std::string_view s, std::size_t i) noexcept;

// Percent-encodes everything but unreserved characters (A-Z a-z 0-9 - . _ ~).
std::string url_encode(std::string_view text);

// Parses "a=1&b=x%20y+z": percent-decoding, '+' as space. A key given twice keeps the first
// value. nullopt on a malformed escape ("%G1", "%2") or more than 32 parameters.
std::optional<std::map<std::string, std::string, std::less<>>> parse_query(std::string_view query);

// "2026-11-23 15:56 UTC"; "never" for 0.
std::string format_time(std::uint64_t unix_ms);
// "3 min ago", "5 h ago", "12 days ago" relative to now_ms ("just now", "in the future").
std::string format_age(std::uint64_t unix_ms, std::uint64_t now_ms);
// Natural order: runs of digits compare as numbers ("127.1.0.3" < "127.1.0.12", "9" < "10"),
// everything else byte by byte.
bool natural_less(std::string_view a, std::string_view b) noexcept;

// 1234567 -> "1,234,567".
std::string format_count(std::uint64_t value);

// An inline <svg> polyline of the points (percent 0..100 against time), width x height pixels,
// with a <title> for screen readers. An empty string for fewer than two points.
std::string sparkline_svg(std::span<const level_point> points, int width, int height);

}  // namespace fleetpoll::web
