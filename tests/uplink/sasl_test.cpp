#include <gtest/gtest.h>

#include "fleetpoll/uplink/error.hpp"
#include "fleetpoll/uplink/sasl.hpp"

using namespace fleetpoll::uplink;

namespace {

TEST(Base64, RoundTripsAndMatchesRfc4648Vectors) {
  EXPECT_EQ(base64_encode(""), "");
  EXPECT_EQ(base64_encode("f"), "Zg==");
  EXPECT_EQ(base64_encode("fo"), "Zm8=");
  EXPECT_EQ(base64_encode("foo"), "Zm9v");
  EXPECT_EQ(base64_encode("foobar"), "Zm9vYmFy");
  EXPECT_EQ(*base64_decode("Zm9vYg=="), "foob");
  std::string all;
  for (int i = 0; i < 256; ++i) all += static_cast<char>(i);
  EXPECT_EQ(*base64_decode(base64_encode(all)), all);
}

TEST(Base64, RejectsMalformedInput) {
  EXPECT_FALSE(base64_decode("Zm9"));
  EXPECT_FALSE(base64_decode("Zm9v\n"));
  EXPECT_FALSE(base64_decode("Z=9v"));
  EXPECT_FALSE(base64_decode("Zm9v===="));
  EXPECT_FALSE(base64_decode("Zm$v"));
  EXPECT_FALSE(base64_decode("=AAA"));
}

// RFC 5802 §5: user "user", password "pencil".
TEST(Scram, Sha1MatchesRfc5802Example) {
  scram_client c(scram_hash::sha1, "user", "pencil", "fyko+d2lbbFgONRv9qkxdawL");
  EXPECT_EQ(c.client_first(), "n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL");
  std::string final_msg;
  ASSERT_FALSE(c.client_final(
      "r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096", final_msg));
  EXPECT_EQ(final_msg,
            "c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=");
  EXPECT_FALSE(c.verify_server_final("v=rmF9pqV8S7suAoZWja4dJRkFsKQ="));
  EXPECT_EQ(c.verify_server_final("v=AAAAAAAAAAAAAAAAAAAAAAAAAAA="),
            make_error_code(error::server_signature_mismatch));
}

// RFC 7677 §3: user "user", password "pencil".
TEST(Scram, Sha256MatchesRfc7677Example) {
  scram_client c(scram_hash::sha256, "user", "pencil", "rOprNGfwEbeRWgbNEkqO");
  std::string final_msg;
  ASSERT_FALSE(c.client_final(
      "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
      final_msg));
  EXPECT_EQ(final_msg,
            "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+"
            "Ute9ytag9zjfMHgsqmmiz7AndVQ=");
  EXPECT_FALSE(c.verify_server_final("v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="));
}

TEST(Scram, HostileServerFirstMessagesAreRefused) {
  auto attempt = [](const std::string& server_first) {
    scram_client c(scram_hash::sha1, "user", "pencil", "abc");
    std::string out;
    return c.client_final(server_first, out);
  };
  EXPECT_EQ(attempt("r=xyz123,s=QSXCR+Q6sek8bf92,i=4096"),
            make_error_code(error::sasl_malformed));  // nonce not ours
  EXPECT_EQ(attempt("r=abc,s=QSXCR+Q6sek8bf92,i=4096"),
            make_error_code(error::sasl_malformed));  // no server part
  EXPECT_EQ(attempt("r=abcd,s=QSXCR+Q6sek8bf92,i=1"),
            make_error_code(error::sasl_malformed));  // weak count
  EXPECT_EQ(attempt("r=abcd,s=QSXCR+Q6sek8bf92,i=999999999"),
            make_error_code(error::sasl_malformed));  // DoS count
  EXPECT_EQ(attempt("r=abcd,s=!!,i=4096"), make_error_code(error::sasl_malformed));
  EXPECT_EQ(attempt("m=ext,r=abcd,s=QSXCR+Q6sek8bf92,i=4096"),
            make_error_code(error::sasl_malformed));
  EXPECT_EQ(attempt("garbage"), make_error_code(error::sasl_malformed));
}

TEST(Scram, ServerErrorAndMissingSignatureAreFailures) {
  scram_client c(scram_hash::sha1, "user", "pencil", "fyko+d2lbbFgONRv9qkxdawL");
  EXPECT_EQ(c.verify_server_final("v=rmF9pqV8S7suAoZWja4dJRkFsKQ="),
            make_error_code(error::protocol_violation));
  std::string out;
  ASSERT_FALSE(c.client_final(
      "r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096", out));
  EXPECT_EQ(c.verify_server_final("e=invalid-proof"), make_error_code(error::auth_failed));
  EXPECT_EQ(c.verify_server_final("x=1"), make_error_code(error::sasl_malformed));
}

TEST(Scram, UsernameIsEscapedAndNonceIsRandom) {
  scram_client a(scram_hash::sha256, "a=b,c", "p");
  scram_client b(scram_hash::sha256, "a=b,c", "p");
  EXPECT_EQ(a.client_first().substr(0, 15), "n,,n=a=3Db=2Cc,");
  EXPECT_NE(a.client_first(), b.client_first());
  EXPECT_EQ(sasl_plain_message("u", "p"), std::string("\0u\0p", 4));
}

}  // namespace
