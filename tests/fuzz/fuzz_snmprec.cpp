// libFuzzer: the .snmprec loader must reject or accept any bytes without crashing, and what it
// accepts must be a sealed, strictly ordered view.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fleetpoll/codecs/snmprec.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto r = fleetpoll::codecs::parse_snmprec(text, "fuzz");
  if (!r) return 0;
  auto rows = r.view.rows();
  for (std::size_t i = 1; i < rows.size(); ++i)
    if (!(rows[i - 1].name < rows[i].name)) __builtin_trap();
  for (const auto& row : rows) (void)row.val.to_string();
  return 0;
}
