// fleetpoll::engine::walker — fetches one device's scalars and walks its tables into a mib_view.
//
// One walk = one poll of one device for a set of data classes (a mask of class_bit()s). It
// fetches the poll_plan's scalars and units (subtrees) of those classes, one request at a time
// (printers get at most one outstanding request), in as few requests and bytes as it can:
//
// * SNMPv2c: GETBULK. Scalars known to exist (and the system group) ride as non-repeaters, asked
//   as GETNEXT of the OID just before them (for a `….0` instance its parent, for which GETNEXT is
//   exact); scalars of unknown presence are asked with GET. Vendor-private scalars are asked
//   only for the brand the device's sysObjectID names (scalar_wanted); units ride as repeaters,
//   several per request. max-repetitions is sized from what the device taught earlier polls
//   (walk_memory: rows per unit, bytes per varbind) so one request usually ends a table and its
//   reply stays under `reply_budget_bytes` (the path MTU by default).
// * SNMPv1: GETNEXT over several items per request; noSuchName (error-index) ends that item.
// * Version not known yet: SNMPv2c first; a device silent to every attempt gets one SNMPv1
//   GETNEXT before the walk gives up. The reply's version is the device's version
//   (walk_result::version).
// * Learned max-repetitions per device: halved on tooBig and on a GETBULK timeout, creeping back
//   up (x1.25) after clean full replies. tooBig at one repetition halves the items per request.
// * endOfMibView / noSuchObject / noSuchInstance, and leaving the subtree, end an item.
// * tooBig also teaches a cap on varbinds per reply (halved; after 8 clean polls at a cap it
//   creeps back up by an eighth).
// * Out-of-order OIDs are tolerated (kept, counted); an OID already seen in this walk is ignored;
//   a unit whose reply brings nothing new is stopped (walk loop); a unit over
//   max_varbinds_per_unit or a walk over max_requests is stopped (runaway). Neither fails the
//   walk: the stop is counted, the other classes go on, and the stopped subtree's class is not
//   reported complete (its table would look shorter than it is).
// * An agent that permutes the varbinds of a reply (detected: an OID that is new yet not after
//   the one its position follows) has that reply discarded and is remembered
//   (walk_memory::reorders_varbinds): from then on it gets GET for scalars (answers matched by
//   name) and one subtree per GETBULK/GETNEXT (answers matched by prefix, in any order).
// * Every request's retries come out of one per-poll retry budget; a request that times out on a
//   device that has answered this poll is asked again while the budget lasts.
// * While a request only waits on a retransmission (an attempt timed out unanswered), the walk
//   tells walk_hooks::on_wait; the first reply after that goes through walk_hooks::on_answer,
//   which may park the walk until the caller has room for it again (the engine's poll slots).
//
// A walk fails (walk_result::ec) on a timeout it cannot shrink away, a reply that never decodes,
// an agent error it cannot attribute to an item, or cancellation. Classes whose items all
// finished before that are still reported complete (walk_result::classes_complete).
//
// Ownership: the caller owns the client, the peer and the walk_memory; they must outlive the walk
// (cancel the peer's requests to end it early: the walk then completes with `cancelled`).
// Thread safety: none; runs on the client's io_context thread.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <system_error>

#include "fleetpoll/codecs/mib_view.hpp"
#include "fleetpoll/engine/poll_plan.hpp"
#include "fleetpoll/engine/snmp_client.hpp"

namespace fleetpoll::engine {

class shape_priors;

struct walk_options {
  std::size_t reply_budget_bytes = 1400;    // Default: replies under a 1,500-byte MTU
  std::int32_t max_repetitions_start = 32;  // Default: 32 before the device taught anything
  std::int32_t max_repetitions_cap = 64;    // Default: never ask for more than 64
  std::size_t max_names_per_request = 48;   // Default: 48 varbinds per request
  std::size_t max_varbinds_per_unit =
      10000;                       // Default: 10,000 OIDs under one subtree, then runaway
  std::size_t max_requests = 500;  // Default: 500 requests per walk, then runaway
  int retry_budget = 4;            // Default: 4 retransmissions per walk (all requests)
  // Scalars a device did not have are skipped on later identity polls, except on every Nth
  // identity poll, which asks all of them again. Default: 7
  std::uint8_t recheck_scalars_every = 7;
  // Called with one line per request and per reply (for `probe --trace`). Default: none
  std::function<void(const std::string&)> trace;
  // Shapes learned per model (sysObjectID), shared by the walks of one shard (shape_priors.hpp).
  // Default: none (each device learns alone)
  shape_priors* priors = nullptr;
};

// What a device taught the walker; kept by the caller between polls (52 bytes).
struct walk_memory {
  std::uint32_t enterprise = 0;                  // from sysObjectID; 0 = not yet, 0xFFFFFFFF = none
  std::uint32_t scalars_known = 0;               // bit i: plan scalar i has been asked
  std::uint32_t scalars_present = 0;             // bit i: ... and answered with a value
  std::uint32_t units_known = 0;                 // bit u: unit_varbinds[u] was learned
  std::array<std::uint8_t, 28> unit_varbinds{};  // OIDs under unit u last time (saturates at 255)
  std::uint8_t max_repetitions = 0;              // learned; 0 = walk_options::max_repetitions_start
  std::uint8_t max_varbinds = 0;       // learned cap on varbinds per reply (tooBig); 0 = none
  std::uint8_t bytes_per_varbind = 0;  // learned reply bytes per varbind; 0 = not yet
  std::uint8_t identity_polls = 0;     // identity polls since every scalar was asked
  std::uint8_t clean_replies = 0;      // clean polls at a learned cap since it last changed
  std::uint8_t flags = 0;              // reorders_varbinds
  static constexpr std::uint8_t reorders_varbinds = 1;  // the agent permutes varbinds in a reply
};

struct walk_stats {
  std::uint32_t requests = 0;
  std::uint32_t attempts = 0;                        // datagrams sent, retries included
  std::uint64_t bytes_sent = 0, bytes_received = 0;  // UDP payload
  std::uint32_t varbinds = 0;                        // varbinds received
  std::uint32_t too_big = 0;
  std::uint32_t out_of_order = 0;
  std::uint32_t loops = 0;
  std::uint32_t runaways = 0;
  std::uint32_t no_such_name = 0;
  std::uint32_t shrinks = 0;  // max-repetitions or items per request reduced
  std::uint32_t retries() const noexcept { return attempts > requests ? attempts - requests : 0; }
};

struct walk_result {
  std::error_code ec;  // first fatal error, or empty
  codecs::mib_view view;
  std::uint32_t classes_asked = 0;
  std::uint32_t classes_complete = 0;           // every item of the class finished at its end
  bool answered = false;                        // at least one reply arrived (the device is alive)
  std::optional<codecs::snmp_version> version;  // the version the device answered with
  walk_stats stats;
};

using walk_completion = std::function<void(walk_result&&)>;

// A walk parked by walk_hooks::on_answer with a reply in hand. Call resume() exactly once, on
// the walk's thread: true lets the walk go on with that reply, false ends it as `cancelled`
// (classes complete before still reported). Holding the pointer keeps the walk alive.
class parked_walk {
 public:
  virtual ~parked_walk() = default;
  virtual void resume(bool go_on) = 0;
};

// Optional hooks through which the caller (the engine's poll slots) learns when a walk only
// waits on a silent device and when it works again. Both run on the walk's thread, may start
// other walks, and must not cancel this walk's requests. Default: none (the walk never waits).
struct walk_hooks {
  // The walk is waiting on a retransmission: an attempt timed out unanswered and the walk (or
  // its client) asks again. Called at every such timeout of the walk, not only the first.
  std::function<void()> on_wait;
  // A reply (an answer, not a timeout) arrived while the walk was waiting. Return true to go on
  // at once; false parks the walk with the reply in hand until `parked->resume()`.
  std::function<bool(std::shared_ptr<parked_walk> parked)> on_answer;
};

// Starts a walk of the classes in `classes` (a mask of class_bit()). `version_known` false makes
// the walk fall back to SNMPv1 when the device is silent to SNMPv2c. `done` runs once on the
// io_context.
void async_walk(snmp_client& client, peer& dev, walk_memory& memory, bool version_known,
                const poll_plan& plan, std::uint32_t classes, const walk_options& opts,
                walk_completion done, walk_hooks hooks = {});

}  // namespace fleetpoll::engine
