#include "fleetpoll/engine/discovery.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include "fleetpoll/codecs/printer_mib.hpp"
#include "fleetpoll/engine/snmp_client.hpp"
#include "fleetpoll/metrics/engine_metrics.hpp"

namespace fleetpoll::engine {

namespace asio = boost::asio;
using clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

namespace {

const codecs::oid sys_descr_object{1, 3, 6, 1, 2, 1, 1, 1};
const codecs::oid sys_object_id_object{1, 3, 6, 1, 2, 1, 1, 2};
const codecs::oid hr_device_type_column =
    codecs::mib::hr_device_entry.child({codecs::mib::hr_device_col::type});
constexpr int max_hr_rounds = 8;  // follow-up requests to find a printer row in hrDeviceTable

bool below(const codecs::oid& name, const codecs::oid& prefix) {
  return name.size() > prefix.size() && name.starts_with(prefix);
}

std::string text_of(const codecs::value& v) {
  if (v.type == codecs::value_type::octet_string) return v.bytes;
  if (v.type == codecs::value_type::object_id) return v.object.to_string();
  return {};
}

// Address generator over the specs (ranges are not materialized).
class address_source {
 public:
  address_source(const std::vector<target_spec>& specs, std::uint16_t default_port)
      : port_(default_port) {
    for (const auto& s : specs)
      if (s.k != target_spec::kind::host) specs_.push_back(s);
  }
  std::uint64_t total() const {
    std::uint64_t n = 0;
    for (const auto& s : specs_) n += std::min(address_count(s), max_range_addresses);
    return n;
  }
  void add(const asio::ip::udp::endpoint& ep) { extra_.push_back(ep); }
  std::optional<asio::ip::udp::endpoint> next() {
    if (!extra_.empty()) {
      auto ep = extra_.front();
      extra_.pop_front();
      return ep;
    }
    while (spec_ < specs_.size()) {
      const auto& s = specs_[spec_];
      const std::uint64_t n = std::min(address_count(s), max_range_addresses);
      if (offset_ < n) {
        const auto a = nth_address(s, offset_++);
        return asio::ip::udp::endpoint(a, s.port.value_or(port_));
      }
      ++spec_;
      offset_ = 0;
    }
    return std::nullopt;
  }

 private:
  std::vector<target_spec> specs_;
  std::uint16_t port_;
  std::size_t spec_ = 0;
  std::uint64_t offset_ = 0;
  std::deque<asio::ip::udp::endpoint> extra_;
};

}  // namespace

struct discovery::impl {
  explicit impl(discovery_options o, metrics::engine_metrics* m) : opts(std::move(o)), metrics(m) {}

  struct probe {
    peer p;
    std::size_t combo = 0;  // index into combos
    int hr_rounds = 0;
    discovered_device found;
    bool answered = false;
    std::vector<codecs::oid> names;  // the probe's names (v1 noSuchName removes some)
  };

  discovery_options opts;
  metrics::engine_metrics* metrics;
  asio::io_context io{1};
  std::atomic<int> cancels{0};
  std::vector<std::pair<codecs::snmp_version, std::size_t>> combos;  // (version, community index)
  std::unique_ptr<snmp_client> client;
  std::unique_ptr<address_source> source;
  std::size_t in_flight = 0;
  bool draining = false;  // no new addresses
  discovery_report* report = nullptr;
  discovery_progress prog;
  clock::time_point started;
  std::size_t hosts_pending = 0;

  void start_more() {
    while (!draining && in_flight < opts.max_in_flight) {
      auto ep = source->next();
      if (!ep) break;
      auto pr = std::make_shared<probe>();
      pr->p.address = *ep;
      pr->found.address = *ep;
      pr->names = {sys_descr_object, sys_object_id_object, codecs::mib::printer_mib,
                   hr_device_type_column};
      ++in_flight;
      if (metrics) metrics->discovery_targets().Increment();
      send(pr);
    }
  }

  void send(const std::shared_ptr<probe>& pr) {
    const auto& [version, community] = combos[pr->combo];
    pr->p.version = version;
    pr->p.community = opts.communities[community];
    request_spec spec;
    spec.type = codecs::pdu_type::get_next;
    spec.names = pr->names;
    spec.max_retries = 0;  // the next combination is the retry
    ++prog.packets;
    client->async_request(pr->p, std::move(spec),
                          [this, pr](std::error_code ec, codecs::snmp_response&& r,
                                     const request_stats&) { on_reply(pr, ec, std::move(r)); });
  }

  void on_reply(const std::shared_ptr<probe>& pr, std::error_code ec, codecs::snmp_response&& r) {
    if (ec == error::timeout || ec == error::decode_failed || ec == error::send_failed) {
      if (!pr->answered && ++pr->combo < combos.size() && cancels.load() < 2) return send(pr);
      return finish(pr);
    }
    if (ec == error::cancelled || (ec && ec != error::agent_error)) return finish(pr);
    pr->answered = true;
    pr->found.version = r.version;
    pr->found.community_index = combos[pr->combo].second;
    if (ec == error::agent_error) {
      // SNMPv1: one of the names is past the end of the MIB; ask again without it.
      const auto idx = r.error_index;
      if (r.error_status == 2 && idx >= 1 && static_cast<std::size_t>(idx) <= pr->names.size() &&
          pr->names.size() > 1) {
        pr->names.erase(pr->names.begin() + (idx - 1));
        ++prog.packets;
        return send_same(pr);
      }
      return finish(pr);
    }
    classify(pr, r);
  }

  void send_same(const std::shared_ptr<probe>& pr) {
    request_spec spec;
    spec.type = codecs::pdu_type::get_next;
    spec.names = pr->names;
    spec.max_retries = 1;
    client->async_request(
        pr->p, std::move(spec),
        [this, pr](std::error_code ec, codecs::snmp_response&& r, const request_stats&) {
          if (ec == error::timeout || ec == error::cancelled) return finish(pr);
          on_reply(pr, ec, std::move(r));
        });
  }

  void classify(const std::shared_ptr<probe>& pr, const codecs::snmp_response& r) {
    auto& f = pr->found;
    std::optional<codecs::oid> hr_cursor;
    for (std::size_t i = 0; i < r.varbinds.size() && i < pr->names.size(); ++i) {
      const auto& asked = pr->names[i];
      const auto& vb = r.varbinds[i];
      if (vb.val.is_exception()) continue;
      if (asked == sys_descr_object && below(vb.name, sys_descr_object))
        f.sys_descr = text_of(vb.val);
      if (asked == sys_object_id_object && below(vb.name, sys_object_id_object))
        f.sys_object_id = text_of(vb.val);
      if (asked == codecs::mib::printer_mib && below(vb.name, codecs::mib::printer_mib)) {
        f.printer = true;
        f.reason = "Printer-MIB";
      }
      if (asked == hr_device_type_column && below(vb.name, hr_device_type_column)) {
        if (vb.val.type == codecs::value_type::object_id &&
            vb.val.object == codecs::mib::hr_device_printer) {
          if (!f.printer) f.reason = "hrDevicePrinter";
          f.printer = true;
        } else {
          hr_cursor = vb.name;
        }
      }
    }
    if (!f.printer && hr_cursor) return scan_hr(pr, *hr_cursor);
    if (!f.printer) f.reason = "no Printer-MIB and no hrDevicePrinter";
    finish(pr);
  }

  // More hrDeviceTable rows: is any of them a printer?
  void scan_hr(const std::shared_ptr<probe>& pr, codecs::oid cursor) {
    if (++pr->hr_rounds > max_hr_rounds) {
      pr->found.reason = "no Printer-MIB and no hrDevicePrinter";
      return finish(pr);
    }
    request_spec spec;
    const bool bulk = pr->p.version == codecs::snmp_version::v2c;
    spec.type = bulk ? codecs::pdu_type::get_bulk : codecs::pdu_type::get_next;
    spec.names = {cursor};
    spec.max_repetitions = bulk ? 16 : 0;
    spec.max_retries = 1;
    ++prog.packets;
    client->async_request(
        pr->p, std::move(spec),
        [this, pr](std::error_code ec, codecs::snmp_response&& r, const request_stats&) {
          if (ec) {
            pr->found.reason = "no Printer-MIB; hrDeviceTable unreadable";
            return finish(pr);
          }
          std::optional<codecs::oid> next;
          for (const auto& vb : r.varbinds) {
            if (vb.val.is_exception() || !below(vb.name, hr_device_type_column)) {
              next.reset();
              break;
            }
            if (vb.val.type == codecs::value_type::object_id &&
                vb.val.object == codecs::mib::hr_device_printer) {
              pr->found.printer = true;
              pr->found.reason = "hrDevicePrinter";
              return finish(pr);
            }
            next = vb.name;
          }
          if (next) return scan_hr(pr, *next);
          pr->found.reason = "no Printer-MIB and no hrDevicePrinter";
          finish(pr);
        });
  }

  void finish(const std::shared_ptr<probe>& pr) {
    --in_flight;
    ++prog.probed;
    if (metrics) metrics->discovery_probed().Increment();
    if (pr->answered) {
      ++prog.responders;
      if (metrics) metrics->discovery_responders().Increment();
      if (pr->found.printer) {
        ++prog.printers;
        if (metrics) metrics->discovery_printers_found().Increment();
        report->printers.push_back(std::move(pr->found));
      } else {
        report->others.push_back(std::move(pr->found));
      }
    }
    start_more();
    maybe_done();
  }

  void maybe_done() {
    if (in_flight == 0 && hosts_pending == 0 && (draining || !peek_more())) io.stop();
  }

  bool peek_more() {
    auto ep = source->next();
    if (!ep) return false;
    source->add(*ep);
    return true;
  }
};

discovery::discovery(discovery_options options, metrics::engine_metrics* m)
    : impl_(std::make_unique<impl>(std::move(options), m)) {}
discovery::~discovery() = default;

void discovery::cancel() noexcept {
  const int n = ++impl_->cancels;
  auto* im = impl_.get();
  asio::post(im->io, [im, n] {
    im->draining = true;
    if (n >= 2 && im->client) im->client->cancel();
    im->maybe_done();
  });
}

std::error_code discovery::run(const std::vector<target_spec>& targets, discovery_report& report,
                               const progress_fn& on_progress, milliseconds progress_every) {
  auto& im = *impl_;
  report = {};
  im.report = &report;
  im.combos.clear();
  for (auto v : im.opts.versions)
    for (std::size_t c = 0; c < im.opts.communities.size(); ++c)
      im.combos.emplace_back(
          v == version_choice::v1 ? codecs::snmp_version::v1 : codecs::snmp_version::v2c, c);
  if (im.combos.empty()) im.combos.emplace_back(codecs::snmp_version::v2c, 0);
  if (im.opts.communities.empty()) im.opts.communities.push_back("public");

  client_options co;
  co.retries = 0;
  co.jitter = 0;
  co.rtt.initial = im.opts.timeout;
  co.rtt.min = im.opts.timeout;
  co.rtt.max = im.opts.timeout;
  co.rate.global_pps = im.opts.pps;
  co.rate.subnet_pps = im.opts.subnet_pps;
  co.rate.device_min_gap = std::chrono::microseconds{0};
  co.rate.burst = std::max(1.0, im.opts.pps / 100);
  im.client = std::make_unique<snmp_client>(im.io, co);
  if (auto ec = im.client->open()) return ec;
  im.source = std::make_unique<address_source>(targets, im.opts.port);
  im.prog = {};
  im.prog.total = im.source->total();
  im.started = clock::now();
  im.draining = im.cancels.load() > 0;

  // Host names resolve in the background; their addresses join the sweep as they arrive.
  asio::ip::udp::resolver resolver(im.io);
  for (const auto& t : targets) {
    if (t.k != target_spec::kind::host) continue;
    ++im.hosts_pending;
    resolver.async_resolve(
        t.host, std::to_string(t.port.value_or(im.opts.port)),
        [&im, &report, host = t.host](const boost::system::error_code& ec,
                                      asio::ip::udp::resolver::results_type res) {
          --im.hosts_pending;
          if (ec || res.empty()) {
            report.unresolved.push_back(host + ": " +
                                        (ec ? ec.message() : std::string("no address")));
          } else {
            im.source->add(res.begin()->endpoint());
            ++im.prog.total;
            im.start_more();
          }
          im.maybe_done();
        });
  }

  asio::steady_timer limit(im.io), tick(im.io);
  limit.expires_after(im.opts.time_limit);
  limit.async_wait([&](const boost::system::error_code& ec) {
    if (ec) return;
    report.timed_out = true;
    im.draining = true;
    resolver.cancel();
    im.maybe_done();
  });
  std::function<void()> arm_tick = [&] {
    tick.expires_after(progress_every);
    tick.async_wait([&](const boost::system::error_code& ec) {
      if (ec) return;
      im.prog.elapsed = std::chrono::duration_cast<milliseconds>(clock::now() - im.started);
      if (on_progress) on_progress(im.prog);
      arm_tick();
    });
  };
  arm_tick();
  asio::post(im.io, [&] {
    im.start_more();
    im.maybe_done();
  });
  im.io.run();
  limit.cancel();
  tick.cancel();
  resolver.cancel();
  im.client->cancel();
  im.client.reset();
  im.io.restart();
  im.io.poll();  // run the cancelled handlers

  report.interrupted = im.cancels.load() > 0 && !report.timed_out;
  im.prog.elapsed = std::chrono::duration_cast<milliseconds>(clock::now() - im.started);
  report.progress = im.prog;
  auto by_address = [](const discovered_device& a, const discovered_device& b) {
    return a.address < b.address;
  };
  std::sort(report.printers.begin(), report.printers.end(), by_address);
  std::sort(report.others.begin(), report.others.end(), by_address);
  if (on_progress) on_progress(im.prog);
  im.report = nullptr;
  return {};
}

bool save_targets(const std::string& path, const discovery_report& report,
                  const discovery_options& options, std::string& error) {
  const bool with_community = options.communities.size() > 1;
  const std::string tmp = path + ".tmp";
  const int fd =
      ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, with_community ? 0600 : 0644);
  if (fd < 0) {
    error = tmp + ": " + std::error_code(errno, std::generic_category()).message();
    return false;
  }
  std::FILE* f = ::fdopen(fd, "w");
  if (!f) {
    ::close(fd);
    error = tmp + ": cannot write";
    return false;
  }
  const std::time_t now = std::time(nullptr);
  char when[64];
  std::strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&now));
  std::fprintf(f, "# fleetpoll targets: %zu printers found by `fleetpoll discover` at %s%s\n",
               report.printers.size(), when,
               report.interrupted ? " (interrupted: partial)"
               : report.timed_out ? " (time limit: partial)"
                                  : "");
  std::fprintf(f, "# Use it from fleetpoll.toml: [[targets]] file = \"%s\"\n", path.c_str());
  std::fprintf(f, "address,port,version,community\n");
  for (const auto& d : report.printers) {
    std::string descr = d.sys_descr.substr(0, 120);
    for (auto& c : descr)
      if (static_cast<unsigned char>(c) < 0x20) c = ' ';
    std::fprintf(f, "# %s %s\n", d.reason.c_str(), descr.c_str());
    const std::string community = with_community && d.community_index < options.communities.size()
                                      ? options.communities[d.community_index]
                                      : "";
    std::fprintf(f, "%s,%u,%s,%s\n", d.address.address().to_string().c_str(),
                 static_cast<unsigned>(d.address.port()),
                 d.version == codecs::snmp_version::v1 ? "1" : "2c", community.c_str());
  }
  const bool ok = std::fflush(f) == 0 && ::fsync(::fileno(f)) == 0;
  std::fclose(f);
  if (!ok || std::rename(tmp.c_str(), path.c_str()) != 0) {
    error = path + ": " + std::error_code(errno, std::generic_category()).message();
    std::remove(tmp.c_str());
    return false;
  }
  return true;
}

}  // namespace fleetpoll::engine
