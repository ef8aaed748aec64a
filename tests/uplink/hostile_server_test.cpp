// Hostile XMPP servers: a fake server socket in the test answers the client's stream header
// with a scripted byte string. The client must fail with the right error, never crash, and never
// send anything beyond its stream header (no <auth>, no plaintext credentials).
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include "fleetpoll/uplink/error.hpp"
#include "fleetpoll/uplink/xmpp_connection.hpp"
#include "io_thread.hpp"

using namespace fleetpoll::uplink;
using namespace fleetpoll::uplink::test;
using namespace std::chrono_literals;

namespace {

constexpr const char* header =
    "<?xml version='1.0'?><stream:stream xmlns='jabber:client' "
    "xmlns:stream='http://etherx.jabber.org/streams' id='s1' from='localhost' version='1.0'>";

// Accepts one connection, waits for the client's stream header, sends `script`, then records
// what the client sends until it closes (bounded at 10 s).
class fake_server {
 public:
  explicit fake_server(std::string script) : script_(std::move(script)) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
    socklen_t len = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    ::listen(fd_, 1);
    thread_ = std::thread([this] { serve(); });
  }
  ~fake_server() {
    if (thread_.joinable()) thread_.join();
    ::close(fd_);
  }
  std::uint16_t port() const { return port_; }
  std::string received() {
    if (thread_.joinable()) thread_.join();
    return received_;
  }

 private:
  void serve() {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, 10'000) <= 0) return;
    int c = ::accept(fd_, nullptr, nullptr);
    if (c < 0) return;
    auto until = std::chrono::steady_clock::now() + 10s;
    bool sent = false;
    char buf[4096];
    while (std::chrono::steady_clock::now() < until) {
      pollfd q{c, POLLIN, 0};
      if (::poll(&q, 1, 100) <= 0) continue;
      ssize_t n = ::recv(c, buf, sizeof buf, 0);
      if (n <= 0) break;
      received_.append(buf, static_cast<std::size_t>(n));
      if (!sent && received_.find("<stream:stream") != std::string::npos) {
        sent = true;
        std::size_t off = 0;
        while (off < script_.size()) {
          ssize_t k = ::send(c, script_.data() + off, script_.size() - off, MSG_NOSIGNAL);
          if (k <= 0) break;
          off += static_cast<std::size_t>(k);
        }
      }
    }
    ::close(c);
  }
  std::string script_;
  int fd_ = -1;
  std::uint16_t port_ = 0;
  std::thread thread_;
  std::string received_;
};

struct outcome {
  std::error_code error;
  bool ready = false;
  std::string client_sent;
};

outcome run_against(const std::string& script, std::size_t max_stanza = 256 * 1024) {
  fake_server server(script);
  io_thread io;
  xmpp_options o;
  o.jid = "site@localhost";
  o.password = "secret-password-never-sent";
  o.host = "127.0.0.1";
  o.port = server.port();
  o.direct_tls_port = 0;
  o.allow_plain = true;  // even so, PLAIN is never used outside TLS
  o.login_timeout = 2s;
  o.limits.max_stanza_bytes = max_stanza;
  std::atomic<bool> done{false};
  outcome out;
  connection_events ev;
  ev.on_ready = [&](bool) {
    out.ready = true;
    done = true;
  };
  ev.on_down = [&](std::error_code ec) {
    out.error = ec;
    done = true;
  };
  xmpp_connection conn(io.io.get_executor(), o, ev);
  boost::asio::post(io.io, [&] { conn.start(false); });
  wait_until([&] { return done.load(); }, 15s);
  boost::asio::post(io.io, [&] { conn.stop(); });
  io.stop();
  out.client_sent = server.received();
  return out;
}

void expect_nothing_secret_sent(const outcome& o) {
  EXPECT_EQ(o.client_sent.find("<auth"), std::string::npos);
  EXPECT_EQ(o.client_sent.find("secret-password"), std::string::npos);
}

TEST(HostileServer, NoStartTlsOfferedIsRefusedAndPlaintextNeverUsed) {
  auto o = run_against(std::string(header) +
                       "<stream:features><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>"
                       "<mechanism>PLAIN</mechanism></mechanisms></stream:features>");
  EXPECT_FALSE(o.ready);
  EXPECT_EQ(o.error, make_error_code(error::tls_unavailable)) << o.error.message();
  expect_nothing_secret_sent(o);
}

TEST(HostileServer, MalformedXmlFailsTheSession) {
  auto o = run_against(
      std::string(header) +
      "<stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/></stream:featur>");
  EXPECT_EQ(o.error, make_error_code(error::xml_malformed)) << o.error.message();
  expect_nothing_secret_sent(o);
}

TEST(HostileServer, DoctypeAndEntityExpansionAreForbidden) {
  auto o = run_against(
      "<?xml version='1.0'?><!DOCTYPE lolz [<!ENTITY lol 'lol'><!ENTITY lol2 "
      "'&lol;&lol;&lol;&lol;'>]>" +
      std::string(header + std::string("<?xml version='1.0'?>").size()));
  EXPECT_EQ(o.error, make_error_code(error::xml_forbidden)) << o.error.message();
  expect_nothing_secret_sent(o);
}

TEST(HostileServer, OversizedStanzaIsRefusedBeforeItCompletes) {
  std::string big(300 * 1024, 'A');
  auto o = run_against(
      std::string(header) + "<stream:features><x>" + big + "</x></stream:features>", 64 * 1024);
  EXPECT_EQ(o.error, make_error_code(error::xml_stanza_too_large)) << o.error.message();
  expect_nothing_secret_sent(o);
}

TEST(HostileServer, TextBetweenStanzasIsRefused) {
  auto o = run_against(std::string(header) + "  \n hello");
  EXPECT_EQ(o.error, make_error_code(error::xml_text_outside_stanza)) << o.error.message();
}

TEST(HostileServer, WrongRootElementIsRefused) {
  auto o = run_against("<?xml version='1.0'?><html><body/></html>");
  EXPECT_EQ(o.error, make_error_code(error::xml_bad_stream_header)) << o.error.message();
}

TEST(HostileServer, StreamErrorEndsTheSession) {
  auto o = run_against(
      std::string(header) +
      "<stream:error><host-unknown xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error>");
  EXPECT_EQ(o.error, make_error_code(error::stream_error)) << o.error.message();
}

TEST(HostileServer, PlaintextAfterProceedFailsTheTlsHandshake) {
  auto o = run_against(
      std::string(header) +
      "<stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/></stream:features>"
      "<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>");
  // The fake server answers the ClientHello with nothing TLS can accept (it never speaks TLS):
  // the handshake fails or times out; either way no credentials leave in clear.
  EXPECT_FALSE(o.ready);
  EXPECT_TRUE(o.error);
  expect_nothing_secret_sent(o);
}

}  // namespace
