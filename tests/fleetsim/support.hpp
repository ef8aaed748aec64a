// Helpers for fleetsim's tests: a loopback UDP client, the SNMP codec round trip, temporary
// folders and child processes that are always killed and reaped. Header-only, test code.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "fleetpoll/codecs/snmp_codec.hpp"
#include "fleetpoll/fleetsim/fleetsim.hpp"

namespace fleetsim_test {

namespace codecs = fleetpoll::codecs;
namespace fs = fleetpoll::fleetsim;
using namespace std::chrono_literals;

inline std::filesystem::path shared_fixtures() {
  return FLEETPOLL_FIXTURES_DIR;
}
inline std::filesystem::path test_fixtures() {
  return FLEETPOLL_TEST_FIXTURES_DIR;
}
inline std::filesystem::path fleetsim_program() {
  return std::filesystem::path(FLEETPOLL_BINARY_DIR) / "bench" / "fleetsim" / "fleetsim";
}

inline std::uint32_t ip(const std::string& dotted) {
  in_addr a{};
  inet_pton(AF_INET, dotted.c_str(), &a);
  return ntohl(a.s_addr);
}
inline std::string dotted(std::uint32_t host_order) {
  in_addr a{htonl(host_order)};
  char buf[INET_ADDRSTRLEN];
  inet_ntop(AF_INET, &a, buf, sizeof buf);
  return buf;
}

struct datagram {
  std::vector<std::uint8_t> bytes;
  std::uint32_t from = 0;  // host order
  std::uint16_t from_port = 0;
  std::chrono::steady_clock::time_point at;
};

// An unconnected UDP socket on 127.0.0.1:<free port>.
class udp_client {
 public:
  udp_client() {
    fd_ = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    const int big = 4 << 20;
    setsockopt(fd_, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof big);
  }
  ~udp_client() { close(fd_); }
  udp_client(const udp_client&) = delete;
  udp_client& operator=(const udp_client&) = delete;

  void send(std::uint32_t to, std::uint16_t port, std::span<const std::uint8_t> bytes) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(to);
    ASSERT_EQ(sendto(fd_, bytes.data(), bytes.size(), 0, reinterpret_cast<sockaddr*>(&a), sizeof a),
              static_cast<ssize_t>(bytes.size()));
  }

  // The next datagram, or nullopt when none came within the bound.
  std::optional<datagram> receive(std::chrono::milliseconds bound = 2000ms) {
    pollfd p{fd_, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(bound.count())) <= 0) return std::nullopt;
    datagram d;
    d.bytes.resize(70000);
    sockaddr_in a{};
    socklen_t len = sizeof a;
    const ssize_t n =
        recvfrom(fd_, d.bytes.data(), d.bytes.size(), 0, reinterpret_cast<sockaddr*>(&a), &len);
    if (n < 0) return std::nullopt;
    d.bytes.resize(static_cast<std::size_t>(n));
    d.from = ntohl(a.sin_addr.s_addr);
    d.from_port = ntohs(a.sin_port);
    d.at = std::chrono::steady_clock::now();
    return d;
  }

  // True when a datagram is already waiting (does not wait).
  bool pending() {
    pollfd p{fd_, POLLIN, 0};
    return poll(&p, 1, 0) > 0;
  }

 private:
  int fd_ = -1;
};

inline std::vector<std::uint8_t> encode(codecs::pdu_type type, std::vector<codecs::oid> names,
                                        std::int32_t rid = 1,
                                        codecs::snmp_version v = codecs::snmp_version::v2c,
                                        std::string_view community = "public",
                                        std::int32_t max_rep = 10, std::int32_t non_rep = 0) {
  codecs::snmp_request r;
  r.version = v;
  r.community = community;
  r.type = type;
  r.request_id = rid;
  r.non_repeaters = non_rep;
  r.max_repetitions = max_rep;
  r.names = names;
  std::vector<std::uint8_t> out(65536);
  std::size_t n = 0;
  EXPECT_FALSE(codecs::encode_request(r, out, n));
  out.resize(n);
  return out;
}

inline codecs::oid O(std::string_view dotted_oid) {
  return *codecs::oid::parse(dotted_oid);
}

// One request to a device and its decoded reply (nullopt: no reply within the bound).
inline std::optional<codecs::snmp_response> ask(udp_client& c, std::uint32_t device_ip,
                                                std::uint16_t port,
                                                const std::vector<std::uint8_t>& request,
                                                std::chrono::milliseconds bound = 2000ms) {
  c.send(device_ip, port, request);
  auto d = c.receive(bound);
  if (!d) return std::nullopt;
  codecs::snmp_response r;
  if (codecs::decode_response(d->bytes, r)) {
    ADD_FAILURE() << "reply does not decode";
    return std::nullopt;
  }
  return r;
}

// Starts a fleet on a free port; fails the test when it cannot.
inline std::unique_ptr<fs::fleet> start_fleet(fs::options o) {
  o.port = 0;
  std::string why;
  auto f = fs::fleet::create(o, why);
  EXPECT_TRUE(f) << why;
  if (!f) return nullptr;
  EXPECT_FALSE(f->start(why)) << why;
  return f;
}

// An ordering barrier: a GET to a healthy device and its reply. A one-worker fleet handles
// datagrams in arrival order, so once this reply is here every earlier datagram was handled and
// every earlier reply has arrived. Returns how many other datagrams came before it (nullopt:
// the barrier reply did not come within the bound).
inline std::optional<std::size_t> barrier(udp_client& c, std::uint32_t healthy_device_ip,
                                          std::uint16_t port) {
  const auto req = encode(codecs::pdu_type::get, {O("1.3.6.1.2.1.1.3.0")}, 0x7ead);
  c.send(healthy_device_ip, port, req);
  for (std::size_t others = 0; others < 1000000; ++others) {
    auto d = c.receive(3000ms);
    if (!d) return std::nullopt;
    std::int32_t rid = 0;
    if (!codecs::peek_request_id(d->bytes, rid) && rid == 0x7ead) return others;
  }
  return std::nullopt;
}

// A fresh folder under $TMPDIR (or /tmp), removed with everything in it.
class temp_dir {
 public:
  temp_dir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "fleetsim-test-XXXXXX").string();
    path_ = mkdtemp(tmpl.data());
  }
  ~temp_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// A child process with its stdout and stderr captured; killed (SIGKILL) and reaped on
// destruction if still running.
class child {
 public:
  explicit child(const std::vector<std::string>& argv, const std::vector<std::string>& env = {}) {
    int out[2], err[2];
    if (pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0) return;
    pid_ = fork();
    if (pid_ == 0) {
      dup2(out[1], 1);
      dup2(err[1], 2);
      for (const auto& e : env) putenv(const_cast<char*>(e.c_str()));
      std::vector<char*> args;
      for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
      args.push_back(nullptr);
      execvp(args[0], args.data());
      _exit(127);
    }
    close(out[1]);
    close(err[1]);
    out_fd_ = out[0];
    err_fd_ = err[0];
  }
  ~child() {
    if (pid_ > 0 && !exited_) {
      kill(pid_, SIGKILL);
      int st = 0;
      waitpid(pid_, &st, 0);
    }
    if (drainer_.joinable()) drainer_.join();  // the pipes close with the process
    if (out_fd_ >= 0) close(out_fd_);
    if (err_fd_ >= 0) close(err_fd_);
  }
  child(const child&) = delete;
  child& operator=(const child&) = delete;

  pid_t pid() const { return pid_; }

  // From now on a thread reads and discards the output, so a chatty child never blocks on a
  // full pipe. out()/err() must not be used afterwards.
  void drain_in_background() {
    drainer_ = std::thread([this] {
      while (pump(1000ms)) {
        out_.clear();
        err_.clear();
      }
    });
  }
  const std::string& out() const { return out_; }
  const std::string& err() const { return err_; }

  // Reads output until `done(stdout + stderr)` holds, the child closes both, or the bound passes.
  bool read_until(const std::function<bool(const std::string&)>& done,
                  std::chrono::milliseconds bound) {
    const auto deadline = std::chrono::steady_clock::now() + bound;
    while (!done(out_ + err_)) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return false;
      if (!pump(left)) return done(out_ + err_);
    }
    return true;
  }

  // Waits for the exit (reading all output); returns the exit code, or -1 after the bound
  // (then the child is killed) or when it died of a signal.
  int wait(std::chrono::milliseconds bound = 10000ms) {
    const auto deadline = std::chrono::steady_clock::now() + bound;
    while (out_fd_ >= 0 || err_fd_ >= 0) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) break;
      pump(left);
    }
    int st = 0;
    if (out_fd_ >= 0 || err_fd_ >= 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, &st, 0);
      exited_ = true;
      return -1;
    }
    waitpid(pid_, &st, 0);
    exited_ = true;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  }

 private:
  // Reads what is available on stdout/stderr; false when both are closed.
  bool pump(std::chrono::milliseconds bound) {
    pollfd p[2] = {{out_fd_, POLLIN, 0}, {err_fd_, POLLIN, 0}};
    if (poll(p, 2, static_cast<int>(bound.count())) <= 0) return out_fd_ >= 0 || err_fd_ >= 0;
    char buf[65536];
    for (int i = 0; i < 2; ++i) {
      int& fd = i == 0 ? out_fd_ : err_fd_;
      if (fd < 0 || !(p[i].revents & (POLLIN | POLLHUP))) continue;
      const ssize_t n = read(fd, buf, sizeof buf);
      if (n <= 0) {
        close(fd);
        fd = -1;
      } else {
        (i == 0 ? out_ : err_).append(buf, static_cast<std::size_t>(n));
      }
    }
    return out_fd_ >= 0 || err_fd_ >= 0;
  }

  std::thread drainer_;
  pid_t pid_ = -1;
  int out_fd_ = -1, err_fd_ = -1;
  bool exited_ = false;
  std::string out_, err_;
};

// Runs a command to completion (bounded); returns {exit code, stdout, stderr}.
struct run_result {
  int code = -1;
  std::string out, err;
};
inline run_result run(const std::vector<std::string>& argv,
                      std::chrono::milliseconds bound = 20000ms,
                      const std::vector<std::string>& env = {}) {
  child c(argv, env);
  run_result r;
  r.code = c.wait(bound);
  r.out = c.out();
  r.err = c.err();
  return r;
}

}  // namespace fleetsim_test
