// The bridge's per-peer throttle of refused logins (edge-bridge/src/login_throttle.hpp), as plain
// decisions with a given clock.
#include <gtest/gtest.h>

#include "login_throttle.hpp"

using chargehub::bridge::LoginThrottle;
using chargehub::bridge::LoginThrottlePolicy;
using chargehub::bridge::peer_address;

TEST(BridgeLoginThrottle, AfterTheFreeRefusalsThatDeviceFromThatPeerIsDeferredWithBackOff) {
  LoginThrottle t(LoginThrottlePolicy{3, 50, 1000, 8000, 600, 1000});
  for (int i = 0; i < 3; ++i) t.failure("861234567890123", "10.0.0.9", 0);
  EXPECT_FALSE(t.defer("861234567890123", "10.0.0.9", 0));
  t.failure("861234567890123", "10.0.0.9", 0);
  EXPECT_TRUE(t.defer("861234567890123", "10.0.0.9", 999));
  EXPECT_FALSE(t.defer("861234567890123", "10.0.0.9", 1000));
  // the real charger at another address is never deferred
  EXPECT_FALSE(t.defer("861234567890123", "10.0.0.7", 10));
}

TEST(BridgeLoginThrottle, ABlockedNatAddressStillForwardsChargersThatNeverFailedThere) {
  LoginThrottle t(LoginThrottlePolicy{3, 5, 1000, 8000, 600, 1000});
  for (int i = 0; i < 20; ++i) t.failure("86100000000" + std::to_string(1000 + i), "100.64.0.1", 0);
  EXPECT_TRUE(t.defer("861000000001000", "100.64.0.1", 10));   // refused from there before: deferred
  EXPECT_FALSE(t.defer("861000000009999", "100.64.0.1", 10));  // never refused from there: forwarded
}

TEST(BridgeLoginThrottle, SuccessClearsThePair) {
  LoginThrottle t(LoginThrottlePolicy{0, 50, 1000, 8000, 600, 1000});
  t.failure("1", "a", 0);
  EXPECT_TRUE(t.defer("1", "a", 1));
  t.success("1", "a");
  EXPECT_FALSE(t.defer("1", "a", 1));
}

TEST(BridgeLoginThrottle, PeerAddressDropsThePort) {
  EXPECT_EQ(peer_address("127.0.0.2:51234"), "127.0.0.2");
  EXPECT_EQ(peer_address("::1:51234"), "::1");
  EXPECT_EQ(peer_address("/dev/ttyUSB0"), "/dev/ttyUSB0");
}
