#include "fake_outbox.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <fstream>

namespace fleetpoll::uplink::test {
namespace {
std::uint64_t now_ms() {
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                        std::chrono::system_clock::now().time_since_epoch())
                                        .count());
}
void put_le(std::string& s, std::uint64_t v, int n) {
  for (int i = 0; i < n; ++i) s += static_cast<char>((v >> (8 * i)) & 0xff);
}
std::uint64_t get_le(const char* p, int n) {
  std::uint64_t v = 0;
  for (int i = n - 1; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}
}  // namespace

fake_outbox::fake_outbox(std::string dir) {
  if (dir.empty()) return;
  std::string rpath = dir + "/outbox.log";
  std::string apath = dir + "/acks.log";
  {
    std::ifstream in(rpath, std::ios::binary);
    std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::size_t pos = 0;
    while (pos + 20 <= data.size()) {
      std::uint64_t seq = get_le(data.data() + pos, 8);
      std::uint64_t created = get_le(data.data() + pos + 8, 8);
      auto len = static_cast<std::size_t>(get_le(data.data() + pos + 16, 4));
      if (pos + 20 + len > data.size() || seq != records_.size() + 1) break;  // torn tail
      records_.push_back({seq, created, data.substr(pos + 20, len)});
      pos += 20 + len;
    }
    if (pos != data.size()) {
      if (::truncate(rpath.c_str(), static_cast<off_t>(pos)) != 0) { /* best effort */
      }
    }
  }
  acked_.assign(records_.size(), false);
  {
    std::ifstream in(apath);
    std::uint64_t a = 0, b = 0;
    while (in >> a >> b)
      for (std::uint64_t s = a; s <= b && s <= records_.size(); ++s)
        if (s >= 1 && !acked_[s - 1]) {
          acked_[s - 1] = true;
          ++acked_count_;
        }
  }
  while (first_unacked_ <= records_.size() && acked_[first_unacked_ - 1]) ++first_unacked_;
  records_fd_ = ::open(rpath.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  acks_fd_ = ::open(apath.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
}

fake_outbox::~fake_outbox() {
  if (records_fd_ >= 0) ::close(records_fd_);
  if (acks_fd_ >= 0) ::close(acks_fd_);
}

std::uint64_t fake_outbox::append(std::string bytes, std::uint64_t created_ms) {
  std::function<void()> l;
  std::uint64_t seq;
  {
    std::lock_guard lock(mu_);
    seq = records_.size() + 1;
    if (created_ms == 0) created_ms = now_ms();
    if (records_fd_ >= 0) {
      std::string e;
      put_le(e, seq, 8);
      put_le(e, created_ms, 8);
      put_le(e, bytes.size(), 4);
      e += bytes;
      if (::write(records_fd_, e.data(), e.size()) != static_cast<ssize_t>(e.size())) return 0;
    }
    records_.push_back({seq, created_ms, std::move(bytes)});
    acked_.push_back(false);
    l = listener_;
  }
  if (l) l();
  return seq;
}

void fake_outbox::append_many(std::vector<std::pair<std::string, std::uint64_t>> records) {
  std::function<void()> l;
  {
    std::lock_guard lock(mu_);
    for (auto& [bytes, created] : records) {
      records_.push_back(
          {records_.size() + 1, created != 0 ? created : now_ms(), std::move(bytes)});
      acked_.push_back(false);
    }
    l = listener_;
  }
  if (l) l();
}

std::error_code fake_outbox::read(std::uint64_t after_seq, std::size_t max_records,
                                  std::size_t max_bytes, std::vector<outbox_record>& out) {
  std::lock_guard lock(mu_);
  std::size_t n = 0, bytes = 0;
  for (std::uint64_t s = after_seq + 1; s <= records_.size() && n < max_records; ++s) {
    const auto& r = records_[s - 1];
    if (n > 0 && bytes + r.bytes.size() > max_bytes) break;
    out.push_back(r);
    ++n;
    bytes += r.bytes.size();
  }
  return {};
}

std::error_code fake_outbox::acknowledge(std::uint64_t first, std::uint64_t last) {
  std::lock_guard lock(mu_);
  ++ack_calls_;
  if (first == 0 || last < first || last > records_.size())
    return std::make_error_code(std::errc::invalid_argument);
  if (acks_fd_ >= 0) {
    std::string l = std::to_string(first) + " " + std::to_string(last) + "\n";
    if (::write(acks_fd_, l.data(), l.size()) != static_cast<ssize_t>(l.size()))
      return std::make_error_code(std::errc::io_error);
  }
  for (std::uint64_t s = first; s <= last; ++s)
    if (!acked_[s - 1]) {
      acked_[s - 1] = true;
      ++acked_count_;
    }
  while (first_unacked_ <= records_.size() && acked_[first_unacked_ - 1]) ++first_unacked_;
  return {};
}

std::uint64_t fake_outbox::first_unacknowledged() {
  std::lock_guard lock(mu_);
  return first_unacked_;
}
std::uint64_t fake_outbox::last_seq() {
  std::lock_guard lock(mu_);
  return records_.size();
}
std::uint64_t fake_outbox::depth_locked() const {
  return records_.size() - acked_count_;
}
std::uint64_t fake_outbox::depth() {
  std::lock_guard lock(mu_);
  return depth_locked();
}
std::uint64_t fake_outbox::oldest_created_ms() {
  std::lock_guard lock(mu_);
  for (std::uint64_t s = first_unacked_; s <= records_.size(); ++s)
    if (!acked_[s - 1]) return records_[s - 1].created_ms;
  return 0;
}
void fake_outbox::set_append_listener(std::function<void()> listener) {
  std::lock_guard lock(mu_);
  listener_ = std::move(listener);
}
std::vector<outbox_record> fake_outbox::all() {
  std::lock_guard lock(mu_);
  return records_;
}
std::size_t fake_outbox::acknowledge_calls() {
  std::lock_guard lock(mu_);
  return ack_calls_;
}

}  // namespace fleetpoll::uplink::test
