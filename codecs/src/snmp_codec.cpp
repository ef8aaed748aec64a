// SNMPv1/v2c messages over net-snmp's BER primitives (asn_build_* / asn_parse_*).
//
// The only translation unit that includes net-snmp (its headers define macros such as
// `max_repetitions`, `non_repeaters`, `linux` and hundreds of HAVE_*). The message structure
// (SEQUENCE framing, lengths against their containers, which tag may stand where) is walked here
// so every failure gets a precise codecs::error; each primitive value is then decoded by
// net-snmp. net-snmp's error paths write a process-wide detail buffer (snmp_set_detail), so every
// call into it holds `netsnmp_mutex`.
#include "fleetpoll/codecs/snmp_codec.hpp"

#include <array>
#include <cstring>
#include <limits>
#include <mutex>

// clang-format off
#include <net-snmp/net-snmp-config.h>
#include <net-snmp/types.h>
#include <net-snmp/library/asn1.h>
// clang-format on
// net-snmp's types.h maps these to netsnmp_pdu's errstat/errindex; fleetpoll's request fields
// carry the plain names.
#undef non_repeaters
#undef max_repetitions

namespace fleetpoll::codecs {
namespace {

using u8 = std::uint8_t;
using netsnmp_oid = ::oid;  // net-snmp's sub-identifier type (unsigned long here)

std::mutex netsnmp_mutex;

constexpr u8 tag_integer = 0x02;
constexpr u8 tag_octet_string = 0x04;
constexpr u8 tag_null = 0x05;
constexpr u8 tag_object_id = 0x06;
constexpr u8 tag_sequence = 0x30;

// ---- encoding -----------------------------------------------------------------------------

// Bytes of a BER definite length field for `n` content bytes (short form below 128).
std::size_t length_size(std::size_t n) noexcept {
  if (n < 0x80) return 1;
  std::size_t k = 0;
  for (std::size_t v = n; v != 0; v >>= 8) ++k;
  return 1 + k;
}
std::size_t tlv_size(std::size_t content) noexcept {
  return 1 + length_size(content) + content;
}

// Content bytes of a minimal two's complement INTEGER.
std::size_t integer_content_size(std::int64_t v) noexcept {
  std::size_t n = 1;
  while (n < 8) {
    std::int64_t lo = -(std::int64_t{1} << (8 * n - 1));
    std::int64_t hi = (std::int64_t{1} << (8 * n - 1)) - 1;
    if (v >= lo && v <= hi) break;
    ++n;
  }
  return n;
}

// Content bytes of an OBJECT IDENTIFIER (first two arcs packed as 40*a+b, base-128 arcs).
std::size_t oid_content_size(const oid& o) noexcept {
  auto base128 = [](std::uint64_t v) {
    std::size_t n = 1;
    while (v >= 0x80) {
      v >>= 7;
      ++n;
    }
    return n;
  };
  if (o.size() == 1) return base128(std::uint64_t{o[0]} * 40);
  std::size_t n = base128(std::uint64_t{o[0]} * 40 + o[1]);
  for (std::size_t i = 2; i < o.size(); ++i) n += base128(o[i]);
  return n;
}

// A forward writer over the caller's buffer. Every call checks space first, so net-snmp's
// builders are only ever asked to write what fits.
class writer {
 public:
  explicit writer(std::span<u8> out) : p_(out.data()), left_(out.size()) {}
  std::size_t left() const noexcept { return left_; }
  u8* position() const noexcept { return p_; }

  bool header(u8 tag, std::size_t content) {
    if (left_ < 1 + length_size(content)) return false;
    return advance(asn_build_header(p_, &left_, tag, content));
  }
  bool integer(std::int64_t v) {
    if (left_ < tlv_size(integer_content_size(v))) return false;
    long lv = static_cast<long>(v);
    return advance(asn_build_int(p_, &left_, tag_integer, &lv, sizeof(lv)));
  }
  bool octets(std::string_view s) {
    if (left_ < tlv_size(s.size())) return false;
    return advance(asn_build_string(p_, &left_, tag_octet_string,
                                    reinterpret_cast<const u_char*>(s.data()), s.size()));
  }
  bool object_id(const oid& o) {
    if (left_ < tlv_size(oid_content_size(o))) return false;
    std::array<netsnmp_oid, oid::max_length> arcs;  // uninitialized: net-snmp fills count of them
    for (std::size_t i = 0; i < o.size(); ++i) arcs[i] = o[i];
    return advance(asn_build_objid(p_, &left_, tag_object_id, arcs.data(), o.size()));
  }
  bool null() {
    if (left_ < 2) return false;
    return advance(asn_build_null(p_, &left_, tag_null));
  }

 private:
  // net-snmp builders return the next free byte and decrement `left_` themselves.
  bool advance(u_char* next) {
    if (next == nullptr) return false;
    p_ = next;
    return true;
  }
  u8* p_;
  std::size_t left_;
};

bool valid_request_oid(const oid& o) noexcept {
  // BER packs the first two arcs into one: the first is 0..2, the second below 40 unless first
  // is 2.
  if (o.size() < 2 || o.size() > oid::max_length) return false;
  if (o[0] > 2 || (o[0] < 2 && o[1] >= 40)) return false;
  return std::uint64_t{o[0]} * 40 + o[1] <= std::numeric_limits<std::uint32_t>::max();
}

// ---- decoding -----------------------------------------------------------------------------

struct tlv {
  u8 tag = 0;
  std::size_t header = 0;  // tag + length bytes
  std::size_t length = 0;  // content bytes
  const u8* start = nullptr;
  const u8* content() const noexcept { return start + header; }
  std::size_t size() const noexcept { return header + length; }
};

// Reads one TLV header at `p` within [p, end). `outer` is true for the message's own TLV, whose
// end is the end of the packet: running past it means the packet was cut (truncated). Inside a
// message whose outer length matched the packet, a TLV that runs past its enclosing SEQUENCE was
// not cut but mis-sized (bad_length).
std::error_code read_tlv(const u8* p, const u8* end, bool outer, tlv& out) {
  const error cut = outer ? error::truncated : error::bad_length;
  if (p >= end) return cut;
  out.start = p;
  out.tag = *p++;
  if ((out.tag & 0x1F) == 0x1F) return error::bad_tag;  // high-tag-number form: never SNMP
  if (p >= end) return cut;
  u8 first = *p++;
  std::size_t len = 0;
  if (first < 0x80) {
    len = first;
  } else if (first == 0x80) {
    return error::bad_length;  // indefinite form is not allowed in SNMP
  } else {
    std::size_t n = first & 0x7F;
    if (n > 4) return error::bad_length;  // over 4 GiB: nothing SNMP can carry
    if (static_cast<std::size_t>(end - p) < n) return cut;
    for (std::size_t i = 0; i < n; ++i) len = (len << 8) | *p++;
  }
  out.header = static_cast<std::size_t>(p - out.start);
  out.length = len;
  if (static_cast<std::size_t>(end - p) < len) return cut;
  return {};
}

// A TLV inside a container that ends at `end`.
std::error_code read_child(const u8* p, const u8* end, tlv& out) {
  return read_tlv(p, end, false, out);
}

std::error_code parse_integer(const tlv& t, std::int64_t& v, std::size_t max_bytes) {
  if (t.tag != tag_integer) return error::bad_tag;
  if (t.length == 0 || t.length > max_bytes) return error::bad_integer;
  u_char type = 0;
  long out = 0;
  std::size_t len = t.size();
  if (asn_parse_int(const_cast<u8*>(t.start), &len, &type, &out, sizeof(out)) == nullptr)
    return error::bad_integer;
  v = out;
  return {};
}

std::error_code parse_oid(const tlv& t, oid& out) {
  if (t.tag != tag_object_id) return error::bad_tag;
  if (t.length == 0) return error::bad_oid;
  // Every sub-identifier must fit 32 bits (RFC 2578): at most 5 base-128 bytes, the first of a
  // 5-byte one at most 0x8F; the last byte of the content must end a sub-identifier.
  std::size_t run = 0;
  for (std::size_t i = 0; i < t.length; ++i) {
    u8 b = t.content()[i];
    if (run == 0 && b == 0x80) return error::bad_oid;  // non-minimal: leading zero septet
    ++run;
    if (run > 5 || (run == 5 && (t.content()[i - 4] & 0x7F) > 0x0F)) return error::bad_oid;
    if ((b & 0x80) == 0) run = 0;
  }
  if (run != 0) return error::bad_oid;
  std::array<netsnmp_oid, oid::max_length> arcs;  // uninitialized: net-snmp fills count of them
  std::size_t count = arcs.size();
  u_char type = 0;
  std::size_t len = t.size();
  if (asn_parse_objid(const_cast<u8*>(t.start), &len, &type, arcs.data(), &count) == nullptr)
    return error::bad_oid;
  std::vector<std::uint32_t> v(count);
  for (std::size_t i = 0; i < count; ++i) {
    if (arcs[i] > std::numeric_limits<std::uint32_t>::max()) return error::bad_oid;
    v[i] = static_cast<std::uint32_t>(arcs[i]);
  }
  out = oid(std::move(v));
  return {};
}

std::error_code parse_unsigned(const tlv& t, std::uint64_t& v) {
  // Counter32/Gauge32/TimeTicks: up to 4 value bytes plus a leading 0x00.
  if (t.length == 0 || t.length > 5) return error::bad_integer;
  if (t.length == 5 && t.content()[0] != 0) return error::bad_integer;
  u_char type = 0;
  u_long out = 0;
  std::size_t len = t.size();
  if (asn_parse_unsigned_int(const_cast<u8*>(t.start), &len, &type, &out, sizeof(out)) == nullptr)
    return error::bad_integer;
  // A negative encoding (high bit set without the 0x00 pad) is sign-extended by net-snmp.
  v = static_cast<std::uint64_t>(out) & 0xFFFFFFFFu;
  return {};
}

std::error_code parse_counter64(const tlv& t, std::uint64_t& v) {
  if (t.length == 0 || t.length > 9) return error::bad_integer;
  if (t.length == 9 && t.content()[0] != 0) return error::bad_integer;
  u_char type = 0;
  struct counter64 c {};
  std::size_t len = t.size();
  if (asn_parse_unsigned_int64(const_cast<u8*>(t.start), &len, &type, &c, sizeof(c)) == nullptr)
    return error::bad_integer;
  v = (static_cast<std::uint64_t>(c.high) << 32) |
      (static_cast<std::uint64_t>(c.low) & 0xFFFFFFFFu);
  return {};
}

std::error_code parse_octets(const tlv& t, std::string& out) {
  // The content is copied as is; net-snmp's asn_parse_string would only copy it too, after the
  // same length checks read_tlv already made, so the bytes are taken straight from the packet.
  out.assign(reinterpret_cast<const char*>(t.content()), t.length);
  return {};
}

std::error_code parse_value(const tlv& t, value& v) {
  switch (t.tag) {
    case tag_integer: {
      std::int64_t i = 0;
      if (auto ec = parse_integer(t, i, 8)) return ec;
      v = value::make_integer(i);
      return {};
    }
    case tag_octet_string:
    case static_cast<u8>(value_type::opaque):
      v = value::make(static_cast<value_type>(t.tag));
      return parse_octets(t, v.bytes);
    case static_cast<u8>(value_type::ip_address):
      if (t.length != 4) return error::bad_value;
      v = value::make(value_type::ip_address);
      return parse_octets(t, v.bytes);
    case tag_null:
    case static_cast<u8>(value_type::no_such_object):
    case static_cast<u8>(value_type::no_such_instance):
    case static_cast<u8>(value_type::end_of_mib_view):
      if (t.length != 0) return error::bad_value;
      v = value::make(static_cast<value_type>(t.tag));
      return {};
    case tag_object_id: {
      oid o;
      if (auto ec = parse_oid(t, o)) return ec;
      v = value::make_oid(std::move(o));
      return {};
    }
    case static_cast<u8>(value_type::counter32):
    case static_cast<u8>(value_type::gauge32):
    case static_cast<u8>(value_type::timeticks): {
      std::uint64_t n = 0;
      if (auto ec = parse_unsigned(t, n)) return ec;
      v = value::make_unsigned(static_cast<value_type>(t.tag), n);
      return {};
    }
    case static_cast<u8>(value_type::counter64): {
      std::uint64_t n = 0;
      if (auto ec = parse_counter64(t, n)) return ec;
      v = value::make_unsigned(value_type::counter64, n);
      return {};
    }
    default:
      return error::bad_value;
  }
}

// Outer SEQUENCE, version, community, PDU header: shared by decode_response and peek.
struct message_frame {
  std::int64_t version = 0;
  tlv community;
  tlv pdu;
};

std::error_code read_frame(std::span<const u8> packet, message_frame& f,
                           bool check_integers_with_netsnmp) {
  const u8* p = packet.data();
  const u8* end = p + packet.size();
  tlv msg;
  if (auto ec = read_tlv(p, end, true, msg)) return ec;
  if (msg.tag != tag_sequence) return error::bad_tag;
  if (msg.content() + msg.length != end) return error::trailing_data;
  const u8* c = msg.content();
  const u8* cend = c + msg.length;

  tlv ver;
  if (auto ec = read_child(c, cend, ver)) return ec;
  if (ver.tag != tag_integer) return error::bad_tag;
  if (check_integers_with_netsnmp) {
    if (auto ec = parse_integer(ver, f.version, 4)) return ec;
  } else {
    if (ver.length != 1) return error::bad_version;
    f.version = ver.content()[0];
  }
  if (f.version != 0 && f.version != 1) return error::bad_version;
  c = ver.start + ver.size();

  if (auto ec = read_child(c, cend, f.community)) return ec;
  if (f.community.tag != tag_octet_string) return error::bad_tag;
  c = f.community.start + f.community.size();

  if (auto ec = read_child(c, cend, f.pdu)) return ec;
  if ((f.pdu.tag & 0xE0) != 0xA0) return error::bad_tag;  // context-specific, constructed
  if (f.pdu.start + f.pdu.size() != cend) return error::bad_length;
  return {};
}

}  // namespace

// ---- public API ---------------------------------------------------------------------------

std::error_code encode_request(const snmp_request& req, std::span<std::uint8_t> out,
                               std::size_t& written) {
  written = 0;
  if (req.names.empty() || req.names.size() > max_request_names) return error::invalid_request;
  if (req.type != pdu_type::get && req.type != pdu_type::get_next && req.type != pdu_type::get_bulk)
    return error::invalid_request;
  if (req.type == pdu_type::get_bulk &&
      (req.version == snmp_version::v1 || req.non_repeaters < 0 || req.max_repetitions < 0))
    return error::invalid_request;
  for (const auto& n : req.names)
    if (!valid_request_oid(n)) return error::invalid_request;

  // Sizes first (every length minimal, as DER would write them), then one forward pass.
  std::size_t vbl = 0;
  for (const auto& n : req.names) vbl += tlv_size(tlv_size(oid_content_size(n)) + 2);
  const bool bulk = req.type == pdu_type::get_bulk;
  const std::int64_t f2 = bulk ? req.non_repeaters : 0;
  const std::int64_t f3 = bulk ? req.max_repetitions : 0;
  const std::size_t pdu = tlv_size(integer_content_size(req.request_id)) +
                          tlv_size(integer_content_size(f2)) + tlv_size(integer_content_size(f3)) +
                          tlv_size(vbl);
  const std::size_t msg = tlv_size(1) + tlv_size(req.community.size()) + tlv_size(pdu);
  if (tlv_size(msg) > out.size()) return error::buffer_too_small;

  std::lock_guard lock(netsnmp_mutex);
  writer w(out);
  bool ok = w.header(tag_sequence, msg) && w.integer(static_cast<std::int64_t>(req.version)) &&
            w.octets(req.community) && w.header(static_cast<u8>(req.type), pdu) &&
            w.integer(req.request_id) && w.integer(f2) && w.integer(f3) &&
            w.header(tag_sequence, vbl);
  for (std::size_t i = 0; ok && i < req.names.size(); ++i)
    ok = w.header(tag_sequence, tlv_size(oid_content_size(req.names[i])) + 2) &&
         w.object_id(req.names[i]) && w.null();
  if (!ok) return error::buffer_too_small;
  written = static_cast<std::size_t>(w.position() - out.data());
  return {};
}

std::error_code decode_response(std::span<const std::uint8_t> packet, snmp_response& out) {
  out.varbinds.clear();
  message_frame f;
  std::lock_guard lock(netsnmp_mutex);
  if (auto ec = read_frame(packet, f, true)) return ec;
  out.version = static_cast<snmp_version>(f.version);
  out.community.assign(reinterpret_cast<const char*>(f.community.content()), f.community.length);
  if (f.pdu.tag != static_cast<u8>(pdu_type::response) &&
      f.pdu.tag != static_cast<u8>(pdu_type::report))
    return error::bad_pdu_type;
  out.type = static_cast<pdu_type>(f.pdu.tag);

  const u8* c = f.pdu.content();
  const u8* cend = c + f.pdu.length;
  std::int64_t fields[3] = {};
  for (auto& field : fields) {
    tlv t;
    if (auto ec = read_child(c, cend, t)) return ec;
    if (auto ec = parse_integer(t, field, 4)) return ec;
    c = t.start + t.size();
  }
  // request-id is Integer32; error-status 0..18 and error-index 0..max-bindings by RFC 3416, but
  // any Integer32 is kept as sent: the caller judges them.
  out.request_id = static_cast<std::int32_t>(fields[0]);
  out.error_status = static_cast<std::int32_t>(fields[1]);
  out.error_index = static_cast<std::int32_t>(fields[2]);

  tlv list;
  if (auto ec = read_child(c, cend, list)) return ec;
  if (list.tag != tag_sequence) return error::bad_tag;
  if (list.start + list.size() != cend) return error::bad_length;

  const u8* v = list.content();
  const u8* vend = v + list.length;
  while (v < vend) {
    if (out.varbinds.size() == max_response_varbinds) return error::too_many_varbinds;
    tlv vb;
    if (auto ec = read_child(v, vend, vb)) return ec;
    if (vb.tag != tag_sequence) return error::bad_tag;
    const u8* b = vb.content();
    const u8* bend = b + vb.length;
    tlv name, val;
    if (auto ec = read_child(b, bend, name)) return ec;
    varbind out_vb;
    if (auto ec = parse_oid(name, out_vb.name)) return ec;
    b = name.start + name.size();
    if (auto ec = read_child(b, bend, val)) return ec;
    if (val.start + val.size() != bend) return error::bad_length;
    if (auto ec = parse_value(val, out_vb.val)) return ec;
    out.varbinds.push_back(std::move(out_vb));
    v = vb.start + vb.size();
  }
  return {};
}

std::error_code peek_request_id(std::span<const std::uint8_t> packet, std::int32_t& request_id) {
  message_frame f;
  if (auto ec = read_frame(packet, f, false)) return ec;
  tlv id;
  if (auto ec = read_child(f.pdu.content(), f.pdu.content() + f.pdu.length, id)) return ec;
  if (id.tag != tag_integer) return error::bad_tag;
  if (id.length == 0 || id.length > 4) return error::bad_integer;
  // Two's complement, big-endian, sign from the first byte (no net-snmp here: headers only).
  std::uint32_t u = (id.content()[0] & 0x80) ? 0xFFFFFFFFu : 0u;
  for (std::size_t i = 0; i < id.length; ++i) u = (u << 8) | id.content()[i];
  request_id = static_cast<std::int32_t>(u);
  return {};
}

}  // namespace fleetpoll::codecs
