// Helpers shared by the normalizer tests.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include <flatbuffers/flatbuffers.h>

#include "fleetpoll/codecs/mib_view.hpp"
#include "fleetpoll/codecs/normalize.hpp"

namespace fleetpoll::test {

// A view from snmprec text written in the test; throws std::runtime_error if it does not parse.
codecs::mib_view view_of(std::string_view snmprec_text);

// A recording plus its context companions (name@Ctx.snmprec), as `fleetpoll probe` merges them.
// Lenient: the odd corrupt line of a real recording is skipped. Throws on unreadable files.
codecs::mib_view load_device(const std::filesystem::path& path);

// normalize() and a check that the result verifies.
flatbuffers::DetachedBuffer normalize_checked(const codecs::mib_view& view,
                                              const codecs::normalize_options& o = {});

// Folders from the build: the shared LibreNMS recordings, our synthetic fixtures, the source tree.
std::filesystem::path shared_fixtures_dir();
std::filesystem::path test_fixtures_dir();
std::filesystem::path source_dir();

inline std::string str(const flatbuffers::String* s) {
  return s ? s->str() : std::string();
}

}  // namespace fleetpoll::test
