// fleetpoll::storage::testing — an office printer simulated minute by minute, with its ground
// truth. Drives the storage tests, the crash driver and the benchmark until fleetsim (bench/,
// another branch) provides the same; the profile follows the shape agreed for fleetsim's office
// profile: pages per business day with noise, level proportional to pages.
//
// What it models: business hours (weekdays 08:00-18:00 UTC) with Poisson page arrivals and a
// little weekend printing; colour share; toner drained per page with a per-cartridge yield, and
// replaced some hours after running out (the cover is open meanwhile); occasional reseats (the
// same cartridge shaken and put back, +5 points); a waste bottle that fills; a drum counting
// impressions down; paper trays emptied and refilled; jams; "almost empty" / "empty" / "tray
// empty" alerts while those hold; devices switched off at night and at weekends (a share of the
// fleet), whose alert table is rebuilt and power-on counter reset at power-on; counter resets
// (board swaps) at a configurable rate. Every replacement, reseat, alert raised or cleared,
// counter reset and power change is logged as truth.
// Thread safety: an office_printer is used by one thread at a time.
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "fleetpoll/storage/testing/snapshot_builder.hpp"

namespace fleetpoll::storage::testing {

// 2024-01-01T00:00:00Z, a Monday.
inline constexpr std::uint64_t sim_epoch_ms = 1'704'067'200'000ull;
inline constexpr std::uint64_t minute_ms = 60'000;
inline constexpr std::uint64_t day_ms = 86'400'000;

struct office_profile {
  double pages_per_day = 250;   // mean per weekday; each device draws its own (x0.5 .. x2)
  double colour_share = 0.25;   // colour pages / pages (colour MFPs)
  double weekend_share = 0.03;  // weekend volume relative to a weekday
  double jam_per_page = 1.0 / 4000;
  double power_off_share = 0.1;  // devices off outside business hours
  double reseat_per_day = 1.0 / 60;
  double counter_reset_per_day = 0;
  double mono_share = 0.3;                         // share of mono lasers in the fleet
  double black_yield = 9000, colour_yield = 6000;  // pages per cartridge (+-10 % per cartridge)
};

struct truth_event {
  enum kind_t {
    replaced,
    reseated,
    alert_raised,
    alert_cleared,
    counter_reset,
    power_off,
    power_on
  };
  std::uint64_t at_ms = 0;
  kind_t kind = replaced;
  std::uint32_t index = 0;  // supply index, alert group index, marker index
  int code = 0;             // alert code
};

class office_printer {
 public:
  office_printer(int n, std::uint64_t start_ms, std::uint64_t seed, const office_profile& profile);

  // Simulates up to t_ms (minute steps). Monotonic.
  void advance_to(std::uint64_t t_ms);
  std::uint64_t now_ms() const noexcept { return now_; }
  bool powered() const noexcept { return powered_; }
  // The device as a poll would see it now.
  const device_spec& spec() {
    update_spec();
    return spec_;
  }
  const std::vector<truth_event>& truth() const noexcept { return truth_; }
  const std::string& address() const noexcept { return address_; }
  int number() const noexcept { return n_; }
  bool mono() const noexcept { return mono_; }
  std::uint64_t pages() const noexcept { return life_; }
  // Fraction left of a toner (supply index), 0..1.
  double toner_left(std::uint32_t index) const;

 private:
  struct toner {
    std::uint32_t index;
    double left = 1.0;
    double yield = 0;
    bool colour = false;
    std::uint64_t empty_since = 0;  // 0: not empty
    std::uint64_t replace_at = 0;
  };
  void step(std::uint64_t t);
  void print(std::uint64_t t, std::uint64_t pages);
  void replace_toner(toner& k, std::uint64_t t);
  void update_spec();
  void set_alert(bool on, int code, int severity, int group, int group_index, const char* descr,
                 std::uint64_t t);
  bool business(std::uint64_t t) const;
  double new_yield(bool colour);

  int n_;
  bool mono_;
  std::string address_;
  office_profile p_;
  std::mt19937_64 rng_;
  double pages_per_day_;
  bool powers_off_;
  bool powered_ = true;
  std::uint64_t now_;
  std::vector<toner> toners_;
  double waste_used_ = 0, waste_capacity_ = 40000;
  std::uint64_t waste_replace_at_ = 0;
  std::int64_t drum_left_ = 0;
  std::int64_t drum_capacity_ = 0;
  int tray_level_[2] = {500, 500};
  int tray_capacity_ = 500;
  std::uint64_t tray_refill_at_[2] = {0, 0};
  std::uint64_t jam_until_ = 0;
  std::uint64_t cover_until_ = 0;
  std::uint64_t life_ = 0, power_on_ = 0;
  std::uint64_t booted_ms_;
  bool printed_last_minute_ = false;
  std::uint32_t next_alert_index_ = 1;
  device_spec spec_;
  std::vector<truth_event> truth_;
};

// Which data classes are due for device n between two poll moments (cadences staggered per
// device, as a scheduler spreads them). Bits as poll_record::classes.
struct cadence {
  std::uint64_t status_ms = 3 * minute_ms;    // status and alerts
  std::uint64_t supplies_ms = 5 * minute_ms;  // supplies and trays
  std::uint64_t counters_ms = 15 * minute_ms;
  std::uint64_t identity_ms = day_ms;
};
std::uint8_t due_classes(const cadence& c, int n, std::uint64_t prev_ms, std::uint64_t t_ms);

// A fleet address for device n: "127.1.X.Y:1161" (a key, never contacted).
std::string sim_address(int n);

}  // namespace fleetpoll::storage::testing
