// fleetpoll::engine::shape_priors — what devices of one model taught the walker, for the next
// device of that model.
//
// Devices with the same sysObjectID are usually the same model with the same MIB shape: the same
// tables of about the same length, the same vendor OIDs, the same quirks (a reply-size cap, a
// permuted reply). When a device's first poll learns its sysObjectID, the walker takes the
// shape of the last fully polled device of that model as its guess (walk_memory), so a cold poll
// of the 1,000th printer of a model costs what a warm poll costs. A guess is only a guess: every
// table is still walked to its end, and vendor OIDs a guess skipped are asked at the device's
// own periodic re-check (walk_options::recheck_scalars_every identity polls).
//
// Bounded: at most `max_models` models (the oldest learned is replaced first).
// Thread safety: none; one per shard.
#pragma once

#include <cstdint>
#include <deque>
#include <unordered_map>

#include "fleetpoll/codecs/oid.hpp"
#include "fleetpoll/engine/walker.hpp"

namespace fleetpoll::engine {

class shape_priors {
 public:
  explicit shape_priors(std::size_t max_models = 4096) : max_(max_models ? max_models : 1) {}

  static std::uint64_t key_of(const codecs::oid& sys_object_id) noexcept {
    std::uint64_t h = 0x9e3779b97f4a7c15ull ^ sys_object_id.size();
    for (auto a : sys_object_id.arcs()) h = (h ^ a) * 0x100000001b3ull;
    return h;
  }
  const walk_memory* find(std::uint64_t key) const {
    const auto it = models_.find(key);
    return it == models_.end() ? nullptr : &it->second;
  }
  void learn(std::uint64_t key, const walk_memory& m) {
    auto [it, fresh] = models_.insert_or_assign(key, m);
    if (!fresh) return;
    order_.push_back(key);
    if (order_.size() > max_) {
      models_.erase(order_.front());
      order_.pop_front();
    }
  }
  std::size_t size() const noexcept { return models_.size(); }

 private:
  std::size_t max_;
  std::unordered_map<std::uint64_t, walk_memory> models_;
  std::deque<std::uint64_t> order_;
};

}  // namespace fleetpoll::engine
