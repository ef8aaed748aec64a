// fleetpoll::engine::rate_limiter — protects printers and networks from the poller.
//
// Three limits, all enforced as reservations (GCRA, "virtual scheduling"): a packet rate cap for
// the whole process, one per subnet (/24 for IPv4, /64 for IPv6), and a minimum gap between two
// requests to the same device. reserve() returns the earliest moment the next packet may leave
// and books it, so callers schedule the send at that moment instead of spinning. Bursts up to
// `burst` packets are allowed on an idle limit.
// Thread safety: none; one instance per shard (a shard owns its devices' subnets' share).
#pragma once

#include <chrono>
#include <cstdint>
#include <unordered_map>

#include <boost/asio/ip/address.hpp>

namespace fleetpoll::engine {

class rate_limiter {
 public:
  using clock = std::chrono::steady_clock;

  struct options {
    double global_pps = 5000;           // Default: 5,000 packets/s for the whole process (0 = no cap)
    double subnet_pps = 200;            // Default: 200 packets/s per /24 or /64 (0 = no cap)
    std::chrono::microseconds device_min_gap{10'000};  // Default: 10 ms between requests to one device
    double burst = 50;                  // Default: 50 packets may leave at once on an idle cap
  };

  // Which limit made a reservation wait (for metrics); `none` when it may leave now.
  enum class bound_by : std::uint8_t { none, device, subnet, global };

  struct reservation {
    clock::time_point at;
    bound_by reason = bound_by::none;
  };

  explicit rate_limiter(const options& o);

  // Books the next packet to `addr`, whose previous packet left (or is booked) at `device_last`
  // (time_point{} if never). Returns when it may be sent (>= now).
  reservation reserve(const boost::asio::ip::address& addr, clock::time_point device_last,
                      clock::time_point now);

  const options& opts() const noexcept { return opts_; }
  std::size_t subnet_count() const noexcept { return subnets_.size(); }

  // The subnet key of an address (/24 for IPv4, /64 for IPv6), exposed for tests and metrics.
  static std::uint64_t subnet_key(const boost::asio::ip::address& addr) noexcept;

 private:
  struct bucket {
    clock::time_point tat{};  // theoretical arrival time of the next packet
  };
  clock::duration interval(double pps) const noexcept;

  options opts_;
  clock::duration global_T_{}, subnet_T_{};
  bucket global_;
  std::unordered_map<std::uint64_t, bucket> subnets_;
};

}  // namespace fleetpoll::engine
