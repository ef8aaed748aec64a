// fleetsim internal: the living-device model.
//
// A device's state is a pure function of (seed, device index, simulated second): nothing is
// stored per device and nothing is stepped. Pages follow an office clock (weekday working hours
// weigh 1, other hours a small share); supplies and trays are "channels" that drain with pages
// in integer usage units and are replaced when a cycle wraps; jams, open covers, reboots,
// firmware updates and board swaps are periodic episodes with seeded phases and durations.
// Alert indexes are counted exactly: the number of alert starts since the last board swap.
// docs/fleetsim.md ("The model") states every rule and constant.
// Thread safety: a device_model is one thread's scratch object; everything it reads is const.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "device_template.hpp"

namespace fleetpoll::fleetsim::detail {

struct profile_params {
  std::string_view name;
  bool living = false;
  double pages_per_day = 0;       // fleet mean per calendar day (per device: x0.3 .. x3.3)
  double colour_share = 0;        // share of pages that use colour supplies
  std::int64_t work_start_s = 0;  // weekday working hours, local time of the device
  std::int64_t work_end_s = 0;
  double off_hours_weight = 0;  // printing weight outside working hours and at weekends
  double jam_days = 0, cover_days = 0, reboot_days = 0, firmware_days = 0, board_swap_days = 0;
  double board_swap_share = 0;  // share of devices that ever get a new board
  std::int64_t jam_min_s = 0, jam_max_s = 0, cover_min_s = 0, cover_max_s = 0;
};

std::span<const profile_params> profiles();
const profile_params* find_profile(std::string_view name);

// Everything the model needs that is fleet-wide.
struct model_config {
  std::uint64_t seed = 0;
  const profile_params* profile = nullptr;
  std::uint32_t devices = 1;  // fleet size (serial numbers are unique within it)
};

// 2026-01-01T00:00:00Z: devices were installed 0.5 to 6 years before it.
inline constexpr std::int64_t fleet_reference_s = 1767225600;

inline std::uint64_t mix64(std::uint64_t x) noexcept {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}
// Two finalizer rounds over the inputs spread by odd multipliers: cheap (it runs a few dozen
// times per answer) and well mixed for simulation (not for cryptography).
inline std::uint64_t hash(std::uint64_t seed, std::uint64_t a, std::uint64_t b = 0,
                          std::uint64_t c = 0, std::uint64_t d = 0) noexcept {
  return mix64(mix64(seed ^ (a * 0x9e3779b97f4a7c15ull)) ^ (b * 0xc2b2ae3d27d4eb4full) ^
               (c * 0x165667b19e3779f9ull) ^ (d * 0xd6e8feb86659fd93ull));
}
inline double unit(std::uint64_t h) noexcept {
  return static_cast<double>(h >> 11) * 0x1.0p-53;
}

enum class channel_phase : std::uint8_t { ok, low, empty };

struct channel_state {
  std::int32_t level = 0;
  channel_phase phase = channel_phase::ok;
  std::int64_t cycles = 0;  // replacements (refills) since install
};

struct alert_state {
  std::uint32_t index = 0;   // prtAlertIndex
  std::uint16_t kind = 0;    // device_template::alert_kinds()
  std::int64_t added_s = 0;  // when it entered the table (simulated seconds)
  std::uint32_t time_ticks = 0;
};

// hrPrinterDetectedErrorState bits (RFC 2790 / RFC 3805), bit 0 = MSB of the first octet.
enum condition_bit : std::uint16_t {
  low_paper = 0,
  no_paper = 1,
  low_toner = 2,
  no_toner = 3,
  door_open = 4,
  jammed = 5,
  offline = 6,
  service_requested = 7,
  input_tray_missing = 8,
  output_tray_missing = 9,
  marker_supply_missing = 10,
  output_near_full = 11,
  output_full = 12,
  input_tray_empty = 13,
  overdue_prevent_maint = 14,
};

class device_model {
 public:
  explicit device_model(const model_config& cfg);
  device_model(const model_config& cfg, const device_template& tpl, std::uint32_t device,
               std::int64_t t_s)
      : device_model(cfg) {
    reset(tpl, device, t_s);
  }
  // Points the model at another device / moment; keeps its buffers (no allocation once warm).
  void reset(const device_template& tpl, std::uint32_t device, std::int64_t t_s);

  std::int64_t time() const noexcept { return t_; }
  std::int64_t install_time() const noexcept { return install_; }
  double pages_per_day() const;
  std::int64_t pages_at(std::int64_t t) const;  // printed between install and t
  std::int64_t pages();                         // at time()
  std::int64_t board_time();                    // last board swap, or install
  std::int64_t boot_time();
  std::uint32_t board_swaps();
  std::uint32_t firmware_updates();
  std::uint32_t reboots();

  std::uint64_t life_count();      // pages since the board (prtMarkerLifeCount)
  std::uint64_t power_on_count();  // pages since boot
  std::uint32_t uptime_ticks();

  channel_state channel(std::size_t c);
  bool jam_active() { return slot_active_at(0, t_, 0); }
  bool cover_open() { return slot_active_at(1, t_, 0); }

  std::uint16_t conditions();  // bit i set = condition_bit i
  bool down();
  bool any_alert();  // the alert table is not empty
  std::int32_t hr_device_status();
  std::int32_t hr_printer_status();
  // The alert table, sorted by index.
  const std::vector<alert_state>& alerts();

  // Identity.
  std::string serial() const;  // empty when the template has none
  std::string firmware();      // empty when the template has none
  std::string sys_name() const;
  std::array<std::uint8_t, 6> mac() const;

  // Fault "sleepy": asleep in a window of sleep_s every period_s (simulated seconds).
  bool asleep(std::uint32_t period_s, std::uint32_t sleep_s) const;

 private:
  struct periodic {
    std::uint64_t tag = 0;
    std::int64_t period = 0, offset = 0, dmin = 0, dmax = 0;
    bool enabled = false;
  };
  struct chan_params {
    std::int64_t y = 0, l = 0, w = 1, off = 0;
  };

  enum episode_kind : std::uint8_t {
    jam,
    cover,
    reboot,
    firmware_update,
    board_swap,
    episode_kinds
  };
  // The periodic episodes of one kind, computed on first use within a request.
  const periodic& ep(episode_kind k) const;
  periodic make_periodic(std::uint64_t tag, double days, std::int64_t dmin,
                         std::int64_t dmax) const;
  void ensure_clock() const;  // rate_ and clock_install_, on first use within a request
  std::int64_t ep_start(const periodic& p, std::int64_t n) const;
  std::int64_t ep_last(const periodic& p, std::int64_t t) const;  // last episode started <= t
  bool episode_active(const periodic& p, std::int64_t t) const;
  std::int64_t last_start_after_install(const periodic& p, std::int64_t t) const;
  std::uint32_t starts_since_install(const periodic& p, std::int64_t t) const;

  const chan_params& chan(std::size_t c) const;
  chan_params make_chan(std::size_t c) const;
  channel_state chan_state_at_pages(std::size_t c, std::int64_t pages) const;
  // The state at (t, pages); memoized when t is time() (pages is then pages()).
  channel_state chan_state(std::size_t c, std::int64_t t, std::int64_t pages) const;
  std::int64_t first_time_with_pages(std::int64_t p) const;

  // Alert slots (kinds): 0 jam, 1 cover, 2 + 2c low / 3 + 2c empty of channel c.
  std::size_t slot_count() const noexcept { return 2 + 2 * tpl_->channels().size(); }
  bool slot_active_at(std::size_t slot, std::int64_t t, std::int64_t pages) const;
  std::int64_t slot_count_at(std::size_t slot, std::int64_t t, std::int64_t pages) const;
  std::int64_t slot_start(std::size_t slot, std::int64_t t, std::int64_t pages) const;

  double work_clock(std::int64_t local_s) const;  // cumulative printing weight (seconds)
  double work_clock_inverse(double f) const;

  const model_config& cfg_;
  const profile_params& prof_;
  const device_template* tpl_ = nullptr;
  std::uint32_t dev_ = 0;
  std::int64_t t_ = 0;
  std::int64_t install_ = 0, tz_ = 0;
  double day_weight_ = 1, week_weight_ = 1, rate_norm_ = 1;  // fleet-wide, set once
  mutable double rate_ = 0, clock_install_ = 0;
  mutable bool clock_ready_ = false;
  mutable std::array<periodic, episode_kinds> eps_{};
  mutable std::uint8_t eps_ready_ = 0;  // bit k: eps_[k] is computed

  std::optional<std::int64_t> pages_, board_at_, boot_at_;
  std::optional<std::uint16_t> conditions_;
  std::optional<bool> down_;
  mutable std::array<std::int8_t, 2> episode_now_{};  // jam, cover at time(): -1 unknown
  bool alerts_done_ = false;
  std::vector<alert_state> alerts_;
  mutable std::vector<chan_params> chans_;
  mutable std::vector<bool> chan_ready_;
  mutable std::vector<channel_state> chan_now_;  // channel(c) at time(), once computed
  mutable std::vector<bool> chan_now_ready_;
  std::vector<bool> active_at_board_;
};

// "1.02" -> "1.03" for n = 1 (the last run of digits grows by n, keeping its width); text
// without digits gets ".n" appended; n = 0 leaves it unchanged.
std::string bump_version(std::string_view v, std::uint32_t n);

}  // namespace fleetpoll::fleetsim::detail
