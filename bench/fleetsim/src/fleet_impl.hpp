// fleetsim internal: the state behind fleetsim::fleet, shared by fleet.cpp (API, templates,
// faults, time), server.cpp (UDP workers) and truth.cpp (ground truth).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <span>
#include <string_view>
#include <thread>
#include <vector>

#include "device_template.hpp"
#include "fleetpoll/fleetsim/fleetsim.hpp"
#include "model.hpp"

namespace fleetpoll::fleetsim {

// Everything a device owns: 16 bytes. Its identity and state are computed, not stored.
struct device_slot {
  std::atomic<std::uint32_t> received{0};
  std::atomic<std::uint32_t> sent{0};
  std::atomic<std::uint32_t> dropped{0};
  std::atomic<fault_mask> faults{0};
  std::atomic<std::uint16_t> params{0};  // 0: the fleet's fault_params, else custom_params[i]
};
static_assert(sizeof(device_slot) == 16);

// One worker's counters: written by that worker only (relaxed load + store, no lock prefix),
// read by anyone.
struct alignas(64) worker_counters {
  std::atomic<std::uint64_t> received{0}, answered{0}, sent{0}, send_errors{0}, not_device{0},
      not_loopback{0}, malformed{0}, oversize{0}, bad_community{0}, dropped_fault{0}, delayed{0},
      delayed_dropped{0}, too_big{0};
  void reset() {
    for (auto* a :
         {&received, &answered, &sent, &send_errors, &not_device, &not_loopback, &malformed,
          &oversize, &bad_community, &dropped_fault, &delayed, &delayed_dropped, &too_big})
      a->store(0, std::memory_order_relaxed);
  }
};
inline void bump(std::atomic<std::uint64_t>& c, std::uint64_t n = 1) {
  c.store(c.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
}

namespace detail {
struct builtin_template {
  std::string_view name;
  std::string_view text;
};
std::span<const builtin_template> builtin_templates();
}  // namespace detail

struct fleet::impl {
  options opts;
  const detail::profile_params* profile = nullptr;
  detail::model_config model_cfg;
  std::vector<std::unique_ptr<detail::device_template>> templates;
  std::vector<std::string> load_warnings;
  std::unique_ptr<device_slot[]> devices;
  std::uint32_t base = 0;  // host order
  std::uint32_t count = 0;

  mutable std::shared_mutex params_mu;
  std::vector<fault_params> custom_params;  // [0] = opts.faults.params

  mutable std::mutex time_mu;
  double sim_at_set = 0;
  std::chrono::steady_clock::time_point real_at_set;
  double accel = 1;

  std::mutex run_mu;
  int fd = -1;
  int wake_fd = -1;
  bool bound_lo = false;
  std::uint16_t bound_port = 0;
  std::atomic<bool> running{false};
  std::vector<std::thread> workers;
  std::vector<std::unique_ptr<worker_counters>> counters;
  double create_seconds = 0;   // fleet::create: templates and devices
  double startup_seconds = 0;  // start: socket and threads

  double sim_now() const;
  const detail::device_template& template_of(std::uint32_t dev) const {
    return *templates[dev % templates.size()];
  }
  fault_params params_of(std::uint32_t dev) const;
  bool living() const noexcept { return profile->living; }
};

// server.cpp
std::error_code start_server(fleet::impl& f, std::string& why);
void stop_server(fleet::impl& f);

// truth.cpp
device_truth make_truth(const fleet::impl& f, std::uint32_t device, double at);

}  // namespace fleetpoll::fleetsim
