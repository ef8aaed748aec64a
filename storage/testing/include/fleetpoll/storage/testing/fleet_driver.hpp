// fleetpoll::storage::testing — drives a simulated office fleet through a real store, the way the
// engine will: each device polled per data class at its cadence (staggered), a device that is
// switched off reported with device_unreachable() once per outage. Used by the fleet test, the
// crash writer and the benchmark (until the engine polls fleetsim).
// Thread safety: run_fleet() uses `threads` threads of its own; the store is shared.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "fleetpoll/storage/store.hpp"
#include "fleetpoll/storage/testing/office_sim.hpp"

namespace fleetpoll::storage::testing {

struct fleet_options {
  int first_device = 0;
  int devices = 100;
  std::uint64_t start_ms = sim_epoch_ms;
  std::uint64_t end_ms = sim_epoch_ms + day_ms;
  std::uint64_t seed = 1;
  int threads = 2;
  cadence poll_cadence;
  office_profile profile;
  // Checked between device steps; true stops the run early. Default: never.
  std::function<bool()> stop;
  // Called (from any worker) every `progress_every` polls with the total so far.
  std::function<void(std::uint64_t)> progress;
  std::uint64_t progress_every = 1000;
};

struct fleet_result {
  std::uint64_t polls = 0;  // ingest() calls
  std::uint64_t samples =
      0;  // values those polls carried (supply and tray levels, counters, status)
  std::uint64_t unreachable = 0;  // device_unreachable() calls
  std::uint64_t errors = 0;       // calls that returned an error
  double ingest_seconds = 0;  // time spent inside ingest() and device_unreachable(), all threads
  std::vector<std::unique_ptr<office_printer>> printers;  // the simulated devices, with their truth
};

// Runs the fleet from start_ms to end_ms in one-minute steps.
fleet_result run_fleet(store& db, const fleet_options& o);

}  // namespace fleetpoll::storage::testing
