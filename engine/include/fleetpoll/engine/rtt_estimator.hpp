// fleetpoll::engine::rtt_estimator — per-device adaptive timeout (RFC 6298 style).
//
// Keeps a smoothed round-trip time and its variance from measured replies; the timeout is
// srtt + 4·rttvar, clamped to [min, max]. Samples come only from replies whose attempt is known
// (each retry has its own request-id), so retransmissions never pollute the estimate (Karn).
// Thread safety: none; one owner (the device's shard).
#pragma once

#include <algorithm>
#include <chrono>

namespace fleetpoll::engine {

class rtt_estimator {
 public:
  using duration = std::chrono::microseconds;

  struct limits {
    duration initial{1'000'000};  // Default: 1 s before any sample
    duration min{50'000};         // Default: 50 ms
    duration max{5'000'000};      // Default: 5 s
  };

  rtt_estimator() = default;
  explicit rtt_estimator(const limits& l) : limits_(l) {}

  void add_sample(duration rtt) noexcept {
    if (rtt.count() < 0) return;
    if (!have_sample_) {
      srtt_ = rtt;
      rttvar_ = rtt / 2;
      have_sample_ = true;
    } else {
      auto err = rtt > srtt_ ? rtt - srtt_ : srtt_ - rtt;
      rttvar_ = (rttvar_ * 3 + err) / 4;  // beta = 1/4
      srtt_ = (srtt_ * 7 + rtt) / 8;      // alpha = 1/8
    }
  }

  duration timeout() const noexcept {
    if (!have_sample_) return limits_.initial;
    return std::clamp(srtt_ + 4 * rttvar_, limits_.min, limits_.max);
  }

  bool has_sample() const noexcept { return have_sample_; }
  duration srtt() const noexcept { return srtt_; }
  duration rttvar() const noexcept { return rttvar_; }
  const limits& bounds() const noexcept { return limits_; }

 private:
  limits limits_{};
  duration srtt_{0};
  duration rttvar_{0};
  bool have_sample_ = false;
};

}  // namespace fleetpoll::engine
