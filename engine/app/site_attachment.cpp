#include "site_attachment.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include <prometheus/registry.h>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include "fleetpoll/engine/config.hpp"
#include "fleetpoll/engine/run_attachment.hpp"
#include "fleetpoll/metrics/http_server.hpp"
#include "fleetpoll/storage/config.hpp"
#include "fleetpoll/storage/engine_sink.hpp"
#include "fleetpoll/storage/outbox.hpp"
#include "fleetpoll/storage/outbox_source.hpp"
#include "fleetpoll/storage/store.hpp"
#include "fleetpoll/uplink/config.hpp"
#include "fleetpoll/uplink/keys.hpp"
#include "fleetpoll/uplink/sender.hpp"
#include "fleetpoll/uplink/uplink_metrics.hpp"
#include "fleetpoll/web/status_page.hpp"
#include "fleetpoll/web/storage_status_source.hpp"
#include "fleetpoll/web/supply_gauges.hpp"

namespace fleetpoll::app {

namespace {

namespace fs = std::filesystem;
using engine::config;
using engine::config_error;

// ---- [status] ---------------------------------------------------------------------------------

struct status_config {
  bool enabled = true;  // Default: true when the section exists
  web::status_page_options page;
  web::supply_gauges_options gauges;
};

std::string where_of(std::string_view source, const toml::source_region& r) {
  if (r.begin.line == 0) return std::string(source);
  return fmt::format("{}:{}:{}", source, r.begin.line, r.begin.column);
}

void parse_status(const toml::table& t, std::string_view source, status_config& out,
                  std::vector<config_error>& errors) {
  auto fail = [&](const toml::node& n, const std::string& key, const std::string& reason) {
    errors.push_back({where_of(source, n.source()), "status." + key, reason});
  };
  for (auto&& [k, v] : t) {
    const std::string key(k.str());
    if (key == "enabled") {
      if (auto b = v.value<bool>())
        out.enabled = *b;
      else
        fail(v, key, "must be true or false");
    } else if (key == "page_size") {
      auto n = v.value<std::int64_t>();
      if (n && *n >= 1 && *n <= 1000)
        out.page.page_size = static_cast<std::size_t>(*n);
      else
        fail(v, key, "must be an integer from 1 to 1000");
    } else if (key == "new_within") {
      std::optional<std::chrono::milliseconds> d;
      if (auto s = v.value<std::string>()) d = engine::parse_duration(*s);
      if (d && *d >= std::chrono::hours(1) && *d <= std::chrono::hours(24 * 366))
        out.page.new_within = std::chrono::duration_cast<std::chrono::hours>(*d);
      else
        fail(v, key, "must be a duration from \"1h\" to \"366d\", e.g. \"7d\"");
    } else if (key == "title") {
      auto s = v.value<std::string>();
      if (s && !s->empty() && s->size() <= 200)
        out.page.title = *s;
      else
        fail(v, key, "must be a string of 1 to 200 characters");
    } else if (key == "auth_user") {
      if (auto s = v.value<std::string>())
        out.page.auth.user = *s;
      else
        fail(v, key, "must be a string");
    } else if (key == "auth_password_hash") {
      if (auto s = v.value<std::string>())
        out.page.auth.password_hash = *s;
      else
        fail(v, key, "must be a string (pbkdf2-sha256$..., docs/status-page.md)");
    } else if (key == "per_device_supply_gauges") {
      if (auto b = v.value<bool>())
        out.gauges.per_device = *b;
      else
        fail(v, key, "must be true or false");
    } else if (key == "per_device_supply_max_devices") {
      auto n = v.value<std::int64_t>();
      if (n && *n >= 1 && *n <= 100000)
        out.gauges.max_devices = static_cast<std::size_t>(*n);
      else
        fail(v, key, "must be an integer from 1 to 100000");
    } else {
      fail(v, key,
           "unknown key (enabled, page_size, new_within, title, auth_user, auth_password_hash, "
           "per_device_supply_gauges, per_device_supply_max_devices)");
    }
  }
  if (out.page.auth.user.empty() != out.page.auth.password_hash.empty())
    errors.push_back({where_of(source, t.source()), "status.auth_user",
                      "auth_user and auth_password_hash go together"});
}

void validate_storage(const toml::table& t, std::string_view source, const fs::path&,
                      std::vector<config_error>& errors) {
  storage::storage_config sc;
  for (auto& e : storage::parse_storage_config(t, source, sc))
    errors.push_back({e.where, e.field, e.reason});
}

void validate_status(const toml::table& t, std::string_view source, const fs::path&,
                     std::vector<config_error>& errors) {
  status_config sc;
  parse_status(t, source, sc, errors);
}

// [xmpp] and [uplink] are read together by the uplink's own parser when run starts
// (site_attachment::start), which also reads the key and password files; here, for `--check`
// and before start, only their keys are judged.
void validate_xmpp(const toml::table& t, std::string_view source, const fs::path&,
                   std::vector<config_error>& errors) {
  if (auto k = uplink::unknown_xmpp_key(t); !k.empty())
    errors.push_back({where_of(source, t[k].node()->source()), "xmpp." + k, "unknown key"});
}

void validate_uplink(const toml::table& t, std::string_view source, const fs::path&,
                     std::vector<config_error>& errors) {
  if (auto k = uplink::unknown_uplink_key(t); !k.empty())
    errors.push_back({where_of(source, t[k].node()->source()), "uplink." + k, "unknown key"});
}

// ---- the attachment ---------------------------------------------------------------------------

class site_attachment final : public engine::run_attachment {
 public:
  std::string start(engine::run_context& ctx) override {
    const config& cfg = ctx.cfg;
    started_with_.extensions = cfg.extensions;
    const auto* st = find(cfg, "storage");
    const bool has_uplink = find(cfg, "uplink") != nullptr || find(cfg, "xmpp") != nullptr;
    const auto* status = find(cfg, "status");
    storage::storage_config sc;
    if (st) {
      if (auto errs = storage::parse_storage_config(*st, "[storage]", sc); !errs.empty())
        return errs.front().message();
    }
    const bool storage_on = st && sc.enabled;
    if (has_uplink && !storage_on)
      return "[uplink] sends the storage outbox: it needs an enabled [storage] section";
    status_config stc;
    if (status) {
      std::vector<config_error> errs;
      parse_status(*status, "[status]", stc, errs);
      if (!errs.empty()) return errs.front().message();
    }
    const bool status_on = status && stc.enabled;
    if (status_on && !storage_on)
      return "[status] shows what storage keeps: it needs an enabled [storage] section";
    if (status_on && ctx.http == nullptr)
      return "[status] is served next to /metrics: it needs [metrics] enabled";
    if (!storage_on) return {};

    // Storage.
    storage::store_options so = sc.store;
    if (so.path.is_relative()) so.path = cfg.base_dir / so.path;
    so.metrics = &ctx.registry;
    std::string detail;
    if (auto ec = storage::store::open(so, store_, &detail))
      return fmt::format("storage at {}: {}", so.path.string(),
                         detail.empty() ? ec.message() : detail);
    storage::engine_sink_options sink_opts = sc.sink;
    sink_opts.metrics = &ctx.registry;
    sink_ = std::make_unique<storage::engine_sink>(*store_, sink_opts);
    ctx.sinks.add(*sink_);
    spdlog::info("storage: {} (site {})", so.path.string(), so.site_id);

    // Uplink.
    if (has_uplink) {
      toml::table root;
      if (const auto* x = find(cfg, "xmpp")) root.insert("xmpp", *x);
      if (const auto* u = find(cfg, "uplink")) root.insert("uplink", *u);
      uplink::sender_options sopts;
      std::string why;
      const std::string anchor = (cfg.base_dir / "fleetpoll.toml").string();
      if (auto ec = uplink::sender_config_from(root, anchor, sopts, keys_, why))
        return "uplink: " + (why.empty() ? ec.message() : why);
      // Sequence numbers are per site: the records the outbox numbers for [storage] site_id
      // must travel under that site, or the receiver would file them under another one.
      if (!so.site_id.empty() && sopts.site != so.site_id)
        return fmt::format("[uplink] site \"{}\" differs from [storage] site_id \"{}\"", sopts.site,
                           so.site_id);
      source_ = std::make_unique<storage::outbox_source>(*store_);
      uplink_metrics_ = std::make_unique<uplink::uplink_metrics>(ctx.registry);
      work_.emplace(io_.get_executor());
      io_thread_ = std::thread([this] { io_.run(); });
      sender_ =
          std::make_unique<uplink::sender>(io_, *source_, keys_, sopts, uplink_metrics_.get());
      if (auto ec = sender_->start()) return "uplink: " + ec.message();
      pool_size_ = sopts.pool_size;
      spdlog::info("uplink: site {} to {} as {} ({} connections)", sopts.site, sopts.receiver_jid,
                   sopts.xmpp.jid, sopts.pool_size);
    }

    // Status page and supply gauges.
    if (status_on) {
      web::storage_source_options wo;
      if (sender_) {
        wo.uplink = [this] { return uplink_now(); };
      }
      auto source = web::make_storage_status_source(*store_, wo);
      if (auto ec = web::status_page::create(source, stc.page, cfg.metrics.address, page_))
        return "status page: " + ec.message();
      if (auto ec = page_->add_routes(*ctx.http)) return "status page: " + ec.message();
      ctx.http->add_collectable(std::make_shared<web::supply_gauges>(source, stc.gauges));
      spdlog::info("status page on http://{}:{}/status", cfg.metrics.address, cfg.metrics.port);
    }
    return {};
  }

  void reload(const config& next) override {
    // Storage, uplink and status page settings are read at start only.
    for (const char* name : {"storage", "xmpp", "uplink", "status"}) {
      const auto* now = find(next, name);
      const auto* was = find(started_with_, name);
      if ((now == nullptr) != (was == nullptr) || (now != nullptr && *now != *was))
        spdlog::warn("reload (SIGHUP): [{}] changed; it takes effect at the next restart", name);
    }
  }

  void drain(std::chrono::milliseconds budget) override {
    const auto deadline = std::chrono::steady_clock::now() + budget;
    if (sink_ && !sink_->drain(budget))
      spdlog::warn("storage: not every poll was written within {} ms", budget.count());
    if (!sender_ || !source_) return;
    // Send what is left in the outbox while the receiver acknowledges it (bounded).
    // The outbox has no "drained" event; re-check it every 50 ms until the deadline.
    while (source_->depth() > 0 && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    if (source_->depth() > 0)
      spdlog::warn(
          "uplink: {} records still in the outbox after {} ms; they are sent after the "
          "next start",
          source_->depth(), budget.count());
  }

  void stop() override {
    if (sender_) sender_->stop();
    work_.reset();
    if (io_thread_.joinable()) {
      // The sender's sessions end on their own after stop(); bound the wait by stopping the
      // io_context if they do not.
      const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(5);
      while (!io_.stopped() && std::chrono::steady_clock::now() < until)
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      io_.stop();
      io_thread_.join();
    }
    sender_.reset();
    page_.reset();
    if (sink_) sink_->stop(std::chrono::seconds(5));
    sink_.reset();
    source_.reset();
    store_.reset();
  }

  std::string status() const override {
    if (!store_) return {};
    std::string line;
    if (sink_) {
      const auto s = sink_->stats();
      line = fmt::format("storage: {} polls written, {} queued, {} retried, {} dropped", s.written,
                         s.queued, s.retries, s.dropped);
    }
    if (source_) {
      const std::uint64_t last = source_->last_seq();
      const std::uint64_t first = source_->first_unacknowledged();
      line += fmt::format("; uplink: records created {}, acknowledged {}, waiting {}", last,
                          first > 0 ? first - 1 : 0, source_->depth());
    }
    return line;
  }

 private:
  static const toml::table* find(const config& cfg, const std::string& name) {
    auto it = cfg.extensions.find(name);
    return it == cfg.extensions.end() ? nullptr : &it->second;
  }

  web::uplink_state uplink_now() const {
    web::uplink_state u;
    u.configured = true;
    const auto& c = sender_->counters();
    u.connections_ready = static_cast<std::uint32_t>(c.connections_ready.load());
    u.connections_total = static_cast<std::uint32_t>(pool_size_);
    u.receiver_available = c.receiver_available.load();
    u.records_acknowledged = c.records_acknowledged.load();
    u.state = u.connections_ready > 0 ? "ready" : "connecting";
    u.outbox_depth = source_->depth();
    const std::uint64_t oldest = source_->oldest_created_ms();
    const auto now =
        static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                       std::chrono::system_clock::now().time_since_epoch())
                                       .count());
    u.outbox_oldest_age_s =
        oldest > 0 && now > oldest ? static_cast<double>(now - oldest) / 1000 : 0;
    return u;
  }

  config started_with_;  // its extension tables, to tell a reload what needs a restart
  std::unique_ptr<storage::store> store_;
  std::unique_ptr<storage::engine_sink> sink_;
  std::unique_ptr<storage::outbox_source> source_;
  uplink::keyring keys_;
  std::unique_ptr<uplink::uplink_metrics> uplink_metrics_;
  boost::asio::io_context io_;
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work_;
  std::thread io_thread_;
  std::unique_ptr<uplink::sender> sender_;
  std::size_t pool_size_ = 2;
  std::shared_ptr<web::status_page> page_;
};

}  // namespace

void register_site_attachment() {
  engine::register_config_extension({"storage", validate_storage});
  engine::register_config_extension({"status", validate_status});
  engine::register_config_extension({"xmpp", validate_xmpp});
  engine::register_config_extension({"uplink", validate_uplink});
  engine::register_run_attachment([] { return std::make_unique<site_attachment>(); });
}

}  // namespace fleetpoll::app
