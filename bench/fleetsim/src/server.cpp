// fleetsim's UDP side: one socket for every device address, recvmmsg/sendmmsg batches, the
// destination learnt from IP_PKTINFO and used as the reply's source. Worker threads share the
// socket (no SO_REUSEPORT: another process of the same user could otherwise join the port and
// silently take a share of the traffic; docs/fleetsim.md).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <queue>

#include "agent.hpp"
#include "fleet_impl.hpp"

namespace fleetpoll::fleetsim {
namespace {

using clock = std::chrono::steady_clock;

constexpr std::size_t rx_slot = 4096;          // requests larger than this are dropped
constexpr std::size_t tx_slot = 65536 + 1024;  // any response fits
constexpr std::size_t max_delayed = 100000;    // slow replies waiting at once, per worker
constexpr std::uint32_t other_source_flip = 0x00800000u;
constexpr std::uint64_t tag_loss = 2001, tag_lossy = 2002, tag_noise = 2003;

// Points a msghdr at one address, one buffer and one control block.
void set_msg(msghdr& h, sockaddr_in* name, iovec* iov, void* control, std::size_t control_len) {
  h = {};
  h.msg_name = name;
  h.msg_namelen = sizeof(sockaddr_in);
  h.msg_iov = iov;
  h.msg_iovlen = 1;
  h.msg_control = control;
  h.msg_controllen = control_len;
}

struct delayed_reply {
  clock::time_point due;
  std::uint64_t seq = 0;
  sockaddr_in to{};
  std::uint32_t from = 0;  // host order
  std::uint32_t device = 0;
  std::uint32_t copies = 1;
  std::vector<std::uint8_t> bytes;
};
struct later {
  bool operator()(const delayed_reply& a, const delayed_reply& b) const {
    return a.due > b.due || (a.due == b.due && a.seq > b.seq);
  }
};

class worker {
 public:
  worker(fleet::impl& f, worker_counters& c)
      : f_(f), c_(c), model_(f.model_cfg), req_(std::make_unique<decoded_request>()) {
    const std::size_t b = f.opts.batch;
    rx_.resize(b * rx_slot);
    rx_msgs_.resize(b);
    rx_iov_.resize(b);
    rx_from_.resize(b);
    rx_ctl_.resize(b);
    tx_.resize(b * tx_slot);
    const std::size_t max_out = b * 17;
    tx_msgs_.resize(max_out);
    tx_iov_.resize(max_out);
    tx_to_.resize(max_out);
    tx_ctl_.resize(max_out);
    tx_dev_.resize(max_out);
  }

  void run() {
    pollfd fds[2] = {{f_.fd, POLLIN, 0}, {f_.wake_fd, POLLIN, 0}};
    while (f_.running.load(std::memory_order_relaxed)) {
      timespec ts{};
      timespec* timeout = nullptr;
      if (!delayed_.empty()) {
        const auto wait = std::max(clock::duration::zero(), delayed_.top().due - clock::now());
        const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(wait).count();
        ts.tv_sec = static_cast<time_t>(ns / 1000000000);
        ts.tv_nsec = static_cast<long>(ns % 1000000000);
        timeout = &ts;
      }
      const int r = ppoll(fds, 2, timeout, nullptr);
      if (r < 0 && errno != EINTR) break;
      if (!f_.running.load(std::memory_order_relaxed)) break;
      send_due();
      if (r > 0 && (fds[0].revents & POLLIN)) {
        for (int round = 0; round < 64; ++round) {  // drain, but look at the clock now and then
          const int n = receive();
          if (n <= 0) break;
          const double sim = f_.sim_now();
          for (int i = 0; i < n; ++i) handle(static_cast<std::size_t>(i), sim);
          flush();
          if (static_cast<std::size_t>(n) < f_.opts.batch ||
              !f_.running.load(std::memory_order_relaxed))
            break;
        }
      }
    }
  }

 private:
  int receive() {
    const std::size_t b = f_.opts.batch;
    for (std::size_t i = 0; i < b; ++i) {
      rx_iov_[i] = {rx_.data() + i * rx_slot, rx_slot};
      set_msg(rx_msgs_[i].msg_hdr, &rx_from_[i], &rx_iov_[i], rx_ctl_[i].data(), rx_ctl_[i].size());
      rx_msgs_[i].msg_len = 0;
    }
    int n;
    do n = recvmmsg(f_.fd, rx_msgs_.data(), static_cast<unsigned>(b), MSG_DONTWAIT, nullptr);
    while (n < 0 && errno == EINTR);
    if (n > 0) bump(c_.received, static_cast<std::uint64_t>(n));
    return n;
  }

  void drop(device_slot& slot, std::atomic<std::uint64_t>& counter) {
    bump(counter);
    slot.dropped.fetch_add(1, std::memory_order_relaxed);
  }

  void handle(std::size_t i, double sim) {
    const mmsghdr& m = rx_msgs_[i];
    const sockaddr_in& from = rx_from_[i];
    std::uint32_t dst = 0;
    bool have_dst = false;
    for (cmsghdr* c = CMSG_FIRSTHDR(const_cast<msghdr*>(&m.msg_hdr)); c;
         c = CMSG_NXTHDR(const_cast<msghdr*>(&m.msg_hdr), c)) {
      if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
        in_pktinfo pi;
        std::memcpy(&pi, CMSG_DATA(c), sizeof pi);
        dst = ntohl(pi.ipi_addr.s_addr);
        have_dst = true;
      }
    }
    const std::uint32_t src = ntohl(from.sin_addr.s_addr);
    if (!have_dst || from.sin_family != AF_INET || (src >> 24) != 127 || (dst >> 24) != 127) {
      bump(c_.not_loopback);  // never answer anything that is not loopback to loopback
      return;
    }
    if (dst < f_.base || dst - f_.base >= f_.count) {
      bump(c_.not_device);  // like a dead host: no answer
      return;
    }
    const std::uint32_t dev = dst - f_.base;
    device_slot& slot = f_.devices[dev];
    const std::uint32_t nth = slot.received.fetch_add(1, std::memory_order_relaxed);
    if (m.msg_hdr.msg_flags & MSG_TRUNC) return drop(slot, c_.oversize);
    decoded_request& req = *req_;
    if (decode_request({rx_.data() + i * rx_slot, m.msg_len}, req)) return drop(slot, c_.malformed);
    const auto& community = f_.opts.community;
    if (req.community.size() != community.size() ||
        !std::equal(req.community.begin(), req.community.end(), community.begin(),
                    [](std::uint8_t a, char b) { return a == static_cast<std::uint8_t>(b); }))
      return drop(slot, c_.bad_community);

    const fault_mask faults = slot.faults.load(std::memory_order_relaxed);
    const fault_params params =
        slot.params.load(std::memory_order_relaxed) ? f_.params_of(dev) : f_.opts.faults.params;
    const std::uint64_t seed = f_.opts.seed;
    if ((faults & mask_of(fault::dead)) ||
        ((faults & mask_of(fault::v1_only)) && req.version != 0) ||
        (params.loss > 0 && detail::unit(detail::hash(seed, tag_loss, dev, nth)) < params.loss) ||
        ((faults & mask_of(fault::lossy)) &&
         detail::unit(detail::hash(seed, tag_lossy, dev, nth)) < params.lossy_rate))
      return drop(slot, c_.dropped_fault);
    const detail::device_template& tpl = f_.template_of(dev);
    model_.reset(tpl, dev, static_cast<std::int64_t>(std::floor(sim)));
    if ((faults & mask_of(fault::sleepy)) &&
        model_.asleep(params.sleep_period_s, params.sleep_duration_s))
      return drop(slot, c_.dropped_fault);

    detail::device_view view(tpl, f_.living() ? &model_ : nullptr);
    const detail::answer_options ao{f_.opts.max_response_bytes, faults, params.too_big_varbinds,
                                    params.loop_back};
    detail::answer_stats st;
    const std::span<std::uint8_t> out =
        detail::answer(req, view, ao, ws_, {tx_.data() + i * tx_slot, tx_slot}, st);
    if (st.too_big) bump(c_.too_big);
    const std::size_t len = detail::damage(out, faults, detail::hash(seed, tag_noise, dev, nth));
    bump(c_.answered);
    const std::uint32_t reply_from =
        (faults & mask_of(fault::other_source)) ? dst ^ other_source_flip : dst;
    const std::uint32_t copies =
        1 + ((faults & mask_of(fault::duplicate)) ? params.duplicate_copies : 0);
    if (faults & mask_of(fault::slow)) {
      if (delayed_.size() >= max_delayed) return bump(c_.delayed_dropped);
      delayed_reply d;
      d.due = clock::now() + std::chrono::milliseconds(params.slow_ms);
      d.seq = seq_++;
      d.to = from;
      d.from = reply_from;
      d.device = dev;
      d.copies = copies;
      d.bytes.assign(out.data(), out.data() + len);
      delayed_.push(std::move(d));
      bump(c_.delayed);
      return;
    }
    for (std::uint32_t k = 0; k < copies; ++k) add_out(out.data(), len, from, reply_from, dev);
  }

  void add_out(std::uint8_t* data, std::size_t len, const sockaddr_in& to, std::uint32_t from,
               std::uint32_t dev) {
    if (out_ == tx_msgs_.size()) flush();
    const std::size_t k = out_++;
    tx_iov_[k] = {data, len};
    tx_to_[k] = to;
    tx_dev_[k] = dev;
    auto& h = tx_msgs_[k].msg_hdr;
    set_msg(h, &tx_to_[k], &tx_iov_[k], tx_ctl_[k].data(), CMSG_SPACE(sizeof(in_pktinfo)));
    cmsghdr* c = CMSG_FIRSTHDR(&h);
    c->cmsg_level = IPPROTO_IP;
    c->cmsg_type = IP_PKTINFO;
    c->cmsg_len = CMSG_LEN(sizeof(in_pktinfo));
    in_pktinfo pi{};
    pi.ipi_spec_dst.s_addr = htonl(from);
    std::memcpy(CMSG_DATA(c), &pi, sizeof pi);
  }

  // Counters are raised before the datagrams leave (a test that has the reply in hand sees them)
  // and lowered again for a datagram the kernel refuses.
  void flush() {
    for (std::size_t k = 0; k < out_; ++k)
      f_.devices[tx_dev_[k]].sent.fetch_add(1, std::memory_order_relaxed);
    bump(c_.sent, out_);
    std::size_t done = 0;
    while (done < out_) {
      const int r = sendmmsg(f_.fd, tx_msgs_.data() + done, static_cast<unsigned>(out_ - done), 0);
      if (r < 0) {
        if (errno == EINTR) continue;
        bump(c_.send_errors);  // this datagram is lost; go on with the next
        bump(c_.sent, static_cast<std::uint64_t>(-1));
        f_.devices[tx_dev_[done]].sent.fetch_sub(1, std::memory_order_relaxed);
        ++done;
        continue;
      }
      done += static_cast<std::size_t>(r);
    }
    out_ = 0;
  }

  void send_due() {
    const auto now = clock::now();
    sending_.clear();
    while (!delayed_.empty() && delayed_.top().due <= now && sending_.size() < f_.opts.batch) {
      sending_.push_back(std::move(const_cast<delayed_reply&>(delayed_.top())));
      delayed_.pop();
    }
    out_ = 0;
    for (auto& d : sending_)
      for (std::uint32_t k = 0; k < d.copies; ++k)
        add_out(d.bytes.data(), d.bytes.size(), d.to, d.from, d.device);
    flush();
  }

  fleet::impl& f_;
  worker_counters& c_;
  detail::device_model model_;
  detail::workspace ws_;
  std::unique_ptr<decoded_request> req_;
  std::vector<std::uint8_t> rx_, tx_;
  std::vector<mmsghdr> rx_msgs_, tx_msgs_;
  std::vector<iovec> rx_iov_, tx_iov_;
  std::vector<sockaddr_in> rx_from_, tx_to_;
  std::vector<std::array<char, CMSG_SPACE(sizeof(in_pktinfo))>> rx_ctl_, tx_ctl_;
  std::vector<std::uint32_t> tx_dev_;
  std::size_t out_ = 0;
  std::priority_queue<delayed_reply, std::vector<delayed_reply>, later> delayed_;
  std::vector<delayed_reply> sending_;
  std::uint64_t seq_ = 0;
};

std::error_code sys_error(std::string& why, const std::string& what) {
  const int e = errno;
  why = what + ": " + std::strerror(e);
  return {e, std::system_category()};
}

}  // namespace

std::error_code start_server(fleet::impl& f, std::string& why) {
  const auto t0 = clock::now();
  const int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return sys_error(why, "socket");
  auto fail = [&](const std::string& what) {
    auto ec = sys_error(why, what);
    close(fd);
    return ec;
  };
  const int one = 1;
  if (setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof one) < 0) return fail("IP_PKTINFO");
  f.bound_lo = false;
  if (f.opts.bind_to_loopback_device && setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, "lo", 3) == 0)
    f.bound_lo = true;  // else: wildcard bind, every non-loopback packet dropped and counted
  const int rcv = f.opts.receive_buffer_bytes, snd = 4 << 20;
  if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcv, sizeof rcv) < 0)
    (void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof rcv);
  if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &snd, sizeof snd) < 0)
    (void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &snd, sizeof snd);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(f.opts.port);
  a.sin_addr.s_addr = htonl(INADDR_ANY);
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) < 0)
    return fail("bind UDP port " + std::to_string(f.opts.port));
  socklen_t alen = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &alen);
  const int wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (wake < 0) return fail("eventfd");
  f.fd = fd;
  f.wake_fd = wake;
  f.bound_port = ntohs(a.sin_port);
  for (auto& c : f.counters) c->reset();
  f.running = true;
  for (unsigned i = 0; i < f.opts.threads; ++i) {
    f.workers.emplace_back([&f, i] {
      if (!f.opts.cpus.empty()) {
        cpu_set_t set;
        CPU_ZERO(&set);
        CPU_SET(f.opts.cpus[i % f.opts.cpus.size()], &set);
        pthread_setaffinity_np(pthread_self(), sizeof set, &set);
      }
      worker w(f, *f.counters[i]);
      w.run();
    });
  }
  f.startup_seconds = std::chrono::duration<double>(clock::now() - t0).count();
  return {};
}

void stop_server(fleet::impl& f) {
  if (!f.running) return;
  f.running = false;
  const std::uint64_t one = 1;
  (void)!write(f.wake_fd, &one, sizeof one);
  for (auto& t : f.workers) t.join();
  f.workers.clear();
  close(f.fd);
  close(f.wake_fd);
  f.fd = f.wake_fd = -1;
}

}  // namespace fleetpoll::fleetsim
