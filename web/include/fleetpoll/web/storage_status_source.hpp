// fleetpoll::web::make_storage_status_source — the status_source of a running engine, over its
// live storage::store. Built only when the storage library is part of the build
// (FLEETPOLL_WEB_HAS_STORAGE is then defined for users of fleetpoll::web).
//
// devices(): store::devices() without forecasts, mapped to rows, cached for cache_for so a
// busy page or frequent scrapes cost one database scan per period (the handlers run on the
// engine's I/O thread). device(): store::history() of that device over `history` (samples only),
// giving the sparkline points and the forecast (storage::make_forecast over the supply's
// samples, the current level as the last point). uplink(): the callback given, else "not
// configured".
// Thread safety: any thread (the cache has a mutex; store queries are thread-safe).
// Ownership: the store must outlive the source.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>

#include "fleetpoll/web/status_source.hpp"

namespace fleetpoll::storage {
class store;
}

namespace fleetpoll::web {

struct storage_source_options {
  // How long a device list is reused. Default: 2 s
  std::chrono::milliseconds cache_for{2000};
  // History read for the detail page's sparklines and forecasts. Default: 30 days
  std::chrono::hours history{24 * 30};
  // The uplink's state (the engine fills it from its uplink pool and metrics).
  // Default: none ("not configured")
  std::function<uplink_state()> uplink;
  // Wall clock, Unix ms. Default: std::chrono::system_clock
  std::function<std::uint64_t()> clock;
};

std::shared_ptr<status_source> make_storage_status_source(storage::store& store,
                                                          storage_source_options options = {});

}  // namespace fleetpoll::web
