// SNMP codec: request encoding (golden bytes, every PDU kind, invalid requests, small buffers),
// response decoding (every value type), and a table of malformed packets, each with the precise
// error it must give. Packets are built by the independent test writer in ber_builder.hpp.
#include <gtest/gtest.h>

#include <random>

#include "ber_builder.hpp"
#include "fleetpoll/codecs/snmp_codec.hpp"

namespace fleetpoll {
namespace {

namespace c = fleetpoll::codecs;
namespace ber = fleetpoll::test::ber;
using c::error;

const c::oid sys_descr{1, 3, 6, 1, 2, 1, 1, 1, 0};
const c::oid prt_level{1, 3, 6, 1, 2, 1, 43, 11, 1, 1, 9};

std::vector<std::uint8_t> encode(const c::snmp_request& req, std::error_code* ec_out = nullptr) {
  std::vector<std::uint8_t> buf(2048);
  std::size_t n = 0;
  auto ec = c::encode_request(req, buf, n);
  if (ec_out) *ec_out = ec;
  buf.resize(n);
  return buf;
}

std::error_code decode(const std::vector<std::uint8_t>& bytes, c::snmp_response& out) {
  return c::decode_response(bytes, out);
}

std::error_code decode(const std::vector<std::uint8_t>& bytes) {
  c::snmp_response r;
  return c::decode_response(bytes, r);
}

// ---- encoding ----------------------------------------------------------------------------------

TEST(SnmpEncode, GetV2cMatchesHandEncodedBytes) {
  std::vector<c::oid> names{sys_descr};
  c::snmp_request req;
  req.version = c::snmp_version::v2c;
  req.community = "public";
  req.type = c::pdu_type::get;
  req.request_id = 0x1234;
  req.names = names;
  auto expected = ber::message(
      1, "public", 0xA0, 0x1234,
      ber::seq({ber::seq({ber::object_id({1, 3, 6, 1, 2, 1, 1, 1, 0}), ber::tlv(0x05, {})})}));
  EXPECT_EQ(encode(req), expected);
}

TEST(SnmpEncode, GetBulkCarriesNonRepeatersAndMaxRepetitions) {
  std::vector<c::oid> names{sys_descr, prt_level};
  c::snmp_request req;
  req.type = c::pdu_type::get_bulk;
  req.request_id = -5;
  req.non_repeaters = 1;
  req.max_repetitions = 25;
  req.names = names;
  auto vbl = ber::seq(
      {ber::seq({ber::object_id({1, 3, 6, 1, 2, 1, 1, 1, 0}), ber::tlv(0x05, {})}),
       ber::seq({ber::object_id({1, 3, 6, 1, 2, 1, 43, 11, 1, 1, 9}), ber::tlv(0x05, {})})});
  EXPECT_EQ(encode(req), ber::message(1, "public", 0xA5, -5, vbl, 1, 25));
}

TEST(SnmpEncode, GetNextV1WritesVersionZeroAndZeroErrorFields) {
  std::vector<c::oid> names{prt_level};
  c::snmp_request req;
  req.version = c::snmp_version::v1;
  req.community = "private-ro";
  req.type = c::pdu_type::get_next;
  req.request_id = 2'000'000'000;
  req.max_repetitions = 99;  // ignored outside GETBULK
  req.names = names;
  auto vbl = ber::seq(
      {ber::seq({ber::object_id({1, 3, 6, 1, 2, 1, 43, 11, 1, 1, 9}), ber::tlv(0x05, {})})});
  EXPECT_EQ(encode(req), ber::message(0, "private-ro", 0xA1, 2'000'000'000, vbl));
}

TEST(SnmpEncode, LargeArcsAndLongCommunitiesUseMultiByteEncodings) {
  std::vector<c::oid> names{c::oid{1, 3, 6, 1, 4, 1, 4294967295u, 128, 16384}};
  std::string community(300, 'x');
  c::snmp_request req;
  req.community = community;
  req.request_id = 7;
  req.names = names;
  auto vbl = ber::seq({ber::seq(
      {ber::object_id({1, 3, 6, 1, 4, 1, 4294967295u, 128, 16384}), ber::tlv(0x05, {})})});
  EXPECT_EQ(encode(req), ber::message(1, community, 0xA0, 7, vbl));
}

TEST(SnmpEncode, InvalidRequestsAreRefused) {
  std::vector<c::oid> good{sys_descr};
  std::vector<c::oid> none;
  std::vector<c::oid> one_arc{c::oid{1}};
  std::vector<c::oid> bad_first{c::oid{3, 1}};
  std::vector<c::oid> bad_second{c::oid{1, 40}};
  std::vector<c::oid> too_many(c::max_request_names + 1, sys_descr);
  auto check = [](c::snmp_request r, const char* what) {
    std::error_code ec;
    auto bytes = encode(r, &ec);
    EXPECT_EQ(ec, error::invalid_request) << what;
    EXPECT_TRUE(bytes.empty()) << what;
  };
  c::snmp_request r;
  r.names = none;
  check(r, "no names");
  r.names = too_many;
  check(r, "too many names");
  r.names = one_arc;
  check(r, "one arc");
  r.names = bad_first;
  check(r, "first arc 3");
  r.names = bad_second;
  check(r, "second arc 40 under 1");
  r.names = good;
  r.type = c::pdu_type::get_bulk;
  r.version = c::snmp_version::v1;
  check(r, "GETBULK in v1");
  r.version = c::snmp_version::v2c;
  r.max_repetitions = -1;
  check(r, "negative max-repetitions");
  r.max_repetitions = 10;
  r.non_repeaters = -1;
  check(r, "negative non-repeaters");
  r.non_repeaters = 0;
  r.type = c::pdu_type::set;
  check(r, "SET is not a request fleetpoll sends");
}

TEST(SnmpEncode, EveryBufferShorterThanTheMessageIsTooSmall) {
  std::vector<c::oid> names{sys_descr, prt_level};
  c::snmp_request req;
  req.type = c::pdu_type::get_bulk;
  req.names = names;
  const auto full = encode(req);
  ASSERT_FALSE(full.empty());
  for (std::size_t size = 0; size < full.size(); ++size) {
    std::vector<std::uint8_t> buf(size + 16, 0xEE);  // guard bytes after the window
    std::size_t n = 99;
    EXPECT_EQ(c::encode_request(req, std::span(buf.data(), size), n), error::buffer_too_small)
        << size;
    EXPECT_EQ(n, 0u);
    for (std::size_t i = size; i < buf.size(); ++i)
      ASSERT_EQ(buf[i], 0xEE) << "wrote past the buffer at " << size;
  }
  std::vector<std::uint8_t> exact(full.size());
  std::size_t n = 0;
  EXPECT_FALSE(c::encode_request(req, exact, n));
  EXPECT_EQ(exact, full);
}

TEST(SnmpEncode, RequestDecodesBackAsResponseWhenItsTagIsFlipped) {
  std::vector<c::oid> names{sys_descr, prt_level, c::oid{1, 3, 6, 1, 2, 1, 25, 3, 5, 1, 2, 1}};
  c::snmp_request req;
  req.type = c::pdu_type::get;
  req.request_id = -123456;
  req.names = names;
  auto bytes = encode(req);
  // The PDU tag follows the version (3 bytes) and the community (2 + 6 bytes) after the header.
  std::size_t header = bytes[1] < 0x80 ? 2 : 2 + (bytes[1] & 0x7F);
  std::size_t pdu_at = header + 3 + 8;
  ASSERT_EQ(bytes[pdu_at], 0xA0);
  bytes[pdu_at] = 0xA2;
  c::snmp_response r;
  ASSERT_FALSE(decode(bytes, r));
  EXPECT_EQ(r.request_id, -123456);
  EXPECT_EQ(r.community, "public");
  ASSERT_EQ(r.varbinds.size(), names.size());
  for (std::size_t i = 0; i < names.size(); ++i) {
    EXPECT_EQ(r.varbinds[i].name, names[i]);
    EXPECT_EQ(r.varbinds[i].val.type, c::value_type::null);
  }
}

// ---- decoding ----------------------------------------------------------------------------------

ber::bytes vb(std::initializer_list<std::uint64_t> name, const ber::bytes& value) {
  return ber::seq({ber::object_id(name), value});
}

TEST(SnmpDecode, EveryValueTypeArrivesTyped) {
  auto list = ber::seq({
      vb({1, 3, 6, 1, 2, 1, 1, 1, 0}, ber::octets(std::string_view("HP LaserJet\x00\xff", 13))),
      vb({1, 3, 6, 1, 2, 1, 1, 2, 0}, ber::object_id({1, 3, 6, 1, 4, 1, 11, 2, 3, 9, 1})),
      vb({1, 3, 6, 1, 2, 1, 1, 3, 0}, ber::unsigned_int(4294967295u, 0x43)),
      vb({1, 3, 6, 1, 2, 1, 43, 11, 1, 1, 9, 1, 1}, ber::integer(-3)),
      vb({1, 3, 6, 1, 2, 1, 43, 11, 1, 1, 9, 1, 2}, ber::integer(-2147483648LL)),
      vb({1, 3, 6, 1, 2, 1, 4, 20, 1, 1, 127, 0, 0, 1}, ber::tlv(0x40, {127, 0, 0, 1})),
      vb({1, 3, 6, 1, 2, 1, 2, 2, 1, 10, 1}, ber::unsigned_int(3000000000u, 0x41)),
      vb({1, 3, 6, 1, 2, 1, 2, 2, 1, 5, 1}, ber::unsigned_int(1000000000u, 0x42)),
      vb({1, 3, 6, 1, 2, 1, 31, 1, 1, 1, 6, 1}, ber::unsigned_int(18446744073709551615ull, 0x46)),
      vb({1, 3, 6, 1, 4, 1, 99, 1}, ber::tlv(0x44, {0x9f, 0x78, 0x04, 0x42, 0x28, 0, 0})),
      vb({1, 3, 6, 1, 4, 1, 99, 2}, ber::tlv(0x05, {})),
      vb({1, 3, 6, 1, 4, 1, 99, 3}, ber::tlv(0x80, {})),
      vb({1, 3, 6, 1, 4, 1, 99, 4}, ber::tlv(0x81, {})),
      vb({1, 3, 6, 1, 4, 1, 99, 5}, ber::tlv(0x82, {})),
  });
  c::snmp_response r;
  ASSERT_FALSE(decode(ber::message(1, "public", 0xA2, 77, list, 0, 0), r));
  EXPECT_EQ(r.version, c::snmp_version::v2c);
  EXPECT_EQ(r.type, c::pdu_type::response);
  EXPECT_EQ(r.request_id, 77);
  ASSERT_EQ(r.varbinds.size(), 14u);
  const auto& v = r.varbinds;
  EXPECT_EQ(v[0].val.type, c::value_type::octet_string);
  EXPECT_EQ(v[0].val.bytes, std::string("HP LaserJet\x00\xff", 13));
  EXPECT_EQ(v[1].val.object, (c::oid{1, 3, 6, 1, 4, 1, 11, 2, 3, 9, 1}));
  EXPECT_EQ(v[2].val.type, c::value_type::timeticks);
  EXPECT_EQ(v[2].val.number, 4294967295u);
  EXPECT_EQ(v[3].val.integer(), -3);
  EXPECT_EQ(v[4].val.integer(), -2147483648LL);
  EXPECT_EQ(v[5].val.type, c::value_type::ip_address);
  EXPECT_EQ(v[5].val.bytes, std::string("\x7f\x00\x00\x01", 4));
  EXPECT_EQ(v[6].val.type, c::value_type::counter32);
  EXPECT_EQ(v[6].val.number, 3000000000u);
  EXPECT_EQ(v[7].val.type, c::value_type::gauge32);
  EXPECT_EQ(v[7].val.number, 1000000000u);
  EXPECT_EQ(v[8].val.type, c::value_type::counter64);
  EXPECT_EQ(v[8].val.number, 18446744073709551615ull);
  EXPECT_EQ(v[9].val.type, c::value_type::opaque);
  EXPECT_EQ(v[9].val.bytes.size(), 7u);
  EXPECT_EQ(v[10].val.type, c::value_type::null);
  EXPECT_EQ(v[11].val.type, c::value_type::no_such_object);
  EXPECT_EQ(v[12].val.type, c::value_type::no_such_instance);
  EXPECT_EQ(v[13].val.type, c::value_type::end_of_mib_view);
  EXPECT_EQ(v[9].name, (c::oid{1, 3, 6, 1, 4, 1, 99, 1}));
}

TEST(SnmpDecode, ErrorStatusIndexAndReportsAreKept) {
  c::snmp_response r;
  auto list = ber::seq({vb({1, 3, 6, 1, 2, 1, 1, 1, 0}, ber::tlv(0x05, {}))});
  ASSERT_FALSE(decode(ber::message(0, "public", 0xA2, 9, list, 2, 1), r));
  EXPECT_EQ(r.version, c::snmp_version::v1);
  EXPECT_EQ(r.error_status, 2);  // noSuchName
  EXPECT_EQ(r.error_index, 1);
  ASSERT_FALSE(decode(ber::message(1, "public", 0xA8, 10, ber::seq({}), 0, 0), r));
  EXPECT_EQ(r.type, c::pdu_type::report);
  EXPECT_TRUE(r.varbinds.empty());
}

TEST(SnmpDecode, UnsignedValuesWithoutTheirZeroPadAreReadAsUnsigned) {
  // Some printer agents encode Counter32 0xFFFFFFFF as 4 bytes FF FF FF FF (no 0x00 pad).
  c::snmp_response r;
  auto list = ber::seq(
      {vb({1, 3, 6, 1, 2, 1, 43, 10, 2, 1, 4, 1, 1}, ber::tlv(0x41, {0xff, 0xff, 0xff, 0xff}))});
  ASSERT_FALSE(decode(ber::message(1, "public", 0xA2, 1, list), r));
  EXPECT_EQ(r.varbinds.at(0).val.number, 4294967295u);
}

TEST(SnmpDecode, LongFormLengthsAreAccepted) {
  // net-snmp's forward encoder writes 0x82 xx xx lengths even for short contents: valid BER.
  auto inner = ber::seq({vb({1, 3, 6, 1, 2, 1, 1, 5, 0}, ber::octets("printer-7"))});
  auto msg = ber::message(1, "public", 0xA2, 3, inner);
  ber::bytes long_form{0x30, 0x82, 0x00, static_cast<std::uint8_t>(msg.size() - 2)};
  long_form.insert(long_form.end(), msg.begin() + 2, msg.end());
  c::snmp_response r;
  ASSERT_FALSE(decode(long_form, r));
  EXPECT_EQ(r.varbinds.at(0).val.bytes, "printer-7");
}

// ---- hostile input: each malformed packet and the error it must give ----------------------------

struct hostile_case {
  const char* name;
  ber::bytes packet;
  error expected;
};

ber::bytes ok_list() {
  return ber::seq({vb({1, 3, 6, 1, 2, 1, 1, 1, 0}, ber::octets("x"))});
}
ber::bytes with_value(const ber::bytes& value) {
  return ber::message(1, "public", 0xA2, 1, ber::seq({vb({1, 3, 6, 1, 4, 1, 1}, value)}));
}
ber::bytes with_name(const ber::bytes& name) {
  return ber::message(1, "public", 0xA2, 1, ber::seq({ber::seq({name, ber::tlv(0x05, {})})}));
}
ber::bytes many_varbinds(std::size_t n) {
  ber::bytes items;
  auto one = vb({1, 3, 6, 1, 4, 1, 1}, ber::tlv(0x05, {}));
  for (std::size_t i = 0; i < n; ++i) items.insert(items.end(), one.begin(), one.end());
  return ber::message(1, "public", 0xA2, 1, ber::tlv(0x30, items));
}

std::vector<hostile_case> hostile_cases() {
  auto good = ber::message(1, "public", 0xA2, 1, ok_list());
  auto cut = [&](std::size_t n) {
    return ber::bytes(good.begin(), good.begin() + static_cast<long>(n));
  };
  auto plus = [&](ber::bytes extra) {
    auto b = good;
    b.insert(b.end(), extra.begin(), extra.end());
    return b;
  };
  std::vector<hostile_case> v{
      {"empty packet", {}, error::truncated},
      {"only a tag", {0x30}, error::truncated},
      {"cut inside the version", cut(4), error::truncated},
      {"cut inside a varbind", cut(good.size() - 1), error::truncated},
      {"cut inside a long length", {0x30, 0x82, 0x01}, error::truncated},
      {"huge outer length",
       {0x30, 0x84, 0x7f, 0xff, 0xff, 0xff, 0x02, 0x01, 0x01},
       error::truncated},
      {"indefinite length", {0x30, 0x80, 0x02, 0x01, 0x01, 0x00, 0x00}, error::bad_length},
      {"five length bytes",
       {0x30, 0x85, 0x00, 0x00, 0x00, 0x00, 0x03, 0x02, 0x01, 0x01},
       error::bad_length},
      {"outer tag is a SET", ber::tlv(0x31, {0x02, 0x01, 0x01}), error::bad_tag},
      {"high tag number form", {0x1f, 0x81, 0x00, 0x00}, error::bad_tag},
      {"bytes after the message", plus({0x00}), error::trailing_data},
      {"SNMPv3 version", ber::message(3, "public", 0xA2, 1, ok_list()), error::bad_version},
      {"negative version", ber::message(-1, "public", 0xA2, 1, ok_list()), error::bad_version},
      {"version as a string",
       ber::seq({ber::octets("1"), ber::octets("public"), ber::tlv(0xA2, {})}), error::bad_tag},
      {"community as an integer", ber::seq({ber::integer(1), ber::integer(5), ber::tlv(0xA2, {})}),
       error::bad_tag},
      {"GET instead of Response", ber::message(1, "public", 0xA0, 1, ok_list()),
       error::bad_pdu_type},
      {"trap v2", ber::message(1, "public", 0xA7, 1, ok_list()), error::bad_pdu_type},
      {"PDU with a universal tag", ber::seq({ber::integer(1), ber::octets("p"), ber::octets("x")}),
       error::bad_tag},
      {"five-byte request-id",
       ber::seq({ber::integer(1), ber::octets("p"),
                 ber::tlv(0xA2, ber::cat({ber::tlv(0x02, {1, 2, 3, 4, 5}), ber::integer(0),
                                          ber::integer(0), ok_list()}))}),
       error::bad_integer},
      {"empty request-id",
       ber::seq({ber::integer(1), ber::octets("p"),
                 ber::tlv(0xA2, ber::cat({ber::tlv(0x02, {}), ber::integer(0), ber::integer(0),
                                          ok_list()}))}),
       error::bad_integer},
      {"missing varbind list",
       ber::seq({ber::integer(1), ber::octets("p"),
                 ber::tlv(0xA2, ber::cat({ber::integer(1), ber::integer(0), ber::integer(0)}))}),
       error::bad_length},
      {"varbind list is a string", ber::message(1, "public", 0xA2, 1, ber::octets("abc")),
       error::bad_tag},
      {"varbind is not a sequence", ber::message(1, "public", 0xA2, 1, ber::seq({ber::integer(5)})),
       error::bad_tag},
      {"varbind with three elements",
       ber::message(
           1, "public", 0xA2, 1,
           ber::seq({ber::seq({ber::object_id({1, 3, 6}), ber::integer(1), ber::integer(2)})})),
       error::bad_length},
      {"varbind with only a name",
       ber::message(1, "public", 0xA2, 1, ber::seq({ber::seq({ber::object_id({1, 3, 6})})})),
       error::bad_length},
      {"inner length past its container",
       ber::message(1, "public", 0xA2, 1,
                    ber::seq({ber::tlv(0x30, {0x06, 0x09, 0x2b, 0x06, 0x01}), ber::integer(1),
                              ber::integer(2), ber::integer(3)})),
       error::bad_length},
      {"name is a string", with_name(ber::octets("1.3.6")), error::bad_tag},
      {"empty OID", with_name(ber::tlv(0x06, {})), error::bad_oid},
      {"OID ends inside a sub-identifier", with_name(ber::tlv(0x06, {0x2b, 0x06, 0x81})),
       error::bad_oid},
      {"OID with a leading 0x80 septet", with_name(ber::tlv(0x06, {0x2b, 0x80, 0x01})),
       error::bad_oid},
      {"OID sub-identifier over 32 bits",
       with_name(ber::tlv(0x06, {0x2b, 0x90, 0x80, 0x80, 0x80, 0x00})), error::bad_oid},
      {"OID with 129 arcs", with_name(ber::tlv(0x06, ber::bytes(128, 0x01))), error::bad_oid},
      {"IpAddress of 3 bytes", with_value(ber::tlv(0x40, {127, 0, 0})), error::bad_value},
      {"NULL with content", with_value(ber::tlv(0x05, {0x00})), error::bad_value},
      {"endOfMibView with content", with_value(ber::tlv(0x82, {0x01})), error::bad_value},
      {"unknown application tag", with_value(ber::tlv(0x47, {0x01})), error::bad_value},
      {"SEQUENCE as a value", with_value(ber::seq({})), error::bad_value},
      {"empty INTEGER value", with_value(ber::tlv(0x02, {})), error::bad_integer},
      {"nine-byte INTEGER value", with_value(ber::tlv(0x02, ber::bytes(9, 0x01))),
       error::bad_integer},
      {"six-byte Counter32", with_value(ber::tlv(0x41, {0, 1, 2, 3, 4, 5})), error::bad_integer},
      {"five-byte Gauge32 without zero pad", with_value(ber::tlv(0x42, {1, 2, 3, 4, 5})),
       error::bad_integer},
      {"ten-byte Counter64", with_value(ber::tlv(0x46, ber::bytes(10, 0x01))), error::bad_integer},
      {"empty TimeTicks", with_value(ber::tlv(0x43, {})), error::bad_integer},
      {"2049 varbinds", many_varbinds(c::max_response_varbinds + 1), error::too_many_varbinds},
  };
  return v;
}

TEST(SnmpDecode, MalformedPacketsGiveTheirPreciseError) {
  for (const auto& hc : hostile_cases()) {
    c::snmp_response r;
    auto ec = decode(hc.packet, r);
    EXPECT_EQ(ec, hc.expected) << hc.name << ": got " << ec.message();
  }
}

TEST(SnmpDecode, ExactlyTheLimitOfVarbindsIsAccepted) {
  c::snmp_response r;
  ASSERT_FALSE(decode(many_varbinds(c::max_response_varbinds), r));
  EXPECT_EQ(r.varbinds.size(), c::max_response_varbinds);
}

TEST(SnmpDecode, ErrorsHaveReadableMessagesInTheCodecsCategory) {
  std::error_code ec = error::bad_oid;
  EXPECT_STREQ(ec.category().name(), c::codecs_category().name());
  EXPECT_FALSE(ec.message().empty());
  EXPECT_NE(ec.message(), std::error_code(error::truncated).message());
}

// Every prefix and every single-byte corruption of valid packets decodes or fails cleanly (the
// sanitizer build turns any out-of-bounds read into a failure), and mutations are bounded.
TEST(SnmpDecode, PrefixesAndByteFlipsNeverReadOutOfBounds) {
  auto list = ber::seq({
      vb({1, 3, 6, 1, 2, 1, 1, 1, 0}, ber::octets("Printer")),
      vb({1, 3, 6, 1, 2, 1, 1, 2, 0}, ber::object_id({1, 3, 6, 1, 4, 1, 367, 1, 1})),
      vb({1, 3, 6, 1, 2, 1, 43, 11, 1, 1, 9, 1, 1}, ber::integer(-3)),
      vb({1, 3, 6, 1, 2, 1, 31, 1, 1, 1, 6, 1}, ber::unsigned_int(1ull << 40, 0x46)),
      vb({1, 3, 6, 1, 4, 1, 99, 5}, ber::tlv(0x82, {})),
  });
  const auto good = ber::message(1, "public", 0xA2, 4242, list);
  std::size_t ok = 0, failed = 0;
  for (std::size_t n = 0; n < good.size(); ++n) {
    ber::bytes prefix(good.begin(), good.begin() + static_cast<long>(n));
    // Heap copies of exactly the prefix length, so ASan sees any read past the end.
    auto ec = decode(prefix);
    EXPECT_TRUE(ec) << "a prefix of " << n << " bytes decoded";
    ++failed;
  }
  std::mt19937 rng(20261123);
  for (int round = 0; round < 20000; ++round) {
    auto b = good;
    int flips = 1 + static_cast<int>(rng() % 3);
    for (int f = 0; f < flips; ++f) b[rng() % b.size()] = static_cast<std::uint8_t>(rng());
    c::snmp_response r;
    auto ec = decode(b, r);
    if (ec) {
      EXPECT_EQ(ec.category(), c::codecs_category());
      ++failed;
    } else {
      EXPECT_LE(r.varbinds.size(), c::max_response_varbinds);
      ++ok;
    }
  }
  EXPECT_GT(ok, 0u);  // many flips land in string contents and stay valid
  EXPECT_GT(failed, 0u);
}

// ---- peek_request_id
// ------------------------------------------------------------------------------

TEST(SnmpPeek, RequestIdMatchesTheFullDecode) {
  for (std::int64_t id : {0LL, 1LL, 127LL, 128LL, -1LL, -129LL, 2147483647LL, -2147483648LL}) {
    auto msg = ber::message(1, "public", 0xA2, id, ok_list());
    std::int32_t peeked = 0;
    ASSERT_FALSE(c::peek_request_id(msg, peeked)) << id;
    EXPECT_EQ(peeked, id);
    c::snmp_response r;
    ASSERT_FALSE(decode(msg, r));
    EXPECT_EQ(r.request_id, peeked);
  }
}

TEST(SnmpPeek, GarbageAndTruncationAreErrors) {
  std::int32_t id = 0;
  EXPECT_EQ(c::peek_request_id(std::span<const std::uint8_t>(), id), error::truncated);
  ber::bytes junk{0x04, 0x02, 'h', 'i'};
  EXPECT_EQ(c::peek_request_id(junk, id), error::bad_tag);
  auto msg = ber::message(1, "public", 0xA2, 5, ok_list());
  msg.resize(msg.size() - 3);
  EXPECT_EQ(c::peek_request_id(msg, id), error::truncated);
  EXPECT_EQ(c::peek_request_id(ber::message(2, "public", 0xA2, 5, ok_list()), id),
            error::bad_version);
}

}  // namespace
}  // namespace fleetpoll
