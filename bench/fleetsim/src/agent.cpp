#include "agent.hpp"

#include <algorithm>
#include <cstring>

#include "ber.hpp"
#include "fleetpoll/codecs/printer_mib.hpp"

namespace fleetpoll::fleetsim::detail {
namespace {

using codecs::value_type;

bool less(std::span<const std::uint32_t> a, std::span<const std::uint32_t> b) {
  return std::lexicographical_compare(a.begin(), a.end(), b.begin(), b.end());
}
int compare(std::span<const std::uint32_t> a, std::span<const std::uint32_t> b) {
  auto r = std::lexicographical_compare_three_way(a.begin(), a.end(), b.begin(), b.end());
  return r < 0 ? -1 : r > 0 ? 1 : 0;
}
bool starts_with(std::span<const std::uint32_t> a, std::span<const std::uint32_t> prefix) {
  return a.size() >= prefix.size() && std::equal(prefix.begin(), prefix.end(), a.begin());
}

constexpr std::uint8_t tag_no_such_object = 0x80, tag_no_such_instance = 0x81,
                       tag_end_of_mib_view = 0x82;
constexpr std::int32_t too_big = 1, no_such_name = 2;

}  // namespace

void served_text(const device_template& tpl, const text_overlay& o, device_model& m,
                 std::string& out) {
  const auto base = tpl.bytes(o.value_off, o.value_len);
  out.clear();
  std::size_t at = 0;
  for (const auto& s : tpl.substitutions(o)) {
    out.append(reinterpret_cast<const char*>(base.data()) + at, s.pos - at);
    out += s.what == identity_field::serial ? m.serial() : m.firmware();
    at = s.pos + s.len;
  }
  out.append(reinterpret_cast<const char*>(base.data()) + at, base.size() - at);
}

device_view::device_view(const device_template& tpl, device_model* model)
    : tpl_(tpl), model_(model) {}

std::size_t device_view::alert_rows() {
  if (!model_ || !tpl_.has_alert_table()) return 0;
  if (!alerts_) alerts_ = model_->alerts().size();
  return *alerts_ * 8;
}

std::size_t device_view::size() {
  return tpl_.rows().size() + alert_rows();
}

int device_view::compare_alert(std::size_t seg_pos, std::span<const std::uint32_t> name) {
  return compare(arcs(tpl_.alert_at() + seg_pos), name);
}

std::span<const std::uint32_t> device_view::arcs(std::size_t pos) {
  const std::size_t a = tpl_.alert_at();
  if (pos < a) return tpl_.arcs(tpl_.rows()[pos]);
  const std::size_t n = alert_rows();
  if (pos >= a + n) return tpl_.arcs(tpl_.rows()[pos - n]);
  const std::size_t k = n / 8, seg = pos - a;
  const auto col = static_cast<std::uint32_t>(2 + seg / k);
  const auto prefix = tpl_.alert_prefix_arcs(col);
  std::copy(prefix.begin(), prefix.end(), alert_arcs_.begin());
  alert_arcs_[prefix.size()] = model_->alerts()[seg % k].index;
  return {alert_arcs_.data(), prefix.size() + 1};
}

std::size_t device_view::upper_bound(std::span<const std::uint32_t> name) {
  const auto rows = tpl_.rows();
  const auto it = std::upper_bound(
      rows.begin(), rows.end(), name,
      [&](std::span<const std::uint32_t> q, const row& r) { return less(q, tpl_.arcs(r)); });
  const auto i = static_cast<std::size_t>(it - rows.begin());
  const std::size_t a = tpl_.alert_at();
  if (i < a) return i;
  const std::size_t n = alert_rows();
  if (i > a || n == 0) return i + n;
  std::size_t lo = 0, hi = n;  // first alert row greater than name
  while (lo < hi) {
    const std::size_t mid = (lo + hi) / 2;
    if (compare_alert(mid, name) > 0)
      hi = mid;
    else
      lo = mid + 1;
  }
  return a + lo;
}

std::optional<std::size_t> device_view::find(std::span<const std::uint32_t> name) {
  const std::size_t a = tpl_.alert_at();
  if (model_ && tpl_.has_alert_table() && starts_with(name, codecs::mib::prt_alert_entry.arcs())) {
    std::size_t lo = 0, hi = alert_rows();
    while (lo < hi) {
      const std::size_t mid = (lo + hi) / 2;
      const int c = compare_alert(mid, name);
      if (c == 0) return a + mid;
      if (c < 0)
        lo = mid + 1;
      else
        hi = mid;
    }
    return std::nullopt;
  }
  const std::size_t i = tpl_.find(name);
  if (i == tpl_.rows().size()) return std::nullopt;
  return i < a ? i : i + alert_rows();
}

bool device_view::v1_visible(std::size_t pos) {
  const std::size_t a = tpl_.alert_at();
  const std::size_t n = pos < a ? 0 : alert_rows();
  if (pos >= a && pos < a + n) return true;
  const auto t = static_cast<value_type>(tpl_.rows()[pos - n].type);
  return t != value_type::counter64 && t != value_type::no_such_object &&
         t != value_type::no_such_instance && t != value_type::end_of_mib_view;
}

std::size_t device_view::loop_row() {
  static const codecs::oid level_col =
      codecs::mib::prt_marker_supplies_entry.child({codecs::mib::prt_supplies_col::level});
  const std::size_t n = size();
  if (n == 0) return 0;
  const std::size_t p =
      upper_bound(codecs::mib::prt_marker_supplies_entry.child({8, 0xFFFFFFFFu}).arcs());
  if (p < n && starts_with(arcs(p), level_col.arcs())) return p;
  return n / 2;
}

std::size_t device_view::encode_value(const row& r, workspace& ws) {
  auto& v = ws.value;
  v.clear();
  std::uint8_t tmp[24];
  auto push = [&](std::uint8_t* end) { v.insert(v.end(), tmp, end); };
  auto push_number = [&](std::uint64_t x) {
    const auto t = static_cast<value_type>(r.type);
    if (t == value_type::integer)
      push(ber::put_int(tmp, r.type, static_cast<std::int64_t>(static_cast<std::int32_t>(x))));
    else
      push(ber::put_uint(tmp, r.type, x & 0xFFFFFFFFu));
  };
  device_model& m = *model_;
  switch (r.kind) {
    case row_kind::fixed:
      break;
    case row_kind::sys_uptime:
      push(ber::put_uint(tmp, r.type, m.uptime_ticks()));
      break;
    case row_kind::sys_name: {
      const std::string s = m.sys_name();
      ber::append_string(v, ber::tag_octet_string, s.data(), s.size());
      break;
    }
    case row_kind::text: {
      served_text(tpl_, tpl_.overlay(r.param), m, ws.text);
      ber::append_string(v, ber::tag_octet_string, ws.text.data(),
                         std::min<std::size_t>(ws.text.size(), 65000));
      break;
    }
    case row_kind::mac: {
      const auto mac = m.mac();
      ber::append_string(v, ber::tag_octet_string, mac.data(), mac.size());
      break;
    }
    case row_kind::channel_level:
      push(ber::put_int(tmp, ber::tag_integer, m.channel(r.param).level));
      break;
    case row_kind::life_count:
      push_number(m.life_count());
      break;
    case row_kind::power_on_count:
      push_number(m.power_on_count());
      break;
    case row_kind::hr_device_status:
      push(ber::put_int(tmp, ber::tag_integer, m.hr_device_status()));
      break;
    case row_kind::hr_printer_status:
      push(ber::put_int(tmp, ber::tag_integer, m.hr_printer_status()));
      break;
    case row_kind::error_state: {
      const std::string octets = error_state_octets(m.conditions(), r.param);
      ber::append_string(v, ber::tag_octet_string, octets.data(), octets.size());
      break;
    }
  }
  return v.size();
}

std::size_t device_view::encode(std::size_t pos, std::uint8_t* out, std::size_t room,
                                workspace& ws) {
  const std::size_t a = tpl_.alert_at();
  const std::size_t n = pos < a ? 0 : alert_rows();
  if (pos < a || pos >= a + n) {
    const row& r = tpl_.rows()[pos - n];
    if (r.kind == row_kind::fixed || !model_) {
      if (r.vb_len > room) return 0;
      std::memcpy(out, tpl_.bytes(r.vb_off, r.vb_len).data(), r.vb_len);
      return r.vb_len;
    }
    const std::size_t vlen = encode_value(r, ws);
    const std::size_t content = r.oid_len + vlen;
    const std::size_t total = ber::tlv_octets(content);
    if (total > room) return 0;
    std::uint8_t* p = ber::put_header(out, ber::tag_sequence, content);
    p = ber::put_bytes(p, tpl_.bytes(r.oid_off, r.oid_len).data(), r.oid_len);
    ber::put_bytes(p, ws.value.data(), vlen);
    return total;
  }
  // A generated prtAlertTable cell.
  const std::size_t k = n / 8, seg = pos - a;
  const auto col = static_cast<std::uint32_t>(2 + seg / k);
  const alert_state& al = model_->alerts()[seg % k];
  const alert_kind& kind = tpl_.alert_kinds()[al.kind];
  const auto prefix = tpl_.alert_oid_prefix(col);
  const std::size_t oid_content = prefix.size() + ber::subid_octets(al.index);
  std::uint8_t tick[16];
  std::span<const std::uint8_t> value;
  if (col == 9) {
    value = {tick, static_cast<std::size_t>(ber::put_uint(tick, 0x43, al.time_ticks) - tick)};
  } else {
    value = tpl_.bytes(kind.col_off[col - 2], kind.col_len[col - 2]);
  }
  const std::size_t content = ber::tlv_octets(oid_content) + value.size();
  const std::size_t total = ber::tlv_octets(content);
  if (total > room) return 0;
  std::uint8_t* p = ber::put_header(out, ber::tag_sequence, content);
  p = ber::put_header(p, ber::tag_oid, oid_content);
  p = ber::put_bytes(p, prefix.data(), prefix.size());
  p = ber::put_subid(p, al.index);
  ber::put_bytes(p, value.data(), value.size());
  return total;
}

namespace {

// Bytes of a whole response message around a varbind list of vbl bytes.
std::size_t message_size(const decoded_request& req, std::int32_t rid, std::int32_t err,
                         std::int32_t eidx, std::size_t vbl) {
  const std::size_t pdu = ber::tlv_octets(ber::int_octets(rid)) +
                          ber::tlv_octets(ber::int_octets(err)) +
                          ber::tlv_octets(ber::int_octets(eidx)) + ber::tlv_octets(vbl);
  const std::size_t msg = 3 + ber::tlv_octets(req.community.size()) + ber::tlv_octets(pdu);
  return ber::tlv_octets(msg);
}

// Writes the headers in front of the varbind list at out[vb_at, vb_at + vbl). Returns the
// whole message, which ends where the varbinds end (no copy).
std::span<std::uint8_t> finish(const decoded_request& req, std::int32_t rid, std::int32_t err,
                               std::int32_t eidx, std::span<std::uint8_t> out, std::size_t vb_at,
                               std::size_t vbl) {
  const std::size_t total = message_size(req, rid, err, eidx, vbl);
  const std::size_t start = vb_at + vbl - total;  // the headers fit in the headroom
  const std::size_t pdu = ber::tlv_octets(ber::int_octets(rid)) +
                          ber::tlv_octets(ber::int_octets(err)) +
                          ber::tlv_octets(ber::int_octets(eidx)) + ber::tlv_octets(vbl);
  const std::size_t msg = 3 + ber::tlv_octets(req.community.size()) + ber::tlv_octets(pdu);
  std::uint8_t* p = out.data() + start;
  p = ber::put_header(p, ber::tag_sequence, msg);
  p = ber::put_int(p, ber::tag_integer, req.version);
  p = ber::put_header(p, ber::tag_octet_string, req.community.size());
  p = ber::put_bytes(p, req.community.data(), req.community.size());
  p = ber::put_header(p, ber::tag_response, pdu);
  p = ber::put_int(p, ber::tag_integer, rid);
  p = ber::put_int(p, ber::tag_integer, err);
  p = ber::put_int(p, ber::tag_integer, eidx);
  p = ber::put_header(p, ber::tag_sequence, vbl);
  (void)p;  // p == out + vb_at here
  return out.subspan(start, total);
}

std::size_t exception_varbind(std::span<const std::uint32_t> name, std::uint8_t tag,
                              std::uint8_t* out, std::size_t room) {
  const std::size_t oid = ber::oid_octets(name);
  const std::size_t content = ber::tlv_octets(oid) + 2;
  const std::size_t total = ber::tlv_octets(content);
  if (total > room) return 0;
  std::uint8_t* p = ber::put_header(out, ber::tag_sequence, content);
  p = ber::put_header(p, ber::tag_oid, oid);
  p = ber::put_oid_content(p, name);
  *p++ = tag;
  *p = 0;
  return total;
}

// noSuchInstance when a neighbouring row has the same parent as the name (the object exists,
// this instance does not); noSuchObject otherwise.
std::uint8_t missing_tag(device_view& view, std::span<const std::uint32_t> name) {
  if (name.size() < 2) return tag_no_such_object;
  const auto parent = name.first(name.size() - 1);
  const std::size_t pos = view.upper_bound(name);
  if (view.valid(pos) && starts_with(view.arcs(pos), parent)) return tag_no_such_instance;
  if (pos > 0 && starts_with(view.arcs(pos - 1), parent)) return tag_no_such_instance;
  return tag_no_such_object;
}

}  // namespace

std::span<std::uint8_t> answer(const decoded_request& req, device_view& view,
                               const answer_options& o, workspace& ws, std::span<std::uint8_t> out,
                               answer_stats& stats) {
  const bool v1 = req.version == 0;
  const bool loop = (o.faults & mask_of(fault::oid_loop)) != 0;
  const std::int32_t rid =
      (o.faults & mask_of(fault::wrong_request_id))
          ? static_cast<std::int32_t>(static_cast<std::uint32_t>(req.request_id) + 1u)
          : req.request_id;
  const std::size_t headroom = 64 + req.community.size();  // room for every header
  std::uint8_t* const vb0 = out.data() + headroom;
  const std::size_t cap = std::min<std::size_t>(out.size() - headroom, 65535);
  const std::size_t limit = o.max_bytes;
  std::size_t used = 0;
  ws.vb_offsets.clear();

  // SNMPv1 error replies carry the request's varbinds: its names with NULL values, re-encoded
  // (echoing the received value bytes would pass on whatever odd value a request carried).
  auto echo_names = [&]() {
    std::size_t n = 0;
    for (std::size_t i = 0; i < req.name_count; ++i)
      n += exception_varbind(req.name(i), ber::tag_null, vb0 + n, cap - n);
    return n;
  };
  auto reply_too_big = [&]() {
    stats.too_big = true;
    if (v1) return finish(req, rid, too_big, 0, out, headroom, echo_names());  // RFC 1157
    return finish(req, rid, too_big, 0, out, headroom, 0);  // RFC 3416: an empty list
  };
  auto reply_error = [&](std::int32_t status, std::int32_t index) {
    return finish(req, rid, status, index, out, headroom, echo_names());
  };
  auto emit = [&](std::size_t pos) {
    const std::size_t n = view.encode(pos, vb0 + used, cap - used, ws);
    if (n) ws.vb_offsets.push_back(static_cast<std::uint32_t>(used)), used += n;
    return n;
  };
  auto emit_exception = [&](std::span<const std::uint32_t> name, std::uint8_t tag) {
    const std::size_t n = exception_varbind(name, tag, vb0 + used, cap - used);
    if (n) ws.vb_offsets.push_back(static_cast<std::uint32_t>(used)), used += n;
    return n;
  };
  auto fits = [&]() { return message_size(req, rid, 0, 0, used) <= limit; };
  // GETNEXT of a name, with the loop fault and SNMPv1's invisible rows.
  const std::size_t loop_at = loop ? view.loop_row() : 0;
  auto next_of_pos = [&](std::size_t pos) {
    std::size_t p =
        (loop && pos == loop_at) ? loop_at - std::min<std::size_t>(o.loop_back, loop_at) : pos + 1;
    if (v1)
      while (view.valid(p) && !view.v1_visible(p)) ++p;
    return p;
  };
  auto next_of_name = [&](std::span<const std::uint32_t> name) {
    std::size_t p = view.upper_bound(name);
    if (loop && p == loop_at + 1 && std::ranges::equal(view.arcs(loop_at), name))
      return next_of_pos(loop_at);
    if (v1)
      while (view.valid(p) && !view.v1_visible(p)) ++p;
    return p;
  };

  // The too_big fault: the device refuses any reply of more than N varbinds.
  if (o.faults & mask_of(fault::too_big)) {
    std::uint64_t wanted = req.name_count;
    if (req.pdu == request_pdu::get_bulk) {
      const std::uint64_t nr =
          std::clamp<std::int64_t>(req.non_repeaters, 0, static_cast<std::int64_t>(req.name_count));
      const std::uint64_t mr =
          static_cast<std::uint64_t>(std::max<std::int32_t>(req.max_repetitions, 0));
      wanted = nr + mr * (req.name_count - nr);
    }
    if (wanted > o.too_big_varbinds) return reply_too_big();
  }

  switch (req.pdu) {
    case request_pdu::get:
      for (std::size_t i = 0; i < req.name_count; ++i) {
        const auto name = req.name(i);
        const auto pos = view.find(name);
        if (v1 && (!pos || !view.v1_visible(*pos)))
          return reply_error(no_such_name, static_cast<std::int32_t>(i + 1));
        const std::size_t n = pos ? emit(*pos) : emit_exception(name, missing_tag(view, name));
        if (!n) return reply_too_big();
      }
      if (!fits()) return reply_too_big();
      break;
    case request_pdu::get_next:
      for (std::size_t i = 0; i < req.name_count; ++i) {
        const auto name = req.name(i);
        const std::size_t pos = next_of_name(name);
        std::size_t n;
        if (!view.valid(pos)) {
          if (v1) return reply_error(no_such_name, static_cast<std::int32_t>(i + 1));
          n = emit_exception(name, tag_end_of_mib_view);
        } else {
          n = emit(pos);
        }
        if (!n) return reply_too_big();
      }
      if (!fits()) return reply_too_big();
      break;
    case request_pdu::get_bulk: {
      const std::size_t nr = static_cast<std::size_t>(std::clamp<std::int64_t>(
          req.non_repeaters, 0, static_cast<std::int64_t>(req.name_count)));
      const std::size_t reps =
          static_cast<std::size_t>(std::max<std::int32_t>(req.max_repetitions, 0));
      for (std::size_t i = 0; i < nr; ++i) {
        const auto name = req.name(i);
        const std::size_t pos = next_of_name(name);
        const std::size_t n =
            !view.valid(pos) ? emit_exception(name, tag_end_of_mib_view) : emit(pos);
        if (!n) return reply_too_big();
      }
      if (!fits()) return reply_too_big();
      const std::size_t r = req.name_count - nr;
      ws.cursors.assign(r, SIZE_MAX);  // the last row each column returned (none yet)
      ws.at_end.assign(r, false);
      bool full = false;
      for (std::size_t rep = 0; rep < reps && r > 0 && !full; ++rep) {
        bool all_end = true;
        for (std::size_t j = 0; j < r; ++j) {
          const std::size_t before = used;
          const std::size_t vb_count = ws.vb_offsets.size();
          const std::size_t cur = ws.cursors[j];
          const std::size_t pos = ws.at_end[j]      ? SIZE_MAX
                                  : cur == SIZE_MAX ? next_of_name(req.name(nr + j))
                                                    : next_of_pos(cur);
          std::size_t n;
          if (!view.valid(pos)) {
            // endOfMibView carries the name this column returned last (the request's at first).
            n = emit_exception(cur == SIZE_MAX ? req.name(nr + j) : view.arcs(cur),
                               tag_end_of_mib_view);
            ws.at_end[j] = true;
          } else {
            n = emit(pos);
            ws.cursors[j] = pos;
            all_end = false;
          }
          if (!n || !fits()) {  // RFC 3416 4.2.3: stop before the size limit, keep what fits
            used = before;
            ws.vb_offsets.resize(vb_count);
            full = true;
            break;
          }
        }
        if (all_end) break;
      }
      break;
    }
  }

  // out_of_order: multi-row GETNEXT/GETBULK replies come back in swapped pairs.
  if ((o.faults & mask_of(fault::out_of_order)) && req.pdu != request_pdu::get &&
      ws.vb_offsets.size() >= 2) {
    auto& tmp = ws.reorder;
    tmp.resize(used);
    std::size_t w = 0;
    const std::size_t n = ws.vb_offsets.size();
    auto len_of = [&](std::size_t i) {
      return (i + 1 < n ? ws.vb_offsets[i + 1] : used) - ws.vb_offsets[i];
    };
    for (std::size_t i = 0; i < n; i += 2) {
      const std::size_t order[2] = {i + 1 < n ? i + 1 : i, i};
      for (std::size_t k = 0; k < (i + 1 < n ? 2u : 1u); ++k) {
        const std::size_t x = order[k];
        std::memcpy(tmp.data() + w, vb0 + ws.vb_offsets[x], len_of(x));
        w += len_of(x);
      }
    }
    std::memcpy(vb0, tmp.data(), used);
  }
  return finish(req, rid, 0, 0, out, headroom, used);
}

std::size_t damage(std::span<std::uint8_t> packet, fault_mask faults, std::uint64_t noise) {
  std::size_t len = packet.size();
  if (len < 4) return len;
  if (faults & mask_of(fault::corrupt)) {
    // The outer length no longer matches the datagram, and two body bytes change.
    if (packet[1] < 0x80)
      packet[1] = static_cast<std::uint8_t>((packet[1] ^ 0x55) & 0x7F);
    else
      packet[1 + (packet[1] & 0x7F)] ^= 0x55;
    for (int i = 0; i < 2; ++i) {
      const std::size_t at = 4 + (noise >> (16 * i)) % (len - 4);
      packet[at] = static_cast<std::uint8_t>(packet[at] ^ (0x5A + i));
    }
  }
  if (faults & mask_of(fault::truncated)) len = std::max<std::size_t>(1, len / 2);
  return len;
}

}  // namespace fleetpoll::fleetsim::detail
