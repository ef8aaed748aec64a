// fleetpoll::engine::run_attachment — how storage, the uplink and the status page join
// `fleetpoll run` without the engine library depending on them.
//
// The fleetpoll program registers attachment factories in main() (register_run_attachment);
// run_fleetpoll() then, in this order:
//   1. loads the configuration (extension sections validated by their config_extension),
//   2. creates the HTTP server (not yet listening) and calls every attachment's start() with a
//      run_context: it may add sinks, metric families, HTTP routes; an error ends the run
//      (exit 1) after stopping the attachments already started,
//   3. starts the HTTP server and the engine,
//   4. on SIGHUP, after the engine took the new configuration, calls reload(new config),
//   5. on SIGINT/SIGTERM: stops the engine, flushes the sinks, calls drain() (bounded: finish
//      work that depends on the polls, e.g. send what is in the outbox), stops the HTTP server,
//      calls stop() in reverse order of start, and logs every attachment's status() line.
//
// Ownership: run_fleetpoll owns the attachments; what run_context refers to outlives them (the
// run_context itself does not: keep pointers to its referents, not to it).
// Thread safety: every method is called on the control thread (the one that runs
// run_fleetpoll), never concurrently. What an attachment adds to `sinks` is called from engine
// threads under the snapshot_sink contract.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "fleetpoll/engine/config.hpp"
#include "fleetpoll/engine/snapshot_sink.hpp"

namespace boost::asio {
class io_context;
}
namespace prometheus {
class Registry;
}
namespace fleetpoll::metrics {
class http_server;
}

namespace fleetpoll::engine {

class fanout_sink;

struct run_context {
  const config& cfg;                 // extension tables in cfg.extensions; paths vs cfg.base_dir
  fanout_sink& sinks;                // add sinks here (start() only)
  prometheus::Registry& registry;    // add metric families here
  metrics::http_server* http;        // add routes here (start() only); null: [metrics] off
  boost::asio::io_context& control;  // the control thread's io_context (timers, posts)
  std::function<std::string()> engine_status;  // one line about the engine (for pages)
};

class run_attachment {
 public:
  virtual ~run_attachment() = default;
  // Empty on success, else a sentence saying what failed (logged, run ends with exit 1).
  virtual std::string start(run_context& ctx) = 0;
  // A new configuration was accepted (SIGHUP). Apply what can be applied; log what cannot.
  virtual void reload(const config& next) { (void)next; }
  // The engine has stopped and the sinks are flushed; finish dependent work within `budget`.
  virtual void drain(std::chrono::milliseconds budget) { (void)budget; }
  // Stop and release everything. Called once, even when start() failed.
  virtual void stop() = 0;
  // One line for the periodic status log and the final log ("" = nothing to say).
  virtual std::string status() const { return {}; }
};

using run_attachment_factory = std::function<std::unique_ptr<run_attachment>()>;

// Registers a factory (from main(), before run_fleetpoll). Attachments start in registration
// order and stop in reverse.
void register_run_attachment(run_attachment_factory factory);

}  // namespace fleetpoll::engine
