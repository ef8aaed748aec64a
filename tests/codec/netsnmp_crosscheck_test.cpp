// Cross-implementation checks: net-snmp's own message parser reads fleetpoll's requests, and
// fleetpoll's decoder reads responses built by net-snmp's message builder (snmp_build), value for
// value. net-snmp is the reference implementation most printer agents were tested against.
#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>

#include "fleetpoll/codecs/snmp_codec.hpp"

// clang-format off
#include <net-snmp/net-snmp-config.h>
#include <net-snmp/net-snmp-includes.h>
// clang-format on
#undef non_repeaters
#undef max_repetitions

namespace fleetpoll {
namespace {

namespace c = fleetpoll::codecs;

struct parsed_pdu {
  netsnmp_pdu* pdu = nullptr;
  ~parsed_pdu() {
    if (pdu) snmp_free_pdu(pdu);
  }
};

TEST(NetSnmpCrossCheck, NetSnmpParsesEveryKindOfRequestWeEncode) {
  std::vector<c::oid> names{c::oid{1, 3, 6, 1, 2, 1, 1, 1, 0},
                            c::oid{1, 3, 6, 1, 2, 1, 43, 11, 1, 1, 9},
                            c::oid{1, 3, 6, 1, 4, 1, 4294967295u, 0}};
  struct kind {
    c::snmp_version version;
    c::pdu_type type;
    int netsnmp_command;
  };
  for (kind k : {kind{c::snmp_version::v1, c::pdu_type::get, SNMP_MSG_GET},
                 kind{c::snmp_version::v1, c::pdu_type::get_next, SNMP_MSG_GETNEXT},
                 kind{c::snmp_version::v2c, c::pdu_type::get, SNMP_MSG_GET},
                 kind{c::snmp_version::v2c, c::pdu_type::get_next, SNMP_MSG_GETNEXT},
                 kind{c::snmp_version::v2c, c::pdu_type::get_bulk, SNMP_MSG_GETBULK}}) {
    c::snmp_request req;
    req.version = k.version;
    req.type = k.type;
    req.community = "s3cr3t-community";
    req.request_id = 918273645;
    req.non_repeaters = 1;
    req.max_repetitions = 30;
    req.names = names;
    std::vector<std::uint8_t> buf(1500);
    std::size_t n = 0;
    ASSERT_FALSE(c::encode_request(req, buf, n));

    netsnmp_session sess;
    snmp_sess_init(&sess);
    sess.version = SNMP_DEFAULT_VERSION;
    parsed_pdu p;
    p.pdu = static_cast<netsnmp_pdu*>(calloc(1, sizeof(netsnmp_pdu)));
    ASSERT_EQ(snmp_parse(nullptr, &sess, p.pdu, buf.data(), n), 0) << static_cast<int>(k.type);
    EXPECT_EQ(p.pdu->command, k.netsnmp_command);
    EXPECT_EQ(p.pdu->version, k.version == c::snmp_version::v1 ? SNMP_VERSION_1 : SNMP_VERSION_2c);
    EXPECT_EQ(p.pdu->reqid, 918273645);
    ASSERT_EQ(p.pdu->community_len, 16u);
    EXPECT_EQ(std::memcmp(p.pdu->community, "s3cr3t-community", 16), 0);
    if (k.type == c::pdu_type::get_bulk) {
      EXPECT_EQ(p.pdu->errstat, 1);    // non-repeaters
      EXPECT_EQ(p.pdu->errindex, 30);  // max-repetitions
    }
    std::size_t i = 0;
    for (auto* v = p.pdu->variables; v != nullptr; v = v->next_variable, ++i) {
      ASSERT_LT(i, names.size());
      ASSERT_EQ(v->name_length, names[i].size());
      for (std::size_t a = 0; a < names[i].size(); ++a) EXPECT_EQ(v->name[a], names[i][a]);
      EXPECT_EQ(v->type, ASN_NULL);
    }
    EXPECT_EQ(i, names.size());
  }
}

TEST(NetSnmpCrossCheck, WeDecodeResponsesNetSnmpBuilds) {
  netsnmp_session sess;
  snmp_sess_init(&sess);
  sess.version = SNMP_VERSION_2c;
  netsnmp_pdu* pdu = snmp_pdu_create(SNMP_MSG_RESPONSE);
  pdu->version = SNMP_VERSION_2c;
  pdu->reqid = -77;
  pdu->errstat = 0;
  pdu->errindex = 0;
  pdu->community = static_cast<u_char*>(malloc(6));
  std::memcpy(pdu->community, "public", 6);
  pdu->community_len = 6;

  ::oid n1[] = {1, 3, 6, 1, 2, 1, 1, 1, 0};
  ::oid n2[] = {1, 3, 6, 1, 2, 1, 1, 3, 0};
  ::oid n3[] = {1, 3, 6, 1, 2, 1, 43, 11, 1, 1, 9, 1, 4};
  ::oid n4[] = {1, 3, 6, 1, 2, 1, 1, 2, 0};
  ::oid n5[] = {1, 3, 6, 1, 2, 1, 43, 10, 2, 1, 4, 1, 1};
  ::oid n6[] = {1, 3, 6, 1, 2, 1, 31, 1, 1, 1, 6, 2};
  ::oid n7[] = {1, 3, 6, 1, 2, 1, 4, 20, 1, 1, 127, 0, 0, 1};
  ::oid n8[] = {1, 3, 6, 1, 2, 1, 43, 11, 1, 1, 9, 1, 5};
  const char descr[] = "RICOH IM C3000 1.02 / RICOH Network Printer C model";
  long ticks = 123456789;
  long level = -3;
  ::oid object[] = {1, 3, 6, 1, 4, 1, 367, 1, 1};
  long counter = 3000000000L;
  struct counter64 c64 {};
  c64.high = 0x12;
  c64.low = 0x34567890;
  u_char ip[] = {127, 0, 0, 1};
  snmp_pdu_add_variable(pdu, n1, 9, ASN_OCTET_STR, descr, std::strlen(descr));
  snmp_pdu_add_variable(pdu, n2, 9, ASN_TIMETICKS, &ticks, sizeof(ticks));
  snmp_pdu_add_variable(pdu, n3, 13, ASN_INTEGER, &level, sizeof(level));
  snmp_pdu_add_variable(pdu, n4, 9, ASN_OBJECT_ID, object, sizeof(object));
  snmp_pdu_add_variable(pdu, n5, 13, ASN_COUNTER, &counter, sizeof(counter));
  snmp_pdu_add_variable(pdu, n6, 12, ASN_COUNTER64, &c64, sizeof(c64));
  snmp_pdu_add_variable(pdu, n7, 14, ASN_IPADDRESS, ip, 4);
  snmp_pdu_add_variable(pdu, n8, 13, SNMP_ENDOFMIBVIEW, nullptr, 0);

  std::size_t len = 4096, offset = 0;
  auto* buf = static_cast<u_char*>(malloc(len));
  ASSERT_EQ(snmp_build(&buf, &len, &offset, &sess, pdu), 0) << snmp_api_errstring(snmp_errno);
  // net-snmp's default (reverse) encoder leaves the message at the end of its buffer.
  std::span<const std::uint8_t> packet(buf + len - offset, offset);

  c::snmp_response r;
  ASSERT_FALSE(c::decode_response(packet, r));
  EXPECT_EQ(r.request_id, -77);
  EXPECT_EQ(r.community, "public");
  ASSERT_EQ(r.varbinds.size(), 8u);
  EXPECT_EQ(r.varbinds[0].val.bytes, descr);
  EXPECT_EQ(r.varbinds[1].val.type, c::value_type::timeticks);
  EXPECT_EQ(r.varbinds[1].val.number, 123456789u);
  EXPECT_EQ(r.varbinds[2].val.integer(), -3);
  EXPECT_EQ(r.varbinds[2].name, (c::oid{1, 3, 6, 1, 2, 1, 43, 11, 1, 1, 9, 1, 4}));
  EXPECT_EQ(r.varbinds[3].val.object, (c::oid{1, 3, 6, 1, 4, 1, 367, 1, 1}));
  EXPECT_EQ(r.varbinds[4].val.type, c::value_type::counter32);
  EXPECT_EQ(r.varbinds[4].val.number, 3000000000u);
  EXPECT_EQ(r.varbinds[5].val.type, c::value_type::counter64);
  EXPECT_EQ(r.varbinds[5].val.number, (0x12ull << 32) | 0x34567890ull);
  EXPECT_EQ(r.varbinds[6].val.bytes, std::string("\x7f\x00\x00\x01", 4));
  EXPECT_EQ(r.varbinds[7].val.type, c::value_type::end_of_mib_view);

  std::int32_t peeked = 0;
  EXPECT_FALSE(c::peek_request_id(packet, peeked));
  EXPECT_EQ(peeked, -77);
  free(buf);
  snmp_free_pdu(pdu);
}

}  // namespace
}  // namespace fleetpoll
