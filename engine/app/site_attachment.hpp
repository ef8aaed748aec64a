// The fleetpoll program's attachment to `fleetpoll run`: storage, the uplink and the status page
// of one site, configured by the [storage], [xmpp] + [uplink] and [status] sections of
// fleetpoll.toml (docs/configuration.md).
//
//   [storage]  -> storage::store + storage::engine_sink (every poll lands in RocksDB; what
//                 changed becomes a record in the outbox)
//   [uplink]   -> uplink::sender over storage::outbox_source (needs [storage]): the outbox goes
//                 to the provider's receiver; on stop the outbox is drained within
//                 --drain-timeout
//   [status]   -> web::status_page on the metrics HTTP server (/status, /api/status) and the
//                 supply gauges on /metrics (needs [storage] and [metrics] enabled)
//
// register_site_attachment() (from main(), before any parse) registers the sections with the
// configuration parser and the attachment with `fleetpoll run`. Every section is optional; with
// none of them `fleetpoll run` only polls (and writes [output] jsonl when set).
// Thread safety: see run_attachment.hpp (control thread only).
#pragma once

namespace fleetpoll::app {

void register_site_attachment();

}  // namespace fleetpoll::app
