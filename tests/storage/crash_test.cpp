// The crash test: a separate writer process — the real engine polling fleetsim through real UDP
// on loopback into storage::engine_sink and a RocksDB store (engine_crash_writer.cpp) — runs
// while a thread of it acts as the uplink (reads batches through storage::outbox_source,
// acknowledges them out of order); it is killed with SIGKILL at ten seeded random moments. After
// each kill the database must open, the outbox and the event history must hold every sequence
// number from 1 to the last exactly once (the outbox without the acknowledged ones), no
// acknowledged record may be back, and no device may have lost the state that went with its records
// (its identity is reported once across all the runs).
//
// To point the test at another writer — e.g. the store-only stand-in storage_crash_writer — set
// FLEETPOLL_CRASH_WRITER to its command line; "{db}", "{log}", "{seed}", "{start}" (simulated
// Unix ms), "{start_s}" (seconds) and "{port}" (a free loopback UDP port, the same in every run)
// in it are replaced. It must keep the contract written at the top of engine_crash_writer.cpp.
// FLEETPOLL_CRASH_SEED replays a run's moments.
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
                                        std::uint64_t start, std::uint16_t port) {
  std::string cmd;
  if (const char* e = std::getenv("FLEETPOLL_CRASH_WRITER")) {
    cmd = e;
  } else {
    cmd = std::string(FLEETPOLL_BINARY_DIR) +
          "/tests/storage/storage_engine_crash_writer --db {db} --log {log} --seed {seed} "
          "--start-s {start_s} --port {port} --devices 300 --progress-every 100";
  }
  auto subst = [&](const std::string& key, const std::string& value) {
    for (auto p = cmd.find(key); p != std::string::npos; p = cmd.find(key))
      cmd.replace(p, key.size(), value);
  };
  subst("{db}", db.string());
  subst("{log}", log.string());
  subst("{seed}", std::to_string(seed));
  // fleetsim's simulated seconds start at its own epoch (2026-01-05T09:00:00Z).
  subst("{start_s}", std::to_string(1767603600 + (start - testing::sim_epoch_ms) / 1000));
  subst("{start}", std::to_string(start));
  subst("{port}", std::to_string(port));
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
  const std::uint16_t port = free_udp_port();
  ASSERT_NE(port, 0);
  for (int run = 0; run < 10; ++run) {
    const std::uint64_t start =
        testing::sim_epoch_ms + static_cast<std::uint64_t>(run) * 7 * testing::day_ms;
    const auto run_start = std::chrono::steady_clock::now();
    child_process writer(
        writer_command(db_path, log_path, static_cast<unsigned>(run + 1), start, port));
    ASSERT_TRUE(writer.started());
    auto l = writer.line(60s);
    ASSERT_TRUE(l && *l == "ready") << "run " << run << ": the writer did not open the database";
    // A random moment: after 1..12 progress reports (100 polls each with the engine writer: a
    // third of a second at its 300 polls/s), plus up to 30 ms.
    const int reports = 1 + static_cast<int>(rng() % 12);
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
    // The engine writer stamps records with the wall clock, the stand-in with simulated 2024
    // times: the wall clock and a century of retention see both.
    o.retention = std::chrono::hours(24 * 365 * 100);
    std::unique_ptr<store> db;
    std::string detail;
    ASSERT_FALSE(store::open(o, db, &detail)) << "run " << run << ": " << detail;
    auto& ob = db->outbox();
    const std::uint64_t last = ob.last_seq();
    EXPECT_GT(last, previous_last) << "run " << run << ": nothing appended";
    std::printf("run %d: killed after %d progress reports, %.1f s after its start; last seq %llu\n",
                run, reports,
                std::chrono::duration<double>(std::chrono::steady_clock::now() - run_start).count(),
                static_cast<unsigned long long>(last));
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

    // The history holds every sequence number exactly once. No device lost its state: its
    // first-sight identity came once over all the runs, and every later identity record reports
    // a real change (fleetsim updates firmware) — a device that had lost its state would report
    // the same identity again.
    std::vector<device_view> devs;
    ASSERT_FALSE(db->devices(devs, false));
    std::vector<std::uint64_t> seqs;
    auto identity_text = [](const schema::IdentityChange* i) {
      auto str = [](const flatbuffers::String* v) { return v ? v->str() : std::string("-"); };
      return str(i->vendor()) + "|" + str(i->model()) + "|" + str(i->serial()) + "|" +
             str(i->firmware()) + "|" + str(i->mac()) + "|" + str(i->sys_name()) + "|" +
             str(i->sys_location()) + "|" + str(i->printer_name());
    };
    for (const auto& d : devs) {
      history_result h;
      history_query events_only;
      events_only.samples = false;
      ASSERT_FALSE(db->history(d.device_id, events_only, h));
      std::vector<const schema::ChangeRecord*> identities;
      std::uint64_t first_seq = UINT64_MAX;
      for (const auto& e : h.events) {
        const auto* r = codecs::change_record_of(
            std::span(reinterpret_cast<const std::uint8_t*>(e.data()), e.size()));
        seqs.push_back(r->seq());
        first_seq = std::min<std::uint64_t>(first_seq, r->seq());
        if (r->kind() == ChangeKind::identity) identities.push_back(r);
        ASSERT_EQ(r->device_id(), d.device_id);
      }
      std::sort(identities.begin(), identities.end(),
                [](auto* a, auto* b) { return a->seq() < b->seq(); });
      ASSERT_FALSE(identities.empty()) << "run " << run << " device " << d.address;
      EXPECT_EQ(identities.front()->seq(), first_seq) << "run " << run << " " << d.address;
      for (std::size_t i = 1; i < identities.size(); ++i)
        EXPECT_NE(identity_text(identities[i]->identity()),
                  identity_text(identities[i - 1]->identity()))
            << "run " << run << " device " << d.address << ": identity reported again unchanged";
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
