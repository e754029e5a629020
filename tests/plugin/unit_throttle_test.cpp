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

// ---- LoginThrottle: a correct credential always gets in (issue 19.4) ----

namespace {
LoginThrottle small_throttle(std::vector<std::string> bridges = {}) {
  return LoginThrottle({3, 1000, 8000, 600, 1000}, {10, 1000, 8000, 600, 1000}, std::move(bridges));
}
}  // namespace

TEST(LoginThrottle, CorrectCredentialIsAdmittedWhileItsUsernameIsUnderAttackFromTheSameAddress) {
  auto t = small_throttle();
  for (int i = 0; i < 50; ++i) t.after_check("861234567890123", "10.0.0.9", Refusal::bad_token, i);
  auto v = t.after_check("861234567890123", "10.0.0.9", Refusal::none, 50);
  EXPECT_EQ(v.refusal, Refusal::none);
  EXPECT_TRUE(v.key_blocked);  // counted as admitted while throttled
}

TEST(LoginThrottle, WrongCredentialsPastTheFreeFailuresAreRefusedAsThrottledAndNotLogged) {
  auto t = small_throttle();
  for (int i = 0; i < 3; ++i) {
    auto v = t.after_check("861234567890123", "10.0.0.9", Refusal::bad_token, 0);
    EXPECT_EQ(v.refusal, Refusal::bad_token);
    EXPECT_TRUE(v.log);
  }
  t.after_check("861234567890123", "10.0.0.9", Refusal::bad_token, 0);  // the 4th blocks for 1 s
  auto v = t.after_check("861234567890123", "10.0.0.9", Refusal::bad_token, 10);
  EXPECT_EQ(v.refusal, Refusal::throttled);
  EXPECT_FALSE(v.log);
  // the attacker's address blocks nobody else's username from elsewhere
  EXPECT_EQ(t.after_check("861234567890123", "10.0.0.7", Refusal::bad_token, 10).refusal, Refusal::bad_token);
}

TEST(LoginThrottle, ManyChargersBehindOneNatAddressNeverLockEachOtherOut) {
  auto t = small_throttle();
  // One misconfigured charger behind the NAT keeps failing, far past the per-address free failures...
  for (int i = 0; i < 200; ++i) t.after_check("861000000000999", "100.64.0.1", Refusal::bad_token, i);
  // ...and every other charger behind the same address still gets in.
  for (int c = 0; c < 100; ++c)
    EXPECT_EQ(t.after_check("86100000000" + std::to_string(1000 + c), "100.64.0.1", Refusal::none, 300).refusal,
              Refusal::none);
}

TEST(LoginThrottle, BridgeAddressesAreNotASourceButUsernameThroughTheBridgeIs) {
  auto t = small_throttle({"10.0.0.2"});
  for (int i = 0; i < 100; ++i) t.after_check("8610000000" + std::to_string(i), "10.0.0.2", Refusal::unknown_user, 0);
  // 100 failures from the bridge's address: not a blocked source
  EXPECT_EQ(t.after_check("861000000000777", "10.0.0.2", Refusal::bad_token, 1).refusal, Refusal::bad_token);
  for (int i = 0; i < 5; ++i) t.after_check("861000000000777", "10.0.0.2", Refusal::bad_token, 1);
  EXPECT_EQ(t.after_check("861000000000777", "10.0.0.2", Refusal::bad_token, 2).refusal, Refusal::throttled);
  EXPECT_EQ(t.after_check("861000000000777", "10.0.0.2", Refusal::none, 3).refusal, Refusal::none);
}
