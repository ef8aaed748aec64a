// A real headless Chromium driven over the DevTools protocol, for tests of fleetpoll's pages.
//
// Chromium is started with --remote-debugging-pipe: commands go to its fd 3 and replies and
// events come back on its fd 4, as NUL-terminated JSON (the transport Playwright uses), so no
// port, no WebSocket and no npm package is involved. Flags follow debian-setup.md (headless,
// no sandbox as root, no background networking). Every wait is bounded by the timeout given to
// the constructor; a hung browser fails the test instead of stalling it.
//
// Ownership: owns the browser process and its temporary profile; the destructor kills and reaps
// the process and removes the profile. Thread safety: none (one test thread).
#pragma once

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include <boost/json/value.hpp>

namespace fleetpoll::test {

class cdp_browser {
 public:
  // Starts Chromium (CHROMIUM env variable, else /usr/bin/chromium). available() tells whether it
  // started; error() says why not.
  explicit cdp_browser(std::chrono::milliseconds timeout = std::chrono::seconds(30));
  ~cdp_browser();
  cdp_browser(const cdp_browser&) = delete;
  cdp_browser& operator=(const cdp_browser&) = delete;

  bool available() const noexcept { return pid_ > 0 && session_.size() > 0; }
  const std::string& error() const noexcept { return error_; }

  // Loads url and waits for its load event. False (with error()) on failure or timeout.
  bool navigate(std::string_view url);
  // Evaluates a JavaScript expression in the page; its value (returnByValue), or nullopt.
  std::optional<boost::json::value> evaluate(std::string_view expression);
  // Clicks the first element matching a CSS selector and waits for the navigation it starts.
  bool click_and_wait(std::string_view css_selector);
  // Saves a PNG screenshot of the page.
  bool screenshot(const std::filesystem::path& png);

 private:
  std::optional<boost::json::value> call(std::string_view method, boost::json::object params,
                                         bool on_page = true);
  bool wait_event(std::string_view method);
  std::optional<boost::json::value> read_message();
  bool send(const boost::json::object& message);

  std::chrono::milliseconds timeout_;
  int pid_ = -1;
  int to_browser_ = -1;    // our end of its fd 3
  int from_browser_ = -1;  // our end of its fd 4
  std::filesystem::path profile_;
  std::string session_;
  std::string buffer_;
  std::string error_;
  std::int64_t next_id_ = 1;
};

}  // namespace fleetpoll::test
