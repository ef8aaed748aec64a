// libFuzzer: the normalizer on any view. The input is read as .snmprec text (lenient), so the
// fuzzer reaches odd types in every column the normalizer reads; the snapshot must always verify
// and render as JSON.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fleetpoll/codecs/normalize.hpp"
#include "fleetpoll/codecs/snapshot_json.hpp"
#include "fleetpoll/codecs/snmprec.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace c = fleetpoll::codecs;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  c::snmprec_options lenient;
  lenient.skip_bad_lines = true;
  auto r = c::parse_snmprec(text, "fuzz", lenient);
  if (!r) return 0;
  auto buf = c::normalize(r.view);
  if (!c::verify_snapshot({buf.data(), buf.size()})) __builtin_trap();
  (void)c::to_json_text(c::snapshot_to_json(*c::snapshot_of(buf)));
  return 0;
}
