#include <gtest/gtest.h>

#include "config.hpp"

using namespace chargehub::auth;

TEST(Config, Defaults) {
  auto r = parse_config({});
  EXPECT_TRUE(r.errors.empty());
  EXPECT_EQ(r.config.ed25519_window_s, 300);
  EXPECT_EQ(r.config.poll_ms, 250);
  EXPECT_EQ(r.config.auth_snapshot_interval, 300);
  EXPECT_EQ(r.config.auth_cache_file, "");
  EXPECT_EQ(r.config.user_throttle.free_failures, 5u);
  EXPECT_EQ(r.config.addr_throttle.free_failures, 50u);
}

TEST(Config, ReadsEveryOption) {
  auto r = parse_config({{"auth_cache_file", "/c"}, {"auth_snapshot_interval", "60"}, {"services", "/s"}, {"status_file", "/st"}, {"ed25519_window_s", "60"},
                         {"poll_ms", "50"}, {"status_interval_s", "2"}, {"stats_log_s", "0"},
                         {"throttle_user_free", "2"}, {"throttle_addr_free", "9"}, {"throttle_base_ms", "10"},
                         {"throttle_max_ms", "100"}, {"throttle_forget_s", "5"},
                         {"throttle_addr_exempt", "127.0.0.1, ::1"}});
  ASSERT_TRUE(r.errors.empty()) << r.errors[0];
  const Config& c = r.config;
  EXPECT_EQ(c.auth_cache_file, "/c");
  EXPECT_EQ(c.auth_snapshot_interval, 60);
  EXPECT_EQ(c.services, "/s");
  EXPECT_EQ(c.status_file, "/st");
  EXPECT_EQ(c.ed25519_window_s, 60);
  EXPECT_EQ(c.poll_ms, 50);
  EXPECT_EQ(c.user_throttle.free_failures, 2u);
  EXPECT_EQ(c.addr_throttle.free_failures, 9u);
  EXPECT_EQ(c.addr_throttle.base_ms, 10);
  EXPECT_EQ(c.user_throttle.max_ms, 100);
  EXPECT_EQ(c.addr_throttle.forget_s, 5);
  EXPECT_EQ(c.addr_exempt, (std::vector<std::string>{"127.0.0.1", "::1"}));
}

// The plugin no longer reads the core's database: an old configuration stops the broker with a message
// naming what replaces it, instead of starting a broker no charger can log in to.
TEST(Config, DatabaseOptionIsRefusedNamingItsReplacement) {
  for (const char* key : {"database", "db"}) {
    auto r = parse_config({{key, "/y.db"}});
    ASSERT_EQ(r.errors.size(), 1u);
    EXPECT_NE(r.errors[0].find("no longer supported"), std::string::npos);
    EXPECT_NE(r.errors[0].find("plugin_opt_auth_cache_file"), std::string::npos);
    EXPECT_NE(r.errors[0].find("$CONTROL/chargehub-auth/v1"), std::string::npos);
  }
}

TEST(Config, UnknownOptionOrBadValueIsAnError) {
  EXPECT_EQ(parse_config({{"pol_ms", "5"}}).errors.size(), 1u);
  EXPECT_EQ(parse_config({{"poll_ms", "-5"}}).errors.size(), 1u);
  EXPECT_EQ(parse_config({{"poll_ms", "1"}}).errors.size(), 1u);
  EXPECT_EQ(parse_config({{"auth_snapshot_interval", "0"}}).errors.size(), 1u);
  EXPECT_EQ(parse_config({{"ed25519_window_s", "abc"}}).errors.size(), 1u);
  EXPECT_EQ(parse_config({{"throttle_base_ms", "1000"}, {"throttle_max_ms", "10"}}).errors.size(), 1u);
}

TEST(Config, PerDeviceLimits) {
  auto d = parse_config({});
  EXPECT_EQ(d.config.limits.max_payload, 8192);
  EXPECT_EQ(d.config.limits.rate_per_s, 10);
  EXPECT_EQ(d.config.limits.burst, 1000);
  auto r = parse_config({{"limit_max_payload", "4096"}, {"limit_rate_per_s", "5"}, {"limit_burst", "50"}});
  ASSERT_TRUE(r.errors.empty());
  EXPECT_EQ(r.config.limits.max_payload, 4096);
  EXPECT_EQ(r.config.limits.rate_per_s, 5);
  EXPECT_EQ(r.config.limits.burst, 50);
  EXPECT_FALSE(parse_config({{"limit_burst", "0"}}).errors.empty());
}
