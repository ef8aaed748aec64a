// Test harness: a minimal HTTP CONNECT proxy on loopback, written for the tests (no Debian proxy
// is needed). It accepts "CONNECT host:port HTTP/1.1", allows only loopback targets, answers
// "200 Connection established" and relays bytes both ways, counting them and keeping a copy of
// what the client sent (up to 4 MiB) so tests can check that nothing crossed in clear.
// One thread accepts; one thread per tunnel relays (poll()). stop() (and the destructor) close
// every socket and join every thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace fleetpoll::uplink::test {

class connect_proxy {
 public:
  connect_proxy();
  ~connect_proxy();
  connect_proxy(const connect_proxy&) = delete;
  connect_proxy& operator=(const connect_proxy&) = delete;

  std::uint16_t port() const { return port_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  void stop();
  // Cuts every open tunnel (both sides see the TCP connection end) and keeps accepting new ones:
  // a network failure between client and server.
  void drop_tunnels();

  std::uint64_t tunnels() const { return tunnels_; }
  std::uint64_t bytes_up() const { return up_; }      // client -> server, after the CONNECT header
  std::uint64_t bytes_down() const { return down_; }  // server -> client
  std::string client_bytes();                         // copy of everything the clients sent
  std::vector<std::string> requests();                // the CONNECT request lines

 private:
  void accept_loop();
  void relay(int client);
  int listen_fd_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<std::uint64_t> tunnels_{0}, up_{0}, down_{0};
  std::thread acceptor_;
  std::mutex mu_;
  std::vector<std::thread> relays_;
  std::vector<int> fds_;
  std::string captured_;
  std::vector<std::string> requests_;
};

}  // namespace fleetpoll::uplink::test
