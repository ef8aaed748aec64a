#include "fleetpoll/storage/reader.hpp"

#include <rocksdb/db.h>

#include <algorithm>
#include <charconv>
#include <cstdlib>

#include "database.hpp"
#include "fleetpoll/storage/error.hpp"

namespace fleetpoll::storage {

using namespace detail;

namespace {

// A new private folder for the secondary instance's files.
std::error_code make_scratch(std::filesystem::path& out, std::string& detail) {
  std::string tmpl = (std::filesystem::temp_directory_path() / "fleetpoll-reader-XXXXXX").string();
  if (::mkdtemp(tmpl.data()) == nullptr) {
    detail = "cannot create a temporary folder for the reader: " +
             std::generic_category().message(errno);
    return error::io_error;
  }
  out = tmpl;
  return {};
}

}  // namespace

class reader::impl {
 public:
  explicit impl(const reader_options& o) : opt_(o) {
    tuning_.block_cache_bytes = o.block_cache_bytes;
  }

  std::error_code start(std::string& detail) {
    std::filesystem::path scratch = opt_.scratch;
    if (scratch.empty())
      if (auto ec = make_scratch(scratch, detail)) return ec;
    const bool own_scratch = opt_.scratch.empty();
    auto ec = open_secondary(opt_.path, scratch, tuning_, db_, meta_, detail);
    if (ec) {
      if (own_scratch) {
        std::error_code rm;
        std::filesystem::remove_all(scratch, rm);
      }
      return ec;
    }
    if (!own_scratch) db_->secondary_path.clear();  // the caller's folder: leave it
    return load();
  }

  std::error_code refresh() {
    const auto s = db_->db->TryCatchUpWithPrimary();
    if (!s.ok()) return from_status(s);
    if (auto ec = read_meta(*db_, meta_)) return ec;
    return load();
  }

  std::error_code info(database_info& out) {
    out = database_info{};
    out.format_version = meta_.format_version;
    out.site_id = meta_.site_id;
    out.created_ms = meta_.created_ms;
    out.last_seq = meta_.last_seq;
    out.retention_ms = meta_.retention_ms;
    std::unique_ptr<rocksdb::Iterator> it(
        db_->db->NewIterator(rocksdb::ReadOptions(), db_->cf[cf_outbox]));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      if (out.outbox_depth == 0 && it->key().size() == 8)
        out.outbox_first = get_be64(it->key().data());
      ++out.outbox_depth;
    }
    return from_status(it->status());
  }

  std::error_code devices(std::vector<device_view>& out, bool with_forecast) {
    return devices_query(ref(), states_, with_forecast, out);
  }

  std::error_code find_device(std::string_view key, device_view& out) {
    const device_state* hit = nullptr;
    std::uint64_t id = 0;
    const auto r = std::from_chars(key.data(), key.data() + key.size(), id);
    if (r.ec == std::errc() && r.ptr == key.data() + key.size()) hit = by_id(id);
    auto match = [&](auto field) {
      for (const auto& s : states_)
        if (!field(s).empty() && field(s) == key) return &s;
      return static_cast<const device_state*>(nullptr);
    };
    if (!hit) hit = match([](const device_state& s) -> const std::string& { return s.address; });
    if (!hit)
      hit = match([](const device_state& s) -> const std::string& { return s.identity.serial; });
    if (!hit)
      hit = match([](const device_state& s) -> const std::string& { return s.identity.sys_name; });
    if (!hit) return error::not_found;
    out = to_view(*hit);
    return {};
  }

  std::error_code history(std::uint64_t id, const history_query& q, history_result& out) {
    const device_state* s = by_id(id);
    if (!s) return error::not_found;
    return history_query_run(ref(), *s, q, out, &corrupt_);
  }

  std::uint64_t corrupt() const noexcept { return corrupt_; }

 private:
  std::error_code load() { return load_states(ref(), states_, &corrupt_); }

  const device_state* by_id(std::uint64_t id) const {
    for (const auto& s : states_)
      if (s.device_id == id) return &s;
    return nullptr;
  }

  db_ref ref() const {
    db_ref r;
    r.db = db_->db.get();
    r.cf = db_->cf;
    r.now_ms = opt_.clock ? opt_.clock() : system_now_ms();
    r.cutoff_ms =
        meta_.retention_ms && r.now_ms > meta_.retention_ms ? r.now_ms - meta_.retention_ms : 0;
    return r;
  }

  reader_options opt_;
  db_tuning tuning_;
  std::unique_ptr<db_handle> db_;
  meta_info meta_;
  std::vector<device_state> states_;
  std::uint64_t corrupt_ = 0;
};

reader::reader(std::unique_ptr<impl> p) : impl_(std::move(p)) {}
reader::~reader() = default;

std::error_code reader::open(const reader_options& options, std::unique_ptr<reader>& out,
                             std::string* detail) {
  out.reset();
  std::string d;
  if (options.path.empty()) {
    if (detail) *detail = "no database path given";
    return error::invalid_options;
  }
  auto p = std::make_unique<impl>(options);
  if (auto ec = p->start(d)) {
    if (detail) *detail = d;
    return ec;
  }
  out.reset(new reader(std::move(p)));
  return {};
}

std::error_code reader::refresh() {
  return impl_->refresh();
}
std::error_code reader::info(database_info& out) {
  return impl_->info(out);
}
std::error_code reader::devices(std::vector<device_view>& out, bool with_forecast) {
  return impl_->devices(out, with_forecast);
}
std::error_code reader::find_device(std::string_view key, device_view& out) {
  return impl_->find_device(key, out);
}
std::error_code reader::history(std::uint64_t id, const history_query& q, history_result& out) {
  return impl_->history(id, q, out);
}
std::uint64_t reader::corrupt_values() const noexcept {
  return impl_->corrupt();
}

}  // namespace fleetpoll::storage
