#include "cdp_browser.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/json.hpp>

#include <array>
#include <cstdlib>
#include <fstream>
#include <vector>

namespace fleetpoll::test {
namespace json = boost::json;
namespace fs = std::filesystem;

namespace {

std::string base64_decode(std::string_view in) {
  static constexpr std::string_view chars =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    auto p = chars.find(c);
    if (p == std::string_view::npos) continue;  // '=' padding and whitespace
    acc = (acc << 6) | static_cast<std::uint32_t>(p);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xFF));
    }
  }
  return out;
}

}  // namespace

cdp_browser::cdp_browser(std::chrono::milliseconds timeout) : timeout_(timeout) {
  const char* env = std::getenv("CHROMIUM");
  const std::string exe = env != nullptr ? env : "/usr/bin/chromium";
  if (::access(exe.c_str(), X_OK) != 0) {
    error_ = exe + " not found (Debian package chromium; scripts/setup installs it)";
    return;
  }
  char tmpl[] = "/tmp/fleetpoll-chromium-XXXXXX";
  if (::mkdtemp(tmpl) == nullptr) {
    error_ = "mkdtemp failed";
    return;
  }
  profile_ = tmpl;
  int in[2], out[2];  // in: we write, it reads (fd 3); out: it writes (fd 4), we read
  if (::pipe2(in, O_CLOEXEC) != 0 || ::pipe2(out, O_CLOEXEC) != 0) {
    error_ = "pipe failed";
    return;
  }
  const std::string profile_flag = "--user-data-dir=" + profile_.string();
  std::vector<std::string> args{exe,
                                "--headless=new",
                                "--no-sandbox",
                                "--disable-gpu",
                                "--disable-quic",
                                "--no-first-run",
                                "--no-default-browser-check",
                                "--disable-background-networking",
                                "--disable-component-update",
                                "--disable-sync",
                                "--disable-extensions",
                                "--hide-scrollbars",
                                "--window-size=1280,900",
                                "--remote-debugging-pipe",
                                profile_flag,
                                "about:blank"};
  pid_ = ::fork();
  if (pid_ == 0) {
    ::dup2(in[0], 3);
    ::dup2(out[1], 4);
    int devnull = ::open("/dev/null", O_RDWR);
    ::dup2(devnull, 1);
    ::dup2(devnull, 2);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execv(exe.c_str(), argv.data());
    ::_exit(127);
  }
  ::close(in[0]);
  ::close(out[1]);
  to_browser_ = in[1];
  from_browser_ = out[0];
  if (pid_ < 0) {
    error_ = "fork failed";
    return;
  }
  auto target = call("Target.createTarget", {{"url", "about:blank"}}, false);
  if (!target) return;
  json::object attach{{"targetId", target->at("targetId")}, {"flatten", true}};
  auto attached = call("Target.attachToTarget", attach, false);
  if (!attached) return;
  session_ = std::string(attached->at("sessionId").as_string());
  if (!call("Page.enable", {})) session_.clear();
}

cdp_browser::~cdp_browser() {
  if (to_browser_ >= 0) ::close(to_browser_);
  if (from_browser_ >= 0) ::close(from_browser_);
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
  std::error_code ec;
  if (!profile_.empty()) fs::remove_all(profile_, ec);
}

bool cdp_browser::send(const json::object& message) {
  std::string text = json::serialize(message);
  text.push_back('\0');
  std::size_t done = 0;
  while (done < text.size()) {
    auto n = ::write(to_browser_, text.data() + done, text.size() - done);
    if (n <= 0) {
      error_ = "write to chromium failed";
      return false;
    }
    done += static_cast<std::size_t>(n);
  }
  return true;
}

std::optional<json::value> cdp_browser::read_message() {
  const auto deadline = std::chrono::steady_clock::now() + timeout_;
  while (true) {
    auto nul = buffer_.find('\0');
    if (nul != std::string::npos) {
      std::string msg = buffer_.substr(0, nul);
      buffer_.erase(0, nul + 1);
      boost::system::error_code ec;
      auto v = json::parse(msg, ec);
      if (ec) {
        error_ = "unparsable message from chromium";
        return std::nullopt;
      }
      return v;
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      error_ = "timed out waiting for chromium";
      return std::nullopt;
    }
    pollfd p{from_browser_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
    std::array<char, 65536> chunk{};
    auto n = ::read(from_browser_, chunk.data(), chunk.size());
    if (n <= 0) {
      error_ = "chromium closed the DevTools pipe";
      return std::nullopt;
    }
    buffer_.append(chunk.data(), static_cast<std::size_t>(n));
  }
}

std::optional<json::value> cdp_browser::call(std::string_view method, json::object params,
                                             bool on_page) {
  const std::int64_t id = next_id_++;
  json::object msg{{"id", id}, {"method", method}, {"params", std::move(params)}};
  if (on_page) msg["sessionId"] = session_;
  if (!send(msg)) return std::nullopt;
  while (auto m = read_message()) {
    const auto& o = m->as_object();
    const auto* mid = o.if_contains("id");
    if (mid == nullptr || mid->to_number<std::int64_t>() != id)
      continue;  // an event or another reply
    if (const auto* err = o.if_contains("error")) {
      error_ = std::string(method) + ": " + json::serialize(*err);
      return std::nullopt;
    }
    return o.at("result");
  }
  return std::nullopt;
}

bool cdp_browser::wait_event(std::string_view method) {
  while (auto m = read_message()) {
    const auto& o = m->as_object();
    if (const auto* mm = o.if_contains("method"); mm && mm->as_string() == method) return true;
  }
  return false;
}

bool cdp_browser::navigate(std::string_view url) {
  auto r = call("Page.navigate", {{"url", url}});
  if (!r) return false;
  if (const auto* e = r->as_object().if_contains("errorText")) {
    error_ = "navigate: " + std::string(e->as_string());
    return false;
  }
  return wait_event("Page.loadEventFired");
}

std::optional<json::value> cdp_browser::evaluate(std::string_view expression) {
  auto r = call("Runtime.evaluate", {{"expression", expression}, {"returnByValue", true}});
  if (!r) return std::nullopt;
  const auto& o = r->as_object();
  if (o.contains("exceptionDetails")) {
    error_ = "evaluate: " + json::serialize(o.at("exceptionDetails"));
    return std::nullopt;
  }
  const auto& res = o.at("result").as_object();
  if (const auto* v = res.if_contains("value")) return *v;
  return json::value(nullptr);
}

bool cdp_browser::click_and_wait(std::string_view css_selector) {
  std::string sel = json::serialize(json::value(json::string(css_selector)));
  auto clicked = evaluate("(() => { const e = document.querySelector(" + sel +
                          "); if (!e) return false; e.click(); return true; })()");
  if (!clicked || !clicked->is_bool() || !clicked->as_bool()) {
    if (error_.empty()) error_ = "no element matches " + std::string(css_selector);
    return false;
  }
  return wait_event("Page.loadEventFired");
}

bool cdp_browser::screenshot(const fs::path& png) {
  auto r = call("Page.captureScreenshot", {{"format", "png"}});
  if (!r) return false;
  std::ofstream out(png, std::ios::binary);
  out << base64_decode(r->at("data").as_string());
  return static_cast<bool>(out);
}

}  // namespace fleetpoll::test
