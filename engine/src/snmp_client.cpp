#include "fleetpoll/engine/snmp_client.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <optional>
#include <queue>
#include <random>
#include <unordered_map>

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

namespace fleetpoll::engine {

namespace asio = boost::asio;
using clock = std::chrono::steady_clock;
using std::chrono::duration_cast;
using std::chrono::microseconds;

namespace {

bool refused_target(const asio::ip::address& a) {
  return a.is_unspecified() || a.is_multicast() ||
         (a.is_v4() && a.to_v4() == asio::ip::address_v4::broadcast());
}

codecs::snmp_version other(codecs::snmp_version v) {
  return v == codecs::snmp_version::v1 ? codecs::snmp_version::v2c : codecs::snmp_version::v1;
}

// Outcomes remembered per finished request-id, to tell duplicates and late replies from strays.
enum class outcome : std::uint8_t { none, answered, expired };
constexpr std::size_t finished_ring_size = 65536;  // indexed by the request's sequence number

// Request-ids are a bijection of a sequence number onto 1 .. 2^31-1 (multiplication by an odd
// constant modulo 2^31), so consecutive requests get unrelated ids: an agent that answers with a
// wrong id (id + 1, id - 1) does not hit another request in flight, and ids are not guessable
// from one another. The inverse maps an id back to its sequence number.
constexpr std::uint32_t id_mul = 0x2545F491u;      // odd
constexpr std::uint32_t id_mul_inv = 0x41444c71u;  // id_mul * id_mul_inv == 1 (mod 2^31)
constexpr std::uint32_t id_mask = 0x7FFFFFFFu;
std::uint32_t seq_of(std::int32_t id) noexcept {
  return (static_cast<std::uint32_t>(id) * id_mul_inv) & id_mask;
}

// The request-id of a damaged reply (truncated, a corrupt outer length), so that it can be
// counted against the request it answers: finds the version INTEGER (02 01 00|01) right after the
// outer SEQUENCE header whatever that header says, then reads community, PDU header and id.
bool lenient_request_id(std::span<const std::uint8_t> b, std::int32_t& id) {
  std::size_t p = 0;
  if (b.size() < 12 || b[0] != 0x30) return false;
  for (p = 1; p + 3 < b.size() && p < 8; ++p)
    if (b[p] == 0x02 && b[p + 1] == 0x01 && b[p + 2] <= 1) break;
  if (p + 3 >= b.size() || p >= 8) return false;
  p += 3;
  auto length = [&](std::size_t& len) {
    if (p >= b.size()) return false;
    const std::uint8_t first = b[p++];
    if (first < 0x80) {
      len = first;
      return true;
    }
    const unsigned n = first & 0x7Fu;
    if (n == 0 || n > 3 || p + n > b.size()) return false;
    len = 0;
    for (unsigned i = 0; i < n; ++i) len = (len << 8) | b[p++];
    return true;
  };
  std::size_t len = 0;
  if (p >= b.size() || b[p++] != 0x04 || !length(len) || p + len > b.size()) return false;
  p += len;  // community
  if (p >= b.size() || b[p] < 0xA0 || b[p] > 0xA8) return false;
  ++p;
  if (!length(len)) return false;  // PDU length (not checked)
  if (p >= b.size() || b[p++] != 0x02 || !length(len) || len == 0 || len > 4 || p + len > b.size())
    return false;
  std::int64_t v = (b[p] & 0x80) ? -1 : 0;
  for (std::size_t i = 0; i < len; ++i) v = (v << 8) | b[p + i];
  id = static_cast<std::int32_t>(v);
  return true;
}

}  // namespace

struct snmp_client::impl : std::enable_shared_from_this<impl> {
  impl(asio::io_context& ctx, const client_options& o)
      : io(ctx), opts(o), limiter(o.rate), v4(io, o.transport), timer(io), rng(o.seed) {
    next_seq = static_cast<std::uint32_t>(rng() % 0x3FFFFFFF) + 1;
    tx.resize(65535);
    finished.resize(finished_ring_size);
  }

  struct attempt_info {
    std::int32_t id;
    codecs::snmp_version version;
    clock::time_point sent_at;
  };

  struct pending {
    peer* dev = nullptr;
    request_spec spec;
    completion done;
    std::uint32_t generation = 0;
    bool active = false;
    std::uint32_t attempt = 0;  // attempts sent so far
    std::uint32_t max_attempts = 1;
    std::vector<attempt_info> attempts;
    std::error_code soft_error;  // e.g. a corrupt reply seen: reported if nothing better comes
    request_stats st;
  };

  enum class event_kind : std::uint8_t { send, deadline };
  struct event {
    clock::time_point at;
    std::uint32_t slot;
    std::uint32_t generation;
    std::uint32_t attempt;
    event_kind kind;
    bool operator>(const event& o) const { return at > o.at; }
  };

  struct finished_entry {
    std::int32_t id = 0;
    outcome what = outcome::none;
  };

  asio::io_context& io;
  client_options opts;
  rate_limiter limiter;
  udp_transport v4;
  std::unique_ptr<udp_transport> v6;
  asio::steady_timer timer;
  std::optional<clock::time_point> armed_at;
  std::mt19937_64 rng;
  std::uint32_t next_seq = 1;
  std::vector<std::uint8_t> tx;

  std::vector<pending> slots;
  std::vector<std::uint32_t> free_slots;
  std::size_t active_count = 0;
  std::unordered_map<std::int32_t, std::uint32_t> by_id;
  std::priority_queue<event, std::vector<event>, std::greater<event>> events;
  std::vector<finished_entry> finished;
  counters stats;
  latency_histogram latency;

  std::int32_t take_id() {
    for (;;) {
      const std::uint32_t seq = next_seq;
      next_seq = (next_seq + 1) & id_mask;
      const std::uint32_t id = (seq * id_mul) & id_mask;
      if (id != 0) return static_cast<std::int32_t>(id);
    }
  }

  udp_transport* transport_for(const asio::ip::udp::endpoint& ep) {
    if (ep.address().is_v4()) return v4.is_open() ? &v4 : nullptr;
    if (!v6) {
      auto t = std::make_unique<udp_transport>(io, opts.transport);
      if (t->open(opts.bind_v6)) return nullptr;
      t->start([w = weak_from_this()](const auto& from, auto bytes, auto at) {
        if (auto self = w.lock()) self->on_datagram(from, bytes, at);
      });
      v6 = std::move(t);
    }
    return v6.get();
  }

  void push(event e) {
    events.push(e);
    arm();
  }

  void arm() {
    if (events.empty()) return;
    const auto top = events.top().at;
    if (armed_at && *armed_at <= top) return;
    armed_at = top;
    timer.expires_at(top);
    timer.async_wait([w = weak_from_this()](const boost::system::error_code& ec) {
      if (ec) return;
      if (auto self = w.lock()) self->on_timer();
    });
  }

  void on_timer() {
    armed_at.reset();
    const auto now = clock::now();
    // Handle everything due; work done here may push new (later) events.
    while (!events.empty() && events.top().at <= now) {
      const event e = events.top();
      events.pop();
      if (e.slot >= slots.size()) continue;
      auto& p = slots[e.slot];
      if (!p.active || p.generation != e.generation) continue;  // finished meanwhile
      if (e.kind == event_kind::send) {
        send_attempt(e.slot, now);
      } else if (e.attempt == p.attempt) {  // only the latest attempt's deadline counts
        on_deadline(e.slot, now);
      }
    }
    arm();
  }

  microseconds attempt_timeout(const peer& dev, std::uint32_t attempt) {
    const double k = std::pow(opts.backoff, static_cast<double>(attempt));
    const double base = static_cast<double>(dev.rtt.timeout(opts.rtt).count()) * k;
    const double cap = static_cast<double>(std::max(opts.rtt.max, opts.rtt.min).count()) * k;
    std::uniform_real_distribution<double> spread(1.0 - opts.jitter, 1.0 + opts.jitter);
    const double t = std::min(base, cap) * (opts.jitter > 0 ? spread(rng) : 1.0);
    return microseconds(std::max<std::int64_t>(0, static_cast<std::int64_t>(t)));
  }

  void schedule_send(std::uint32_t slot, clock::time_point now) {
    auto& p = slots[slot];
    const auto r = limiter.reserve(p.dev->address.address(), p.dev->last_send, now);
    p.dev->last_send = r.at;
    switch (r.reason) {
      case rate_limiter::bound_by::none:
        break;
      case rate_limiter::bound_by::device:
        ++stats.rate_waits_device;
        break;
      case rate_limiter::bound_by::subnet:
        ++stats.rate_waits_subnet;
        break;
      case rate_limiter::bound_by::global:
        ++stats.rate_waits_global;
        break;
    }
    if (r.at <= now) {
      send_attempt(slot, now);
    } else {
      p.st.waited += duration_cast<microseconds>(r.at - now);
      push({r.at, slot, p.generation, p.attempt, event_kind::send});
    }
  }

  void send_attempt(std::uint32_t slot, clock::time_point now) {
    auto& p = slots[slot];
    peer& dev = *p.dev;
    const std::int32_t id = take_id();
    codecs::snmp_request req;
    req.version = dev.version;
    if (p.spec.alternate_version && p.attempt >= 1 && p.attempt + 1 == p.max_attempts)
      req.version = other(dev.version);
    req.community = dev.community;
    req.type = p.spec.type;
    req.request_id = id;
    req.non_repeaters = p.spec.non_repeaters;
    req.max_repetitions = p.spec.max_repetitions;
    req.names = p.spec.names;
    std::size_t len = 0;
    if (auto ec = codecs::encode_request(req, tx, len)) {
      complete_later(slot, ec);
      return;
    }
    udp_transport* t = transport_for(dev.address);
    if (!t) {
      ++stats.send_errors;
      complete_later(slot, error::send_failed);
      return;
    }
    t->send(dev.address, std::span<const std::uint8_t>(tx.data(), len));
    by_id[id] = slot;
    p.attempts.push_back({id, req.version, now});
    p.st.attempts = ++p.attempt;
    p.st.bytes_sent += len;
    if (p.attempt > 1) ++stats.retries;
    push({now + attempt_timeout(dev, p.spec.backoff_start + p.attempt - 1), slot, p.generation,
          p.attempt, event_kind::deadline});
  }

  // Completes from the event loop (used where the caller may be inside async_request).
  void complete_later(std::uint32_t slot, std::error_code ec) {
    auto& p = slots[slot];
    p.soft_error = ec;
    // A deadline event at "now" delivers it on the next timer turn, through on_deadline.
    p.attempt = p.max_attempts;
    push({clock::time_point{}, slot, p.generation, p.attempt, event_kind::deadline});
  }

  void on_deadline(std::uint32_t slot, clock::time_point now) {
    auto& p = slots[slot];
    if (p.attempt < p.max_attempts) {
      const std::uint32_t generation = p.generation;
      schedule_send(slot, now);
      // Last, and through a copy: the hook may issue requests (growing `slots`).
      const auto& q = slots[slot];
      if (q.active && q.generation == generation && q.spec.on_attempt_timeout) {
        const std::function<void()> hook = q.spec.on_attempt_timeout;
        hook();
      }
      return;
    }
    const std::error_code ec = p.soft_error;
    if (ec == error::decode_failed || ec == error::version_mismatch) {
      ++stats.decode_errors;
    } else if (ec == error::send_failed) {
      // counted where it happened
    } else if (ec) {
      ++stats.send_errors;  // encoding refused the request: a caller bug, reported as-is
    } else {
      ++stats.timeouts;
    }
    complete(slot, ec ? ec : make_error_code(error::timeout), {}, outcome::expired);
  }

  void remember(std::int32_t id, outcome what) {
    auto& f = finished[seq_of(id) % finished_ring_size];
    f.id = id;
    f.what = what;
  }

  void complete(std::uint32_t slot, std::error_code ec, codecs::snmp_response&& resp,
                outcome what) {
    auto& p = slots[slot];
    for (const auto& a : p.attempts) {
      by_id.erase(a.id);
      remember(a.id, what);
    }
    completion done = std::move(p.done);
    const request_stats st = p.st;
    if (p.dev->outstanding > 0) --p.dev->outstanding;
    p.active = false;
    ++p.generation;
    p.dev = nullptr;
    p.attempts.clear();
    p.spec.names.clear();
    p.spec.on_attempt_timeout = nullptr;
    free_slots.push_back(slot);
    --active_count;
    if (!ec) ++stats.completed_ok;
    if (done) done(ec, std::move(resp), st);
  }

  void on_datagram(const asio::ip::udp::endpoint& from, std::span<const std::uint8_t> bytes,
                   clock::time_point now) {
    std::int32_t id = 0;
    if (codecs::peek_request_id(bytes, id)) {
      ++stats.drop_malformed;
      // Damaged beyond the header check: if it still names a request of its sender, that request
      // learns that its device answers garbage (reported as decode_failed if nothing better comes).
      std::int32_t guess = 0;
      if (lenient_request_id(bytes, guess)) {
        const auto it = by_id.find(guess);
        if (it != by_id.end() &&
            (slots[it->second].dev->accept_any_source || from == slots[it->second].dev->address))
          slots[it->second].soft_error = make_error_code(error::decode_failed);
      }
      return;
    }
    const auto it = by_id.find(id);
    if (it == by_id.end()) {
      const auto& f = finished[seq_of(id) % finished_ring_size];
      if (f.id == id && f.what == outcome::answered)
        ++stats.drop_duplicate;
      else if (f.id == id && f.what == outcome::expired)
        ++stats.drop_late;
      else
        ++stats.drop_unknown_request;
      return;
    }
    const std::uint32_t slot = it->second;
    auto& p = slots[slot];
    if (!p.dev->accept_any_source && from != p.dev->address) {
      ++stats.drop_unknown_source;
      return;
    }
    codecs::snmp_response resp;
    if (codecs::decode_response(bytes, resp)) {
      // A corrupt reply: keep waiting, a retry may bring a good one.
      ++stats.drop_malformed;
      p.soft_error = make_error_code(error::decode_failed);
      return;
    }
    const auto a = std::find_if(p.attempts.begin(), p.attempts.end(),
                                [&](const attempt_info& x) { return x.id == id; });
    if (a == p.attempts.end()) return;  // cannot happen: by_id and attempts agree
    if (resp.version != a->version) {
      ++stats.drop_malformed;
      p.soft_error = make_error_code(error::version_mismatch);
      return;
    }
    p.st.rtt = duration_cast<microseconds>(now - a->sent_at);
    p.st.reply_bytes = bytes.size();
    p.dev->rtt.add_sample(p.st.rtt);
    latency.add(duration_cast<microseconds>(now - p.attempts.front().sent_at));
    if (resp.type == codecs::pdu_type::report) {
      ++stats.agent_errors;
      complete(slot, error::report, std::move(resp), outcome::answered);
    } else if (resp.error_status != 0) {
      ++stats.agent_errors;
      complete(slot, error::agent_error, std::move(resp), outcome::answered);
    } else {
      complete(slot, {}, std::move(resp), outcome::answered);
    }
  }
};

snmp_client::snmp_client(asio::io_context& io, const client_options& opts)
    : impl_(std::make_shared<impl>(io, opts)) {}

snmp_client::~snmp_client() {
  cancel(nullptr);
  impl_->v4.close();
  if (impl_->v6) impl_->v6->close();
  impl_->timer.cancel();
}

std::error_code snmp_client::open() {
  if (auto ec = impl_->v4.open(impl_->opts.bind_v4)) return ec;
  impl_->v4.start([w = std::weak_ptr<impl>(impl_)](const auto& from, auto bytes, auto at) {
    if (auto self = w.lock()) self->on_datagram(from, bytes, at);
  });
  return {};
}

asio::ip::udp::endpoint snmp_client::local_endpoint_v4() const {
  return impl_->v4.local_endpoint();
}

void snmp_client::async_request(peer& dev, request_spec spec, completion done) {
  auto& im = *impl_;
  ++im.stats.requests;
  if (refused_target(dev.address.address()) || dev.address.port() == 0) {
    ++im.stats.refused;
    asio::post(im.io, [done = std::move(done)] { done(error::bad_target, {}, {}); });
    return;
  }
  if (dev.outstanding >= im.opts.max_outstanding) {
    ++im.stats.refused;
    asio::post(im.io, [done = std::move(done)] { done(error::device_busy, {}, {}); });
    return;
  }
  std::uint32_t slot;
  if (!im.free_slots.empty()) {
    slot = im.free_slots.back();
    im.free_slots.pop_back();
  } else {
    slot = static_cast<std::uint32_t>(im.slots.size());
    im.slots.emplace_back();
  }
  auto& p = im.slots[slot];
  const int retries =
      spec.max_retries < 0 ? im.opts.retries : std::min(im.opts.retries, spec.max_retries);
  p.dev = &dev;
  p.spec = std::move(spec);
  p.done = std::move(done);
  p.active = true;
  p.attempt = 0;
  p.max_attempts = static_cast<std::uint32_t>(std::max(0, retries)) + 1;
  p.soft_error = {};
  p.st = {};
  ++dev.outstanding;
  ++im.active_count;
  im.schedule_send(slot, clock::now());
}

void snmp_client::cancel(const peer* dev) {
  auto& im = *impl_;
  for (std::uint32_t i = 0; i < im.slots.size(); ++i) {
    auto& p = im.slots[i];
    if (p.active && (dev == nullptr || p.dev == dev)) {
      ++im.stats.cancelled;
      im.complete(i, error::cancelled, {}, outcome::expired);
    }
  }
}

std::size_t snmp_client::in_flight() const noexcept {
  return impl_->active_count;
}
const snmp_client::counters& snmp_client::stats() const noexcept {
  return impl_->stats;
}
const client_options& snmp_client::options() const noexcept {
  return impl_->opts;
}

void snmp_client::reconfigure(const client_options& o) {
  auto& im = *impl_;
  const auto transport = im.opts.transport;
  const auto bind_v4 = im.opts.bind_v4;
  const auto bind_v6 = im.opts.bind_v6;
  const auto seed = im.opts.seed;
  im.opts = o;
  im.opts.transport = transport;
  im.opts.bind_v4 = bind_v4;
  im.opts.bind_v6 = bind_v6;
  im.opts.seed = seed;
  im.limiter = rate_limiter(o.rate);
}

const latency_histogram& snmp_client::latencies() const noexcept {
  return impl_->latency;
}

udp_transport::stats snmp_client::transport_stats() const noexcept {
  udp_transport::stats s = impl_->v4.counters();
  if (impl_->v6) s += impl_->v6->counters();
  return s;
}

snmp_client::counters& snmp_client::counters::operator+=(const counters& o) noexcept {
  requests += o.requests;
  completed_ok += o.completed_ok;
  timeouts += o.timeouts;
  decode_errors += o.decode_errors;
  agent_errors += o.agent_errors;
  send_errors += o.send_errors;
  cancelled += o.cancelled;
  refused += o.refused;
  retries += o.retries;
  rate_waits_device += o.rate_waits_device;
  rate_waits_subnet += o.rate_waits_subnet;
  rate_waits_global += o.rate_waits_global;
  drop_unknown_source += o.drop_unknown_source;
  drop_unknown_request += o.drop_unknown_request;
  drop_duplicate += o.drop_duplicate;
  drop_late += o.drop_late;
  drop_malformed += o.drop_malformed;
  return *this;
}

}  // namespace fleetpoll::engine
