// fleetsim's request decoder (outside input): requests made by the project's net-snmp based
// codec decode to what was asked, and hostile bytes are rejected with a precise error, never a
// crash or an out-of-bounds read (the sanitizer build checks the latter).
#include <gtest/gtest.h>

#include <random>

#include "fleetpoll/fleetsim/agent_codec.hpp"
#include "support.hpp"

namespace {

using namespace fleetsim_test;
using fleetpoll::fleetsim::decode_request;
using fleetpoll::fleetsim::decoded_request;
using fleetpoll::fleetsim::error;
using fleetpoll::fleetsim::request_pdu;

std::vector<std::uint32_t> arcs_of(const codecs::oid& o) {
  return {o.arcs().begin(), o.arcs().end()};
}
std::vector<std::uint32_t> arcs_of(std::span<const std::uint32_t> s) {
  return {s.begin(), s.end()};
}

TEST(FleetsimRequestDecoder, DecodesWhatTheCodecEncodes) {
  auto d = std::make_unique<decoded_request>();
  const std::vector<codecs::oid> names = {O("1.3.6.1.2.1.1.3.0"), O("1.3.6.1.2.1.43.11.1.1.9.1.1"),
                                          O("1.3.6.1.4.1.18334.1.1.1.5.7.2.1.1.0"),
                                          O("2.999.4294967295")};
  struct kase {
    codecs::pdu_type type;
    codecs::snmp_version v;
    request_pdu want;
  } cases[] = {{codecs::pdu_type::get, codecs::snmp_version::v1, request_pdu::get},
               {codecs::pdu_type::get_next, codecs::snmp_version::v1, request_pdu::get_next},
               {codecs::pdu_type::get, codecs::snmp_version::v2c, request_pdu::get},
               {codecs::pdu_type::get_bulk, codecs::snmp_version::v2c, request_pdu::get_bulk}};
  for (const auto& k : cases) {
    const auto bytes = encode(k.type, names, 0x7FFFFFF0, k.v, "s3cr\xfft", 25, 1);
    ASSERT_FALSE(decode_request(bytes, *d));
    EXPECT_EQ(d->version, k.v == codecs::snmp_version::v1 ? 0 : 1);
    EXPECT_EQ(std::string(d->community.begin(), d->community.end()), "s3cr\xfft");
    EXPECT_EQ(d->pdu, k.want);
    EXPECT_EQ(d->request_id, 0x7FFFFFF0);
    if (k.want == request_pdu::get_bulk) {
      EXPECT_EQ(d->non_repeaters, 1);
      EXPECT_EQ(d->max_repetitions, 25);
    }
    ASSERT_EQ(d->name_count, names.size());
    for (std::size_t i = 0; i < names.size(); ++i)
      EXPECT_EQ(arcs_of(d->name(i)), arcs_of(names[i]));
  }
}

TEST(FleetsimRequestDecoder, NegativeRequestIdAndBulkFieldsAreKept) {
  auto d = std::make_unique<decoded_request>();
  const auto bytes = encode(codecs::pdu_type::get_bulk, {O("1.3.6")}, -5, codecs::snmp_version::v2c,
                            "public", 0, 0);
  ASSERT_FALSE(decode_request(bytes, *d));
  EXPECT_EQ(d->request_id, -5);
  EXPECT_EQ(d->max_repetitions, 0);
}

TEST(FleetsimRequestDecoder, OwnEncoderRoundTripsAndPlacesTheRequestIdWhereItSays) {
  const std::vector<std::uint32_t> a = {1, 3, 6, 1, 2, 1, 1, 1, 0};
  const std::span<const std::uint32_t> names[] = {a};
  fleetpoll::fleetsim::request_spec spec;
  spec.pdu = request_pdu::get_bulk;
  spec.request_id = 0x01020304;
  spec.names = names;
  std::vector<std::uint8_t> buf(512);
  const std::size_t n = fleetpoll::fleetsim::encode_request(spec, buf);
  ASSERT_GT(n, 0u);
  buf.resize(n);
  const std::size_t at = fleetpoll::fleetsim::request_id_offset(spec);
  EXPECT_EQ(buf[at], 1);
  EXPECT_EQ(buf[at + 3], 4);
  // net-snmp's decoder (through the codec's peek) reads the same request-id.
  std::int32_t rid = 0;
  ASSERT_FALSE(codecs::peek_request_id(buf, rid));
  EXPECT_EQ(rid, 0x01020304);
  auto d = std::make_unique<decoded_request>();
  ASSERT_FALSE(decode_request(buf, *d));
  EXPECT_EQ(arcs_of(d->name(0)), a);
  spec.version = 0;  // GETBULK is not SNMPv1
  EXPECT_EQ(fleetpoll::fleetsim::encode_request(spec, buf), 0u);
}

TEST(FleetsimRequestDecoder, EveryTruncationIsRejected) {
  auto d = std::make_unique<decoded_request>();
  const auto bytes =
      encode(codecs::pdu_type::get_bulk, {O("1.3.6.1.2.1.43"), O("1.3.6.1.2.1.25.3.2.1.5.1")}, 77);
  for (std::size_t len = 0; len < bytes.size(); ++len) {
    std::vector<std::uint8_t> cut(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(len));
    EXPECT_TRUE(decode_request(cut, *d)) << "accepted a request cut to " << len << " bytes";
  }
}

// A small BER builder for hand-made requests.
using B = std::vector<std::uint8_t>;
B cat(std::initializer_list<B> parts) {
  B out;
  for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}
B tlv(std::uint8_t tag, const B& content) {
  const std::size_t n = content.size();
  B out = {tag};
  if (n < 0x80)
    out.push_back(static_cast<std::uint8_t>(n));
  else if (n < 0x100)
    out.insert(out.end(), {0x81, static_cast<std::uint8_t>(n)});
  else
    out.insert(out.end(), {0x82, static_cast<std::uint8_t>(n >> 8), static_cast<std::uint8_t>(n)});
  return cat({out, content});
}
B text(std::string_view s) {
  return B(s.begin(), s.end());
}
B vb(const B& oid_content, const B& value = {0x05, 0x00}) {
  return tlv(0x30, cat({tlv(0x06, oid_content), value}));
}
B message(const B& vbl, std::uint8_t pdu = 0xA0, std::uint8_t version = 1,
          const B& community = text("public"), const B& rid = tlv(0x02, {0x01})) {
  return tlv(0x30,
             cat({tlv(0x02, {version}), tlv(0x04, community),
                  tlv(pdu, cat({rid, tlv(0x02, {0x00}), tlv(0x02, {0x00}), tlv(0x30, vbl)}))}));
}

// Hostile inputs, each with the error it must give.
TEST(FleetsimRequestDecoder, HostileRequestsGivePreciseErrors) {
  auto d = std::make_unique<decoded_request>();
  const B ok_vb = vb({0x2B, 0x06});  // 1.3.6 = NULL
  ASSERT_FALSE(decode_request(message(ok_vb), *d));

  B trailing = message(ok_vb);
  trailing.push_back(0);
  B indefinite = message(ok_vb);
  indefinite[1] = 0x80;
  B many;
  for (int i = 0; i < 129; ++i) many = cat({many, ok_vb});
  B long_oid = {0x2B};
  for (int i = 0; i < 130; ++i) long_oid.push_back(0x01);

  struct kase {
    const char* what;
    B bytes;
    error want;
  };
  const kase cases[] = {
      {"empty datagram", {}, error::truncated},
      {"not a SEQUENCE", {0x04, 0x00}, error::bad_tag},
      {"trailing byte after the message", trailing, error::trailing_data},
      {"indefinite length", indefinite, error::bad_length},
      {"five length octets", {0x30, 0x85, 0, 0, 0, 0, 1, 0}, error::bad_length},
      {"length past the datagram", {0x30, 0x84, 0x7F, 0xFF, 0xFF, 0xFF, 0x02}, error::truncated},
      {"varbind longer than its list", message({0x30, 0x7F, 0x06, 0x02, 0x2B, 0x06, 0x05, 0x00}),
       error::bad_length},
      {"multi-byte tag", message({0x30, 0x06, 0x1F, 0x02, 0x2B, 0x06, 0x05, 0x00}), error::bad_tag},
      {"SNMPv3 message", message(ok_vb, 0xA0, 3), error::bad_version},
      {"SET request", message(ok_vb, 0xA3), error::bad_pdu_type},
      {"Response PDU", message(ok_vb, 0xA2), error::bad_pdu_type},
      {"GETBULK in SNMPv1", message(ok_vb, 0xA5, 0), error::bad_pdu_type},
      {"OID with a 0x80 pad", message(vb({0x2B, 0x80, 0x06})), error::bad_oid},
      {"OID ending inside an arc", message(vb({0x2B, 0x86})), error::bad_oid},
      {"OID arc over 2^32-1", message(vb({0x2B, 0x90, 0x80, 0x80, 0x80, 0x00, 0x00})),
       error::bad_oid},
      {"empty OID", message(vb({})), error::bad_oid},
      {"OID of 132 arcs", message(vb(long_oid)), error::bad_oid},
      {"varbind without a value", message(tlv(0x30, tlv(0x06, {0x2B, 0x06}))), error::truncated},
      {"varbind with two values", message(vb({0x2B, 0x06}, {0x05, 0x00, 0x05, 0x00})),
       error::trailing_data},
      {"request-id of six bytes",
       message(ok_vb, 0xA0, 1, text("public"), tlv(0x02, {1, 0, 0, 0, 0, 0})), error::bad_integer},
      {"INTEGER without bytes", message(ok_vb, 0xA0, 1, text("public"), tlv(0x02, {})),
       error::bad_integer},
      {"community of 300 bytes", message(ok_vb, 0xA0, 1, B(300, 'c')), error::bad_community},
      {"129 varbinds", message(many), error::too_many_names},
  };
  for (const auto& k : cases) {
    const auto ec = decode_request(k.bytes, *d);
    EXPECT_EQ(ec, fleetpoll::fleetsim::make_error_code(k.want))
        << k.what << ": got " << ec.message();
  }
}

TEST(FleetsimRequestDecoder, RandomMutationsNeverCrash) {
  auto d = std::make_unique<decoded_request>();
  const auto base =
      encode(codecs::pdu_type::get_bulk, {O("1.3.6.1.2.1.43.11.1.1.9"), O("1.3.6.1.2.1.1")}, 4242);
  std::mt19937 rng(7);
  std::size_t accepted = 0;
  for (int i = 0; i < 20000; ++i) {
    auto m = base;
    const int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits; ++e) m[rng() % m.size()] = static_cast<std::uint8_t>(rng());
    if (rng() % 5 == 0) m.resize(rng() % m.size());
    if (!decode_request(m, *d)) {
      ++accepted;
      for (std::size_t n = 0; n < d->name_count; ++n) EXPECT_GE(d->name(n).size(), 2u);
    }
  }
  // Some mutations only touch values (still valid); most break the structure.
  EXPECT_GT(accepted, 0u);
  EXPECT_LT(accepted, 20000u);
}

}  // namespace
