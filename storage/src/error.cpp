#include "fleetpoll/storage/error.hpp"

#include <string>

namespace fleetpoll::storage {
namespace {

class category final : public std::error_category {
 public:
  const char* name() const noexcept override { return "fleetpoll.storage"; }
  std::string message(int ev) const override {
    switch (static_cast<error>(ev)) {
      case error::ok:
        return "success";
      case error::invalid_options:
        return "invalid storage options";
      case error::newer_format:
        return "database was written by a newer fleetpoll";
      case error::site_mismatch:
        return "database belongs to another site";
      case error::not_a_database:
        return "folder is not empty and holds no fleetpoll database";
      case error::no_database:
        return "no fleetpoll database at that path";
      case error::busy:
        return "database is open for writing in another process";
      case error::io_error:
        return "storage I/O error";
      case error::no_space:
        return "no space left for the database";
      case error::corruption:
        return "database corruption";
      case error::unavailable:
        return "database is recovering from an earlier error";
      case error::invalid_snapshot:
        return "snapshot fails verification";
      case error::invalid_record:
        return "invalid poll record";
      case error::invalid_ack:
        return "acknowledgement outside the appended records";
      case error::corrupt_value:
        return "stored value fails verification";
      case error::not_found:
        return "no such device";
    }
    return "unknown fleetpoll.storage error " + std::to_string(ev);
  }
};

}  // namespace

const std::error_category& storage_category() noexcept {
  static const category instance;
  return instance;
}

}  // namespace fleetpoll::storage
