// fleetpoll::codecs — the snmpsim .snmprec recording format.
//
// One varbind per line, `OID|TAG|VALUE` (see docs/formats.md, "Recordings"). Tags: 2, 4, 5, 6,
// 64, 65, 66, 67, 68, 70, 128, 129, 130, with an `x` suffix meaning a hex-encoded value (`4x`,
// `64x`, `68x`). OBJECT IDENTIFIER values may carry a leading dot. CRLF and blank lines are
// accepted; lines starting with '#' are comments. Anything else is an error naming the line.
//
// parse_snmprec does no I/O; load_snmprec_file reads one local file and parses it.
// Thread safety: free functions without shared state.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "fleetpoll/codecs/mib_view.hpp"

namespace fleetpoll::codecs {

struct snmprec_options {
  // Strict (default): the first bad line fails the whole file. Lenient: bad lines are skipped
  // and listed in snmprec_result::skipped (real recordings carry the odd corrupt line, e.g. a
  // Counter32 of "6git3159"); duplicate OIDs then keep the first occurrence.
  bool skip_bad_lines = false;
};

// One line that lenient parsing skipped.
struct snmprec_skipped_line {
  std::size_t line = 0;
  std::error_code ec;
  std::string detail;
};

struct snmprec_result {
  mib_view view;                              // sealed; empty on error
  std::error_code ec;                         // a codecs::error, or empty on success
  std::size_t line = 0;                       // 1-based line of the error (0 when not about a line)
  std::string detail;                         // what was wrong, for humans
  std::string source;                         // the name given for the input (file path)
  std::vector<snmprec_skipped_line> skipped;  // lenient mode only: lines left out, in order

  explicit operator bool() const noexcept { return !ec; }
  // "FILE:LINE: MESSAGE (DETAIL)" — the whole error for a human.
  std::string message() const;
  // "FILE:LINE: skipped: MESSAGE (DETAIL)" for one skipped line.
  std::string skipped_message(const snmprec_skipped_line& s) const;
};

snmprec_result parse_snmprec(std::string_view text, std::string_view source_name = "<input>",
                             const snmprec_options& options = {});
snmprec_result load_snmprec_file(const std::filesystem::path& path,
                                 const snmprec_options& options = {});

// For `name.snmprec`, the context companions `name@Ctx.snmprec` in the same folder, sorted.
std::vector<std::filesystem::path> snmprec_context_companions(const std::filesystem::path& path);

}  // namespace fleetpoll::codecs
