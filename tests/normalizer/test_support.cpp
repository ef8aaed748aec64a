#include "test_support.hpp"

#include <stdexcept>

#include "fleetpoll/codecs/snmprec.hpp"

namespace fleetpoll::test {

codecs::mib_view view_of(std::string_view text) {
  auto r = codecs::parse_snmprec(text, "test");
  if (!r) throw std::runtime_error(r.message());
  return std::move(r.view);
}

codecs::mib_view load_device(const std::filesystem::path& path) {
  codecs::snmprec_options opts;
  opts.skip_bad_lines = true;
  auto r = codecs::load_snmprec_file(path, opts);
  if (!r) throw std::runtime_error(r.message());
  codecs::mib_view view = std::move(r.view);
  for (const auto& c : codecs::snmprec_context_companions(path)) {
    auto cr = codecs::load_snmprec_file(c, opts);
    if (!cr) throw std::runtime_error(cr.message());
    view.merge(cr.view);
  }
  return view;
}

flatbuffers::DetachedBuffer normalize_checked(const codecs::mib_view& view,
                                              const codecs::normalize_options& o) {
  auto buf = codecs::normalize(view, o);
  if (!codecs::verify_snapshot({buf.data(), buf.size()}))
    throw std::runtime_error("snapshot does not verify");
  return buf;
}

std::filesystem::path shared_fixtures_dir() {
  return FLEETPOLL_FIXTURES_DIR;
}
std::filesystem::path test_fixtures_dir() {
  return FLEETPOLL_TEST_FIXTURES_DIR;
}
std::filesystem::path source_dir() {
  return FLEETPOLL_SOURCE_DIR;
}

}  // namespace fleetpoll::test
