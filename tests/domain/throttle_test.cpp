// The failed-credentials throttle (rules/throttle.hpp): free failures, doubling delays with a cap, keys
// independent of each other, bounded memory. Time is passed in.
#include <gtest/gtest.h>

#include "chargehub/rules/throttle.hpp"

using namespace chargehub::rules;

namespace {
constexpr int64_t T0 = 1795500000;
}

TEST(Throttle, DelayDoublesAfterTheFreeFailuresUpToTheCap) {
  ThrottleRules r;   // 1 s first, 15 min cap
  EXPECT_EQ(throttle_delay(0, 5, r), 0);
  EXPECT_EQ(throttle_delay(5, 5, r), 0);
  EXPECT_EQ(throttle_delay(6, 5, r), 1);
  EXPECT_EQ(throttle_delay(7, 5, r), 2);
  EXPECT_EQ(throttle_delay(8, 5, r), 4);
  EXPECT_EQ(throttle_delay(15, 5, r), 512);
  EXPECT_EQ(throttle_delay(16, 5, r), 900);
  EXPECT_EQ(throttle_delay(1'000'000, 5, r), 900);
}

TEST(Throttle, FreeFailuresCostNothingThenEachFailureWaitsLonger) {
  Throttle t(5, ThrottleRules{});
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(t.check("k", T0), 0);
    EXPECT_EQ(t.failure("k", T0), 0);
  }
  EXPECT_EQ(t.check("k", T0), 0);
  EXPECT_EQ(t.failure("k", T0), 1);   // the sixth
  EXPECT_EQ(t.check("k", T0), 1);
  EXPECT_EQ(t.check("k", T0 + 1), 0);
  EXPECT_EQ(t.failure("k", T0 + 1), 2);
  EXPECT_EQ(t.check("k", T0 + 1), 2);
  EXPECT_EQ(t.check("k", T0 + 2), 1);
  EXPECT_EQ(t.failure("k", T0 + 3), 4);
  EXPECT_EQ(t.check("k", T0 + 3), 4);
}

TEST(Throttle, SuccessForgetsTheKey) {
  Throttle t(1, ThrottleRules{});
  t.failure("k", T0);
  t.failure("k", T0);
  EXPECT_GT(t.check("k", T0), 0);
  t.success("k");
  EXPECT_EQ(t.check("k", T0), 0);
  EXPECT_EQ(t.failures("k", T0), 0);
}

TEST(Throttle, IdleEntriesAreForgotten) {
  ThrottleRules r;
  r.forget_after_s = 3600;
  Throttle t(2, r);
  for (int i = 0; i < 4; ++i) t.failure("k", T0);
  EXPECT_EQ(t.failures("k", T0), 4);
  EXPECT_EQ(t.failures("k", T0 + 3599), 4);
  EXPECT_EQ(t.failures("k", T0 + 3600), 0);
  EXPECT_EQ(t.failure("k", T0 + 3600), 0);   // counting starts again
}

TEST(Throttle, ABlockOutlastsForgetting) {
  ThrottleRules r;
  r.forget_after_s = 10;   // shorter than the cap
  Throttle t(0, r);
  for (int i = 0; i < 20; ++i) t.failure("k", T0);
  EXPECT_EQ(t.check("k", T0 + 11), 900 - 11);
}

TEST(Throttle, KeysAreIndependent) {
  Throttle t(0, ThrottleRules{});
  for (int i = 0; i < 10; ++i) t.failure("a", T0);
  EXPECT_GT(t.check("a", T0), 0);
  EXPECT_EQ(t.check("b", T0), 0);
}

TEST(Throttle, AFloodOfRandomKeysStaysWithinTheCap) {
  ThrottleRules r;
  r.max_keys = 1000;
  Throttle t(5, r);
  for (int i = 0; i < 50'000; ++i) {
    t.failure("name" + std::to_string(i), T0 + i / 100);
    ASSERT_LE(t.size(), r.max_keys);
  }
  // The most recent keys are kept.
  EXPECT_EQ(t.failures("name49999", T0 + 500), 1);
}

TEST(Throttle, EvictionPrefersForgottenEntries) {
  ThrottleRules r;
  r.max_keys = 100;
  r.forget_after_s = 60;
  Throttle t(0, r);
  for (int i = 0; i < 100; ++i) t.failure("old" + std::to_string(i), T0);
  for (int i = 0; i < 10; ++i) t.failure("hot", T0 + 1000);   // blocked for a while
  EXPECT_LE(t.size(), 100u);
  EXPECT_GT(t.check("hot", T0 + 1000), 0);
}

TEST(LoginThrottle, GuessingFromOneSourceNeverLocksOutTheSameAccountElsewhere) {
  LoginThrottle t{ThrottleRules{}};
  for (int i = 0; i < 40; ++i) t.failure("zhangsan", "198.51.100.9", T0);
  EXPECT_GT(t.check("zhangsan", "198.51.100.9", T0), 0);
  EXPECT_EQ(t.check("zhangsan", "203.0.113.7", T0), 0);
}

TEST(LoginThrottle, PairAfterFiveFailures) {
  LoginThrottle t{ThrottleRules{}};
  for (int i = 0; i < 5; ++i) t.failure("zhangsan", "s", T0);
  EXPECT_EQ(t.check("zhangsan", "s", T0), 0);
  t.failure("zhangsan", "s", T0);
  EXPECT_EQ(t.check("zhangsan", "s", T0), 1);
  EXPECT_EQ(t.check("lisi", "s", T0), 0);   // the source has 6 of its 20
}

TEST(LoginThrottle, SourceAfterTwentyFailuresAcrossNames) {
  LoginThrottle t{ThrottleRules{}};
  for (int i = 0; i < 20; ++i) t.failure("user" + std::to_string(i), "s", T0);
  EXPECT_EQ(t.check("someone", "s", T0), 0);
  t.failure("user20", "s", T0);
  EXPECT_EQ(t.check("someone", "s", T0), 1);
  EXPECT_EQ(t.check("someone", "elsewhere", T0), 0);
}

TEST(LoginThrottle, SuccessClearsThePairButNotTheSource) {
  LoginThrottle t{ThrottleRules{}};
  for (int i = 0; i < 25; ++i) t.failure("zhangsan", "s", T0);
  t.success("zhangsan", "s");
  EXPECT_EQ(t.pairs().failures(LoginThrottle::pair_key("zhangsan", "s"), T0), 0);
  EXPECT_EQ(t.sources().failures("s", T0), 25);
  EXPECT_GT(t.check("zhangsan", "s", T0), 0);   // the source is still slowed down
}

TEST(LoginThrottle, LongNamesAndSourcesAreCut) {
  LoginThrottle t{ThrottleRules{}};
  std::string huge(100'000, 'x');
  t.failure(huge, huge, T0);
  EXPECT_LE(LoginThrottle::pair_key(huge, huge).size(), 257u);
}
