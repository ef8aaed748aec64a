// mib_view: exact lookups, GETNEXT order, subtrees, and merge precedence.
#include <gtest/gtest.h>

#include "fleetpoll/codecs/mib_view.hpp"

namespace fc = fleetpoll::codecs;

namespace {

fc::oid O(const char* s) {
  return *fc::oid::parse(s);
}

fc::mib_view sample() {
  fc::mib_view v;
  v.add(O("1.3.6.1.2.1.1.1.0"), fc::value::make_string("descr"));
  v.add(O("1.3.6.1.2.1.43.11.1.1.9.1.2"), fc::value::make_integer(50));
  v.add(O("1.3.6.1.2.1.43.11.1.1.9.1.1"), fc::value::make_integer(-3));
  v.add(O("1.3.6.1.2.1.43.11.1.1.10.1.1"), fc::value::make_integer(1));
  v.add(O("1.3.6.1.2.1.43.12.1.1.4.1.1"), fc::value::make_string("black"));
  v.seal();
  return v;
}

TEST(Oid, ParsesAndPrintsDottedDecimal) {
  EXPECT_EQ(O(".1.3.6.1").to_string(), "1.3.6.1");
  EXPECT_FALSE(fc::oid::parse(""));
  EXPECT_FALSE(fc::oid::parse("."));
  EXPECT_FALSE(fc::oid::parse("1..2"));
  EXPECT_FALSE(fc::oid::parse("1.2."));
  EXPECT_FALSE(fc::oid::parse("1.-2"));
  EXPECT_FALSE(fc::oid::parse("1.4294967296"));
  EXPECT_TRUE(fc::oid::parse("1.4294967295"));
}

TEST(Oid, OrdersLexicographicallyByArcNotByText) {
  EXPECT_LT(O("1.3.6.1.9"), O("1.3.6.1.10"));
  EXPECT_LT(O("1.3.6"), O("1.3.6.0"));
  EXPECT_EQ(O("1.3.6.1.2.1.43.11.1.1.9.1.2").suffix_after(O("1.3.6.1.2.1.43.11.1.1.9")).size(), 2u);
}

TEST(MibView, NextFollowsWalkOrder) {
  auto v = sample();
  const auto* n = v.next(O("1.3.6.1.2.1.1.1.0"));
  ASSERT_NE(n, nullptr);
  EXPECT_EQ(n->name, O("1.3.6.1.2.1.43.11.1.1.9.1.1"));
  n = v.next(O("1.3.6.1.2.1.43.11.1.1.9"));  // a prefix that is not itself a row
  ASSERT_NE(n, nullptr);
  EXPECT_EQ(n->name, O("1.3.6.1.2.1.43.11.1.1.9.1.1"));
  EXPECT_EQ(v.next(O("1.3.6.1.2.1.43.12.1.1.4.1.1")), nullptr);  // end of view
}

TEST(MibView, SubtreeHoldsOnlyRowsBelowThePrefix) {
  auto v = sample();
  auto level = v.subtree(O("1.3.6.1.2.1.43.11.1.1.9"));
  ASSERT_EQ(level.size(), 2u);
  EXPECT_EQ(level[0].val.integer(), -3);
  EXPECT_EQ(level[1].val.integer(), 50);
  EXPECT_TRUE(v.subtree(O("1.3.6.1.2.1.43.11.1.1.9.1.1")).empty());
  EXPECT_TRUE(v.subtree(O("1.3.6.1.2.1.25")).empty());
}

TEST(MibView, MergeLetsTheCompanionWin) {
  auto v = sample();
  fc::mib_view ctx;
  ctx.add(O("1.3.6.1.2.1.1.1.0"), fc::value::make_string("context descr"));
  ctx.add(O("1.3.6.1.4.1.11.2.3.9.1.1.3.0"), fc::value::make_integer(1));
  ctx.seal();
  v.merge(ctx);
  EXPECT_EQ(v.size(), 6u);
  EXPECT_EQ(v.get(O("1.3.6.1.2.1.1.1.0"))->bytes, "context descr");
}

TEST(MibView, SealKeepsTheLastOfDuplicates) {
  fc::mib_view v;
  v.add(O("1.1"), fc::value::make_integer(1));
  v.add(O("1.1"), fc::value::make_integer(2));
  EXPECT_EQ(v.seal(), 1u);
  EXPECT_EQ(v.get(O("1.1"))->integer(), 2);
}

}  // namespace
