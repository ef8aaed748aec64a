#include "fleetpoll/engine/udp_transport.hpp"

#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/post.hpp>

namespace fleetpoll::engine {

namespace asio = boost::asio;
using asio::ip::udp;

namespace {

udp::endpoint to_endpoint(const sockaddr_storage& sa, socklen_t len) {
  udp::endpoint ep;
  if (len <= ep.capacity()) {
    std::memcpy(ep.data(), &sa, len);
    ep.resize(len);
  }
  return ep;
}

// Room for one SO_RXQ_OVFL control message (a uint32 drop counter).
constexpr std::size_t control_bytes = CMSG_SPACE(sizeof(std::uint32_t));

}  // namespace

struct udp_transport::impl : std::enable_shared_from_this<impl> {
  impl(asio::io_context& ctx, const options& o) : io(ctx), opts(o), socket(io) {}

  asio::io_context& io;
  options opts;
  udp::socket socket;
  stats counters;
  receive_handler on_receive;
  bool receiving = false;
  bool flush_posted = false;
  bool waiting_writable = false;
  std::uint32_t overflow_base = 0;  // last SO_RXQ_OVFL value seen
  bool overflow_seen = false;

  // Send queue: destinations and payload slices of one arena.
  struct queued {
    sockaddr_storage to;
    socklen_t to_len;
    std::size_t offset, size;
  };
  std::vector<queued> queue;
  std::vector<std::uint8_t> arena;
  std::size_t queue_head = 0;  // first unsent entry
  std::vector<mmsghdr> tx_msgs;
  std::vector<iovec> tx_iov;

  // Receive buffers, allocated once at open().
  std::vector<std::uint8_t> rx_bytes;
  std::vector<mmsghdr> rx_msgs;
  std::vector<iovec> rx_iov;
  std::vector<sockaddr_storage> rx_from;
  std::vector<std::uint8_t> rx_control;

  void arm_receive() {
    if (!receiving || !socket.is_open()) return;
    socket.async_wait(udp::socket::wait_read,
                      [self = shared_from_this()](const boost::system::error_code& ec) {
                        if (ec || !self->receiving) return;
                        self->drain();
                        self->arm_receive();
                      });
  }

  void note_overflow(const msghdr& h) {
    for (cmsghdr* c = CMSG_FIRSTHDR(&h); c != nullptr;
         c = CMSG_NXTHDR(const_cast<msghdr*>(&h), c)) {
      if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SO_RXQ_OVFL) continue;
      std::uint32_t v = 0;
      std::memcpy(&v, CMSG_DATA(c), sizeof v);
      if (!overflow_seen) {
        overflow_seen = true;
        counters.receive_overflows += v;  // counted since the socket opened
      } else {
        counters.receive_overflows += static_cast<std::uint32_t>(v - overflow_base);
      }
      overflow_base = v;
    }
  }

  void drain() {
    const int fd = socket.native_handle();
    const std::size_t n = opts.batch, cap = opts.max_datagram;
    // At most 16 batches per wake-up, so sends and timers get their turn under load.
    for (int round = 0; round < 16 && receiving; ++round) {
      for (std::size_t i = 0; i < n; ++i) {
        rx_iov[i] = {rx_bytes.data() + i * cap, cap};
        rx_msgs[i].msg_hdr = msghdr{};
        rx_msgs[i].msg_hdr.msg_name = &rx_from[i];
        rx_msgs[i].msg_hdr.msg_namelen = sizeof(sockaddr_storage);
        rx_msgs[i].msg_hdr.msg_iov = &rx_iov[i];
        rx_msgs[i].msg_hdr.msg_iovlen = 1;
        rx_msgs[i].msg_hdr.msg_control = rx_control.data() + i * control_bytes;
        rx_msgs[i].msg_hdr.msg_controllen = control_bytes;
      }
      const int got =
          ::recvmmsg(fd, rx_msgs.data(), static_cast<unsigned>(n), MSG_DONTWAIT, nullptr);
      ++counters.receive_calls;
      if (got <= 0) return;
      const auto now = clock::now();
      for (std::size_t i = 0; i < static_cast<std::size_t>(got) && receiving; ++i) {
        auto& m = rx_msgs[i];
        note_overflow(m.msg_hdr);
        if (m.msg_hdr.msg_flags & MSG_TRUNC) {
          ++counters.truncated;
          continue;
        }
        ++counters.datagrams_received;
        counters.bytes_received += m.msg_len;
        on_receive(to_endpoint(rx_from[i], m.msg_hdr.msg_namelen),
                   {rx_bytes.data() + i * cap, m.msg_len}, now);
      }
      if (static_cast<std::size_t>(got) < n) return;
    }
  }

  void post_flush() {
    if (flush_posted || waiting_writable || queue_head >= queue.size()) return;
    flush_posted = true;
    asio::post(io, [self = shared_from_this()] {
      self->flush_posted = false;
      self->flush();
    });
  }

  void flush() {
    if (waiting_writable || !socket.is_open()) return;
    const int fd = socket.native_handle();
    while (queue_head < queue.size()) {
      const std::size_t n = std::min(opts.batch, queue.size() - queue_head);
      tx_msgs.assign(n, mmsghdr{});
      tx_iov.assign(n, iovec{});
      for (std::size_t i = 0; i < n; ++i) {
        auto& q = queue[queue_head + i];
        tx_iov[i] = {arena.data() + q.offset, q.size};
        tx_msgs[i].msg_hdr.msg_name = &q.to;
        tx_msgs[i].msg_hdr.msg_namelen = q.to_len;
        tx_msgs[i].msg_hdr.msg_iov = &tx_iov[i];
        tx_msgs[i].msg_hdr.msg_iovlen = 1;
      }
      const int sent = ::sendmmsg(fd, tx_msgs.data(), static_cast<unsigned>(n), MSG_DONTWAIT);
      ++counters.send_calls;
      if (sent < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS || errno == EINTR) {
          waiting_writable = true;  // socket buffer full: resume when writable
          socket.async_wait(udp::socket::wait_write,
                            [self = shared_from_this()](const boost::system::error_code& ec) {
                              self->waiting_writable = false;
                              if (!ec) self->flush();
                            });
          return;
        }
        ++counters.send_errors;  // the first datagram was refused: drop it, go on
        ++queue_head;
        continue;
      }
      for (std::size_t i = 0; i < static_cast<std::size_t>(sent); ++i) {
        ++counters.datagrams_sent;
        counters.bytes_sent += queue[queue_head + i].size;
      }
      queue_head += static_cast<std::size_t>(sent);
    }
    queue.clear();
    arena.clear();
    queue_head = 0;
  }
};

udp_transport::stats& udp_transport::stats::operator+=(const stats& o) noexcept {
  datagrams_sent += o.datagrams_sent;
  bytes_sent += o.bytes_sent;
  send_errors += o.send_errors;
  send_calls += o.send_calls;
  datagrams_received += o.datagrams_received;
  bytes_received += o.bytes_received;
  receive_calls += o.receive_calls;
  truncated += o.truncated;
  receive_overflows += o.receive_overflows;
  return *this;
}

udp_transport::udp_transport(asio::io_context& io, const options& opts)
    : impl_(std::make_shared<impl>(io, opts)) {}

udp_transport::~udp_transport() {
  close();
}

std::error_code udp_transport::open(const endpoint& local) {
  boost::system::error_code ec;
  auto& s = impl_->socket;
  if (s.is_open()) return std::make_error_code(std::errc::already_connected);
  s.open(local.protocol(), ec);
  if (!ec && local.address().is_v6()) s.set_option(asio::ip::v6_only(true), ec);
  if (!ec) s.bind(local, ec);
  if (ec) {
    boost::system::error_code ignore;
    s.close(ignore);
    return ec;
  }
  boost::system::error_code ignore;
  s.set_option(asio::socket_base::receive_buffer_size(impl_->opts.receive_buffer_bytes), ignore);
  s.set_option(asio::socket_base::send_buffer_size(impl_->opts.send_buffer_bytes), ignore);
  s.native_non_blocking(true, ignore);
  const int one = 1;
  (void)::setsockopt(s.native_handle(), SOL_SOCKET, SO_RXQ_OVFL, &one, sizeof one);
  auto& o = impl_->opts;
  o.batch = std::clamp<std::size_t>(o.batch, 1, 1024);
  o.max_datagram = std::clamp<std::size_t>(o.max_datagram, 512, 65536);
  const std::size_t n = o.batch;
  impl_->rx_bytes.assign(n * o.max_datagram, 0);
  impl_->rx_msgs.assign(n, mmsghdr{});
  impl_->rx_iov.assign(n, iovec{});
  impl_->rx_from.assign(n, sockaddr_storage{});
  impl_->rx_control.assign(n * control_bytes, 0);
  return {};
}

udp_transport::endpoint udp_transport::local_endpoint() const {
  boost::system::error_code ec;
  return impl_->socket.local_endpoint(ec);
}

bool udp_transport::is_open() const noexcept {
  return impl_->socket.is_open();
}

const udp_transport::stats& udp_transport::counters() const noexcept {
  return impl_->counters;
}

std::size_t udp_transport::queued() const noexcept {
  return impl_->queue.size() - impl_->queue_head;
}

void udp_transport::start(receive_handler on_receive) {
  impl_->on_receive = std::move(on_receive);
  impl_->receiving = true;
  impl_->arm_receive();
}

void udp_transport::send(const endpoint& to, std::span<const std::uint8_t> bytes) {
  auto& im = *impl_;
  if (!im.socket.is_open() || to.size() > sizeof(sockaddr_storage)) {
    ++im.counters.send_errors;
    return;
  }
  impl::queued q{};
  std::memcpy(&q.to, to.data(), to.size());
  q.to_len = static_cast<socklen_t>(to.size());
  q.offset = im.arena.size();
  q.size = bytes.size();
  im.arena.insert(im.arena.end(), bytes.begin(), bytes.end());
  im.queue.push_back(q);
  if (im.queue.size() - im.queue_head >= im.opts.batch) im.flush();
  im.post_flush();
}

void udp_transport::close() {
  if (!impl_) return;
  auto& im = *impl_;
  im.receiving = false;
  boost::system::error_code ignore;
  im.socket.close(ignore);
  im.queue.clear();
  im.arena.clear();
  im.queue_head = 0;
}

}  // namespace fleetpoll::engine
