// Revocation: changes the core pushes over $CONTROL (with their revision, as the core does after
// committing them) and raw control commands, each disconnecting the charger within 1 s and refusing it
// from then on.
#include <boost/json.hpp>

#include "fixture.hpp"

using namespace chargehub::plugintest;
using chargehub::testkeys::Ed25519Key;
using chargehub::testkeys::now_ms;
using chargehub::testkeys::Token;
namespace json = boost::json;

namespace {
const std::string A = "861234567890123";
const std::string B = "861234567890124";
const std::string control_topic(chargehub::auth_control::kControlTopic);
const std::string response_topic(chargehub::auth_control::kResponseTopic);

// Milliseconds from `since` until the client was disconnected (or -1).
long kicked_after(Mqtt& m, std::chrono::steady_clock::time_point since) {
  auto at = m.wait_disconnect(std::chrono::seconds(3));
  if (!at) return -1;
  return std::chrono::duration_cast<std::chrono::milliseconds>(*at - since).count();
}
}  // namespace

class Revocation : public PluginTest {
 protected:
  // Sends commands as the core and returns the "responses" array.
  json::array control(const std::string& commands) {
    auto c = connect(core());
    EXPECT_EQ(c->connack(), 0);
    EXPECT_EQ(c->subscribe(response_topic), 1);
    EXPECT_EQ(c->publish(control_topic, commands), 0);
    auto r = c->wait_message(response_topic);
    if (!r) return {};
    return json::parse(*r).as_object().at("responses").as_array();
  }
};

TEST_F(Revocation, DisablePushKicksWithinOneSecondAndRefuses) {
  auto ta = add_charger(A);
  auto tb = add_charger(B);
  start_broker();
  auto a = connect(charger(A, ta.password()));
  auto b = connect(charger(B, tb.password()));
  ASSERT_EQ(a->connack(), 0);
  auto t0 = std::chrono::steady_clock::now();
  disable_device(A);
  long ms = kicked_after(*a, t0);
  EXPECT_GE(ms, 0);
  EXPECT_LT(ms, 1000);
  EXPECT_NE(Mqtt(broker->port(), charger(A, ta.password())).connack(), 0);
  EXPECT_TRUE(broker->wait_for_log("reason=disabled"));
  EXPECT_TRUE(b->connected());  // others untouched
}

TEST_F(Revocation, DeletePushKicksWithinOneSecondAndRefuses) {
  auto ta = add_charger(A);
  start_broker();
  auto a = connect(charger(A, ta.password()));
  ASSERT_EQ(a->connack(), 0);
  auto t0 = std::chrono::steady_clock::now();
  delete_device(A);
  long ms = kicked_after(*a, t0);
  EXPECT_GE(ms, 0);
  EXPECT_LT(ms, 1000);
  EXPECT_NE(Mqtt(broker->port(), charger(A, ta.password())).connack(), 0);
  EXPECT_TRUE(broker->wait_for_log("reason=deleted"));
}

TEST_F(Revocation, NewTokenWithoutGraceKicksOldSession) {
  auto ta = add_charger(A);
  Ed25519Key key;
  put_device(B, std::nullopt, key.pub_hex());
  start_broker();
  auto a = connect(charger(A, ta.password()));
  auto b = connect(charger(B, key.password(B, now_ms())));
  ASSERT_EQ(a->connack(), 0);
  ASSERT_EQ(b->connack(), 0);
  Token fresh;
  Ed25519Key new_key;
  auto t0 = std::chrono::steady_clock::now();
  put_device(A, fresh.hash_hex());
  put_device(B, std::nullopt, new_key.pub_hex());
  long ms = kicked_after(*a, t0);
  EXPECT_GE(ms, 0);
  EXPECT_LT(ms, 1000);
  EXPECT_GE(kicked_after(*b, t0), 0);
  EXPECT_EQ(Mqtt(broker->port(), charger(A, fresh.password())).connack(), 0);
  EXPECT_NE(Mqtt(broker->port(), charger(A, ta.password())).connack(), 0);
}

TEST_F(Revocation, UnrelatedChangeOrAnUnchangedSnapshotKeepsConnections) {
  auto ta = add_charger(A);
  start_broker();
  auto a = connect(charger(A, ta.password()));
  ASSERT_EQ(a->connack(), 0);
  auto tb = add_charger(B);
  EXPECT_TRUE(chargehub::testing::wait_until([&] { return can_login(charger(B, tb.password())); }, 1s));
  ASSERT_EQ(test_core->send_snapshot(), 0);  // the same credentials at a newer revision
  ASSERT_TRUE(wait_for_snapshot(2));
  EXPECT_FALSE(a->wait_disconnect(std::chrono::milliseconds(500)));
}

TEST_F(Revocation, ControlDisableKicksWithinOneSecond) {
  auto ta = add_charger(A);
  start_broker();
  auto a = connect(charger(A, ta.password()));
  ASSERT_EQ(a->connack(), 0);
  auto c = connect(core());
  ASSERT_EQ(c->subscribe(response_topic), 1);
  auto t0 = std::chrono::steady_clock::now();
  ASSERT_EQ(c->publish(control_topic, R"({"commands":[{"command":"disable_device","id":")" + A + R"("}]})"), 0);
  long ms = kicked_after(*a, t0);
  EXPECT_GE(ms, 0);
  EXPECT_LT(ms, 1000);
  auto r = c->wait_message(response_topic);
  ASSERT_TRUE(r);
  EXPECT_EQ(json::parse(*r).at("responses").at(0).at("ok").as_bool(), true);
  EXPECT_NE(Mqtt(broker->port(), charger(A, ta.password())).connack(), 0);
}

TEST_F(Revocation, ControlDeleteAndSetDevice) {
  auto ta = add_charger(A);
  start_broker();
  Token tb;
  auto r = control(R"({"commands":[{"command":"set_device","id":")" + B + R"(","token_hash":")" + tb.hash_hex() +
                   R"(","enabled":true},{"command":"delete_device","id":")" + A +
                   R"("},{"command":"disable_device","id":"999"}]})");
  ASSERT_EQ(r.size(), 3u);
  EXPECT_TRUE(r[0].at("ok").as_bool());
  EXPECT_TRUE(r[1].at("ok").as_bool());
  EXPECT_FALSE(r[2].at("ok").as_bool());
  EXPECT_EQ(Mqtt(broker->port(), charger(B, tb.password())).connack(), 0);  // admitted at once
  EXPECT_NE(Mqtt(broker->port(), charger(A, ta.password())).connack(), 0);
}

TEST_F(Revocation, ControlGetStatsAndReloadRestoresTheCoresTruth) {
  auto ta = add_charger(A);
  start_broker();
  auto r = control(R"({"commands":[{"command":"disable_device","id":")" + A + R"("}]})");
  ASSERT_EQ(r.size(), 1u);
  EXPECT_NE(Mqtt(broker->port(), charger(A, ta.password())).connack(), 0);
  r = control(R"({"commands":[{"command":"reload"},{"command":"get_stats"}]})");
  ASSERT_EQ(r.size(), 2u);
  auto stats = r[1].at("stats").as_object();
  EXPECT_GE(stats.at("logins_ok").to_number<std::int64_t>(), 1);
  EXPECT_GE(stats.at("refused").at("disabled").to_number<std::int64_t>(), 1);
  EXPECT_EQ(stats.at("devices").as_int64(), 1);
  // The reload asks for a snapshot: the core's DB (still enabled) is the truth again.
  EXPECT_TRUE(chargehub::testing::wait_until([&] { return can_login(charger(A, ta.password())); }, 3s));
}

TEST_F(Revocation, ControlOnlyFromCore) {
  auto ta = add_charger(A);
  start_broker();
  auto a = connect(charger(A, ta.password()));
  auto mon = connect(monitor());
  auto br = connect(bridge());
  std::string cmd = R"({"commands":[{"command":"disable_device","id":")" + A + R"("}]})";
  EXPECT_EQ(a->publish(control_topic, cmd), 0x87);
  EXPECT_EQ(mon->publish(control_topic, cmd), 0x87);
  EXPECT_EQ(br->publish(control_topic, cmd), 0x87);
  EXPECT_FALSE(a->wait_disconnect(500ms));
  EXPECT_EQ(Mqtt(broker->port(), charger(A, ta.password())).connack(), 0);
}

TEST_F(Revocation, ACoreStartingAfterTheBrokerAnswersTheRequest) {
  auto ta = add_charger(A);
  start_broker("", /*with_core=*/false);
  EXPECT_NE(Mqtt(broker->port(), charger(A, ta.password())).connack(), 0);
  EXPECT_TRUE(broker->wait_for_log("reason=unknown_user"));
  start_core(/*announce=*/false);  // answers requests only: the plugin asks again every second
  // (Waiting on the log, not by retrying the login: failed logins would throttle the username.)
  EXPECT_TRUE(wait_for_snapshot(1, 3s));
  EXPECT_EQ(Mqtt(broker->port(), charger(A, ta.password())).connack(), 0);
  EXPECT_GE(test_core->requests_answered(), 1u);
}

TEST_F(Revocation, ServicesFileChangesArePickedUp) {
  start_broker();
  auto c = connect(core());
  ASSERT_EQ(c->connack(), 0);
  // A new account appears; the core's secret is replaced: its old session is closed.
  auto more = chargehub::testing::make_services_file(services, {{"bridge-b", "bridge"}, {"core", "core"}});
  EXPECT_TRUE(chargehub::testing::wait_until(
      [&] { return can_login({"bridge-b", "bridge-b", more["bridge-b"], 5, "", "", "", {}, {}}); }, 3s));
  EXPECT_TRUE(c->wait_disconnect());
  auto o = core();
  o.password = more["core"];
  EXPECT_EQ(Mqtt(broker->port(), o).connack(), 0);
  EXPECT_NE(Mqtt(broker->port(), core()).connack(), 0);
}
