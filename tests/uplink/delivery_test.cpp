// End-to-end delivery through a real prosody: sender pool -> prosody -> receiver, with faults
// (prosody restarted mid-stream, receiver offline for a while, SIGKILL of the sending process)
// and hostile batches. After each, the receiver must hold every change record exactly once, in
// sequence order, identical to what the outbox holds.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <prometheus/registry.h>

#include "connect_proxy.hpp"
#include "delivery_check.hpp"
#include "fake_outbox.hpp"
#include "fleetpoll/uplink/batch_codec.hpp"
#include "fleetpoll/uplink/error.hpp"
#include "fleetpoll/uplink/uplink_metrics.hpp"
#include "io_thread.hpp"
#include "uplink_env.hpp"

using namespace fleetpoll::uplink;
using namespace fleetpoll::uplink::test;
using namespace std::chrono_literals;

namespace {

// One HTTP/1.0 GET on loopback; the whole answer (headers and body), or "" on failure.
std::string http_get(std::uint16_t port, const std::string& path) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  std::string out;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) {
    std::string req = "GET " + path + " HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
    if (::send(fd, req.data(), req.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(req.size())) {
      char buf[4096];
      timeval tv{5, 0};
      ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
      for (ssize_t n; (n = ::recv(fd, buf, sizeof buf, 0)) > 0;)
        out.append(buf, static_cast<std::size_t>(n));
    }
  }
  ::close(fd);
  return out;
}

class DeliveryTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    env_ = new uplink_env();
    setup_error_ = env_->setup();
    intruder_password_ = "intruder-" + random_hex(6);
    if (setup_error_.empty())
      setup_error_ = env_->prosody().register_user("intruder", intruder_password_);
  }
  static void TearDownTestSuite() {
    delete env_;
    env_ = nullptr;
  }
  void SetUp() override {
    ASSERT_EQ(setup_error_, "") << "prosody harness failed";
    // Each test uses its own site id and key so that the receivers' states do not mix.
    ++test_no_;
    out_ = env_->dir() + "/received-" + std::to_string(test_no_) + ".jsonl";
  }
  receiver_options receiver_opts() const { return env_->receiver_opts(out_); }

  static void append(fake_outbox& o, std::uint64_t n) {
    for (std::uint64_t i = 0; i < n; ++i) o.append(test_record(o.last_seq() + 1));
  }

  static uplink_env* env_;
  static std::string setup_error_;
  static std::string intruder_password_;
  static int test_no_;
  std::string out_;
};
uplink_env* DeliveryTest::env_ = nullptr;
std::string DeliveryTest::setup_error_;
std::string DeliveryTest::intruder_password_;
int DeliveryTest::test_no_ = 0;

TEST_F(DeliveryTest, EveryRecordArrivesOnceInOrderOverBothPoolConnections) {
  io_thread recv_io, send_io;
  receiver rcv(recv_io.io, receiver_opts());
  ASSERT_FALSE(rcv.start());
  fake_outbox outbox;
  prometheus::Registry registry;
  uplink_metrics metrics(registry);
  auto opts = env_->sender_opts();
  opts.audit_path = env_->dir() + "/audit-" + std::to_string(test_no_) + ".jsonl";
  opts.max_batch_bytes = 8 * 1024;  // many batches, so both connections carry some
  sender snd(send_io.io, outbox, env_->keys(), opts, &metrics);
  ASSERT_FALSE(snd.start());
  for (int round = 0; round < 10; ++round) append(outbox, 300);
  ASSERT_TRUE(wait_until([&] { return outbox.depth() == 0; }, 60s)) << "depth " << outbox.depth();
  snd.stop();
  rcv.stop();
  EXPECT_EQ(compare_delivery(outbox.all(), read_received(out_), "acme-hq"), "");
  EXPECT_EQ(rcv.counters().records_written, 3000u);
  EXPECT_EQ(metrics.records_acknowledged().Value(), 3000.0);
  EXPECT_GE(metrics.batches_acknowledged().Value(), 20.0);
  EXPECT_EQ(metrics.connections(connection_state::ready).Value(), 2.0);
  EXPECT_GT(metrics.delivery_latency().Collect().histogram.sample_count, 0u);
  // The audit log names every record once and shows batches on both connections.
  std::string audit = read_file(opts.audit_path);
  std::size_t records = 0;
  for (std::size_t p = audit.find("\"event\":\"record\""); p != std::string::npos;
       p = audit.find("\"event\":\"record\"", p + 1))
    ++records;
  EXPECT_EQ(records, 3000u);
  EXPECT_NE(audit.find("\"connection\":1"), std::string::npos);
  EXPECT_NE(audit.find("\"connection\":2"), std::string::npos);
  EXPECT_NE(audit.find("\"event\":\"acknowledged\""), std::string::npos);
}

TEST_F(DeliveryTest, ProsodyRestartMidStreamLosesAndDuplicatesNothing) {
  io_thread recv_io, send_io;
  receiver rcv(recv_io.io, receiver_opts());
  ASSERT_FALSE(rcv.start());
  fake_outbox outbox;
  sender snd(send_io.io, outbox, env_->keys(), env_->sender_opts());
  ASSERT_FALSE(snd.start());
  append(outbox, 1000);
  ASSERT_TRUE(wait_until([&] { return rcv.counters().records_written >= 200; }, 30s));
  env_->prosody().stop();
  append(outbox, 1000);  // produced while the server is down
  ASSERT_TRUE(wait_until([&] { return snd.counters().connections_ready == 0; }, 10s));
  ASSERT_EQ(env_->prosody().start(), "");
  append(outbox, 1000);
  ASSERT_TRUE(wait_until([&] { return outbox.depth() == 0; }, 60s)) << "depth " << outbox.depth();
  snd.stop();
  rcv.stop();
  EXPECT_EQ(compare_delivery(outbox.all(), read_received(out_), "acme-hq"), "");
  EXPECT_GE(snd.counters().failures, 2u);  // both pool connections saw the restart
}

TEST_F(DeliveryTest, BrokenConnectionResumesTheStreamManagementSessionAndLosesNothing) {
  connect_proxy proxy;  // the sender's path; cutting it is a network failure, prosody stays up
  io_thread recv_io, send_io;
  receiver rcv(recv_io.io, receiver_opts());
  ASSERT_FALSE(rcv.start());
  fake_outbox outbox;
  auto opts = env_->sender_opts();
  opts.pool_size = 1;
  opts.xmpp.proxy = proxy.address();
  sender snd(send_io.io, outbox, env_->keys(), opts);
  ASSERT_FALSE(snd.start());
  append(outbox, 500);
  ASSERT_TRUE(wait_until([&] { return outbox.depth() == 0; }, 30s));
  ASSERT_EQ(snd.counters().resumed_events, 0u);
  proxy.drop_tunnels();
  append(outbox, 500);
  ASSERT_TRUE(wait_until([&] { return outbox.depth() == 0; }, 30s)) << "depth " << outbox.depth();
  EXPECT_GE(snd.counters().resumed_events, 1u) << "the session was not resumed (XEP-0198)";
  EXPECT_GE(proxy.tunnels(), 2u);
  snd.stop();
  rcv.stop();
  EXPECT_EQ(compare_delivery(outbox.all(), read_received(out_), "acme-hq"), "");
}

TEST_F(DeliveryTest, ReceiverOfflineBatchesWaitThenDrain) {
  io_thread send_io;
  fake_outbox outbox;
  sender snd(send_io.io, outbox, env_->keys(), env_->sender_opts());
  ASSERT_FALSE(snd.start());
  {
    io_thread recv_io;
    receiver rcv(recv_io.io, receiver_opts());
    ASSERT_FALSE(rcv.start());
    append(outbox, 300);
    ASSERT_TRUE(wait_until([&] { return outbox.depth() == 0; }, 30s));
    rcv.stop();
  }
  // The receiver left: the sender sees its presence go and holds new batches.
  ASSERT_TRUE(wait_until([&] { return !snd.counters().receiver_available; }, 10s));
  auto acked_before = snd.counters().batches_acknowledged.load();
  append(outbox, 700);
  // Nothing is delivered while it is away: no acknowledgement, no line written, for a bounded
  // observation window (the sender holds the batches; see the counter check below).
  EXPECT_FALSE(
      wait_until([&] { return snd.counters().batches_acknowledged > acked_before; }, 1500ms))
      << "delivered while the receiver was away";
  EXPECT_EQ(outbox.depth(), 700u);
  EXPECT_EQ(read_received(out_).size(), 300u);
  // The sender held them rather than sending them into the void (no receiver resource known).
  EXPECT_FALSE(snd.counters().receiver_available.load());
  // Back online (a new process: same output and ledger): everything drains, nothing twice.
  io_thread recv_io;
  receiver rcv(recv_io.io, receiver_opts());
  ASSERT_FALSE(rcv.start());
  ASSERT_TRUE(wait_until([&] { return outbox.depth() == 0; }, 30s)) << "depth " << outbox.depth();
  snd.stop();
  rcv.stop();
  EXPECT_EQ(compare_delivery(outbox.all(), read_received(out_), "acme-hq"), "");
}

TEST_F(DeliveryTest, SigkillOfTheSendingProcessLosesAndDuplicatesNothing) {
  std::string dir = env_->dir() + "/kill-" + std::to_string(test_no_);
  ASSERT_EQ(::mkdir(dir.c_str(), 0700), 0);
  write_file(dir + "/sender.toml",
             "[xmpp]\njid = \"site@localhost\"\npassword = \"" + env_->site_password() +
                 "\"\nhost = \"127.0.0.1\"\nport = " + std::to_string(env_->prosody().port()) +
                 "\ndirect_tls_port = " + std::to_string(env_->prosody().direct_tls_port()) +
                 "\nca_file = \"" + env_->prosody().ca_file() +
                 "\"\n[uplink]\nreceiver = \"provider@localhost\"\nsite = \"acme-hq\"\n" +
                 "key_file = \"" + env_->key_file() +
                 "\"\nmax_delay_ms = 50\nroutine_delay_ms = 50\n" +
                 "max_batch_bytes = 8192\nack_timeout_ms = 5000\n",
             0600);
  io_thread recv_io;
  receiver rcv(recv_io.io, receiver_opts());
  ASSERT_FALSE(rcv.start());
  const std::uint64_t total = 20000;
  auto spawn = [&] {
    pid_t pid = ::fork();
    if (pid == 0) {
      std::string log = dir + "/child.log";
      if (std::freopen(log.c_str(), "a", stderr) == nullptr) ::_exit(126);
      ::execl(UPLINK_SENDER_CHILD, UPLINK_SENDER_CHILD, "--config", (dir + "/sender.toml").c_str(),
              "--outbox", dir.c_str(), "--total", std::to_string(total).c_str(), "--chunk", "20",
              static_cast<char*>(nullptr));
      ::_exit(127);
    }
    return pid;
  };
  pid_t child = spawn();
  ASSERT_GT(child, 0);
  // Kill it mid-stream: some records delivered, most not yet produced or sent.
  bool started = wait_until([&] { return rcv.counters().records_written >= 2000; }, 60s);
  ::kill(child, SIGKILL);
  int status = 0;
  ::waitpid(child, &status, 0);
  ASSERT_TRUE(started) << read_file(dir + "/child.log");
  ASSERT_TRUE(WIFSIGNALED(status)) << "the child finished before it could be killed";
  std::uint64_t at_kill = rcv.counters().records_written;
  EXPECT_LT(at_kill, total);
  // Restart: it resumes from the outbox's first unacknowledged record.
  child = spawn();
  ASSERT_GT(child, 0);
  bool exited = wait_until([&] { return ::waitpid(child, &status, WNOHANG) == child; }, 120s);
  if (!exited) {
    ::kill(child, SIGKILL);
    ::waitpid(child, &status, 0);
  }
  ASSERT_TRUE(exited) << read_file(dir + "/child.log");
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << read_file(dir + "/child.log");
  ASSERT_TRUE(wait_until([&] { return rcv.counters().records_written >= total; }, 10s));
  rcv.stop();
  fake_outbox log(dir);  // the sender's outbox log, as the killed and restarted processes left it
  EXPECT_EQ(log.last_seq(), total);
  EXPECT_EQ(log.depth(), 0u);
  EXPECT_EQ(compare_delivery(log.all(), read_received(out_), "acme-hq"), "");
}

TEST_F(DeliveryTest, TamperedReplayedForeignAndOversizedBatchesAreRejectedWithoutHarm) {
  io_thread recv_io, site_io, intruder_io;
  auto ropts = receiver_opts();
  ropts.xmpp.limits.max_stanza_bytes = 16 * 1024;
  receiver rcv(recv_io.io, ropts);
  std::vector<std::string> logs;
  std::mutex logs_mu;
  rcv.set_logger([&](const std::string& l) {
    std::lock_guard lock(logs_mu);
    logs.push_back(l);
  });
  ASSERT_FALSE(rcv.start());
  ASSERT_TRUE(wait_until([&] { return rcv.counters().ready.load(); }, 10s));

  // A raw XMPP session as the site, sending hand-made stanzas; receipts are collected.
  struct raw_session {
    std::unique_ptr<xmpp_connection> conn;
    std::atomic<bool> ready{false};
    std::mutex mu;
    std::vector<std::string> receipts;
    std::string receiver_jid;
  };
  auto open_raw = [&](io_thread& io, const xmpp_options& o) {
    auto s = std::make_shared<raw_session>();
    connection_events ev;
    // Raw pointers: the session owns the connection, so a shared_ptr here would be a cycle.
    raw_session* p = s.get();
    ev.on_ready = [p](bool) { p->ready = true; };
    ev.on_stanza = [p](const element& e) {
      std::lock_guard lock(p->mu);
      if (const element* r = e.child("urn:xmpp:receipts", "received"))
        p->receipts.push_back(*r->attribute("id"));
      const std::string* type = e.attribute("type");
      const std::string* from = e.attribute("from");
      // Only the receiver's presence (the server also reflects our own back to us).
      if (e.name == "presence" && type == nullptr && from != nullptr &&
          jid_bare(*from) == "provider@localhost")
        p->receiver_jid = *from;
    };
    s->conn = std::make_unique<xmpp_connection>(io.io.get_executor(), o, ev);
    boost::asio::post(io.io, [s] { s->conn->start(); });
    return s;
  };
  auto site = open_raw(site_io, env_->account("site", env_->site_password()));
  ASSERT_TRUE(wait_until([&] { return site->ready.load(); }, 10s));
  boost::asio::post(site_io.io, [&] {
    site->conn->send("<presence type='subscribe' to='provider@localhost'/>");
    site->conn->send("<presence/>");
  });
  ASSERT_TRUE(wait_until(
      [&] {
        std::lock_guard lock(site->mu);
        return !site->receiver_jid.empty();
      },
      10s));
  auto send_raw = [&](raw_session& s, io_thread& io, const std::string& id,
                      const std::string& batch_xml) {
    std::string stanza;
    {
      std::lock_guard lock(s.mu);
      stanza = "<message to='" + site->receiver_jid + "' id='" + id + "'>" + batch_xml +
               "<request xmlns='urn:xmpp:receipts'/></message>";
    }
    boost::asio::post(io.io, [&s, stanza] { s.conn->send(stanza); });
  };
  auto has_receipt = [&](const std::string& id) {
    std::lock_guard lock(site->mu);
    return std::find(site->receipts.begin(), site->receipts.end(), id) != site->receipts.end();
  };
  std::vector<outbox_record> recs;
  for (std::uint64_t s = 1; s <= 5; ++s) recs.push_back({s, 1, test_record(s)});
  sealed_batch good;
  ASSERT_FALSE(seal_batch(recs, "acme-hq", *env_->keys().current(), good));
  const auto& counters = rcv.counters();
  auto count = [&](batch_result r) { return counters.batches[static_cast<int>(r)].load(); };

  auto all_logs = [&] {
    std::lock_guard lock(logs_mu);
    std::string j;
    for (const auto& l : logs) j += l + "\n";
    return j + rcv.summary();
  };
  send_raw(*site, site_io, "good", batch_element_xml(good));
  ASSERT_TRUE(wait_until([&] { return has_receipt("good"); }, 10s)) << all_logs();
  EXPECT_EQ(count(batch_result::accepted), 1u);

  send_raw(*site, site_io, "replay", batch_element_xml(good));  // the same batch again
  ASSERT_TRUE(wait_until([&] { return has_receipt("replay"); }, 10s));
  EXPECT_EQ(count(batch_result::replayed), 1u);

  sealed_batch tampered = good;
  tampered.payload[10] = tampered.payload[10] == 'A' ? 'B' : 'A';
  send_raw(*site, site_io, "tampered", batch_element_xml(tampered));
  ASSERT_TRUE(wait_until([&] { return count(batch_result::bad_tag) == 1; }, 10s));

  aes_key stranger;
  stranger.id = 99;
  stranger.bytes.fill(7);
  sealed_batch unknown;
  ASSERT_FALSE(seal_batch(recs, "acme-hq", stranger, unknown));
  send_raw(*site, site_io, "unknown-key", batch_element_xml(unknown));
  ASSERT_TRUE(wait_until([&] { return count(batch_result::unknown_key) == 1; }, 10s));

  sealed_batch other_site;
  ASSERT_FALSE(seal_batch(recs, "someone-else", *env_->keys().current(), other_site));
  send_raw(*site, site_io, "other-site", batch_element_xml(other_site));
  ASSERT_TRUE(wait_until([&] { return count(batch_result::unknown_site) == 1; }, 10s));

  std::string bad_iv = batch_element_xml(good);
  bad_iv.replace(bad_iv.find("iv='") + 4, 4, "!!!!");
  send_raw(*site, site_io, "bad-iv", bad_iv);
  ASSERT_TRUE(wait_until([&] { return count(batch_result::malformed) == 1; }, 10s));

  // Another account on the server is not a site: its batches are dropped, even valid ones.
  auto intruder = open_raw(intruder_io, env_->account("intruder", intruder_password_));
  ASSERT_TRUE(wait_until([&] { return intruder->ready.load(); }, 10s));
  boost::asio::post(intruder_io.io, [&] {
    intruder->conn->send("<message to='provider@localhost' id='intrude'>" +
                         batch_element_xml(good) + "</message>");
  });
  ASSERT_TRUE(wait_until([&] { return count(batch_result::unknown_site) == 2; }, 10s));
  boost::asio::post(intruder_io.io, [&] { intruder->conn->stop(); });

  // An oversized stanza (over the receiver's 16 KiB limit): the receiver discards it, counts it
  // as malformed and carries on; it neither crashes nor loses what it holds.
  std::string huge =
      "<batch xmlns='urn:fleetpoll:batch:1' site='acme-hq' key='1' first='6' last='6' n='1' "
      "iv='AAAAAAAAAAAAAAAA'>" +
      std::string(40 * 1024, 'A') + "</batch>";
  send_raw(*site, site_io, "huge", huge);
  ASSERT_TRUE(wait_until(
      [&] {
        std::lock_guard lock(logs_mu);
        for (const auto& l : logs)
          if (l.find("stanza exceeds") != std::string::npos) return true;
        return false;
      },
      10s));
  EXPECT_EQ(count(batch_result::malformed), 2u);
  EXPECT_TRUE(rcv.counters().ready.load());
  // After all that, a good next batch is still accepted, and exactly 6 records are held.
  std::vector<outbox_record> next{{6, 1, test_record(6)}};
  sealed_batch six;
  ASSERT_FALSE(seal_batch(next, "acme-hq", *env_->keys().current(), six));
  // The receiver's new session has a new presence; wait until the site sees it.
  ASSERT_TRUE(wait_until(
      [&] {
        send_raw(*site, site_io, "six", batch_element_xml(six));
        return wait_until([&] { return has_receipt("six"); }, 1s);
      },
      15s));
  boost::asio::post(site_io.io, [&] { site->conn->stop(); });
  rcv.stop();
  site_io.stop();  // the raw sessions are destroyed after their executors stopped
  intruder_io.stop();
  auto got = read_received(out_);
  ASSERT_EQ(got.size(), 6u);
  for (std::size_t i = 0; i < got.size(); ++i) EXPECT_EQ(got[i].seq, i + 1);
  EXPECT_FALSE(has_receipt("tampered"));
  EXPECT_FALSE(has_receipt("unknown-key"));
  EXPECT_FALSE(has_receipt("other-site"));
}

TEST_F(DeliveryTest, ReceiveCommandWritesJsonLinesAndReportsItsCounters) {
  std::string dir = env_->dir() + "/cli-" + std::to_string(test_no_);
  const std::uint16_t metrics_port = free_tcp_port();
  ASSERT_EQ(::mkdir(dir.c_str(), 0700), 0);
  write_file(dir + "/provider.pass", env_->provider_password() + "\n", 0600);
  write_file(dir + "/acme.keys", read_file(env_->key_file()), 0600);
  write_file(dir + "/provider.toml",
             "[xmpp]\njid = \"provider@localhost\"\npassword_file = \"provider.pass\"\nhost = "
             "\"127.0.0.1\"\n"
             "port = " +
                 std::to_string(env_->prosody().port()) + "\ndirect_tls_port = 0\nca_file = \"" +
                 env_->prosody().ca_file() +
                 "\"\n[output]\npath = \"out.jsonl\"\nstate = \"ledger\"\n"
                 "[[site]]\nid = \"acme-hq\"\njid = \"site@localhost\"\nkey_file = \"acme.keys\"\n"
                 "[metrics]\nlisten = \"127.0.0.1:" +
                 std::to_string(metrics_port) + "\"\n",
             0600);
  pid_t pid = ::fork();
  if (pid == 0) {
    std::string log = dir + "/receive.log";
    if (std::freopen(log.c_str(), "a", stderr) == nullptr) ::_exit(126);
    ::execl(FLEETPOLL_PROGRAM, FLEETPOLL_PROGRAM, "receive", "--config",
            (dir + "/provider.toml").c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  ASSERT_GT(pid, 0);
  io_thread send_io;
  fake_outbox outbox;
  sender snd(send_io.io, outbox, env_->keys(), env_->sender_opts());
  ASSERT_FALSE(snd.start());
  append(outbox, 250);
  bool drained = wait_until([&] { return outbox.depth() == 0; }, 30s);
  snd.stop();
  std::string scrape = http_get(metrics_port, "/metrics");
  ::kill(pid, SIGTERM);
  int status = 0;
  bool exited = wait_until([&] { return ::waitpid(pid, &status, WNOHANG) == pid; }, 10s);
  if (!exited) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, &status, 0);
  }
  std::string log = read_file(dir + "/receive.log");
  ASSERT_TRUE(drained) << log;
  ASSERT_TRUE(exited);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << log;
  EXPECT_EQ(compare_delivery(outbox.all(), read_received(dir + "/out.jsonl"), "acme-hq"), "");
  EXPECT_NE(log.find("records written=250 "), std::string::npos) << log;
  EXPECT_NE(scrape.find("fleetpoll_receiver_records_written_total 250"), std::string::npos)
      << scrape;
  EXPECT_NE(scrape.find("fleetpoll_receiver_batches_total{result=\"bad_tag\"} 0"),
            std::string::npos)
      << scrape;
}

}  // namespace
