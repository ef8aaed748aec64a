#include <gtest/gtest.h>
#include <sys/stat.h>

#include "fleetpoll/uplink/config.hpp"
#include "fleetpoll/uplink/error.hpp"
#include "fleetpoll/uplink/keys.hpp"
#include "prosody.hpp"

using namespace fleetpoll::uplink;
using namespace fleetpoll::uplink::test;

namespace {

class KeysTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = make_temp_dir("fleetpoll-keys"); }
  void TearDown() override { remove_tree(dir_); }
  std::string dir_;
};

TEST_F(KeysTest, OwnerOnlyKeyFileLoadsAndLastKeyIsCurrent) {
  std::string path = dir_ + "/k";
  write_file(path, "# comment\n\n" + generate_key_line(1) + generate_key_line(2), 0600);
  keyring k;
  ASSERT_FALSE(load_key_file(path, k));
  EXPECT_EQ(k.size(), 2u);
  ASSERT_NE(k.current(), nullptr);
  EXPECT_EQ(k.current()->id, 2u);
  EXPECT_NE(k.find(1), nullptr);
  EXPECT_NE(k.find(1)->bytes, k.find(2)->bytes);
}

TEST_F(KeysTest, KeyFileReadableByGroupOrOthersIsRefused) {
  std::string path = dir_ + "/k";
  for (unsigned mode : {0644u, 0640u, 0604u, 0660u, 0602u}) {
    write_file(path, generate_key_line(1), mode);
    keyring k;
    EXPECT_EQ(load_key_file(path, k), make_error_code(error::key_file_permissions))
        << std::oct << mode;
    EXPECT_EQ(k.size(), 0u);
  }
  write_file(path, generate_key_line(1), 0400);
  keyring k;
  EXPECT_FALSE(load_key_file(path, k));
}

TEST_F(KeysTest, BadKeyLinesAreRefused) {
  std::string path = dir_ + "/k";
  for (const char* text :
       {"1 abc\n",
        "0 "
        "0000000000000000000000000000000000000000000000000000000000000000\n",
        "x 0000000000000000000000000000000000000000000000000000000000000000\n",
        "1 000000000000000000000000000000000000000000000000000000000000000g\n", "1\n"}) {
    write_file(path, text, 0600);
    keyring k;
    EXPECT_EQ(load_key_file(path, k), make_error_code(error::key_file_syntax)) << text;
  }
  write_file(path, "# nothing\n", 0600);
  keyring k;
  EXPECT_EQ(load_key_file(path, k), make_error_code(error::key_file_empty));
  EXPECT_TRUE(load_key_file(dir_ + "/missing", k));
}

TEST_F(KeysTest, ReceiverConfigLoadsWithRelativePathsAndRefusesOpenPasswordFile) {
  write_file(dir_ + "/acme.keys", generate_key_line(5), 0600);
  write_file(dir_ + "/provider.pass", "s3cret\n", 0600);
  write_file(dir_ + "/provider.toml",
             "[xmpp]\njid = \"provider@localhost\"\npassword_file = \"provider.pass\"\nhost = "
             "\"127.0.0.1\"\n"
             "port = 15222\ndirect_tls_port = 0\nca_file = \"ca.pem\"\n"
             "[output]\npath = \"out.jsonl\"\nstate = \"ledger\"\n"
             "[[site]]\nid = \"acme-hq\"\njid = \"acme@localhost\"\nkey_file = \"acme.keys\"\n",
             0644);
  receiver_options r;
  std::string why;
  ASSERT_FALSE(load_receiver_config(dir_ + "/provider.toml", r, why)) << why;
  EXPECT_EQ(r.xmpp.password, "s3cret");
  EXPECT_EQ(r.xmpp.port, 15222);
  EXPECT_EQ(r.xmpp.direct_tls_port, 0);
  EXPECT_EQ(r.xmpp.resource, "receiver");
  EXPECT_EQ(r.xmpp.ca_file, dir_ + "/ca.pem");
  EXPECT_EQ(r.output, dir_ + "/out.jsonl");
  ASSERT_EQ(r.sites.size(), 1u);
  EXPECT_EQ(r.sites[0].keys.current()->id, 5u);

  ::chmod((dir_ + "/provider.pass").c_str(), 0644);
  EXPECT_EQ(load_receiver_config(dir_ + "/provider.toml", r, why),
            make_error_code(error::key_file_permissions));
  EXPECT_NE(why.find("password_file"), std::string::npos);
}

TEST_F(KeysTest, ConfigErrorsNameTheKeyAtFault) {
  write_file(dir_ + "/bad.toml", "[xmpp]\njid = \"nobody\"\npassword = \"x\"\n", 0600);
  receiver_options r;
  std::string why;
  EXPECT_EQ(load_receiver_config(dir_ + "/bad.toml", r, why),
            make_error_code(error::config_invalid));
  EXPECT_NE(why.find("jid"), std::string::npos);
  write_file(dir_ + "/bad2.toml", "[xmpp\n", 0600);
  EXPECT_EQ(load_receiver_config(dir_ + "/bad2.toml", r, why),
            make_error_code(error::config_invalid));
  sender_options s;
  keyring k;
  write_file(dir_ + "/s.toml",
             "[xmpp]\njid = \"site@localhost\"\npassword = \"x\"\n[uplink]\nreceiver = "
             "\"provider@localhost\"\n"
             "site = \"acme\"\npool_size = 0\nkey_file = \"k\"\n",
             0600);
  EXPECT_EQ(load_sender_config(dir_ + "/s.toml", s, k, why),
            make_error_code(error::config_invalid));
  EXPECT_NE(why.find("pool_size"), std::string::npos) << why;
  // A misspelt key is named too, never ignored.
  write_file(dir_ + "/s2.toml",
             "[xmpp]\njid = \"site@localhost\"\npassword = \"x\"\n[uplink]\nreceiver = "
             "\"provider@localhost\"\nsite = \"acme\"\nmax_dealy_ms = 5\nkey_file = \"k\"\n",
             0600);
  EXPECT_EQ(load_sender_config(dir_ + "/s2.toml", s, k, why),
            make_error_code(error::config_invalid));
  EXPECT_NE(why.find("max_dealy_ms"), std::string::npos) << why;
}

}  // namespace
