#include <gtest/gtest.h>

#include "topic_match.hpp"

using namespace chargehub::auth;

TEST(TopicMatch, LiteralMatchesOnlyItself) {
  EXPECT_TRUE(topic_matches("chg/v1/7/status", "chg/v1/7/status"));
  EXPECT_FALSE(topic_matches("chg/v1/7/status", "chg/v1/7/status/x"));
  EXPECT_FALSE(topic_matches("chg/v1/7/status", "chg/v1/7"));
  EXPECT_FALSE(topic_matches("chg/v1/7/status", "chg/v1/77/status"));
}

TEST(TopicMatch, PlusMatchesExactlyOneLevel) {
  EXPECT_TRUE(topic_matches("chg/v1/+/status", "chg/v1/861234567890123/status"));
  EXPECT_FALSE(topic_matches("chg/v1/+/status", "chg/v1/1/2/status"));
  EXPECT_TRUE(topic_matches("chg/v1/+/status", "chg/v1//status"));  // an empty level is a level
}

TEST(TopicMatch, HashMatchesParentAndEverythingBelow) {
  EXPECT_TRUE(topic_matches("chg/v1/+/up/#", "chg/v1/7/up"));
  EXPECT_TRUE(topic_matches("chg/v1/+/up/#", "chg/v1/7/up/meter"));
  EXPECT_TRUE(topic_matches("chg/v1/+/up/#", "chg/v1/7/up/a/b/c"));
  EXPECT_FALSE(topic_matches("chg/v1/+/up/#", "chg/v1/7/down/cmd"));
}

TEST(TopicMatch, SelfPlaceholderMatchesOnlyOwnName) {
  EXPECT_TRUE(topic_matches("chg/v1/%u/up/+/#", "chg/v1/7/up/meter", "7"));
  EXPECT_FALSE(topic_matches("chg/v1/%u/up/+/#", "chg/v1/8/up/meter", "7"));
  EXPECT_FALSE(topic_matches("chg/v1/%u/up/+/#", "chg/v1/7/up", "7"));  // "below" up/ only
  EXPECT_FALSE(topic_matches("chg/v1/%u/status", "chg/v1/%u/status", ""));
}

TEST(TopicMatch, WildcardsNeverMatchDollarTopicsAtFirstLevel) {
  EXPECT_FALSE(topic_matches("#", "$SYS/broker/uptime"));
  EXPECT_FALSE(topic_matches("+/broker/uptime", "$SYS/broker/uptime"));
  EXPECT_TRUE(topic_matches("$SYS/#", "$SYS/broker/uptime"));
}

TEST(TopicMatch, TopicWithWildcardOrEmptyNeverMatches) {
  EXPECT_FALSE(topic_matches("chg/v1/+/status", "chg/v1/+/status"));
  EXPECT_FALSE(topic_matches("#", ""));
  EXPECT_FALSE(topic_matches("chg/#", "chg/#"));
}

TEST(FilterWithin, NarrowerFilterIsWithin) {
  EXPECT_TRUE(filter_within("chg/v1/7/down/#", "chg/v1/%u/down/#", "7"));
  EXPECT_TRUE(filter_within("chg/v1/7/down/cmd", "chg/v1/%u/down/#", "7"));
  EXPECT_TRUE(filter_within("chg/v1/7/down/+", "chg/v1/%u/down/#", "7"));
  EXPECT_TRUE(filter_within("chg/v1/7/down", "chg/v1/%u/down/#", "7"));
  EXPECT_TRUE(filter_within("chg/v1/+/up/#", "chg/v1/+/up/#"));
  EXPECT_TRUE(filter_within("chg/v1/5/up/meter", "chg/v1/+/up/#"));
}

TEST(FilterWithin, WiderFilterIsNotWithin) {
  EXPECT_FALSE(filter_within("chg/v1/+/down/#", "chg/v1/%u/down/#", "7"));
  EXPECT_FALSE(filter_within("chg/v1/#", "chg/v1/%u/down/#", "7"));
  EXPECT_FALSE(filter_within("#", "chg/v1/+/up/#"));
  EXPECT_FALSE(filter_within("chg/v1/#", "chg/v1/+/up/#"));
  EXPECT_FALSE(filter_within("chg/+/7/up/#", "chg/v1/+/up/#"));
  EXPECT_FALSE(filter_within("+/#", "svc/v1/#"));
}

TEST(FilterWithin, MalformedFilterIsNeverWithin) {
  EXPECT_FALSE(filter_within("chg/v1/7/down/#/x", "chg/v1/%u/down/#", "7"));
  EXPECT_FALSE(filter_within("chg/v1/7/down/c#", "chg/v1/%u/down/#", "7"));
  EXPECT_FALSE(filter_within("chg/v1/7+/down/x", "chg/v1/+/down/#"));
  EXPECT_FALSE(filter_within("", "#"));
  EXPECT_FALSE(filter_within(std::string_view("chg/v1/7/down/\0x", 16), "chg/v1/%u/down/#", "7"));
}

TEST(StripShare, RemovesSharePrefix) {
  EXPECT_EQ(strip_share("$share/g/chg/v1/+/up/#"), std::optional<std::string_view>("chg/v1/+/up/#"));
  EXPECT_EQ(strip_share("chg/v1/+/up/#"), std::optional<std::string_view>("chg/v1/+/up/#"));
}

TEST(StripShare, RejectsMalformedShare) {
  EXPECT_FALSE(strip_share("$share/g"));
  EXPECT_FALSE(strip_share("$share/g/"));
  EXPECT_FALSE(strip_share("$share//chg/v1/+/up/#"));
  EXPECT_FALSE(strip_share("$share/+/chg/v1/+/up/#"));
  EXPECT_FALSE(strip_share("$share/#/x"));
}
