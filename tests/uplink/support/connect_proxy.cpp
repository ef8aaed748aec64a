#include "connect_proxy.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <charconv>
#include <cstring>

namespace fleetpoll::uplink::test {

connect_proxy::connect_proxy() {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len);
  port_ = ntohs(a.sin_port);
  ::listen(listen_fd_, 16);
  acceptor_ = std::thread([this] { accept_loop(); });
}

connect_proxy::~connect_proxy() {
  stop();
}

void connect_proxy::stop() {
  if (stopping_.exchange(true)) return;
  ::shutdown(listen_fd_, SHUT_RDWR);
  ::close(listen_fd_);
  if (acceptor_.joinable()) acceptor_.join();
  std::vector<std::thread> relays;
  {
    std::lock_guard lock(mu_);
    for (int fd : fds_) ::shutdown(fd, SHUT_RDWR);
    relays.swap(relays_);
  }
  for (auto& t : relays) t.join();
  std::lock_guard lock(mu_);
  for (int fd : fds_) ::close(fd);
  fds_.clear();
}

void connect_proxy::drop_tunnels() {
  std::lock_guard lock(mu_);
  for (int fd : fds_) ::shutdown(fd, SHUT_RDWR);
}

std::string connect_proxy::client_bytes() {
  std::lock_guard lock(mu_);
  return captured_;
}

std::vector<std::string> connect_proxy::requests() {
  std::lock_guard lock(mu_);
  return requests_;
}

void connect_proxy::accept_loop() {
  while (!stopping_) {
    pollfd p{listen_fd_, POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) continue;
    int c = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (c < 0) continue;
    std::lock_guard lock(mu_);
    if (stopping_) {
      ::close(c);
      break;
    }
    fds_.push_back(c);
    relays_.emplace_back([this, c] { relay(c); });
  }
}

void connect_proxy::relay(int client) {
  // Request header, byte by byte up to the blank line (at most 8 KiB).
  std::string head;
  char ch;
  while (head.find("\r\n\r\n") == std::string::npos && head.size() < 8192) {
    if (::recv(client, &ch, 1, 0) != 1) return;
    head += ch;
  }
  std::string line = head.substr(0, head.find("\r\n"));
  {
    std::lock_guard lock(mu_);
    requests_.push_back(line);
  }
  auto reply = [&](const char* text) {
    (void)!::send(client, text, std::strlen(text), MSG_NOSIGNAL);
  };
  // "CONNECT 127.0.0.1:5222 HTTP/1.1"
  if (line.rfind("CONNECT ", 0) != 0) return reply("HTTP/1.1 405 Method Not Allowed\r\n\r\n");
  std::string target = line.substr(8, line.find(' ', 8) - 8);
  auto colon = target.rfind(':');
  std::string host = target.substr(0, colon);
  std::uint16_t port = 0;
  std::from_chars(target.data() + colon + 1, target.data() + target.size(), port);
  if (host != "127.0.0.1" && host != "localhost")
    return reply("HTTP/1.1 403 Forbidden\r\n\r\n");  // loopback only
  int up = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  {
    std::lock_guard lock(mu_);
    fds_.push_back(up);
  }
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  if (::connect(up, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0)
    return reply("HTTP/1.1 502 Bad Gateway\r\n\r\n");
  reply("HTTP/1.1 200 Connection established\r\n\r\n");
  ++tunnels_;
  char buf[16384];
  pollfd p[2] = {{client, POLLIN, 0}, {up, POLLIN, 0}};
  while (!stopping_) {
    if (::poll(p, 2, 200) < 0) break;
    bool done = false;
    for (int i = 0; i < 2; ++i) {
      if ((p[i].revents & (POLLIN | POLLHUP | POLLERR)) == 0) continue;
      ssize_t n = ::recv(p[i].fd, buf, sizeof buf, 0);
      if (n <= 0) {
        done = true;
        break;
      }
      if (i == 0) {
        up_ += static_cast<std::uint64_t>(n);
        std::lock_guard lock(mu_);
        if (captured_.size() < 4 * 1024 * 1024) captured_.append(buf, static_cast<std::size_t>(n));
      } else {
        down_ += static_cast<std::uint64_t>(n);
      }
      if (::send(p[1 - i].fd, buf, static_cast<std::size_t>(n), MSG_NOSIGNAL) != n) {
        done = true;
        break;
      }
    }
    if (done) break;
  }
  ::shutdown(client, SHUT_RDWR);
  ::shutdown(up, SHUT_RDWR);
}

}  // namespace fleetpoll::uplink::test
