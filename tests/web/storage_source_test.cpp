// web::make_storage_status_source over a real storage::store (RocksDB files in a temporary
// folder): polls ingested over a week come back as device rows, a device page with supply
// history and a forecast, and the status page renders them. Built when fleetpoll::storage is.
#include <gtest/gtest.h>

#include <stdlib.h>

#include <filesystem>
#include <iostream>

#include "fleetpoll/codecs/printer_mib.hpp"
#include "fleetpoll/storage/store.hpp"
#include "fleetpoll/storage/testing/snapshot_builder.hpp"
#include "fleetpoll/web/error.hpp"
#include "fleetpoll/web/status_page.hpp"
#include "fleetpoll/web/storage_status_source.hpp"

namespace fleetpoll::web {
namespace {

namespace fs = std::filesystem;
namespace st = fleetpoll::storage;

constexpr std::uint64_t hour_ms = 3'600'000;
constexpr std::uint64_t t0 = 1'767'603'600'000;  // 2026-01-05 09:00 UTC

class temp_folder {
 public:
  temp_folder() {
    std::string tmpl = ::testing::TempDir() + "fleetpoll_web_XXXXXX";
    if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
  }
  ~temp_folder() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  temp_folder(const temp_folder&) = delete;
  temp_folder& operator=(const temp_folder&) = delete;
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

TEST(StorageStatusSource, RowsDetailHistoryAndForecastFromARealStore) {
  temp_folder dir;
  st::store_options so;
  so.path = dir.path() / "db";
  so.site_id = "site-test";
  so.min_free_bytes = 0;
  std::uint64_t now = t0;
  so.clock = [&now] { return now; };
  std::unique_ptr<st::store> store;
  std::string detail;
  ASSERT_FALSE(st::store::open(so, store, &detail)) << detail;

  // A colour MFP polled every 6 hours for 8 days; its black toner drains 1 % per poll from 90 %.
  auto spec = st::testing::office_mfp(1);
  const std::uint8_t classes = 0x1F;  // every codecs::mib::data_class
  int black = -1;
  for (std::size_t i = 0; i < spec.supplies.size(); ++i)
    if (spec.supplies[i].colorant == "black" && spec.supplies[i].max_capacity == 100)
      black = static_cast<int>(i);
  ASSERT_GE(black, 0);
  const int polls = 32;
  for (int p = 0; p < polls; ++p) {
    now = t0 + static_cast<std::uint64_t>(p) * 6 * hour_ms;
    spec.supplies[static_cast<std::size_t>(black)].level = 90 - p;
    spec.markers[0].life_count = 1000 + static_cast<std::uint64_t>(p) * 50;
    const auto snap = st::testing::build_snapshot(spec, now);
    st::poll_record r;
    r.address = "127.1.0.1:1161";
    r.at_ms = now;
    r.classes = classes;
    r.snapshot = {snap.data(), snap.size()};
    ASSERT_FALSE(store->ingest(r)) << "poll " << p;
  }

  storage_source_options o;
  o.clock = [&now] { return now; };
  o.uplink = [] {
    uplink_state u;
    u.configured = true;
    u.state = "ready";
    return u;
  };
  auto source = make_storage_status_source(*store, o);
  std::vector<device_row> rows;
  ASSERT_FALSE(source->devices(rows));
  ASSERT_EQ(rows.size(), 1u);
  const device_row& row = rows[0];
  EXPECT_EQ(row.address, "127.1.0.1:1161");
  EXPECT_EQ(row.name, spec.sys_name);
  EXPECT_EQ(row.serial, spec.serial);
  EXPECT_EQ(row.model, spec.model);
  EXPECT_TRUE(row.up);
  ASSERT_EQ(row.supplies.size(), spec.supplies.size());
  const auto& b = row.supplies[static_cast<std::size_t>(black)];
  ASSERT_TRUE(b.percent);
  EXPECT_NEAR(*b.percent, 90 - (polls - 1), 0.01);

  device_detail d;
  ASSERT_FALSE(source->device(row.id, d));
  ASSERT_EQ(d.supplies.size(), spec.supplies.size());
  const auto& bd = d.supplies[static_cast<std::size_t>(black)];
  EXPECT_GE(bd.history.size(), 3u);
  EXPECT_NEAR(bd.history.back().percent, 90 - (polls - 1), 0.01);
  EXPECT_TRUE(bd.forecast.available) << bd.forecast.reason;
  // 4 % a day from 59 %: about 14.75 days to empty.
  EXPECT_NEAR(bd.forecast.days_to_empty, 59.0 / 4.0, 1.5);
  std::cout << "black toner: " << bd.history.size() << " history points, forecast "
            << bd.forecast.days_to_empty << " days to empty, confidence " << bd.forecast.confidence
            << "\n";
  ASSERT_FALSE(d.counters.empty());
  EXPECT_EQ(d.counters[0].value, 1000u + (polls - 1) * 50u);
  EXPECT_EQ(source->device("999", d), error::not_found);
  EXPECT_EQ(source->device("x", d), error::not_found);

  // And the page renders it.
  std::shared_ptr<status_page> page;
  status_page_options po;
  po.clock = [&now] { return now; };
  ASSERT_FALSE(status_page::create(source, po, "127.0.0.1", page));
  const auto list = page->handle({"/status", "", std::nullopt});
  EXPECT_NE(list.body.find(spec.sys_name), std::string::npos);
  const auto dev = page->handle({"/status/device", "id=" + row.id, std::nullopt});
  ASSERT_EQ(dev.status, 200u) << dev.body;
  EXPECT_NE(dev.body.find("empty in "), std::string::npos);
  EXPECT_NE(dev.body.find("<polyline"), std::string::npos);
}

}  // namespace
}  // namespace fleetpoll::web
