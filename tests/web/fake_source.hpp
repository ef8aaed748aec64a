// A status_source with fixed data for the web tests (a fake at the seam; the engine's real one
// is web/src/storage_status_source.cpp). Counts its calls; can be told to fail.
#pragma once

#include <boost/asio/io_context.hpp>

#include <atomic>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "fleetpoll/metrics/http_server.hpp"
#include "fleetpoll/web/error.hpp"
#include "fleetpoll/web/status_source.hpp"

namespace fleetpoll::web::test {

class fake_source final : public status_source {
 public:
  std::error_code devices(std::vector<device_row>& out) override {
    std::lock_guard lock(m);
    ++device_list_calls;
    if (fail) return std::make_error_code(std::errc::io_error);
    out.clear();
    for (const auto& d : details) out.push_back(d.row);
    return {};
  }
  std::error_code device(std::string_view id, device_detail& out) override {
    std::lock_guard lock(m);
    if (fail) return std::make_error_code(std::errc::io_error);
    for (const auto& d : details)
      if (d.row.id == id) {
        out = d;
        return {};
      }
    return error::not_found;
  }
  uplink_state uplink() override {
    std::lock_guard lock(m);
    return up;
  }

  std::mutex m;
  std::vector<device_detail> details;
  uplink_state up;
  bool fail = false;
  int device_list_calls = 0;
};

// A metrics::http_server on an ephemeral loopback port, its io_context run by a thread; stopped
// and joined by the destructor, whatever the test did.
class serving {
 public:
  serving() : server_(io_, options()) {}
  ~serving() {
    server_.stop();
    if (runner_.joinable()) runner_.join();
  }
  serving(const serving&) = delete;
  serving& operator=(const serving&) = delete;

  metrics::http_server& server() { return server_; }
  // Starts the server and the thread; false when the server did not start.
  bool start() {
    if (server_.start()) return false;
    runner_ = std::thread([this] { io_.run(); });
    return true;
  }
  std::uint16_t port() const { return server_.port(); }
  static metrics::http_server_options options() {
    metrics::http_server_options o;
    o.port = 0;
    return o;
  }

 private:
  boost::asio::io_context io_;
  metrics::http_server server_;
  std::thread runner_;
};

// A plain device with one black toner at `percent`.
inline device_detail make_device(std::string id, std::string name, double percent,
                                 std::uint64_t first_seen_ms = 1'700'000'000'000) {
  device_detail d;
  d.row.id = std::move(id);
  d.row.name = std::move(name);
  d.row.address = "127.1.0." + d.row.id + ":161";
  d.row.vendor = "HP";
  d.row.model = "LaserJet";
  d.row.first_seen_ms = first_seen_ms;
  d.row.last_seen_ms = first_seen_ms;
  supply_row s;
  s.index = 1;
  s.description = "Black Toner";
  s.colorant = "black";
  s.percent = percent;
  s.low = percent <= 10;
  s.empty = percent <= 0;
  d.row.supplies.push_back(s);
  supply_detail sd;
  sd.supply = s;
  d.supplies.push_back(sd);
  return d;
}

}  // namespace fleetpoll::web::test
