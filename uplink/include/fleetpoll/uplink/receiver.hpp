// fleetpoll::uplink::receiver — the provider side: `fleetpoll receive`.
//
// Logs in as the provider account (one xmpp_connection, reconnecting with backoff), announces
// its presence, approves presence subscriptions from the configured site accounts (refuses
// others), and for each <message/> carrying a <batch xmlns='urn:fleetpoll:batch:1'/>:
//   1. maps the sender's bare JID to a configured site (else: unknown_site, dropped);
//   2. checks the envelope names that site, opens the batch with the site's keyring
//      (bad tag, unknown key, malformed -> counted, logged, dropped; never a crash);
//   3. writes each record not yet held for (site, seq) as one JSON line
//      {"site":..,"seq":..,"created_ms":..,"received_ms":..,"record":{ChangeRecord}} —
//      records already held are counted as duplicates (a batch of nothing new is "replayed");
//   4. flushes (and with sync, fsyncs) the output, appends the written ranges to the state
//      ledger (state_path), and only then answers with an XEP-0184 receipt.
// The ledger ("site first last" lines) survives restarts, so deduplication does too.
//
// Threading: runs on a strand of `io`; start()/stop() from any thread. The record hook runs on
// that strand.
#pragma once

#include <atomic>
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
  // fsync the output and the ledger before acknowledging. Default: true
  bool sync = true;
  batch_limits limits;
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
