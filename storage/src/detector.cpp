#include "detector.hpp"

#include <algorithm>
#include <cstdlib>
#include <optional>
#include <tuple>

#include "keys.hpp"

namespace fleetpoll::storage::detail {
namespace {

namespace fb = flatbuffers;
namespace s = fleetpoll::schema;

using s::ChangeKind;

// ---- small helpers ------------------------------------------------------------------------------

std::string text(const fb::String* t) {
  return t ? t->str() : std::string();
}

template <class E>
std::optional<std::int32_t> raw(fb::Optional<E> v) {
  return v ? std::optional<std::int32_t>(static_cast<std::int32_t>(*v)) : std::nullopt;
}
template <class T>
std::optional<T> opt(fb::Optional<T> v) {
  return v ? std::optional<T>(*v) : std::nullopt;
}

bool numeric(std::uint8_t quality) {
  return quality == static_cast<std::uint8_t>(s::LevelQuality::exact) ||
         quality == static_cast<std::uint8_t>(s::LevelQuality::percent_only);
}

// Wire percent of a supply: remaining for consumables, fill for receptacles (as in the snapshot).
std::optional<std::int16_t> wire_percent(bool receptacle, std::optional<std::int16_t> p) {
  if (!p) return std::nullopt;
  return receptacle ? static_cast<std::int16_t>(100 - *p) : *p;
}

// Printer status 3 idle, 4 printing, 5 warmup are one "ready" state: their flips are activity,
// not news. other(1) and unknown(2) stay themselves.
std::optional<std::int32_t> printer_class(std::optional<std::int32_t> v) {
  if (v && (*v == 4 || *v == 5)) return 3;
  return v;
}
bool significant_status_change(const status_state& a, const status_state& b) {
  return a.device_status != b.device_status ||
         printer_class(a.printer_status) != printer_class(b.printer_status) ||
         a.conditions != b.conditions || a.has_conditions != b.has_conditions;
}

std::vector<s::PrinterCondition> conditions_of(std::uint16_t bits) {
  std::vector<s::PrinterCondition> v;
  for (int i = 0; i < 16; ++i)
    if (bits & (1u << i)) v.push_back(static_cast<s::PrinterCondition>(i));
  return v;
}

// Alerts about a supply (group markerSupplies, group index = supply index) that mean "almost
// empty/full" or "empty/full".
bool alert_targets(const alert_state& a, const supply_state& sp) {
  return a.group && *a.group == static_cast<int>(s::AlertGroup::markerSupplies) && a.group_index &&
         *a.group_index == static_cast<std::int32_t>(sp.index) && a.hr == sp.hr;
}
bool low_code(std::int32_t c) {
  switch (c) {
    case 10:
    case 12:
    case 14:
    case 16:  // subunit life almost over / almost empty / almost full / near limit
    case 1104:
    case 1105:
    case 1106:
    case 1107:
    case 1108:
    case 1111:
    case 1113:
      return true;
  }
  return false;
}
bool empty_code(std::int32_t c) {
  switch (c) {
    case 11:
    case 13:
    case 15:
    case 17:  // life over / empty / full / at limit
    case 1101:
    case 1102:
    case 1103:
    case 1109:
    case 1110:
    case 1112:
    case 1114:
      return true;
  }
  return false;
}

// Alert identity across polls: the agent renumbers prtAlertIndex when it rebuilds the table, so
// alerts are matched by what they say, not by their index.
using alert_key_t =
    std::tuple<std::uint32_t, std::optional<std::int32_t>, std::optional<std::int32_t>,
               std::optional<std::int32_t>, std::optional<std::int32_t>,
               std::optional<std::int32_t>, std::optional<std::int32_t>, std::string>;
alert_key_t alert_key(const alert_state& a) {
  // The description only tells generic codes (other/unknown/absent) apart.
  const bool generic = !a.code || *a.code == 1 || *a.code == 2;
  return {a.hr,          a.severity, a.training_level, a.group,
          a.group_index, a.location, a.code,           generic ? a.description : std::string()};
}
constexpr std::int32_t binary_change_event = 5;  // AlertSeverity warningBinaryChangeEvent

// ---- the judge of one poll
// ------------------------------------------------------------------------

class judge {
 public:
  judge(detection& out, const detect_config& cfg, std::uint64_t at)
      : out_(out), cfg_(cfg), at_(at) {}

  device_state& st() { return out_.next; }

  // ---- records
  struct body {
    fb::Offset<s::IdentityChange> identity;
    fb::Offset<s::SupplyChange> supply;
    fb::Offset<s::TrayChange> tray;
    fb::Offset<s::AlertChange> alert;
    fb::Offset<s::StatusChange> status;
    fb::Offset<s::Reachability> reachability;
    fb::Offset<s::CounterChange> counter;
    fb::Offset<s::Heartbeat> heartbeat;
  };
  void emit(fb::FlatBufferBuilder& b, ChangeKind kind, const body& bd) {
    auto address = b.CreateString(st().address);
    s::ChangeRecordBuilder rb(b);
    rb.add_seq(seq_placeholder);
    rb.add_device_id(st().device_id);
    rb.add_address(address);
    rb.add_at_ms(at_);
    rb.add_kind(kind);
    if (!bd.identity.IsNull()) rb.add_identity(bd.identity);
    if (!bd.supply.IsNull()) rb.add_supply(bd.supply);
    if (!bd.tray.IsNull()) rb.add_tray(bd.tray);
    if (!bd.alert.IsNull()) rb.add_alert(bd.alert);
    if (!bd.status.IsNull()) rb.add_status(bd.status);
    if (!bd.reachability.IsNull()) rb.add_reachability(bd.reachability);
    if (!bd.counter.IsNull()) rb.add_counter(bd.counter);
    if (!bd.heartbeat.IsNull()) rb.add_heartbeat(bd.heartbeat);
    b.Finish(rb.Finish(), s::ChangeRecordIdentifier());
    out_.records.push_back(b.Release());
  }

  void sample_out(const sample& smp) {
    std::string key = sample_key(st().device_id, smp.kind, smp.hr_device_index, smp.index, at_);
    for (const auto& p : out_.samples)
      if (p.key == key) return;  // already stored in this poll (a heartbeat after a change)
    out_.samples.push_back({std::move(key), encode_sample_value(smp)});
  }

  // ---- reachability
  void reachability(ChangeKind kind, std::uint32_t failed, const std::string& error) {
    fb::FlatBufferBuilder b(256);
    auto e = error.empty() ? fb::Offset<fb::String>() : b.CreateString(error);
    s::ReachabilityBuilder rb(b);
    rb.add_failed_polls(failed);
    rb.add_last_error(e);
    body bd;
    bd.reachability = rb.Finish();
    emit(b, kind, bd);
  }
  void reachability_sample() {
    sample smp;
    smp.kind = series_kind::reachability;
    smp.up = st().up;
    smp.failed_polls = st().up ? 0 : st().failed_polls;
    sample_out(smp);
  }

  // ---- identity
  void identity(const s::Identity& id, bool first) {
    identity_state n;
    n.vendor = text(id.vendor());
    n.model = text(id.model());
    n.serial = text(id.serial());
    n.firmware = text(id.firmware());
    n.mac = text(id.mac());
    n.sys_object_id = text(id.sys_object_id());
    n.enterprise = opt(id.enterprise());
    n.sys_name = text(id.sys_name());
    n.sys_location = text(id.sys_location());
    n.printer_name = text(id.printer_name());
    n.sys_descr = text(id.sys_descr());

    identity_state& cur = st().identity;
    std::vector<std::string> changed;
    // A field the agent did not send this time keeps its last value: absent is not a change.
    auto field = [&](const char* name, std::string& old_v, const std::string& new_v) {
      if (new_v.empty() || new_v == old_v) return;
      changed.emplace_back(name);
      old_v = new_v;
    };
    field("vendor", cur.vendor, n.vendor);
    field("model", cur.model, n.model);
    field("serial", cur.serial, n.serial);
    field("firmware", cur.firmware, n.firmware);
    field("mac", cur.mac, n.mac);
    field("sys_object_id", cur.sys_object_id, n.sys_object_id);
    if (n.enterprise && n.enterprise != cur.enterprise) {
      changed.emplace_back("enterprise");
      cur.enterprise = n.enterprise;
    }
    field("sys_name", cur.sys_name, n.sys_name);
    field("sys_location", cur.sys_location, n.sys_location);
    field("printer_name", cur.printer_name, n.printer_name);
    if (!n.sys_descr.empty()) cur.sys_descr = n.sys_descr;  // kept, never sent (not allowlisted)
    if (!first && changed.empty()) return;

    fb::FlatBufferBuilder b(512);
    auto sv = [&](const std::string& t) {
      return t.empty() ? fb::Offset<fb::String>() : b.CreateString(t);
    };
    auto vendor = sv(cur.vendor), model = sv(cur.model), serial = sv(cur.serial),
         firmware = sv(cur.firmware), mac = sv(cur.mac), oid = sv(cur.sys_object_id),
         name = sv(cur.sys_name), location = sv(cur.sys_location), printer = sv(cur.printer_name);
    auto changed_v = b.CreateVectorOfStrings(changed);
    s::IdentityChangeBuilder ib(b);
    ib.add_vendor(vendor);
    ib.add_model(model);
    ib.add_serial(serial);
    ib.add_firmware(firmware);
    ib.add_mac(mac);
    ib.add_sys_object_id(oid);
    if (cur.enterprise) ib.add_enterprise(*cur.enterprise);
    ib.add_sys_name(name);
    ib.add_sys_location(location);
    ib.add_printer_name(printer);
    ib.add_changed(changed_v);
    body bd;
    bd.identity = ib.Finish();
    emit(b, ChangeKind::identity, bd);
  }

  // ---- status
  void status(const s::Status& sn) {
    status_state n;
    n.device_status = raw(sn.hr_device_status());
    n.printer_status = raw(sn.hr_printer_status());
    n.errors = opt(sn.hr_device_errors());
    if (const auto* c = sn.conditions()) {
      n.has_conditions = true;
      for (auto cond : *c) {
        const auto bit = static_cast<unsigned>(cond);
        if (bit < 16) n.conditions = static_cast<std::uint16_t>(n.conditions | (1u << bit));
      }
    } else if (sn.detected_error_state()) {
      n.has_conditions = true;
    }
    const bool known = st().status_known;
    if (known && !significant_status_change(st().status, n)) return;
    const status_state prev = st().status;
    st().status = n;
    st().status_known = true;

    fb::FlatBufferBuilder b(256);
    auto cur_c = n.has_conditions ? b.CreateVector(conditions_of(n.conditions))
                                  : fb::Offset<fb::Vector<s::PrinterCondition>>();
    auto prev_c = known && prev.has_conditions ? b.CreateVector(conditions_of(prev.conditions))
                                               : fb::Offset<fb::Vector<s::PrinterCondition>>();
    s::StatusChangeBuilder sb(b);
    if (n.device_status) sb.add_hr_device_status(static_cast<s::HrDeviceStatus>(*n.device_status));
    if (n.printer_status)
      sb.add_hr_printer_status(static_cast<s::HrPrinterStatus>(*n.printer_status));
    sb.add_conditions(cur_c);
    if (known && prev.device_status)
      sb.add_previous_hr_device_status(static_cast<s::HrDeviceStatus>(*prev.device_status));
    if (known && prev.printer_status)
      sb.add_previous_hr_printer_status(static_cast<s::HrPrinterStatus>(*prev.printer_status));
    sb.add_previous_conditions(prev_c);
    body bd;
    bd.status = sb.Finish();
    emit(b, ChangeKind::status_changed, bd);
    status_sample();
  }
  void status_sample() {
    sample smp;
    smp.kind = series_kind::status;
    smp.hr_device_status = st().status.device_status;
    smp.hr_printer_status = st().status.printer_status;
    smp.conditions = st().status.conditions;
    sample_out(smp);
  }

  // ---- alerts
  void alert_record(ChangeKind kind, const alert_state& a) {
    fb::FlatBufferBuilder b(256);
    auto d = a.description.empty() ? fb::Offset<fb::String>() : b.CreateString(a.description);
    s::AlertChangeBuilder ab(b);
    ab.add_hr_device_index(a.hr);
    ab.add_index(a.index);
    if (a.severity) ab.add_severity(static_cast<s::AlertSeverity>(*a.severity));
    if (a.training_level)
      ab.add_training_level(static_cast<s::AlertTrainingLevel>(*a.training_level));
    if (a.group) ab.add_group(static_cast<s::AlertGroup>(*a.group));
    if (a.group_index) ab.add_group_index(*a.group_index);
    if (a.location) ab.add_location(*a.location);
    if (a.code) ab.add_code(static_cast<s::AlertCode>(*a.code));
    ab.add_description(d);
    if (a.time_ticks) ab.add_time_ticks(*a.time_ticks);
    body bd;
    bd.alert = ab.Finish();
    emit(b, kind, bd);
  }

  void alerts(const fb::Vector<fb::Offset<s::Alert>>* list) {
    std::vector<alert_state> now;
    if (list)
      for (const auto* a : *list) {
        alert_state x;
        x.hr = a->hr_device_index();
        x.index = a->index();
        x.severity = raw(a->severity());
        x.training_level = raw(a->training_level());
        x.group = raw(a->group());
        x.group_index = opt(a->group_index());
        x.location = opt(a->location());
        x.code = raw(a->code());
        x.description = text(a->description());
        x.time_ticks = opt(a->time_ticks());
        now.push_back(std::move(x));
      }
    std::vector<alert_state>& old = st().alerts;
    std::vector<bool> old_matched(old.size(), false);
    std::vector<bool> is_new(now.size(), true);
    for (std::size_t k = 0; k < now.size(); ++k) {
      const auto key = alert_key(now[k]);
      for (std::size_t i = 0; i < old.size(); ++i)
        if (!old_matched[i] && alert_key(old[i]) == key) {
          old_matched[i] = true;
          now[k].raised_ms = old[i].raised_ms;
          is_new[k] = false;
          break;
        }
      if (is_new[k]) now[k].raised_ms = at_;
    }
    // Cleared first (in the old table's order), then raised (in the new table's order). Binary
    // change events (door opened, ...) are events, not conditions: they are raised, never cleared.
    for (std::size_t i = 0; i < old.size(); ++i)
      if (!old_matched[i] && !(old[i].severity && *old[i].severity == binary_change_event))
        alert_record(ChangeKind::alert_cleared, old[i]);
    for (std::size_t k = 0; k < now.size(); ++k)
      if (is_new[k]) alert_record(ChangeKind::alert_raised, now[k]);
    old = std::move(now);
  }

  // ---- counters
  std::uint64_t counter_interval_ms() const {
    return static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::milliseconds>(cfg_.thresholds.counter_interval)
            .count());
  }
  void counter_record(ChangeKind kind, const counter_state& c,
                      std::optional<std::uint64_t> previous, std::optional<std::uint64_t> delta) {
    fb::FlatBufferBuilder b(256);
    s::CounterChangeBuilder cb(b);
    cb.add_hr_device_index(c.hr);
    cb.add_marker_index(c.index);
    if (c.unit) cb.add_unit(static_cast<s::Unit>(*c.unit));
    if (c.life) cb.add_life_count(*c.life);
    if (previous) cb.add_previous(*previous);
    if (delta) cb.add_delta(*delta);
    body bd;
    bd.counter = cb.Finish();
    emit(b, kind, bd);
  }
  void counter_sample(const counter_state& c) {
    sample smp;
    smp.kind = series_kind::counter;
    smp.hr_device_index = c.hr;
    smp.index = c.index;
    smp.count = c.life;
    sample_out(smp);
  }

  void counters(const fb::Vector<fb::Offset<s::Marker>>* list) {
    std::vector<counter_state>& cur = st().counters;
    std::vector<bool> seen(cur.size(), false);
    if (list)
      for (const auto* m : *list) {
        auto it = std::find_if(cur.begin(), cur.end(), [&](const counter_state& c) {
          return c.hr == m->hr_device_index() && c.index == m->index();
        });
        const auto life = opt(m->life_count());
        if (it == cur.end()) {
          counter_state c;
          c.hr = m->hr_device_index();
          c.index = m->index();
          c.unit = raw(m->counter_unit());
          c.life = life;
          c.power_on = opt(m->power_on_count());
          c.ref_life = life;
          c.ref_ms = at_;
          cur.push_back(c);
          seen.push_back(true);
          if (life) {
            counter_record(ChangeKind::counter_delta, c, std::nullopt, std::nullopt);
            counter_sample(c);
          }
          continue;
        }
        seen[static_cast<std::size_t>(it - cur.begin())] = true;
        counter_state& c = *it;
        c.missing_polls = 0;
        if (auto u = raw(m->counter_unit())) c.unit = u;
        if (auto p = opt(m->power_on_count())) c.power_on = p;
        if (!life) continue;  // the column was not in this answer: nothing to judge
        const auto last = c.life;
        c.life = life;
        if (last && *life < *last) {
          // Backwards: a board swap or a reset. An event, never negative usage.
          c.ref_life = life;
          c.ref_ms = at_;
          counter_record(ChangeKind::counter_reset, c, last, std::nullopt);
        } else if (!c.ref_life) {
          c.ref_life = life;
          c.ref_ms = at_;
          counter_record(ChangeKind::counter_delta, c, std::nullopt, std::nullopt);
        } else if (*life - *c.ref_life >= cfg_.thresholds.counter_delta &&
                   at_ >= c.ref_ms + counter_interval_ms()) {
          // Enough units and enough time since the last counter record (the uplink's bulk).
          const auto previous = c.ref_life;
          c.ref_life = life;
          c.ref_ms = at_;
          counter_record(ChangeKind::counter_delta, c, previous, *life - *previous);
        }
        if (life != last) counter_sample(c);
      }
    drop_missing(cur, seen);
  }

  // Rows of a polled table that did not answer: gone after removal_polls polls in a row.
  template <class Row, class OnRemove>
  void drop_missing(std::vector<Row>& rows, const std::vector<bool>& seen, OnRemove on_remove) {
    std::vector<Row> keep;
    for (std::size_t i = 0; i < rows.size(); ++i) {
      if (seen[i]) {
        keep.push_back(std::move(rows[i]));
        continue;
      }
      Row& r = rows[i];
      if (r.missing_polls < 255) ++r.missing_polls;
      if (r.missing_polls >= cfg_.thresholds.removal_polls) {
        on_remove(r);
        continue;
      }
      keep.push_back(std::move(r));
    }
    rows = std::move(keep);
  }
  template <class Row>
  void drop_missing(std::vector<Row>& rows, const std::vector<bool>& seen) {
    drop_missing(rows, seen, [](const Row&) {});
  }

  // ---- supplies
  void supply_record(ChangeKind kind, const supply_state& x, const supply_state* previous) {
    fb::FlatBufferBuilder b(384);
    auto d = x.description.empty() ? fb::Offset<fb::String>() : b.CreateString(x.description);
    auto c = x.colorant.empty() ? fb::Offset<fb::String>() : b.CreateString(x.colorant);
    s::SupplyChangeBuilder sb(b);
    sb.add_hr_device_index(x.hr);
    sb.add_index(x.index);
    sb.add_description(d);
    if (x.type) sb.add_type(static_cast<s::SupplyType>(*x.type));
    if (x.supply_class) sb.add_supply_class(static_cast<s::SupplyClass>(*x.supply_class));
    sb.add_colorant(c);
    sb.add_receptacle(x.receptacle);
    if (x.unit) sb.add_unit(static_cast<s::Unit>(*x.unit));
    if (x.max_capacity) sb.add_max_capacity(*x.max_capacity);
    if (x.level) sb.add_level(*x.level);
    sb.add_quality(static_cast<s::LevelQuality>(x.quality));
    if (auto p = wire_percent(x.receptacle, x.percent)) sb.add_percent(*p);
    if (previous) {
      if (previous->level) sb.add_previous_level(*previous->level);
      if (auto p = wire_percent(previous->receptacle, previous->percent))
        sb.add_previous_percent(*p);
    }
    body bd;
    bd.supply = sb.Finish();
    emit(b, kind, bd);
  }
  void supply_sample(const supply_state& x) {
    sample smp;
    smp.kind = series_kind::supply;
    smp.hr_device_index = x.hr;
    smp.index = x.index;
    smp.level = x.level;
    smp.max_capacity = x.max_capacity;
    smp.quality = static_cast<s::LevelQuality>(x.quality);
    smp.percent = x.percent;
    smp.pages = pages_for(x);
    sample_out(smp);
  }
  std::optional<std::uint64_t> pages_for(const supply_state& x) const {
    const auto& cs = out_.next.counters;
    for (const auto& c : cs)
      if (x.marker_index && c.hr == x.hr && static_cast<std::int32_t>(c.index) == *x.marker_index)
        return c.life;
    if (!cs.empty()) return cs.front().life;
    return std::nullopt;
  }

  // What the device's alerts say about a supply.
  struct device_says {
    bool low = false, empty = false;
  };
  device_says alerts_about(const supply_state& x) const {
    device_says d;
    for (const auto& a : out_.next.alerts)
      if (a.code && alert_targets(a, x)) {
        d.low = d.low || low_code(*a.code);
        d.empty = d.empty || empty_code(*a.code);
      }
    return d;
  }

  // Reorder / low / empty: reported once when reached, re-armed when the level has risen clear
  // of the mark (by more than reseat_tolerance) or the device withdrew its alert.
  // Returns how many records it emitted.
  int marks(supply_state& x, const supply_state* previous) {
    const auto& th = cfg_.thresholds;
    const int tol = th.reseat_tolerance;
    const device_says says = alerts_about(x);
    int n = 0;
    auto fire = [&](std::uint8_t flag, ChangeKind kind) {
      if (x.flags & flag) return;
      x.flags = static_cast<std::uint8_t>(x.flags | flag);
      supply_record(kind, x, previous);
      ++n;
    };
    auto rearm = [&](std::uint8_t flag) { x.flags = static_cast<std::uint8_t>(x.flags & ~flag); };
    if (numeric(x.quality) && x.percent) {
      const int p = *x.percent;
      if (th.reorder_point > 0) {
        if (p <= th.reorder_point)
          fire(flag_reorder, ChangeKind::supply_reorder);
        else if (p > th.reorder_point + tol)
          rearm(flag_reorder);
      }
      if (p <= th.low_mark || says.low || says.empty)
        fire(flag_low, ChangeKind::supply_low);
      else if (p > th.low_mark + tol)
        rearm(flag_low);
      if (p == 0 || says.empty)
        fire(flag_empty, ChangeKind::supply_empty);
      else if (p > tol)
        rearm(flag_empty);
    } else {
      // No percent: only the device's own word (a raw 0, or its alerts) counts.
      const bool raw_zero = x.level && *x.level == 0 &&
                            x.quality == static_cast<std::uint8_t>(s::LevelQuality::no_capacity);
      if (says.low || says.empty || raw_zero)
        fire(flag_low, ChangeKind::supply_low);
      else
        rearm(flag_low);
      if (says.empty || raw_zero)
        fire(flag_empty, ChangeKind::supply_empty);
      else
        rearm(flag_empty);
    }
    return n;
  }

  static void set_ref(supply_state& x) {
    x.ref_level = x.level;
    x.ref_percent = x.percent;
    x.ref_quality = x.quality;
  }

  void supplies(const fb::Vector<fb::Offset<s::Supply>>* list) {
    std::vector<supply_state>& cur = st().supplies;
    std::vector<bool> seen(cur.size(), false);
    const auto& th = cfg_.thresholds;
    if (list)
      for (const auto* sn : *list) {
        supply_state n;
        n.hr = sn->hr_device_index();
        n.index = sn->index();
        n.marker_index = opt(sn->marker_index());
        n.description = text(sn->description());
        n.type = raw(sn->type());
        n.supply_class = raw(sn->supply_class());
        n.colorant = text(sn->colorant());
        n.receptacle = sn->receptacle();
        n.unit = raw(sn->unit());
        n.max_capacity = opt(sn->max_capacity());
        n.level = opt(sn->level());
        n.quality = static_cast<std::uint8_t>(sn->quality());
        if (n.receptacle) {
          if (auto f = opt(sn->fill_percent())) n.percent = static_cast<std::int16_t>(100 - *f);
        } else {
          n.percent = opt(sn->remaining_percent());
        }
        auto it = std::find_if(cur.begin(), cur.end(), [&](const supply_state& x) {
          return x.hr == n.hr && x.index == n.index;
        });
        if (it == cur.end()) {
          n.installed_ms = at_;
          set_ref(n);
          supply_record(ChangeKind::supply_added, n, nullptr);
          marks(n, nullptr);
          cur.push_back(n);
          seen.push_back(true);
          supply_sample(cur.back());
          continue;
        }
        seen[static_cast<std::size_t>(it - cur.begin())] = true;
        supply_state& x = *it;
        x.missing_polls = 0;
        // Descriptive columns follow the device.
        if (!n.description.empty()) x.description = n.description;
        if (!n.colorant.empty()) x.colorant = n.colorant;
        if (n.type) x.type = n.type;
        if (n.supply_class) x.supply_class = n.supply_class;
        if (n.unit) x.unit = n.unit;
        if (n.marker_index) x.marker_index = n.marker_index;
        x.receptacle = n.receptacle;
        if (n.quality == static_cast<std::uint8_t>(s::LevelQuality::missing)) continue;

        const supply_state before = x;  // last seen
        const bool changed =
            x.level != n.level || x.max_capacity != n.max_capacity || x.quality != n.quality;
        x.level = n.level;
        x.max_capacity = n.max_capacity;
        x.quality = n.quality;
        x.percent = n.percent;

        int emitted = 0;
        const bool was_num = numeric(before.quality) && before.percent;
        const bool is_num = numeric(x.quality) && x.percent;
        if (was_num && is_num) {
          const int rise = *x.percent - *before.percent;
          if (rise >= th.replacement_jump) {
            x.flags = 0;
            x.installed_ms = at_;
            supply_record(ChangeKind::supply_replaced, x, &before);
            ++emitted;
          } else if (rise > th.reseat_tolerance) {
            supply_record(ChangeKind::supply_reseated, x, &before);
            ++emitted;
          }
        }
        // The records below carry the values of the last record about this supply as "previous".
        supply_state prev_ref = before;
        prev_ref.level = before.ref_level;
        prev_ref.percent = before.ref_percent;
        emitted += marks(x, &prev_ref);
        if (emitted == 0) {
          const bool quality_moved =
              x.quality != x.ref_quality ||
              (x.quality == static_cast<std::uint8_t>(s::LevelQuality::status_code) &&
               x.level != x.ref_level);
          const bool level_moved = is_num && x.ref_percent && numeric(x.ref_quality) &&
                                   std::abs(*x.percent - *x.ref_percent) >= th.level_change;
          if (quality_moved || level_moved) {
            supply_record(ChangeKind::supply_level, x, &prev_ref);
            ++emitted;
          }
        }
        if (emitted > 0) set_ref(x);
        if (changed) supply_sample(x);
      }
    drop_missing(cur, seen, [&](const supply_state& gone) {
      supply_record(ChangeKind::supply_removed, gone, nullptr);
    });
  }

  // Alerts were polled but supplies not: the device's word about supplies may have changed.
  void supply_marks_from_alerts() {
    for (auto& x : st().supplies) {
      const supply_state before = x;
      supply_state prev_ref = before;
      prev_ref.level = before.ref_level;
      prev_ref.percent = before.ref_percent;
      if (marks(x, &prev_ref) > 0) set_ref(x);
    }
  }

  // ---- trays
  void tray_record(const tray_state& t, std::optional<std::int16_t> previous) {
    fb::FlatBufferBuilder b(256);
    auto name = t.name.empty() ? fb::Offset<fb::String>() : b.CreateString(t.name);
    s::TrayChangeBuilder tb(b);
    tb.add_hr_device_index(t.hr);
    tb.add_index(t.index);
    tb.add_name(name);
    if (t.max_capacity) tb.add_max_capacity(*t.max_capacity);
    if (t.level) tb.add_current_level(*t.level);
    tb.add_quality(static_cast<s::LevelQuality>(t.quality));
    if (t.percent) tb.add_percent(*t.percent);
    if (previous) tb.add_previous_percent(*previous);
    body bd;
    bd.tray = tb.Finish();
    emit(b, ChangeKind::tray_level, bd);
  }
  void tray_sample(const tray_state& t) {
    sample smp;
    smp.kind = series_kind::tray;
    smp.hr_device_index = t.hr;
    smp.index = t.index;
    smp.level = t.level;
    smp.max_capacity = t.max_capacity;
    smp.quality = static_cast<s::LevelQuality>(t.quality);
    smp.percent = t.percent;
    sample_out(smp);
  }

  void trays(const fb::Vector<fb::Offset<s::InputTray>>* list) {
    std::vector<tray_state>& cur = st().trays;
    std::vector<bool> seen(cur.size(), false);
    if (list)
      for (const auto* tn : *list) {
        tray_state n;
        n.hr = tn->hr_device_index();
        n.index = tn->index();
        n.name = text(tn->name());
        n.max_capacity = opt(tn->max_capacity());
        n.level = opt(tn->current_level());
        n.quality = static_cast<std::uint8_t>(tn->quality());
        n.percent = opt(tn->percent());
        auto it = std::find_if(cur.begin(), cur.end(), [&](const tray_state& t) {
          return t.hr == n.hr && t.index == n.index;
        });
        if (it == cur.end()) {
          n.ref_percent = n.percent;
          n.ref_quality = n.quality;
          cur.push_back(n);
          seen.push_back(true);
          tray_record(n, std::nullopt);
          tray_sample(n);
          continue;
        }
        seen[static_cast<std::size_t>(it - cur.begin())] = true;
        tray_state& t = *it;
        t.missing_polls = 0;
        if (!n.name.empty()) t.name = n.name;
        if (n.quality == static_cast<std::uint8_t>(s::LevelQuality::missing)) continue;
        const bool changed =
            t.level != n.level || t.max_capacity != n.max_capacity || t.quality != n.quality;
        t.level = n.level;
        t.max_capacity = n.max_capacity;
        t.quality = n.quality;
        t.percent = n.percent;
        bool record = t.quality != t.ref_quality;
        if (!record && t.percent && t.ref_percent) {
          record = std::abs(*t.percent - *t.ref_percent) >= cfg_.thresholds.tray_level_change ||
                   ((*t.percent == 0) != (*t.ref_percent == 0));
        }
        if (record) {
          tray_record(t, t.ref_percent);
          t.ref_percent = t.percent;
          t.ref_quality = t.quality;
        }
        if (changed) tray_sample(t);
      }
    drop_missing(cur, seen);
  }

  // ---- heartbeat
  void heartbeat() {
    fb::FlatBufferBuilder b(512);
    std::vector<fb::Offset<s::CounterValue>> cv;
    for (const auto& c : st().counters) {
      s::CounterValueBuilder vb(b);
      vb.add_hr_device_index(c.hr);
      vb.add_marker_index(c.index);
      if (c.unit) vb.add_unit(static_cast<s::Unit>(*c.unit));
      if (c.life) vb.add_life_count(*c.life);
      if (c.power_on) vb.add_power_on_count(*c.power_on);
      cv.push_back(vb.Finish());
    }
    std::vector<std::int16_t> percents;
    for (const auto& x : st().supplies) {
      auto p = numeric(x.quality) ? wire_percent(x.receptacle, x.percent) : std::nullopt;
      percents.push_back(p ? *p : static_cast<std::int16_t>(-1));
    }
    auto cvv = b.CreateVector(cv);
    auto pv = b.CreateVector(percents);
    s::HeartbeatBuilder hb(b);
    hb.add_counters(cvv);
    hb.add_supplies_percent(pv);
    hb.add_up(st().up);
    body bd;
    bd.heartbeat = hb.Finish();
    emit(b, ChangeKind::heartbeat, bd);
    // The time series' own heartbeat: every series gets a point at least once a period.
    for (const auto& x : st().supplies) supply_sample(x);
    for (const auto& t : st().trays) tray_sample(t);
    for (const auto& c : st().counters)
      if (c.life) counter_sample(c);
    if (st().status_known) status_sample();
    reachability_sample();
    st().last_heartbeat_ms = at_;
  }
  void heartbeat_if_due() {
    if (at_ >= st().last_heartbeat_ms + cfg_.heartbeat_ms) heartbeat();
  }

 private:
  detection& out_;
  const detect_config& cfg_;
  std::uint64_t at_;
};

}  // namespace

void detect_poll(const device_state* prev, std::uint64_t device_id, std::string_view address,
                 const schema::DeviceSnapshot& snap, std::uint8_t classes, std::uint64_t at_ms,
                 const detect_config& config, detection& out) {
  out.records.clear();
  out.samples.clear();
  if (prev) {
    out.next = *prev;
  } else {
    out.next = device_state{};
    out.next.device_id = device_id;
    out.next.address = std::string(address);
    out.next.first_seen_ms = at_ms;
    out.next.last_heartbeat_ms = at_ms;
  }
  judge j(out, config, at_ms);
  device_state& st = out.next;
  st.last_seen_ms = std::max(st.last_seen_ms, at_ms);

  if (!prev) {
    j.reachability_sample();
  } else if (!prev->up) {
    j.reachability(ChangeKind::device_up, prev->failed_polls, prev->last_error);
    st.up = true;
    st.failed_polls = 0;
    st.last_error.clear();
    st.down_since_ms = 0;
    j.reachability_sample();
  }
  if ((classes & class_identity) && snap.identity())
    j.identity(*snap.identity(), (st.classes_seen & class_identity) == 0);
  if ((classes & class_status) && snap.status()) j.status(*snap.status());
  if (classes & class_alerts) j.alerts(snap.alerts());
  if (classes & class_counters) j.counters(snap.markers());
  if (classes & class_supplies) {
    j.supplies(snap.supplies());
    j.trays(snap.trays());
  } else if (classes & class_alerts) {
    j.supply_marks_from_alerts();
  }
  st.classes_seen = static_cast<std::uint8_t>(st.classes_seen | (classes & class_all));
  if (prev) j.heartbeat_if_due();
}

void detect_unreachable(const device_state& prev, std::uint64_t at_ms, std::uint32_t failed_polls,
                        std::string_view last_error, const detect_config& config, detection& out) {
  out.records.clear();
  out.samples.clear();
  out.next = prev;
  judge j(out, config, at_ms);
  device_state& st = out.next;
  st.failed_polls = failed_polls;
  st.last_error = std::string(last_error);
  if (prev.up) {
    st.up = false;
    st.down_since_ms = at_ms;
    j.reachability(ChangeKind::device_down, failed_polls, st.last_error);
    j.reachability_sample();
  }
  j.heartbeat_if_due();
}

void patch_seq(flatbuffers::DetachedBuffer& record, std::uint64_t seq) {
  auto* table = flatbuffers::GetMutableRoot<flatbuffers::Table>(record.data());
  table->SetField<std::uint64_t>(s::ChangeRecord::VT_SEQ, seq, 0);
}

}  // namespace fleetpoll::storage::detail
