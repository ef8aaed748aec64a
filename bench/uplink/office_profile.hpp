// A modelled office change stream (until fleetsim supplies the real one): what one workday of
// change records looks like for a fleet of office printers. The model, per printer per workday:
//   counter_delta   one per counter poll (every counter_minutes, default 20) between 08:00 and
//                   18:00 in which the printer printed (probability 0.6 per 20 minutes,
//                   scaled to the interval)                         ~18.0 at 20 min, ~8.4 at 60

//   supply_level    a 5-point level step; 3 supplies, each emptied in ~45 days    ~1.3
//   supply_low / supply_reorder / supply_empty / supply_replaced
//                   once per cartridge cycle each (45 days, 3 supplies)           ~0.27
//   alert_raised + alert_cleared
//                   paper out, jams, covers: 0.6 per day, cleared 5-30 min later  ~1.2
//   status_changed  wake in the morning, sleep in the evening                      2
//   heartbeat       once a day, at a random time                                   1
//   identity        once a month                                                  ~0.03
//   device_down + device_up
//                   0.05 per day, back 10-60 min later                            ~0.1
// Deterministic for a given seed.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace fleetpoll::uplink::bench {

struct timed_record {
  std::uint64_t at_ms;  // milliseconds since the simulated day's midnight
  std::string bytes;    // ChangeRecord
  bool urgent;          // a kind the sender seals within max_delay
};

// All records of one workday for `printers` printers, in time order (seq not yet assigned:
// the outbox assigns it; the record's own seq field is left 0).
std::vector<timed_record> office_day(std::uint32_t printers, std::uint32_t counter_minutes = 20,
                                     std::uint64_t seed = 1);

}  // namespace fleetpoll::uplink::bench
