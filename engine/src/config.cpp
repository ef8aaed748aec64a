#include "fleetpoll/engine/config.hpp"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <functional>
#include <iterator>
#include <map>
#include <set>
#include <sstream>

#include <toml++/toml.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/steady_timer.hpp>

namespace fleetpoll::engine {

namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

struct parse_context {
  std::string source;
  std::vector<config_error>& errors;

  std::string where(const toml::source_region& r) const {
    if (r.begin.line == 0) return source;
    return source + ":" + std::to_string(r.begin.line) + ":" + std::to_string(r.begin.column);
  }
  void fail(const toml::source_region& r, std::string field, std::string reason) {
    errors.push_back({where(r), std::move(field), std::move(reason)});
  }
};

std::string type_name(const toml::node& n) {
  switch (n.type()) {
    case toml::node_type::string:
      return "a string";
    case toml::node_type::integer:
      return "an integer";
    case toml::node_type::floating_point:
      return "a number";
    case toml::node_type::boolean:
      return "a boolean";
    case toml::node_type::array:
      return "an array";
    case toml::node_type::table:
      return "a table";
    default:
      return "a date or time";
  }
}

// Reads the keys of one table, each at most once, and reports the keys nobody read.
class section_reader {
 public:
  section_reader(const toml::table& t, std::string prefix, parse_context& ctx)
      : t_(t), prefix_(std::move(prefix)), ctx_(ctx) {}

  std::string field(std::string_view key) const {
    return prefix_.empty() ? std::string(key) : prefix_ + "." + std::string(key);
  }

  const toml::node* get(std::string_view key) {
    known_.insert(std::string(key));
    return t_.get(key);
  }

  void fail(const toml::node& n, std::string_view key, std::string reason) {
    ctx_.fail(n.source(), field(key), std::move(reason));
  }

  template <class T>
  void integer(std::string_view key, T& out, std::int64_t min, std::int64_t max) {
    const toml::node* n = get(key);
    if (!n) return;
    const auto v = n->value_exact<std::int64_t>();
    if (!n->is_integer() || !v || *v < min || *v > max)
      return fail(*n, key,
                  "must be an integer from " + std::to_string(min) + " to " + std::to_string(max) +
                      (n->is_integer() ? "" : " (got " + type_name(*n) + ")"));
    out = static_cast<T>(*v);
  }

  void number(std::string_view key, double& out, double min, double max) {
    const toml::node* n = get(key);
    if (!n) return;
    const auto v = n->value<double>();
    if (!(n->is_number()) || !v || !std::isfinite(*v) || *v < min || *v > max) {
      std::ostringstream o;
      o << "must be a number from " << min << " to " << max;
      if (!n->is_number()) o << " (got " << type_name(*n) << ")";
      return fail(*n, key, o.str());
    }
    out = *v;
  }

  void boolean(std::string_view key, bool& out) {
    const toml::node* n = get(key);
    if (!n) return;
    if (!n->is_boolean()) return fail(*n, key, "must be true or false (got " + type_name(*n) + ")");
    out = *n->value<bool>();
  }
  void boolean(std::string_view key, std::optional<bool>& out) {
    bool b = false;
    const bool had = t_.contains(key);
    boolean(key, b);
    if (had && t_.get(key)->is_boolean()) out = b;
  }

  // Secret strings (communities) are never echoed.
  bool string(std::string_view key, std::string& out, bool secret = false,
              std::size_t max_len = 4096) {
    const toml::node* n = get(key);
    if (!n) return false;
    if (!n->is_string()) {
      fail(*n, key, "must be a string (got " + type_name(*n) + ")");
      return false;
    }
    const std::string& v = n->as_string()->get();
    if (v.size() > max_len) {
      fail(*n, key, "must be at most " + std::to_string(max_len) + " bytes");
      return false;
    }
    if (secret && v.empty()) {
      fail(*n, key, "must not be empty");
      return false;
    }
    out = v;
    return true;
  }

  bool string_list(std::string_view key, std::vector<std::string>& out, bool secret = false) {
    const toml::node* n = get(key);
    if (!n) return false;
    const toml::array* a = n->as_array();
    if (!a) {
      fail(*n, key, "must be an array of strings (got " + type_name(*n) + ")");
      return false;
    }
    std::vector<std::string> v;
    for (std::size_t i = 0; i < a->size(); ++i) {
      const toml::node& e = *a->get(i);
      if (!e.is_string() || (secret && e.as_string()->get().empty()) ||
          e.as_string()->get().size() > 4096) {
        ctx_.fail(e.source(), field(key) + "[" + std::to_string(i) + "]",
                  secret ? "must be a non-empty string of at most 4096 bytes" : "must be a string");
        return false;
      }
      v.push_back(e.as_string()->get());
    }
    out = std::move(v);
    return true;
  }

  // A duration: an integer in `unit` or, when `with_units`, a string such as "3m".
  template <class D>
  void duration(std::string_view key, D& out, D min, D max, milliseconds unit, bool with_units) {
    const toml::node* n = get(key);
    if (!n) return;
    std::optional<milliseconds> ms;
    if (n->is_integer()) {
      const auto v = *n->value_exact<std::int64_t>();
      if (v >= 0 && v <= 1'000'000'000) ms = milliseconds{v * unit.count()};
    } else if (with_units && n->is_string()) {
      ms = parse_duration(n->as_string()->get());
    }
    const auto lo = std::chrono::duration_cast<milliseconds>(min),
               hi = std::chrono::duration_cast<milliseconds>(max);
    if (!ms || *ms < lo || *ms > hi) {
      std::string why = "must be a duration from " + describe(lo) + " to " + describe(hi);
      why += with_units ? " (an integer of seconds or a string like \"90s\", \"3m\", \"24h\")"
                        : " (an integer of " +
                              std::string(unit.count() == 1 ? "milliseconds" : "seconds") + ")";
      return fail(*n, key, why);
    }
    out = std::chrono::duration_cast<D>(*ms);
  }

  void finish() {
    for (auto&& [k, v] : t_) {
      if (known_.count(std::string(k.str()))) continue;
      ctx_.fail(k.source(), field(k.str()),
                "unknown key (see docs/configuration.md for the keys of " +
                    (prefix_.empty() ? std::string("this file") : "[" + prefix_ + "]") + ")");
    }
  }

  static std::string describe(milliseconds ms) {
    const auto v = ms.count();
    if (v % 3'600'000 == 0 && v >= 3'600'000) return std::to_string(v / 3'600'000) + "h";
    if (v % 60'000 == 0 && v >= 60'000) return std::to_string(v / 60'000) + "m";
    if (v % 1000 == 0) return std::to_string(v / 1000) + "s";
    return std::to_string(v) + "ms";
  }

 private:
  const toml::table& t_;
  std::string prefix_;
  parse_context& ctx_;
  std::set<std::string> known_;
};

void version_field(section_reader& r, std::string_view key, std::optional<version_choice>& out) {
  const toml::node* n = r.get(key);
  if (!n) return;
  std::optional<version_choice> v;
  if (n->is_string()) v = parse_version(n->as_string()->get());
  if (n->is_integer() && *n->value_exact<std::int64_t>() == 1) v = version_choice::v1;
  if (!v) return r.fail(*n, key, "must be \"auto\", \"1\" or \"2c\"");
  out = v;
}

// ---- sections ------------------------------------------------------------------------------

void parse_engine(section_reader& r, config& c) {
  auto& e = c.engine;
  r.integer("threads", e.threads, 0, 64);
  r.integer("max_concurrent_polls", e.max_concurrent_polls, 1, 1'000'000);
  r.integer("max_waiting_polls", e.max_waiting_polls, 0, 8'000'000);
  r.boolean("include_contact", e.include_contact);
}

void parse_snmp(section_reader& r, config& c) {
  auto& cl = c.engine.client;
  auto& w = c.engine.walk;
  r.string("community", c.community, true, 255);
  std::optional<version_choice> v;
  version_field(r, "version", v);
  if (v) c.version = *v;
  r.integer("port", c.port, 1, 65535);
  r.boolean("accept_any_source", c.accept_any_source);
  r.integer("retries", cl.retries, 0, 10);
  r.number("backoff", cl.backoff, 1.0, 10.0);
  r.number("jitter", cl.jitter, 0.0, 0.5);
  r.duration("timeout_initial_ms", cl.rtt.initial, std::chrono::microseconds{1000},
             std::chrono::microseconds{60'000'000}, milliseconds{1}, false);
  r.duration("timeout_min_ms", cl.rtt.min, std::chrono::microseconds{0},
             std::chrono::microseconds{60'000'000}, milliseconds{1}, false);
  r.duration("timeout_max_ms", cl.rtt.max, std::chrono::microseconds{1000},
             std::chrono::microseconds{120'000'000}, milliseconds{1}, false);
  r.integer("poll_retry_budget", w.retry_budget, 0, 100);
  r.integer("max_repetitions_start", w.max_repetitions_start, 1, 255);
  r.integer("max_repetitions_cap", w.max_repetitions_cap, 1, 255);
  r.integer("max_names_per_request", w.max_names_per_request, 1,
            static_cast<std::int64_t>(codecs::max_request_names));
  r.integer("reply_budget_bytes", w.reply_budget_bytes, 484, 65507);
  r.integer("max_varbinds_per_table", w.max_varbinds_per_unit, 1, 10'000'000);
  r.integer("max_requests_per_poll", w.max_requests, 1, 1'000'000);
  r.integer("recheck_scalars_every", w.recheck_scalars_every, 1, 255);
  r.integer("socket_receive_buffer_bytes", cl.transport.receive_buffer_bytes, 65536, 1 << 30);
  r.integer("socket_send_buffer_bytes", cl.transport.send_buffer_bytes, 65536, 1 << 30);
  std::string bind;
  if (r.string("bind_address", bind)) {
    boost::system::error_code ec;
    auto a = boost::asio::ip::make_address_v4(bind, ec);
    if (ec) {
      r.fail(*r.get("bind_address"), "bind_address", "must be an IPv4 address");
    } else {
      cl.bind_v4 = boost::asio::ip::udp::endpoint(a, 0);
    }
  }
}

void parse_limits(section_reader& r, config& c) {
  auto& cl = c.engine.client;
  r.integer("max_outstanding_per_device", cl.max_outstanding, 1, 16);
  r.duration("device_min_gap_ms", cl.rate.device_min_gap, std::chrono::microseconds{0},
             std::chrono::microseconds{60'000'000}, milliseconds{1}, false);
  r.number("subnet_pps", cl.rate.subnet_pps, 0, 1e7);
  r.number("global_pps", cl.rate.global_pps, 0, 1e8);
  r.number("burst", cl.rate.burst, 1, 1e6);
  r.integer("subnet_prefix_v4", cl.rate.subnet_prefix_v4, 8, 32);
  r.integer("subnet_prefix_v6", cl.rate.subnet_prefix_v6, 16, 128);
}

void parse_schedule(section_reader& r, config& c) {
  auto& s = c.engine.schedule;
  for (int i = 0; i < data_class_count; ++i) {
    const auto name = class_name(static_cast<data_class>(i));
    r.duration(name, s.cadence[static_cast<std::size_t>(i)], seconds{1}, seconds{31 * 86400},
               milliseconds{1000}, true);
  }
  r.number("coalesce", s.coalesce, 0.0, 0.9);
  r.duration("first_poll_spread", s.first_poll_spread, milliseconds{0}, milliseconds{86'400'000},
             milliseconds{1000}, true);
  r.integer("down_after_failed_polls", s.down_after, 1, 1000);
  r.duration("down_probe_interval", s.down_probe_interval, seconds{1}, seconds{86400},
             milliseconds{1000}, true);
}

void parse_target_group(section_reader& r, config& c, target_group& g) {
  std::vector<std::string> addresses;
  if (r.string_list("addresses", addresses)) {
    for (std::size_t i = 0; i < addresses.size(); ++i) {
      std::string why;
      if (!parse_target_spec(addresses[i], why)) {
        r.fail(*r.get("addresses"), "addresses[" + std::to_string(i) + "]", why);
      }
    }
    g.addresses = std::move(addresses);
  }
  r.string("file", g.file);
  std::string community;
  if (r.string("community", community, true, 255)) g.community = community;
  version_field(r, "version", g.version);
  std::uint16_t port = 0;
  if (r.get("port")) {
    r.integer("port", port, 1, 65535);
    if (port) g.port = port;
  }
  r.boolean("accept_any_source", g.accept_any_source);
  (void)c;
}

void parse_discovery(section_reader& r, config& c) {
  auto& d = c.discovery;
  std::vector<std::string> ranges;
  if (r.string_list("ranges", ranges)) {
    for (std::size_t i = 0; i < ranges.size(); ++i) {
      std::string why;
      if (!parse_target_spec(ranges[i], why))
        r.fail(*r.get("ranges"), "ranges[" + std::to_string(i) + "]", why);
    }
    d.ranges = std::move(ranges);
  }
  r.integer("port", d.port, 1, 65535);
  std::vector<std::string> comms;
  if (r.string_list("communities", comms, true)) {
    if (comms.empty() || comms.size() > 16)
      r.fail(*r.get("communities"), "communities", "must list 1 to 16 communities");
    else
      d.communities = std::move(comms);
  }
  if (const toml::node* n = r.get("versions")) {
    std::vector<version_choice> vs;
    const toml::array* a = n->as_array();
    bool ok = a && !a->empty() && a->size() <= 2;
    for (std::size_t i = 0; ok && i < a->size(); ++i) {
      const toml::node& e = *a->get(i);
      std::optional<version_choice> v;
      if (e.is_string()) v = parse_version(e.as_string()->get());
      ok =
          v && *v != version_choice::auto_detect && std::find(vs.begin(), vs.end(), *v) == vs.end();
      if (ok) vs.push_back(*v);
    }
    if (!ok)
      r.fail(*n, "versions", "must be a list of \"2c\" and/or \"1\", each once");
    else
      d.versions = std::move(vs);
  }
  r.number("pps", d.pps, 1, 1e7);
  r.number("subnet_pps", d.subnet_pps, 0, 1e7);
  r.duration("timeout_ms", d.timeout, milliseconds{1}, milliseconds{60'000}, milliseconds{1},
             false);
  r.duration("time_limit", d.time_limit, seconds{1}, seconds{7 * 86400}, milliseconds{1000}, true);
  r.integer("max_in_flight", d.max_in_flight, 1, 1'000'000);
  r.string("save_to", d.save_to);
}

void parse_metrics(section_reader& r, config& c) {
  auto& m = c.metrics;
  r.boolean("enabled", m.enabled);
  std::string listen;
  if (r.string("listen", listen)) {
    // ADDRESS:PORT or [V6]:PORT; port 0 picks a free port (logged at start).
    const auto colon = listen.rfind(':');
    boost::system::error_code ec;
    std::uint32_t port = 70000;
    boost::asio::ip::address a;
    if (colon != std::string::npos && colon + 1 < listen.size() && listen.size() - colon <= 6) {
      std::string host = listen.substr(0, colon);
      if (host.size() > 2 && host.front() == '[' && host.back() == ']')
        host = host.substr(1, host.size() - 2);
      a = boost::asio::ip::make_address(host, ec);
      port = 0;
      for (char ch : listen.substr(colon + 1))
        port = (ch >= '0' && ch <= '9' && port <= 65535)
                   ? port * 10 + static_cast<std::uint32_t>(ch - '0')
                   : 70000;
    }
    if (ec || port > 65535) {
      r.fail(*r.get("listen"), "listen",
             "must be ADDRESS:PORT with a numeric address, e.g. \"127.0.0.1:9750\" (port 0: any "
             "free port)");
    } else {
      m.address = a.to_string();
      m.port = static_cast<std::uint16_t>(port);
    }
  }
}

void parse_output(section_reader& r, config& c) {
  r.string("jsonl", c.output.jsonl);
}

void parse_log(section_reader& r, config& c) {
  std::string level;
  if (r.string("level", level)) {
    static const std::set<std::string> levels{"trace", "debug", "info", "warn", "error", "off"};
    if (!levels.count(level))
      r.fail(*r.get("level"), "level", "must be one of trace, debug, info, warn, error, off");
    else
      c.log.level = level;
  }
  r.string("file", c.log.file);
}

struct section {
  std::string_view name;
  void (*parse)(section_reader&, config&);
};

// The sections of fleetpoll.toml. [[targets]] is an array of tables, handled apart.
constexpr std::array<section, 8> sections{{
    {"engine", parse_engine},
    {"snmp", parse_snmp},
    {"limits", parse_limits},
    {"schedule", parse_schedule},
    {"discovery", parse_discovery},
    {"metrics", parse_metrics},
    {"output", parse_output},
    {"log", parse_log},
}};

std::vector<config_extension>& extension_registry() {
  static std::vector<config_extension> registry;
  return registry;
}

const config_extension* find_extension(std::string_view name) {
  for (const auto& e : extension_registry())
    if (e.section == name) return &e;
  return nullptr;
}

void check_consistency(config& c, parse_context& ctx) {
  const auto& cl = c.engine.client;
  if (cl.rtt.min > cl.rtt.max)
    ctx.fail({}, "snmp.timeout_min_ms", "must not be larger than snmp.timeout_max_ms");
  if (c.engine.walk.max_repetitions_start > c.engine.walk.max_repetitions_cap)
    ctx.fail({}, "snmp.max_repetitions_start", "must not be larger than snmp.max_repetitions_cap");
}

}  // namespace

std::string config_error::message() const {
  std::string m = where;
  if (!field.empty()) m += (m.empty() ? "" : ": ") + field;
  return m + ": " + reason;
}

std::string config_result::message() const {
  std::string m;
  for (const auto& e : errors) m += e.message() + "\n";
  return m;
}

std::optional<milliseconds> parse_duration(std::string_view text) {
  if (text.empty() || text.size() > 64) return std::nullopt;
  std::int64_t total = 0;
  std::size_t i = 0;
  while (i < text.size()) {
    std::int64_t n = 0;
    const std::size_t start = i;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
      n = n * 10 + (text[i] - '0');
      if (n > 1'000'000'000) return std::nullopt;
      ++i;
    }
    if (i == start) return std::nullopt;
    std::int64_t unit = 0;
    if (text.substr(i, 2) == "ms") {
      unit = 1;
      i += 2;
    } else if (i < text.size() && text[i] == 's') {
      unit = 1000;
      ++i;
    } else if (i < text.size() && text[i] == 'm') {
      unit = 60'000;
      ++i;
    } else if (i < text.size() && text[i] == 'h') {
      unit = 3'600'000;
      ++i;
    } else if (i < text.size() && text[i] == 'd') {
      unit = 86'400'000;
      ++i;
    } else {
      return std::nullopt;
    }
    total += n * unit;
    if (total > std::int64_t{400} * 86'400'000) return std::nullopt;
  }
  return milliseconds{total};
}

config_result parse_config(std::string_view text, std::string_view source_name,
                           const std::filesystem::path& base_dir) {
  config_result out;
  out.cfg.base_dir = base_dir;
  parse_context ctx{std::string(source_name), out.errors};
  toml::table root;
  try {
    root = toml::parse(text, source_name);
  } catch (const toml::parse_error& e) {
    std::string what(e.description());
    // The parser may quote a character of the offending value; on a line that sets a community,
    // say nothing of the value.
    std::size_t line_start = 0;
    for (std::size_t line = 1; line < e.source().begin.line && line_start != std::string_view::npos;
         ++line) {
      line_start = text.find('\n', line_start);
      if (line_start != std::string_view::npos) ++line_start;
    }
    const std::string_view line =
        line_start == std::string_view::npos
            ? std::string_view{}
            : text.substr(line_start, text.find('\n', line_start) - line_start);
    if (line.find("communit") != std::string_view::npos) {
      for (std::size_t q = what.find('\''); q != std::string::npos; q = what.find('\'', q + 3)) {
        const auto end = what.find('\'', q + 1);
        if (end == std::string::npos) break;
        what.replace(q, end - q + 1, "'…'");
      }
    }
    ctx.fail(e.source(), "", "not valid TOML: " + what);
    return out;
  }
  section_reader top(root, "", ctx);
  for (const auto& s : sections) {
    const toml::node* n = top.get(s.name);
    if (!n) continue;
    const toml::table* t = n->as_table();
    if (!t) {
      ctx.fail(n->source(), "[" + std::string(s.name) + "]",
               "must be a table (a [" + std::string(s.name) + "] section)");
      continue;
    }
    section_reader r(*t, std::string(s.name), ctx);
    s.parse(r, out.cfg);
    r.finish();
  }
  if (const toml::node* n = top.get("targets")) {
    const toml::array* a = n->as_array();
    if (!a || !a->is_array_of_tables()) {
      ctx.fail(n->source(), "[[targets]]", "must be an array of tables ([[targets]] sections)");
    } else {
      for (std::size_t i = 0; i < a->size(); ++i) {
        const toml::table& t = *a->get(i)->as_table();
        target_group g;
        g.where = ctx.where(t.source());
        section_reader r(t, "targets[" + std::to_string(i) + "]", ctx);
        parse_target_group(r, out.cfg, g);
        r.finish();
        if (!t.contains("addresses") && !t.contains("file"))
          ctx.fail(t.source(), "targets[" + std::to_string(i) + "]", "needs `addresses` or `file`");
        out.cfg.targets.push_back(std::move(g));
      }
    }
  }
  // Unknown top-level keys and sections; registered extension sections go to their validator.
  for (auto&& [k, v] : root) {
    const std::string key(k.str());
    if (key == "targets" || std::any_of(sections.begin(), sections.end(),
                                        [&](const section& s) { return s.name == key; }))
      continue;
    if (const config_extension* ext = find_extension(key)) {
      if (const toml::table* t = v.as_table()) {
        if (ext->validate) ext->validate(*t, source_name, base_dir, out.errors);
        out.cfg.extensions[key] = *t;
      } else {
        ctx.fail(v.source(), "[" + key + "]", "must be a table (a [" + key + "] section)");
      }
      continue;
    }
    std::string known;
    for (const auto& s : sections) known += "[" + std::string(s.name) + "] ";
    for (const auto& e : extension_registry()) known += "[" + e.section + "] ";
    ctx.fail(k.source(), v.is_table() ? "[" + key + "]" : key,
             std::string(v.is_table() ? "unknown section" : "unknown key") +
                 "; known sections: " + known + "[[targets]]");
  }
  if (out.errors.empty()) check_consistency(out.cfg, ctx);
  return out;
}

void register_config_extension(config_extension extension) {
  auto& r = extension_registry();
  for (auto& e : r)
    if (e.section == extension.section) {
      e = std::move(extension);
      return;
    }
  r.push_back(std::move(extension));
}

config_result load_config(const std::filesystem::path& path) {
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);
  config_result out;
  if (ec) {
    out.errors.push_back({path.string(), "", "cannot read: " + ec.message()});
    return out;
  }
  if (size > (1u << 20)) {
    out.errors.push_back(
        {path.string(), "", "larger than 1 MiB; this is not a fleetpoll configuration"});
    return out;
  }
  std::ifstream in(path, std::ios::binary);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (!in.good() && !in.eof()) {
    out.errors.push_back({path.string(), "", "cannot read"});
    return out;
  }
  return parse_config(text, path.string(), path.parent_path());
}

bool collect_targets(const config& cfg, std::vector<target>& out, std::string& error,
                     milliseconds resolve_timeout) {
  namespace asio = boost::asio;
  std::set<std::string> seen;
  struct pending_host {
    std::string host;
    std::uint16_t port;
    target proto;
  };
  std::vector<pending_host> hosts;
  auto add = [&](const target& t) {
    if (seen.insert(format_endpoint(t.address)).second) out.push_back(t);
  };
  auto expand = [&](const target_spec& spec, const target& proto, std::uint16_t port) {
    if (spec.k == target_spec::kind::host) {
      hosts.push_back({spec.host, spec.port.value_or(port), proto});
      return;
    }
    for_each_address(spec, [&](const asio::ip::address& a) {
      target t = proto;
      t.address = asio::ip::udp::endpoint(a, spec.port.value_or(port));
      add(t);
      return true;
    });
  };
  for (const auto& g : cfg.targets) {
    target proto;
    proto.community = g.community.value_or(cfg.community);
    proto.version = g.version.value_or(cfg.version);
    proto.accept_any_source = g.accept_any_source.value_or(cfg.accept_any_source);
    const std::uint16_t port = g.port.value_or(cfg.port);
    for (const auto& a : g.addresses) {
      std::string why;
      auto spec = parse_target_spec(a, why);
      if (!spec) {
        error = g.where + ": " + a + ": " + why;
        return false;
      }
      expand(*spec, proto, port);
    }
    if (!g.file.empty()) {
      const std::filesystem::path p = std::filesystem::path(g.file).is_absolute()
                                          ? std::filesystem::path(g.file)
                                          : cfg.base_dir / g.file;
      std::ifstream in(p, std::ios::binary);
      if (!in) {
        error = p.string() + ": cannot read the targets file";
        return false;
      }
      std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      auto parsed = parse_targets_file(text);
      if (!parsed) {
        error = p.string() + ":" + parsed.error;
        return false;
      }
      for (const auto& ft : parsed.targets) {
        target t = proto;
        if (ft.version) t.version = *ft.version;
        if (ft.community) t.community = *ft.community;
        expand(ft.spec, t, port);
      }
    }
  }
  if (hosts.empty()) return true;
  // Resolve every host name at once, within the timeout.
  asio::io_context io;
  asio::ip::udp::resolver resolver(io);
  std::vector<std::optional<asio::ip::udp::endpoint>> found(hosts.size());
  std::vector<std::string> failures(hosts.size());
  for (std::size_t i = 0; i < hosts.size(); ++i) {
    resolver.async_resolve(
        hosts[i].host, std::to_string(hosts[i].port),
        [&, i](const boost::system::error_code& ec, asio::ip::udp::resolver::results_type res) {
          if (ec || res.empty())
            failures[i] = ec ? ec.message() : "no address";
          else
            found[i] = res.begin()->endpoint();
        });
  }
  asio::steady_timer limit(io);
  limit.expires_after(resolve_timeout);
  limit.async_wait([&](const boost::system::error_code& ec) {
    if (!ec) resolver.cancel();
  });
  std::size_t left = hosts.size();
  while (left > 0 && io.run_one() > 0) {
    left = static_cast<std::size_t>(
        std::count_if(found.begin(), found.end(), [](const auto& f) { return !f; }) -
        std::count_if(failures.begin(), failures.end(), [](const auto& f) { return !f.empty(); }));
  }
  limit.cancel();
  for (std::size_t i = 0; i < hosts.size(); ++i) {
    if (!found[i]) {
      error = "host " + hosts[i].host + ": does not resolve (" +
              (failures[i].empty() ? "timed out" : failures[i]) + ")";
      return false;
    }
    target t = hosts[i].proto;
    t.address = *found[i];
    add(t);
  }
  return true;
}

}  // namespace fleetpoll::engine
