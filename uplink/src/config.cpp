#include "fleetpoll/uplink/config.hpp"

#include <toml++/toml.h>

#include <algorithm>
#include <filesystem>
#include <initializer_list>
#include <string_view>

#include "fleetpoll/uplink/error.hpp"

namespace fleetpoll::uplink {
namespace {

// Relative file names in a config file are relative to the file's folder.
std::string resolve(const std::string& config_path, const std::string& p) {
  if (p.empty() || p == "-" || std::filesystem::path(p).is_absolute()) return p;
  return (std::filesystem::path(config_path).parent_path() / p).string();
}

std::error_code fail(std::string& why, std::string text) {
  why = std::move(text);
  return error::config_invalid;
}

template <typename T>
bool get_uint(const toml::table& t, const char* key, T& out, std::uint64_t lo, std::uint64_t hi) {
  auto v = t[key].value<std::int64_t>();
  if (!t.contains(key)) return true;
  if (!v || *v < 0 || static_cast<std::uint64_t>(*v) < lo || static_cast<std::uint64_t>(*v) > hi)
    return false;
  out = static_cast<T>(*v);
  return true;
}

// A key of `t` that is not in `known`, or "" (a typo must not fall back to a default).
std::string unknown_key(const toml::table& t, std::initializer_list<std::string_view> known) {
  for (auto&& [k, v] : t) {
    (void)v;
    if (std::find(known.begin(), known.end(), k.str()) == known.end()) return std::string(k.str());
  }
  return {};
}

std::error_code parse_xmpp(const std::string& path, const toml::table& root, xmpp_options& x,
                           std::string& why) {
  const toml::table* t = root["xmpp"].as_table();
  if (t == nullptr) return fail(why, "missing [xmpp] table");
  if (auto k = unknown_xmpp_key(*t); !k.empty()) return fail(why, "[xmpp] " + k + ": unknown key");
  x.jid = (*t)["jid"].value_or(std::string{});
  if (x.jid.empty() || x.jid.find('@') == std::string::npos || x.jid.find('/') != std::string::npos)
    return fail(why, "[xmpp] jid must be a bare JID user@domain");
  if (auto pf = (*t)["password_file"].value<std::string>()) {
    if (auto ec = read_secret_file(resolve(path, *pf), x.password)) {
      why = "[xmpp] password_file " + resolve(path, *pf) + ": " + ec.message();
      return ec;
    }
  } else {
    x.password = (*t)["password"].value_or(std::string{});
  }
  if (x.password.empty()) return fail(why, "[xmpp] needs password_file (or password)");
  x.resource = (*t)["resource"].value_or(x.resource);
  x.host = (*t)["host"].value_or(std::string{});
  x.ca_file = resolve(path, (*t)["ca_file"].value_or(std::string{}));
  x.tls_server_name = (*t)["tls_server_name"].value_or(std::string{});
  x.allow_plain = (*t)["allow_plain"].value_or(false);
  x.proxy = (*t)["proxy"].value_or(std::string{});
  x.proxy_credentials = (*t)["proxy_credentials"].value_or(std::string{});
  if (!get_uint(*t, "port", x.port, 1, 65535)) return fail(why, "[xmpp] port must be 1..65535");
  if (!get_uint(*t, "direct_tls_port", x.direct_tls_port, 0, 65535))
    return fail(why, "[xmpp] direct_tls_port must be 0..65535");
  std::int64_t ka = x.keepalive_interval.count() / 1000, idle = x.idle_timeout.count() / 1000;
  if (!get_uint(*t, "keepalive_s", ka, 1, 3600))
    return fail(why, "[xmpp] keepalive_s must be 1..3600");
  if (!get_uint(*t, "idle_timeout_s", idle, 2, 86400))
    return fail(why, "[xmpp] idle_timeout_s must be 2..86400");
  x.keepalive_interval = std::chrono::seconds(ka);
  x.idle_timeout = std::chrono::seconds(idle);
  return {};
}

std::error_code parse_file(const std::string& path, toml::table& out, std::string& why) {
  try {
    out = toml::parse_file(path);
  } catch (const toml::parse_error& e) {
    why = path + ": " + std::string(e.description());
    return error::config_invalid;
  }
  return {};
}

}  // namespace

std::string unknown_xmpp_key(const toml::table& xmpp) {
  return unknown_key(xmpp, {"jid", "password", "password_file", "resource", "host", "port",
                            "direct_tls_port", "ca_file", "tls_server_name", "allow_plain", "proxy",
                            "proxy_credentials", "keepalive_s", "idle_timeout_s"});
}

std::string unknown_uplink_key(const toml::table& uplink) {
  return unknown_key(uplink, {"receiver", "site", "key_file", "pool_size", "window",
                              "max_batch_bytes", "server_stanza_limit", "max_delay_ms",
                              "routine_delay_ms", "ack_timeout_ms", "audit_path", "audit_records"});
}

std::error_code load_receiver_config(const std::string& path, receiver_options& out,
                                     std::string& why) {
  toml::table root;
  if (auto ec = parse_file(path, root, why)) return ec;
  receiver_options r;
  r.xmpp.resource = "receiver";
  if (auto ec = parse_xmpp(path, root, r.xmpp, why)) return ec;
  if (const toml::table* o = root["output"].as_table()) {
    r.output = resolve(path, (*o)["path"].value_or(std::string("-")));
    r.state_path = resolve(path, (*o)["state"].value_or(std::string{}));
    r.sync = (*o)["sync"].value_or(true);
    std::int64_t every = r.stats_interval.count();
    if (!get_uint(*o, "stats_interval_s", every, 0, 86400))
      return fail(why, "[output] stats_interval_s must be 0..86400");
    r.stats_interval = std::chrono::seconds(every);
  }
  if (const toml::table* mt = root["metrics"].as_table())
    r.metrics_listen = (*mt)["listen"].value_or(std::string{});
  const toml::array* sites = root["site"].as_array();
  if (sites == nullptr || sites->empty()) return fail(why, "at least one [[site]] is required");
  for (const auto& node : *sites) {
    const toml::table* s = node.as_table();
    if (s == nullptr) return fail(why, "[[site]] must be a table");
    receiver_site site;
    site.id = (*s)["id"].value_or(std::string{});
    site.jid = (*s)["jid"].value_or(std::string{});
    if (!valid_site_id(site.id)) return fail(why, "[[site]] id must be 1..64 of [A-Za-z0-9._-]");
    if (site.jid.empty() || site.jid.find('@') == std::string::npos)
      return fail(why, "[[site]] " + site.id + ": jid required");
    for (const auto& other : r.sites)
      if (other.id == site.id || other.jid == site.jid)
        return fail(why, "[[site]] " + site.id + ": duplicate id or jid");
    std::string kf = resolve(path, (*s)["key_file"].value_or(std::string{}));
    if (kf.empty()) return fail(why, "[[site]] " + site.id + ": key_file required");
    if (auto ec = load_key_file(kf, site.keys)) {
      why = "[[site]] " + site.id + " key_file " + kf + ": " + ec.message();
      return ec;
    }
    r.sites.push_back(std::move(site));
  }
  out = std::move(r);
  return {};
}

std::error_code load_sender_config(const std::string& path, sender_options& out, keyring& keys,
                                   std::string& why) {
  toml::table root;
  if (auto ec = parse_file(path, root, why)) return ec;
  return sender_config_from(root, path, out, keys, why);
}

std::error_code sender_config_from(const toml::table& root, const std::string& path,
                                   sender_options& out, keyring& keys, std::string& why) {
  sender_options s;
  if (auto ec = parse_xmpp(path, root, s.xmpp, why)) return ec;
  const toml::table* u = root["uplink"].as_table();
  if (u == nullptr) return fail(why, "missing [uplink] table");
  if (auto k =
          unknown_key(*u, {"receiver", "site", "key_file", "pool_size", "window", "max_batch_bytes",
                           "server_stanza_limit", "max_delay_ms", "routine_delay_ms",
                           "ack_timeout_ms", "audit_path", "audit_records"});
      !k.empty())
    return fail(why, "[uplink] " + k + ": unknown key");
  s.receiver_jid = (*u)["receiver"].value_or(std::string{});
  s.site = (*u)["site"].value_or(std::string{});
  if (s.receiver_jid.empty())
    return fail(why, "[uplink] receiver (the provider's bare JID) required");
  if (!valid_site_id(s.site)) return fail(why, "[uplink] site must be 1..64 of [A-Za-z0-9._-]");
  std::int64_t max_delay = s.max_delay.count(), routine = s.routine_delay.count(),
               ack = s.ack_timeout.count();
  if (!get_uint(*u, "pool_size", s.pool_size, 1, 64))
    return fail(why, "[uplink] pool_size must be 1..64");
  if (!get_uint(*u, "window", s.window, 1, 1024))
    return fail(why, "[uplink] window must be 1..1024");
  if (!get_uint(*u, "max_batch_bytes", s.max_batch_bytes, 1024, std::uint64_t{16} * 1024 * 1024))
    return fail(why, "[uplink] max_batch_bytes must be 1024..16777216");
  if (!get_uint(*u, "server_stanza_limit", s.server_stanza_limit, 10000,
                std::uint64_t{64} * 1024 * 1024))
    return fail(why, "[uplink] server_stanza_limit must be 10000..67108864");
  if (!get_uint(*u, "max_delay_ms", max_delay, 0, 86'400'000))
    return fail(why, "[uplink] max_delay_ms must be 0..86400000");
  if (!get_uint(*u, "routine_delay_ms", routine, 0, 86'400'000))
    return fail(why, "[uplink] routine_delay_ms must be 0..86400000");
  if (!get_uint(*u, "ack_timeout_ms", ack, 100, 86'400'000))
    return fail(why, "[uplink] ack_timeout_ms must be 100..86400000");
  s.max_delay = std::chrono::milliseconds(max_delay);
  s.routine_delay = std::chrono::milliseconds(routine);
  s.ack_timeout = std::chrono::milliseconds(ack);
  s.audit_path = resolve(path, (*u)["audit_path"].value_or(std::string{}));
  s.audit_records = (*u)["audit_records"].value_or(true);
  std::string kf = resolve(path, (*u)["key_file"].value_or(std::string{}));
  if (kf.empty()) return fail(why, "[uplink] key_file required");
  if (auto ec = load_key_file(kf, keys)) {
    why = "[uplink] key_file " + kf + ": " + ec.message();
    return ec;
  }
  out = std::move(s);
  return {};
}

}  // namespace fleetpoll::uplink
