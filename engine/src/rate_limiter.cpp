#include "fleetpoll/engine/rate_limiter.hpp"

#include <algorithm>

namespace fleetpoll::engine {

rate_limiter::rate_limiter(const options& o)
    : opts_(o), global_T_(interval(o.global_pps)), subnet_T_(interval(o.subnet_pps)) {}

rate_limiter::clock::duration rate_limiter::interval(double pps) const noexcept {
  if (pps <= 0) return clock::duration::zero();
  return std::chrono::duration_cast<clock::duration>(std::chrono::duration<double>(1.0 / pps));
}

std::uint64_t rate_limiter::subnet_key(const boost::asio::ip::address& addr) noexcept {
  if (addr.is_v4()) return (1ull << 63) | (addr.to_v4().to_uint() & 0xFFFFFF00u);
  auto b = addr.to_v6().to_bytes();
  std::uint64_t k = 0;
  for (int i = 0; i < 8; ++i) k = (k << 8) | b[static_cast<std::size_t>(i)];
  return k & ~(1ull << 63);
}

rate_limiter::reservation rate_limiter::reserve(const boost::asio::ip::address& addr,
                                                clock::time_point device_last,
                                                clock::time_point now) {
  // GCRA: a packet may leave at max(now, tat - tolerance); tat then advances by one interval.
  reservation r{now, bound_by::none};
  auto consider = [&](clock::time_point t, bound_by why) {
    if (t > r.at) r = {t, why};
  };
  if (device_last != clock::time_point{}) consider(device_last + opts_.device_min_gap, bound_by::device);

  bucket* subnet = nullptr;
  if (subnet_T_ != clock::duration::zero()) {
    if (subnets_.size() > 65536) {  // forget idle subnets so the map stays bounded
      std::erase_if(subnets_, [&](const auto& kv) { return kv.second.tat < now; });
    }
    subnet = &subnets_[subnet_key(addr)];
    auto tol = std::chrono::duration_cast<clock::duration>(subnet_T_ * opts_.burst);
    consider(subnet->tat - tol, bound_by::subnet);
  }
  if (global_T_ != clock::duration::zero()) {
    auto tol = std::chrono::duration_cast<clock::duration>(global_T_ * opts_.burst);
    consider(global_.tat - tol, bound_by::global);
  }
  if (subnet) subnet->tat = std::max(subnet->tat, r.at) + subnet_T_;
  if (global_T_ != clock::duration::zero()) global_.tat = std::max(global_.tat, r.at) + global_T_;
  return r;
}

}  // namespace fleetpoll::engine
