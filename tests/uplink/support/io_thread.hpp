// Test helper: an io_context run by one thread for the life of the object, and a bounded wait.
#pragma once

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <chrono>
#include <functional>
#include <thread>

namespace fleetpoll::uplink::test {

class io_thread {
 public:
  io_thread() : guard_(io.get_executor()), thread_([this] { io.run(); }) {}
  ~io_thread() { stop(); }
  void stop() {
    guard_.reset();
    io.stop();
    if (thread_.joinable()) thread_.join();
  }
  boost::asio::io_context io;

 private:
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> guard_;
  std::thread thread_;
};

// Polls `done` every 5 ms until it holds or `bound` passes; returns its last value. The poll
// interval only paces the check: the test waits for the state, never for a fixed time.
inline bool wait_until(const std::function<bool()>& done, std::chrono::milliseconds bound) {
  auto until = std::chrono::steady_clock::now() + bound;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= until) return done();
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

}  // namespace fleetpoll::uplink::test
