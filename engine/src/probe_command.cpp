#include "fleetpoll/engine/probe_command.hpp"

#include <CLI/CLI.hpp>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <functional>
#include <iostream>
#include <memory>
#include <optional>
#include <set>
#include <sstream>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/udp.hpp>

#include "fleetpoll/codecs/normalize.hpp"
#include "fleetpoll/codecs/snapshot_json.hpp"
#include "fleetpoll/codecs/snmprec.hpp"
#include "fleetpoll/engine/snmp_client.hpp"
#include "fleetpoll/engine/targets.hpp"
#include "fleetpoll/engine/walker.hpp"

namespace fleetpoll::engine {
namespace {

namespace fs = std::filesystem;
namespace s = fleetpoll::schema;
namespace codecs = fleetpoll::codecs;

std::string sv(const flatbuffers::String* str) {
  return str ? str->str() : std::string();
}

// Display width: code points, East Asian wide ones counted twice (enough for aligned tables).
std::size_t width(std::string_view t) {
  std::size_t w = 0;
  for (std::size_t i = 0; i < t.size();) {
    auto c = static_cast<unsigned char>(t[i]);
    std::size_t n = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
    std::uint32_t cp = n == 1 ? c : n == 2 ? (c & 0x1Fu) : n == 3 ? (c & 0x0Fu) : (c & 0x07u);
    for (std::size_t k = 1; k < n && i + k < t.size(); ++k)
      cp = (cp << 6) | (static_cast<unsigned char>(t[i + k]) & 0x3Fu);
    bool wide = (cp >= 0x1100 && cp <= 0x115F) || (cp >= 0x2E80 && cp <= 0xA4CF) ||
                (cp >= 0xAC00 && cp <= 0xD7A3) || (cp >= 0xF900 && cp <= 0xFAFF) ||
                (cp >= 0xFE30 && cp <= 0xFE4F) || (cp >= 0xFF00 && cp <= 0xFF60) ||
                (cp >= 0xFFE0 && cp <= 0xFFE6);
    w += wide ? 2 : 1;
    i += n;
  }
  return w;
}

std::string pad(std::string t, std::size_t w) {
  auto cur = width(t);
  if (cur < w) t.append(w - cur, ' ');
  return t;
}

template <class E, class F>
std::string name_or_number(E e, F name) {
  const char* n = name(e);
  return (n && *n) ? std::string(n) : std::to_string(static_cast<long long>(e));
}

template <class T>
std::string opt_num(flatbuffers::Optional<T> v) {
  return v ? std::to_string(*v) : std::string("-");
}

std::string uptime_text(std::uint32_t ticks) {
  std::uint64_t secs = ticks / 100;
  std::ostringstream o;
  o << secs / 86400 << "d " << (secs / 3600) % 24 << "h " << (secs / 60) % 60 << "m";
  return o.str();
}

std::string source_name(s::Source src) {
  switch (src) {
    case s::Source::sys_descr:
      return "sysDescr";
    case s::Source::sys_object_id:
      return "sysObjectID";
    case s::Source::hr_device:
      return "hrDeviceDescr";
    case s::Source::printer_mib:
      return "Printer-MIB";
    case s::Source::vendor_mib:
      return "vendor MIB";
    case s::Source::ieee1284:
      return "IEEE 1284 device ID";
    case s::Source::if_table:
      return "ifTable";
    case s::Source::configured:
      return "configured";
    default:
      return "unknown";
  }
}

// "92% left", "fill 10%", "some_remaining", ...
std::string level_text(const s::Supply& sp) {
  if (sp.remaining_percent()) return std::to_string(*sp.remaining_percent()) + "%";
  if (sp.fill_percent()) return "fill " + std::to_string(*sp.fill_percent()) + "%";
  return s::EnumNameLevelQuality(sp.quality());
}

std::string status_text(const s::DeviceSnapshot& snap) {
  const auto* st = snap.status();
  if (st == nullptr) return "unknown";
  std::string t = st->hr_device_status()
                      ? name_or_number(*st->hr_device_status(), s::EnumNameHrDeviceStatus)
                      : std::string("unknown");
  if (st->conditions() && st->conditions()->size() > 0) {
    t += "(";
    bool first = true;
    for (auto c : *st->conditions()) {
      if (!first) t += ",";
      first = false;
      t += name_or_number(c, s::EnumNamePrinterCondition);
    }
    t += ")";
  }
  return t;
}

std::string kv_quote(const std::string& t) {
  if (t.empty()) return "-";
  bool needs = t.find_first_of(" \"=;") != std::string::npos;
  if (!needs) return t;
  std::string out = "\"";
  for (char c : t) {
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  return out + "\"";
}

struct table_printer {
  std::vector<std::vector<std::string>> rows;
  void add(std::vector<std::string> r) { rows.push_back(std::move(r)); }
  void print(std::ostream& o, std::string_view indent) const {
    std::vector<std::size_t> w;
    for (const auto& r : rows)
      for (std::size_t i = 0; i < r.size(); ++i) {
        if (w.size() <= i) w.push_back(0);
        w[i] = std::max(w[i], width(r[i]));
      }
    for (const auto& r : rows) {
      std::string line(indent);
      for (std::size_t i = 0; i < r.size(); ++i)
        line += (i + 1 < r.size() ? pad(r[i], w[i] + 2) : r[i]);
      while (!line.empty() && line.back() == ' ') line.pop_back();
      o << line << "\n";
    }
  }
};

}  // namespace

std::string probe_table(const s::DeviceSnapshot& snap, std::string_view label) {
  std::ostringstream o;
  o << "== " << label << "\n";
  const auto* id = snap.identity();
  table_printer head;
  if (id) {
    std::string vendor = sv(id->vendor());
    head.add({"vendor", vendor.empty() ? "unknown"
                                       : vendor + "  (" + source_name(id->vendor_source()) + ")"});
    if (id->enterprise())
      head.add({"enterprise",
                std::to_string(*id->enterprise()) +
                    (id->enterprise_name() ? "  " + id->enterprise_name()->str() : std::string())});
    std::string model = sv(id->model());
    head.add({"model",
              model.empty() ? "unknown" : model + "  (" + source_name(id->model_source()) + ")"});
    std::string serial = sv(id->serial());
    head.add(
        {"serial", serial.empty() ? "-" : serial + "  (" + source_name(id->serial_source()) + ")"});
    std::string fw = sv(id->firmware());
    head.add(
        {"firmware", fw.empty() ? "-" : fw + "  (" + source_name(id->firmware_source()) + ")"});
    head.add({"mac", id->mac() ? id->mac()->str() : "-"});
    if (id->sys_descr()) head.add({"sysDescr", id->sys_descr()->str()});
    if (id->sys_name()) head.add({"sysName", id->sys_name()->str()});
    if (id->sys_location()) head.add({"sysLocation", id->sys_location()->str()});
    if (id->sys_contact()) head.add({"sysContact", id->sys_contact()->str()});
    if (id->sys_uptime_ticks()) head.add({"uptime", uptime_text(*id->sys_uptime_ticks())});
  }
  std::string st = status_text(snap);
  if (snap.status() && snap.status()->hr_printer_status())
    st += ", printer " +
          name_or_number(*snap.status()->hr_printer_status(), s::EnumNameHrPrinterStatus);
  head.add({"status", st});
  head.print(o, "");

  if (snap.supplies() && snap.supplies()->size() > 0) {
    o << "supplies (" << snap.supplies()->size() << ")\n";
    table_printer t;
    t.add({"idx", "type", "colorant", "description", "level/max", "unit", "percent", "quality"});
    for (const auto* sp : *snap.supplies()) {
      t.add({std::to_string(sp->hr_device_index()) + "." + std::to_string(sp->index()),
             sp->type() ? name_or_number(*sp->type(), s::EnumNameSupplyType) : "-",
             sp->colorant() ? sp->colorant()->str() : "-",
             sp->description() ? sp->description()->str() : "-",
             opt_num(sp->level()) + "/" + opt_num(sp->max_capacity()),
             sp->unit() ? name_or_number(*sp->unit(), s::EnumNameUnit) : "-",
             sp->remaining_percent() ? std::to_string(*sp->remaining_percent()) + "% left"
             : sp->fill_percent()    ? std::to_string(*sp->fill_percent()) + "% full"
                                     : "-",
             s::EnumNameLevelQuality(sp->quality())});
    }
    t.print(o, "  ");
  }
  if (snap.trays() && snap.trays()->size() > 0) {
    o << "input trays (" << snap.trays()->size() << ")\n";
    table_printer t;
    t.add({"idx", "name", "level/max", "unit", "percent", "quality"});
    for (const auto* tr : *snap.trays())
      t.add({std::to_string(tr->hr_device_index()) + "." + std::to_string(tr->index()),
             tr->name() ? tr->name()->str() : "-",
             opt_num(tr->current_level()) + "/" + opt_num(tr->max_capacity()),
             tr->capacity_unit() ? name_or_number(*tr->capacity_unit(), s::EnumNameUnit) : "-",
             tr->percent() ? std::to_string(*tr->percent()) + "%" : "-",
             s::EnumNameLevelQuality(tr->quality())});
    t.print(o, "  ");
  }
  if (snap.markers() && snap.markers()->size() > 0) {
    o << "counters\n";
    table_printer t;
    t.add({"marker", "life", "since power-on", "unit"});
    for (const auto* m : *snap.markers())
      t.add({std::to_string(m->hr_device_index()) + "." + std::to_string(m->index()),
             opt_num(m->life_count()), opt_num(m->power_on_count()),
             m->counter_unit() ? name_or_number(*m->counter_unit(), s::EnumNameUnit) : "-"});
    t.print(o, "  ");
  }
  if (snap.alerts() && snap.alerts()->size() > 0) {
    o << "alerts (" << snap.alerts()->size() << ")\n";
    table_printer t;
    t.add({"idx", "severity", "training", "group", "code", "description", "time"});
    for (const auto* a : *snap.alerts())
      t.add({std::to_string(a->hr_device_index()) + "." + std::to_string(a->index()),
             a->severity() ? name_or_number(*a->severity(), s::EnumNameAlertSeverity) : "-",
             a->training_level()
                 ? name_or_number(*a->training_level(), s::EnumNameAlertTrainingLevel)
                 : "-",
             (a->group() ? name_or_number(*a->group(), s::EnumNameAlertGroup) : "-") +
                 (a->group_index() ? "#" + std::to_string(*a->group_index()) : ""),
             a->code() ? name_or_number(*a->code(), s::EnumNameAlertCode) : "-",
             a->description() ? a->description()->str() : "-",
             a->time_ticks() ? uptime_text(*a->time_ticks()) : "-"});
    t.print(o, "  ");
  }
  return o.str();
}

std::string probe_summary_line(const s::DeviceSnapshot& snap, std::string_view label) {
  const auto* id = snap.identity();
  std::string vendor = id ? sv(id->vendor()) : "";
  std::string model = id ? sv(id->model()) : "";
  std::string serial = id ? sv(id->serial()) : "";
  std::string supplies;
  if (snap.supplies())
    for (const auto* sp : *snap.supplies()) {
      if (!supplies.empty()) supplies += "; ";
      std::string d = sp->description() ? sp->description()->str() : std::string();
      if (d.empty()) d = "supply " + std::to_string(sp->index());
      supplies += d + " " + level_text(*sp);
    }
  std::ostringstream o;
  o << label << ": vendor=" << kv_quote(vendor.empty() ? "unknown" : vendor)
    << " model=" << kv_quote(model.empty() ? "unknown" : model) << " serial=" << kv_quote(serial)
    << " supplies=" << (supplies.empty() ? "-" : kv_quote(supplies))
    << " status=" << status_text(snap);
  std::string line = o.str();
  std::replace(line.begin(), line.end(), '\n', ' ');
  return line;
}

namespace {

void render(const probe_options& options, const s::DeviceSnapshot& snap, const std::string& label,
            const std::string& source, std::ostream& out) {
  switch (options.format) {
    case probe_format::json:
      out << codecs::to_json_text(codecs::snapshot_to_json(snap), options.pretty) << "\n";
      break;
    case probe_format::summary:
      out << probe_summary_line(snap, label) << "\n";
      break;
    case probe_format::table:
      out << probe_table(snap, source) << "\n";
      break;
  }
}

void print_stats(std::ostream& err, const std::string& label, const walk_result& r) {
  const auto& st = r.stats;
  err << label << ": " << st.requests << " requests, " << st.attempts << " datagrams sent, "
      << st.bytes_sent << " bytes sent, " << st.bytes_received << " bytes received (UDP payload; "
      << st.bytes_sent + st.bytes_received + 28 * (st.attempts + st.requests)
      << " with IPv4/UDP headers), " << st.varbinds << " varbinds (" << r.view.size()
      << " kept), version "
      << (!r.version                               ? "?"
          : *r.version == codecs::snmp_version::v1 ? "1"
                                                   : "2c")
      << "\n";
}

struct live_device {
  std::string label;  // as given on the command line
  peer p;
  walk_memory memory;
  bool version_known = false;
  std::string error;  // set when the target is unusable
  std::optional<walk_result> result;
  std::uint64_t started_ms = 0;
};

int run_live_probe(const probe_options& options, std::ostream& out, std::ostream& err) {
  namespace asio = boost::asio;
  const auto version = parse_version(options.version);
  if (!version) {
    err << "fleetpoll probe: --version must be auto, 1 or 2c\n";
    return 2;
  }
  asio::io_context io;
  std::vector<std::unique_ptr<live_device>> devices;
  asio::ip::udp::resolver resolver(io);
  for (const auto& text : options.targets) {
    auto d = std::make_unique<live_device>();
    d->label = text;
    std::string why;
    auto spec = parse_target_spec(text, why);
    if (!spec) {
      err << "fleetpoll probe: " << text << ": " << why << "\n";
      return 2;
    }
    if (spec->k == target_spec::kind::range) {
      err << "fleetpoll probe: " << text
          << ": probe takes single devices; sweep ranges with `fleetpoll discover`\n";
      return 2;
    }
    const std::uint16_t port = spec->port.value_or(options.port);
    if (spec->k == target_spec::kind::host) {
      boost::system::error_code ec;
      auto res = resolver.resolve(spec->host, std::to_string(port), ec);
      if (ec || res.empty()) {
        d->error = "cannot resolve host name (" + ec.message() + ")";
      } else {
        d->p.address = res.begin()->endpoint();
      }
    } else {
      d->p.address = asio::ip::udp::endpoint(spec->address, port);
    }
    d->p.community = options.community;
    d->p.version =
        *version == version_choice::v1 ? codecs::snmp_version::v1 : codecs::snmp_version::v2c;
    d->version_known = *version != version_choice::auto_detect;
    devices.push_back(std::move(d));
  }
  client_options co;
  co.retries = std::max(0, options.retries);
  co.rtt.initial = std::chrono::milliseconds(std::max<std::uint32_t>(1, options.timeout_ms));
  co.rtt.max = std::max(co.rtt.max, co.rtt.initial);
  co.rate.global_pps = 0;  // a handful of devices; the per-device gap still applies
  co.rate.subnet_pps = 0;
  snmp_client client(io, co);
  if (auto ec = client.open()) {
    err << "fleetpoll probe: cannot open a UDP socket: " << ec.message() << "\n";
    return 1;
  }
  walk_options wo;
  wo.retry_budget = std::max(4, co.retries * 2);
  if (options.trace) wo.trace = [&err](const std::string& line) { err << line << "\n"; };
  std::size_t running = 0;
  for (const auto& d : devices) running += d->error.empty() ? 1 : 0;
  const int rounds = std::max(1, options.repeat);
  // Polls every device `rounds` times in a row; the last poll's result is kept.
  std::function<void(live_device*, int)> poll = [&](live_device* dp, int left) {
    dp->started_ms =
        static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                       std::chrono::system_clock::now().time_since_epoch())
                                       .count());
    async_walk(client, dp->p, dp->memory, dp->version_known, default_plan(), all_classes, wo,
               [&, dp, left](walk_result&& r) {
                 if (r.version) dp->version_known = true;
                 if (options.stats) print_stats(err, dp->label, r);
                 dp->result = std::move(r);
                 if (left > 1 && dp->result->answered) return poll(dp, left - 1);
                 if (--running == 0)
                   io.stop();  // the sockets' receive waits would keep run() going
               });
  };
  for (auto& d : devices)
    if (d->error.empty()) poll(d.get(), rounds);
  if (running > 0) io.run();

  int rc = 0;
  for (const auto& d : devices) {
    if (!d->error.empty()) {
      err << d->label << ": " << d->error << "\n";
      rc = 1;
      continue;
    }
    const walk_result& r = *d->result;
    if (!r.answered) {
      err << d->label << ": no answer ("
          << (r.ec ? r.ec.message() : std::string("nothing received"))
          << "); check the address, port, version and community\n";
      rc = 1;
      continue;
    }
    if (r.ec) {
      err << d->label << ": incomplete poll (" << r.ec.message() << "); complete classes: "
          << (r.classes_complete ? class_names(r.classes_complete) : std::string("none")) << "\n";
      rc = 1;
    }
    codecs::normalize_options nopts;
    nopts.include_contact = options.include_contact;
    nopts.source = format_endpoint(d->p.address);
    nopts.polled_at_ms = d->started_ms;
    auto buf = codecs::normalize(r.view, nopts);
    render(options, *codecs::snapshot_of(buf), d->label, nopts.source, out);
  }
  out.flush();
  return rc;
}

}  // namespace

int run_probe(const probe_options& options, std::ostream& out, std::ostream& err) {
  if (!options.targets.empty() && !options.snmprec_files.empty()) {
    err << "fleetpoll probe: give either --snmprec FILE... or HOST[:PORT]..., not both\n";
    return 2;
  }
  if (!options.targets.empty()) return run_live_probe(options, out, err);
  if (options.snmprec_files.empty()) {
    err << "fleetpoll probe: nothing to probe; give HOST[:PORT]... or --snmprec FILE...\n";
    return 2;
  }
  // A companion named together with its base file is merged into it, not probed alone.
  std::set<fs::path> named;
  for (const auto& f : options.snmprec_files) named.insert(fs::path(f).lexically_normal());
  auto is_merged_companion = [&](const fs::path& p) {
    auto stem = p.stem().string();
    auto at = stem.find('@');
    if (at == std::string::npos) return false;
    auto base =
        (p.parent_path() / (stem.substr(0, at) + p.extension().string())).lexically_normal();
    return named.count(base) > 0;
  };

  codecs::snmprec_options load_opts;
  load_opts.skip_bad_lines = !options.strict;
  int rc = 0;
  for (const auto& file : options.snmprec_files) {
    fs::path path(file);
    if (is_merged_companion(path.lexically_normal())) continue;
    auto main = codecs::load_snmprec_file(path, load_opts);
    if (!main) {
      err << main.message() << "\n";
      rc = 1;
      continue;
    }
    for (const auto& sk : main.skipped) err << main.skipped_message(sk) << "\n";
    if (main.view.empty() && !main.skipped.empty()) {
      err << file << ": no usable line\n";
      rc = 1;
      continue;
    }
    codecs::mib_view view = std::move(main.view);
    std::string source = file;
    bool failed = false;
    std::error_code ec;
    if (fs::exists(path, ec)) {
      for (const auto& comp : codecs::snmprec_context_companions(path)) {
        auto c = codecs::load_snmprec_file(comp, load_opts);
        if (!c) {
          err << c.message() << "\n";
          failed = true;
          break;
        }
        for (const auto& sk : c.skipped) err << c.skipped_message(sk) << "\n";
        view.merge(c.view);
        source += " + " + comp.filename().string();
      }
    }
    if (failed) {
      rc = 1;
      continue;
    }
    codecs::normalize_options nopts;
    nopts.include_contact = options.include_contact;
    nopts.source = source;
    auto buf = codecs::normalize(view, nopts);
    render(options, *codecs::snapshot_of(buf), file, source, out);
  }
  out.flush();
  return rc;
}

void add_probe_command(CLI::App& app, int& exit_code) {
  struct state {
    probe_options opts;
    bool json = false;
    bool summary = false;
  };
  auto st = std::make_shared<state>();
  auto* opts = &st->opts;
  auto* cmd =
      app.add_subcommand("probe",
                         "Show what fleetpoll makes of a printer: identity, status, supplies, "
                         "trays, counters, alerts");
  cmd->add_option(
         "--snmprec", opts->snmprec_files,
         "snmpsim recordings (.snmprec), one device each. Context companions NAME@CTX.snmprec next "
         "to a file are merged in automatically")
      ->expected(1, -1);
  cmd->add_option("target", opts->targets,
                  "HOST[:PORT] of live devices, polled once for every data class");
  cmd->add_option("--community", opts->community, "Live devices: SNMP community (never printed)")
      ->capture_default_str();
  cmd->add_option("--version", opts->version,
                  "Live devices: SNMP version: auto (v2c, falling back to v1), 1 or 2c")
      ->capture_default_str();
  cmd->add_option("--port", opts->port, "Live devices: UDP port when HOST has none")
      ->capture_default_str();
  cmd->add_option("--timeout", opts->timeout_ms,
                  "Live devices: first attempt's timeout in ms (later attempts back off)")
      ->capture_default_str();
  cmd->add_option("--retries", opts->retries, "Live devices: retries per request")
      ->capture_default_str();
  cmd->add_flag("--trace", opts->trace, "Live devices: print every request and reply to stderr");
  cmd->add_flag("--stats", opts->stats,
                "Live devices: print what each poll cost on the wire to stderr");
  cmd->add_option("--repeat", opts->repeat,
                  "Live devices: poll N times in a row (later polls use what the first taught); "
                  "print the last")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000));
  auto* json =
      cmd->add_flag("--json", st->json,
                    "One JSON object per printer per line (field names: docs/snapshot-schema.md)");
  cmd->add_flag("--pretty", opts->pretty, "With --json: indent the JSON");
  auto* summary = cmd->add_flag("--summary", st->summary,
                                "Exactly one line per printer: file, vendor, model, serial, "
                                "supplies with levels, status");
  json->excludes(summary);
  cmd->add_flag("--include-contact", opts->include_contact,
                "Include sysContact (it names a person)");
  cmd->add_flag(
      "--strict", opts->strict,
      "Fail a recording at its first bad line (default: skip bad lines with a warning on stderr)");
  cmd->footer(
      "Errors go to stderr as FILE:LINE: message; the other files are still probed and the exit "
      "code "
      "is 1. Skipped bad lines are warnings (FILE:LINE: skipped: ...) and keep exit code 0.\n");
  cmd->callback([st, &exit_code]() {
    st->opts.format = st->json      ? probe_format::json
                      : st->summary ? probe_format::summary
                                    : probe_format::table;
    exit_code = run_probe(st->opts, std::cout, std::cerr);
  });
}

}  // namespace fleetpoll::engine
