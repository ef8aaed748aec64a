// The uplink's side of the outbox, for the crash writers: reads batches after the last one read
// and acknowledges them in a shuffled order (as receipts from several connections would), and
// logs every step so the crash test can check what may and may not be gone after a SIGKILL.
// Log lines, each one write():
//   "R first last"  after read() handed out records first..last
//   "A first last"  after acknowledge(first, last) succeeded
// Runs on the calling thread until `done`; woken by the outbox's append listener.
#pragma once

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <random>
#include <utility>
#include <vector>

#include "fleetpoll/uplink/record_source.hpp"

namespace fleetpoll::storage::test {

class uplink_emulation {
 public:
  uplink_emulation(uplink::record_source& source, int log_fd, std::uint64_t seed)
      : source_(source), log_fd_(log_fd), rng_(seed * 7 + 1) {
    source_.set_append_listener([this] {
      {
        std::lock_guard lk(mu_);
        appended_ = true;
      }
      cv_.notify_one();
    });
  }
  ~uplink_emulation() { source_.set_append_listener({}); }

  void stop() {
    done_.store(true);
    cv_.notify_one();
  }

  void run() {
    std::vector<std::pair<std::uint64_t, std::uint64_t>> pending;
    std::uint64_t after = source_.first_unacknowledged() - 1;
    std::vector<uplink::outbox_record> batch;
    while (!done_.load()) {
      batch.clear();
      if (source_.read(after, 1 + rng_() % 40, 64 * 1024, batch)) continue;
      if (!batch.empty()) {
        say('R', batch.front().seq, batch.back().seq);
        pending.emplace_back(batch.front().seq, batch.back().seq);
        after = batch.back().seq;
      }
      if (pending.size() >= 3 || (batch.empty() && !pending.empty())) {
        const auto i = rng_() % pending.size();
        const auto [a, b] = pending[i];
        if (!source_.acknowledge(a, b)) {
          say('A', a, b);
          pending.erase(pending.begin() + static_cast<std::ptrdiff_t>(i));
        }
      }
      if (batch.empty() && pending.empty()) {
        std::unique_lock lk(mu_);
        cv_.wait_for(lk, std::chrono::milliseconds(50), [&] { return appended_ || done_.load(); });
        appended_ = false;
      }
    }
  }

 private:
  void say(char what, std::uint64_t a, std::uint64_t b) {
    char line[64];
    const int n =
        std::snprintf(line, sizeof line, "%c %llu %llu\n", what, static_cast<unsigned long long>(a),
                      static_cast<unsigned long long>(b));
    if (::write(log_fd_, line, static_cast<std::size_t>(n)) != n) std::abort();
  }

  uplink::record_source& source_;
  int log_fd_;
  std::mt19937_64 rng_;
  std::atomic<bool> done_{false};
  std::mutex mu_;
  std::condition_variable cv_;
  bool appended_ = false;
};

}  // namespace fleetpoll::storage::test
