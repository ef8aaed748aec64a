// libFuzzer: fleetsim's agent on any bytes — the request decoder, then the whole answer path
// (living and static devices, every response-shaping fault). Nothing may crash or read out of
// bounds; a decoded request has sane names; every reply must decode with the project's
// net-snmp based codec, echo the request-id (unless the wrong_request_id fault is on) and stay
// within the size limit unless it is an error that echoes the request.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "agent.hpp"
#include "fleet_impl.hpp"
#include "fleetpoll/codecs/snmp_codec.hpp"
#include "fleetpoll/codecs/snmprec.hpp"
#include "fleetpoll/fleetsim/agent_codec.hpp"

namespace {

namespace fs = fleetpoll::fleetsim;
namespace d = fleetpoll::fleetsim::detail;

struct world {
  std::vector<std::unique_ptr<d::device_template>> living, fixed;
  d::model_config cfg{7, d::find_profile("office"), 1000};
  world() {
    for (const auto& b : d::builtin_templates()) {
      auto r = fleetpoll::codecs::parse_snmprec(b.text, b.name);
      living.push_back(std::make_unique<d::device_template>(std::string(b.name), r.view, true));
      fixed.push_back(std::make_unique<d::device_template>(std::string(b.name), r.view, false));
    }
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static world w;
  static auto req = std::make_unique<fs::decoded_request>();
  if (fs::decode_request({data, size}, *req)) return 0;
  if (req->name_count > fs::decoded_request::max_names) __builtin_trap();
  for (std::size_t i = 0; i < req->name_count; ++i)
    if (req->name(i).size() < 2 || req->name(i).size() > fs::decoded_request::max_arcs)
      __builtin_trap();

  // The request's own bytes pick the device, the moment and the faults, so the fuzzer explores
  // them too.
  std::uint64_t h = 1469598103934665603ull;
  for (std::size_t i = 0; i < size; ++i) h = (h ^ data[i]) * 1099511628211ull;
  const fs::fault_mask shaping =
      fs::mask_of(fs::fault::too_big) | fs::mask_of(fs::fault::out_of_order) |
      fs::mask_of(fs::fault::oid_loop) | fs::mask_of(fs::fault::wrong_request_id);
  const auto faults = static_cast<fs::fault_mask>(h & shaping);
  static std::vector<std::uint8_t> out(65536 + 1024);
  static d::workspace ws;
  static d::device_model model(w.cfg);
  for (int living = 0; living < 2; ++living) {
    const std::size_t t = (h >> 20) % w.living.size();
    const auto& tpl = living ? *w.living[t] : *w.fixed[t];
    model.reset(tpl, static_cast<std::uint32_t>((h >> 32) % 1000),
                1767603600 + static_cast<std::int64_t>((h >> 40) % 40000000));
    d::device_view view(tpl, living ? &model : nullptr);
    d::answer_options o;
    o.max_bytes = 484 + (h >> 8) % 2000;
    o.faults = faults;
    o.too_big_varbinds = static_cast<std::uint32_t>((h >> 12) % 20);
    d::answer_stats st;
    const auto reply = d::answer(*req, view, o, ws, out, st);
    if (reply.empty() || reply.data() < out.data() ||
        reply.data() + reply.size() > out.data() + out.size())
      __builtin_trap();
    const std::size_t len = reply.size();
    fleetpoll::codecs::snmp_response r;
    if (fleetpoll::codecs::decode_response(reply, r)) __builtin_trap();  // must be valid BER
    const bool wrong_id = faults & fs::mask_of(fs::fault::wrong_request_id);
    if (!wrong_id && r.request_id != req->request_id) __builtin_trap();
    if (r.error_status == 0 && len > o.max_bytes) __builtin_trap();
    if (r.error_status == 0 && req->pdu != fs::request_pdu::get_bulk &&
        r.varbinds.size() != req->name_count)
      __builtin_trap();
  }
  return 0;
}
