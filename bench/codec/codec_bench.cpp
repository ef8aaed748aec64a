// Codec benchmark: fleetpoll's encode/decode, and net-snmp's own message builder/parser on the
// same messages in the same run (the reference for "what a net-snmp session would spend").
//
//   build/bench/codec/codec_bench [--benchmark_out=FILE --benchmark_out_format=json]
//
// The 20-varbind reply is a typical Printer-MIB GETBULK answer: supply descriptions, levels and
// capacities of a colour printer.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "fleetpoll/codecs/snmp_codec.hpp"

// clang-format off
#include <net-snmp/net-snmp-config.h>
#include <net-snmp/net-snmp-includes.h>
// clang-format on
#undef non_repeaters
#undef max_repetitions

namespace {

namespace c = fleetpoll::codecs;

const std::vector<c::oid>& bulk_columns() {
  static const std::vector<c::oid> cols{
      {1, 3, 6, 1, 2, 1, 43, 11, 1, 1, 5}, {1, 3, 6, 1, 2, 1, 43, 11, 1, 1, 6},
      {1, 3, 6, 1, 2, 1, 43, 11, 1, 1, 8}, {1, 3, 6, 1, 2, 1, 43, 11, 1, 1, 9},
      {1, 3, 6, 1, 2, 1, 43, 8, 2, 1, 9},  {1, 3, 6, 1, 2, 1, 43, 8, 2, 1, 10}};
  return cols;
}

// A 20-varbind Response built by net-snmp (reverse encoder), as printers' agents send them.
std::vector<std::uint8_t> reply_20() {
  netsnmp_session sess;
  snmp_sess_init(&sess);
  sess.version = SNMP_VERSION_2c;
  netsnmp_pdu* pdu = snmp_pdu_create(SNMP_MSG_RESPONSE);
  pdu->version = SNMP_VERSION_2c;
  pdu->reqid = 123456;
  pdu->community = static_cast<u_char*>(malloc(6));
  std::memcpy(pdu->community, "public", 6);
  pdu->community_len = 6;
  const char* names[] = {"Black Toner Cartridge HP CF410A", "Cyan Toner Cartridge HP CF411A",
                         "Magenta Toner Cartridge HP CF413A", "Yellow Toner Cartridge HP CF412A"};
  for (::oid row = 1; row <= 4; ++row) {
    ::oid type[] = {1, 3, 6, 1, 2, 1, 43, 11, 1, 1, 5, 1, row};
    ::oid descr[] = {1, 3, 6, 1, 2, 1, 43, 11, 1, 1, 6, 1, row};
    ::oid max[] = {1, 3, 6, 1, 2, 1, 43, 11, 1, 1, 8, 1, row};
    ::oid level[] = {1, 3, 6, 1, 2, 1, 43, 11, 1, 1, 9, 1, row};
    ::oid unit[] = {1, 3, 6, 1, 2, 1, 43, 11, 1, 1, 7, 1, row};
    long t = 21, m = 100, l = 17 * static_cast<long>(row), u = 19;
    snmp_pdu_add_variable(pdu, type, 13, ASN_INTEGER, &t, sizeof(t));
    snmp_pdu_add_variable(pdu, descr, 13, ASN_OCTET_STR, names[row - 1],
                          std::strlen(names[row - 1]));
    snmp_pdu_add_variable(pdu, max, 13, ASN_INTEGER, &m, sizeof(m));
    snmp_pdu_add_variable(pdu, level, 13, ASN_INTEGER, &l, sizeof(l));
    snmp_pdu_add_variable(pdu, unit, 13, ASN_INTEGER, &u, sizeof(u));
  }
  std::size_t len = 4096, offset = 0;
  auto* buf = static_cast<u_char*>(malloc(len));
  if (snmp_build(&buf, &len, &offset, &sess, pdu) != 0) std::abort();
  std::vector<std::uint8_t> out(buf + len - offset, buf + len);
  free(buf);
  snmp_free_pdu(pdu);
  return out;
}

void encode_loop(benchmark::State& state, c::snmp_request req) {
  std::vector<std::uint8_t> buf(1500);
  for (auto _ : state) {
    std::size_t n = 0;
    req.request_id++;
    if (c::encode_request(req, buf, n)) state.SkipWithError("encode failed");
    benchmark::DoNotOptimize(buf.data());
  }
}

void BM_EncodeGet(benchmark::State& state) {
  static const std::vector<c::oid> names{{1, 3, 6, 1, 2, 1, 1, 1, 0}};
  c::snmp_request req;
  req.names = names;
  encode_loop(state, req);
}
BENCHMARK(BM_EncodeGet);

void BM_EncodeGetBulk6Columns(benchmark::State& state) {
  c::snmp_request req;
  req.type = c::pdu_type::get_bulk;
  req.max_repetitions = 10;
  req.names = bulk_columns();
  encode_loop(state, req);
}
BENCHMARK(BM_EncodeGetBulk6Columns);

void BM_NetSnmpBuildGetBulk6Columns(benchmark::State& state) {
  netsnmp_session sess;
  snmp_sess_init(&sess);
  sess.version = SNMP_VERSION_2c;
  std::vector<std::uint8_t> out(1500);
  for (auto _ : state) {
    netsnmp_pdu* pdu = snmp_pdu_create(SNMP_MSG_GETBULK);
    pdu->version = SNMP_VERSION_2c;
    pdu->community = static_cast<u_char*>(malloc(6));
    std::memcpy(pdu->community, "public", 6);
    pdu->community_len = 6;
    pdu->errstat = 0;    // non-repeaters
    pdu->errindex = 10;  // max-repetitions
    for (const auto& col : bulk_columns()) {
      ::oid arcs[16];
      for (std::size_t i = 0; i < col.size(); ++i) arcs[i] = col[i];
      snmp_add_null_var(pdu, arcs, col.size());
    }
    std::size_t len = 1500, offset = 0;
    auto* buf = static_cast<u_char*>(malloc(len));
    if (snmp_build(&buf, &len, &offset, &sess, pdu) != 0)
      state.SkipWithError(snmp_api_errstring(snmp_errno));
    std::memcpy(out.data(), buf + len - offset, offset);
    free(buf);
    snmp_free_pdu(pdu);
  }
}
BENCHMARK(BM_NetSnmpBuildGetBulk6Columns);

void BM_Decode20Varbinds(benchmark::State& state) {
  const auto packet = reply_20();
  c::snmp_response r;
  for (auto _ : state) {
    if (c::decode_response(packet, r)) state.SkipWithError("decode failed");
    benchmark::DoNotOptimize(r.varbinds.data());
  }
  state.counters["bytes"] = static_cast<double>(packet.size());
}
BENCHMARK(BM_Decode20Varbinds);

void BM_NetSnmpParse20Varbinds(benchmark::State& state) {
  auto packet = reply_20();
  netsnmp_session sess;
  snmp_sess_init(&sess);
  for (auto _ : state) {
    sess.version = SNMP_DEFAULT_VERSION;
    auto* pdu = static_cast<netsnmp_pdu*>(calloc(1, sizeof(netsnmp_pdu)));
    if (snmp_parse(nullptr, &sess, pdu, packet.data(), packet.size()) != 0)
      state.SkipWithError("snmp_parse failed");
    benchmark::DoNotOptimize(pdu->variables);
    snmp_free_pdu(pdu);
  }
}
BENCHMARK(BM_NetSnmpParse20Varbinds);

void BM_PeekRequestId(benchmark::State& state) {
  const auto packet = reply_20();
  for (auto _ : state) {
    std::int32_t id = 0;
    if (c::peek_request_id(packet, id)) state.SkipWithError("peek failed");
    benchmark::DoNotOptimize(id);
  }
}
BENCHMARK(BM_PeekRequestId);

}  // namespace

BENCHMARK_MAIN();
