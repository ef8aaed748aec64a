// History, the time series stored on change plus heartbeat, retention, metrics, and the
// devices / history / export commands (in process here; across processes in
// two_process_test.cpp).
#include <gmock/gmock.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <sstream>

#include "fleetpoll/storage/commands.hpp"
#include "storage_test_support.hpp"

namespace fleetpoll::storage::test {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
constexpr std::uint64_t minute = 60'000, day = 86'400'000;

double metric(prometheus::Registry& reg, const std::string& name, const std::string& label = "") {
  for (const auto& f : reg.Collect()) {
    if (f.name != name) continue;
    for (const auto& m : f.metric) {
      if (!label.empty() && (m.label.empty() || m.label[0].value != label)) continue;
      return f.type == prometheus::MetricType::Counter ? m.counter.value : m.gauge.value;
    }
  }
  return -1;
}

class StorageQueries : public store_fixture {
 protected:
  void SetUp() override {
    auto o = options();
    o.metrics = &reg_;
    open_with(o);
  }
  // The store's maintenance thread updates metrics on reg_ every second: close it before reg_
  // (a member of this class) goes, which is before the base class's db_ would.
  void TearDown() override { db_.reset(); }
  prometheus::Registry reg_;
};

TEST_F(StorageQueries, SamplesAreStoredOnChangeNotEveryPoll) {
  auto d = testing::office_mfp(1);
  poll(d);
  const auto first = metric(reg_, "fleetpoll_storage_samples_written_total");
  EXPECT_GT(first, 0);
  for (int i = 0; i < 20; ++i) {
    advance(5 * minute);
    poll(d);  // nothing changes
  }
  EXPECT_EQ(metric(reg_, "fleetpoll_storage_samples_written_total"), first);
  EXPECT_EQ(metric(reg_, "fleetpoll_storage_records_appended_total"),
            static_cast<double>(db_->outbox().last_seq()));
  // Most of those polls wrote nothing at all; every other one refreshed the last-seen time
  // (touch_period 10 min at a 5 min cadence).
  EXPECT_EQ(metric(reg_, "fleetpoll_storage_polls_total", "unchanged"), 10);
  EXPECT_EQ(metric(reg_, "fleetpoll_storage_polls_total", "written"), 11);
  d.supplies[0].level = 99;
  advance(5 * minute);
  const auto st = poll(d, supplies_class);
  EXPECT_EQ(st.samples, 1u);
  EXPECT_EQ(st.records, 0u);  // one point is below every record threshold
  history_result h;
  history_query q;
  q.supply_index = 1;
  ASSERT_FALSE(db_->history(db_->device_id("127.1.0.1:1161"), q, h));
  ASSERT_EQ(h.samples.size(), 2u);
  EXPECT_EQ(*h.samples[0].level, 100);
  EXPECT_EQ(*h.samples[1].level, 99);
  EXPECT_EQ(h.samples[1].at_ms, now_);
  EXPECT_EQ(h.samples[1].quality, schema::LevelQuality::percent_only);
  // Events of that supply only: its supply_added.
  ASSERT_EQ(h.events.size(), 1u);
}

TEST_F(StorageQueries, HistoryReturnsTheDevicesEventsInTimeOrderWithinTheRange) {
  auto d = testing::office_mfp(1);
  poll(d);
  const std::uint64_t t1 = now_;
  for (int i = 1; i <= 5; ++i) {
    advance(day);
    d.supplies[0].level = 100 - 15 * i;
    poll(d);
  }
  const auto id = db_->device_id("127.1.0.1:1161");
  history_result h;
  history_query q;
  ASSERT_FALSE(db_->history(id, q, h));
  std::uint64_t prev = 0;
  for (const auto& e : h.events) {
    const auto* r = codecs::change_record_of(
        std::span(reinterpret_cast<const std::uint8_t*>(e.data()), e.size()));
    EXPECT_GE(r->at_ms(), prev);
    prev = r->at_ms();
    EXPECT_EQ(r->device_id(), id);
  }
  EXPECT_EQ(h.events.size(), db_->outbox().last_seq());  // one device: every record is its own
  q.since_ms = t1 + 2 * day;
  q.until_ms = t1 + 3 * day;
  ASSERT_FALSE(db_->history(id, q, h));
  for (const auto& e : h.events) {
    const auto* r = codecs::change_record_of(
        std::span(reinterpret_cast<const std::uint8_t*>(e.data()), e.size()));
    EXPECT_GE(r->at_ms(), q.since_ms);
    EXPECT_LE(r->at_ms(), q.until_ms);
  }
  EXPECT_FALSE(h.events.empty());
  for (const auto& m : h.samples) {
    EXPECT_GE(m.at_ms, q.since_ms);
    EXPECT_LE(m.at_ms, q.until_ms);
  }
  EXPECT_EQ(db_->history(9999, q, h), make_error_code(error::not_found));
}

TEST_F(StorageQueries, RetentionDropsWholeExpiredWeeksAndQueriesNeverShowOlderData) {
  auto d = testing::office_mfp(1);
  poll(d);                         // day 0
  for (int i = 1; i <= 30; ++i) {  // a month of daily changes
    advance(day);
    d.supplies[0].level = 100 - 3 * i;
    d.markers[0].life_count = 1000u * static_cast<unsigned>(i);
    poll(d);
  }
  const auto id = db_->device_id("127.1.0.1:1161");
  history_result before;
  ASSERT_FALSE(db_->history(id, {}, before));
  // 400 days later (the default retention) plus two weeks: the first weeks have expired.
  advance(414 * day - 30 * day);
  d.supplies[0].level = 5;
  poll(d);
  std::uint64_t deleted = 0;
  ASSERT_FALSE(db_->enforce_retention(&deleted));
  // The store's own hourly pass may have got there first; together they deleted the old weeks.
  const double counted = metric(reg_, "fleetpoll_storage_retention_deleted_total", "samples") +
                         metric(reg_, "fleetpoll_storage_retention_deleted_total", "events");
  EXPECT_GT(counted, 0);
  EXPECT_GE(counted, static_cast<double>(deleted));
  history_result after;
  ASSERT_FALSE(db_->history(id, {}, after));
  const std::uint64_t cutoff = now_ - 400 * day;
  for (const auto& m : after.samples) EXPECT_GE(m.at_ms, cutoff);
  for (const auto& e : after.events)
    EXPECT_GE(codecs::change_record_of(
                  std::span(reinterpret_cast<const std::uint8_t*>(e.data()), e.size()))
                  ->at_ms(),
              cutoff);
  EXPECT_LT(after.events.size(), before.events.size() + 10);
  EXPECT_FALSE(after.events.empty());
  // The outbox is exempt: nothing was acknowledged, nothing of it is gone.
  EXPECT_EQ(db_->outbox().depth(), db_->outbox().last_seq());
  // A second pass finds nothing more.
  ASSERT_FALSE(db_->enforce_retention(&deleted));
  EXPECT_EQ(deleted, 0u);
}

TEST_F(StorageQueries, MetricsCountWritesRecordsAndTheOutbox) {
  poll(testing::office_mfp(1));
  const double appended = metric(reg_, "fleetpoll_storage_records_appended_total");
  EXPECT_EQ(appended, static_cast<double>(db_->outbox().last_seq()));
  EXPECT_EQ(metric(reg_, "fleetpoll_storage_outbox_depth"), appended);
  EXPECT_EQ(metric(reg_, "fleetpoll_storage_outbox_last_seq"), appended);
  EXPECT_EQ(metric(reg_, "fleetpoll_storage_writes_total"), 1);
  EXPECT_EQ(metric(reg_, "fleetpoll_storage_writable"), 1);
  advance(90'000);
  ASSERT_FALSE(db_->outbox().acknowledge(1, 3));
  EXPECT_EQ(metric(reg_, "fleetpoll_storage_records_acknowledged_total"), 3);
  EXPECT_EQ(metric(reg_, "fleetpoll_storage_outbox_depth"), appended - 3);
  EXPECT_EQ(metric(reg_, "fleetpoll_storage_outbox_oldest_age_seconds"), 90);
  poll_record bad;
  bad.address = "x";
  EXPECT_TRUE(db_->ingest(bad));
  EXPECT_EQ(metric(reg_, "fleetpoll_storage_polls_total", "rejected"), 1);
  EXPECT_EQ(metric(reg_, "fleetpoll_storage_write_errors_total", "no_space"), 0);
  // Every family serializes (the exposition promtool checks in the metrics tests).
  const auto text = prometheus::TextSerializer().Serialize(reg_.Collect());
  EXPECT_THAT(text, HasSubstr("# TYPE fleetpoll_storage_outbox_depth gauge"));
  EXPECT_THAT(text, HasSubstr("fleetpoll_storage_write_errors_total{error=\"io_error\"} 0"));
}

class StorageCommands : public store_fixture {
 protected:
  void SetUp() override {
    // Commands use the wall clock: keep the data recent so retention does not hide it.
    now_ = detail_now() - 3 * day;
    store_fixture::SetUp();
    auto low = testing::office_mfp(1);
    low.supplies[1].level = 8;  // cyan low
    low.alerts.push_back({1, 4, 3, 11, 2, 0, 1104, "Cyan toner almost empty", 0});
    poll(low, all_classes, "127.1.0.1:1161");
    poll(testing::mono_laser(2), all_classes, "127.1.0.2:1161");
    advance(day);
    low.supplies[1].level = 6;
    poll(low, all_classes, "127.1.0.1:1161");
    db_path_ = (dir_.path() / "db").string();
  }
  static std::uint64_t detail_now() {
    return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                          std::chrono::system_clock::now().time_since_epoch())
                                          .count());
  }
  std::string db_path_;
};

TEST_F(StorageCommands, DevicesListsEveryPrinterAndFiltersLowAndAlerts) {
  std::ostringstream out, err;
  devices_options o;
  o.db = db_path_;
  EXPECT_EQ(run_devices(o, out, err), 0) << err.str();
  EXPECT_THAT(out.str(), HasSubstr("127.1.0.1:1161"));
  EXPECT_THAT(out.str(), HasSubstr("127.1.0.2:1161"));
  EXPECT_THAT(out.str(), HasSubstr("2 of 2 devices shown; 1 low, 1 with alerts, 0 down"));
  std::ostringstream low;
  o.low = true;
  EXPECT_EQ(run_devices(o, low, err), 0);
  EXPECT_THAT(low.str(), HasSubstr("E00000001"));
  EXPECT_THAT(low.str(), Not(HasSubstr("U00000002")));
  EXPECT_THAT(low.str(), HasSubstr("LOW     Print Cartridge Cyan IM C3000: 6%"));
  std::ostringstream js;
  o.low = false;
  o.alerts = true;
  o.json = true;
  EXPECT_EQ(run_devices(o, js, err), 0);
  const auto line = js.str();
  EXPECT_EQ(std::count(line.begin(), line.end(), '\n'), 1);
  EXPECT_THAT(line, HasSubstr("\"code\":\"markerTonerAlmostEmpty\""));
  EXPECT_THAT(line, HasSubstr("\"forecast\":{"));
}

TEST_F(StorageCommands, HistoryShowsEventsAndOneSuppliesSamples) {
  std::ostringstream out, err;
  history_options o;
  o.db = db_path_;
  o.device = "127.1.0.1:1161";
  o.since = "all";
  EXPECT_EQ(run_history(o, out, err), 0) << err.str();
  EXPECT_THAT(out.str(), HasSubstr("supply_low"));
  EXPECT_THAT(out.str(), HasSubstr("alert_raised"));
  std::ostringstream cyan;
  o.supply = "cyan";
  EXPECT_EQ(run_history(o, cyan, err), 0) << err.str();
  EXPECT_THAT(cyan.str(), HasSubstr("samples: 2"));
  EXPECT_THAT(cyan.str(), HasSubstr("8/100 8% percent_only"));
  EXPECT_THAT(cyan.str(), Not(HasSubstr("Print Cartridge Black")));
  std::ostringstream js;
  o.json = true;
  EXPECT_EQ(run_history(o, js, err), 0);
  EXPECT_THAT(js.str(), HasSubstr("{\"type\":\"event\",\"record\":{"));
  EXPECT_THAT(js.str(), HasSubstr("\"type\":\"sample\""));
  std::ostringstream none, nerr;
  o.device = "nowhere";
  EXPECT_EQ(run_history(o, none, nerr), 1);
  EXPECT_THAT(nerr.str(), HasSubstr("no device 'nowhere'"));
  o.device = "1";
  o.since = "yesterday-ish";
  EXPECT_EQ(run_history(o, none, nerr), 2);
}

TEST_F(StorageCommands, ExportWritesCsvAndJsonLines) {
  std::ostringstream csv, err;
  export_options o;
  o.db = db_path_;
  o.format = "csv";
  EXPECT_EQ(run_export(o, csv, err), 0) << err.str();
  std::istringstream lines(csv.str());
  std::string header, row;
  std::getline(lines, header);
  EXPECT_EQ(header.substr(0, 30), "device_id,address,serial,at_ms");
  std::size_t rows = 0;
  while (std::getline(lines, row)) {
    ++rows;
    EXPECT_EQ(std::count(row.begin(), row.end(), ','),
              std::count(header.begin(), header.end(), ','));
  }
  EXPECT_GT(rows, 10u);
  std::ostringstream jl;
  o.format = "jsonl";
  o.what = "events";
  EXPECT_EQ(run_export(o, jl, err), 0);
  std::istringstream jlines(jl.str());
  std::size_t events = 0;
  while (std::getline(jlines, row)) {
    ++events;
    EXPECT_EQ(row.front(), '{');
    EXPECT_THAT(row, HasSubstr("\"seq\":"));
  }
  EXPECT_EQ(events, db_->outbox().last_seq());
  o.format = "xml";
  EXPECT_EQ(run_export(o, jl, err), 2);
}

TEST(StorageWhen, DurationsDatesAndAll) {
  const std::uint64_t now = 1'700'000'000'000;
  EXPECT_EQ(parse_when("all", now), 0u);
  EXPECT_EQ(parse_when("7d", now), now - 7 * day);
  EXPECT_EQ(parse_when("36h", now), now - 36 * 3'600'000);
  EXPECT_EQ(parse_when("90m", now), now - 90 * minute);
  EXPECT_EQ(parse_when("2024-01-01", now), testing::sim_epoch_ms);
  EXPECT_EQ(parse_when("2024-01-01T08:30:00Z", now),
            testing::sim_epoch_ms + 8 * 3'600'000 + 30 * minute);
  EXPECT_FALSE(parse_when("2024-13-01", now));
  EXPECT_FALSE(parse_when("soon", now));
  EXPECT_FALSE(parse_when("2024-01-01T08:30:00+02", now));
  EXPECT_EQ(iso_time(testing::sim_epoch_ms), "2024-01-01T00:00:00Z");
}

}  // namespace
}  // namespace fleetpoll::storage::test
