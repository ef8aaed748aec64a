#include "model.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>

namespace fleetpoll::fleetsim::detail {
namespace {

__extension__ typedef __int128 i128;

constexpr std::int64_t day_s = 86400;
constexpr std::int64_t week_s = 7 * day_s;
constexpr std::int64_t ref_monday_s = 345600;  // 1970-01-05T00:00:00Z, a Monday

// Hash tags (arbitrary constants; changing one changes every fleet).
enum : std::uint64_t {
  tag_rate = 1,
  tag_tz,
  tag_install,
  tag_jam,
  tag_cover,
  tag_reboot,
  tag_firmware,
  tag_board,
  tag_board_share,
  tag_chan_yield,
  tag_chan_slack,
  tag_chan_offset,
  tag_serial,
  tag_mac,
  tag_sleep,
  tag_period,
  tag_phase,
  tag_offset,
  tag_duration,
};

constexpr profile_params profile_table[] = {
    {"static", false, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0},
    {"office", true, 100, 0.3, 8 * 3600, 18 * 3600, 0.02, 10, 15, 21, 180, 1100, 0.3, 120, 1800, 60,
     900},
    {"workgroup", true, 1000, 0.4, 7 * 3600, 19 * 3600, 0.05, 3, 7, 30, 120, 900, 0.4, 120, 1800,
     60, 900},
};

std::int64_t floor_div(std::int64_t a, std::int64_t b) {
  std::int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}
std::int64_t ceil_div(std::int64_t a, std::int64_t b) {
  return -floor_div(-a, b);
}

}  // namespace

std::span<const profile_params> profiles() {
  return profile_table;
}

const profile_params* find_profile(std::string_view name) {
  for (const auto& p : profile_table)
    if (p.name == name) return &p;
  return nullptr;
}

device_model::device_model(const model_config& cfg) : cfg_(cfg), prof_(*cfg.profile) {
  rate_norm_ = std::sinh(1.2) / 1.2;  // the mean of exp(U(-1.2, 1.2))
  if (prof_.living) {
    const double eps = prof_.off_hours_weight;
    const auto work = static_cast<double>(prof_.work_end_s - prof_.work_start_s);
    const double weekday = work + eps * (static_cast<double>(day_s) - work);
    week_weight_ = 5 * weekday + 2 * eps * static_cast<double>(day_s);
    day_weight_ = week_weight_ / 7;
  }
}

// Only what every request needs is computed here (two hashes); the rest on first use.
void device_model::reset(const device_template& tpl, std::uint32_t device, std::int64_t t_s) {
  tpl_ = &tpl;
  dev_ = device;
  pages_.reset();
  board_at_.reset();
  boot_at_.reset();
  conditions_.reset();
  down_.reset();
  episode_now_ = {-1, -1};
  alerts_done_ = false;
  alerts_.clear();
  clock_ready_ = false;
  eps_ready_ = 0;
  chans_.resize(tpl.channels().size());
  chan_ready_.assign(tpl.channels().size(), false);
  chan_now_.resize(tpl.channels().size());
  chan_now_ready_.assign(tpl.channels().size(), false);
  const std::uint64_t s = cfg_.seed;
  tz_ = -3600 + static_cast<std::int64_t>(unit(hash(s, dev_, tag_tz)) * 7200);
  install_ = fleet_reference_s - static_cast<std::int64_t>(
                                     (0.5 + 5.5 * unit(hash(s, dev_, tag_install))) * 365 * day_s);
  t_ = std::max(t_s, install_);  // before installation a device reads as just installed
}

void device_model::ensure_clock() const {
  if (clock_ready_) return;
  const double u = unit(hash(cfg_.seed, dev_, tag_rate));
  rate_ = prof_.pages_per_day * std::exp(-1.2 + 2.4 * u) / rate_norm_;
  clock_install_ = prof_.living ? work_clock(install_ + tz_) : 0;
  clock_ready_ = true;
}

double device_model::pages_per_day() const {
  ensure_clock();
  return rate_;
}

const device_model::periodic& device_model::ep(episode_kind k) const {
  if (!(eps_ready_ & (1u << k))) {
    switch (k) {
      case jam:
        eps_[k] = make_periodic(tag_jam, prof_.jam_days, prof_.jam_min_s, prof_.jam_max_s);
        break;
      case cover:
        eps_[k] = make_periodic(tag_cover, prof_.cover_days, prof_.cover_min_s, prof_.cover_max_s);
        break;
      case reboot:
        eps_[k] = make_periodic(tag_reboot, prof_.reboot_days, 0, 0);
        break;
      case firmware_update:
        eps_[k] = make_periodic(tag_firmware, prof_.firmware_days, 0, 0);
        break;
      case board_swap:
        eps_[k] = make_periodic(tag_board, prof_.board_swap_days, 0, 0);
        eps_[k].enabled = eps_[k].enabled &&
                          unit(hash(cfg_.seed, dev_, tag_board_share)) < prof_.board_swap_share;
        break;
      default:
        break;
    }
    eps_ready_ = static_cast<std::uint8_t>(eps_ready_ | (1u << k));
  }
  return eps_[k];
}

// ---- the office clock ---------------------------------------------------------------------

double device_model::work_clock(std::int64_t local_s) const {
  const double eps = prof_.off_hours_weight;
  const auto ws = static_cast<double>(prof_.work_start_s),
             we = static_cast<double>(prof_.work_end_s);
  const double weekday = (we - ws) + eps * (static_cast<double>(day_s) - (we - ws));
  const std::int64_t x = local_s - ref_monday_s;
  const std::int64_t w = floor_div(x, week_s);
  const std::int64_t r = x - w * week_s;
  const std::int64_t d = r / day_s;
  const auto sec = static_cast<double>(r - d * day_s);
  double f =
      static_cast<double>(w) * week_weight_ +
      static_cast<double>(std::min<std::int64_t>(d, 5)) * weekday +
      static_cast<double>(std::max<std::int64_t>(0, d - 5)) * eps * static_cast<double>(day_s);
  if (d >= 5 || sec < ws)
    f += eps * sec;
  else if (sec < we)
    f += eps * ws + (sec - ws);
  else
    f += eps * ws + (we - ws) + eps * (sec - we);
  return f;
}

double device_model::work_clock_inverse(double f) const {
  const double eps = prof_.off_hours_weight;
  const auto ws = static_cast<double>(prof_.work_start_s),
             we = static_cast<double>(prof_.work_end_s);
  const double weekday = (we - ws) + eps * (static_cast<double>(day_s) - (we - ws));
  const double weekend = eps * static_cast<double>(day_s);
  const double w = std::floor(f / week_weight_);
  double g = f - w * week_weight_;
  int d = 0;
  for (; d < 6; ++d) {
    const double dw = d < 5 ? weekday : weekend;
    if (g < dw) break;
    g -= dw;
  }
  double sec;
  if (d >= 5 || g < eps * ws)
    sec = g / eps;
  else if (g < eps * ws + (we - ws))
    sec = ws + (g - eps * ws);
  else
    sec = we + (g - eps * ws - (we - ws)) / eps;
  sec = std::min(sec, static_cast<double>(day_s));
  return static_cast<double>(ref_monday_s) + w * static_cast<double>(week_s) +
         d * static_cast<double>(day_s) + sec;
}

std::int64_t device_model::pages_at(std::int64_t t) const {
  if (!prof_.living || t <= install_) return 0;
  ensure_clock();
  const double f = work_clock(t + tz_) - clock_install_;
  return static_cast<std::int64_t>(std::floor(rate_ * f / day_weight_));
}

std::int64_t device_model::pages() {
  if (!pages_) pages_ = pages_at(t_);
  return *pages_;
}

std::int64_t device_model::first_time_with_pages(std::int64_t p) const {
  if (p <= 0) return install_;
  ensure_clock();
  const double f = clock_install_ + static_cast<double>(p) * day_weight_ / rate_;
  std::int64_t t = static_cast<std::int64_t>(std::ceil(work_clock_inverse(f))) - tz_;
  t = std::max(t, install_);
  for (int i = 0; i < 100000 && pages_at(t) < p; ++i) ++t;
  for (int i = 0; i < 100000 && t > install_ && pages_at(t - 1) >= p; ++i) --t;
  return t;
}

// ---- episodes ------------------------------------------------------------------------------

device_model::periodic device_model::make_periodic(std::uint64_t tag, double days,
                                                   std::int64_t dmin, std::int64_t dmax) const {
  periodic p;
  p.tag = tag;
  if (!prof_.living || days <= 0) return p;
  const double factor = 0.5 + 1.5 * unit(hash(cfg_.seed, dev_, tag, tag_period));
  p.period = std::max<std::int64_t>(3600, static_cast<std::int64_t>(days * factor * day_s));
  p.offset = static_cast<std::int64_t>(unit(hash(cfg_.seed, dev_, tag, tag_offset)) *
                                       static_cast<double>(p.period));
  p.dmax = std::min(dmax, p.period * 3 / 10);
  p.dmin = std::min(dmin, p.dmax);
  p.enabled = true;
  return p;
}

std::int64_t device_model::ep_start(const periodic& p, std::int64_t n) const {
  const double u = unit(hash(cfg_.seed, dev_, p.tag, tag_phase, static_cast<std::uint64_t>(n)));
  return p.offset + n * p.period +
         static_cast<std::int64_t>(u * 0.7 * static_cast<double>(p.period));
}

std::int64_t device_model::ep_last(const periodic& p, std::int64_t t) const {
  const std::int64_t n = floor_div(t - p.offset, p.period);
  return ep_start(p, n) <= t ? n : n - 1;
}

bool device_model::episode_active(const periodic& p, std::int64_t t) const {
  if (!p.enabled) return false;
  const std::int64_t n = ep_last(p, t);
  const double u = unit(hash(cfg_.seed, dev_, p.tag, tag_duration, static_cast<std::uint64_t>(n)));
  const std::int64_t dur =
      p.dmin + static_cast<std::int64_t>(u * static_cast<double>(p.dmax - p.dmin + 1));
  return t < ep_start(p, n) + std::min(dur, p.dmax);
}

std::int64_t device_model::last_start_after_install(const periodic& p, std::int64_t t) const {
  if (!p.enabled) return install_;
  return std::max(install_, ep_start(p, ep_last(p, t)));
}

std::uint32_t device_model::starts_since_install(const periodic& p, std::int64_t t) const {
  if (!p.enabled) return 0;
  return static_cast<std::uint32_t>(ep_last(p, t) - ep_last(p, install_));
}

std::int64_t device_model::board_time() {
  if (!board_at_) board_at_ = last_start_after_install(ep(board_swap), t_);
  return *board_at_;
}

std::int64_t device_model::boot_time() {
  if (!boot_at_)
    boot_at_ = std::max({board_time(), last_start_after_install(ep(reboot), t_),
                         last_start_after_install(ep(firmware_update), t_)});
  return *boot_at_;
}

std::uint32_t device_model::board_swaps() {
  return starts_since_install(ep(board_swap), t_);
}
std::uint32_t device_model::firmware_updates() {
  return starts_since_install(ep(firmware_update), t_);
}
std::uint32_t device_model::reboots() {
  return starts_since_install(ep(reboot), t_);
}

std::uint64_t device_model::life_count() {
  return static_cast<std::uint64_t>(pages() - pages_at(board_time()));
}
std::uint64_t device_model::power_on_count() {
  return static_cast<std::uint64_t>(pages() - pages_at(boot_time()));
}
std::uint32_t device_model::uptime_ticks() {
  return static_cast<std::uint32_t>(static_cast<std::uint64_t>(t_ - boot_time()) * 100u);
}

// ---- channels ------------------------------------------------------------------------------

const device_model::chan_params& device_model::chan(std::size_t c) const {
  if (!chan_ready_[c]) {
    chans_[c] = make_chan(c);
    chan_ready_[c] = true;
  }
  return chans_[c];
}

device_model::chan_params device_model::make_chan(std::size_t c) const {
  const detail::channel& ch = tpl_->channels()[c];
  chan_params p;
  const double factor = 0.85 + 0.3 * unit(hash(cfg_.seed, dev_, tag_chan_yield, c));
  p.y = std::max<std::int64_t>(
      1, static_cast<std::int64_t>(static_cast<double>(ch.base_yield) * factor));
  const double u = unit(hash(cfg_.seed, dev_, tag_chan_slack, c));
  double slack = 0.01 + 0.04 * u;
  if (ch.cls == channel_class::tray)
    slack = 0.05 + 0.45 * u;
  else if (ch.cls == channel_class::toner || ch.cls == channel_class::waste)
    slack = 0.02 + 0.08 * u;
  p.l =
      p.y + std::max<std::int64_t>(1, static_cast<std::int64_t>(static_cast<double>(p.y) * slack));
  p.w = std::max<std::int64_t>(
      1, std::llround(static_cast<double>(ch.weight) * (ch.colour ? prof_.colour_share : 1.0)));
  p.off = static_cast<std::int64_t>(unit(hash(cfg_.seed, dev_, tag_chan_offset, c)) *
                                    static_cast<double>(p.l));
  return p;
}

channel_state device_model::chan_state_at_pages(std::size_t c, std::int64_t pages) const {
  const chan_params& p = chan(c);
  const std::int64_t u = p.w * pages + p.off;
  const std::int64_t x = u % p.l;
  channel_state st;
  st.cycles = u / p.l;
  if (x >= p.y) {
    st.level = 0;
    st.phase = channel_phase::empty;
  } else {
    const auto cap = static_cast<std::uint64_t>(tpl_->channels()[c].capacity);
    const auto left = static_cast<std::uint64_t>(p.y - x);
    const auto y = static_cast<std::uint64_t>(p.y);
    if (left >> 32 == 0)  // capacity < 2^31: the product fits 64 bits
      st.level = static_cast<std::int32_t>((cap * left + y - 1) / y);
    else
      st.level = static_cast<std::int32_t>((static_cast<i128>(cap) * left + y - 1) / y);
    st.phase = x >= p.y - p.y / 10 ? channel_phase::low : channel_phase::ok;
  }
  return st;
}

channel_state device_model::chan_state(std::size_t c, std::int64_t t, std::int64_t pages) const {
  if (t != t_) return chan_state_at_pages(c, pages);
  if (!chan_now_ready_[c]) {
    chan_now_[c] = chan_state_at_pages(c, pages);
    chan_now_ready_[c] = true;
  }
  return chan_now_[c];
}

channel_state device_model::channel(std::size_t c) {
  return chan_state(c, t_, pages());
}

// ---- alerts ----------------------------------------------------------------------------------

bool device_model::slot_active_at(std::size_t slot, std::int64_t t, std::int64_t pages) const {
  if (slot < 2) {  // jam, cover: memoized at time()
    if (t != t_) return episode_active(ep(slot == 0 ? jam : cover), t);
    if (episode_now_[slot] < 0)
      episode_now_[slot] = episode_active(ep(slot == 0 ? jam : cover), t) ? 1 : 0;
    return episode_now_[slot] == 1;
  }
  const auto ph = chan_state((slot - 2) / 2, t, pages).phase;
  return slot % 2 == 0 ? ph == channel_phase::low : ph == channel_phase::empty;
}

std::int64_t device_model::slot_count_at(std::size_t slot, std::int64_t t,
                                         std::int64_t pages) const {
  if (slot < 2) {
    const periodic& p = ep(slot == 0 ? jam : cover);
    return p.enabled ? ep_last(p, t) : 0;
  }
  const chan_params& p = chan((slot - 2) / 2);
  const std::int64_t theta = slot % 2 == 0 ? p.y - p.y / 10 : p.y;
  return floor_div(p.w * pages + p.off - theta, p.l);
}

std::int64_t device_model::slot_start(std::size_t slot, std::int64_t t, std::int64_t pages) const {
  if (slot < 2) {
    const periodic& p = ep(slot == 0 ? jam : cover);
    return ep_start(p, ep_last(p, t));
  }
  const chan_params& p = chan((slot - 2) / 2);
  const std::int64_t theta = slot % 2 == 0 ? p.y - p.y / 10 : p.y;
  const std::int64_t k = floor_div(p.w * pages + p.off - theta, p.l);
  const std::int64_t crossing = k * p.l + theta;
  const std::int64_t first_page = ceil_div(crossing - p.off, p.w);
  return first_page <= 0 ? install_ : first_time_with_pages(first_page);
}

const std::vector<alert_state>& device_model::alerts() {
  if (alerts_done_) return alerts_;
  alerts_done_ = true;
  if (!prof_.living || !tpl_->has_alert_table()) return alerts_;
  const std::size_t n = slot_count();
  const std::int64_t b = board_time(), pb = pages_at(b), p = pages(), boot = boot_time();
  std::vector<bool>& active_at_board = active_at_board_;
  active_at_board.assign(n, false);
  std::uint32_t m = 0;
  for (std::size_t j = 0; j < n; ++j)
    if ((active_at_board[j] = slot_active_at(j, b, pb))) ++m;
  for (std::size_t slot = 0; slot < n; ++slot) {
    if (!slot_active_at(slot, t_, p)) continue;
    alert_state a;
    a.kind = static_cast<std::uint16_t>(slot);
    const std::int64_t s = slot_start(slot, t_, p);
    if (s <= b) {
      a.index = 1;
      for (std::size_t j = 0; j < slot; ++j) a.index += active_at_board[j] ? 1 : 0;
      a.added_s = b;
    } else {
      const std::int64_t p1 = pages_at(s - 1), p2 = pages_at(s);
      std::int64_t idx = 1 + m;
      for (std::size_t j = 0; j < n; ++j) {
        const std::int64_t before = slot_count_at(j, s - 1, p1);
        idx += before - slot_count_at(j, b, pb);
        if (j < slot) idx += slot_count_at(j, s, p2) - before;
      }
      a.index = static_cast<std::uint32_t>(idx);
      a.added_s = s;
    }
    a.time_ticks =
        a.added_s >= boot
            ? static_cast<std::uint32_t>(static_cast<std::uint64_t>(a.added_s - boot) * 100u)
            : 0;
    alerts_.push_back(a);
  }
  std::sort(alerts_.begin(), alerts_.end(), [](auto& x, auto& y) { return x.index < y.index; });
  return alerts_;
}

std::uint16_t device_model::conditions() {
  if (conditions_) return *conditions_;
  std::uint16_t bits = 0;
  auto set = [&](condition_bit b) { bits = static_cast<std::uint16_t>(bits | (1u << b)); };
  if (prof_.living) {
    if (jam_active()) set(jammed);
    if (cover_open()) set(door_open);
    std::size_t trays = 0, empty_trays = 0;
    for (std::size_t c = 0; c < tpl_->channels().size(); ++c) {
      const auto cls = tpl_->channels()[c].cls;
      const auto ph = channel(c).phase;
      if (cls == channel_class::tray) {
        ++trays;
        if (ph == channel_phase::low) set(low_paper);
        if (ph == channel_phase::empty) set(input_tray_empty), ++empty_trays;
        continue;
      }
      if (ph == channel_phase::ok) continue;
      switch (cls) {
        case channel_class::toner:
          set(ph == channel_phase::low ? low_toner : no_toner);
          break;
        case channel_class::waste:
          if (ph == channel_phase::empty) set(service_requested);
          break;
        case channel_class::drum:
        case channel_class::developer:
        case channel_class::service:
          if (ph == channel_phase::empty) set(overdue_prevent_maint);
          break;
        default:
          break;
      }
    }
    if (trays > 0 && empty_trays == trays) set(no_paper);
  }
  conditions_ = bits;
  return bits;
}

bool device_model::down() {
  if (down_) return *down_;
  bool d = false;
  if (prof_.living) {
    d = jam_active() || cover_open();
    for (std::size_t c = 0; c < tpl_->channels().size() && !d; ++c) {
      const auto cls = tpl_->channels()[c].cls;
      d = (cls == channel_class::toner || cls == channel_class::waste) &&
          channel(c).phase == channel_phase::empty;
    }
  }
  down_ = d;
  return d;
}

bool device_model::any_alert() {
  if (!prof_.living || !tpl_->has_alert_table()) return false;
  if (alerts_done_) return !alerts_.empty();
  const std::int64_t p = pages();
  for (std::size_t slot = 0; slot < slot_count(); ++slot)
    if (slot_active_at(slot, t_, p)) return true;
  return false;
}

std::int32_t device_model::hr_device_status() {
  if (down()) return 5;                            // down
  if (conditions() != 0 || any_alert()) return 3;  // warning
  return 2;                                        // running
}

std::int32_t device_model::hr_printer_status() {
  if (down()) return 1;                        // other
  return pages() > pages_at(t_ - 60) ? 4 : 3;  // printing : idle
}

// ---- identity --------------------------------------------------------------------------------

std::string device_model::serial() const {
  const std::string& base = tpl_->serial();
  if (base.empty()) return {};
  auto alnum = [&](std::size_t i) {
    return std::isalnum(static_cast<unsigned char>(base[i])) != 0;
  };
  auto digit = [&](std::size_t i) {
    return std::isdigit(static_cast<unsigned char>(base[i])) != 0;
  };
  // How many letters and digits, from the right, are needed to number the whole fleet.
  std::uint64_t capacity = 1;
  std::size_t m = 0;
  for (std::size_t i = base.size(); i-- > 0 && capacity < cfg_.devices;)
    if (alnum(i)) capacity *= digit(i) ? 10 : 26, ++m;
  if (capacity < cfg_.devices) return base + "-" + std::to_string(dev_);
  std::string s = base;
  // A bijection of the device index onto [0, capacity): unique serials within the fleet that
  // do not look sequential. 24871 = 7*11*17*19 shares no factor with 10^a * 26^b.
  std::uint64_t v =
      (static_cast<std::uint64_t>(dev_) * 24871u + hash(cfg_.seed, tag_serial) % capacity) %
      capacity;
  std::size_t j = 0;  // places from the right
  for (std::size_t i = base.size(); i-- > 0;) {
    if (!alnum(i)) continue;
    const std::uint64_t radix = digit(i) ? 10 : 26;
    std::uint64_t r;
    if (j < m) {
      r = v % radix;
      v /= radix;
    } else {
      r = hash(cfg_.seed, tag_serial, j) % radix;
    }
    ++j;
    if (digit(i))
      s[i] = static_cast<char>('0' + r);
    else
      s[i] = static_cast<char>((std::isupper(static_cast<unsigned char>(base[i])) ? 'A' : 'a') + r);
  }
  return s;
}

std::string device_model::firmware() {
  return bump_version(tpl_->firmware(), firmware_updates());
}

std::string device_model::sys_name() const {
  char buf[24];
  std::snprintf(buf, sizeof buf, "prn-%06u", static_cast<unsigned>(dev_));
  return buf;
}

std::array<std::uint8_t, 6> device_model::mac() const {
  std::array<std::uint8_t, 6> m = tpl_->mac();
  const std::uint32_t low =
      static_cast<std::uint32_t>((dev_ + hash(cfg_.seed, tag_mac)) & 0xFFFFFF);
  m[3] = static_cast<std::uint8_t>(low >> 16);
  m[4] = static_cast<std::uint8_t>(low >> 8);
  m[5] = static_cast<std::uint8_t>(low);
  return m;
}

bool device_model::asleep(std::uint32_t period_s, std::uint32_t sleep_s) const {
  if (period_s == 0 || sleep_s == 0) return false;
  const auto phase = static_cast<std::int64_t>(hash(cfg_.seed, dev_, tag_sleep) % period_s);
  return floor_div(t_ + phase, period_s) * period_s + sleep_s > t_ + phase;
}

std::string bump_version(std::string_view v, std::uint32_t n) {
  if (n == 0) return std::string(v);
  std::size_t end = v.size();
  while (end > 0 && !std::isdigit(static_cast<unsigned char>(v[end - 1]))) --end;
  if (end == 0) return std::string(v) + "." + std::to_string(n);
  std::size_t begin = end;
  while (begin > 0 && std::isdigit(static_cast<unsigned char>(v[begin - 1]))) --begin;
  if (end - begin > 9) begin = end - 9;  // stays within 64 bits
  const std::uint64_t x = std::stoull(std::string(v.substr(begin, end - begin))) + n;
  std::string digits = std::to_string(x);
  if (digits.size() < end - begin) digits.insert(0, end - begin - digits.size(), '0');
  return std::string(v.substr(0, begin)) + digits + std::string(v.substr(end));
}

}  // namespace fleetpoll::fleetsim::detail
