#include <arpa/inet.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <ctime>
#include <sstream>

#include "fleet_impl.hpp"
#include "fleetpoll/codecs/snmprec.hpp"
#include "fleetpoll/fleetsim/agent_codec.hpp"

namespace fleetpoll::fleetsim {
namespace {

constexpr std::string_view fault_names[fault_count] = {
    "dead",    "lossy",        "slow",      "sleepy",           "v1_only",
    "too_big", "out_of_order", "oid_loop",  "wrong_request_id", "truncated",
    "corrupt", "other_source", "duplicate",
};
constexpr std::uint64_t tag_fault_choice = 1000;

std::string fmt_double(double v) {
  std::ostringstream s;
  s << v;
  return s.str();
}

bool parse_number(std::string_view text, double& out) {
  std::string t(text);
  char* end = nullptr;
  out = std::strtod(t.c_str(), &end);
  return !t.empty() && end == t.c_str() + t.size() && std::isfinite(out);
}

// Loads one .snmprec (lenient: a recording's odd bad line is skipped) plus its @context
// companions merged in.
bool load_template_file(const std::filesystem::path& p, codecs::mib_view& view, std::string& why,
                        std::vector<std::string>& warnings) {
  codecs::snmprec_options lenient{.skip_bad_lines = true};
  auto r = codecs::load_snmprec_file(p, lenient);
  if (!r) {
    why = r.message();
    return false;
  }
  for (const auto& s : r.skipped) warnings.push_back(r.skipped_message(s));
  view = std::move(r.view);
  for (const auto& c : codecs::snmprec_context_companions(p)) {
    auto rc = codecs::load_snmprec_file(c, lenient);
    if (!rc) {
      why = rc.message();
      return false;
    }
    for (const auto& s : rc.skipped) warnings.push_back(rc.skipped_message(s));
    view.merge(rc.view);
  }
  return true;
}

}  // namespace

std::string_view to_string(fault f) noexcept {
  const auto i = static_cast<std::size_t>(f);
  return i < fault_count ? fault_names[i] : "?";
}

std::optional<fault> fault_from_string(std::string_view name) noexcept {
  for (std::size_t i = 0; i < fault_count; ++i)
    if (fault_names[i] == name) return static_cast<fault>(i);
  return std::nullopt;
}

std::error_code parse_fault_plan(std::string_view text, fault_plan& plan, std::string& detail) {
  while (!text.empty()) {
    const std::size_t comma = text.find(',');
    std::string_view item = text.substr(0, comma);
    text = comma == std::string_view::npos ? std::string_view{} : text.substr(comma + 1);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    if (item.empty()) continue;
    const std::size_t eq = item.find('=');
    if (eq == std::string_view::npos) {
      detail = "'" + std::string(item) + "' is not KEY=VALUE";
      return error::bad_fault_spec;
    }
    const std::string_view key = item.substr(0, eq);
    std::string_view val = item.substr(eq + 1);
    if (key == "slow_ms" && val.ends_with("ms")) val.remove_suffix(2);
    double v = 0;
    if (!parse_number(val, v)) {
      detail = "'" + std::string(val) + "' is not a number (in '" + std::string(item) + "')";
      return error::bad_fault_spec;
    }
    auto share = [&](double& dst) {
      if (v < 0 || v > 1) {
        detail = std::string(key) + "=" + std::string(val) + ": a share must be within 0..1";
        return false;
      }
      dst = v;
      return true;
    };
    auto count = [&](std::uint32_t& dst, double lo, double hi) {
      if (v < lo || v > hi || v != std::floor(v)) {
        detail = std::string(key) + "=" + std::string(val) + ": must be a whole number within " +
                 fmt_double(lo) + ".." + fmt_double(hi);
        return false;
      }
      dst = static_cast<std::uint32_t>(v);
      return true;
    };
    bool ok = true;
    auto& p = plan.params;
    if (auto f = fault_from_string(key))
      ok = share(plan.fraction[static_cast<std::size_t>(*f)]);
    else if (key == "loss")
      ok = share(p.loss);
    else if (key == "lossy_rate")
      ok = share(p.lossy_rate);
    else if (key == "slow_ms")
      ok = count(p.slow_ms, 0, 600000);
    else if (key == "too_big_varbinds")
      ok = count(p.too_big_varbinds, 0, 100000);
    else if (key == "sleep_period_s")
      ok = count(p.sleep_period_s, 1, 1e9);
    else if (key == "sleep_duration_s")
      ok = count(p.sleep_duration_s, 0, 1e9);
    else if (key == "duplicate_copies")
      ok = count(p.duplicate_copies, 1, 16);
    else if (key == "loop_back")
      ok = count(p.loop_back, 0, 100000);
    else {
      detail = "unknown fault or parameter '" + std::string(key) + "'";
      return error::bad_fault_spec;
    }
    if (!ok) return error::bad_fault_spec;
  }
  if (plan.params.sleep_duration_s > plan.params.sleep_period_s) {
    detail = "sleep_duration_s is longer than sleep_period_s";
    return error::bad_fault_spec;
  }
  return {};
}

std::string describe(const fault_plan& plan) {
  std::string out;
  auto add = [&](std::string_view k, const std::string& v) {
    if (!out.empty()) out += ",";
    out += std::string(k) + "=" + v;
  };
  const fault_params d;
  if (plan.params.loss != d.loss) add("loss", fmt_double(plan.params.loss));
  for (std::size_t i = 0; i < fault_count; ++i)
    if (plan.fraction[i] > 0) add(fault_names[i], fmt_double(plan.fraction[i]));
  const auto& p = plan.params;
  if (p.lossy_rate != d.lossy_rate) add("lossy_rate", fmt_double(p.lossy_rate));
  if (p.slow_ms != d.slow_ms) add("slow_ms", std::to_string(p.slow_ms));
  if (p.too_big_varbinds != d.too_big_varbinds)
    add("too_big_varbinds", std::to_string(p.too_big_varbinds));
  if (p.sleep_period_s != d.sleep_period_s) add("sleep_period_s", std::to_string(p.sleep_period_s));
  if (p.sleep_duration_s != d.sleep_duration_s)
    add("sleep_duration_s", std::to_string(p.sleep_duration_s));
  if (p.duplicate_copies != d.duplicate_copies)
    add("duplicate_copies", std::to_string(p.duplicate_copies));
  if (p.loop_back != d.loop_back) add("loop_back", std::to_string(p.loop_back));
  return out;
}

std::string format_time(double unix_seconds) {
  const auto t = static_cast<std::time_t>(std::floor(unix_seconds));
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::optional<double> parse_time(std::string_view text) {
  double v = 0;
  if (parse_number(text, v)) return v;
  std::tm tm{};
  const std::string s(text);
  const char* end = strptime(s.c_str(), "%Y-%m-%dT%H:%M:%S", &tm);
  if (!end) return std::nullopt;
  if (*end == 'Z') ++end;
  if (*end != '\0') return std::nullopt;
  return static_cast<double>(timegm(&tm));
}

// ---- fleet::impl -------------------------------------------------------------------------------

double fleet::impl::sim_now() const {
  std::lock_guard lock(time_mu);
  const double real =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - real_at_set).count();
  return sim_at_set + real * accel;
}

fault_params fleet::impl::params_of(std::uint32_t dev) const {
  const std::uint16_t i = devices[dev].params.load(std::memory_order_relaxed);
  if (i == 0) return opts.faults.params;
  std::shared_lock lock(params_mu);
  return custom_params[i];
}

// ---- fleet -------------------------------------------------------------------------------------

fleet::fleet(std::unique_ptr<impl> p) : impl_(std::move(p)) {}
fleet::~fleet() {
  stop();
}

std::unique_ptr<fleet> fleet::create(const options& o, std::string& why) {
  const auto t0 = std::chrono::steady_clock::now();
  auto f = std::make_unique<impl>();
  f->opts = o;
  f->profile = detail::find_profile(o.profile);
  if (!f->profile) {
    why = "unknown profile '" + o.profile + "' (office, workgroup, static)";
    return nullptr;
  }
  if (o.devices == 0 || o.devices > (1u << 24) - 2) {
    why = "devices must be within 1..16777214 (the size of 127.0.0.0/8)";
    return nullptr;
  }
  in_addr a{};
  if (inet_pton(AF_INET, o.base_address.c_str(), &a) != 1) {
    why = "base address '" + o.base_address + "' is not a dotted IPv4 address";
    return nullptr;
  }
  f->base = ntohl(a.s_addr);
  const std::uint64_t last = std::uint64_t{f->base} + o.devices - 1;
  if ((f->base >> 24) != 127 || (last >> 24) != 127 || f->base == 0x7F000000u ||
      last == 0x7FFFFFFFu) {
    why = "devices " + o.base_address + " + " + std::to_string(o.devices) +
          " would leave 127.0.0.1..127.255.255.254 (loopback only)";
    return nullptr;
  }
  if (o.max_response_bytes < 484 || o.max_response_bytes > 65507) {
    why = "max response size must be within 484..65507 bytes";
    return nullptr;
  }
  if (!(o.acceleration >= 0) || !std::isfinite(o.acceleration)) {
    why = "acceleration must be a finite number >= 0";
    return nullptr;
  }
  if (o.threads == 0 || o.threads > 64 || o.batch == 0 || o.batch > 1024) {
    why = "threads must be within 1..64 and batch within 1..1024";
    return nullptr;
  }
  if (o.community.size() > decoded_request::max_community) {
    why = "community longer than 255 bytes";
    return nullptr;
  }
  for (double share : o.faults.fraction)
    if (!(share >= 0 && share <= 1)) {
      why = "fault shares must be within 0..1";
      return nullptr;
    }

  // Templates: files and folders, in the order given; folders sorted by file name.
  std::vector<std::pair<std::string, codecs::mib_view>> views;
  for (const auto& p : o.templates) {
    std::error_code ec;
    std::vector<std::filesystem::path> files;
    if (std::filesystem::is_directory(p, ec)) {
      for (const auto& e : std::filesystem::directory_iterator(p, ec))
        if (e.path().extension() == ".snmprec" &&
            e.path().stem().string().find('@') == std::string::npos)
          files.push_back(e.path());
      std::sort(files.begin(), files.end());
      if (files.empty()) {
        why = "no .snmprec file in " + p.string();
        return nullptr;
      }
    } else if (std::filesystem::exists(p, ec)) {
      files.push_back(p);
    } else {
      why = "template " + p.string() + " does not exist";
      return nullptr;
    }
    for (const auto& file : files) {
      codecs::mib_view v;
      if (!load_template_file(file, v, why, f->load_warnings)) return nullptr;
      if (v.empty()) {
        why = file.string() + ": no usable line";
        return nullptr;
      }
      views.emplace_back(file.stem().string(), std::move(v));
    }
  }
  if (o.templates.empty()) {
    for (const auto& b : detail::builtin_templates()) {
      auto r = codecs::parse_snmprec(b.text, b.name);
      if (!r) {
        why = r.message();
        return nullptr;
      }
      views.emplace_back(std::string(b.name), std::move(r.view));
    }
  }
  if (views.empty()) {
    why = "no templates";
    return nullptr;
  }
  for (auto& [name, view] : views)
    f->templates.push_back(
        std::make_unique<detail::device_template>(name, view, f->profile->living));

  f->count = o.devices;
  f->model_cfg = {o.seed, f->profile, o.devices};
  f->devices.reset(new device_slot[o.devices]);
  for (std::uint32_t d = 0; d < o.devices; ++d) {
    fault_mask m = 0;
    for (std::size_t k = 0; k < fault_count; ++k) {
      const double share = o.faults.fraction[k];
      if (share > 0 && detail::unit(detail::hash(o.seed, tag_fault_choice + k, d)) < share)
        m = static_cast<fault_mask>(m | (1u << k));
    }
    f->devices[d].faults.store(m, std::memory_order_relaxed);
  }
  f->custom_params.push_back(o.faults.params);
  for (unsigned i = 0; i < o.threads; ++i)
    f->counters.push_back(std::make_unique<worker_counters>());
  f->sim_at_set = static_cast<double>(o.start_time);
  f->real_at_set = std::chrono::steady_clock::now();
  f->accel = o.acceleration;
  f->bound_port = o.port;
  f->create_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return std::unique_ptr<fleet>(new fleet(std::move(f)));
}

std::error_code fleet::start(std::string& why) {
  std::lock_guard lock(impl_->run_mu);
  if (impl_->running) {
    why = "already started";
    return error::already_started;
  }
  return start_server(*impl_, why);
}

void fleet::stop() {
  std::lock_guard lock(impl_->run_mu);
  stop_server(*impl_);
}

bool fleet::running() const noexcept {
  return impl_->running.load();
}
std::uint16_t fleet::port() const noexcept {
  return impl_->bound_port;
}
bool fleet::bound_to_loopback_device() const noexcept {
  return impl_->bound_lo;
}
std::uint32_t fleet::size() const noexcept {
  return impl_->count;
}
const options& fleet::config() const noexcept {
  return impl_->opts;
}

std::vector<std::string> fleet::template_names() const {
  std::vector<std::string> out;
  for (const auto& t : impl_->templates) out.push_back(t->name());
  return out;
}

std::vector<std::string> fleet::load_warnings() const {
  return impl_->load_warnings;
}

std::string fleet::template_of(std::uint32_t device) const {
  return impl_->template_of(device).name();
}

std::string fleet::address_of(std::uint32_t device) const {
  in_addr a{htonl(impl_->base + device)};
  char buf[INET_ADDRSTRLEN];
  inet_ntop(AF_INET, &a, buf, sizeof buf);
  return buf;
}

std::optional<std::uint32_t> fleet::device_at(std::string_view dotted) const {
  in_addr a{};
  if (inet_pton(AF_INET, std::string(dotted).c_str(), &a) != 1) return std::nullopt;
  const std::uint32_t h = ntohl(a.s_addr);
  if (h < impl_->base || h - impl_->base >= impl_->count) return std::nullopt;
  return h - impl_->base;
}

double fleet::sim_time() const {
  return impl_->sim_now();
}

void fleet::set_time(double t) {
  std::lock_guard lock(impl_->time_mu);
  impl_->sim_at_set = t;
  impl_->real_at_set = std::chrono::steady_clock::now();
}

void fleet::set_acceleration(double factor) {
  if (!(factor >= 0) || !std::isfinite(factor)) return;
  const double now = impl_->sim_now();
  std::lock_guard lock(impl_->time_mu);
  impl_->sim_at_set = now;
  impl_->real_at_set = std::chrono::steady_clock::now();
  impl_->accel = factor;
}

std::error_code fleet::set_device_faults(std::uint32_t device, fault_mask faults,
                                         std::optional<fault_params> params) {
  if (device >= impl_->count) return error::bad_option;
  auto& slot = impl_->devices[device];
  if (params) {
    std::unique_lock lock(impl_->params_mu);
    std::uint16_t i = slot.params.load();
    if (i == 0) {
      if (impl_->custom_params.size() >= 0xFFFF) return error::bad_option;
      i = static_cast<std::uint16_t>(impl_->custom_params.size());
      impl_->custom_params.push_back(*params);
    } else {
      impl_->custom_params[i] = *params;
    }
    slot.params.store(i);
  }
  slot.faults.store(faults);
  return {};
}

fault_mask fleet::device_faults(std::uint32_t device) const {
  return device < impl_->count ? impl_->devices[device].faults.load() : 0;
}

std::vector<std::uint32_t> fleet::devices_with(fault f, std::size_t limit) const {
  std::vector<std::uint32_t> out;
  for (std::uint32_t d = 0; d < impl_->count && out.size() < limit; ++d)
    if (impl_->devices[d].faults.load(std::memory_order_relaxed) & mask_of(f)) out.push_back(d);
  return out;
}

counters fleet::totals() const {
  counters c;
  for (const auto& w : impl_->counters) {
    auto r = [](const std::atomic<std::uint64_t>& a) { return a.load(std::memory_order_relaxed); };
    c.received += r(w->received);
    c.answered += r(w->answered);
    c.sent += r(w->sent);
    c.send_errors += r(w->send_errors);
    c.not_device += r(w->not_device);
    c.not_loopback += r(w->not_loopback);
    c.malformed += r(w->malformed);
    c.oversize += r(w->oversize);
    c.bad_community += r(w->bad_community);
    c.dropped_fault += r(w->dropped_fault);
    c.delayed += r(w->delayed);
    c.delayed_dropped += r(w->delayed_dropped);
    c.too_big += r(w->too_big);
  }
  return c;
}

device_counters fleet::counters_of(std::uint32_t device) const {
  if (device >= impl_->count) return {};
  const auto& s = impl_->devices[device];
  return {s.received.load(std::memory_order_relaxed), s.sent.load(std::memory_order_relaxed),
          s.dropped.load(std::memory_order_relaxed)};
}

device_truth fleet::truth(std::uint32_t device, std::optional<double> at) const {
  return make_truth(*impl_, device, at ? *at : impl_->sim_now());
}

std::size_t fleet::device_memory_bytes() const noexcept {
  return impl_->count * sizeof(device_slot) +
         impl_->custom_params.capacity() * sizeof(fault_params);
}

std::size_t fleet::template_memory_bytes() const noexcept {
  std::size_t n = 0;
  for (const auto& t : impl_->templates) n += t->memory_bytes();
  return n;
}

std::string fleet::status_line() const {
  const auto& o = impl_->opts;
  std::ostringstream s;
  s << "fleetsim: " << impl_->count << " devices (" << impl_->templates.size() << " template"
    << (impl_->templates.size() == 1 ? "" : "s") << ") on " << address_of(0) << "-"
    << address_of(impl_->count - 1) << " udp/" << port();
  if (impl_->running) s << (impl_->bound_lo ? " (lo only)" : " (wildcard, non-loopback dropped)");
  s << ", community \"" << o.community << "\", seed " << o.seed << ", profile " << o.profile
    << ", time " << format_time(sim_time()) << " x" << fmt_double(impl_->accel);
  const std::string faults = describe(o.faults);
  s << ", faults " << (faults.empty() ? "none" : faults);
  s << ", " << o.threads << " thread" << (o.threads == 1 ? "" : "s");
  if (impl_->running) {
    char ready[32];
    std::snprintf(ready, sizeof ready, "%.3f", impl_->create_seconds + impl_->startup_seconds);
    s << ", ready in " << ready << " s";
  }
  return s.str();
}

}  // namespace fleetpoll::fleetsim
