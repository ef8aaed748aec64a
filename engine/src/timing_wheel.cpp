#include "fleetpoll/engine/timing_wheel.hpp"

#include <algorithm>

namespace fleetpoll::engine {

timing_wheel::timing_wheel(std::uint32_t slots) {
  std::uint32_t n = 2;
  while (n < slots && n < (1u << 30)) n <<= 1;
  mask_ = n - 1;
  heads_.assign(n, none);
}

void timing_wheel::reserve(std::uint32_t n) {
  if (n <= due_.size()) return;
  prev_.resize(n, none);
  next_.resize(n, none);
  due_.resize(n, none_due());
}

void timing_wheel::unlink(std::uint32_t id) {
  const std::uint32_t slot = due_[id] & mask_;
  if (prev_[id] != none)
    next_[prev_[id]] = next_[id];
  else
    heads_[slot] = next_[id];
  if (next_[id] != none) prev_[next_[id]] = prev_[id];
  prev_[id] = next_[id] = none;
  due_[id] = none_due();
  --size_;
}

void timing_wheel::schedule(std::uint32_t id, std::uint32_t due) {
  if (id >= due_.size()) reserve(id + 1);
  if (due_[id] != none_due()) unlink(id);
  // Past (or present) ticks go to the current slot, which the next advance() visits first.
  const std::uint32_t at = std::max(due, current_);
  if (at == none_due()) return;  // the one tick value that means "not scheduled"
  due_[id] = at;
  const std::uint32_t slot = at & mask_;
  prev_[id] = none;
  next_[id] = heads_[slot];
  if (heads_[slot] != none) prev_[heads_[slot]] = id;
  heads_[slot] = id;
  ++size_;
}

void timing_wheel::cancel(std::uint32_t id) {
  if (id < due_.size() && due_[id] != none_due()) unlink(id);
}

}  // namespace fleetpoll::engine
