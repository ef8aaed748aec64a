// Reading while another process writes: the writer — the engine polling fleetsim through real
// UDP into the store (engine_crash_writer.cpp) — keeps the database open and busy; the real
// `fleetpoll devices`, `history` and `export` run as separate processes against it. A second
// writer is refused.
#include <gmock/gmock.h>

#include <boost/json.hpp>

#include "child_process.hpp"
#include "storage_test_support.hpp"

namespace fleetpoll::storage::test {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;

const std::string fleetpoll_program = std::string(FLEETPOLL_BINARY_DIR) + "/engine/fleetpoll";
const std::string writer_program =
    std::string(FLEETPOLL_BINARY_DIR) + "/tests/storage/storage_engine_crash_writer";

struct run_result {
  int exit_code = -1;
  std::vector<std::string> lines;
};

run_result run(const std::vector<std::string>& argv) {
  child_process c(argv);
  run_result r;
  while (auto l = c.line(60s)) r.lines.push_back(*l);
  const int status = c.wait();
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

TEST(StorageTwoProcesses, QueriesReadTheDatabaseWhileTheWriterRuns) {
  temp_dir dir;
  const auto db = (dir.path() / "db").string();
  const std::uint16_t port = free_udp_port();
  ASSERT_NE(port, 0);
  child_process writer({writer_program, "--db", db, "--log", (dir.path() / "log").string(),
                        "--port", std::to_string(port), "--devices", "30", "--progress-every",
                        "20"});  // killed at the end
  ASSERT_TRUE(writer.started());
  ASSERT_EQ(writer.line(60s).value_or(""), "ready");
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(writer.line(60s));  // 100 polls in

  // Every device, as JSON lines, while the writer goes on writing.
  const auto devices = run({fleetpoll_program, "devices", "--db", db, "--json"});
  ASSERT_EQ(devices.exit_code, 0);
  ASSERT_EQ(devices.lines.size(), 30u);
  // fleetsim's three built-in templates, in turn: a colour MFP (serial, 9 supplies), a mono
  // laser (no serial column, supplies) and an alert-edge device (neither).
  std::string address;
  int with_serial = 0, with_supplies = 0;
  for (const auto& l : devices.lines) {
    const auto v = boost::json::parse(l).as_object();
    EXPECT_TRUE(v.contains("vendor") && v.contains("model")) << l;
    with_serial += v.contains("serial") ? 1 : 0;
    with_supplies += v.at("supplies").as_array().empty() ? 0 : 1;
    if (v.contains("serial")) address = std::string(v.at("address").as_string());
  }
  EXPECT_EQ(with_serial, 10);
  EXPECT_EQ(with_supplies, 20);
  ASSERT_TRUE(writer.line(60s));  // still writing
  const auto low = run({fleetpoll_program, "devices", "--db", db, "--low"});
  EXPECT_EQ(low.exit_code, 0);
  ASSERT_FALSE(low.lines.empty());
  EXPECT_THAT(low.lines.back(), HasSubstr("of 30 devices shown"));
  const auto history = run({fleetpoll_program, "history", address, "--db", db, "--since", "all"});
  EXPECT_EQ(history.exit_code, 0);
  ASSERT_GE(history.lines.size(), 3u);
  EXPECT_THAT(history.lines[0], HasSubstr(address));
  EXPECT_THAT(history.lines[1], HasSubstr("events (all): "));
  EXPECT_THAT(history.lines[2], HasSubstr("identity"));
  const auto csv =
      run({fleetpoll_program, "export", "--db", db, "--format", "csv", "--what", "devices"});
  EXPECT_EQ(csv.exit_code, 0);
  EXPECT_EQ(csv.lines.size(), 31u);  // header + 30

  // A second writer is refused, with the reason.
  child_process second({writer_program, "--db", db, "--log", (dir.path() / "log2").string(),
                        "--port", std::to_string(free_udp_port())});
  while (auto l = second.line(60s)) EXPECT_NE(*l, "ready");
  const int status = second.wait();
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 1);
  EXPECT_FALSE(writer.ended());
}

}  // namespace
}  // namespace fleetpoll::storage::test
