// fleetpoll::uplink::receiver — the provider side: `fleetpoll receive`.
//
// Logs in as the provider account (one xmpp_connection, reconnecting with backoff), announces
// its presence, approves presence subscriptions from the configured site accounts (refuses
// others), and for each <message/> carrying a <batch xmlns='urn:fleetpoll:batch:1'/>:
//   1. maps the sender's bare JID to a configured site (else: unknown_site, dropped);
//   2. checks the envelope names that site, opens the batch with the site's keyring
//      (bad tag, unknown key, malformed -> counted, logged, dropped; never a crash);
//   3. writes the records in sequence order per site, each (site, seq) exactly once, as JSON
//      lines {"site":..,"seq":..,"created_ms":..,"received_ms":..,"record":{ChangeRecord}}.
//      Sequence numbers start at 1 with no gaps, so the receiver knows what comes next: a batch
//      that arrives ahead of a gap (the pool's connections may overtake each other) is held,
//      unacknowledged, until the gap is filled (at most 256 per site; beyond that the furthest
//      is dropped and the sender resends it). A batch holding nothing new is "replayed":
//      acknowledged again, nothing written;
//   4. flushes (and with sync, fdatasyncs) the output, appends the new high-water mark to the
//      state ledger (state_path, fdatasync'd too), and only then answers with XEP-0184 receipts.
//      Group commit: all batches handled in one turn of the event loop share one flush and sync.
// The ledger ("site 1 last" lines) survives restarts, so deduplication does too. A failed write
// of output or ledger aborts the process (nothing was acknowledged; the sender resends).
//
// Threading: runs on a strand of `io`; start()/stop() from any thread. The record hook runs on
// that strand.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "fleetpoll/uplink/batch_codec.hpp"
#include "fleetpoll/uplink/keys.hpp"
#include "fleetpoll/uplink/xmpp_connection.hpp"

namespace fleetpoll::uplink {

class receiver_metrics;

struct receiver_site {
  std::string id;   // site id carried in the batches
  std::string jid;  // the site's bare JID; batches for this site from any other JID are refused
  keyring keys;     // every key the site may use
};

struct receiver_options {
  // The provider's account. resource Default: "receiver" (set by the config loader).
  xmpp_options xmpp;
  std::vector<receiver_site> sites;
  // JSON lines output: a file path (appended) or "-" for standard output. Default: "-"
  std::string output = "-";
  // Deduplication ledger; "" keeps it in memory only (duplicates possible after a restart).
  // Default: ""
  std::string state_path;
  // fdatasync the output and the ledger before acknowledging. Default: true
  bool sync = true;
  batch_limits limits;
  // `fleetpoll receive` only: serve /metrics (the fleetpoll_receiver_* families) on this
  // "address:port" (numeric address, loopback unless chosen otherwise); "" = none. Default: ""
  std::string metrics_listen;
  // `fleetpoll receive` only: print the counters to standard error this often; 0 = at exit only.
  // Default: 60 s
  std::chrono::seconds stats_interval{60};
};

class receiver {
 public:
  struct stats {
    std::atomic<std::uint64_t> batches[6] = {};  // by batch_result
    std::atomic<std::uint64_t> records_written{0};
    std::atomic<std::uint64_t> records_duplicate{0};
    std::atomic<std::uint64_t> receipts_sent{0};
    std::atomic<bool> ready{false};
  };

  receiver(boost::asio::io_context& io, receiver_options options,
           receiver_metrics* metrics = nullptr);
  ~receiver();
  receiver(const receiver&) = delete;
  receiver& operator=(const receiver&) = delete;

  // Validates the options, opens output and ledger, starts the connection.
  std::error_code start();
  void stop();

  const stats& counters() const noexcept;
  // "batches accepted=.. replayed=.. ... records written=.. duplicate=.."
  std::string summary() const;
  // Called for every record written (site, record) — for benchmarks and tests.
  void set_record_hook(std::function<void(std::string_view site, const outbox_record& r)> hook);
  // Log lines (rejections, connection changes). Default: standard error.
  void set_logger(std::function<void(const std::string&)> log);

 private:
  struct impl;
  std::shared_ptr<impl> impl_;
};

}  // namespace fleetpoll::uplink
