#include "fleetpoll/engine/walker.hpp"

#include "fleetpoll/engine/shape_priors.hpp"

#include <algorithm>
#include <memory>
#include <unordered_set>

namespace fleetpoll::engine {

namespace {

using codecs::oid;
using codecs::pdu_type;
using codecs::snmp_version;

constexpr std::int32_t err_too_big = 1;
constexpr std::int32_t err_no_such_name = 2;
// Fixed bytes of a reply besides its varbinds (message, PDU and list headers, community).
constexpr std::size_t reply_overhead_bytes = 48;
// What one more request/reply pair costs on the wire beyond its varbinds (SNMP headers both ways
// plus IP/UDP headers): a repeater is packed into a request only if the repetitions it would
// waste cost less than this.
constexpr std::size_t request_pair_bytes = 150;
constexpr std::size_t default_bytes_per_varbind = 40;
constexpr std::uint32_t no_enterprise = 0xFFFFFFFFu;  // walk_memory::enterprise: sysObjectID absent
// Polls with a full reply at a learned cap (max-repetitions, varbinds per reply) and no tooBig
// before the cap creeps up: an agent with a hard limit then costs one tooBig every 8 polls.
constexpr std::uint8_t creep_after = 8;

const oid system_group{1, 3, 6, 1, 2, 1, 1};

bool below(const oid& name, const oid& prefix) {
  return name.size() > prefix.size() && name.starts_with(prefix);
}

std::uint64_t oid_hash(const oid& o) noexcept {
  std::uint64_t h = 1469598103934665603ull;
  for (auto a : o.arcs()) {
    h ^= a;
    h *= 1099511628211ull;
  }
  return h ^ o.size();
}

bool has_value(const codecs::value& v) {
  return !v.is_exception() && v.type != codecs::value_type::null;
}

// The OID whose GETNEXT is `name` when `name` exists: the parent for a ….0 instance (exact: no
// OID lies between a parent and its .0 child), else the same OID with the last arc minus one.
std::optional<oid> predecessor(const oid& name) {
  if (name.size() < 2) return std::nullopt;
  auto arcs = name.arcs();
  if (arcs.back() == 0) return oid(arcs.first(arcs.size() - 1));
  std::vector<std::uint32_t> v(arcs.begin(), arcs.end());
  --v.back();
  return oid(std::move(v));
}

class walk_op final : public parked_walk, public std::enable_shared_from_this<walk_op> {
 public:
  walk_op(snmp_client& c, peer& d, walk_memory& m, bool version_known, const poll_plan& plan,
          std::uint32_t classes, const walk_options& o, walk_completion done, walk_hooks hooks)
      : client_(c),
        dev_(d),
        mem_(m),
        plan_(plan),
        opts_(o),
        done_(std::move(done)),
        hooks_(std::move(hooks)),
        version_known_(version_known) {
    result_.classes_asked = classes & all_classes;
    budget_left_ = std::max(0, opts_.retry_budget);
    max_reps_ = mem_.max_repetitions ? mem_.max_repetitions : opts_.max_repetitions_start;
    max_reps_ = std::clamp(max_reps_, 1, std::max(1, opts_.max_repetitions_cap));
    items_cap_ = std::clamp<std::size_t>(opts_.max_names_per_request, 1, codecs::max_request_names);
    safe_ = (mem_.flags & walk_memory::reorders_varbinds) != 0;
    const bool identity = result_.classes_asked & class_bit(data_class::identity);
    recheck_scalars_ = identity && (mem_.identity_polls == 0 ||
                                    mem_.identity_polls >= opts_.recheck_scalars_every);
    const std::size_t ns = std::min(plan_.scalars.size(), poll_plan::max_scalars);
    for (std::uint32_t i = 0; i < ns; ++i) {
      if (!(result_.classes_asked & class_bit(plan_.scalars[i].cls))) continue;
      // Vendor scalars wait for the device's sysObjectID when its enterprise is not known yet.
      if (enterprise_of(plan_.scalars[i].name) != 0 &&
          (mem_.enterprise == 0 || !scalar_wanted(plan_.scalars[i].name, mem_.enterprise))) {
        vendor_deferred_ = true;
        continue;
      }
      add_scalar(i);
    }
    const std::size_t nu = std::min(plan_.units.size(), poll_plan::max_units);
    for (std::uint32_t i = 0; i < nu; ++i)
      if (result_.classes_asked & class_bit(plan_.units[i].cls))
        units_.push_back({i, plan_.units[i].prefix});
    seen_.reserve(64);
  }

  void start() { next(); }

  void add_scalar(std::uint32_t i) {
    const std::uint32_t bit = 1u << i;
    if (!recheck_scalars_ && (mem_.scalars_known & bit) && !(mem_.scalars_present & bit)) return;
    for (const auto& s : scalars_)
      if (s.index == i) return;
    scalar_item s{i, {}};
    // A scalar known to be there rides along a GETBULK as a GETNEXT of its predecessor (same
    // bytes as a GET, no extra round trip); one of unknown presence is asked with GET, whose
    // "noSuchObject" is a few bytes where a GETNEXT would bring the next object, however big.
    // The system group is always there.
    auto p = predecessor(plan_.scalars[i].name);
    const bool system = plan_.scalars[i].name.starts_with(system_group);
    if (p && ((mem_.scalars_present & bit) || system))
      s.ask = std::move(*p);
    else
      s.need_get = true;
    scalars_.push_back(std::move(s));
  }

  // sysObjectID arrived: the vendor scalars of its brand join the walk, and a device of a model
  // seen before borrows that model's shape for what it has not learned itself.
  void learn_enterprise(const codecs::value& v) {
    const bool is_oid = v.type == codecs::value_type::object_id;
    const std::uint32_t e = is_oid ? enterprise_of(v.object) : 0;
    mem_.enterprise = e ? e : no_enterprise;
    if (is_oid && opts_.priors) {
      model_key_ = shape_priors::key_of(v.object);
      if (const walk_memory* prior = opts_.priors->find(model_key_)) borrow(*prior);
    }
    if (!vendor_deferred_) return;
    vendor_deferred_ = false;
    for (std::uint32_t i = 0; i < std::min(plan_.scalars.size(), poll_plan::max_scalars); ++i)
      if ((result_.classes_asked & class_bit(plan_.scalars[i].cls)) &&
          enterprise_of(plan_.scalars[i].name) != 0 &&
          scalar_wanted(plan_.scalars[i].name, mem_.enterprise))
        add_scalar(i);
  }

  // Takes a model's shape as the guess for what this device has not taught yet.
  void borrow(const walk_memory& prior) {
    const std::uint32_t units = prior.units_known & ~mem_.units_known;
    for (std::uint32_t u = 0; u < mem_.unit_varbinds.size(); ++u)
      if (units & (1u << u)) mem_.unit_varbinds[u] = prior.unit_varbinds[u];
    mem_.units_known |= units;
    // Vendor scalars: the model's present ones ride along; its absent ones are skipped until
    // this device's own periodic re-check (recheck_scalars_every identity polls).
    const std::uint32_t scalars = prior.scalars_known & ~mem_.scalars_known;
    if (scalars) borrowed_scalars_ = true;
    mem_.scalars_known |= scalars;
    mem_.scalars_present |= prior.scalars_present & scalars;
    if (!mem_.max_varbinds) mem_.max_varbinds = prior.max_varbinds;
    if (!mem_.bytes_per_varbind) mem_.bytes_per_varbind = prior.bytes_per_varbind;
    if (!mem_.max_repetitions && prior.max_repetitions) {
      mem_.max_repetitions = prior.max_repetitions;
      max_reps_ = prior.max_repetitions;
    }
    mem_.flags |= prior.flags;
    safe_ = safe_ || (mem_.flags & walk_memory::reorders_varbinds) != 0;
    recheck_scalars_ = false;  // the borrowed knowledge decides, for this poll
  }

  void took_scalar(std::uint32_t index, const codecs::value& v) {
    if (plan_.scalars[index].name == codecs::mib::sys_object_id) learn_enterprise(v);
  }

 private:
  enum class kind : std::uint8_t { scalar, unit };
  struct scalar_item {
    std::uint32_t index;
    oid ask;  // what GETNEXT asks for
    bool done = false;
    bool need_get = false;  // GETNEXT was not conclusive (or safe mode): ask with GET
    bool present = false;
  };
  struct unit_item {
    std::uint32_t index;
    oid cursor;
    std::uint32_t got = 0;
    bool done = false;
    bool stopped = false;  // done, but not at its end (loop, runaway): its class is incomplete
    // per reply
    std::uint32_t seen_now = 0, new_now = 0;
  };
  struct ref {
    kind k;
    std::uint32_t pos;
  };

  const oid& unit_prefix(const unit_item& u) const { return plan_.units[u.index].prefix; }
  const oid& scalar_name(const scalar_item& s) const { return plan_.scalars[s.index].name; }

  std::size_t bytes_per_varbind() const {
    return mem_.bytes_per_varbind ? mem_.bytes_per_varbind : default_bytes_per_varbind;
  }
  // Varbinds still expected under a unit (learned), or "a full repetition" when not learned.
  std::uint32_t expected_remaining(const unit_item& u) const {
    const auto unknown = static_cast<std::uint32_t>(std::max(1, max_reps_ - 1));
    // Never walked: a first look of two repetitions (most subtrees of most devices are short or
    // absent), then doubling what came so far, so overshooting the end wastes at most half.
    if (!(mem_.units_known & (1u << u.index))) return u.got == 0 ? 1 : std::min(unknown, u.got);
    const std::uint32_t learned = mem_.unit_varbinds[u.index];
    if (learned > u.got) return learned - u.got;
    // Learned empty and nothing yet: one GETNEXT confirms it. Past what was learned: it grew.
    return u.got == 0 ? 0 : unknown;
  }

  bool pending(const scalar_item& s) const { return !s.done && !s.need_get; }

  void next() {
    if (result_.stats.requests >= opts_.max_requests) {
      // Runaway walk: stop every unfinished subtree, keep what was fetched.
      for (auto& u : units_)
        if (!u.done) {
          u.done = u.stopped = true;
          ++result_.stats.runaways;
        }
      return finish({});
    }
    if (safe_)
      for (auto& s : scalars_)
        if (!s.done) s.need_get = true;
    std::vector<ref> gets;
    for (std::uint32_t i = 0; i < scalars_.size() && gets.size() < varbind_cap(); ++i)
      if (!scalars_[i].done && scalars_[i].need_get) gets.push_back({kind::scalar, i});
    if (!gets.empty()) return send(pdu_type::get, std::move(gets), {}, 0);

    const bool any =
        std::any_of(scalars_.begin(), scalars_.end(), [&](const auto& s) { return pending(s); }) ||
        std::any_of(units_.begin(), units_.end(), [](const auto& u) { return !u.done; });
    if (!any) return finish({});
    if (safe_) return send_single_unit();
    // Version not known: SNMPv2c first (GETBULK, the common case); silence falls back to one v1
    // GETNEXT (on_reply).
    if (dev_.version == snmp_version::v1) return send_getnext();
    send_bulk();
  }

  // Varbinds one reply may carry: the byte budget, and the learned cap (tooBig).
  std::size_t varbind_cap() const {
    const std::size_t budget = opts_.reply_budget_bytes > reply_overhead_bytes
                                   ? opts_.reply_budget_bytes - reply_overhead_bytes
                                   : 0;
    std::size_t n = std::max<std::size_t>(1, budget / bytes_per_varbind());
    if (mem_.max_varbinds) n = std::min<std::size_t>(n, mem_.max_varbinds);
    return std::min(n, items_cap_ * std::max<std::size_t>(1, static_cast<std::size_t>(max_reps_)));
  }

  void send_getnext() {
    std::vector<ref> items;
    const std::size_t cap = std::min(items_cap_, varbind_cap());
    for (std::uint32_t i = 0; i < scalars_.size() && items.size() < cap; ++i)
      if (pending(scalars_[i])) items.push_back({kind::scalar, i});
    for (std::uint32_t i = 0; i < units_.size() && items.size() < cap; ++i)
      if (!units_[i].done) items.push_back({kind::unit, i});
    send(pdu_type::get_next, std::move(items), {}, 0);
  }

  // Safe mode: one subtree per request, answers matched by prefix.
  void send_single_unit() {
    for (std::uint32_t i = 0; i < units_.size(); ++i) {
      if (units_[i].done) continue;
      const bool bulk = version_known_ && dev_.version != snmp_version::v1;
      if (!bulk) return send(pdu_type::get_next, {{kind::unit, i}}, {}, 0);
      const auto reps = static_cast<std::int32_t>(
          std::clamp<std::size_t>(std::min<std::size_t>(expected_remaining(units_[i]) + 1,
                                                        static_cast<std::size_t>(max_reps_)),
                                  1, varbind_cap()));
      return send(pdu_type::get_bulk, {}, {{kind::unit, i}}, reps);
    }
  }

  void send_bulk() {
    const std::size_t vb_budget = varbind_cap();
    const std::size_t names_cap = items_cap_;
    std::vector<ref> single, reps;
    // Non-repeaters: scalars, and units expected to end at their next OID.
    for (std::uint32_t i = 0; i < scalars_.size() && single.size() < std::min(names_cap, vb_budget);
         ++i)
      if (pending(scalars_[i])) single.push_back({kind::scalar, i});
    std::vector<std::uint32_t> cands;
    for (std::uint32_t i = 0; i < units_.size(); ++i) {
      if (units_[i].done) continue;
      if (expected_remaining(units_[i]) == 0) {
        if (single.size() < std::min(names_cap, vb_budget)) single.push_back({kind::unit, i});
      } else {
        cands.push_back(i);
      }
    }
    std::int32_t reps_n = 0;
    const std::size_t room_vb = vb_budget > single.size() ? vb_budget - single.size() : 0;
    if (!cands.empty() && room_vb >= 1 && single.size() < names_cap) {
      std::stable_sort(cands.begin(), cands.end(), [&](std::uint32_t a, std::uint32_t b) {
        return expected_remaining(units_[a]) > expected_remaining(units_[b]);
      });
      const std::size_t lead = expected_remaining(units_[cands.front()]) + 1;
      reps_n = static_cast<std::int32_t>(
          std::min<std::size_t>({lead, static_cast<std::size_t>(max_reps_), room_vb}));
      reps_n = std::max(reps_n, 1);
      const auto r = static_cast<std::size_t>(reps_n);
      for (std::uint32_t c : cands) {
        if (single.size() + reps.size() >= names_cap) break;
        if ((reps.size() + 1) * r > room_vb) break;
        const std::size_t want = std::min<std::size_t>(r, expected_remaining(units_[c]) + 1);
        if (!reps.empty() && (r - want) * bytes_per_varbind() > request_pair_bytes) continue;
        reps.push_back({kind::unit, c});
      }
    }
    if (single.empty() && reps.empty()) {
      // Nothing fits the budget estimate: ask one unit one step at a time.
      for (std::uint32_t i = 0; i < units_.size(); ++i)
        if (!units_[i].done) {
          single.push_back({kind::unit, i});
          break;
        }
    }
    if (reps.empty()) return send(pdu_type::get_next, std::move(single), {}, 0);
    send(pdu_type::get_bulk, std::move(single), std::move(reps), reps_n);
  }

  void send(pdu_type type, std::vector<ref> single, std::vector<ref> reps, std::int32_t reps_n) {
    request_spec spec;
    spec.type = type;
    spec.names.reserve(single.size() + reps.size());
    for (const auto& r : single) {
      if (r.k == kind::unit)
        spec.names.push_back(units_[r.pos].cursor);
      else if (type == pdu_type::get)
        spec.names.push_back(scalar_name(scalars_[r.pos]));
      else
        spec.names.push_back(scalars_[r.pos].ask);
    }
    for (const auto& r : reps) spec.names.push_back(units_[r.pos].cursor);
    spec.non_repeaters = type == pdu_type::get_bulk ? static_cast<std::int32_t>(single.size()) : 0;
    spec.max_repetitions = type == pdu_type::get_bulk ? reps_n : 0;
    spec.max_retries = budget_left_;
    if (v1_fallback_) spec.max_retries = 0;  // the v1 probe of a silent device: one attempt
    spec.backoff_start = backoff_start_;
    // The walk is alive while its request is pending (the completion holds it).
    if (hooks_.on_wait) spec.on_attempt_timeout = [this] { enter_wait(); };
    asked_vbs_ = single.size() + reps.size() * static_cast<std::size_t>(std::max(reps_n, 1));
    asked_names_ = spec.names;
    single_ = std::move(single);
    reps_ = std::move(reps);
    asked_type_ = type;
    asked_reps_ = reps_n;
    if (opts_.trace) {
      std::string line = std::string(type == pdu_type::get        ? "GET"
                                     : type == pdu_type::get_next ? "GETNEXT"
                                                                  : "GETBULK") +
                         " non-repeaters=" + std::to_string(single_.size()) +
                         " repeaters=" + std::to_string(reps_.size()) +
                         " max-repetitions=" + std::to_string(reps_n) + ":";
      for (const auto& n : asked_names_) line += " " + n.to_string();
      opts_.trace(line);
    }
    client_.async_request(dev_, std::move(spec),
                          [self = shared_from_this()](std::error_code ec, codecs::snmp_response&& r,
                                                      const request_stats& st) {
                            self->on_reply(ec, std::move(r), st);
                          });
  }

  void account(const request_stats& st) {
    ++result_.stats.requests;
    result_.stats.attempts += st.attempts;
    result_.stats.bytes_sent += st.bytes_sent;
    result_.stats.bytes_received += st.reply_bytes;
    const int used = st.attempts > 1 ? static_cast<int>(st.attempts - 1) : 0;
    budget_left_ = std::max(0, budget_left_ - used);
  }

  std::size_t items_asked() const { return single_.size() + reps_.size(); }
  const ref& item_at(std::size_t i) const {
    return i < single_.size() ? single_[i] : reps_[i - single_.size()];
  }

  void mark_done(const ref& r) {
    if (r.k == kind::unit)
      units_[r.pos].done = true;
    else
      scalars_[r.pos].done = true;  // absent
  }

  void learned_caps_changed() {
    ++result_.stats.shrinks;
    mem_.clean_replies = 0;
    mem_.max_repetitions = static_cast<std::uint8_t>(std::clamp(max_reps_, 1, 255));
  }

  // An attempt timed out unanswered and the device is asked again: the walk only waits.
  void enter_wait() {
    waiting_ = true;
    if (hooks_.on_wait) hooks_.on_wait();
  }

  void resume(bool go_on) override {
    if (!parked_) return;
    parked_ = false;
    if (!go_on) {
      // The device did answer (the reply in hand): the walk ends cut short, not unanswered.
      learn_version(parked_reply_.version);
      result_.answered = true;
      parked_reply_ = {};
      return finish(error::cancelled);
    }
    handle_reply(parked_ec_, std::move(parked_reply_), parked_st_);
  }

  void on_reply(std::error_code ec, codecs::snmp_response&& r, const request_stats& st) {
    account(st);
    const bool answer = !ec || ec == error::agent_error || ec == error::report;
    if (waiting_ && answer) {
      waiting_ = false;
      if (hooks_.on_answer && !hooks_.on_answer(shared_from_this())) {
        // Parked with the reply in hand until the caller has room (resume()).
        parked_ = true;
        parked_ec_ = ec;
        parked_reply_ = std::move(r);
        parked_st_ = st;
        return;
      }
    }
    handle_reply(ec, std::move(r), st);
  }

  void handle_reply(std::error_code ec, codecs::snmp_response&& r, const request_stats& st) {
    if (opts_.trace) {
      std::string line = "  -> " + (ec ? ec.message() : std::string("ok")) + ", " +
                         std::to_string(r.varbinds.size()) + " varbinds, " +
                         std::to_string(st.reply_bytes) + " bytes, " + std::to_string(st.attempts) +
                         " attempt(s)";
      if (r.error_status)
        line += ", error-status " + std::to_string(r.error_status) + " index " +
                std::to_string(r.error_index);
      for (const auto& vb : r.varbinds)
        line += "\n       " + vb.name.to_string() + " = " + vb.val.to_string().substr(0, 40);
      opts_.trace(line);
    }
    if (ec == error::cancelled) return finish(ec);
    if (ec == error::timeout) {
      if (!version_known_ && !result_.answered) {
        if (!v1_fallback_) {
          // Silent to SNMPv2c: maybe an SNMPv1-only agent. One GETNEXT in v1.
          v1_fallback_ = true;
          dev_.version = snmp_version::v1;
          backoff_start_ = 0;
          enter_wait();
          return next();
        }
        dev_.version = snmp_version::v2c;  // silent to both: try v2c first again next time
        return finish(ec);
      }
      if (result_.answered && budget_left_ > 0) {
        // The device answered this poll before: spend what is left of the poll's retry budget
        // on asking again. A GETBULK asks for less (some agents drop requests whose reply would
        // be too big).
        --budget_left_;
        if (asked_type_ == pdu_type::get_bulk && asked_reps_ > 1) {
          max_reps_ = std::max(1, asked_reps_ / 2);
          learned_caps_changed();
        }
        backoff_start_ = std::min<std::uint32_t>(backoff_start_ + st.attempts, 6);
        enter_wait();
        return next();
      }
      return finish(ec);
    }
    if (ec == error::agent_error || ec == error::report) {
      result_.answered = true;
      learn_version(r.version);
      if (ec == error::agent_error && r.error_status == err_too_big) {
        ++result_.stats.too_big;
        if (asked_vbs_ <= 1) return finish(error::too_big);
        // The reply would not fit the agent: halve what one reply may carry.
        mem_.max_varbinds =
            static_cast<std::uint8_t>(std::clamp<std::size_t>(asked_vbs_ / 2, 1, 255));
        if (asked_reps_ > 1) max_reps_ = std::max(1, asked_reps_ / 2);
        learned_caps_changed();
        return next();
      }
      const auto idx = r.error_index;
      if (ec == error::agent_error && idx >= 1 && static_cast<std::size_t>(idx) <= items_asked()) {
        // The agent names the item it cannot serve (SNMPv1 noSuchName: end of the MIB view, or
        // an absent scalar): that item ends, the others are asked again.
        if (r.error_status == err_no_such_name) ++result_.stats.no_such_name;
        mark_done(item_at(static_cast<std::size_t>(idx) - 1));
        return next();
      }
      return finish(ec);
    }
    if (ec) return finish(ec);

    result_.answered = true;
    backoff_start_ = 0;
    learn_version(r.version);
    auto& vbs = r.varbinds;
    result_.stats.varbinds += static_cast<std::uint32_t>(vbs.size());
    if (!vbs.empty() && st.reply_bytes > 0) {
      const std::size_t sample = std::clamp<std::size_t>(st.reply_bytes / vbs.size(), 8, 255);
      const std::size_t old = mem_.bytes_per_varbind ? mem_.bytes_per_varbind : sample;
      mem_.bytes_per_varbind =
          static_cast<std::uint8_t>(std::clamp<std::size_t>((old * 3 + sample + 2) / 4, 8, 255));
    }
    creep(vbs.size());

    if (asked_type_ != pdu_type::get && !safe_ && items_asked() > 1 && reordered(vbs)) {
      // The agent permuted this reply: drop it, remember, ask again one subtree at a time.
      ++result_.stats.out_of_order;
      mem_.flags |= walk_memory::reorders_varbinds;
      safe_ = true;
      return next();
    }

    bool progress = false;
    for (auto& u : units_) u.seen_now = u.new_now = 0;
    if (asked_type_ == pdu_type::get) {
      progress = take_gets(vbs);
    } else if (safe_) {
      progress = take_matched(vbs);
    } else {
      const std::size_t n = single_.size();
      for (std::size_t i = 0; i < n && i < vbs.size(); ++i)
        progress |= take_single(single_[i], vbs[i]);
      const std::size_t m = reps_.size();
      for (std::size_t k = n; m > 0 && k < vbs.size(); ++k)
        progress |= take_unit(units_[reps_[(k - n) % m].pos], vbs[k]);
    }
    for (auto& u : units_) {
      if (!u.done && u.seen_now > 0 && u.new_now == 0) {
        u.done = u.stopped = true;  // the agent repeats itself: stop this subtree
        ++result_.stats.loops;
        progress = true;
      }
    }
    if (!progress) {
      if (++stalls_ >= 2) return finish(error::no_progress);
    } else {
      stalls_ = 0;
    }
    next();
  }

  // Notes a full reply at a learned cap; finish() lets the caps grow after clean polls.
  void creep(std::size_t got) {
    if (mem_.max_varbinds && asked_vbs_ >= mem_.max_varbinds && got >= asked_vbs_)
      at_vb_cap_ = true;
    if (asked_type_ == pdu_type::get_bulk && asked_reps_ >= max_reps_ && got >= asked_vbs_)
      at_rep_cap_ = true;
  }

  void creep_at_finish() {
    if (result_.stats.too_big > 0 || result_.stats.shrinks > 0) {
      mem_.clean_replies = 0;
      return;
    }
    if (!at_vb_cap_ && !at_rep_cap_) return;
    if (++mem_.clean_replies < creep_after) return;
    mem_.clean_replies = 0;
    if (at_vb_cap_)
      mem_.max_varbinds =
          static_cast<std::uint8_t>(std::min(255, mem_.max_varbinds + 1 + mem_.max_varbinds / 8));
    if (at_rep_cap_) {
      max_reps_ = std::min(std::max(1, opts_.max_repetitions_cap),
                           std::max(max_reps_ + 1, max_reps_ * 5 / 4));
      mem_.max_repetitions = static_cast<std::uint8_t>(std::clamp(max_reps_, 1, 255));
    }
  }

  // True when a GETNEXT/GETBULK reply is not in the order RFC 3416 gives it: an OID at some
  // position is not after the OID that position continues from (the name asked, or the same
  // column's OID one row up), and it is new (a loop goes back to OIDs already seen; a permuted
  // reply shows OIDs never seen before out of place).
  bool reordered(const std::vector<codecs::varbind>& vbs) const {
    const std::size_t n = single_.size(), m = reps_.size();
    std::unordered_set<std::uint64_t> earlier;
    for (std::size_t k = 0; k < vbs.size(); ++k) {
      const auto& vb = vbs[k];
      const std::uint64_t h = oid_hash(vb.name);
      if (!vb.val.is_exception()) {
        const oid* prev = nullptr;
        if (k < n) {
          prev = &asked_names_[k];
        } else if (m > 0) {
          const std::size_t col = (k - n) % m;
          if (k - n < m) {
            prev = &asked_names_[n + col];
          } else {
            const auto& up = vbs[k - m];
            const auto& pre = unit_prefix(units_[reps_[col].pos]);
            if (!up.val.is_exception() && below(up.name, pre))
              prev = &up.name;  // the column goes on
          }
        }
        if (prev && !(vb.name > *prev) && !seen_.count(h) && !earlier.count(h)) return true;
      }
      earlier.insert(h);
    }
    return false;
  }

  bool take_gets(std::vector<codecs::varbind>& vbs) {
    bool progress = false;
    // Match answers by name (a reply in any order).
    for (const auto& r : single_) {
      auto& s = scalars_[r.pos];
      const auto it = std::find_if(vbs.begin(), vbs.end(),
                                   [&](const auto& vb) { return vb.name == scalar_name(s); });
      if (it == vbs.end() && vbs.size() < single_.size()) continue;  // truncated: ask again
      s.done = true;
      progress = true;
      if (it != vbs.end() && has_value(it->val)) {
        s.present = true;
        took_scalar(s.index, it->val);
        result_.view.add(std::move(*it));
      }
    }
    return progress;
  }

  // Safe mode: every answer under the asked subtree counts, in any order; the subtree ends when
  // an answer lies outside it (or is an exception).
  bool take_matched(std::vector<codecs::varbind>& vbs) {
    auto& u = units_[(single_.empty() ? reps_ : single_).front().pos];
    bool progress = false;
    oid last = u.cursor;
    for (auto& vb : vbs) {
      ++u.seen_now;
      if (vb.val.is_exception() || !below(vb.name, unit_prefix(u))) {
        u.done = true;
        progress = true;
        continue;
      }
      if (!seen_.insert(oid_hash(vb.name)).second) continue;
      if (vb.name > last) last = vb.name;
      ++u.got;
      ++u.new_now;
      progress = true;
      result_.view.add(std::move(vb));
      if (u.got >= opts_.max_varbinds_per_unit) {
        u.done = u.stopped = true;
        ++result_.stats.runaways;
      }
    }
    u.cursor = std::move(last);
    return progress;
  }

  void learn_version(snmp_version v) {
    if (!version_known_) {
      version_known_ = true;
      dev_.version = v;
    }
    result_.version = v;
  }

  // One GETNEXT answer for a scalar (asked as its predecessor) or a unit. True if it progressed.
  bool take_single(const ref& r, codecs::varbind& vb) {
    if (r.k == kind::unit) return take_unit(units_[r.pos], vb);
    auto& s = scalars_[r.pos];
    const oid& name = scalar_name(s);
    if (vb.val.type == codecs::value_type::end_of_mib_view || vb.name > name) {
      s.done = true;  // absent
    } else if (vb.name == name) {
      s.done = true;
      if (has_value(vb.val)) {
        s.present = true;
        took_scalar(s.index, vb.val);
        result_.view.add(std::move(vb));
      }
    } else {
      s.need_get = true;  // something lies between the predecessor and the name: ask exactly
    }
    return true;
  }

  bool take_unit(unit_item& u, codecs::varbind& vb) {
    if (u.done) return false;
    ++u.seen_now;
    if (vb.val.is_exception() || !below(vb.name, unit_prefix(u))) {
      u.done = true;  // left the subtree: complete
      return true;
    }
    if (!seen_.insert(oid_hash(vb.name)).second) return false;  // already have it
    if (vb.name < u.cursor) ++result_.stats.out_of_order;
    u.cursor = vb.name;
    ++u.got;
    ++u.new_now;
    result_.view.add(std::move(vb));
    if (u.got >= opts_.max_varbinds_per_unit) {
      u.done = u.stopped = true;
      ++result_.stats.runaways;
    }
    return true;
  }

  void finish(std::error_code ec) {
    result_.ec = ec;
    // Classes whose every item finished.
    std::uint32_t incomplete = 0;
    for (const auto& s : scalars_)
      if (!s.done) incomplete |= class_bit(plan_.scalars[s.index].cls);
    for (const auto& u : units_)
      if (!u.done || u.stopped) incomplete |= class_bit(plan_.units[u.index].cls);
    result_.classes_complete = result_.classes_asked & ~incomplete;
    // Learn the device's shape from what finished.
    for (const auto& s : scalars_) {
      if (!s.done) continue;
      const std::uint32_t bit = 1u << s.index;
      mem_.scalars_known |= bit;
      if (s.present)
        mem_.scalars_present |= bit;
      else
        mem_.scalars_present &= ~bit;
    }
    for (const auto& u : units_) {
      if (!u.done) continue;
      mem_.units_known |= 1u << u.index;
      mem_.unit_varbinds[u.index] = static_cast<std::uint8_t>(std::min<std::uint32_t>(u.got, 255));
    }
    creep_at_finish();
    if ((result_.classes_complete & class_bit(data_class::identity)) != 0) {
      mem_.identity_polls =
          recheck_scalars_ ? 1 : static_cast<std::uint8_t>(std::min(255, mem_.identity_polls + 1));
      // Borrowed knowledge counts as a check: the device's own re-checks follow on schedule.
      if (borrowed_scalars_) mem_.identity_polls = 1;
    }
    if (opts_.priors && model_key_ && !ec && result_.classes_complete == all_classes)
      opts_.priors->learn(model_key_, mem_);
    result_.view.seal();
    auto done = std::move(done_);
    done(std::move(result_));
  }

  snmp_client& client_;
  peer& dev_;
  walk_memory& mem_;
  const poll_plan& plan_;
  walk_options opts_;
  walk_completion done_;
  walk_hooks hooks_;
  walk_result result_;
  bool version_known_;
  bool waiting_ = false;  // an attempt timed out unanswered; no reply since
  bool parked_ = false;   // on_answer said wait: the reply below is in hand
  std::error_code parked_ec_;
  codecs::snmp_response parked_reply_;
  request_stats parked_st_;
  bool recheck_scalars_ = false;
  bool safe_ = false;
  bool at_vb_cap_ = false, at_rep_cap_ = false;
  bool vendor_deferred_ = false;
  bool v1_fallback_ = false;
  bool borrowed_scalars_ = false;
  std::uint64_t model_key_ = 0;
  int budget_left_ = 0;
  std::int32_t max_reps_ = 10;
  std::size_t items_cap_ = 48;
  std::uint32_t backoff_start_ = 0;
  int stalls_ = 0;
  std::vector<scalar_item> scalars_;
  std::vector<unit_item> units_;
  std::unordered_set<std::uint64_t> seen_;
  // the request in flight
  std::vector<ref> single_, reps_;
  std::vector<oid> asked_names_;
  std::size_t asked_vbs_ = 0;
  pdu_type asked_type_ = pdu_type::get;
  std::int32_t asked_reps_ = 0;
};

}  // namespace

void async_walk(snmp_client& client, peer& dev, walk_memory& memory, bool version_known,
                const poll_plan& plan, std::uint32_t classes, const walk_options& opts,
                walk_completion done, walk_hooks hooks) {
  std::make_shared<walk_op>(client, dev, memory, version_known, plan, classes, opts,
                            std::move(done), std::move(hooks))
      ->start();
}

}  // namespace fleetpoll::engine
