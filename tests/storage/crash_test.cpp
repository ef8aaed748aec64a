// The crash test: a separate writer process ingests a simulated fleet continuously and acts as
// the uplink (reads batches, acknowledges them out of order); it is killed with SIGKILL at ten
// random moments. After each kill the database must open, the outbox and the event history must
// hold every sequence number from 1 to the last exactly once (the outbox without the
// acknowledged ones), no acknowledged record may be back, and no device may have lost the state
// that went with its records (its identity is reported once across all the runs).
//
// The writer is tests/storage/crash_writer.cpp (a stand-in until the engine exists). To point the
// test at another writer — the engine polling fleetsim — set FLEETPOLL_CRASH_WRITER to its
// command line; "{db}", "{log}", "{seed}" and "{start}" in it are replaced. It must keep the
// contract written at the top of crash_writer.cpp. FLEETPOLL_CRASH_SEED replays a run's moments.
#include <fcntl.h>

#include <fstream>
#include <random>
#include <set>
#include <sstream>

#include "child_process.hpp"
#include "storage_test_support.hpp"

namespace fleetpoll::storage::test {
namespace {

using namespace std::chrono_literals;

std::vector<std::string> writer_command(const fs::path& db, const fs::path& log, unsigned seed,
                                        std::uint64_t start) {
  std::string cmd;
  if (const char* e = std::getenv("FLEETPOLL_CRASH_WRITER")) {
    cmd = e;
  } else {
    cmd = std::string(FLEETPOLL_BINARY_DIR) +
          "/tests/storage/storage_crash_writer --db {db} --log {log} --seed {seed} --start-ms "
          "{start} --devices 40";
  }
  auto subst = [&](const std::string& key, const std::string& value) {
    for (auto p = cmd.find(key); p != std::string::npos; p = cmd.find(key))
      cmd.replace(p, key.size(), value);
  };
  subst("{db}", db.string());
  subst("{log}", log.string());
  subst("{seed}", std::to_string(seed));
  subst("{start}", std::to_string(start));
  std::vector<std::string> argv;
  std::istringstream words(cmd);
  for (std::string w; words >> w;) argv.push_back(w);
  return argv;
}

struct uplink_log {
  std::vector<std::pair<std::uint64_t, std::uint64_t>> read, acked;
};
uplink_log parse_log(const fs::path& p) {
  uplink_log out;
  std::ifstream in(p);
  std::string what;
  std::uint64_t a = 0, b = 0;
  while (in >> what >> a >> b) (what == "A" ? out.acked : out.read).emplace_back(a, b);
  return out;
}

TEST(StorageCrash, TenKillsLoseNothingAndRepeatNothing) {
  temp_dir dir;
  const auto db_path = dir.path() / "db";
  const auto log_path = dir.path() / "uplink.log";
  unsigned seed = std::random_device{}();
  if (const char* e = std::getenv("FLEETPOLL_CRASH_SEED"))
    seed = static_cast<unsigned>(std::strtoul(e, nullptr, 10));
  std::printf("crash test seed %u (FLEETPOLL_CRASH_SEED=%u replays these moments)\n", seed, seed);
  RecordProperty("seed", static_cast<int>(seed));
  std::mt19937 rng(seed);
  std::uint64_t previous_last = 0;
  int kills = 0;
  for (int run = 0; run < 10; ++run) {
    const std::uint64_t start =
        testing::sim_epoch_ms + static_cast<std::uint64_t>(run) * 7 * testing::day_ms;
    child_process writer(writer_command(db_path, log_path, static_cast<unsigned>(run + 1), start));
    ASSERT_TRUE(writer.started());
    auto l = writer.line(60s);
    ASSERT_TRUE(l && *l == "ready") << "run " << run << ": the writer did not open the database";
    // A random moment: after 1..30 progress reports (200 polls each), plus up to 30 ms.
    const int reports = 1 + static_cast<int>(rng() % 30);
    for (int i = 0; i < reports; ++i)
      ASSERT_TRUE(writer.line(60s)) << "run " << run << ": the writer stopped";
    writer.wait_output(std::chrono::milliseconds(rng() % 30));
    writer.kill(SIGKILL);
    const int status = writer.wait();
    ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
        << "run " << run << ": ended before the kill";
    ++kills;

    // The database opens.
    store_options o = test_options(dir.path());
    o.site_id = "crash-site";
    o.clock = [] { return testing::sim_epoch_ms + 80 * testing::day_ms; };
    std::unique_ptr<store> db;
    std::string detail;
    ASSERT_FALSE(store::open(o, db, &detail)) << "run " << run << ": " << detail;
    auto& ob = db->outbox();
    const std::uint64_t last = ob.last_seq();
    EXPECT_GT(last, previous_last) << "run " << run << ": nothing appended";
    previous_last = last;

    // The outbox: ordered, verified, each record's own seq equal to its key.
    std::vector<outbox_entry> batch;
    std::set<std::uint64_t> in_outbox;
    for (std::uint64_t after = 0;;) {
      ASSERT_FALSE(ob.read(after, 5000, 64u << 20, batch));
      if (batch.empty()) break;
      for (const auto& e : batch) {
        ASSERT_GT(e.seq, after);
        const auto bytes =
            std::span(reinterpret_cast<const std::uint8_t*>(e.bytes.data()), e.bytes.size());
        ASSERT_TRUE(codecs::verify_change_record(bytes));
        ASSERT_EQ(codecs::change_record_of(bytes)->seq(), e.seq);
        in_outbox.insert(e.seq);
        after = e.seq;
      }
    }
    EXPECT_EQ(ob.depth(), in_outbox.size());
    EXPECT_EQ(ob.first_unacknowledged(), in_outbox.empty() ? last + 1 : *in_outbox.begin());

    // The history holds every sequence number exactly once; each device reported its identity
    // once over all the runs.
    std::vector<device_view> devs;
    ASSERT_FALSE(db->devices(devs, false));
    std::vector<std::uint64_t> seqs;
    for (const auto& d : devs) {
      history_result h;
      ASSERT_FALSE(db->history(d.device_id, {}, h));
      int identities = 0;
      for (const auto& e : h.events) {
        const auto* r = codecs::change_record_of(
            std::span(reinterpret_cast<const std::uint8_t*>(e.data()), e.size()));
        seqs.push_back(r->seq());
        identities += r->kind() == ChangeKind::identity ? 1 : 0;
        ASSERT_EQ(r->device_id(), d.device_id);
      }
      EXPECT_EQ(identities, 1) << "run " << run << " device " << d.address;
    }
    std::sort(seqs.begin(), seqs.end());
    ASSERT_EQ(seqs.size(), last) << "run " << run << ": sequence numbers missing or repeated";
    for (std::size_t i = 0; i < seqs.size(); ++i) ASSERT_EQ(seqs[i], i + 1) << "run " << run;

    // Acknowledged records stay gone; only records handed out can be gone.
    const auto log = parse_log(log_path);
    for (const auto& [a, b] : log.acked)
      for (auto s = a; s <= b; ++s)
        ASSERT_EQ(in_outbox.count(s), 0u) << "run " << run << ": acknowledged " << s << " is back";
    std::set<std::uint64_t> handed_out;
    for (const auto& [a, b] : log.read)
      for (auto s = a; s <= b; ++s) handed_out.insert(s);
    for (std::uint64_t s = 1; s <= last; ++s) {
      if (in_outbox.count(s)) continue;
      ASSERT_TRUE(handed_out.count(s)) << "run " << run << ": " << s << " gone unsent";
    }
  }
  EXPECT_EQ(kills, 10);
}

}  // namespace
}  // namespace fleetpoll::storage::test
