#include <gtest/gtest.h>

#include "change_records.hpp"
#include "fleetpoll/codecs/change_record.hpp"
#include "fleetpoll/uplink/batch_codec.hpp"
#include "fleetpoll/uplink/error.hpp"
#include "fleetpoll/uplink/sasl.hpp"
#include "fleetpoll/uplink/xml_stream.hpp"

using namespace fleetpoll::uplink;
using namespace fleetpoll::uplink::test;
using fleetpoll::schema::ChangeKind;

namespace {

aes_key key_of(std::uint32_t id, unsigned char fill) {
  aes_key k;
  k.id = id;
  k.bytes.fill(fill);
  return k;
}

std::vector<outbox_record> records(std::uint64_t first, std::size_t n) {
  std::vector<outbox_record> v;
  for (std::size_t i = 0; i < n; ++i) {
    std::uint64_t seq = first + i;
    v.push_back({seq, 1'700'000'000'000 + seq,
                 make_change_record(seq, seq % 7,
                                    i % 2 ? ChangeKind::counter_delta : ChangeKind::supply_level,
                                    1'700'000'000'000 + seq, seq)});
  }
  return v;
}

// Parses the <batch/> element text back into an element (as the receiver sees it).
element parse_element(const std::string& xml) {
  element out;
  xml_stream_parser p({nullptr, [&](element&& e) { out = std::move(e); }, nullptr, nullptr});
  std::string s =
      "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>" + xml;
  EXPECT_FALSE(p.feed(s));
  return out;
}

struct sealed_fixture {
  keyring keys;
  std::vector<outbox_record> in = records(101, 50);
  sealed_batch sealed;
  sealed_fixture() {
    keys.add(key_of(7, 0x11));
    EXPECT_FALSE(seal_batch(in, "acme-hq", *keys.current(), sealed, 1'700'000'060'000));
  }
};

TEST(BatchCodec, SealedBatchOpensToTheSameRecords) {
  sealed_fixture f;
  element e = parse_element(batch_element_xml(f.sealed));
  batch_envelope env;
  ASSERT_FALSE(parse_batch_envelope(e, env));
  EXPECT_EQ(env.site, "acme-hq");
  EXPECT_EQ(env.key_id, 7u);
  EXPECT_EQ(env.first_seq, 101u);
  EXPECT_EQ(env.last_seq, 150u);
  EXPECT_EQ(env.count, 50u);
  std::vector<outbox_record> out;
  ASSERT_FALSE(open_batch(env, e.text, f.keys, out));
  ASSERT_EQ(out.size(), f.in.size());
  for (std::size_t i = 0; i < out.size(); ++i) {
    EXPECT_EQ(out[i].seq, f.in[i].seq);
    EXPECT_EQ(out[i].created_ms, f.in[i].created_ms);
    EXPECT_EQ(out[i].bytes, f.in[i].bytes);
  }
  EXPECT_LT(f.sealed.compressed_bytes, f.sealed.plain_bytes);
}

TEST(BatchCodec, AgesBeyondFortyNineDaysSaturateAndNonConsecutiveRecordsAreRefused) {
  keyring keys;
  keys.add(key_of(1, 0x01));
  std::vector<outbox_record> in = records(1, 2);
  sealed_batch b;
  const std::uint64_t sealed_ms = in[0].created_ms + 60ull * 24 * 3600 * 1000;  // 60 days later
  ASSERT_FALSE(seal_batch(in, "s1", *keys.current(), b, sealed_ms));
  std::vector<outbox_record> out;
  ASSERT_FALSE(open_batch(b.envelope, b.payload, keys, out));
  EXPECT_EQ(out[0].created_ms, sealed_ms - 4294967295ull);
  in[1].seq = 5;
  EXPECT_EQ(seal_batch(in, "s1", *keys.current(), b), make_error_code(error::config_invalid));
}

TEST(BatchCodec, TwoSealsOfTheSameRecordsUseDifferentNonces) {
  sealed_fixture f;
  sealed_batch again;
  ASSERT_FALSE(seal_batch(f.in, "acme-hq", *f.keys.current(), again));
  EXPECT_NE(again.envelope.nonce, f.sealed.envelope.nonce);
  EXPECT_NE(again.payload, f.sealed.payload);
}

TEST(BatchCodec, TamperedCiphertextFailsTheTag) {
  sealed_fixture f;
  auto raw = *base64_decode(f.sealed.payload);
  raw[raw.size() / 2] = static_cast<char>(raw[raw.size() / 2] ^ 1);
  std::vector<outbox_record> out;
  EXPECT_EQ(open_batch(f.sealed.envelope, base64_encode(raw), f.keys, out),
            make_error_code(error::batch_bad_tag));
  EXPECT_TRUE(out.empty());
}

TEST(BatchCodec, AlteredEnvelopeFailsTheTag) {
  sealed_fixture f;
  std::vector<outbox_record> out;
  for (int field = 0; field < 4; ++field) {
    batch_envelope env = f.sealed.envelope;
    if (field == 0) env.site = "other-site";
    if (field == 1) env.first_seq += 1;
    if (field == 2) env.last_seq += 1;
    if (field == 3) env.nonce[0] ^= 1;
    EXPECT_EQ(open_batch(env, f.sealed.payload, f.keys, out), make_error_code(error::batch_bad_tag))
        << field;
  }
}

TEST(BatchCodec, UnknownKeyIdAndWrongKeyAreRejected) {
  sealed_fixture f;
  std::vector<outbox_record> out;
  keyring other;
  other.add(key_of(8, 0x11));
  EXPECT_EQ(open_batch(f.sealed.envelope, f.sealed.payload, other, out),
            make_error_code(error::batch_unknown_key));
  keyring wrong;
  wrong.add(key_of(7, 0x22));
  EXPECT_EQ(open_batch(f.sealed.envelope, f.sealed.payload, wrong, out),
            make_error_code(error::batch_bad_tag));
}

TEST(BatchCodec, RotationKeepsOldBatchesReadable) {
  keyring site;
  site.add(key_of(1, 0x01));
  sealed_batch old_batch;
  ASSERT_FALSE(seal_batch(records(1, 3), "s1", *site.current(), old_batch));
  site.add(key_of(2, 0x02));
  sealed_batch new_batch;
  ASSERT_FALSE(seal_batch(records(4, 3), "s1", *site.current(), new_batch));
  EXPECT_EQ(new_batch.envelope.key_id, 2u);
  std::vector<outbox_record> out;
  EXPECT_FALSE(open_batch(old_batch.envelope, old_batch.payload, site, out));
  EXPECT_FALSE(open_batch(new_batch.envelope, new_batch.payload, site, out));
}

TEST(BatchCodec, LimitsAreCheckedBeforeWork) {
  sealed_fixture f;
  std::vector<outbox_record> out;
  batch_limits tight;
  tight.max_payload_chars = 100;
  EXPECT_EQ(open_batch(f.sealed.envelope, f.sealed.payload, f.keys, out, tight),
            make_error_code(error::batch_too_large));
  tight = {};
  tight.max_plain_bytes = 1000;
  EXPECT_EQ(open_batch(f.sealed.envelope, f.sealed.payload, f.keys, out, tight),
            make_error_code(error::batch_too_large));
  tight = {};
  tight.max_records = 10;
  EXPECT_EQ(open_batch(f.sealed.envelope, f.sealed.payload, f.keys, out, tight),
            make_error_code(error::batch_too_large));
}

TEST(BatchCodec, RecordsThatAreNotChangeRecordsAreRejectedEvenWhenAuthentic) {
  keyring keys;
  keys.add(key_of(3, 0x33));
  std::vector<outbox_record> bad{{1, 1, "definitely not a flatbuffer"}};
  sealed_batch b;
  ASSERT_FALSE(seal_batch(bad, "s1", *keys.current(), b));
  std::vector<outbox_record> out;
  EXPECT_EQ(open_batch(b.envelope, b.payload, keys, out), make_error_code(error::batch_bad_record));
}

TEST(BatchCodec, MalformedEnvelopesAreRejected) {
  sealed_fixture f;
  std::string xml = batch_element_xml(f.sealed);
  auto with = [&](const std::string& from, const std::string& to) {
    std::string s = xml;
    s.replace(s.find(from), from.size(), to);
    batch_envelope env;
    return parse_batch_envelope(parse_element(s), env);
  };
  EXPECT_EQ(with("first='101'", "first='0'"), make_error_code(error::batch_malformed));
  EXPECT_EQ(with("first='101'", "first='200'"), make_error_code(error::batch_malformed));
  EXPECT_EQ(with("first='101'", "first='-1'"), make_error_code(error::batch_malformed));
  EXPECT_EQ(with("n='50'", "n='51'"), make_error_code(error::batch_malformed));
  EXPECT_EQ(with("site='acme-hq'", "site='a b'"), make_error_code(error::batch_malformed));
  EXPECT_EQ(with("key='7'", "key='07'"), make_error_code(error::batch_malformed));
  EXPECT_EQ(with("iv='", "iv='AAAA"), make_error_code(error::batch_malformed));
}

TEST(BatchCodec, PayloadGarbageNeverCrashes) {
  sealed_fixture f;
  std::vector<outbox_record> out;
  EXPECT_EQ(open_batch(f.sealed.envelope, "", f.keys, out),
            make_error_code(error::batch_malformed));
  EXPECT_EQ(open_batch(f.sealed.envelope, "!!!!", f.keys, out),
            make_error_code(error::batch_malformed));
  EXPECT_EQ(open_batch(f.sealed.envelope, base64_encode(std::string(100, 'x')), f.keys, out),
            make_error_code(error::batch_bad_tag));
}

}  // namespace
