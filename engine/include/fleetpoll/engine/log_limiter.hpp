// fleetpoll::engine::log_limiter — keeps floods of similar log lines readable.
//
// allow() says whether one more line of a kind may be written: at most `burst` per `window`;
// the rest are counted, and the first allowed call of a later window reports how many were
// suppressed (suppressed_since_last()), so the operator sees "… and 4,211 more".
// Thread safety: all members may be called from any thread (one small mutex).
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>

namespace fleetpoll::engine {

class log_limiter {
 public:
  using clock = std::chrono::steady_clock;

  // Default: 20 lines per 10 s.
  explicit log_limiter(std::uint32_t burst = 20,
                       std::chrono::seconds window = std::chrono::seconds{10})
      : burst_(burst), window_(window) {}

  // True: write this line. `suppressed` receives how many lines were held back since the last
  // line written (write it along), else 0.
  bool allow(std::uint64_t& suppressed, clock::time_point now = clock::now()) {
    std::lock_guard lock(mutex_);
    if (now - window_start_ >= window_) {
      window_start_ = now;
      used_ = 0;
    }
    if (used_ < burst_) {
      ++used_;
      suppressed = held_;
      held_ = 0;
      return true;
    }
    ++held_;
    suppressed = 0;
    return false;
  }

 private:
  std::mutex mutex_;
  std::uint32_t burst_;
  clock::duration window_;
  clock::time_point window_start_{};
  std::uint32_t used_ = 0;
  std::uint64_t held_ = 0;
};

}  // namespace fleetpoll::engine
