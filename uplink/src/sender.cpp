#include "fleetpoll/uplink/sender.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <charconv>
#include <cstdio>
#include <future>
#include <map>
#include <set>
#include <vector>

#include "detail.hpp"
#include "fleetpoll/codecs/change_record.hpp"
#include "fleetpoll/uplink/batch_codec.hpp"
#include "fleetpoll/uplink/error.hpp"
#include "fleetpoll/uplink/uplink_metrics.hpp"

namespace fleetpoll::uplink {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using schema::ChangeKind;

namespace {

// Kinds a provider acts on at once (order toner, send an engineer, a new device): their batch is
// sealed within max_delay. Everything else (counters, level steps, clears, status, heartbeats)
// may wait routine_delay and travels with the next batch. docs/wire-format.md ("Batching").
bool urgent(ChangeKind k) {
  switch (k) {
    case ChangeKind::identity:
    case ChangeKind::supply_reorder:
    case ChangeKind::supply_low:
    case ChangeKind::supply_empty:
    case ChangeKind::alert_raised:
    case ChangeKind::device_down:
    case ChangeKind::counter_reset:
    case ChangeKind::unspecified:
      return true;
    default:
      return false;
  }
}

}  // namespace

struct sender::impl : std::enable_shared_from_this<impl> {
  struct batch_state {
    sealed_batch sealed;
    std::string element;  // <batch .../>
    std::uint64_t oldest_created_ms = 0;
    int conn = -1;  // connection it is in flight on, -1 = waiting to be sent
    std::chrono::steady_clock::time_point sent_at{};
    unsigned attempts = 0;
  };

  asio::io_context& io;
  asio::strand<asio::io_context::executor_type> strand;
  record_source& source;
  const keyring& keys;
  sender_options opt;
  uplink_metrics* m;
  stats st;
  std::vector<std::unique_ptr<xmpp_connection>> conns;
  std::vector<std::size_t> inflight;  // per connection
  std::set<std::string> receivers;    // available receiver full JIDs
  std::uint64_t read_cursor = 0;
  std::vector<outbox_record> pending;
  std::size_t pending_bytes = 0;
  std::map<std::uint64_t, batch_state> batches;  // by first seq
  asio::steady_timer flush_timer;
  asio::steady_timer tick_timer;
  std::atomic<bool> pump_posted{false};
  bool running = false;
  std::FILE* audit = nullptr;
  std::uint64_t last_bytes = 0;

  impl(asio::io_context& i, record_source& s, const keyring& k, sender_options o,
       uplink_metrics* mm)
      : io(i),
        strand(asio::make_strand(i)),
        source(s),
        keys(k),
        opt(std::move(o)),
        m(mm),
        flush_timer(strand),
        tick_timer(strand) {}
  ~impl() {
    if (audit != nullptr) std::fclose(audit);
  }

  std::error_code validate() const {
    if (!valid_site_id(opt.site) || opt.receiver_jid.empty() || opt.pool_size == 0 ||
        opt.pool_size > 64 || opt.window == 0 || opt.max_batch_records == 0 || opt.xmpp.jid.empty())
      return error::config_invalid;
    // base64 (4/3) of a batch that zstd could not shrink, plus the message around it.
    if (opt.max_batch_bytes == 0 || opt.max_batch_bytes * 3 / 2 + 4096 > opt.server_stanza_limit)
      return error::config_invalid;
    if (keys.current() == nullptr) return error::key_file_empty;
    return {};
  }

  // ------------------------------------------------------------------ audit log
  void audit_line(const std::string& line) {
    if (audit == nullptr) return;
    std::fwrite(line.data(), 1, line.size(), audit);
    std::fputc('\n', audit);
  }

  // ------------------------------------------------------------------ pool
  void start_pool() {
    for (std::size_t i = 0; i < opt.pool_size; ++i) {
      xmpp_options xo = opt.xmpp;
      xo.resource = opt.xmpp.resource + "-" + std::to_string(i + 1);
      std::weak_ptr<impl> w = weak_from_this();
      connection_events ev;
      ev.on_ready = [w, i](bool resumed) {
        if (auto s = w.lock()) s->on_ready(i, resumed);
      };
      ev.on_down = [w, i](std::error_code ec) {
        if (auto s = w.lock()) s->on_down(i, ec);
      };
      ev.on_stanza = [w](const element& e) {
        if (auto s = w.lock()) s->on_stanza(e);
      };
      ev.on_state = [w](connection_state) {
        if (auto s = w.lock()) s->update_connection_gauges();
      };
      conns.push_back(std::make_unique<xmpp_connection>(strand, std::move(xo), std::move(ev)));
      inflight.push_back(0);
    }
    for (auto& c : conns) c->start();
  }

  void update_connection_gauges() {
    std::array<int, connection_state_count> n{};
    std::uint64_t ready = 0;
    for (auto& c : conns) {
      ++n[static_cast<std::size_t>(c->state())];
      if (c->state() == connection_state::ready) ++ready;
    }
    st.connections_ready = ready;
    if (m != nullptr)
      for (std::size_t i = 0; i < connection_state_count; ++i)
        m->connections(static_cast<connection_state>(i)).Set(n[i]);
  }

  void on_ready(std::size_t i, bool resumed) {
    ++st.ready_events;
    if (resumed) ++st.resumed_events;
    if (!resumed) {
      // A fresh session relearns the receiver's presence from the server's probe answer; what
      // was known is stale unless another connection is still up to keep it current.
      bool other_ready = false;
      for (std::size_t k = 0; k < conns.size(); ++k)
        other_ready |= k != i && conns[k]->state() == connection_state::ready;
      if (!other_ready) set_receivers_empty();
      std::string to = xml_escape(opt.receiver_jid);
      conns[i]->send("<presence type='subscribe' to='" + to + "'/>");
      conns[i]->send("<presence/>");
    }
    update_connection_gauges();
    pump();
  }

  void on_down(std::size_t i, std::error_code ec) {
    ++st.failures;
    failure_kind k = classify(ec);
    if (k == failure_kind::auth) ++st.auth_failures;
    if (k == failure_kind::tls) ++st.tls_failures;
    if (m != nullptr && k != failure_kind::none) m->failures(k).Increment();
    std::fprintf(stderr, "uplink: connection %zu down: %s\n", i + 1, ec.message().c_str());
    requeue([i](const batch_state& b) { return b.conn == static_cast<int>(i); });
    // The receiver's presence stays known: a resumed session gets the presence changes it missed
    // re-delivered (XEP-0198); a fresh one clears and relearns it (on_ready).
    update_connection_gauges();
    pump();
  }

  void set_receivers_empty() {
    receivers.clear();
    st.receiver_available = false;
    if (m != nullptr) m->receiver_available().Set(0);
  }

  template <typename Pred>
  void requeue(Pred pred) {
    for (auto& [first, b] : batches) {
      if (b.conn < 0 || !pred(b)) continue;
      inflight[static_cast<std::size_t>(b.conn)]--;
      b.conn = -1;
    }
  }

  void on_stanza(const element& e) {
    const std::string* from = e.attribute("from");
    if (from == nullptr || jid_bare(*from) != opt.receiver_jid) return;
    if (e.name == "presence") {
      const std::string* type = e.attribute("type");
      if (type == nullptr) {
        receivers.insert(*from);
      } else if (*type == "unavailable" || *type == "error") {
        receivers.erase(*from);
        if (*type == "error") receivers.clear();
      } else {
        return;  // subscribed / subscribe / unsubscribed: nothing to do
      }
      bool avail = !receivers.empty();
      st.receiver_available = avail;
      if (m != nullptr) m->receiver_available().Set(avail ? 1 : 0);
      if (!avail) requeue([](const batch_state&) { return true; });
      pump();
      return;
    }
    if (e.name == "message") {
      const element* rcv = e.child("urn:xmpp:receipts", "received");
      if (rcv == nullptr) return;
      const std::string* id = rcv->attribute("id");
      if (id == nullptr) return;
      acknowledge(*id);
    }
  }

  static std::string message_id(const batch_state& b) {
    return "b" + std::to_string(b.sealed.envelope.first_seq) + "-" +
           std::to_string(b.sealed.envelope.last_seq);
  }

  void acknowledge(const std::string& id) {
    // "b<first>-<last>"
    if (id.size() < 4 || id[0] != 'b') return;
    auto dash = id.find('-');
    if (dash == std::string::npos) return;
    std::uint64_t first = 0;
    auto [ptr, parse_ec] = std::from_chars(id.data() + 1, id.data() + dash, first);
    if (parse_ec != std::errc{} || ptr != id.data() + dash) return;
    auto it = batches.find(first);
    if (it == batches.end() || message_id(it->second) != id) return;  // already acknowledged
    batch_state& b = it->second;
    const auto& env = b.sealed.envelope;
    if (auto ec = source.acknowledge(env.first_seq, env.last_seq)) {
      std::fprintf(stderr, "uplink: outbox acknowledge [%llu,%llu] failed: %s\n",
                   static_cast<unsigned long long>(env.first_seq),
                   static_cast<unsigned long long>(env.last_seq), ec.message().c_str());
      return;  // kept; resent after ack_timeout and acknowledged again
    }
    std::uint64_t now = detail::wall_ms();
    double latency =
        now > b.oldest_created_ms ? static_cast<double>(now - b.oldest_created_ms) / 1000.0 : 0.0;
    if (b.conn >= 0) inflight[static_cast<std::size_t>(b.conn)]--;
    st.batches_acknowledged++;
    st.records_acknowledged += env.count;
    if (m != nullptr) {
      m->batches_acknowledged().Increment();
      m->records_acknowledged().Increment(env.count);
      m->delivery_latency().Observe(latency);
    }
    audit_line("{\"at_ms\":" + std::to_string(now) + ",\"event\":\"acknowledged\",\"site\":\"" +
               env.site + "\",\"first\":" + std::to_string(env.first_seq) + ",\"last\":" +
               std::to_string(env.last_seq) + ",\"records\":" + std::to_string(env.count) +
               ",\"latency_ms\":" + std::to_string(latency * 1000.0) + "}");
    batches.erase(it);
    pump();
  }

  // ------------------------------------------------------------------ batching
  std::chrono::milliseconds delay_of(const outbox_record& r) const {
    std::span<const std::uint8_t> bytes(reinterpret_cast<const std::uint8_t*>(r.bytes.data()),
                                        r.bytes.size());
    if (!codecs::verify_change_record(bytes)) return opt.max_delay;
    return urgent(codecs::change_record_of(bytes)->kind()) ? opt.max_delay : opt.routine_delay;
  }

  std::size_t max_outstanding() const { return opt.pool_size * opt.window + 2; }

  void seal() {
    if (pending.empty()) return;
    batch_state b;
    const aes_key* key = keys.current();
    // Small batches (sealed by time at low rates) get zstd's strongest level: they are cheap to
    // compress and bytes on the wire dominate; large ones keep the fast level.
    int level = pending_bytes < std::size_t{16} * 1024 ? opt.zstd_level_small : opt.zstd_level;
    if (auto ec = seal_batch(pending, opt.site, *key, b.sealed, 0, level)) {
      std::fprintf(stderr, "uplink: sealing a batch failed: %s\n", ec.message().c_str());
      return;  // records stay pending; retried at the next pump
    }
    b.element = batch_element_xml(b.sealed);
    b.oldest_created_ms = pending.front().created_ms;
    for (const auto& r : pending) b.oldest_created_ms = std::min(b.oldest_created_ms, r.created_ms);
    if (audit != nullptr && opt.audit_records) {
      for (const auto& r : pending) {
        std::span<const std::uint8_t> bytes(reinterpret_cast<const std::uint8_t*>(r.bytes.data()),
                                            r.bytes.size());
        if (!codecs::verify_change_record(bytes)) continue;
        audit_line("{\"event\":\"record\",\"site\":\"" + opt.site +
                   "\",\"seq\":" + std::to_string(r.seq) +
                   ",\"record\":" + codecs::change_record_json(bytes) + "}");
      }
    }
    std::uint64_t first = b.sealed.envelope.first_seq;
    batches.emplace(first, std::move(b));
    pending.clear();
    pending_bytes = 0;
  }

  void fill() {
    while (batches.size() < max_outstanding()) {
      std::size_t want_records = opt.max_batch_records - pending.size();
      std::size_t want_bytes =
          opt.max_batch_bytes > pending_bytes ? opt.max_batch_bytes - pending_bytes : 0;
      if (want_records == 0 || want_bytes == 0) {
        seal();
        continue;
      }
      std::vector<outbox_record> got;
      if (auto ec = source.read(read_cursor, want_records, want_bytes, got)) {
        std::fprintf(stderr, "uplink: outbox read failed: %s\n", ec.message().c_str());
        return;
      }
      if (got.empty()) break;
      // A single record larger than the remaining room starts a batch of its own.
      if (!pending.empty() && pending_bytes + got.front().bytes.size() > opt.max_batch_bytes) {
        seal();
        continue;
      }
      for (auto& r : got) {
        if (!pending.empty() && pending_bytes + r.bytes.size() > opt.max_batch_bytes) break;
        // A batch covers consecutive sequence numbers only: a jump (records the outbox skipped)
        // seals what is pending and starts a new batch.
        if (!pending.empty() && r.seq != pending.back().seq + 1) seal();
        read_cursor = r.seq;
        pending_bytes += r.bytes.size();
        pending.push_back(std::move(r));
      }
      if (pending_bytes >= opt.max_batch_bytes || pending.size() >= opt.max_batch_records) seal();
    }
    // Time trigger: the earliest deadline of the records waiting.
    if (!pending.empty()) {
      std::uint64_t deadline = UINT64_MAX;
      for (const auto& r : pending)
        deadline = std::min<std::uint64_t>(
            deadline, r.created_ms + static_cast<std::uint64_t>(delay_of(r).count()));
      std::uint64_t now = detail::wall_ms();
      if (now >= deadline && batches.size() < max_outstanding()) {
        seal();
      } else {
        auto wait = std::chrono::milliseconds(now >= deadline ? 50 : deadline - now);
        flush_timer.expires_after(wait);
        std::weak_ptr<impl> w = weak_from_this();
        flush_timer.async_wait([w](boost::system::error_code ec) {
          if (ec) return;
          if (auto s = w.lock()) s->pump();
        });
      }
    }
  }

  void dispatch() {
    if (receivers.empty()) return;
    const std::string& to = *receivers.begin();
    for (auto& [first, b] : batches) {
      if (b.conn >= 0) continue;
      int best = -1;
      for (std::size_t i = 0; i < conns.size(); ++i) {
        if (conns[i]->state() != connection_state::ready || inflight[i] >= opt.window) continue;
        if (best < 0 || inflight[i] < inflight[static_cast<std::size_t>(best)])
          best = static_cast<int>(i);
      }
      if (best < 0) return;
      std::string stanza = "<message to='" + xml_escape(to) + "' id='" + message_id(b) +
                           "' type='normal'>" + b.element +
                           "<request xmlns='urn:xmpp:receipts'/></message>";
      auto idx = static_cast<std::size_t>(best);
      if (!conns[idx]->send(std::move(stanza))) return;
      b.conn = best;
      inflight[idx]++;
      b.sent_at = std::chrono::steady_clock::now();
      ++b.attempts;
      const auto& env = b.sealed.envelope;
      st.batches_sent++;
      st.records_sent += env.count;
      if (m != nullptr) {
        m->batches_sent().Increment();
        m->records_sent().Increment(env.count);
      }
      if (b.attempts > 1) {
        st.batches_retried++;
        if (m != nullptr) {
          m->batches_retried().Increment();
          m->records_retried().Increment(env.count);
        }
      }
      audit_line(
          "{\"at_ms\":" + std::to_string(detail::wall_ms()) + ",\"event\":\"sent\",\"site\":\"" +
          env.site + "\",\"first\":" + std::to_string(env.first_seq) +
          ",\"last\":" + std::to_string(env.last_seq) +
          ",\"records\":" + std::to_string(env.count) + ",\"key\":" + std::to_string(env.key_id) +
          ",\"plain_bytes\":" + std::to_string(b.sealed.plain_bytes) +
          ",\"compressed_bytes\":" + std::to_string(b.sealed.compressed_bytes) +
          ",\"payload_chars\":" + std::to_string(b.sealed.payload.size()) + ",\"attempt\":" +
          std::to_string(b.attempts) + ",\"connection\":" + std::to_string(best + 1) + "}");
    }
  }

  void pump() {
    pump_posted = false;
    if (!running) return;
    fill();
    dispatch();
    if (audit != nullptr) std::fflush(audit);
  }

  void post_pump() {
    if (pump_posted.exchange(true)) return;
    std::weak_ptr<impl> w = weak_from_this();
    asio::post(strand, [w] {
      if (auto s = w.lock()) s->pump();
    });
  }

  // Once a second: ack timeouts, gauges from the source, bytes.
  void tick() {
    if (!running) return;
    auto now = std::chrono::steady_clock::now();
    requeue([&](const batch_state& b) { return now - b.sent_at > opt.ack_timeout; });
    std::uint64_t bytes = 0;
    for (auto& c : conns) bytes += c->bytes_sent();
    if (m != nullptr) {
      if (bytes > last_bytes) m->bytes_sent().Increment(static_cast<double>(bytes - last_bytes));
      m->outbox_depth().Set(static_cast<double>(source.depth()));
      std::uint64_t oldest = source.oldest_created_ms();
      std::uint64_t wnow = detail::wall_ms();
      m->outbox_oldest_age().Set(
          oldest == 0 || oldest > wnow ? 0.0 : static_cast<double>(wnow - oldest) / 1000.0);
    }
    last_bytes = bytes;
    st.bytes_sent = bytes;
    pump();
    tick_timer.expires_after(1s);
    std::weak_ptr<impl> w = weak_from_this();
    tick_timer.async_wait([w](boost::system::error_code ec) {
      if (ec) return;
      if (auto s = w.lock()) s->tick();
    });
  }
};

sender::sender(asio::io_context& io, record_source& source, const keyring& keys,
               sender_options options, uplink_metrics* metrics)
    : impl_(std::make_shared<impl>(io, source, keys, std::move(options), metrics)) {}

sender::~sender() {
  stop();
  impl_->source.set_append_listener({});
}

std::error_code sender::start() {
  if (auto ec = impl_->validate()) return ec;
  if (!impl_->opt.audit_path.empty()) {
    impl_->audit = std::fopen(impl_->opt.audit_path.c_str(), "a");
    if (impl_->audit == nullptr) return {errno, std::generic_category()};
  }
  std::weak_ptr<impl> w = impl_;
  impl_->source.set_append_listener([w] {
    if (auto s = w.lock()) s->post_pump();
  });
  auto s = impl_;
  asio::post(s->strand, [s] {
    s->running = true;
    std::uint64_t fu = s->source.first_unacknowledged();
    s->read_cursor = fu > 0 ? fu - 1 : 0;
    s->start_pool();
    s->tick();
  });
  return {};
}

void sender::stop() {
  auto s = impl_;
  if (!s) return;
  s->source.set_append_listener({});
  detail::run_on_strand_and_wait(s->io, s->strand, [s] {
    s->running = false;
    for (auto& c : s->conns) c->stop();
    s->flush_timer.cancel();
    s->tick_timer.cancel();
    if (s->audit != nullptr) std::fflush(s->audit);
  });
  // Let the connections leave cleanly (bounded inside xmpp_connection at 1 s).
  detail::wait_for_connections(s->io, s->strand, [s] {
    for (auto& c : s->conns)
      if (!c->finished()) return false;
    return true;
  });
}

const sender::stats& sender::counters() const noexcept {
  return impl_->st;
}

}  // namespace fleetpoll::uplink
