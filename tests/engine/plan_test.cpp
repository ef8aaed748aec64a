// The poll plan fetches everything the normalizer reads: for every shared recording, normalizing
// only the OIDs the plan fetches gives the same snapshot as normalizing the whole recording.
#include <gtest/gtest.h>

#include <filesystem>

#include "fleetpoll/codecs/normalize.hpp"
#include "fleetpoll/codecs/snapshot_json.hpp"
#include "fleetpoll/codecs/snmprec.hpp"
#include "fleetpoll/engine/poll_plan.hpp"

namespace fs = std::filesystem;
using namespace fleetpoll;

namespace {

codecs::mib_view restrict_to_plan(const codecs::mib_view& full, std::uint32_t classes) {
  const auto& plan = engine::default_plan();
  codecs::mib_view out;
  for (const auto& s : plan.scalars)
    if (classes & engine::class_bit(s.cls))
      if (const auto* v = full.get(s.name)) out.add(s.name, *v);
  for (const auto& u : plan.units)
    if (classes & engine::class_bit(u.cls))
      for (const auto& row : full.subtree(u.prefix)) out.add(row);
  out.seal();
  return out;
}

std::string json_of(const codecs::mib_view& v) {
  auto buf = codecs::normalize(v);
  return codecs::to_json_text(codecs::snapshot_to_json(*codecs::snapshot_of(buf)));
}

}  // namespace

TEST(PollPlan, ClassBitsAndNames) {
  EXPECT_EQ(engine::class_bit(engine::data_class::identity), 1u);
  EXPECT_EQ(engine::class_bit(engine::data_class::counters), 16u);
  EXPECT_EQ(engine::all_classes, 31u);
  EXPECT_EQ(engine::class_names(engine::all_classes), "identity,status,alerts,supplies,counters");
  EXPECT_EQ(engine::class_names(0), "");
}

TEST(PollPlan, EveryClassHasItemsAndFitsTheMemoryBits) {
  const auto& plan = engine::default_plan();
  EXPECT_LE(plan.scalars.size(), engine::poll_plan::max_scalars);
  EXPECT_LE(plan.units.size(), engine::poll_plan::max_units);
  std::uint32_t seen = 0;
  for (const auto& s : plan.scalars) seen |= engine::class_bit(s.cls);
  for (const auto& u : plan.units) seen |= engine::class_bit(u.cls);
  EXPECT_EQ(seen, engine::all_classes);
}

TEST(PollPlan, NormalizingWhatThePlanFetchesEqualsNormalizingTheWholeRecording) {
  const fs::path dir = FLEETPOLL_FIXTURES_DIR;
  if (!fs::is_directory(dir)) GTEST_SKIP() << "no shared recordings at " << dir;
  int files = 0;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.path().extension() != ".snmprec") continue;
    codecs::snmprec_options o;
    o.skip_bad_lines = true;
    auto r = codecs::load_snmprec_file(e.path(), o);
    ASSERT_TRUE(r) << r.message();
    ++files;
    EXPECT_EQ(json_of(restrict_to_plan(r.view, engine::all_classes)), json_of(r.view))
        << e.path().filename();
  }
  EXPECT_GT(files, 30);
}
