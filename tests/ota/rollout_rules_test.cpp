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

namespace {
chargehub::firmware::Manifest manifest() {
  chargehub::firmware::Manifest m;
  m.model = 1;
  m.version = {1, 1, 0};
  m.min_from = {1, 0, 0};
  m.size = 2500;
  return m;
}
}  // namespace

TEST(RolloutRules, ADeviceOfAnotherModelAlreadyOnTheVersionOrOlderThanMinFromIsSkipped) {
  auto m = manifest();
  EXPECT_EQ(skip_reason(2, std::string("1.0.0"), m), "model_mismatch");
  EXPECT_EQ(skip_reason(1, std::string("1.1.0"), m), "already_on_version");
  EXPECT_EQ(skip_reason(1, std::string("0.9.9"), m), "below_min_from");
  EXPECT_FALSE(skip_reason(1, std::string("1.0.0"), m));
  EXPECT_FALSE(skip_reason(1, std::string("1.2.0"), m));          // newer than the image: none of the three reasons
  EXPECT_FALSE(skip_reason(std::nullopt, std::nullopt, m));       // never booted: the charger checks for itself
}

TEST(RolloutRules, StatusReportsMoveADeviceForwardOnly) {
  using S = chargehub::RolloutDeviceState;
  using chargehub::proto::OtaStatus;
  auto m = manifest();
  auto p = progress(S::Offered, OtaStatus{{1, 1, 0}, 1, 3000}, m);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->state, S::Downloading);
  EXPECT_EQ(p->bytes, 3000);
  EXPECT_FALSE(progress(S::Verified, OtaStatus{{1, 1, 0}, 1, 3000}, m));        // a late "downloading"
  EXPECT_EQ(progress(S::Downloading, OtaStatus{{1, 1, 0}, 2, 2500}, m)->state, S::Verified);
  p = progress(S::Verified, OtaStatus{{1, 1, 0}, 3, 0}, m);
  EXPECT_EQ(p->state, S::Installed);
  EXPECT_EQ(p->bytes, 2500);                                                      // the image's size
  EXPECT_EQ(progress(S::Downloading, OtaStatus{{1, 1, 0}, 4, 2500}, m)->error, "verify_failed");
  EXPECT_EQ(progress(S::Verified, OtaStatus{{1, 1, 0}, 5, 0}, m)->error, "boot_failed");
  EXPECT_FALSE(progress(S::Downloading, OtaStatus{{1, 2, 0}, 3, 0}, m));        // about another image
  EXPECT_FALSE(progress(S::Installed, OtaStatus{{1, 1, 0}, 5, 0}, m));          // finished stays finished
  EXPECT_EQ(progress_on_boot(S::Verified, "1.1.0", m)->state, S::Installed);
  EXPECT_FALSE(progress_on_boot(S::Verified, "1.0.0", m));                        // still the old one
  EXPECT_EQ(progress_on_pull(S::Pending)->state, S::Downloading);                 // set back, but it pulls: it accepted
  EXPECT_FALSE(progress_on_pull(S::Verified));
}

TEST(RolloutRules, TheOfferReplyDecidesWhatTheDeviceBecomes) {
  using S = chargehub::RolloutDeviceState;
  EXPECT_EQ(progress_on_offer_reply(0)->state, S::Downloading);
  EXPECT_FALSE(progress_on_offer_reply(1));                                       // busy: stays offered
  EXPECT_EQ(progress_on_offer_reply(2)->state, S::Installed);
  EXPECT_EQ(progress_on_offer_reply(2)->error, "already_on_version");
  EXPECT_EQ(progress_on_offer_reply(3)->error, "rejected");
  for (auto s : {S::Installed, S::Failed, S::RolledBack, S::Skipped, S::Cancelled}) EXPECT_TRUE(finished(s));
  for (auto s : {S::Pending, S::Offered, S::Downloading, S::Verified}) EXPECT_FALSE(finished(s));
}
