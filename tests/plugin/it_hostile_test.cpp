// Hostile input: odd usernames, passwords and topics. Nothing gets in, the broker keeps running.
#include "fixture.hpp"
#include "log_text.hpp"

using namespace chargehub::plugintest;

namespace {
const std::string A = "861234567890123";
const std::string B = "861234567890124";
}  // namespace

class Hostile : public PluginTest {};

TEST_F(Hostile, OddUsernamesAndPasswordsRefusedBrokerSurvives) {
  auto ta = add_charger(A);
  start_broker("plugin_opt_throttle_user_free 1000\nplugin_opt_throttle_addr_free 1000\n");
  const std::string good = ta.password();
  const std::string nul_pw = good + std::string("\0x", 2);
  struct Case {
    std::string client_id;
    std::optional<std::string> user, password;
  };
  std::vector<Case> cases = {
      {A, std::nullopt, std::nullopt},               // no credentials
      {A, std::string(""), std::string("")},         // empty
      {A, std::string(A), std::nullopt},             // username, no password
      {A, std::string(A), std::string("")},
      {A, std::string(60000, '7'), good},            // very long username
      {A, std::string(A), std::string(60000, 'A')},  // very long password
      {A, std::string(A), "tok:" + std::string(60000, 'A')},
      {A, std::string("\xff\xfe\x80"), good},        // not UTF-8
      {A, std::string(A), std::string("tok:\xff\xfe\x80")},
      {A, std::string(A) + std::string("\0", 1), good},  // NUL in username
      {A, std::string(A), std::string("\0", 1) + good},  // NUL in password
      {A, std::string("\0", 1) + A, good},
      {"+", std::string("+"), good},
      {"#", std::string("#"), good},
      {"..", std::string(".."), good},
      {A, std::string("../" + A), good},
      {A, std::string(A + "/.."), good},
      {"$SYS", std::string("$SYS"), good},
      {"core-x", std::string("core"), good},        // a charger's token for the core account
      {A, std::string(A), std::string("ed25519:99999999999999999999:AAAA")},
      {A, std::string(A), std::string("ed25519:1:") + std::string(100, '=')},
      {A, std::string(A), std::string("tok:====")},
      {A, std::string(" " + A), good},
      {A, std::string("0" + A), good},
  };
  for (const auto& c : cases) {
    int rc = raw_connect(broker->port(), c.client_id, c.user, c.password);
    EXPECT_NE(rc, 0) << chargehub::auth::printable(c.user.value_or("<none>"), 40);
    ASSERT_TRUE(broker->running());
  }
  // The broker hands the plugin the password as a C string: bytes after a NUL are not seen, so a
  // valid token followed by NUL and garbage is the valid token (documented limit; nothing gained).
  EXPECT_EQ(raw_connect(broker->port(), A, A, nul_pw), 0);
  // Same through a v5 client.
  EXPECT_NE(Mqtt(broker->port(), charger(A, "tok:" + std::string(4000, '+'))).connack(), 0);
  EXPECT_EQ(raw_connect(broker->port(), A, A, good), 0);
  EXPECT_EQ(Mqtt(broker->port(), charger(A, good)).connack(), 0);
  EXPECT_TRUE(broker->running());
}

TEST_F(Hostile, TopicTricksStayInsideOwnSubtree) {
  auto ta = add_charger(A);
  auto tb = add_charger(B);
  start_broker();
  auto b = connect(charger(B, tb.password()));
  ASSERT_EQ(b->subscribe("chg/v1/" + B + "/down/#"), 1);
  auto c = connect(core());
  ASSERT_EQ(c->subscribe("chg/v1/+/status"), 1);
  auto a = connect(charger(A, ta.password()));
  // ".." is only a level name in MQTT: it stays under A's own subtree, and reaches nobody else.
  int rc = a->publish("chg/v1/" + A + "/up/../../" + B + "/status", "x");
  EXPECT_TRUE(rc == 0 || rc == 0x10) << rc;
  EXPECT_EQ(a->publish("chg/v1/" + A + "/../" + B + "/status", "x"), 0x87);
  EXPECT_EQ(a->publish("chg/v1/" + A + "/down/../status", "x"), 0x87);
  EXPECT_EQ(a->publish("chg//v1/" + A + "/status", "x"), 0x87);
  EXPECT_EQ(a->publish("/chg/v1/" + A + "/status", "x"), 0x87);
  for (std::string f : std::vector<std::string>{
           "$share/x/#", "$share//chg/v1/" + A + "/down/#", "$share/+/chg/v1/" + A + "/down/#",
           "$share/chg/v1/" + A + "/down/#", "$share/g/$SYS/#", "chg/v1/+/+/#",
           "+/+/+/+", "$CONTROL/#", "$SYS/broker/#", "chg/v1/../" + B + "/down/#"})
    EXPECT_EQ(a->subscribe(f), 0x87) << f;
  // Inside its own down/ subtree ".." is a plain level name: allowed, and it matches nothing of B's.
  EXPECT_EQ(a->subscribe("chg/v1/" + A + "/down/../../" + B + "/down/#"), 1);
  EXPECT_EQ(c->publish("chg/v1/" + B + "/down/cmd", "for-b"), 0);
  EXPECT_EQ(b->wait_message("chg/v1/" + B + "/down/cmd"), "for-b");
  std::this_thread::sleep_for(200ms);
  EXPECT_EQ(a->message_count(), 0u);
  EXPECT_EQ(c->message_count(), 0u);
  EXPECT_TRUE(broker->running());
}

TEST_F(Hostile, ControlPayloadGarbageAnsweredNotFatal) {
  start_broker();
  auto c = connect(core());
  ASSERT_EQ(c->subscribe("$CONTROL/chargehub-auth/v1/response"), 1);
  for (std::string p : std::vector<std::string>{"", "{", std::string(100000, '['), "\xff\xfe",
                                                R"({"commands":[{"command":"set_device","id":"1","token_hash":1e999}]})",
                                                R"({"commands":[null,{},{"command":"disable_device","id":"../1"}]})"})
    EXPECT_EQ(c->publish("$CONTROL/chargehub-auth/v1", p), 0);
  EXPECT_TRUE(chargehub::testing::wait_until([&] { return c->message_count() >= 6; }, 3s)) << c->message_count();
  EXPECT_TRUE(broker->running());
}
