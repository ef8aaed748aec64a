// fleetpoll::engine::rate_limiter — protects printers and networks from the poller.
//
// Three limits, all enforced as reservations (GCRA, "virtual scheduling"): a packet-rate cap for
// the whole limiter (global), one per subnet (/24 for IPv4, /64 for IPv6 by default), and a
// minimum gap between two packets to the same device. reserve() returns the earliest moment the
// next packet may leave and books it, so callers schedule the send at that moment instead of
// spinning; the caller must then really send at (or after) that moment. On an idle cap up to
// `burst` packets may leave back to back; after that packets are spaced 1/pps apart, so over any
// window of length W at most burst + W·pps packets pass a cap.
//
// The engine runs one limiter per shard. Devices are sharded by subnet, so a subnet's cap is
// enforced exactly by one limiter; the global cap and its burst are divided evenly between the
// shards (rate_limits::global_burst), so all shards together keep burst + W·pps.
//
// Memory: one 8-byte entry per subnet seen recently; entries idle for a second are forgotten
// once the map holds more than 65,536 of them (checked at most once per second).
// Thread safety: none; one instance per shard.
#pragma once

#include <chrono>
#include <cstdint>
#include <unordered_map>

#include <boost/asio/ip/address.hpp>

namespace fleetpoll::engine {

struct rate_limits {
  // Packets per second for the whole process (all shards together); 0 = no cap.
  // Default: 2,000
  double global_pps = 2000;
  // Packets per second to one subnet; 0 = no cap. Default: 100 (per /24 or /64)
  double subnet_pps = 100;
  // Minimum time between two packets to the same device. Default: 10 ms
  std::chrono::microseconds device_min_gap{10'000};
  // Packets that may leave back to back on an idle subnet or global cap (>= 1). Default: 10
  double burst = 10;
  // Prefix lengths that define "subnet". Default: 24 (IPv4), 64 (IPv6)
  // The global cap's own burst when >= 1 (the engine gives each shard its share of `burst`);
  // below 1: `burst`. Not a configuration field. Default: 0
  double global_burst = 0;
  unsigned subnet_prefix_v4 = 24;
  unsigned subnet_prefix_v6 = 64;
};

class rate_limiter {
 public:
  using clock = std::chrono::steady_clock;

  // Which limit made a reservation wait (for metrics); `none` when it may leave now.
  enum class bound_by : std::uint8_t { none, device, subnet, global };

  struct reservation {
    clock::time_point at;  // when the packet may leave (>= now)
    bound_by reason = bound_by::none;
  };

  explicit rate_limiter(const rate_limits& limits);

  // Books the next packet to `addr`, whose previous packet left (or is booked) at `device_last`
  // (time_point{} if never).
  reservation reserve(const boost::asio::ip::address& addr, clock::time_point device_last,
                      clock::time_point now);

  const rate_limits& limits() const noexcept { return limits_; }
  std::size_t subnet_count() const noexcept { return subnets_.size(); }

  // The subnet key of an address under the given prefix lengths (exposed for sharding, tests).
  static std::uint64_t subnet_key(const boost::asio::ip::address& addr, unsigned prefix_v4 = 24,
                                  unsigned prefix_v6 = 64) noexcept;

 private:
  static clock::duration interval(double pps) noexcept;
  clock::duration tolerance(clock::duration period, double burst) const noexcept;

  rate_limits limits_;
  clock::duration global_T_{}, subnet_T_{};
  double global_burst_ = 1;
  clock::time_point global_tat_{};
  std::unordered_map<std::uint64_t, clock::time_point> subnets_;  // subnet -> its tat
  clock::time_point last_cleanup_{};
};

}  // namespace fleetpoll::engine
