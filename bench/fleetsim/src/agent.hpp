// fleetsim internal: the SNMP agent of one device — request in, response bytes out, no I/O.
//
// device_view merges a template's rows with the device's generated alert table and encodes each
// row for this device at this moment (copying pre-encoded bytes where the value is fixed).
// answer() implements RFC 3416 (v2c) and RFC 1157 (v1) GET / GETNEXT / GETBULK, with the
// response-shaping faults (tooBig, out-of-order, OID loop, wrong request-id); the packet faults
// (truncate, corrupt) are damage() after encoding.
// Thread safety: one workspace and one device_view per thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "device_template.hpp"
#include "fleetpoll/fleetsim/agent_codec.hpp"
#include "fleetpoll/fleetsim/fleetsim.hpp"
#include "model.hpp"

namespace fleetpoll::fleetsim::detail {

// Scratch memory reused across requests (no allocation on the hot path once warm).
struct workspace {
  std::vector<std::uint8_t> value;
  std::vector<std::uint8_t> reorder;
  std::vector<std::uint32_t> vb_offsets;
  std::vector<std::size_t> cursors;
  std::vector<bool> at_end;
  std::string text;
  std::array<std::uint32_t, 160> arcs{};
};

class device_view {
 public:
  // model == nullptr: the template as recorded (static profile).
  device_view(const device_template& tpl, device_model* model);

  std::size_t size();
  // pos < size(), without generating the alert table when pos lies before it.
  bool valid(std::size_t pos) {
    return pos < tpl_.rows().size() || (pos != SIZE_MAX && pos < size());
  }
  // The first position whose OID is greater than name (size() when none).
  std::size_t upper_bound(std::span<const std::uint32_t> name);
  std::optional<std::size_t> find(std::span<const std::uint32_t> name);
  // OID arcs of a position (valid until the next call).
  std::span<const std::uint32_t> arcs(std::size_t pos);
  bool v1_visible(std::size_t pos);  // not Counter64 and not an exception value
  // Writes the varbind at pos; returns its length, or 0 when it does not fit in room.
  std::size_t encode(std::size_t pos, std::uint8_t* out, std::size_t room, workspace& ws);
  // The row where oid_loop jumps back (GETNEXT from it returns loop_target()).
  std::size_t loop_row();

 private:
  std::size_t alert_rows();
  int compare_alert(std::size_t seg_pos, std::span<const std::uint32_t> name);
  std::size_t encode_value(const row& r, workspace& ws);  // into ws.value

  const device_template& tpl_;
  device_model* model_;
  std::optional<std::size_t> alerts_;  // alert count once computed
  std::array<std::uint32_t, 16> alert_arcs_{};
};

struct answer_options {
  std::size_t max_bytes = 1472;
  fault_mask faults = 0;
  std::uint32_t too_big_varbinds = 8;
  std::uint32_t loop_back = 3;
};

struct answer_stats {
  bool too_big = false;
};

// Answers a decoded request into out (at least 65536 + 1024 bytes). Returns the response: a
// part of out (its start depends on the headers' size).
std::span<std::uint8_t> answer(const decoded_request& req, device_view& view,
                               const answer_options& o, workspace& ws, std::span<std::uint8_t> out,
                               answer_stats& stats);

// The text a `text` row serves for this device (identity substitutions applied).
void served_text(const device_template& tpl, const text_overlay& o, device_model& m,
                 std::string& out);

// Packet faults: cut the reply to half (truncated) or overwrite bytes including the outer
// length (corrupt). Returns the new length.
std::size_t damage(std::span<std::uint8_t> packet, fault_mask faults, std::uint64_t noise);

}  // namespace fleetpoll::fleetsim::detail
