// The rollout's pure rules: stage sizes, the health gate, how many to offer, when a stage ends.
#include <gtest/gtest.h>

#include "app/ota.hpp"

using namespace chargehub::core::rollout;

TEST(RolloutRules, StagesAreCumulativePercentagesEndingAt100) {
  EXPECT_TRUE(valid_stages({1, 10, 100}));
  EXPECT_TRUE(valid_stages({100}));
  EXPECT_FALSE(valid_stages({}));
  EXPECT_FALSE(valid_stages({10, 50}));
  EXPECT_FALSE(valid_stages({10, 10, 100}));
  EXPECT_FALSE(valid_stages({50, 10, 100}));
  EXPECT_FALSE(valid_stages({0, 100}));
}

TEST(RolloutRules, QuotasSumToTheTargetAndEveryStageGetsOne) {
  EXPECT_EQ(stage_quotas(1000, {1, 10, 100}), (std::vector<int64_t>{10, 90, 900}));
  EXPECT_EQ(stage_quotas(100, {1, 10, 100}), (std::vector<int64_t>{1, 9, 90}));
  EXPECT_EQ(stage_quotas(20, {1, 10, 100}), (std::vector<int64_t>{1, 1, 18}));   // 1 % of 20 is still one charger
  EXPECT_EQ(stage_quotas(3, {1, 10, 50, 100}), (std::vector<int64_t>{1, 1, 1, 0}));
  EXPECT_EQ(stage_quotas(0, {1, 100}), (std::vector<int64_t>{0, 0}));
  for (int64_t n : {1, 7, 99, 101, 12345}) {
    auto q = stage_quotas(n, {5, 25, 60, 100});
    int64_t sum = 0;
    for (auto x : q) sum += x;
    EXPECT_EQ(sum, n);
  }
}

namespace {
StageView stage(int64_t quota, int64_t started, int64_t in_flight, int64_t failed, int64_t pending) {
  StageView s;
  s.stage = 0;
  s.stages = 3;
  s.quota = quota;
  s.started = started;
  s.in_flight = in_flight;
  s.failed = failed;
  s.pending = pending;
  s.max_failure_pct = 10;
  s.max_concurrent = 5;
  return s;
}
}  // namespace

TEST(RolloutRules, OffersFillTheStageUpToTheConcurrencyLimit) {
  auto d = decide(stage(10, 0, 0, 0, 100));
  EXPECT_EQ(d.verdict, Verdict::Offer);
  EXPECT_EQ(d.offers, 5);                                   // max_concurrent
  d = decide(stage(10, 8, 3, 0, 92));
  EXPECT_EQ(d.verdict, Verdict::Offer);
  EXPECT_EQ(d.offers, 2);                                   // only 2 places left in the stage
  d = decide(stage(10, 7, 5, 0, 93));
  EXPECT_EQ(d.verdict, Verdict::Wait);                      // 5 downloading: no room
}

TEST(RolloutRules, AStageEndsOnlyWhenAllItsDevicesFinished) {
  EXPECT_EQ(decide(stage(10, 10, 1, 0, 90)).verdict, Verdict::Wait);
  EXPECT_EQ(decide(stage(10, 10, 0, 0, 90)).verdict, Verdict::Advance);
  auto s = stage(10, 10, 0, 0, 90);
  s.retry = 1;                                              // one set back for another offer
  EXPECT_EQ(decide(s).verdict, Verdict::Offer);
}

TEST(RolloutRules, TheGatePausesWhenFailuresPassTheThreshold) {
  auto s = stage(10, 10, 0, 1, 90);                         // 1 of 10 = 10 %: not more than 10 %
  EXPECT_EQ(decide(s).verdict, Verdict::Advance);
  s.failed = 2;                                             // 20 %
  auto d = decide(s);
  EXPECT_EQ(d.verdict, Verdict::Pause);
  EXPECT_NE(d.reason.find("2 of 10"), std::string::npos);
  // It trips as soon as the failures pass the share, before the stage has finished.
  EXPECT_EQ(decide(stage(10, 4, 2, 2, 96)).verdict, Verdict::Pause);
  // Resuming accepts the failures seen so far; new ones count again.
  s.failed_accepted = 2;
  EXPECT_EQ(decide(s).verdict, Verdict::Advance);
  s.failed = 4;
  EXPECT_EQ(decide(s).verdict, Verdict::Pause);
}

TEST(RolloutRules, AZeroThresholdPausesOnTheFirstFailure) {
  auto s = stage(1, 1, 0, 1, 3);
  s.max_failure_pct = 0;
  EXPECT_EQ(decide(s).verdict, Verdict::Pause);
  s.failed = 0;
  EXPECT_EQ(decide(s).verdict, Verdict::Advance);
}

TEST(RolloutRules, TheLastStageOffersEveryoneLeftThenCompletes) {
  auto s = stage(90, 90, 0, 0, 7);   // devices skipped or added: the last stage takes whoever is pending
  s.stage = 2;
  auto d = decide(s);
  EXPECT_EQ(d.verdict, Verdict::Offer);
  EXPECT_EQ(d.offers, 5);
  s.pending = 0;
  s.in_flight = 2;
  EXPECT_EQ(decide(s).verdict, Verdict::Wait);
  s.in_flight = 0;
  EXPECT_EQ(decide(s).verdict, Verdict::Complete);
  // Nobody left at all before the last stage: complete.
  EXPECT_EQ(decide(stage(10, 3, 0, 0, 0)).verdict, Verdict::Complete);
}
