// fleetpoll::web::supply_gauges — supply levels as Prometheus gauges, read from a status_source
// at scrape time (nothing runs between scrapes).
//
// Always exported (bounded label sets):
//   fleetpoll_supplies{state="ok"|"low"|"empty"|"unknown"}      supplies across the fleet
//   fleetpoll_devices_needing_attention{reason="low_supply"|"empty_supply"|"alerts"|"down"}
//   fleetpoll_device_supply_devices_suppressed   devices left out by the cap at the last scrape
//   fleetpoll_device_supply_series_suppressed_total  series left out, summed over scrapes
//   fleetpoll_status_source_errors_total          scrapes whose source read failed
// Opt-in (per_device = true), one series per device and supply — cardinality devices x supplies:
//   fleetpoll_device_supply_percent{device_id,device,address,supply_index,supply}  0..100
//       (only supplies with a number; receptacles: how full)
//   fleetpoll_device_supply_low{...}    1 when low or empty, else 0
//   fleetpoll_device_supply_empty{...}  1 when empty (receptacle full), else 0
// Cardinality cap: at most max_devices devices get per-device series — the ones with the
// smallest ids (numeric order, so the set is stable between scrapes). The rest are counted in the
// _suppressed families and still count in fleetpoll_supplies. Label values are cut to 64 bytes,
// invalid UTF-8 and control characters replaced, so device data cannot break the exposition.
//
// Thread safety: Collect() may run on any thread; the suppressed-series counter is atomic.
// Ownership: holds the source by shared_ptr.
#pragma once

#include <atomic>
#include <cstddef>
#include <memory>
#include <vector>

#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>

#include "fleetpoll/web/status_source.hpp"

namespace fleetpoll::web {

struct supply_gauges_options {
  // Export per-device supply series. Default: false (only the fleet-level families)
  bool per_device = false;
  // Devices that get per-device series at most. Default: 1000 (about 4000-8000 series)
  std::size_t max_devices = 1000;
};

class supply_gauges final : public prometheus::Collectable {
 public:
  supply_gauges(std::shared_ptr<status_source> source, supply_gauges_options options = {});
  std::vector<prometheus::MetricFamily> Collect() const override;

  // Family names this collectable can export (for tests and docs).
  static const std::vector<const char*>& family_names();

 private:
  std::shared_ptr<status_source> source_;
  supply_gauges_options options_;
  mutable std::atomic<double> suppressed_series_{0};
  mutable std::atomic<double> source_errors_{0};
};

}  // namespace fleetpoll::web
