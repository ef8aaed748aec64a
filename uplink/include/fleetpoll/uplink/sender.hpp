// fleetpoll::uplink::sender — the site side: batches change records from a record_source and
// sends them over a pool of XMPP connections until the receiver acknowledges each one.
//
// Contract
//   * Pool: pool_size connections under one account, resources "<resource>-1", "-2", ...; each
//     reconnects on its own with backoff and jitter while the others carry on.
//   * Presence: every connection asks for the receiver's presence (subscribe) and sends its own.
//     Batches are sent only while at least one receiver resource is available, addressed to it.
//   * Batching: records are read in sequence order into a batch that is sealed when it holds
//     max_batch_bytes of records (or max_batch_records), or when its oldest record has waited its
//     class's delay: max_delay for urgent kinds (alert raised, supply reorder/low/empty, device
//     down, identity, counter reset), routine_delay for the rest (counter deltas, level steps,
//     replacements, alert clears, status, device up, heartbeats), which also travel with the next
//     urgent batch. Sealed: see batch_codec.hpp.
//   * Delivery: each batch carries an XEP-0184 receipt request; the receipt acknowledges its
//     range in the record_source. A batch whose connection dropped, that was in flight when the
//     receiver left, or that is not acknowledged within ack_timeout is sent again (the receiver
//     deduplicates by (site, seq)). After a restart, reading resumes at
//     source.first_unacknowledged(). At most window batches are in flight per connection.
//   * Audit: every batch sent and acknowledged, and (audit_records) every record's JSON at its
//     first send, is appended to audit_path as JSON lines (docs/security.md).
//
// Threading: the sender runs on a strand of `io`; start() and stop() may be called from any
// thread; stop() returns after the pool is told to stop (the io_context may then be stopped).
// The record_source and keyring must outlive the sender.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <system_error>

#include <boost/asio/io_context.hpp>

#include "fleetpoll/uplink/keys.hpp"
#include "fleetpoll/uplink/record_source.hpp"
#include "fleetpoll/uplink/xmpp_connection.hpp"

namespace fleetpoll::uplink {

class uplink_metrics;

struct sender_options {
  // The site's XMPP account; `resource` gets "-N" appended per pool connection.
  xmpp_options xmpp;
  // Bare JID of the provider's receiver, e.g. "provider@fleet.example". Required.
  std::string receiver_jid;
  // This site's id ([A-Za-z0-9._-]{1,64}). Required.
  std::string site;
  // Connections in the pool. Default: 2
  std::size_t pool_size = 2;
  // Record bytes per batch before it is sealed. Default: 64 KiB
  std::size_t max_batch_bytes = std::size_t{64} * 1024;
  // Records per batch before it is sealed. Default: 4096
  std::size_t max_batch_records = 4096;
  // Longest wait of an urgent record before its batch is sealed. Default: 800 ms (a batch is
  // sealed within 1 s; the margin lets a lone urgent record reach the receiver within 1 s).
  std::chrono::milliseconds max_delay{800};
  // Longest wait of a routine record (counter delta, level step, heartbeat). Default: 15 min
  // (the provider acts on urgent kinds; routine ones ride along with them or wait, which makes
  // batches larger and cheaper: docs/wire-format.md, "Batching").
  std::chrono::milliseconds routine_delay{15 * 60'000};
  // The server's stanza size limit; batches are kept well under it. Default: 256 KiB (prosody)
  std::size_t server_stanza_limit = std::size_t{256} * 1024;
  // Batches in flight (sent, not acknowledged) per connection. Default: 16 (enough to keep the
  // receiver's disk syncs overlapped)
  std::size_t window = 16;
  // Resend a batch not acknowledged after this long. Default: 30 s
  std::chrono::milliseconds ack_timeout{30'000};
  // Audit log (JSON lines, appended); "" = none. Default: ""
  std::string audit_path;
  // Also write each record's JSON to the audit log at its first send. Default: true
  bool audit_records = true;
  // zstd level for batches of 16 KiB of records or more. Default: 3
  int zstd_level = 3;
  // zstd level for smaller batches. Default: 19
  int zstd_level_small = 19;
};

class sender {
 public:
  struct stats {
    std::atomic<std::uint64_t> batches_sent{0};
    std::atomic<std::uint64_t> batches_acknowledged{0};
    std::atomic<std::uint64_t> batches_retried{0};
    std::atomic<std::uint64_t> records_sent{0};
    std::atomic<std::uint64_t> records_acknowledged{0};
    std::atomic<std::uint64_t> connections_ready{0};
    std::atomic<std::uint64_t> ready_events{0};    // sessions that reached ready (incl. resumed)
    std::atomic<std::uint64_t> resumed_events{0};  // of which XEP-0198 resumptions
    std::atomic<std::uint64_t> failures{0};        // sessions that failed or ended
    std::atomic<std::uint64_t> auth_failures{0};
    std::atomic<std::uint64_t> tls_failures{0};
    std::atomic<bool> receiver_available{false};
    std::atomic<std::uint64_t> bytes_sent{0};  // XMPP stream bytes (before TLS)
  };

  sender(boost::asio::io_context& io, record_source& source, const keyring& keys,
         sender_options options, uplink_metrics* metrics = nullptr);
  ~sender();
  sender(const sender&) = delete;
  sender& operator=(const sender&) = delete;

  // Checks the options and the key, opens the audit log, starts the pool.
  std::error_code start();
  void stop();

  const stats& counters() const noexcept;

 private:
  struct impl;
  std::shared_ptr<impl> impl_;
};

}  // namespace fleetpoll::uplink
