// libFuzzer: the XMPP stream parser (uplink/xml_stream.hpp) must accept or refuse any bytes,
// fed in any chunking, without crashing, with memory bounded by its limits, and in both modes
// (oversized stanza = error before login; skipped once logged in).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fleetpoll/uplink/xml_stream.hpp"

using namespace fleetpoll::uplink;

namespace {
std::size_t walk(const element& e, std::size_t depth) {
  if (depth > 64) __builtin_trap();  // the depth limit must hold
  std::size_t n = 1;
  for (const auto& c : e.children) n += walk(c, depth + 1);
  return n;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::size_t chunk = 1 + (data[0] & 0x3f);
  const bool skip = (data[0] & 0x40) != 0;
  std::string_view in(reinterpret_cast<const char*>(data + 1), size - 1);
  xml_limits limits;
  limits.max_stanza_bytes = 4096;
  limits.max_depth = 16;
  limits.max_attributes = 8;
  limits.max_elements = 256;
  std::size_t stanzas = 0;
  xml_stream_parser parser({[](const element& h) { (void)h.attribute("version"); },
                            [&](element&& e) {
                              if (walk(e, 0) > limits.max_elements) __builtin_trap();
                              (void)e.child("", "body");
                              ++stanzas;
                            },
                            [] {}, [](std::size_t) {}},
                           limits);
  parser.set_skip_oversized(skip);
  for (std::size_t i = 0; i < in.size(); i += chunk) {
    if (parser.feed(in.substr(i, chunk))) break;
    // The unfinished stanza never grows far past the limit before it is refused or skipped.
    if (!skip && parser.pending_stanza_bytes() > limits.max_stanza_bytes + 16 * 1024)
      __builtin_trap();
  }
  (void)xml_escape(in.substr(0, 64));
  return 0;
}
