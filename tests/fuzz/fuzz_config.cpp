// libFuzzer: the fleetpoll.toml loader, the targets-file parser and the target/duration parsers
// must turn any bytes into a config or precise errors, never a crash or a hang; what they accept
// must respect the documented ranges.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fleetpoll/engine/config.hpp"
#include "fleetpoll/engine/targets.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace fleetpoll::engine;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto r = parse_config(text, "fuzz.toml");
  if (r) {
    for (auto c : r.cfg.engine.schedule.cadence)
      if (c.count() < 1) __builtin_trap();
    if (r.cfg.engine.client.retries < 0 || r.cfg.engine.client.retries > 10) __builtin_trap();
    if (r.cfg.engine.client.rtt.min > r.cfg.engine.client.rtt.max) __builtin_trap();
  } else if (r.errors.empty() || r.message().empty()) {
    __builtin_trap();
  }
  auto t = parse_targets_file(text);
  for (const auto& ft : t.targets)
    if (ft.spec.k == target_spec::kind::range && address_count(ft.spec) > max_range_addresses)
      __builtin_trap();
  std::string why;
  const auto first_line = text.substr(0, text.find('\n'));
  if (!parse_target_spec(first_line, why) && why.empty()) __builtin_trap();
  (void)parse_duration(first_line);
  return 0;
}
