// Test support for the engine tests: temporary folders, child processes that are always killed
// and reaped, free ports, a thread-safe collecting sink, an in-process fleetsim, and small
// helpers to wait on events with a bound (never a sleep).
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "fleetpoll/codecs/normalize.hpp"
#include "fleetpoll/codecs/snapshot_json.hpp"
#include "fleetpoll/engine/snapshot_sink.hpp"
#include "fleetpoll/fleetsim/fleetsim.hpp"

namespace fleetpoll::engine::test {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

inline std::string fleetpoll_binary() {
  return std::string(FLEETPOLL_BINARY_DIR) + "/engine/fleetpoll";
}
inline fs::path fixtures_dir() {
  return FLEETPOLL_FIXTURES_DIR;
}

// A fresh folder under the test temp dir, removed with everything in it.
class temp_dir {
 public:
  temp_dir() {
    std::string tmpl = ::testing::TempDir() + "fleetpoll_engine_XXXXXX";
    if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
  }
  ~temp_dir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  const fs::path& path() const { return path_; }
  fs::path operator/(const std::string& name) const { return path_ / name; }

 private:
  fs::path path_;
};

inline std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

inline void write_file(const fs::path& p, const std::string& text) {
  std::ofstream out(p, std::ios::binary);
  out << text;
}

// A child process whose stdout and stderr are read by a thread into memory; killed (TERM, then
// KILL) and reaped by the destructor, whatever happened in the test. Every wait is on an event
// (output arrived, the process ended) with a bound.
class child {
 public:
  explicit child(const std::vector<std::string>& argv,
                 const std::map<std::string, std::string>& env = {}, const std::string& cwd = "",
                 bool new_session = false) {
    int out[2], err[2];
    if (::pipe2(out, O_CLOEXEC) != 0 || ::pipe2(err, O_CLOEXEC) != 0)
      throw std::runtime_error("pipe failed");
    pid_ = ::fork();
    if (pid_ == 0) {
      ::dup2(out[1], 1);
      ::dup2(err[1], 2);
      const int devnull = ::open("/dev/null", O_RDONLY);
      ::dup2(devnull, 0);
      if (new_session) ::setsid();
      for (const auto& [k, v] : env) ::setenv(k.c_str(), v.c_str(), 1);
      if (!cwd.empty() && ::chdir(cwd.c_str()) != 0) ::_exit(126);
      sigset_t none;
      sigemptyset(&none);
      ::sigprocmask(SIG_SETMASK, &none, nullptr);
      std::vector<char*> args;
      for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
      args.push_back(nullptr);
      ::execvp(args[0], args.data());
      ::_exit(127);
    }
    ::close(out[1]);
    ::close(err[1]);
    reader_ = std::thread([this, o = out[0], e = err[0]] { read_loop(o, e); });
  }
  ~child() {
    kill_and_reap();
    if (reader_.joinable()) reader_.join();
  }
  child(const child&) = delete;
  child& operator=(const child&) = delete;

  pid_t pid() const { return pid_; }
  void signal(int sig) {
    std::lock_guard lock(m_);
    if (pid_ > 0 && !status_) ::kill(pid_, sig);
  }
  // Waits for the exit, up to `timeout`. Returns the wait status, or nullopt on timeout.
  std::optional<int> wait(std::chrono::milliseconds timeout) {
    std::unique_lock lock(m_);
    cv_.wait_for(lock, timeout, [&] { return status_.has_value(); });
    return status_;
  }
  void kill_and_reap() {
    if (pid_ <= 0) return;
    signal(SIGTERM);
    if (!wait(5s)) {
      signal(SIGKILL);
      wait(20s);
    }
  }
  std::string out() const {
    std::lock_guard lock(m_);
    return out_;
  }
  std::string err() const {
    std::lock_guard lock(m_);
    return err_;
  }
  // Waits until `pred(stdout + stderr)` holds, the process exits, or the timeout passes.
  bool wait_output(const std::function<bool(const std::string&)>& pred,
                   std::chrono::milliseconds timeout) {
    std::unique_lock lock(m_);
    cv_.wait_for(lock, timeout, [&] { return pred(out_ + err_) || status_.has_value(); });
    return pred(out_ + err_);
  }

 private:
  // Reads both pipes until the child has exited (its pidfd is readable) and the pipes are
  // drained (or are held open by a grandchild: then what arrived so far is kept).
  void read_loop(int o, int e) {
    const int pfd = static_cast<int>(::syscall(SYS_pidfd_open, pid_, 0));
    pollfd fds[3] = {{o, POLLIN, 0}, {e, POLLIN, 0}, {pfd, POLLIN, 0}};
    char buf[65536];
    bool exited = pfd < 0;
    while (fds[0].fd >= 0 || fds[1].fd >= 0) {
      const int ready = ::poll(fds, 3, exited ? 200 : -1);
      if (ready < 0) continue;
      if (ready == 0) break;  // exited and nothing more to read within 200 ms
      if (fds[2].fd >= 0 && (fds[2].revents & POLLIN)) {
        exited = true;
        fds[2].fd = -1;
      }
      for (int i = 0; i < 2; ++i) {
        auto& f = fds[i];
        if (f.fd < 0 || !(f.revents & (POLLIN | POLLHUP | POLLERR))) continue;
        const ssize_t n = ::read(f.fd, buf, sizeof buf);
        if (n <= 0) {
          ::close(f.fd);
          f.fd = -1;
          continue;
        }
        std::lock_guard lock(m_);
        (i == 0 ? out_ : err_).append(buf, static_cast<std::size_t>(n));
        cv_.notify_all();
      }
    }
    for (int i = 0; i < 2; ++i)
      if (fds[i].fd >= 0) ::close(fds[i].fd);
    if (pfd >= 0) ::close(pfd);
    int st = 0;
    while (::waitpid(pid_, &st, 0) < 0 && errno == EINTR) {
    }
    std::lock_guard lock(m_);
    status_ = st;
    cv_.notify_all();
  }

  pid_t pid_ = -1;
  mutable std::mutex m_;
  std::condition_variable cv_;
  std::optional<int> status_;
  std::string out_, err_;
  std::thread reader_;
};

inline int exit_code(std::optional<int> status) {
  if (!status) return -1;
  if (WIFEXITED(*status)) return WEXITSTATUS(*status);
  if (WIFSIGNALED(*status)) return 128 + WTERMSIG(*status);
  return -1;
}

// A port that was free a moment ago (bound to 127.0.0.1 with port 0, then closed).
inline std::uint16_t free_port(int type = SOCK_DGRAM) {
  const int fd = ::socket(AF_INET, type, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

// Collects what the engine hands to its sink; waits on conditions with a bound.
class collecting_sink final : public snapshot_sink {
 public:
  struct poll {
    std::string address;
    std::uint64_t at_ms;
    std::uint32_t classes;
    std::vector<std::uint8_t> snapshot;
  };
  void on_poll(const poll_record& r) override {
    std::lock_guard lock(m_);
    polls_.push_back(
        {std::string(r.address), r.at_ms, r.classes, {r.snapshot.begin(), r.snapshot.end()}});
    cv_.notify_all();
  }
  void on_device_down(const device_down_event& e) override {
    std::lock_guard lock(m_);
    downs_.push_back({std::string(e.address), e.failed_polls, std::string(e.last_error)});
    cv_.notify_all();
  }
  void on_device_up(const device_up_event& e) override {
    std::lock_guard lock(m_);
    ups_.push_back(std::string(e.address));
    cv_.notify_all();
  }
  void flush() override { ++flushes; }

  struct down {
    std::string address;
    std::uint32_t failed;
    std::string error;
  };
  std::vector<poll> polls() const {
    std::lock_guard lock(m_);
    return polls_;
  }
  std::vector<down> downs() const {
    std::lock_guard lock(m_);
    return downs_;
  }
  std::vector<std::string> ups() const {
    std::lock_guard lock(m_);
    return ups_;
  }
  // Waits until pred() (called under the lock with this sink) holds.
  bool wait_for(const std::function<bool(const collecting_sink&)>& pred,
                std::chrono::milliseconds timeout) {
    std::unique_lock lock(m_);
    return cv_.wait_for(lock, timeout, [&] { return pred(*this); });
  }
  std::size_t poll_count_locked() const { return polls_.size(); }
  const std::vector<poll>& polls_locked() const { return polls_; }
  std::size_t down_count_locked() const { return downs_.size(); }
  std::size_t up_count_locked() const { return ups_.size(); }
  std::atomic<int> flushes{0};

 private:
  mutable std::mutex m_;
  std::condition_variable cv_;
  std::vector<poll> polls_;
  std::vector<down> downs_;
  std::vector<std::string> ups_;
};

// The snapshot JSON of a poll, without the fields that differ between two sources of the same
// data (source, polled_at_ms).
inline std::string comparable_json(const std::vector<std::uint8_t>& snapshot) {
  auto v = codecs::snapshot_to_json(*schema::GetDeviceSnapshot(snapshot.data()));
  v.as_object().erase("source");
  v.as_object().erase("polled_at_ms");
  return codecs::to_json_text(v);
}

// An in-process fleetsim on a free port (frozen clock, so every poll sees the same moment).
inline std::unique_ptr<fleetsim::fleet> start_fleet(fleetsim::options o) {
  std::string why;
  o.port = 0;
  auto f = fleetsim::fleet::create(o, why);
  if (!f) {
    ADD_FAILURE() << "fleetsim: " << why;
    return nullptr;
  }
  if (auto ec = f->start(why)) {
    ADD_FAILURE() << "fleetsim start: " << why;
    return nullptr;
  }
  return f;
}

// Threads of this process (from /proc/self/task).
inline std::size_t thread_count() {
  std::size_t n = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator("/proc/self/task")) ++n;
  return n;
}

}  // namespace fleetpoll::engine::test
