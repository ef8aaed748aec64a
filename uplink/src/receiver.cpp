#include "fleetpoll/uplink/receiver.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <fstream>
#include <future>
#include <map>
#include <mutex>
#include <sstream>
#include <thread>

#include "detail.hpp"
#include "fleetpoll/codecs/change_record.hpp"
#include "fleetpoll/uplink/error.hpp"
#include "fleetpoll/uplink/uplink_metrics.hpp"

namespace fleetpoll::uplink {

namespace asio = boost::asio;
using namespace std::chrono_literals;

struct receiver::impl : std::enable_shared_from_this<impl> {
  asio::io_context& io;
  asio::strand<asio::io_context::executor_type> strand;
  receiver_options opt;
  receiver_metrics* m;
  stats st;
  std::unique_ptr<xmpp_connection> conn;
  // Per site: every seq <= written[site] is held (written in order, exactly once).
  std::map<std::string, std::uint64_t> written;
  // Per site: authentic batches that arrived ahead of a gap, by first seq, not yet acknowledged.
  struct early_batch {
    batch_envelope env;
    std::vector<outbox_record> records;
    std::vector<std::pair<std::string, std::string>> receipts;  // (to, message id)
  };
  std::map<std::string, std::map<std::uint64_t, early_batch>> early;
  static constexpr std::size_t max_early_batches = 256;
  // Group commit (see commit()).
  struct sync_job {
    std::string ledger;
    std::vector<std::pair<std::string, std::string>> receipts;
    std::vector<std::pair<std::string, outbox_record>> hooks;
  };
  std::thread sync_thread;
  std::mutex sync_mu;
  std::condition_variable sync_cv;
  std::deque<sync_job> sync_queue;
  bool sync_quit = false;
  bool commit_posted = false;
  std::string ledger_pending;
  std::vector<std::pair<std::string, std::string>> receipts_pending;
  std::vector<std::pair<std::string, outbox_record>> hook_pending;
  std::FILE* out = nullptr;
  bool out_is_stdout = false;
  int ledger_fd = -1;
  std::function<void(std::string_view, const outbox_record&)> hook;
  std::function<void(const std::string&)> log = [](const std::string& s) {
    std::fprintf(stderr, "%s\n", s.c_str());
  };

  impl(asio::io_context& i, receiver_options o, receiver_metrics* mm)
      : io(i), strand(asio::make_strand(i)), opt(std::move(o)), m(mm) {}
  ~impl() {
    stop_sync_thread();
    if (out != nullptr && !out_is_stdout) std::fclose(out);
    if (ledger_fd >= 0) ::close(ledger_fd);
  }

  const receiver_site* site_by_jid(const std::string& bare) const {
    for (const auto& s : opt.sites)
      if (s.jid == bare) return &s;
    return nullptr;
  }

  std::error_code open_files() {
    if (opt.output == "-") {
      out = stdout;
      out_is_stdout = true;
    } else {
      out = std::fopen(opt.output.c_str(), "a");
      if (out == nullptr) return {errno, std::generic_category()};
    }
    if (!opt.state_path.empty()) {
      std::ifstream in(opt.state_path);
      std::string site;
      std::uint64_t a = 0, b = 0;
      while (in >> site >> a >> b) {
        std::uint64_t& w = written[site];
        if (a != 0 && b >= a && a <= w + 1) w = std::max(w, b);
      }
      ledger_fd = ::open(opt.state_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
      if (ledger_fd < 0) return {errno, std::generic_category()};
    }
    return {};
  }

  void count(batch_result r) {
    st.batches[static_cast<std::size_t>(r)]++;
    if (m != nullptr) m->batches(r).Increment();
  }

  void on_stanza(const element& e) {
    const std::string* from = e.attribute("from");
    if (from == nullptr) return;
    std::string bare = jid_bare(*from);
    if (e.name == "presence") {
      const std::string* type = e.attribute("type");
      if (type != nullptr && *type == "subscribe") {
        bool known = site_by_jid(bare) != nullptr;
        conn->send("<presence type='" + std::string(known ? "subscribed" : "unsubscribed") +
                   "' to='" + xml_escape(bare) + "'/>");
        if (!known) log("receive: refused presence subscription from " + bare);
      }
      return;
    }
    if (e.name != "message") return;
    const element* batch = e.child(ns_batch, "batch");
    if (batch == nullptr) return;
    const std::string* id = e.attribute("id");
    const receiver_site* site = site_by_jid(bare);
    batch_envelope env;
    if (site == nullptr) {
      count(batch_result::unknown_site);
      log("receive: batch from unknown sender " + bare + " dropped");
      return;
    }
    if (auto ec = parse_batch_envelope(*batch, env)) {
      count(batch_result::malformed);
      log("receive: malformed batch envelope from " + bare + ": " + ec.message());
      return;
    }
    if (env.site != site->id) {
      count(batch_result::unknown_site);
      log("receive: " + bare + " sent a batch for site '" + env.site + "', expected '" + site->id +
          "'");
      return;
    }
    std::vector<outbox_record> records;
    if (auto ec = open_batch(env, batch->text, site->keys, records, opt.limits)) {
      batch_result r = ec == error::batch_bad_tag       ? batch_result::bad_tag
                       : ec == error::batch_unknown_key ? batch_result::unknown_key
                                                        : batch_result::malformed;
      count(r);
      log("receive: batch " + site->id + " [" + std::to_string(env.first_seq) + "," +
          std::to_string(env.last_seq) + "] rejected: " + ec.message());
      return;
    }
    std::uint64_t& done = written[site->id];
    std::vector<std::pair<std::string, std::string>> receipts;
    if (env.last_seq <= done) {
      // Everything already held: a resend or a replay. Acknowledge again, write nothing.
      count(batch_result::replayed);
      st.records_duplicate += records.size();
      if (m != nullptr) m->records_duplicate().Increment(static_cast<double>(records.size()));
      if (id != nullptr) receipts.emplace_back(*from, *id);
      send_receipts(receipts);
      return;
    }
    auto& ahead = early[site->id];
    auto [it, inserted] = ahead.try_emplace(env.first_seq);
    if (inserted || it->second.env.last_seq < env.last_seq) {
      it->second.env = env;
      it->second.records = std::move(records);
    }
    if (id != nullptr) it->second.receipts.emplace_back(*from, *id);
    count(batch_result::accepted);
    // Write every held batch that now continues the sequence, in order.
    const std::uint64_t before = done;
    std::uint64_t dup = 0;
    std::vector<early_batch> drained;
    while (!ahead.empty() && ahead.begin()->first <= done + 1) {
      drained.push_back(std::move(ahead.begin()->second));
      ahead.erase(ahead.begin());
      for (const auto& r : drained.back().records) {
        if (r.seq <= done)
          ++dup;
        else
          done = r.seq;  // records are contiguous within a batch (verified ascending, first..last)
      }
    }
    std::uint64_t now = detail::wall_ms();
    std::string lines;
    std::vector<const outbox_record*> fresh_records;
    std::uint64_t next = before + 1;
    for (const auto& b : drained)
      for (const auto& r : b.records) {
        if (r.seq != next) continue;
        std::span<const std::uint8_t> bytes(reinterpret_cast<const std::uint8_t*>(r.bytes.data()),
                                            r.bytes.size());
        lines += "{\"site\":\"" + site->id + "\",\"seq\":" + std::to_string(r.seq) +
                 ",\"created_ms\":" + std::to_string(r.created_ms) +
                 ",\"received_ms\":" + std::to_string(now) +
                 ",\"record\":" + codecs::change_record_json(bytes) + "}\n";
        fresh_records.push_back(&r);
        ++next;
      }
    if (!lines.empty()) {
      if (std::fwrite(lines.data(), 1, lines.size(), out) != lines.size()) {
        log("receive: writing the output failed; exiting");
        std::abort();  // nothing was acknowledged: after a restart the sender resends
      }
      ledger_pending += site->id + " 1 " + std::to_string(done) + "\n";
    }
    st.records_written += fresh_records.size();
    st.records_duplicate += dup;
    if (m != nullptr) {
      m->records_written().Increment(static_cast<double>(fresh_records.size()));
      m->records_duplicate().Increment(static_cast<double>(dup));
    }
    for (const outbox_record* r : fresh_records) {
      if (m != nullptr && now >= r->created_ms)
        m->latency().Observe(static_cast<double>(now - r->created_ms) / 1000.0);
      if (hook) hook_pending.emplace_back(site->id, *r);
    }
    for (auto& b : drained)
      for (auto& rc : b.receipts) receipts.push_back(std::move(rc));
    send_receipts(receipts);
    // Bound what waits ahead of a gap: drop the furthest (unacknowledged, so it is resent).
    while (ahead.size() > max_early_batches) ahead.erase(std::prev(ahead.end()));
  }

  // Group commit: the receipts of every batch handled in one turn of the event loop wait for one
  // flush + fdatasync of the output and one of the ledger, then go out together.
  void send_receipts(std::vector<std::pair<std::string, std::string>>& receipts) {
    for (auto& r : receipts) receipts_pending.push_back(std::move(r));
    receipts.clear();
    if (commit_posted || receipts_pending.empty()) return;
    commit_posted = true;
    std::weak_ptr<impl> w = weak_from_this();
    asio::post(strand, [w] {
      if (auto s = w.lock()) s->commit();
    });
  }

  void commit() {
    commit_posted = false;
    if (std::fflush(out) != 0) {
      log("receive: writing the output failed; exiting");
      std::abort();
    }
    sync_job job{std::move(ledger_pending), std::move(receipts_pending), std::move(hook_pending)};
    ledger_pending.clear();
    receipts_pending.clear();
    hook_pending.clear();
    if (!opt.sync) {
      write_ledger(job.ledger);
      finish(job);
      return;
    }
    // fdatasync on the sync thread, so that this strand goes on decrypting and writing the next
    // batches meanwhile; the receipts go out once the data they confirm is on disk.
    {
      std::lock_guard lock(sync_mu);
      sync_queue.push_back(std::move(job));
    }
    sync_cv.notify_one();
  }

  void write_ledger(const std::string& lines) {
    if (ledger_fd < 0 || lines.empty()) return;
    if (::write(ledger_fd, lines.data(), lines.size()) != static_cast<ssize_t>(lines.size())) {
      log("receive: writing the state ledger failed; exiting");
      std::abort();
    }
  }

  // On the strand: hooks and receipts of data now durable.
  void finish(sync_job& job) {
    for (const auto& [site_id, r] : job.hooks) hook(site_id, r);
    for (const auto& [to, msg_id] : job.receipts) {
      conn->send("<message to='" + xml_escape(to) + "'><received xmlns='urn:xmpp:receipts' id='" +
                 xml_escape(msg_id) + "'/></message>");
      st.receipts_sent++;
    }
  }

  void sync_loop() {
    for (;;) {
      std::deque<sync_job> jobs;
      {
        std::unique_lock lock(sync_mu);
        sync_cv.wait(lock, [&] { return sync_quit || !sync_queue.empty(); });
        if (sync_queue.empty()) return;
        jobs.swap(sync_queue);
      }
      // Everything queued so far shares one sync of the output and one of the ledger.
      if (!out_is_stdout) ::fdatasync(fileno(out));
      for (auto& j : jobs) write_ledger(j.ledger);
      if (ledger_fd >= 0) ::fdatasync(ledger_fd);
      std::weak_ptr<impl> w = weak_from_this();
      auto done = std::make_shared<std::deque<sync_job>>(std::move(jobs));
      asio::post(strand, [w, done] {
        if (auto s = w.lock())
          for (auto& j : *done) s->finish(j);
      });
    }
  }

  void stop_sync_thread() {
    {
      std::lock_guard lock(sync_mu);
      sync_quit = true;
    }
    sync_cv.notify_one();
    if (sync_thread.joinable()) sync_thread.join();
  }
};

receiver::receiver(asio::io_context& io, receiver_options options, receiver_metrics* metrics)
    : impl_(std::make_shared<impl>(io, std::move(options), metrics)) {}

receiver::~receiver() {
  stop();
}

std::error_code receiver::start() {
  auto& o = impl_->opt;
  if (o.xmpp.jid.empty() || o.sites.empty()) return error::config_invalid;
  for (const auto& s : o.sites)
    if (!valid_site_id(s.id) || s.jid.empty() || s.keys.size() == 0) return error::config_invalid;
  if (auto ec = impl_->open_files()) return ec;
  if (o.sync) impl_->sync_thread = std::thread([s = impl_.get()] { s->sync_loop(); });
  std::weak_ptr<impl> w = impl_;
  connection_events ev;
  ev.on_ready = [w](bool resumed) {
    auto s = w.lock();
    if (!s) return;
    s->st.ready = true;
    if (!resumed) s->conn->send("<presence/>");
    s->log(std::string("receive: logged in as ") + s->conn->full_jid() +
           (resumed ? " (resumed)" : ""));
  };
  ev.on_down = [w](std::error_code ec) {
    auto s = w.lock();
    if (!s) return;
    s->st.ready = false;
    s->log("receive: connection down: " + ec.message());
  };
  ev.on_stanza = [w](const element& e) {
    if (auto s = w.lock()) s->on_stanza(e);
  };
  ev.on_oversized = [w](std::size_t bytes) {
    auto s = w.lock();
    if (!s) return;
    s->count(batch_result::malformed);
    s->log("receive: dropped a stanza of " + std::to_string(bytes) +
           " bytes: stanza exceeds the size limit");
  };
  impl_->conn = std::make_unique<xmpp_connection>(impl_->strand, o.xmpp, std::move(ev));
  auto s = impl_;
  asio::post(s->strand, [s] { s->conn->start(); });
  return {};
}

void receiver::stop() {
  auto s = impl_;
  if (!s || !s->conn) return;
  detail::run_on_strand_and_wait(s->io, s->strand, [s] {
    if (s->conn) s->conn->stop();
    s->st.ready = false;
  });
  detail::wait_for_connections(s->io, s->strand, [s] { return s->conn->finished(); });
}

const receiver::stats& receiver::counters() const noexcept {
  return impl_->st;
}

std::string receiver::summary() const {
  std::ostringstream os;
  os << "batches";
  for (std::size_t i = 0; i < batch_result_count; ++i)
    os << ' ' << label(static_cast<batch_result>(i)) << '=' << impl_->st.batches[i].load();
  os << " records written=" << impl_->st.records_written.load()
     << " duplicate=" << impl_->st.records_duplicate.load();
  return os.str();
}

void receiver::set_record_hook(std::function<void(std::string_view, const outbox_record&)> hook) {
  impl_->hook = std::move(hook);
}
void receiver::set_logger(std::function<void(const std::string&)> log) {
  impl_->log = std::move(log);
}

}  // namespace fleetpoll::uplink
