// Living devices: state is a pure function of (seed, device, simulated time); time makes levels,
// counters and alerts change; the ground truth is exactly what the devices serve over UDP.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <map>
#include <set>
#include <sstream>

#include "fleetpoll/codecs/normalize.hpp"
#include "support.hpp"

namespace {

using namespace fleetsim_test;
using codecs::pdu_type;

constexpr double day = 86400;

std::vector<std::filesystem::path> living_templates() {
  std::vector<std::filesystem::path> t = {test_fixtures() / "synthetic_color_mfp.snmprec",
                                          test_fixtures() / "synthetic_mono_toner_empty.snmprec",
                                          test_fixtures() / "synthetic_alert_edges.snmprec"};
  for (const char* real :
       {"brother", "sharp", "jetdirect_m880", "ricoh_mpc2503", "epson", "konica", "canonprinter_tm",
        "samsungprinter_m4080fx", "okilan_9450g", "fujifilmprinter_c7580", "xerox"})
    if (std::filesystem::exists(shared_fixtures() / (std::string(real) + ".snmprec")))
      t.push_back(shared_fixtures() / (std::string(real) + ".snmprec"));
  return t;
}

// The whole view of one device, walked with GETBULK through the codec.
codecs::mib_view walk_all(udp_client& c, std::uint32_t dev, std::uint16_t port) {
  codecs::mib_view v;
  codecs::oid cur = O("1.3");
  for (int rid = 1; rid < 5000; ++rid) {
    auto r = ask(c, dev, port,
                 encode(pdu_type::get_bulk, {cur}, rid, codecs::snmp_version::v2c, "public", 30));
    if (!r) {
      ADD_FAILURE() << "no reply";
      break;
    }
    bool end = r->varbinds.empty();
    for (const auto& vb : r->varbinds) {
      if (vb.val.type == codecs::value_type::end_of_mib_view) {
        end = true;
        break;
      }
      cur = vb.name;
      v.add(vb);
    }
    if (end) break;
  }
  v.seal();
  return v;
}

std::string str(const flatbuffers::String* s) {
  return s ? s->str() : std::string();
}
template <typename T>
std::int64_t num(const flatbuffers::Optional<T>& o) {
  return o ? static_cast<std::int64_t>(*o) : -99;
}

TEST(FleetsimLiving, GroundTruthIsWhatTheDevicesServe) {
  fs::options o;
  o.templates = living_templates();
  o.devices = static_cast<std::uint32_t>(o.templates.size() * 2);
  o.acceleration = 0;
  o.start_time = 1767603600 + 41 * 86400 + 3 * 3600;  // a Thursday noon, some weeks in
  auto f = start_fleet(o);
  ASSERT_TRUE(f);
  udp_client c;
  std::size_t alerts_seen = 0, live_supplies = 0;
  for (std::uint32_t d = 0; d < f->size(); ++d) {
    SCOPED_TRACE(f->template_of(d) + " device " + std::to_string(d));
    const auto view = walk_all(c, ip(f->address_of(d)), f->port());
    const auto t = f->truth(d);
    const auto buf = codecs::normalize(view);
    const auto* s = codecs::snapshot_of(buf);
    const auto* id = s->identity();
    ASSERT_TRUE(id);
    EXPECT_EQ(str(id->sys_name()), t.sys_name);
    if (!t.serial.empty()) {
      EXPECT_EQ(str(id->serial()), t.serial);
    }
    if (!t.firmware.empty()) {
      EXPECT_EQ(str(id->firmware()), t.firmware);
    }
    if (!t.mac.empty()) {
      EXPECT_EQ(str(id->mac()), t.mac);
    }
    if (t.sys_uptime_ticks) {
      EXPECT_EQ(num(id->sys_uptime_ticks()), *t.sys_uptime_ticks);
    }
    EXPECT_EQ(str(id->sys_descr()), t.sys_descr);
    if (const auto* st = s->status()) {
      if (t.hr_device_status) {
        EXPECT_EQ(num(st->hr_device_status()), *t.hr_device_status);
      }
      if (t.hr_printer_status) {
        EXPECT_EQ(num(st->hr_printer_status()), *t.hr_printer_status);
      }
      if (!t.detected_error_state.empty()) {
        ASSERT_TRUE(st->detected_error_state());
        std::string hex;
        for (auto b : *st->detected_error_state()) {
          char x[3];
          std::snprintf(x, sizeof x, "%02x", b);
          hex += x;
        }
        EXPECT_EQ(hex, t.detected_error_state);
      }
    }
    std::map<std::pair<std::uint32_t, std::uint32_t>, const fleetpoll::schema::Supply*> supplies;
    if (s->supplies())
      for (const auto* x : *s->supplies()) supplies[{x->hr_device_index(), x->index()}] = x;
    for (const auto& x : t.supplies) {
      auto it = supplies.find({x.hr_device_index, x.index});
      ASSERT_NE(it, supplies.end()) << "supply " << x.index;
      EXPECT_EQ(num(it->second->level()), x.level) << "supply " << x.index;
      live_supplies += x.replacements > 0 ? 1 : 0;
    }
    std::map<std::pair<std::uint32_t, std::uint32_t>, const fleetpoll::schema::InputTray*> trays;
    if (s->trays())
      for (const auto* x : *s->trays()) trays[{x->hr_device_index(), x->index()}] = x;
    for (const auto& x : t.trays) {
      auto it = trays.find({x.hr_device_index, x.index});
      ASSERT_NE(it, trays.end());
      EXPECT_EQ(num(it->second->current_level()), x.current_level);
    }
    std::map<std::uint32_t, const fleetpoll::schema::Marker*> markers;
    if (s->markers())
      for (const auto* x : *s->markers()) markers[x->index()] = x;
    for (const auto& x : t.markers) {
      if (x.life_count) {
        EXPECT_EQ(num(markers.at(x.index)->life_count()), static_cast<std::int64_t>(*x.life_count));
      }
    }
    const std::size_t served_alerts = s->alerts() ? s->alerts()->size() : 0;
    ASSERT_EQ(served_alerts, t.alerts.size());
    for (std::size_t i = 0; i < served_alerts; ++i) {
      const auto* a = s->alerts()->Get(static_cast<flatbuffers::uoffset_t>(i));
      EXPECT_EQ(a->index(), t.alerts[i].index);
      EXPECT_EQ(num(a->code()), t.alerts[i].code);
      EXPECT_EQ(num(a->severity()), t.alerts[i].severity);
      EXPECT_EQ(num(a->group_index()), t.alerts[i].group_index);
      EXPECT_EQ(str(a->description()), codecs::display_text(t.alerts[i].description));
      EXPECT_EQ(num(a->time_ticks()), t.alerts[i].time_ticks);
    }
    alerts_seen += served_alerts;
  }
  EXPECT_GT(alerts_seen, 0u);
  EXPECT_GT(live_supplies, 0u);
}

TEST(FleetsimLiving, SameSeedAndMomentGiveTheSameStateAnotherSeedAnother) {
  fs::options o;
  o.devices = 200;
  std::string why;
  auto a = fs::fleet::create(o, why);
  auto b = fs::fleet::create(o, why);
  o.seed = 99;
  auto c = fs::fleet::create(o, why);
  ASSERT_TRUE(a && b && c);
  const double t = 1767603600 + 123456.0;
  std::ostringstream sa, sb, sc;
  ASSERT_TRUE(a->write_ground_truth(sa, t));
  ASSERT_TRUE(b->write_ground_truth(sb, t));
  ASSERT_TRUE(c->write_ground_truth(sc, t));
  EXPECT_EQ(sa.str(), sb.str());
  EXPECT_NE(sa.str(), sc.str());
  EXPECT_EQ(a->truth_json(17, t), b->truth_json(17, t));
  EXPECT_NE(a->truth_json(17, t), a->truth_json(17, t + 7 * day));
}

TEST(FleetsimLiving, TimeDrainsReplacesCountsAndRaisesAndClearsAlerts) {
  fs::options o;
  o.devices = 60;  // 20 colour MFPs (every third device)
  std::string why;
  auto f = fs::fleet::create(o, why);
  ASSERT_TRUE(f) << why;
  const double t0 = static_cast<double>(o.start_time);
  std::size_t replacements = 0, level_jumps = 0, board_swaps = 0, firmware_changes = 0, cleared = 0;
  for (std::uint32_t d = 0; d < f->size(); d += 3) {
    SCOPED_TRACE("device " + std::to_string(d));
    auto prev = f->truth(d, t0);
    std::map<std::uint32_t, fs::alert_truth> alerts;  // every alert seen, by index, this board
    for (const auto& a : prev.alerts) alerts[a.index] = a;
    for (int step = 1; step <= 365; ++step) {
      const auto cur = f->truth(d, t0 + step * day);
      EXPECT_GE(cur.pages, prev.pages);
      if (cur.board_swaps == prev.board_swaps) {
        ASSERT_FALSE(cur.markers.empty());
        EXPECT_GE(*cur.markers[0].life_count, *prev.markers[0].life_count);
      } else {
        ++board_swaps;  // a new board: counters restart, alert indexes restart
        EXPECT_LT(*cur.markers[0].life_count, *prev.markers[0].life_count);
        alerts.clear();
      }
      if (cur.firmware != prev.firmware) {
        ++firmware_changes;
        EXPECT_EQ(cur.firmware_updates, prev.firmware_updates + 1);
        EXPECT_NE(cur.sys_descr, prev.sys_descr);  // the firmware shows in sysDescr too
      }
      for (std::size_t s = 0; s < cur.supplies.size(); ++s) {
        const auto& a = prev.supplies[s];
        const auto& b = cur.supplies[s];
        if (b.replacements > a.replacements) {
          ++replacements;
          if (b.level > a.level) ++level_jumps;
        } else if (b.replacements == a.replacements) {
          EXPECT_LE(b.level, a.level) << "supply " << b.index << " rose without a replacement";
        }
      }
      for (const auto& a : prev.alerts)
        if (std::none_of(cur.alerts.begin(), cur.alerts.end(),
                         [&](auto& x) { return x.index == a.index; }))
          ++cleared;
      for (const auto& a : cur.alerts) {
        auto [it, fresh] = alerts.emplace(a.index, a);
        if (!fresh) {
          EXPECT_EQ(it->second.code, a.code);  // an index never changes meaning
          EXPECT_EQ(it->second.added_at, a.added_at);
        }
      }
      prev = cur;
    }
    // Rising indexes: in the order alerts were added, their indexes increase.
    std::vector<fs::alert_truth> by_time;
    for (auto& [i, a] : alerts) by_time.push_back(a);
    std::sort(by_time.begin(), by_time.end(),
              [](auto& x, auto& y) { return x.added_at < y.added_at; });
    for (std::size_t i = 1; i < by_time.size(); ++i)
      if (by_time[i].added_at > by_time[i - 1].added_at) {
        EXPECT_GT(by_time[i].index, by_time[i - 1].index);
      }
  }
  EXPECT_GT(replacements, 20u);
  EXPECT_GT(level_jumps, 20u);
  EXPECT_GT(firmware_changes, 5u);
  EXPECT_GT(cleared, 20u);
  EXPECT_GT(board_swaps, 0u);
}

TEST(FleetsimLiving, WithinAWeekJamsCoversAndTraysComeAndGo) {
  fs::options o;
  o.devices = 30;
  o.profile = "workgroup";
  std::string why;
  auto f = fs::fleet::create(o, why);
  ASSERT_TRUE(f) << why;
  std::set<int> codes;
  std::size_t refills = 0, downs = 0;
  for (std::uint32_t d = 0; d < f->size(); d += 3) {
    auto prev = f->truth(d, static_cast<double>(o.start_time));
    for (int m = 1; m <= 14 * 24 * 4; ++m) {  // two weeks, every 15 minutes
      const auto cur = f->truth(d, static_cast<double>(o.start_time) + m * 900.0);
      for (const auto& a : cur.alerts) codes.insert(a.code);
      for (std::size_t i = 0; i < cur.trays.size(); ++i)
        refills += cur.trays[i].refills > prev.trays[i].refills;
      downs += cur.hr_device_status == 5;
      prev = cur;
    }
  }
  EXPECT_TRUE(codes.count(8)) << "no paper jam";
  EXPECT_TRUE(codes.count(3)) << "no cover open";
  EXPECT_TRUE(codes.count(808) || codes.count(807)) << "no tray alert";
  EXPECT_GT(refills, 5u);
  EXPECT_GT(downs, 0u);
}

TEST(FleetsimLiving, ChangesAreServedOverUdp) {
  fs::options o;
  o.devices = 3;
  o.acceleration = 0;
  auto f = start_fleet(o);
  ASSERT_TRUE(f);
  udp_client c;
  const auto names = std::vector<codecs::oid>{
      O("1.3.6.1.2.1.43.10.2.1.4.1.1"), O("1.3.6.1.2.1.43.11.1.1.9.1.1"), O("1.3.6.1.2.1.1.3.0")};
  std::vector<std::vector<codecs::varbind>> seen;
  for (double offset : {0.0, 9 * day, 30 * day}) {
    const double t = static_cast<double>(o.start_time) + offset;
    f->set_time(t);
    auto r = ask(c, ip(f->address_of(0)), f->port(), encode(pdu_type::get, names));
    ASSERT_TRUE(r);
    const auto truth = f->truth(0, t);
    EXPECT_EQ(static_cast<std::int64_t>(r->varbinds[0].val.number),
              static_cast<std::int64_t>(*truth.markers[0].life_count));
    EXPECT_EQ(r->varbinds[1].val.integer(), truth.supplies[0].level);
    EXPECT_EQ(r->varbinds[2].val.number, *truth.sys_uptime_ticks);
    seen.push_back(r->varbinds);
  }
  EXPECT_NE(seen[0][0], seen[1][0]);  // the life count rose
  EXPECT_NE(seen[1][0], seen[2][0]);
  EXPECT_NE(seen[0][1], seen[2][1]);  // the black toner level moved
}

TEST(FleetsimLiving, GroundTruthFileIsAHeaderAndOneJsonLinePerDevice) {
  fs::options o;
  o.devices = 25;
  std::string why;
  auto f = fs::fleet::create(o, why);
  ASSERT_TRUE(f);
  std::ostringstream out;
  const double t = static_cast<double>(o.start_time) + 3600;
  ASSERT_TRUE(f->write_ground_truth(out, t));
  std::istringstream in(out.str());
  std::string line;
  std::vector<boost::json::object> lines;
  while (std::getline(in, line)) lines.push_back(boost::json::parse(line).as_object());
  ASSERT_EQ(lines.size(), 26u);
  EXPECT_EQ(lines[0].at("kind").as_string(), "header");
  EXPECT_EQ(lines[0].at("devices").to_number<std::int64_t>(), 25);
  EXPECT_EQ(lines[0].at("sim_time").to_number<std::int64_t>(), static_cast<std::int64_t>(t));
  for (std::uint32_t d = 0; d < 25; ++d) {
    const auto& j = lines[d + 1];
    EXPECT_EQ(j.at("kind").as_string(), "device");
    EXPECT_EQ(j.at("device").to_number<std::uint32_t>(), d);
    EXPECT_EQ(j.at("address").as_string(), f->address_of(d));
    for (const char* k :
         {"identity", "status", "markers", "supplies", "trays", "alerts", "counters", "life"})
      EXPECT_TRUE(j.contains(k)) << k;
    EXPECT_EQ(boost::json::serialize(j), f->truth_json(d, t));
  }
}

TEST(FleetsimLiving, SerialsAndMacsAreUniqueAcrossTheFleet) {
  fs::options o;
  o.devices = 30000;
  std::string why;
  auto f = fs::fleet::create(o, why);
  ASSERT_TRUE(f);
  std::set<std::string> serials, macs, names;
  const double t = static_cast<double>(o.start_time);
  // Every third device is a colour MFP: that template has a serial and a MAC.
  for (std::uint32_t d = 0; d < f->size(); d += 3) {
    const auto x = f->truth(d, t);
    ASSERT_EQ(x.serial.size(), std::string("0529J038589").size());
    serials.insert(x.serial);
    macs.insert(x.mac);
    names.insert(x.sys_name);
  }
  EXPECT_EQ(serials.size(), 10000u);
  EXPECT_EQ(macs.size(), 10000u);
  EXPECT_EQ(names.size(), 10000u);
}

}  // namespace
