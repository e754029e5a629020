#include <gtest/gtest.h>

#include "throttle.hpp"

using namespace chargehub::auth;

TEST(Throttle, FreeFailuresDoNotBlock) {
  Throttle t({3, 1000, 8000, 600, 1000});
  for (int i = 0; i < 3; ++i) t.failure("u", 0);
  EXPECT_FALSE(t.blocked("u", 0));
}

TEST(Throttle, BackOffDoublesUpToMax) {
  Throttle t({3, 1000, 8000, 600, 1000});
  for (int i = 0; i < 3; ++i) t.failure("u", 0);
  std::int64_t now = 0;
  for (std::int64_t expect : {1000, 2000, 4000, 8000, 8000}) {
    t.failure("u", now);
    EXPECT_EQ(t.blocked_for("u", now), expect);
    EXPECT_TRUE(t.blocked("u", now + expect - 1));
    EXPECT_FALSE(t.blocked("u", now + expect));
    now += expect;
  }
}

TEST(Throttle, KeysAreIndependent) {
  Throttle t({0, 1000, 8000, 600, 1000});
  t.failure("attacker", 0);
  EXPECT_TRUE(t.blocked("attacker", 0));
  EXPECT_FALSE(t.blocked("someone-else", 0));
}

TEST(Throttle, SuccessClears) {
  Throttle t({1, 1000, 8000, 600, 1000});
  t.failure("u", 0);
  t.success("u");
  t.failure("u", 0);
  EXPECT_FALSE(t.blocked("u", 0));
}

TEST(Throttle, QuietKeysAreForgotten) {
  Throttle t({1, 1000, 8000, 10, 1000});
  t.failure("u", 0);
  t.failure("u", 0);
  EXPECT_TRUE(t.blocked("u", 0));
  t.prune(11000);
  EXPECT_EQ(t.size(), 0u);
  t.failure("v", 0);
  t.failure("v", 20000);  // more than forget_s after the last failure: counts as the first
  EXPECT_FALSE(t.blocked("v", 20000));
}

TEST(Throttle, PruneBoundsMemory) {
  Throttle t({5, 1000, 8000, 600, 100});
  for (int i = 0; i < 1000; ++i) t.failure("user" + std::to_string(i), i);
  t.prune(1000);
  EXPECT_LE(t.size(), 100u);
  // the newest are kept
  t.failure("user999", 1000);
  EXPECT_EQ(t.size(), 100u);
}
