#include "fleetpoll/engine/rate_limiter.hpp"

#include <algorithm>
#include <cmath>

namespace fleetpoll::engine {

namespace {
constexpr std::size_t max_idle_subnets = 65536;
}

rate_limiter::rate_limiter(const rate_limits& limits)
    : limits_(limits),
      global_T_(interval(limits.global_pps)),
      subnet_T_(interval(limits.subnet_pps)) {
  if (!(limits_.burst >= 1)) limits_.burst = 1;
  global_burst_ = limits_.global_burst >= 1 ? limits_.global_burst : limits_.burst;
}

rate_limiter::clock::duration rate_limiter::interval(double pps) noexcept {
  if (!(pps > 0) || !std::isfinite(pps)) return clock::duration::zero();
  return std::chrono::duration_cast<clock::duration>(std::chrono::duration<double>(1.0 / pps));
}

rate_limiter::clock::duration rate_limiter::tolerance(clock::duration period,
                                                      double burst) const noexcept {
  return std::chrono::duration_cast<clock::duration>(period * (burst - 1.0));
}

std::uint64_t rate_limiter::subnet_key(const boost::asio::ip::address& addr, unsigned prefix_v4,
                                       unsigned prefix_v6) noexcept {
  if (addr.is_v4()) {
    const unsigned p = std::min(prefix_v4, 32u);
    const std::uint32_t mask = p == 0 ? 0 : ~std::uint32_t{0} << (32 - p);
    return (1ull << 63) | (addr.to_v4().to_uint() & mask);
  }
  const auto b = addr.to_v6().to_bytes();
  std::uint64_t k = 0;
  for (int i = 0; i < 8; ++i) k = (k << 8) | b[static_cast<std::size_t>(i)];
  const unsigned p = std::min(prefix_v6, 64u);
  const std::uint64_t mask = p == 0 ? 0 : ~std::uint64_t{0} << (64 - p);
  return (k & mask) & ~(1ull << 63);  // top bit tells the families apart
}

rate_limiter::reservation rate_limiter::reserve(const boost::asio::ip::address& addr,
                                                clock::time_point device_last,
                                                clock::time_point now) {
  // GCRA: a packet conforms at t >= tat - tolerance; booking it moves tat to max(tat, t) + T.
  reservation r{now, bound_by::none};
  auto consider = [&](clock::time_point t, bound_by why) {
    if (t > r.at) r = {t, why};
  };
  if (device_last != clock::time_point{})
    consider(device_last + limits_.device_min_gap, bound_by::device);

  clock::time_point* subnet = nullptr;
  if (subnet_T_ != clock::duration::zero()) {
    if (subnets_.size() > max_idle_subnets && now - last_cleanup_ > std::chrono::seconds(1)) {
      last_cleanup_ = now;
      std::erase_if(subnets_,
                    [&](const auto& kv) { return kv.second + std::chrono::seconds(1) < now; });
    }
    subnet = &subnets_[subnet_key(addr, limits_.subnet_prefix_v4, limits_.subnet_prefix_v6)];
    consider(*subnet - tolerance(subnet_T_, limits_.burst), bound_by::subnet);
  }
  if (global_T_ != clock::duration::zero())
    consider(global_tat_ - tolerance(global_T_, global_burst_), bound_by::global);
  if (subnet) *subnet = std::max(*subnet, r.at) + subnet_T_;
  if (global_T_ != clock::duration::zero()) global_tat_ = std::max(global_tat_, r.at) + global_T_;
  return r;
}

}  // namespace fleetpoll::engine
