// fleetpoll::engine::rtt_estimator — per-device adaptive timeout (RFC 6298 style).
//
// Keeps a smoothed round-trip time (srtt) and its mean deviation (rttvar) from measured replies;
// the timeout is srtt + 4·rttvar, clamped to [min, max]. Before the first sample the timeout is
// `initial`. Samples come only from replies whose attempt is known (every retry carries its own
// request-id), so retransmissions never pollute the estimate (Karn's rule).
//
// Size: 12 bytes; the limits live once per engine (rtt_limits), not per device, because one
// record exists for every polled device (100,000+).
// Thread safety: none; one owner (the device's shard).
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>

namespace fleetpoll::engine {

struct rtt_limits {
  using duration = std::chrono::microseconds;
  duration initial{1'000'000};  // Default: 1 s before a device's first reply
  duration min{50'000};         // Default: 50 ms (never time out faster than this)
  duration max{5'000'000};      // Default: 5 s (never wait longer than this for one attempt)
};

class rtt_estimator {
 public:
  using duration = std::chrono::microseconds;

  // Adds one measured round trip. Negative samples are ignored; samples saturate at ~71 min.
  void add_sample(duration rtt) noexcept {
    if (rtt.count() < 0) return;
    const std::uint32_t r = saturate(rtt.count());
    if (!have_sample_) {
      srtt_ = r;
      rttvar_ = r / 2;
      have_sample_ = true;
      return;
    }
    const std::uint32_t err = r > srtt_ ? r - srtt_ : srtt_ - r;
    rttvar_ = static_cast<std::uint32_t>((std::uint64_t{rttvar_} * 3 + err) / 4);  // beta = 1/4
    srtt_ = static_cast<std::uint32_t>((std::uint64_t{srtt_} * 7 + r) / 8);        // alpha = 1/8
  }

  // The timeout for the next first attempt: `initial` without a sample, else srtt + 4·rttvar
  // clamped to [min, max].
  duration timeout(const rtt_limits& l) const noexcept {
    if (!have_sample_) return l.initial;
    const duration t{std::int64_t{srtt_} + 4 * std::int64_t{rttvar_}};
    return std::clamp(t, l.min, std::max(l.min, l.max));
  }

  bool has_sample() const noexcept { return have_sample_; }
  duration srtt() const noexcept { return duration{srtt_}; }
  duration rttvar() const noexcept { return duration{rttvar_}; }

 private:
  static std::uint32_t saturate(std::int64_t us) noexcept {
    return us > 0xFFFFFFFFll ? 0xFFFFFFFFu : static_cast<std::uint32_t>(us);
  }
  std::uint32_t srtt_ = 0;    // microseconds
  std::uint32_t rttvar_ = 0;  // microseconds
  bool have_sample_ = false;
};

}  // namespace fleetpoll::engine
