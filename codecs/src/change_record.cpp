#include "fleetpoll/codecs/change_record.hpp"

#include <flatbuffers/minireflect.h>

namespace fleetpoll::codecs {

bool verify_change_record(std::span<const std::uint8_t> bytes) {
  if (bytes.size() < 8 || bytes.size() > FLATBUFFERS_MAX_BUFFER_SIZE) return false;
  // Depth 16 and 10,000 tables are far above what a ChangeRecord holds; they bound hostile input.
  flatbuffers::Verifier v(bytes.data(), bytes.size(), 16, 10'000);
  return schema::VerifyChangeRecordBuffer(v);
}

std::string change_record_json(std::span<const std::uint8_t> bytes) {
  // Delimiter "" (one line), quoted keys: valid JSON. Strings are escaped by flatbuffers
  // (non-ASCII as \u escapes), so the output is pure ASCII.
  flatbuffers::ToStringVisitor visitor("", true, "", true);
  flatbuffers::IterateFlatBuffer(bytes.data(), schema::ChangeRecordTypeTable(), &visitor);
  return std::move(visitor.s);
}

}  // namespace fleetpoll::codecs
