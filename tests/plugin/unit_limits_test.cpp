#include <gtest/gtest.h>

#include "limits.hpp"

using namespace chargehub::auth;

TEST(DeviceLimits, PayloadOverTheLimitIsDroppedAndCounted) {
  DeviceLimits l({8192, 10, 100, 1000});
  EXPECT_EQ(l.check("861234567890123", 8192, 0), LimitVerdict::pass);
  EXPECT_EQ(l.check("861234567890123", 8193, 0), LimitVerdict::too_big);
  auto top = l.top(5);
  ASSERT_EQ(top.size(), 1u);
  EXPECT_EQ(top[0].second.size, 1u);
  EXPECT_EQ(l.dropped_size(), 1u);
}

TEST(DeviceLimits, BurstThenRate) {
  DeviceLimits l({0, 10, 100, 1000});
  for (int i = 0; i < 100; ++i) ASSERT_EQ(l.check("1", 10, 0), LimitVerdict::pass) << i;
  EXPECT_EQ(l.check("1", 10, 0), LimitVerdict::rate);
  EXPECT_EQ(l.check("1", 10, 99), LimitVerdict::rate);   // 0.99 of a message
  EXPECT_EQ(l.check("1", 10, 100), LimitVerdict::pass);  // one more after 100 ms at 10/s
  int passed = 0;
  for (int ms = 101; ms <= 10100; ++ms) passed += l.check("1", 10, ms) == LimitVerdict::pass;
  EXPECT_EQ(passed, 100);  // 10 s at 10/s
}

TEST(DeviceLimits, OneFloodingDeviceDoesNotTouchAnother) {
  DeviceLimits l({0, 10, 100, 1000});
  for (int i = 0; i < 10000; ++i) l.check("666", 10, i / 10);
  for (int i = 0; i < 50; ++i) EXPECT_EQ(l.check("861234567890123", 10, 1000), LimitVerdict::pass);
  auto top = l.top(5);
  ASSERT_EQ(top.size(), 1u);
  EXPECT_EQ(top[0].first, "666");
  EXPECT_GT(top[0].second.rate, 9000u);
}

TEST(DeviceLimits, TopListsTheWorstFirstAndPruneBoundsMemory) {
  DeviceLimits l({1, 0, 1, 3});
  for (int d = 1; d <= 10; ++d)
    for (int i = 0; i < d; ++i) l.check(std::to_string(d), 2, 0);
  auto top = l.top(3);
  ASSERT_EQ(top.size(), 3u);
  EXPECT_EQ(top[0].first, "10");
  EXPECT_EQ(top[2].first, "8");
  l.prune(0);
  EXPECT_EQ(l.top(100).size(), 3u);
}

TEST(DeviceLimits, IdleBucketsAreForgotten) {
  DeviceLimits l({0, 10, 100, 1000});
  l.check("1", 10, 0);
  EXPECT_EQ(l.buckets(), 1u);
  l.prune(100000);
  EXPECT_EQ(l.buckets(), 0u);
}

TEST(DeviceLimits, TheStatusTopicHasABucketOfItsOwnSoAFloodersWillStillGoesOut) {
  DeviceLimits l({0, 10, 100, 1000});
  for (int i = 0; i < 1000; ++i) l.check("666", 10, 0);
  EXPECT_EQ(l.check("666", 10, 0), LimitVerdict::rate);
  EXPECT_EQ(l.check("666", 20, 0, true), LimitVerdict::pass);  // its will {"online":false}
  EXPECT_EQ(l.top(1).at(0).second.rate, 901u);                  // counted under the device
}
