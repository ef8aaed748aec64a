// libFuzzer: values read back from a site database (a damaged disk, a foreign tool) must decode
// or be refused without crashing: device states, samples, change records. The first byte picks
// the decoder; the rest is the value (samples: a 29-byte key, then the value).
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "fleetpoll/codecs/change_record.hpp"
#include "fleetpoll/storage/format.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  // Copied: stored values come at any alignment; the decoders must cope (the copy is aligned,
  // the +1 offset below is not).
  const std::string bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 3) {
    case 0: {
      fleetpoll::storage::device_view v;
      if (fleetpoll::storage::decode_device_state(bytes, v))
        for (const auto& s : v.supplies) (void)s.description.size();
      const std::string shifted = " " + bytes;
      (void)fleetpoll::storage::decode_device_state(std::string_view(shifted).substr(1), v);
      break;
    }
    case 1: {
      fleetpoll::storage::sample s;
      const std::string_view all(bytes);
      if (all.size() >= 29)
        (void)fleetpoll::storage::decode_sample(all.substr(0, 29), all.substr(29), s);
      break;
    }
    case 2: {
      const auto span =
          std::span(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
      if (fleetpoll::codecs::verify_change_record(span))
        (void)fleetpoll::codecs::change_record_json(span);
      break;
    }
  }
  return 0;
}
