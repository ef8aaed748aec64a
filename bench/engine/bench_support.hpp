// Shared pieces of the engine and peer benchmarks: a child process with its output read into
// memory, process CPU and memory readings, the loopback UDP ceiling, and JSON output.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/udp.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace fleetpoll::bench {

using namespace std::chrono_literals;
using clock = std::chrono::steady_clock;

inline double seconds_since(clock::time_point t) {
  return std::chrono::duration<double>(clock::now() - t).count();
}

// User + system CPU seconds of this process.
inline double process_cpu_seconds() {
  rusage u{};
  ::getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

// Resident set size of a process (self by default), bytes, from /proc/PID/statm.
inline std::uint64_t rss_bytes(pid_t pid = 0) {
  std::ifstream in(pid ? "/proc/" + std::to_string(pid) + "/statm"
                       : std::string("/proc/self/statm"));
  std::uint64_t size = 0, resident = 0;
  in >> size >> resident;
  return resident * static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE));
}

// CPU seconds of another process (utime + stime of /proc/PID/stat).
inline double cpu_seconds_of(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const auto close = text.rfind(')');
  if (close == std::string::npos) return 0;
  std::istringstream rest(text.substr(close + 2));
  std::string field;
  double ut = 0, st = 0;
  for (int i = 3; i <= 15 && rest >> field; ++i) {
    if (i == 14) ut = std::stod(field);
    if (i == 15) st = std::stod(field);
  }
  return (ut + st) / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

// A child process; stdout+stderr go through one pipe that wait_for() reads. Killed and reaped by
// the destructor.
class process {
 public:
  explicit process(const std::vector<std::string>& argv) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) return;
    pid_ = ::fork();
    if (pid_ == 0) {
      ::dup2(fds[1], 1);
      ::dup2(fds[1], 2);
      std::vector<char*> args;
      args.reserve(argv.size() + 1);
      for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
      args.push_back(nullptr);
      ::execvp(args[0], args.data());
      ::_exit(127);
    }
    ::close(fds[1]);
    fd_ = fds[0];
  }
  ~process() {
    stop();
    if (fd_ >= 0) ::close(fd_);
  }
  process(const process&) = delete;
  process& operator=(const process&) = delete;

  pid_t pid() const { return pid_; }
  // Reads output until it contains `text` (true) or the timeout passes / the pipe closes.
  bool wait_for(const std::string& text, std::chrono::milliseconds timeout) {
    const auto end = clock::now() + timeout;
    while (output_.find(text) == std::string::npos) {
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(end - clock::now()).count();
      if (left <= 0) return false;
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left)) <= 0) continue;
      char buf[4096];
      const ssize_t n = ::read(fd_, buf, sizeof buf);
      if (n <= 0) return false;
      output_.append(buf, static_cast<std::size_t>(n));
    }
    return true;
  }
  const std::string& output() const { return output_; }
  void stop() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    for (int i = 0; i < 300; ++i) {
      int st = 0;
      if (::waitpid(pid_, &st, WNOHANG) == pid_) {
        pid_ = -1;
        return;
      }
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 10) > 0) {
        char buf[4096];
        const ssize_t n = ::read(fd_, buf, sizeof buf);
        if (n > 0) output_.append(buf, static_cast<std::size_t>(n));
      }
    }
    ::kill(pid_, SIGKILL);
    int st = 0;
    ::waitpid(pid_, &st, 0);
    pid_ = -1;
  }

 private:
  pid_t pid_ = -1;
  int fd_ = -1;
  std::string output_;
};

// Loopback UDP request/response ceiling: an echo thread and a client thread, both batching with
// recvmmsg/sendmmsg, `in_flight` datagrams of `payload` bytes outstanding, for `duration`.
// Returns round trips per second.
inline double udp_echo_ceiling(std::chrono::milliseconds duration = 2000ms,
                               std::size_t in_flight = 2000, std::size_t payload = 100) {
  auto make = [] {
    const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    (void)::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
    const int big = 8 << 20;
    ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
    ::setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &big, sizeof big);
    return fd;
  };
  const int server = make(), client = make();
  sockaddr_in server_addr{};
  socklen_t len = sizeof server_addr;
  ::getsockname(server, reinterpret_cast<sockaddr*>(&server_addr), &len);
  std::atomic<bool> stop{false};
  constexpr std::size_t batch = 64;
  std::thread echo([&] {
    std::vector<std::uint8_t> bufs(batch * 2048);
    std::vector<mmsghdr> msgs(batch);
    std::vector<iovec> iov(batch);
    std::vector<sockaddr_in> from(batch);
    while (!stop.load(std::memory_order_relaxed)) {
      pollfd p{server, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      for (std::size_t i = 0; i < batch; ++i) {
        iov[i] = {bufs.data() + i * 2048, 2048};
        msgs[i].msg_hdr = msghdr{};
        msgs[i].msg_hdr.msg_name = &from[i];
        msgs[i].msg_hdr.msg_namelen = sizeof(sockaddr_in);
        msgs[i].msg_hdr.msg_iov = &iov[i];
        msgs[i].msg_hdr.msg_iovlen = 1;
      }
      const int n = ::recvmmsg(server, msgs.data(), batch, MSG_DONTWAIT, nullptr);
      if (n <= 0) continue;
      for (int i = 0; i < n; ++i)
        iov[static_cast<std::size_t>(i)].iov_len = msgs[static_cast<std::size_t>(i)].msg_len;
      int sent = 0;
      while (sent < n) {
        const int s = ::sendmmsg(server, msgs.data() + sent, static_cast<unsigned>(n - sent), 0);
        if (s <= 0) break;
        sent += s;
      }
    }
  });
  std::vector<std::uint8_t> out(payload, 0x30), in(batch * 2048);
  std::vector<mmsghdr> tx(batch), rx(batch);
  std::vector<iovec> txv(batch), rxv(batch);
  std::uint64_t done = 0, outstanding = 0;
  const auto start = clock::now();
  const auto end = start + duration;
  while (clock::now() < end) {
    std::size_t want = in_flight > outstanding ? std::min(batch, in_flight - outstanding) : 0;
    if (want > 0) {
      for (std::size_t i = 0; i < want; ++i) {
        txv[i] = {out.data(), out.size()};
        tx[i].msg_hdr = msghdr{};
        tx[i].msg_hdr.msg_name = &server_addr;
        tx[i].msg_hdr.msg_namelen = sizeof server_addr;
        tx[i].msg_hdr.msg_iov = &txv[i];
        tx[i].msg_hdr.msg_iovlen = 1;
      }
      const int s = ::sendmmsg(client, tx.data(), static_cast<unsigned>(want), MSG_DONTWAIT);
      if (s > 0) outstanding += static_cast<std::uint64_t>(s);
    }
    pollfd p{client, POLLIN, 0};
    if (::poll(&p, 1, 10) <= 0) {
      outstanding = 0;  // lost ones: refill
      continue;
    }
    for (std::size_t i = 0; i < batch; ++i) {
      rxv[i] = {in.data() + i * 2048, 2048};
      rx[i].msg_hdr = msghdr{};
      rx[i].msg_hdr.msg_iov = &rxv[i];
      rx[i].msg_hdr.msg_iovlen = 1;
    }
    const int r = ::recvmmsg(client, rx.data(), batch, MSG_DONTWAIT, nullptr);
    if (r > 0) {
      done += static_cast<std::uint64_t>(r);
      outstanding -= std::min<std::uint64_t>(outstanding, static_cast<std::uint64_t>(r));
    }
  }
  const double secs = seconds_since(start);
  stop = true;
  echo.join();
  ::close(server);
  ::close(client);
  return static_cast<double>(done) / secs;
}

// A minimal JSON object writer (numbers and strings), in insertion order.
class json_object {
 public:
  void add(const std::string& key, double v) {
    std::ostringstream o;
    o.precision(10);
    o << v;
    fields_.push_back("\"" + key + "\":" + o.str());
  }
  void add(const std::string& key, const std::string& v) {
    std::string e;
    for (char c : v) {
      if (c == '"' || c == '\\') e.push_back('\\');
      if (static_cast<unsigned char>(c) >= 0x20) e.push_back(c);
    }
    fields_.push_back("\"" + key + "\":\"" + e + "\"");
  }
  void add_raw(const std::string& key, const std::string& json) {
    fields_.push_back("\"" + key + "\":" + json);
  }
  std::string str() const {
    std::string s = "{";
    for (std::size_t i = 0; i < fields_.size(); ++i) s += (i ? "," : "") + fields_[i];
    return s + "}";
  }

 private:
  std::vector<std::string> fields_;
};

// The address of fleetsim device `device` (device 0 is 127.1.0.1, the default base).
inline std::string address_of(std::uint32_t device) {
  in_addr a{};
  a.s_addr = htonl((127u << 24 | 1u << 16 | 1u) + device);
  char text[INET_ADDRSTRLEN];
  ::inet_ntop(AF_INET, &a, text, sizeof text);
  return text;
}

// The fleetsim program serving `devices` devices on loopback (frozen clock, one worker thread).
struct fleet_run {
  std::unique_ptr<process> sim;
  std::uint16_t port = 0;
};

inline std::optional<fleet_run> start_fleetsim(const std::string& binary, std::uint32_t devices,
                                               const std::vector<std::string>& templates,
                                               const std::string& faults) {
  fleet_run r;
  for (int attempt = 0; attempt < 5; ++attempt) {
    r.port = static_cast<std::uint16_t>(20000 + (::getpid() * 7 + attempt * 131) % 40000);
    std::vector<std::string> argv = {binary,
                                     "--devices",
                                     std::to_string(devices),
                                     "--port",
                                     std::to_string(r.port),
                                     "--accel",
                                     "0",
                                     "--threads",
                                     "1"};
    for (const auto& t : templates) {
      argv.push_back("--templates");
      argv.push_back(t);
    }
    if (!faults.empty()) {
      argv.push_back("--faults");
      argv.push_back(faults);
    }
    r.sim = std::make_unique<process>(argv);
    if (r.sim->wait_for("ready in", 60s)) return r;
    std::cerr << "fleetsim did not start (" << r.sim->output() << "), trying another port\n";
  }
  return std::nullopt;
}

// Counts the IPv4 bytes (IP + UDP headers + payload) of every UDP datagram to or from one port
// on the loopback device, as the kernel delivers them: the same yardstick for every poller,
// whatever it reports itself. A raw packet socket (AF_PACKET) bound to "lo": needs root (or
// CAP_NET_RAW); available() is false otherwise. Each datagram is counted once (on receipt).
class loopback_counter {
 public:
  explicit loopback_counter(std::uint16_t port) : port_(port) {
    fd_ = ::socket(AF_PACKET, SOCK_DGRAM | SOCK_CLOEXEC, htons(ETH_P_IP));
    if (fd_ < 0) return;
    const int big = 64 << 20;
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof big);
    sockaddr_ll a{};
    a.sll_family = AF_PACKET;
    a.sll_protocol = htons(ETH_P_IP);
    a.sll_ifindex = static_cast<int>(::if_nametoindex("lo"));
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
      ::close(fd_);
      fd_ = -1;
      return;
    }
    thread_ = std::thread([this] { loop(); });
  }
  ~loopback_counter() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    if (fd_ >= 0) ::close(fd_);
  }
  loopback_counter(const loopback_counter&) = delete;
  loopback_counter& operator=(const loopback_counter&) = delete;

  bool available() const { return fd_ >= 0; }
  std::uint64_t bytes() const { return bytes_.load(); }
  std::uint64_t datagrams() const { return datagrams_.load(); }
  // Packets the kernel dropped because this counter fell behind (then bytes() is too low).
  std::uint64_t drops() {
    if (fd_ < 0) return 0;
    tpacket_stats st{};
    socklen_t len = sizeof st;
    if (::getsockopt(fd_, SOL_PACKET, PACKET_STATISTICS, &st, &len) == 0) drops_ += st.tp_drops;
    return drops_;
  }

 private:
  void loop() {
    std::vector<std::uint8_t> buf(65536);
    while (!stop_.load(std::memory_order_relaxed)) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      for (;;) {
        sockaddr_ll from{};
        socklen_t len = sizeof from;
        const ssize_t n = ::recvfrom(fd_, buf.data(), buf.size(), MSG_DONTWAIT,
                                     reinterpret_cast<sockaddr*>(&from), &len);
        if (n <= 0) break;
        if (from.sll_pkttype == PACKET_OUTGOING) continue;  // the same datagram is seen again
        if (static_cast<std::size_t>(n) < sizeof(iphdr) + sizeof(udphdr)) continue;
        const auto* ip = reinterpret_cast<const iphdr*>(buf.data());
        if (ip->protocol != IPPROTO_UDP) continue;
        const auto* udp = reinterpret_cast<const udphdr*>(buf.data() + std::size_t{ip->ihl} * 4);
        if (ntohs(udp->source) != port_ && ntohs(udp->dest) != port_) continue;
        bytes_ += ntohs(ip->tot_len);
        ++datagrams_;
      }
    }
  }
  std::uint16_t port_;
  int fd_ = -1;
  std::atomic<bool> stop_{false};
  std::atomic<std::uint64_t> bytes_{0}, datagrams_{0};
  std::uint64_t drops_ = 0;
  std::thread thread_;
};

}  // namespace fleetpoll::bench
