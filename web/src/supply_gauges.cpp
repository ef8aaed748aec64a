#include "fleetpoll/web/supply_gauges.hpp"

#include <algorithm>
#include <string>

#include <prometheus/client_metric.h>

#include "fleetpoll/web/html.hpp"

namespace fleetpoll::web {

namespace {

constexpr std::size_t max_label_bytes = 64;

// A label value that cannot break the exposition: valid UTF-8 without control characters, at
// most max_label_bytes (cut on a character boundary).
std::string label_value(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size() && out.size() < max_label_bytes;) {
    const auto c = static_cast<unsigned char>(s[i]);
    const std::size_t n = utf8_length(s, i);
    const bool ok = n != 0 && !(n == 1 && (c < 0x20 || c == 0x7F));
    if (!ok) {
      out.push_back('?');
      ++i;
      continue;
    }
    if (out.size() + n > max_label_bytes) break;
    out.append(s.substr(i, n));
    i += n;
  }
  return out;
}

prometheus::MetricFamily family(const char* name, const char* help, prometheus::MetricType type) {
  prometheus::MetricFamily f;
  f.name = name;
  f.help = help;
  f.type = type;
  return f;
}

void add_gauge(prometheus::MetricFamily& f, std::vector<prometheus::ClientMetric::Label> labels,
               double value) {
  prometheus::ClientMetric m;
  m.label = std::move(labels);
  m.gauge.value = value;
  f.metric.push_back(std::move(m));
}

void add_counter(prometheus::MetricFamily& f, double value) {
  prometheus::ClientMetric m;
  m.counter.value = value;
  f.metric.push_back(std::move(m));
}

}  // namespace

supply_gauges::supply_gauges(std::shared_ptr<status_source> source, supply_gauges_options options)
    : source_(std::move(source)), options_(options) {}

const std::vector<const char*>& supply_gauges::family_names() {
  static const std::vector<const char*> names{
      "fleetpoll_supplies",
      "fleetpoll_devices_needing_attention",
      "fleetpoll_device_supply_devices_suppressed",
      "fleetpoll_device_supply_series_suppressed_total",
      "fleetpoll_status_source_errors_total",
      "fleetpoll_device_supply_percent",
      "fleetpoll_device_supply_low",
      "fleetpoll_device_supply_empty",
  };
  return names;
}

std::vector<prometheus::MetricFamily> supply_gauges::Collect() const {
  using prometheus::MetricType;
  std::vector<device_row> devices;
  const bool ok = source_ && !source_->devices(devices);
  if (!ok) {
    devices.clear();
    source_errors_.fetch_add(1);
  }

  std::vector<prometheus::MetricFamily> out;
  if (ok) {
    double ok_n = 0, low_n = 0, empty_n = 0, unknown_n = 0;
    double dev_low = 0, dev_empty = 0, dev_alerts = 0, dev_down = 0;
    for (const auto& d : devices) {
      for (const auto& s : d.supplies) {
        if (s.empty)
          ++empty_n;
        else if (s.low)
          ++low_n;
        else if (s.percent)
          ++ok_n;
        else
          ++unknown_n;
      }
      dev_low += d.low() ? 1 : 0;
      dev_empty += d.empty() ? 1 : 0;
      dev_alerts += d.alert_count > 0 ? 1 : 0;
      dev_down += d.up ? 0 : 1;
    }
    auto supplies =
        family("fleetpoll_supplies",
               "Supplies across the fleet by state (low: low or past the reorder point, "
               "not empty; unknown: no level number and not low).",
               MetricType::Gauge);
    add_gauge(supplies, {{"state", "ok"}}, ok_n);
    add_gauge(supplies, {{"state", "low"}}, low_n);
    add_gauge(supplies, {{"state", "empty"}}, empty_n);
    add_gauge(supplies, {{"state", "unknown"}}, unknown_n);
    out.push_back(std::move(supplies));

    auto attention =
        family("fleetpoll_devices_needing_attention",
               "Devices with a low or empty supply, active alerts, or down.", MetricType::Gauge);
    add_gauge(attention, {{"reason", "low_supply"}}, dev_low);
    add_gauge(attention, {{"reason", "empty_supply"}}, dev_empty);
    add_gauge(attention, {{"reason", "alerts"}}, dev_alerts);
    add_gauge(attention, {{"reason", "down"}}, dev_down);
    out.push_back(std::move(attention));
  }

  double suppressed_devices = 0;
  if (ok && options_.per_device) {
    std::vector<const device_row*> order;
    order.reserve(devices.size());
    for (const auto& d : devices) order.push_back(&d);
    std::sort(order.begin(), order.end(),
              [](const device_row* a, const device_row* b) { return natural_less(a->id, b->id); });
    auto percent = family("fleetpoll_device_supply_percent",
                          "Supply level per device, percent remaining (receptacles: percent full); "
                          "opt-in, capped (docs/grafana-and-alerts.md).",
                          MetricType::Gauge);
    auto low = family("fleetpoll_device_supply_low",
                      "1 when the supply is low, past its reorder point or empty; opt-in, capped.",
                      MetricType::Gauge);
    auto empty =
        family("fleetpoll_device_supply_empty",
               "1 when the supply is empty (receptacle full); opt-in, capped.", MetricType::Gauge);
    double suppressed_series = 0;
    for (std::size_t i = 0; i < order.size(); ++i) {
      const device_row& d = *order[i];
      if (i >= options_.max_devices) {
        ++suppressed_devices;
        for (const auto& s : d.supplies) suppressed_series += s.percent ? 3 : 2;
        continue;
      }
      const std::string device = label_value(d.name.empty() ? d.address : d.name);
      const std::string address = label_value(d.address);
      const std::string id = label_value(d.id);
      for (const auto& s : d.supplies) {
        std::vector<prometheus::ClientMetric::Label> labels{
            {"device_id", id},
            {"device", device},
            {"address", address},
            {"supply_index", std::to_string(s.index)},
            {"supply", label_value(s.description)}};
        if (s.percent) add_gauge(percent, labels, std::clamp(*s.percent, 0.0, 100.0));
        add_gauge(low, labels, (s.low || s.empty) ? 1 : 0);
        add_gauge(empty, labels, s.empty ? 1 : 0);
      }
    }
    suppressed_series_.fetch_add(suppressed_series);
    out.push_back(std::move(percent));
    out.push_back(std::move(low));
    out.push_back(std::move(empty));
  }

  auto sup_dev = family("fleetpoll_device_supply_devices_suppressed",
                        "Devices left without per-device supply series by the cap at the last "
                        "scrape (0 when per-device gauges are off).",
                        MetricType::Gauge);
  add_gauge(sup_dev, {}, suppressed_devices);
  out.push_back(std::move(sup_dev));
  auto sup_series = family("fleetpoll_device_supply_series_suppressed_total",
                           "Per-device supply series left out by the cap, summed over scrapes.",
                           MetricType::Counter);
  add_counter(sup_series, suppressed_series_.load());
  out.push_back(std::move(sup_series));
  auto errors =
      family("fleetpoll_status_source_errors_total",
             "Scrapes in which the status data (storage) could not be read.", MetricType::Counter);
  add_counter(errors, source_errors_.load());
  out.push_back(std::move(errors));
  return out;
}

}  // namespace fleetpoll::web
