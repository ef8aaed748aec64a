#include "fleetpoll/engine/snmp_client.hpp"

#include <algorithm>
#include <cmath>
#include <deque>
#include <optional>
#include <queue>
#include <random>
#include <unordered_map>
#include <unordered_set>

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

}  // namespace

struct snmp_client::impl : std::enable_shared_from_this<impl> {
  impl(asio::io_context& ctx, const client_options& o)
      : io(ctx), opts(o), limiter(o.rate), v4(io, o.transport), timer(io), rng(o.seed) {
    next_id = static_cast<std::int32_t>(rng() % 0x3FFFFFFF) + 1;
    tx.resize(65535);
  }

  struct pending {
    device* dev = nullptr;
    request_spec spec;
    completion done;
    std::uint32_t generation = 0;
    bool active = false;
    std::uint32_t attempt = 0;  // attempts sent so far
    std::vector<std::int32_t> ids;
    std::vector<clock::time_point> sent_at;
    clock::time_point queued_at{};
    std::error_code soft_error;  // e.g. a corrupt reply seen: reported if nothing better comes
    request_stats st;
  };

  enum class event_kind : std::uint8_t { start, send, deadline };
  struct event {
    clock::time_point at;
    std::uint32_t slot;
    std::uint32_t generation;
    std::uint32_t attempt;
    event_kind kind;
    bool operator>(const event& o) const { return at > o.at; }
  };

  asio::io_context& io;
  client_options opts;
  rate_limiter limiter;
  udp_transport v4;
  std::unique_ptr<udp_transport> v6;
  asio::steady_timer timer;
  std::optional<clock::time_point> armed_at;
  std::mt19937_64 rng;
  std::int32_t next_id = 1;
  std::vector<std::uint8_t> tx;

  std::vector<pending> slots;
  std::vector<std::uint32_t> free_slots;
  std::size_t active_count = 0;
  std::unordered_map<std::int32_t, std::uint32_t> by_id;
  std::priority_queue<event, std::vector<event>, std::greater<event>> events;
  std::deque<std::int32_t> late_ring;
  std::unordered_set<std::int32_t> late_set;
  counters stats;

  std::int32_t take_id() {
    std::int32_t id = next_id;
    next_id = next_id >= 0x7FFFFFFF - 1 ? 1 : next_id + 1;
    return id;
  }

  udp_transport* transport_for(const asio::ip::udp::endpoint& ep) {
    if (ep.address().is_v4()) return &v4;
    if (!v6) {
      v6 = std::make_unique<udp_transport>(io, opts.transport);
      if (v6->open(opts.bind_v6)) {
        v6.reset();
        return nullptr;
      }
      v6->start([w = weak_from_this()](const auto& from, auto bytes) {
        if (auto self = w.lock()) self->on_datagram(from, bytes);
      });
    }
    return v6.get();
  }

  void push(event e) {
    events.push(e);
    arm();
  }

  void arm() {
    if (events.empty()) return;
    auto top = events.top().at;
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
    auto now = clock::now();
    // Handle everything due; work done here may push new (later) events.
    while (!events.empty() && events.top().at <= now) {
      event e = events.top();
      events.pop();
      if (e.slot >= slots.size()) continue;
      auto& p = slots[e.slot];
      if (!p.active || p.generation != e.generation) continue;  // finished meanwhile
      if (e.kind == event_kind::start) {
        schedule_send(e.slot, now);  // through the rate limiter
      } else if (e.kind == event_kind::send) {
        send_attempt(e.slot, now);
      } else if (e.attempt == p.attempt) {  // only the latest attempt's deadline counts
        on_deadline(e.slot);
      }
    }
    arm();
  }

  microseconds attempt_timeout(const device& dev, std::uint32_t attempt) {
    double base = static_cast<double>(dev.rtt.timeout().count());
    double scaled = base * std::pow(opts.backoff, static_cast<double>(attempt));
    std::uniform_real_distribution<double> spread(1.0 - opts.jitter, 1.0 + opts.jitter);
    double t = scaled * spread(rng);
    double cap = static_cast<double>(dev.rtt.bounds().max.count()) *
                 std::pow(opts.backoff, static_cast<double>(attempt));
    return microseconds(static_cast<std::int64_t>(std::min(t, cap)));
  }

  void schedule_send(std::uint32_t slot, clock::time_point now) {
    auto& p = slots[slot];
    auto r = limiter.reserve(p.dev->address.address(), p.dev->last_send, now);
    p.dev->last_send = r.at;
    switch (r.reason) {
      case rate_limiter::bound_by::none: break;
      case rate_limiter::bound_by::device: ++stats.rate_waits_device; break;
      case rate_limiter::bound_by::subnet: ++stats.rate_waits_subnet; break;
      case rate_limiter::bound_by::global: ++stats.rate_waits_global; break;
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
    device& dev = *p.dev;
    const std::int32_t id = take_id();
    codecs::snmp_request req;
    req.version = dev.version;
    req.community = dev.community;
    req.type = p.spec.type;
    req.request_id = id;
    req.non_repeaters = p.spec.non_repeaters;
    req.max_repetitions = p.spec.max_repetitions;
    req.names = p.spec.names;
    std::size_t len = 0;
    if (auto ec = codecs::encode_request(req, tx, len)) {
      complete(slot, ec, {});
      return;
    }
    udp_transport* t = transport_for(dev.address);
    if (!t) {
      ++stats.send_errors;
      complete(slot, error::send_failed, {});
      return;
    }
    t->send(dev.address, std::span<const std::uint8_t>(tx.data(), len));
    by_id[id] = slot;
    p.ids.push_back(id);
    p.sent_at.push_back(now);
    p.st.attempts = ++p.attempt;
    p.st.request_bytes = len;
    if (p.attempt > 1) ++stats.retries;
    push({now + attempt_timeout(dev, p.attempt - 1), slot, p.generation, p.attempt,
          event_kind::deadline});
  }

  void on_deadline(std::uint32_t slot) {
    auto& p = slots[slot];
    if (p.attempt <= static_cast<std::uint32_t>(std::max(0, opts.retries))) {
      schedule_send(slot, clock::now());
      return;
    }
    if (p.soft_error) {
      ++stats.decode_errors;
      complete(slot, p.soft_error, {});
    } else {
      ++stats.timeouts;
      complete(slot, error::timeout, {});
    }
  }

  void remember_late(std::int32_t id) {
    if (opts.late_memory == 0) return;
    if (late_ring.size() >= opts.late_memory) {
      late_set.erase(late_ring.front());
      late_ring.pop_front();
    }
    late_ring.push_back(id);
    late_set.insert(id);
  }

  void complete(std::uint32_t slot, std::error_code ec, codecs::snmp_response&& resp) {
    auto& p = slots[slot];
    for (auto id : p.ids) {
      by_id.erase(id);
      remember_late(id);
    }
    completion done = std::move(p.done);
    request_stats st = p.st;
    if (p.dev->outstanding > 0) --p.dev->outstanding;
    p.active = false;
    ++p.generation;
    p.dev = nullptr;
    p.ids.clear();
    p.sent_at.clear();
    p.spec = {};
    free_slots.push_back(slot);
    --active_count;
    if (!ec) ++stats.completed_ok;
    if (done) done(ec, std::move(resp), st);
  }

  void on_datagram(const asio::ip::udp::endpoint& from, std::span<const std::uint8_t> bytes) {
    std::int32_t id = 0;
    if (codecs::peek_request_id(bytes, id)) {
      ++stats.drop_malformed;
      return;
    }
    auto it = by_id.find(id);
    if (it == by_id.end()) {
      if (late_set.count(id))
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
    if (auto ec = codecs::decode_response(bytes, resp)) {
      // A corrupt reply: keep waiting, a retry may bring a good one.
      ++stats.drop_malformed;
      p.soft_error = make_error_code(error::decode_failed);
      return;
    }
    const auto now = clock::now();
    auto pos = std::find(p.ids.begin(), p.ids.end(), id);
    auto idx = static_cast<std::size_t>(pos - p.ids.begin());
    p.st.rtt = duration_cast<microseconds>(now - p.sent_at[idx]);
    p.st.reply_bytes = bytes.size();
    p.dev->rtt.add_sample(p.st.rtt);
    if (resp.type == codecs::pdu_type::report) {
      ++stats.agent_errors;
      complete(slot, error::report, std::move(resp));
    } else if (resp.error_status != 0) {
      ++stats.agent_errors;
      complete(slot, error::agent_error, std::move(resp));
    } else {
      complete(slot, {}, std::move(resp));
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
  impl_->v4.start([w = std::weak_ptr<impl>(impl_)](const auto& from, auto bytes) {
    if (auto self = w.lock()) self->on_datagram(from, bytes);
  });
  return {};
}

asio::ip::udp::endpoint snmp_client::local_endpoint_v4() const { return impl_->v4.local_endpoint(); }

void snmp_client::async_request(device& dev, request_spec spec, completion done) {
  auto& im = *impl_;
  ++im.stats.requests;
  auto fail_later = [&](error e) {
    asio::post(im.io, [done = std::move(done), e] { done(e, {}, {}); });
  };
  if (refused_target(dev.address.address()) || dev.address.port() == 0) {
    fail_later(error::bad_target);
    return;
  }
  if (dev.outstanding >= im.opts.max_outstanding) {
    fail_later(error::device_busy);
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
  p.dev = &dev;
  p.spec = std::move(spec);
  p.done = std::move(done);
  p.active = true;
  p.attempt = 0;
  p.soft_error = {};
  p.st = {};
  ++dev.outstanding;
  ++im.active_count;
  // Defer the first send to the event loop, so `done` never runs inside this call.
  im.push({clock::time_point{}, slot, p.generation, 0, impl::event_kind::start});
}

void snmp_client::cancel(const device* dev) {
  auto& im = *impl_;
  for (std::uint32_t i = 0; i < im.slots.size(); ++i) {
    auto& p = im.slots[i];
    if (p.active && (dev == nullptr || p.dev == dev)) {
      ++im.stats.cancelled;
      im.complete(i, error::cancelled, {});
    }
  }
}

std::size_t snmp_client::in_flight() const noexcept { return impl_->active_count; }
const snmp_client::counters& snmp_client::stats() const noexcept { return impl_->stats; }
const udp_transport::stats& snmp_client::transport_stats() const noexcept {
  return impl_->v4.counters();
}

}  // namespace fleetpoll::engine
