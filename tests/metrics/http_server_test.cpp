// The metrics HTTP server end to end: a real io_context on a thread, a real TCP listener on an
// ephemeral 127.0.0.1 port, a POSIX-socket client. Every wait is an event with a deadline.
#include "fleetpoll/metrics/http_server.hpp"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <future>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <prometheus/registry.h>
#include <boost/asio/io_context.hpp>

#include "fleetpoll/metrics/engine_metrics.hpp"
#include "fleetpoll/metrics/error.hpp"
#include "fleetpoll/metrics/process_collector.hpp"
#include "test_client.hpp"

namespace fleetpoll::metrics {
namespace {

using namespace std::chrono_literals;
using test::client;

// True when `text` has a line starting with `prefix`.
bool has_line(const std::string& text, const std::string& prefix) {
  if (text.rfind(prefix, 0) == 0) return true;
  return text.find("\n" + prefix) != std::string::npos;
}

class MetricsHttpServer : public ::testing::Test {
 protected:
  // Starts a server on an ephemeral loopback port, then a thread running io.run().
  void start(http_server_options options = {},
             const std::function<void(http_server&)>& setup = {}) {
    options.address = "127.0.0.1";
    options.port = 0;
    server.emplace(io, options);
    server->add_collectable(registry);
    server->add_collectable(process);
    if (setup) setup(*server);
    const std::error_code ec = server->start();
    ASSERT_FALSE(ec) << ec.message();
    port = server->port();
    ASSERT_NE(port, 0);
    run_returned = run_finished.get_future();
    io_thread = std::thread([this] {
      io.run();
      run_finished.set_value();
    });
  }

  // Stops the server; true if io_context::run() then returned within `timeout`.
  bool stop_and_wait_for_run(std::chrono::milliseconds timeout = 5s) {
    server->stop();
    const bool returned = run_returned.wait_for(timeout) == std::future_status::ready;
    if (!returned) io.stop();  // do not hang the test binary; the caller's EXPECT reports it
    io_thread.join();
    return returned;
  }

  void TearDown() override {
    if (io_thread.joinable()) {
      EXPECT_TRUE(stop_and_wait_for_run());
    }
  }

  std::shared_ptr<prometheus::Registry> registry = std::make_shared<prometheus::Registry>();
  engine_metrics metrics{*registry, "1.2.3-test"};
  std::shared_ptr<process_collector> process = std::make_shared<process_collector>();
  boost::asio::io_context io;
  std::optional<http_server> server;  // after io: destroyed first
  std::uint16_t port = 0;
  std::thread io_thread;
  std::promise<void> run_finished;
  std::future<void> run_returned;
};

TEST_F(MetricsHttpServer, ScrapeListsEveryDocumentedFamilyWithExpositionContentType) {
  start();
  client c(port);
  ASSERT_TRUE(c.connected());
  const auto r = c.request("GET", "/metrics");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->header("content-type"), "text/plain; version=0.0.4; charset=utf-8");

  const std::vector<std::pair<std::string, std::string>> families = {
      {"fleetpoll_snmp_requests_total", "counter"},
      {"fleetpoll_snmp_retries_total", "counter"},
      {"fleetpoll_snmp_requests_in_flight", "gauge"},
      {"fleetpoll_poll_duration_seconds", "histogram"},
      {"fleetpoll_devices", "gauge"},
      {"fleetpoll_discovery_targets_total", "counter"},
      {"fleetpoll_discovery_probed_total", "counter"},
      {"fleetpoll_discovery_printers_found_total", "counter"},
      {"fleetpoll_walker_errors_total", "counter"},
      {"fleetpoll_rate_limiter_waits_total", "counter"},
      {"fleetpoll_socket_drops_total", "counter"},
      {"fleetpoll_scheduler_lag_seconds", "histogram"},
      {"fleetpoll_build_info", "gauge"},
      {"process_cpu_seconds_total", "counter"},
      {"process_resident_memory_bytes", "gauge"},
      {"process_virtual_memory_bytes", "gauge"},
      {"process_open_fds", "gauge"},
      {"process_max_fds", "gauge"},
      {"process_start_time_seconds", "gauge"},
      {"process_threads", "gauge"},
  };
  for (const auto& [name, type] : families) {
    EXPECT_TRUE(has_line(r->body, "# HELP " + name + " ")) << name;
    EXPECT_TRUE(has_line(r->body, "# TYPE " + name + " " + type + "\n")) << name;
  }

  // Every bounded label value exists from the start, at zero.
  for (const char* v : {"ok", "timeout", "decode_error", "snmp_error", "send_error"})
    EXPECT_TRUE(
        has_line(r->body, std::string("fleetpoll_snmp_requests_total{result=\"") + v + "\"} 0"))
        << v;
  for (const char* v : {"status", "alerts", "supplies", "counters", "identity"})
    EXPECT_TRUE(has_line(
        r->body, std::string("fleetpoll_poll_duration_seconds_count{class=\"") + v + "\"} 0"))
        << v;
  for (const char* v : {"up", "down", "never_seen"})
    EXPECT_TRUE(has_line(r->body, std::string("fleetpoll_devices{state=\"") + v + "\"} 0")) << v;
  for (const char* v : {"loop", "runaway", "out_of_order", "too_big", "no_such_name"})
    EXPECT_TRUE(
        has_line(r->body, std::string("fleetpoll_walker_errors_total{kind=\"") + v + "\"} 0"))
        << v;
  for (const char* v : {"device", "subnet", "global"})
    EXPECT_TRUE(
        has_line(r->body, std::string("fleetpoll_rate_limiter_waits_total{scope=\"") + v + "\"} 0"))
        << v;
  for (const char* v : {"unknown_source", "unknown_request", "duplicate", "late", "malformed"})
    EXPECT_TRUE(
        has_line(r->body, std::string("fleetpoll_socket_drops_total{reason=\"") + v + "\"} 0"))
        << v;
  EXPECT_TRUE(has_line(r->body, "fleetpoll_build_info{version=\"1.2.3-test\"} 1"));
}

TEST_F(MetricsHttpServer, IncrementedCounterAndObservedHistogramShowInNextScrape) {
  start();
  client c(port);
  const auto before = c.request("GET", "/metrics");
  ASSERT_TRUE(before);
  EXPECT_TRUE(has_line(before->body, "fleetpoll_snmp_requests_total{result=\"timeout\"} 0"));

  metrics.requests(request_result::timeout).Increment(3);
  metrics.socket_drops(drop_reason::late).Increment();
  metrics.poll_duration(data_class::supplies).Observe(0.2);
  metrics.devices(device_state::never_seen).Set(7);

  const auto after = c.request("GET", "/metrics");
  ASSERT_TRUE(after);
  EXPECT_TRUE(has_line(after->body, "fleetpoll_snmp_requests_total{result=\"timeout\"} 3"));
  EXPECT_TRUE(has_line(after->body, "fleetpoll_snmp_requests_total{result=\"ok\"} 0"));
  EXPECT_TRUE(has_line(after->body, "fleetpoll_socket_drops_total{reason=\"late\"} 1"));
  EXPECT_TRUE(has_line(after->body, "fleetpoll_devices{state=\"never_seen\"} 7"));
  EXPECT_TRUE(has_line(after->body, "fleetpoll_poll_duration_seconds_count{class=\"supplies\"} 1"));
  EXPECT_TRUE(has_line(after->body,
                       "fleetpoll_poll_duration_seconds_bucket{class=\"supplies\",le=\"0.1\"} 0"));
  EXPECT_TRUE(has_line(after->body,
                       "fleetpoll_poll_duration_seconds_bucket{class=\"supplies\",le=\"0.25\"} 1"));
  EXPECT_TRUE(has_line(after->body, "fleetpoll_poll_duration_seconds_count{class=\"status\"} 0"));
}

// Finds `name` in $PATH.
std::optional<std::string> find_on_path(const std::string& name) {
  const char* path = std::getenv("PATH");
  if (path == nullptr) return std::nullopt;
  std::stringstream dirs(path);
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    if (dir.empty()) continue;
    const std::string candidate = dir + "/" + name;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return std::nullopt;
}

TEST_F(MetricsHttpServer, PromtoolCheckMetricsAcceptsLiveScrapeWithoutParseErrorOrLintWarning) {
  const auto promtool = find_on_path("promtool");
  ASSERT_TRUE(promtool) << "promtool not found on PATH: install the Debian package 'prometheus'";
  start();
  // Non-zero values everywhere a lint could look.
  metrics.requests(request_result::ok).Increment(10);
  metrics.retries().Increment(2);
  metrics.in_flight().Set(4);
  metrics.poll_duration(data_class::status).Observe(0.03);
  metrics.devices(device_state::up).Set(12);
  metrics.discovery_targets().Increment(256);
  metrics.walker_errors(walker_error::out_of_order).Increment();
  metrics.scheduler_lag().Observe(0.002);

  client c(port);
  const auto r = c.request("GET", "/metrics");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200);

  const std::string file =
      ::testing::TempDir() + "fleetpoll_scrape_" + std::to_string(::getpid()) + ".txt";
  {
    std::ofstream out(file, std::ios::binary);
    out << r->body;
    ASSERT_TRUE(out.good());
  }
  const std::string command = *promtool + " check metrics < '" + file + "' 2>&1";
  std::FILE* pipe = ::popen(command.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  std::string output;
  char buf[4096];
  std::size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof buf, pipe)) > 0) output.append(buf, n);
  const int status = ::pclose(pipe);
  std::remove(file.c_str());
  ASSERT_TRUE(WIFEXITED(status)) << output;
  EXPECT_EQ(WEXITSTATUS(status), 0) << "promtool said:\n" << output;  // 1 parse error, 3 lint
  EXPECT_EQ(output, "");
}

TEST_F(MetricsHttpServer, HealthzIs200WhenHealthyAnd503WithReasonWhenNot) {
  std::atomic<bool> healthy{true};
  start({}, [&](http_server& s) {
    ASSERT_FALSE(s.set_health_check([&] {
      return healthy ? health_status{} : health_status{false, "uplink down for 600 s"};
    }));
  });
  client c(port);
  const auto up = c.request("GET", "/healthz");
  ASSERT_TRUE(up);
  EXPECT_EQ(up->status, 200);
  EXPECT_EQ(up->body, "ok\n");

  healthy = false;
  const auto down = c.request("GET", "/healthz");
  ASSERT_TRUE(down);
  EXPECT_EQ(down->status, 503);
  EXPECT_EQ(down->body, "uplink down for 600 s\n");
}

TEST_F(MetricsHttpServer, UnknownPathIs404) {
  start();
  client c(port);
  const auto r = c.request("GET", "/metrics/extra");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 404);
}

TEST_F(MetricsHttpServer, PostIs405WithAllowHeaderAndConnectionStaysUsable) {
  start();
  client c(port);
  const auto r = c.request("POST", "/metrics", "Content-Length: 0\r\n");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 405);
  EXPECT_EQ(r->header("allow"), "GET, HEAD");
  const auto next = c.request("GET", "/healthz");
  ASSERT_TRUE(next);
  EXPECT_EQ(next->status, 200);
}

TEST_F(MetricsHttpServer, OversizedHeaderIs431AndClosesConnection) {
  http_server_options o;
  o.max_header_bytes = 2048;
  start(o);
  client c(port);
  const auto r = c.request("GET", "/metrics", "X-Padding: " + std::string(4096, 'a') + "\r\n");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 431);
  EXPECT_EQ(r->header("connection"), "close");
  EXPECT_TRUE(c.wait_closed());
}

TEST_F(MetricsHttpServer, BodyOverLimitIs413AndBodyWithinLimitIsServed) {
  http_server_options o;
  o.max_body_bytes = 1024;
  start(o);
  client small(port);
  const auto ok =
      small.request("GET", "/healthz", "Content-Length: 1000\r\n\r\n" + std::string(998, 'b'));
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200);

  client big(port);
  const auto r =
      big.request("GET", "/healthz", "Content-Length: 5000\r\n\r\n" + std::string(4998, 'b'));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 413);
  EXPECT_TRUE(big.wait_closed());
}

TEST_F(MetricsHttpServer, KeepAliveServesSequentialAndPipelinedRequestsOnOneConnection) {
  start();
  client c(port);
  const auto first = c.request("GET", "/healthz");
  const auto second = c.request("GET", "/metrics");
  ASSERT_TRUE(first && second);
  EXPECT_EQ(first->status, 200);
  EXPECT_EQ(second->status, 200);
  EXPECT_EQ(server->connection_count(), 1u);

  ASSERT_TRUE(
      c.send("GET /healthz HTTP/1.1\r\nHost: a\r\n\r\nGET /nope HTTP/1.1\r\nHost: a\r\n\r\n"));
  const auto p1 = c.read_response();
  const auto p2 = c.read_response();
  ASSERT_TRUE(p1 && p2);
  EXPECT_EQ(p1->status, 200);
  EXPECT_EQ(p2->status, 404);
}

TEST_F(MetricsHttpServer, ConnectionCloseRequestIsAnsweredThenClosed) {
  start();
  client c(port);
  const auto r = c.request("GET", "/healthz", "Connection: close\r\n");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_TRUE(c.wait_closed());
}

TEST_F(MetricsHttpServer, HeadSendsGetHeadersWithoutBody) {
  start();
  client c(port);
  const auto head = c.request("HEAD", "/healthz");
  ASSERT_TRUE(head);
  EXPECT_EQ(head->status, 200);
  EXPECT_EQ(head->header("content-length"), "3");
  EXPECT_EQ(head->header("content-type"), "text/plain; charset=utf-8");
  // Had a body followed the headers, this response would be misread.
  const auto get = c.request("GET", "/healthz");
  ASSERT_TRUE(get);
  EXPECT_EQ(get->status, 200);
  EXPECT_EQ(get->body, "ok\n");
}

TEST_F(MetricsHttpServer, ManyConcurrentClientsAreAllServed) {
  start();
  constexpr int clients = 48;  // under the default max_connections (64)
  std::vector<client> open;
  open.reserve(clients);
  for (int i = 0; i < clients; ++i) {
    open.emplace_back(port);
    ASSERT_TRUE(open.back().connected()) << i;
  }
  for (auto& c : open) ASSERT_TRUE(c.send("GET /metrics HTTP/1.1\r\nHost: a\r\n\r\n"));
  for (auto& c : open) {
    const auto r = c.read_response();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
    EXPECT_TRUE(has_line(r->body, "# TYPE fleetpoll_devices gauge"));
  }
  EXPECT_EQ(server->connection_count(), static_cast<std::size_t>(clients));
}

TEST_F(MetricsHttpServer, ConnectionBeyondLimitGets503WhileOthersKeepWorking) {
  http_server_options o;
  o.max_connections = 2;
  start(o);
  client a(port), b(port);
  ASSERT_TRUE(a.request("GET", "/healthz"));
  ASSERT_TRUE(b.request("GET", "/healthz"));
  EXPECT_EQ(server->connection_count(), 2u);

  client c(port);
  const auto r = c.request("GET", "/healthz");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 503);
  EXPECT_EQ(r->header("connection"), "close");
  EXPECT_TRUE(c.wait_closed());

  const auto still = a.request("GET", "/healthz");
  ASSERT_TRUE(still);
  EXPECT_EQ(still->status, 200);
}

TEST_F(MetricsHttpServer, ZeroRequestTimeoutClosesConnectionThatSendsNothing) {
  http_server_options o;
  o.request_timeout = 0ms;
  start(o);
  client c(port);
  ASSERT_TRUE(c.connected());
  EXPECT_TRUE(c.wait_closed());
}

TEST_F(MetricsHttpServer, StopClosesIdleConnectionsAndRunReturns) {
  start();
  client idle(port);  // a served keep-alive connection waiting for its next request
  const auto r = idle.request("GET", "/healthz");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  client silent(port);  // connected, never sends
  ASSERT_TRUE(silent.connected());

  const auto t0 = std::chrono::steady_clock::now();
  server->stop();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 1s);  // stop() does not wait
  EXPECT_TRUE(idle.wait_closed(5s));  // default request_timeout is 30 s: this is stop()
  EXPECT_TRUE(silent.wait_closed(5s));
  EXPECT_TRUE(stop_and_wait_for_run(5s));
  EXPECT_EQ(server->connection_count(), 0u);
  client after(port);
  EXPECT_FALSE(after.connected());
}

TEST_F(MetricsHttpServer, AddedRouteGetsPathAndQueryAndThrowingHandlerGives500) {
  start({}, [](http_server& s) {
    ASSERT_FALSE(s.add_route("/status", [](const http_request& req) {
      return http_response{200, "application/json",
                           "{\"path\":\"" + std::string(req.path) + "\",\"query\":\"" +
                               std::string(req.query) + "\"}"};
    }));
    ASSERT_FALSE(s.add_route("/boom", [](const http_request&) -> http_response {
      throw std::runtime_error("handler failed");
    }));
    EXPECT_EQ(s.add_route("/metrics", [](const http_request&) { return http_response{}; }),
              make_error_code(error::duplicate_route));
    EXPECT_EQ(s.add_route("status", [](const http_request&) { return http_response{}; }),
              make_error_code(error::invalid_route));
  });
  EXPECT_EQ(server->add_route("/late", [](const http_request&) { return http_response{}; }),
            make_error_code(error::already_started));

  client c(port);
  const auto r = c.request("GET", "/status?device=7&x=1");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->header("content-type"), "application/json");
  EXPECT_EQ(r->body, "{\"path\":\"/status\",\"query\":\"device=7&x=1\"}");

  const auto boom = c.request("GET", "/boom");
  ASSERT_TRUE(boom);
  EXPECT_EQ(boom->status, 500);
  const auto after = c.request("GET", "/healthz");  // the server survives
  ASSERT_TRUE(after);
  EXPECT_EQ(after->status, 200);
}

TEST_F(MetricsHttpServer, StartOnPortInUseReportsAddressInUse) {
  start();
  http_server_options o;
  o.port = port;  // already bound by the running server
  http_server second(io, o);
  EXPECT_EQ(second.start(), std::errc::address_in_use);
  EXPECT_EQ(second.port(), 0);
}

TEST(MetricsHttpServerOptions, DefaultsAreLoopback9750) {
  const http_server_options o;
  EXPECT_EQ(o.address, "127.0.0.1");
  EXPECT_EQ(o.port, 9750);
}

TEST(MetricsHttpServerStart, HostNameIsNotAnAddressAndStartIsOnceOnly) {
  boost::asio::io_context io;
  http_server_options named;
  named.address = "localhost";  // no name lookup: numeric addresses only
  http_server by_name(io, named);
  EXPECT_EQ(by_name.start(), make_error_code(error::invalid_address));

  http_server_options o;
  o.port = 0;
  http_server s(io, o);
  ASSERT_FALSE(s.start());
  EXPECT_EQ(s.start(), make_error_code(error::already_started));
  s.stop();
  EXPECT_EQ(s.start(), make_error_code(error::stopped));
  // The posted stop closes the acceptor; the aborted accept completes; then nothing is pending.
  io.run_for(5s);
  EXPECT_TRUE(io.stopped()) << "run() still had work 5 s after stop()";
}

}  // namespace
}  // namespace fleetpoll::metrics
