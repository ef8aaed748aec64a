// uplink_test_sender_child — a sending process for the SIGKILL test (tests/uplink/delivery_test).
//
//   uplink_test_sender_child --config sender.toml --outbox DIR --total N [--chunk K]
//
// Opens the file-backed TEST FAKE outbox in DIR (it survives SIGKILL), starts the sender from
// the config, appends test records until the outbox holds N (K per 2 ms, like a poller producing
// changes), and exits 0 once every record is acknowledged (3 if that takes over 120 s).
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>

#include "delivery_check.hpp"
#include "fake_outbox.hpp"
#include "fleetpoll/uplink/config.hpp"
#include "io_thread.hpp"

using namespace fleetpoll::uplink;
using namespace std::chrono_literals;

int main(int argc, char** argv) {
  std::string config, dir;
  std::uint64_t total = 0, chunk = 50;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--config") == 0) config = argv[i + 1];
    if (std::strcmp(argv[i], "--outbox") == 0) dir = argv[i + 1];
    if (std::strcmp(argv[i], "--total") == 0) total = std::stoull(argv[i + 1]);
    if (std::strcmp(argv[i], "--chunk") == 0) chunk = std::stoull(argv[i + 1]);
  }
  if (config.empty() || dir.empty() || total == 0) {
    std::fprintf(stderr, "usage: %s --config FILE --outbox DIR --total N [--chunk K]\n", argv[0]);
    return 2;
  }
  sender_options options;
  keyring keys;
  std::string why;
  if (auto ec = load_sender_config(config, options, keys, why)) {
    std::fprintf(stderr, "config: %s\n", why.c_str());
    return 2;
  }
  test::fake_outbox outbox(dir);
  std::fprintf(stderr, "child: outbox holds %llu, first unacknowledged %llu\n",
               static_cast<unsigned long long>(outbox.last_seq()),
               static_cast<unsigned long long>(outbox.first_unacknowledged()));
  test::io_thread io;
  sender s(io.io, outbox, keys, options);
  if (auto ec = s.start()) {
    std::fprintf(stderr, "start: %s\n", ec.message().c_str());
    return 2;
  }
  while (outbox.last_seq() < total) {
    for (std::uint64_t i = 0; i < chunk && outbox.last_seq() < total; ++i)
      outbox.append(test::test_record(outbox.last_seq() + 1));
    std::this_thread::sleep_for(2ms);  // production pacing, not a wait
  }
  bool ok = test::wait_until([&] { return outbox.depth() == 0; }, 120s);
  s.stop();
  io.stop();
  return ok ? 0 : 3;
}
