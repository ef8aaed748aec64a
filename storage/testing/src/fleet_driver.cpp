#include "fleetpoll/storage/testing/fleet_driver.hpp"

#include <chrono>
#include <mutex>
#include <thread>

namespace fleetpoll::storage::testing {

fleet_result run_fleet(store& db, const fleet_options& o) {
  fleet_result result;
  for (int i = 0; i < o.devices; ++i)
    result.printers.push_back(
        std::make_unique<office_printer>(o.first_device + i, o.start_ms, o.seed, o.profile));
  std::atomic<std::uint64_t> polls{0}, samples{0}, unreachable{0}, errors{0}, busy_ns{0};
  const int threads = std::max(1, o.threads);
  auto worker = [&](int w) {
    std::vector<office_printer*> mine;
    for (std::size_t i = static_cast<std::size_t>(w); i < result.printers.size();
         i += static_cast<std::size_t>(threads))
      mine.push_back(result.printers[i].get());
    std::vector<bool> down(mine.size(), false);
    std::uint64_t local_ns = 0;
    for (std::uint64_t t = o.start_ms + minute_ms; t <= o.end_ms; t += minute_ms) {
      if (o.stop && o.stop()) break;
      for (std::size_t k = 0; k < mine.size(); ++k) {
        office_printer& p = *mine[k];
        p.advance_to(t);
        const bool first = t == o.start_ms + minute_ms;
        std::uint8_t due = first ? 0x1F : due_classes(o.poll_cadence, p.number(), t - minute_ms, t);
        if (!due) continue;
        const auto started = std::chrono::steady_clock::now();
        std::error_code ec;
        if (!p.powered()) {
          if (down[k]) continue;  // reported once per outage
          down[k] = true;
          ec = db.device_unreachable(p.address(), t, 3, "timeout");
          ++unreachable;
        } else {
          if (down[k]) due = 0x1F;  // back: the engine polls everything once
          down[k] = false;
          const auto& spec = p.spec();
          const auto buf = build_snapshot(spec, t);
          poll_record r;
          r.address = p.address();
          r.at_ms = t;
          r.classes = due;
          r.snapshot = std::span(buf.data(), buf.size());
          const auto b = std::chrono::steady_clock::now();
          ec = db.ingest(r);
          local_ns +=
              static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                             std::chrono::steady_clock::now() - b)
                                             .count());
          std::uint64_t n = 0;
          if (due & 0x08) n += spec.supplies.size() + spec.trays.size();
          if (due & 0x10) n += spec.markers.size();
          if (due & 0x02) n += 1;
          samples += n;
          const auto total = ++polls;
          if (o.progress && total % o.progress_every == 0) o.progress(total);
          if (ec) ++errors;
          continue;
        }
        local_ns += static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                                   std::chrono::steady_clock::now() - started)
                                                   .count());
        if (ec) ++errors;
      }
    }
    busy_ns += local_ns;
  };
  std::vector<std::thread> pool;
  for (int w = 1; w < threads; ++w) pool.emplace_back(worker, w);
  worker(0);
  for (auto& th : pool) th.join();
  result.polls = polls;
  result.samples = samples;
  result.unreachable = unreachable;
  result.errors = errors;
  result.ingest_seconds = static_cast<double>(busy_ns.load()) / 1e9;
  return result;
}

}  // namespace fleetpoll::storage::testing
