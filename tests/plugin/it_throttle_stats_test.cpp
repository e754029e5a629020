// Throttling of wrong logins per (username, source address) and per source address (a correct
// credential is always admitted), refusal logging, counters, status file.
#include <boost/json.hpp>

#include <thread>

#include "fixture.hpp"

using namespace chargehub::plugintest;
using chargehub::testkeys::Token;

namespace {
const std::string A = "861234567890123";
const std::string B = "861234567890124";
}  // namespace

class Throttling : public PluginTest {};

TEST_F(Throttling, WrongLoginsPastTheFreeOnesAreThrottledButTheRightTokenAlwaysGetsIn) {
  auto ta = add_charger(A);
  auto tb = add_charger(B);
  start_broker("plugin_opt_throttle_user_free 3\nplugin_opt_throttle_base_ms 1500\n");
  Token wrong;
  for (int i = 0; i < 5; ++i) EXPECT_NE(Mqtt(broker->port(), charger(A, wrong.password())).connack(), 0);
  EXPECT_TRUE(broker->wait_for_log("auth.throttled_unlogged count="));
  // The right token is checked and admitted at once, from the same address, while the key is blocked ...
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(Mqtt(broker->port(), charger(A, ta.password())).connack(), 0);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 500ms);
  // ... and so is another charger from the same address.
  EXPECT_EQ(Mqtt(broker->port(), charger(B, tb.password())).connack(), 0);
  EXPECT_TRUE(chargehub::testing::wait_until(
      [&] { return status().find("admitted_while_throttled: 1\n") != std::string::npos; }, 5s))
      << status();
}

TEST_F(Throttling, BlockedSourceAddressStillAdmitsCorrectCredentials) {
  auto ta = add_charger(A);
  start_broker("plugin_opt_throttle_addr_free 3\nplugin_opt_throttle_base_ms 5000\n");
  // Failures spread over many usernames from one address.
  for (int i = 0; i < 5; ++i) {
    auto o = charger(std::to_string(100 + i), "tok:AAAAAAAAAAAAAAAAAAAAAA==");
    o.bind_address = "127.0.0.2";
    EXPECT_NE(Mqtt(broker->port(), o).connack(), 0);
  }
  EXPECT_TRUE(broker->wait_for_log("auth.throttled_unlogged count=1\n"));
  auto from2 = charger(A, ta.password());
  from2.bind_address = "127.0.0.2";
  EXPECT_EQ(Mqtt(broker->port(), from2).connack(), 0);
}

TEST_F(Throttling, ExemptAddressIsNotThrottledByAddress) {
  auto ta = add_charger(A);
  start_broker("plugin_opt_throttle_addr_free 1\nplugin_opt_throttle_addr_exempt 127.0.0.4\n");
  for (int i = 0; i < 3; ++i) {
    auto o = charger(std::to_string(100 + i), "tok:AAAAAAAAAAAAAAAAAAAAAA==");
    o.bind_address = "127.0.0.4";
    EXPECT_NE(Mqtt(broker->port(), o).connack(), 0);
  }
  auto o = charger(A, ta.password());
  o.bind_address = "127.0.0.4";
  EXPECT_EQ(Mqtt(broker->port(), o).connack(), 0);
}

TEST_F(Throttling, FloodOfBadLoginsDoesNotDelayOthers) {
  auto ta = add_charger(A);
  start_broker();
  std::atomic<bool> stop{false};
  std::thread flood([&] {
    while (!stop) raw_connect(broker->port(), "999", std::string("999"), std::string("tok:AAAAAAAAAAAAAAAAAAAAAA=="), "127.0.0.5");
  });
  std::this_thread::sleep_for(300ms);
  for (int i = 0; i < 5; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    EXPECT_EQ(Mqtt(broker->port(), charger(A, ta.password())).connack(), 0);
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 300ms);
  }
  stop = true;
  flood.join();
  EXPECT_TRUE(broker->wait_for_log("auth.throttled_unlogged count="));
}

class Counters : public PluginTest {};

TEST_F(Counters, StatusFileAndBrokerLogShowCountersNeverSecrets) {
  auto ta = add_charger(A);
  start_broker("plugin_opt_stats_log_s 1\n");
  Token wrong;
  EXPECT_NE(Mqtt(broker->port(), charger(A, wrong.password())).connack(), 0);
  auto a = connect(charger(A, ta.password()));
  ASSERT_EQ(a->connack(), 0);
  EXPECT_EQ(a->subscribe("#"), 0x87);
  auto w = core();
  w.password = "not-the-secret-x";
  EXPECT_NE(Mqtt(broker->port(), w).connack(), 0);
  EXPECT_TRUE(chargehub::testing::wait_until(
      [&] {
        auto s = status();
        // logins_ok: the charger and the test core that serves the plugin its devices
        return s.find("logins_ok: 2\n") != std::string::npos && s.find("refused.bad_token: 1\n") != std::string::npos &&
               s.find("refused.bad_secret: 1\n") != std::string::npos &&
               s.find("acl_denied.charger: 1\n") != std::string::npos && s.find("credentials: snapshot\n") != std::string::npos &&
               s.find("snapshots: 1\n") != std::string::npos;
      },
      5s))
      << status();
  EXPECT_TRUE(broker->wait_for_log("chargehub-auth stats: logins_ok=2 logins_refused=2"));
  EXPECT_TRUE(broker->wait_for_log("auth.acl_denied role=charger username=" + A + " "));
  auto log = broker->log_text();
  EXPECT_EQ(log.find(wrong.password().substr(4)), std::string::npos);
  EXPECT_EQ(log.find(ta.password().substr(4)), std::string::npos);
  EXPECT_EQ(log.find("not-the-secret-x"), std::string::npos);
  EXPECT_EQ(log.find(secrets["core"]), std::string::npos);
}

TEST_F(Counters, ThrottledLoginsAreCounted) {
  auto ta = add_charger(A);
  start_broker("plugin_opt_throttle_user_free 0\nplugin_opt_throttle_base_ms 10000\n");
  Token wrong;
  EXPECT_NE(Mqtt(broker->port(), charger(A, wrong.password())).connack(), 0);
  EXPECT_NE(Mqtt(broker->port(), charger(A, wrong.password())).connack(), 0);
  EXPECT_EQ(Mqtt(broker->port(), charger(A, ta.password())).connack(), 0);
  EXPECT_TRUE(chargehub::testing::wait_until([&] { return status().find("\nthrottled: 1\n") != std::string::npos; }, 5s))
      << status();
}
