// Login paths against a real prosody on loopback: STARTTLS + SCRAM, wrong password, unknown CA,
// host-name mismatch, plaintext never used, direct-TLS fallback, HTTP CONNECT proxy.
#include <gtest/gtest.h>

#include <atomic>

#include "connect_proxy.hpp"
#include "fleetpoll/uplink/error.hpp"
#include "fleetpoll/uplink/xmpp_connection.hpp"
#include "io_thread.hpp"
#include "uplink_env.hpp"

using namespace fleetpoll::uplink;
using namespace fleetpoll::uplink::test;
using namespace std::chrono_literals;

namespace {

class LoginTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    env_ = new uplink_env();
    setup_error_ = env_->setup();
  }
  static void TearDownTestSuite() {
    delete env_;
    env_ = nullptr;
  }
  void SetUp() override { ASSERT_EQ(setup_error_, "") << "prosody harness failed"; }

  // One login attempt (no retry); returns once it is ready or has failed.
  struct attempt {
    std::atomic<bool> ready{false};
    std::atomic<bool> down{false};
    std::error_code error;
    std::unique_ptr<xmpp_connection> conn;
  };
  std::unique_ptr<attempt> try_login(io_thread& io, xmpp_options opts) {
    auto a = std::make_unique<attempt>();
    connection_events ev;
    ev.on_ready = [p = a.get()](bool) { p->ready = true; };
    ev.on_down = [p = a.get()](std::error_code ec) {
      p->error = ec;
      p->down = true;
    };
    a->conn =
        std::make_unique<xmpp_connection>(io.io.get_executor(), std::move(opts), std::move(ev));
    boost::asio::post(io.io, [p = a.get()] { p->conn->start(false); });
    wait_until([&] { return a->ready || a->down; }, 20s);
    return a;
  }
  void finish(io_thread& io, attempt& a) {
    boost::asio::post(io.io, [&a] { a.conn->stop(); });
    io.stop();
  }

  static uplink_env* env_;
  static std::string setup_error_;
};
uplink_env* LoginTest::env_ = nullptr;
std::string LoginTest::setup_error_;

TEST_F(LoginTest, StartTlsWithScramLogsInAndBindsTheResource) {
  io_thread io;
  auto opts = env_->account("site", env_->site_password());
  opts.resource = "login-test";
  auto a = try_login(io, opts);
  EXPECT_TRUE(a->ready) << a->error.message();
  std::string jid;
  bool direct = true;
  boost::asio::post(io.io, [&] {
    jid = a->conn->full_jid();
    direct = a->conn->direct_tls();
  });
  wait_until([&] { return !jid.empty(); }, 2s);
  EXPECT_EQ(jid, "site@localhost/login-test");
  EXPECT_FALSE(direct);
  finish(io, *a);
}

TEST_F(LoginTest, WrongPasswordFailsWithAuthFailed) {
  io_thread io;
  auto a = try_login(io, env_->account("site", "not-the-password"));
  EXPECT_FALSE(a->ready);
  EXPECT_TRUE(a->down);
  EXPECT_EQ(a->error, make_error_code(error::auth_failed)) << a->error.message();
  EXPECT_EQ(classify(a->error), failure_kind::auth);
  finish(io, *a);
}

TEST_F(LoginTest, ServerCertificateFromUnknownCaIsRefused) {
  io_thread io;
  auto opts = env_->account("site", env_->site_password());
  opts.ca_file = make_unrelated_ca(env_->dir());
  auto a = try_login(io, opts);
  EXPECT_FALSE(a->ready);
  EXPECT_TRUE(a->down);
  EXPECT_EQ(classify(a->error), failure_kind::tls) << a->error.message();
  finish(io, *a);
}

TEST_F(LoginTest, CertificateForAnotherHostNameIsRefused) {
  io_thread io;
  auto opts = env_->account("site", env_->site_password());
  opts.tls_server_name = "printers.example.com";  // the certificate names localhost only
  auto a = try_login(io, opts);
  EXPECT_FALSE(a->ready);
  EXPECT_EQ(classify(a->error), failure_kind::tls) << a->error.message();
  finish(io, *a);
}

TEST_F(LoginTest, DirectTlsFallbackWhenStartTlsPortIsClosed) {
  io_thread io;
  auto opts = env_->account("site", env_->site_password());
  opts.port = free_tcp_port();  // nothing listens there
  auto a = try_login(io, opts);
  ASSERT_TRUE(a->ready) << a->error.message();
  bool direct = false;
  std::atomic<bool> got{false};
  boost::asio::post(io.io, [&] {
    direct = a->conn->direct_tls();
    got = true;
  });
  wait_until([&] { return got.load(); }, 2s);
  EXPECT_TRUE(direct);
  finish(io, *a);
}

TEST_F(LoginTest, ProxyPathLogsInThroughHttpConnectAndNothingSecretCrossesInClear) {
  connect_proxy proxy;
  io_thread io;
  auto opts = env_->account("site", env_->site_password());
  opts.proxy = proxy.address();
  auto a = try_login(io, opts);
  ASSERT_TRUE(a->ready) << a->error.message();
  finish(io, *a);
  proxy.stop();
  ASSERT_EQ(proxy.tunnels(), 1u);
  ASSERT_EQ(proxy.requests().size(), 1u);
  EXPECT_EQ(proxy.requests()[0],
            "CONNECT 127.0.0.1:" + std::to_string(env_->prosody().port()) + " HTTP/1.1");
  EXPECT_GT(proxy.bytes_up(), 500u);
  EXPECT_GT(proxy.bytes_down(), 500u);
  // Everything the client sent, as seen on the wire: the stream header and <starttls/> are the
  // only clear text; the password, the SASL exchange and the stanzas are inside TLS.
  std::string wire = proxy.client_bytes();
  EXPECT_NE(wire.find("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>"), std::string::npos);
  EXPECT_EQ(wire.find(env_->site_password()), std::string::npos);
  EXPECT_EQ(wire.find("<auth"), std::string::npos);
  EXPECT_EQ(wire.find("SCRAM"), std::string::npos);
  EXPECT_EQ(wire.find("<iq"), std::string::npos);
  // After <starttls/>, the next client byte opens a TLS handshake record (0x16).
  auto pos = wire.find("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>");
  std::size_t after =
      pos + std::string("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>").size();
  ASSERT_LT(after, wire.size());
  EXPECT_EQ(static_cast<unsigned char>(wire[after]), 0x16);
}

TEST_F(LoginTest, ProxyRefusingTheTunnelIsReportedAsProxyFailure) {
  connect_proxy proxy;
  io_thread io;
  auto opts = env_->account("site", env_->site_password());
  opts.proxy = proxy.address();
  opts.port = free_tcp_port();  // the proxy cannot reach it: 502
  opts.direct_tls_port = 0;
  auto a = try_login(io, opts);
  EXPECT_FALSE(a->ready);
  EXPECT_EQ(a->error, make_error_code(error::proxy_refused)) << a->error.message();
  finish(io, *a);
}

// A server that offers only SASL PLAIN (inside TLS): refused unless allow_plain, then used.
TEST(PlainLogin, PlainIsUsedOnlyWhenConfiguredAndOnlyInsideTls) {
  prosody_options po;
  po.plain_only = true;
  uplink_env env(po);
  ASSERT_EQ(env.setup(), "");
  auto attempt_with = [&](bool allow_plain, std::error_code& error) {
    io_thread io;
    std::atomic<bool> ready{false}, down{false};
    connection_events ev;
    ev.on_ready = [&](bool) { ready = true; };
    ev.on_down = [&](std::error_code ec) {
      error = ec;
      down = true;
    };
    auto opts = env.account("site", env.site_password());
    opts.allow_plain = allow_plain;
    xmpp_connection conn(io.io.get_executor(), opts, ev);
    boost::asio::post(io.io, [&] { conn.start(false); });
    wait_until([&] { return ready || down; }, 20s);
    boost::asio::post(io.io, [&] { conn.stop(); });
    io.stop();
    return ready.load();
  };
  std::error_code error;
  EXPECT_FALSE(attempt_with(false, error));
  EXPECT_EQ(error, make_error_code(error::no_usable_mechanism)) << error.message();
  EXPECT_TRUE(attempt_with(true, error)) << error.message();
}

}  // namespace
