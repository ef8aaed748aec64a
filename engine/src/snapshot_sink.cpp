#include "fleetpoll/engine/snapshot_sink.hpp"

#include <boost/json.hpp>

#include "fleetpoll/codecs/normalize.hpp"
#include "fleetpoll/codecs/snapshot_json.hpp"
#include "fleetpoll/engine/poll_plan.hpp"

namespace fleetpoll::engine {

namespace {
constexpr std::size_t flush_threshold = 1 << 16;  // write out once 64 KiB are buffered
}

std::unique_ptr<jsonl_sink> jsonl_sink::open(const std::string& path, std::error_code& ec) {
  ec.clear();
  if (path == "-") return std::unique_ptr<jsonl_sink>(new jsonl_sink(stdout, false));
  std::FILE* f = std::fopen(path.c_str(), "ae");
  if (!f) {
    ec = std::error_code(errno, std::generic_category());
    return nullptr;
  }
  return std::unique_ptr<jsonl_sink>(new jsonl_sink(f, true));
}

jsonl_sink::~jsonl_sink() {
  flush();
  if (owned_ && file_) std::fclose(file_);
}

void jsonl_sink::append(std::string&& line) {
  std::lock_guard lock(mutex_);
  buffer_ += line;
  buffer_ += '\n';
  ++lines_;
  if (buffer_.size() >= flush_threshold) {
    if (std::fwrite(buffer_.data(), 1, buffer_.size(), file_) != buffer_.size()) ++errors_;
    buffer_.clear();
  }
}

void jsonl_sink::on_poll(const poll_record& r) {
  boost::json::object o;
  o["type"] = "poll";
  o["address"] = r.address;
  o["at_ms"] = r.at_ms;
  boost::json::array classes;
  for (int i = 0; i < data_class_count; ++i)
    if (r.classes & (1u << i)) classes.emplace_back(class_name(static_cast<data_class>(i)));
  o["classes"] = std::move(classes);
  if (codecs::verify_snapshot(r.snapshot))
    o["snapshot"] = codecs::snapshot_to_json(*schema::GetDeviceSnapshot(r.snapshot.data()));
  else
    o["snapshot"] = nullptr;
  append(boost::json::serialize(o));
}

void jsonl_sink::on_device_down(const device_down_event& e) {
  boost::json::object o;
  o["type"] = "down";
  o["address"] = e.address;
  o["at_ms"] = e.at_ms;
  o["failed_polls"] = e.failed_polls;
  o["last_error"] = e.last_error;
  append(boost::json::serialize(o));
}

void jsonl_sink::on_device_up(const device_up_event& e) {
  boost::json::object o;
  o["type"] = "up";
  o["address"] = e.address;
  o["at_ms"] = e.at_ms;
  o["down_since_ms"] = e.down_since_ms;
  append(boost::json::serialize(o));
}

void jsonl_sink::flush() {
  std::lock_guard lock(mutex_);
  if (!buffer_.empty()) {
    if (std::fwrite(buffer_.data(), 1, buffer_.size(), file_) != buffer_.size()) ++errors_;
    buffer_.clear();
  }
  if (std::fflush(file_) != 0) ++errors_;
}

std::uint64_t jsonl_sink::lines_written() const {
  std::lock_guard lock(mutex_);
  return lines_;
}

std::uint64_t jsonl_sink::write_errors() const {
  std::lock_guard lock(mutex_);
  return errors_;
}

}  // namespace fleetpoll::engine
