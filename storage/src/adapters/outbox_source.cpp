#include "fleetpoll/storage/outbox_source.hpp"

#include <utility>

#include "fleetpoll/storage/outbox.hpp"
#include "fleetpoll/storage/store.hpp"

namespace fleetpoll::storage {

outbox_source::outbox_source(store& db) : box_(db.outbox()) {}

std::error_code outbox_source::read(std::uint64_t after_seq, std::size_t max_records,
                                    std::size_t max_bytes,
                                    std::vector<uplink::outbox_record>& out) {
  std::vector<outbox_entry> got;
  const std::error_code ec = box_.read(after_seq, max_records, max_bytes, got);
  out.reserve(out.size() + got.size());
  for (auto& e : got) out.push_back({e.seq, e.created_ms, std::move(e.bytes)});
  return ec;
}

std::error_code outbox_source::acknowledge(std::uint64_t first_seq, std::uint64_t last_seq) {
  return box_.acknowledge(first_seq, last_seq);
}

std::uint64_t outbox_source::first_unacknowledged() {
  return box_.first_unacknowledged();
}
std::uint64_t outbox_source::last_seq() {
  return box_.last_seq();
}
std::uint64_t outbox_source::depth() {
  return box_.depth();
}
std::uint64_t outbox_source::oldest_created_ms() {
  return box_.oldest_created_ms();
}

void outbox_source::set_append_listener(std::function<void()> listener) {
  box_.set_append_listener(std::move(listener));
}

}  // namespace fleetpoll::storage
