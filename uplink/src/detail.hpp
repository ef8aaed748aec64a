// Internal helpers shared by uplink's .cpp files (not part of the public headers).
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <chrono>
#include <cstdint>
#include <future>
#include <memory>

#include <thread>
#include "wall_clock.hpp"

namespace fleetpoll::uplink::detail {

// Runs `fn` on `strand` and waits (at most 5 s) for it: inline when already on the strand or when
// the io_context is not running any more.
template <typename Fn>
void run_on_strand_and_wait(boost::asio::io_context& io,
                            boost::asio::strand<boost::asio::io_context::executor_type>& strand,
                            Fn fn) {
  if (io.stopped() || strand.running_in_this_thread()) {
    fn();
    return;
  }
  auto done = std::make_shared<std::promise<void>>();
  auto fut = done->get_future();
  boost::asio::post(strand, [fn, done] {
    fn();
    done->set_value();
  });
  fut.wait_for(std::chrono::seconds(5));
}

// Waits (at most 2 s) until `done` — evaluated on the strand — holds; returns at once when the
// io_context is not running or the caller is on the strand.
template <typename Pred>
void wait_for_connections(boost::asio::io_context& io,
                          boost::asio::strand<boost::asio::io_context::executor_type>& strand,
                          Pred done) {
  if (io.stopped() || strand.running_in_this_thread()) return;
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  while (std::chrono::steady_clock::now() < until) {
    auto p = std::make_shared<std::promise<bool>>();
    auto f = p->get_future();
    boost::asio::post(strand, [p, done] { p->set_value(done()); });
    if (f.wait_for(std::chrono::milliseconds(500)) != std::future_status::ready) return;
    if (f.get()) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

}  // namespace fleetpoll::uplink::detail
