// fleetpoll::engine::timing_wheel — when each of many devices is next due, in O(1).
//
// A single-level hashed timing wheel over 32-bit ids (device indices) and 32-bit ticks. An id is
// in the wheel at most once; schedule() moves it. Each slot is an intrusive doubly linked list
// threaded through per-id prev/next arrays (8 bytes per id), so scheduling and cancelling are
// O(1) and nothing is allocated after reserve(). An entry due more than `slots` ticks ahead
// stays in its slot and is skipped until its turn comes round (it costs one look per turn).
//
// advance(now, fn) calls fn(id, due) for every id due at or before `now`, in slot order, after
// removing it from the wheel; fn may schedule ids again (also the one it was called with).
// Thread safety: none (one per shard).
#pragma once

#include <cstdint>
#include <vector>

namespace fleetpoll::engine {

class timing_wheel {
 public:
  static constexpr std::uint32_t none = 0xFFFFFFFFu;

  // `slots` is rounded up to a power of two (at least 2).
  explicit timing_wheel(std::uint32_t slots = 4096);

  // Makes room for ids [0, n).
  void reserve(std::uint32_t n);

  // Puts id in the wheel at tick `due` (moving it if it is there already). A due tick before the
  // wheel's current tick fires at the next advance().
  void schedule(std::uint32_t id, std::uint32_t due);
  void cancel(std::uint32_t id);
  bool scheduled(std::uint32_t id) const noexcept {
    return id < due_.size() && due_[id] != none_due();
  }
  std::uint32_t due(std::uint32_t id) const noexcept { return due_[id]; }

  template <class F>
  void advance(std::uint32_t now, F&& fn) {
    if (now < current_) return;
    // Visit every slot from the current tick to now (at most one full turn); collect first, so
    // fn may reschedule anything.
    const std::uint64_t span = static_cast<std::uint64_t>(now) - current_;
    const std::uint64_t steps = span >= mask_ ? std::uint64_t{mask_} + 1 : span + 1;
    fired_.clear();
    for (std::uint64_t s = 0; s < steps; ++s) {
      const auto slot = static_cast<std::uint32_t>((current_ + s) & mask_);
      for (std::uint32_t id = heads_[slot]; id != none;) {
        const std::uint32_t nxt = next_[id];
        if (due_[id] <= now) {
          fired_.push_back({id, due_[id]});
          unlink(id);
        }
        id = nxt;
      }
    }
    current_ = now;
    for (const auto& f : fired_) fn(f.id, f.due);
  }

  std::uint32_t current() const noexcept { return current_; }
  std::uint32_t size() const noexcept { return size_; }

 private:
  static constexpr std::uint32_t none_due() noexcept { return 0xFFFFFFFFu; }
  void unlink(std::uint32_t id);

  std::uint32_t mask_;
  std::uint32_t current_ = 0;
  std::uint32_t size_ = 0;
  std::vector<std::uint32_t> heads_;
  std::vector<std::uint32_t> prev_, next_, due_;
  struct fired {
    std::uint32_t id, due;
  };
  std::vector<fired> fired_;
};

}  // namespace fleetpoll::engine
