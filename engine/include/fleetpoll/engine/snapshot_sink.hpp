// fleetpoll::engine::snapshot_sink — where the output of polls goes (the engine's one seam out).
//
// The engine calls a sink once per finished poll that fetched at least one complete data class
// (on_poll), and when a device changes reachability state (on_device_down after K failed polls
// in a row, on_device_up when a down device answers again). Storage (storage::store::ingest /
// device_unreachable) and the JSON-lines sink below implement it; an adapter between this
// interface and storage is one line per call (the fields are the same).
//
// Contract
//   * poll_record::classes is a mask of class_bit(data_class) of the classes this poll fetched
//     completely; the snapshot holds exactly those classes' data (a DeviceSnapshot flatbuffer,
//     file identifier "FPSN", codecs/schema/snapshot.fbs). A class that failed mid-poll is not
//     in the mask, and its data is not in the snapshot.
//   * The views in a record (address, snapshot, last_error) are valid only during the call: copy
//     what you keep.
//   * Calls for one device never overlap and come in poll order; calls for different devices may
//     come from several engine threads at once.
//   * Sinks must not block for long: the calling thread is polling other devices meanwhile. A
//     sink that is slower than the polls should queue and drop (and count), not wait.
//   * The community is never part of a record.
// Thread safety: implementations must be thread-safe.
#pragma once

#include <cstdint>
#include <cstdio>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace fleetpoll::engine {

struct poll_record {
  std::string_view address;                // "ip:port" ("[v6]:port")
  std::uint64_t at_ms = 0;                 // poll start, Unix milliseconds
  std::uint32_t classes = 0;               // class_bit() mask of the classes fetched
  std::span<const std::uint8_t> snapshot;  // DeviceSnapshot flatbuffer bytes
};

struct device_down_event {
  std::string_view address;
  std::uint64_t at_ms = 0;         // when it was declared down (end of the K-th failed poll)
  std::uint32_t failed_polls = 0;  // failed polls in a row (>= K)
  std::string_view last_error;     // "no reply after every retry", ...
};

struct device_up_event {
  std::string_view address;
  std::uint64_t at_ms = 0;          // when it answered again
  std::uint64_t down_since_ms = 0;  // when it had been declared down
};

class snapshot_sink {
 public:
  virtual ~snapshot_sink() = default;
  virtual void on_poll(const poll_record& record) = 0;
  virtual void on_device_down(const device_down_event& event) = 0;
  virtual void on_device_up(const device_up_event& event) = 0;
  // Makes everything received so far durable or visible (called at shutdown and periodically).
  virtual void flush() {}
};

// Writes one JSON object per line:
//   {"type":"poll","address":"127.0.0.1:161","at_ms":1767603600000,"classes":["status","alerts"],
//    "snapshot":{...snapshot JSON, codecs/snapshot_json.hpp...}}
//   {"type":"down","address":"...","at_ms":...,"failed_polls":3,"last_error":"..."}
//   {"type":"up","address":"...","at_ms":...,"down_since_ms":...}
// to a file (appended) or to stdout ("-"). Lines are buffered and written in whole lines; flush()
// and the destructor write the buffer out. Thread-safe (one mutex).
class jsonl_sink final : public snapshot_sink {
 public:
  // Opens `path` for appending ("-" = stdout). Errors: the open error.
  static std::unique_ptr<jsonl_sink> open(const std::string& path, std::error_code& ec);
  ~jsonl_sink() override;

  void on_poll(const poll_record& record) override;
  void on_device_down(const device_down_event& event) override;
  void on_device_up(const device_up_event& event) override;
  void flush() override;

  std::uint64_t lines_written() const;
  std::uint64_t write_errors() const;

 private:
  jsonl_sink(std::FILE* f, bool owned) : file_(f), owned_(owned) {}
  void append(std::string&& line);

  mutable std::mutex mutex_;
  std::FILE* file_;
  bool owned_;
  std::string buffer_;
  std::uint64_t lines_ = 0;
  std::uint64_t errors_ = 0;
};

}  // namespace fleetpoll::engine

namespace fleetpoll::engine {

// Forwards every call to several sinks in order (JSON lines + storage + ...). Not owning.
class fanout_sink final : public snapshot_sink {
 public:
  void add(snapshot_sink& s) { sinks_.push_back(&s); }
  void on_poll(const poll_record& r) override {
    for (auto* s : sinks_) s->on_poll(r);
  }
  void on_device_down(const device_down_event& e) override {
    for (auto* s : sinks_) s->on_device_down(e);
  }
  void on_device_up(const device_up_event& e) override {
    for (auto* s : sinks_) s->on_device_up(e);
  }
  void flush() override {
    for (auto* s : sinks_) s->flush();
  }
  bool empty() const noexcept { return sinks_.empty(); }

 private:
  std::vector<snapshot_sink*> sinks_;
};

}  // namespace fleetpoll::engine
