// The income split (docs/agents.md "The income split"): the contract's worked cases, then properties
// over random chains, shares and amounts.
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include "chargehub/rules/income_split.hpp"

using namespace chargehub::rules;

TEST(IncomeSplit, PlatformDeviceGivesThePlatformEverything) {
  EXPECT_EQ(split_income(12345, Chain::platform()), (IncomeParts{12345, 0, 0}));
}

TEST(IncomeSplit, FirstLevelAgentGetsTheFloorOfItsShare) {
  // 30 % of 999 fen = 299.7 → 299; the platform 700.
  EXPECT_EQ(split_income(999, Chain::one(3000)), (IncomeParts{700, 299, 0}));
}

TEST(IncomeSplit, SecondLevelAgentGetsItsShareAndTheParentTheDifference) {
  // The contract's example: A 30 %, B 20 %, N = 500 fen → B 100, A 50, platform 350.
  EXPECT_EQ(split_income(500, Chain::two(3000, 2000)), (IncomeParts{350, 50, 100}));
  // Rounding: N = 333, A 33.33 %, B 12.34 % → B ⌊41.0922⌋ = 41, A ⌊333·2099/10000⌋ = ⌊69.8967⌋ = 69.
  EXPECT_EQ(split_income(333, Chain::two(3333, 1234)), (IncomeParts{223, 69, 41}));
}

TEST(IncomeSplit, EqualSharesLeaveTheParentNothing) {
  EXPECT_EQ(split_income(1000, Chain::two(2500, 2500)), (IncomeParts{750, 0, 250}));
}

TEST(IncomeSplit, SubAgentShareAboveItsParentsLeavesTheParentNothingNeverNegative) {
  EXPECT_EQ(split_income(1000, Chain::two(1000, 3000)), (IncomeParts{700, 0, 300}));
}

TEST(IncomeSplit, ZeroAndNegativeIncomeSplitAsZero) {
  EXPECT_EQ(split_income(0, Chain::two(3000, 2000)), (IncomeParts{0, 0, 0}));
  EXPECT_EQ(split_income(-5, Chain::one(3000)), (IncomeParts{0, 0, 0}));
}

TEST(IncomeSplit, FullShareGoesAllToTheAgents) {
  EXPECT_EQ(split_income(101, Chain::two(10000, 5000)), (IncomeParts{1, 50, 50}));
  EXPECT_EQ(split_income(101, Chain::one(10000)), (IncomeParts{0, 101, 0}));
}

TEST(IncomeSplit, RefundTakesBackTheDifference) {
  // 500 → 200 after a refund of 300: B 100 → 40, A 50 → 20, platform 350 → 140.
  EXPECT_EQ(refund_deltas(500, 0, 300, Chain::two(3000, 2000)), (IncomeParts{210, 30, 60}));
  // A full refund takes everything back.
  EXPECT_EQ(refund_deltas(500, 300, 200, Chain::two(3000, 2000)), (IncomeParts{140, 20, 40}));
}

TEST(IncomeSplit, TheContractsWorkedExample) {
  // docs/agents.md: A 30 %, B 20 %, N = 999 → B 199, A 99, the platform 701; 500 back → 100, 50, 350.
  EXPECT_EQ(split_income(999, Chain::two(3000, 2000)), (IncomeParts{701, 99, 199}));
  EXPECT_EQ(refund_deltas(999, 0, 500, Chain::two(3000, 2000)), (IncomeParts{350, 50, 100}));
  EXPECT_EQ(refund_deltas(999, 500, 499, Chain::two(3000, 2000)), (IncomeParts{351, 49, 99}));
}

TEST(IncomeSplit, PlatformMayGainARoundingFenOnARefund) {
  // 2 fen at A 100 %, B 50 %: B 1, A 1, platform 0; after 1 fen back: B 0, A 0, platform 1.
  EXPECT_EQ(refund_deltas(2, 0, 1, Chain::two(10000, 5000)), (IncomeParts{-1, 1, 1}));
}

namespace {

// A random chain: a platform device, a first-level agent, or a second-level agent with s_B ≤ s_A.
rc::Gen<Chain> chains() {
  return rc::gen::oneOf(rc::gen::just(Chain::platform()),
                        rc::gen::map(rc::gen::inRange<int64_t>(0, 10001), [](int64_t a) { return Chain::one(a); }),
                        rc::gen::mapcat(rc::gen::inRange<int64_t>(0, 10001), [](int64_t a) {
                          return rc::gen::map(rc::gen::inRange<int64_t>(0, a + 1), [a](int64_t b) { return Chain::two(a, b); });
                        }));
}

rc::Gen<int64_t> amounts() {
  return rc::gen::oneOf(rc::gen::inRange<int64_t>(0, 100), rc::gen::inRange<int64_t>(0, 100'000'00),
                        rc::gen::inRange<int64_t>(0, int64_t{1} << 50));
}

void expect_sound(const IncomeParts& p, int64_t n, const Chain& c) {
  RC_ASSERT(p.sum() == n);
  RC_ASSERT(p.platform >= 0);
  RC_ASSERT(p.first >= 0);
  RC_ASSERT(p.second >= 0);
  if (!c.first_bp) RC_ASSERT(p.first == 0);
  if (!c.second_bp) RC_ASSERT(p.second == 0);
}

}  // namespace

RC_GTEST_PROP(IncomeSplitProperty, PartsSumToTheIncomeAndNoneIsNegative, ()) {
  auto c = *chains();
  auto n = *amounts();
  expect_sound(split_income(n, c), n, c);
}

RC_GTEST_PROP(IncomeSplitProperty, AnAgentsPartNeverGrowsWhenTheIncomeShrinks, ()) {
  auto c = *chains();
  auto n = *amounts();
  auto less = *rc::gen::inRange<int64_t>(0, n + 1);
  auto hi = split_income(n, c), lo = split_income(less, c);
  RC_ASSERT(lo.first <= hi.first);
  RC_ASSERT(lo.second <= hi.second);
}

RC_GTEST_PROP(IncomeSplitProperty, ASequenceOfRefundsEndsWithTheSplitOfWhatIsLeft, ()) {
  auto c = *chains();
  auto n = *amounts();
  auto parts = split_income(n, c);
  int64_t refunded = 0;
  auto count = *rc::gen::inRange(0, 8);
  for (int i = 0; i < count && refunded < n; ++i) {
    int64_t r = *rc::gen::inRange<int64_t>(1, n - refunded + 1);
    auto d = refund_deltas(n, refunded, r, c);
    RC_ASSERT(d.sum() == r);
    RC_ASSERT(d.first >= 0);
    RC_ASSERT(d.second >= 0);
    parts = IncomeParts{parts.platform - d.platform, parts.first - d.first, parts.second - d.second};
    refunded += r;
    expect_sound(parts, n - refunded, c);
  }
  RC_ASSERT(parts == split_income(n - refunded, c));
}
