#include "fleetpoll/fleetsim/agent_codec.hpp"

#include "ber.hpp"

namespace fleetpoll::fleetsim {

std::error_code decode_request(std::span<const std::uint8_t> packet, decoded_request& out) {
  ber::reader top{packet.data(), packet.data() + packet.size(), true};
  std::span<const std::uint8_t> msg;
  if (auto e = top.expect(ber::tag_sequence, msg); e != error::ok) return e;
  if (!top.empty()) return error::trailing_data;

  ber::reader r{msg.data(), msg.data() + msg.size(), true};
  std::int32_t version = 0;
  if (auto e = r.read_int32(version); e != error::ok) return e;
  if (version != 0 && version != 1) return error::bad_version;
  out.version = static_cast<std::uint8_t>(version);
  if (auto e = r.expect(ber::tag_octet_string, out.community); e != error::ok) return e;
  if (out.community.size() > decoded_request::max_community) return error::bad_community;

  std::uint8_t pdu_tag = 0;
  std::span<const std::uint8_t> pdu;
  if (auto e = r.read(pdu_tag, pdu); e != error::ok) return e;
  if (!r.empty()) return error::trailing_data;
  if (pdu_tag != 0xA0 && pdu_tag != 0xA1 && pdu_tag != 0xA5) return error::bad_pdu_type;
  if (pdu_tag == 0xA5 && version == 0) return error::bad_pdu_type;  // GETBULK is not SNMPv1
  out.pdu = static_cast<request_pdu>(pdu_tag);

  ber::reader p = ber::sub_reader(pdu);
  if (auto e = p.read_int32(out.request_id); e != error::ok) return e;
  if (auto e = p.read_int32(out.non_repeaters); e != error::ok) return e;
  if (auto e = p.read_int32(out.max_repetitions); e != error::ok) return e;
  if (auto e = p.expect(ber::tag_sequence, out.varbind_list); e != error::ok) return e;
  if (!p.empty()) return error::trailing_data;

  ber::reader vbs = ber::sub_reader(out.varbind_list);
  std::size_t n = 0;
  std::size_t arcs_used = 0;
  while (!vbs.empty()) {
    if (n == decoded_request::max_names) return error::too_many_names;
    std::span<const std::uint8_t> vb;
    if (auto e = vbs.expect(ber::tag_sequence, vb); e != error::ok) return e;
    ber::reader v = ber::sub_reader(vb);
    std::span<const std::uint8_t> name;
    if (auto e = v.expect(ber::tag_oid, name); e != error::ok) return e;
    std::uint8_t value_tag = 0;
    std::span<const std::uint8_t> value;  // any well-formed value is accepted and ignored
    if (auto e = v.read(value_tag, value); e != error::ok) return e;
    if (!v.empty()) return error::trailing_data;
    const std::size_t room =
        std::min(decoded_request::max_arcs, decoded_request::max_total_arcs - arcs_used);
    const std::size_t len = ber::decode_oid(name, out.arcs.data() + arcs_used, room);
    if (len == 0)
      return arcs_used + decoded_request::max_arcs > decoded_request::max_total_arcs
                 ? error::too_many_names
                 : error::bad_oid;
    out.names[n] = {static_cast<std::uint16_t>(arcs_used), static_cast<std::uint16_t>(len)};
    arcs_used += len;
    ++n;
  }
  out.name_count = n;
  return {};
}

namespace {

bool valid_name(std::span<const std::uint32_t> a) {
  return a.size() >= 2 && a.size() <= decoded_request::max_arcs && a[0] <= 2 &&
         (a[0] == 2 || a[1] < 40);
}

}  // namespace

std::size_t request_id_offset(const request_spec& spec) {
  // The layout encode_request writes: 30 L4 | 02 01 v | 04 Lc community | PDU L4 | 02 04 rid
  // where L4 is a 4-octet long-form length (0x84 + 4 bytes), fixed so the offset is constant.
  return 6 + 3 + ber::tlv_octets(spec.community.size()) + 6 + 2;
}

std::size_t encode_request(const request_spec& spec, std::span<std::uint8_t> out) {
  if (spec.version > 1 || (spec.pdu == request_pdu::get_bulk && spec.version == 0)) return 0;
  if (spec.names.empty() || spec.names.size() > decoded_request::max_names) return 0;
  std::size_t vbl = 0;
  for (auto n : spec.names) {
    if (!valid_name(n)) return 0;
    vbl += ber::tlv_octets(ber::tlv_octets(ber::oid_octets(n)) + 2);
  }
  const std::size_t pdu_len = 6 + 2 + ber::int_octets(spec.non_repeaters) + 2 +
                              ber::int_octets(spec.max_repetitions) + ber::tlv_octets(vbl);
  const std::size_t msg_len = 3 + ber::tlv_octets(spec.community.size()) + 6 + pdu_len;
  if (out.size() < 6 + msg_len) return 0;
  auto put_len4 = [](std::uint8_t* p, std::size_t len) {
    *p++ = 0x84;
    for (int i = 3; i >= 0; --i) *p++ = static_cast<std::uint8_t>(len >> (8 * i));
    return p;
  };
  std::uint8_t* p = out.data();
  *p++ = ber::tag_sequence;
  p = put_len4(p, msg_len);
  p = ber::put_int(p, ber::tag_integer, spec.version);
  p = ber::put_header(p, ber::tag_octet_string, spec.community.size());
  p = ber::put_bytes(p, spec.community.data(), spec.community.size());
  *p++ = static_cast<std::uint8_t>(spec.pdu);
  p = put_len4(p, pdu_len);
  *p++ = ber::tag_integer;
  *p++ = 4;
  for (int i = 3; i >= 0; --i)
    *p++ = static_cast<std::uint8_t>(static_cast<std::uint32_t>(spec.request_id) >> (8 * i));
  p = ber::put_int(p, ber::tag_integer, spec.non_repeaters);
  p = ber::put_int(p, ber::tag_integer, spec.max_repetitions);
  p = ber::put_header(p, ber::tag_sequence, vbl);
  for (auto n : spec.names) {
    const std::size_t oid_len = ber::oid_octets(n);
    p = ber::put_header(p, ber::tag_sequence, ber::tlv_octets(oid_len) + 2);
    p = ber::put_header(p, ber::tag_oid, oid_len);
    p = ber::put_oid_content(p, n);
    *p++ = ber::tag_null;
    *p++ = 0;
  }
  return static_cast<std::size_t>(p - out.data());
}

}  // namespace fleetpoll::fleetsim
