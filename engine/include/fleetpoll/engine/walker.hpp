// fleetpoll::engine::walker — fetches scalars and walks tables of one device into a mib_view.
//
// A walk_plan names scalar instances (fetched with GET) and table columns (walked). With SNMPv2c
// the walker sends GETBULK over several columns per request; with SNMPv1 it sends GETNEXT over
// several columns per request. It learns per device how many repetitions fit: it shrinks
// max-repetitions on tooBig or timeout and lets it creep back up after clean replies, and keeps
// replies under the path MTU by estimating bytes per varbind. Exceptions (endOfMibView,
// noSuchObject, noSuchInstance) and leaving the column end that column. An agent that repeats or
// goes backwards (seen on some LaserJets) is tolerated: out-of-order rows are skipped and counted,
// and a column that makes no progress is stopped with walk_loop. A column longer than
// max_rows_per_column is stopped with walk_runaway. Neither fails the walk: the rows got so far are
// kept and the stop is reported in walk_result::column_errors.
//
// Ownership: the caller owns the client, the device and the walk_state; they outlive the walk.
// Thread safety: none; runs on the client's io_context thread.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <system_error>
#include <vector>

#include "fleetpoll/codecs/mib_view.hpp"
#include "fleetpoll/engine/snmp_client.hpp"

namespace fleetpoll::engine {

struct walk_plan {
  std::vector<codecs::oid> scalars;  // instances for GET (e.g. 1.3.6.1.2.1.1.1.0)
  std::vector<codecs::oid> columns;  // column (or table) roots to walk
};

struct walk_options {
  std::size_t columns_per_request = 6;         // Default: 6 columns per GETBULK/GETNEXT
  std::size_t scalars_per_request = 24;        // Default: 24 names per GET
  std::size_t max_rows_per_column = 4096;      // Default: 4,096 rows, then walk_runaway
  std::size_t reply_budget_bytes = 1400;       // Default: aim replies under a 1,500-byte MTU
  std::int32_t max_repetitions_cap = 50;       // Default: never ask for more than 50 rows
};

// What a device taught the walker; kept by the caller between polls.
struct walk_state {
  std::int32_t max_repetitions = 10;  // learned; starts at 10
  double bytes_per_varbind = 40;      // learned estimate of reply bytes per varbind
};

struct walk_stats {
  std::uint32_t requests = 0;
  std::uint32_t attempts = 0;  // datagrams sent, retries included
  std::uint64_t bytes_sent = 0, bytes_received = 0;
  std::uint32_t varbinds = 0;
  std::uint32_t too_big = 0;
  std::uint32_t out_of_order = 0;
};

struct column_error {
  codecs::oid column;
  std::error_code ec;  // walk_loop or walk_runaway
};

struct walk_result {
  std::error_code ec;  // first fatal error (timeout, too_big, decode_failed, ...) or empty
  codecs::mib_view view;
  std::vector<column_error> column_errors;
  walk_stats stats;
};

using walk_completion = std::function<void(walk_result&&)>;

// Starts a walk; `done` runs once on the io_context when it ends.
void async_walk(snmp_client& client, device& dev, walk_state& state, const walk_plan& plan,
                const walk_options& opts, walk_completion done);

}  // namespace fleetpoll::engine
