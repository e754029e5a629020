// Token logins and the topic rules of mqtt.md, against a real mosquitto loading the plugin.
#include "fixture.hpp"

using namespace chargehub::plugintest;

namespace {
const std::string A = "861234567890123";
const std::string B = "861234567890124";
}  // namespace

class TokenAcl : public PluginTest {};

TEST_F(TokenAcl, ChargerWithIssuedTokenConnectsV311AndV5) {
  auto tok = add_charger(A);
  start_broker();
  EXPECT_EQ(Mqtt(broker->port(), charger(A, tok.password(), 4)).connack(), 0);
  EXPECT_EQ(Mqtt(broker->port(), charger(A, tok.password(), 5)).connack(), 0);
}

TEST_F(TokenAcl, ForgedOrMissingTokenRefused) {
  auto tok = add_charger(A);
  start_broker();
  chargehub::testkeys::Token forged;
  EXPECT_EQ(Mqtt(broker->port(), charger(A, forged.password(), 4)).connack(), 5);   // 3.1.1: not authorised
  EXPECT_EQ(Mqtt(broker->port(), charger(A, forged.password(), 5)).connack(), 135); // v5: not authorised
  EXPECT_NE(Mqtt(broker->port(), charger(A, "", 5)).connack(), 0);
  EXPECT_NE(Mqtt(broker->port(), {A, "", "", 5, "", "", ""}).connack(), 0);  // no username at all
  EXPECT_NE(Mqtt(broker->port(), charger(B, tok.password(), 5)).connack(), 0);  // unknown device
  EXPECT_TRUE(broker->wait_for_log("reason=bad_token username=" + A + " "));
  EXPECT_TRUE(broker->wait_for_log("reason=unknown_user username=" + B + " "));
}

TEST_F(TokenAcl, ClientIdMustEqualDeviceId) {
  auto tok = add_charger(A);
  start_broker();
  auto o = charger(A, tok.password());
  o.client_id = B;
  EXPECT_NE(Mqtt(broker->port(), o).connack(), 0);
  o.client_id = "";
  EXPECT_NE(Mqtt(broker->port(), o).connack(), 0);
  EXPECT_TRUE(broker->wait_for_log("reason=client_id_mismatch"));
}

TEST_F(TokenAcl, SecondConnectionWithSameIdTakesOver) {
  auto tok = add_charger(A);
  start_broker();
  auto first = connect(charger(A, tok.password()));
  ASSERT_EQ(first->connack(), 0);
  auto second = connect(charger(A, tok.password()));
  ASSERT_EQ(second->connack(), 0);
  EXPECT_TRUE(first->wait_disconnect());
  EXPECT_TRUE(second->connected());
}

TEST_F(TokenAcl, ChargerPublishesOwnUpAndStatusToCore) {
  auto ta = add_charger(A);
  start_broker();
  auto c = connect(core());
  ASSERT_EQ(c->connack(), 0);
  EXPECT_EQ(c->subscribe("$share/core/chg/v1/+/up/#"), 1);
  EXPECT_EQ(c->subscribe("chg/v1/+/status"), 1);
  auto a = connect(charger(A, ta.password()));
  ASSERT_EQ(a->connack(), 0);
  EXPECT_EQ(a->publish("chg/v1/" + A + "/up/meter", R"({"ports":[]})"), 0);
  EXPECT_EQ(a->publish("chg/v1/" + A + "/status", R"({"online":true})"), 0);
  EXPECT_EQ(c->wait_message("chg/v1/" + A + "/up/meter"), R"({"ports":[]})");
  EXPECT_TRUE(c->wait_message("chg/v1/" + A + "/status"));
}

TEST_F(TokenAcl, ChargerCannotPublishForAnotherOrDownOrOutside) {
  auto ta = add_charger(A);
  start_broker();
  auto c = connect(core());
  ASSERT_EQ(c->subscribe("chg/v1/+/up/#"), 1);
  ASSERT_EQ(c->subscribe("chg/v1/+/status"), 1);
  ASSERT_EQ(c->subscribe("svc/v1/#"), 1);
  auto a = connect(charger(A, ta.password()));
  for (std::string t : std::vector<std::string>{"chg/v1/" + B + "/up/meter", "chg/v1/" + B + "/status", "chg/v1/" + A + "/down/cmd",
                 std::string("svc/v1/x"), "chg/v1/" + A + "/up", std::string("$CONTROL/chargehub-auth/v1")})
    EXPECT_EQ(a->publish(t, "x"), 0x87) << t;  // v5 PUBACK: not authorised
  a->publish("chg/v1/" + A + "/up/meter", "marker");
  ASSERT_TRUE(c->wait_message("chg/v1/" + A + "/up/meter"));
  EXPECT_EQ(c->message_count(), 1u);  // nothing else got through
}

TEST_F(TokenAcl, ChargerSubscribesOnlyInsideOwnDown) {
  auto ta = add_charger(A);
  start_broker();
  auto a = connect(charger(A, ta.password()));
  EXPECT_EQ(a->subscribe("chg/v1/" + A + "/down/#"), 1);
  EXPECT_EQ(a->subscribe("chg/v1/" + A + "/down/cmd"), 1);
  for (std::string f : std::vector<std::string>{"chg/v1/+/down/#", "chg/v1/" + B + "/down/#", std::string("#"), std::string("$SYS/#"),
                 "chg/v1/" + A + "/up/#", std::string("$CONTROL/chargehub-auth/v1/response"),
                 std::string("$share/g/chg/v1/+/down/#"), std::string("+/v1/" + A + "/down/#")})
    EXPECT_EQ(a->subscribe(f), 0x87) << f;
}

TEST_F(TokenAcl, ChargerReceivesOnlyItsOwnCommands) {
  auto ta = add_charger(A);
  auto tb = add_charger(B);
  start_broker();
  auto a = connect(charger(A, ta.password()));
  auto b = connect(charger(B, tb.password(), 4));
  ASSERT_EQ(a->subscribe("chg/v1/" + A + "/down/#"), 1);
  ASSERT_EQ(b->subscribe("chg/v1/" + B + "/down/#"), 1);
  auto c = connect(core());
  EXPECT_EQ(c->publish("chg/v1/" + A + "/down/cmd", "for-a"), 0);
  EXPECT_EQ(c->publish("chg/v1/" + B + "/down/cmd", "for-b"), 0);
  EXPECT_EQ(a->wait_message("chg/v1/" + A + "/down/cmd"), "for-a");
  EXPECT_EQ(b->wait_message("chg/v1/" + B + "/down/cmd"), "for-b");
  EXPECT_FALSE(a->received("chg/v1/" + B + "/down/cmd"));
  EXPECT_FALSE(b->received("chg/v1/" + A + "/down/cmd"));
}

TEST_F(TokenAcl, WillOnOwnStatusDeliveredForeignWillDropped) {
  auto ta = add_charger(A);
  auto tb = add_charger(B);
  start_broker();
  auto c = connect(core());
  ASSERT_EQ(c->subscribe("chg/v1/+/status"), 1);
  // mosquitto_sub as the chargers, killed without DISCONNECT so the broker sends their wills.
  chargehub::testing::Process own({"/usr/bin/mosquitto_sub", "-h", "127.0.0.1", "-p", std::to_string(broker->port()),
                                   "-i", A, "-u", A, "-P", ta.password(), "-t", "chg/v1/" + A + "/down/#",
                                   "--will-topic", "chg/v1/" + A + "/status", "--will-payload", R"({"online":false})",
                                   "--will-qos", "1"},
                                  *dir / "sub-a.log");
  chargehub::testing::Process foreign({"/usr/bin/mosquitto_sub", "-h", "127.0.0.1", "-p",
                                       std::to_string(broker->port()), "-i", B, "-u", B, "-P", tb.password(), "-t",
                                       "chg/v1/" + B + "/down/#", "--will-topic", "chg/v1/" + A + "/status",
                                       "--will-payload", "forged", "--will-qos", "1"},
                                      *dir / "sub-b.log");
  ASSERT_TRUE(broker->wait_for_log("u'" + B + "'"));
  ASSERT_TRUE(broker->wait_for_log("u'" + A + "'"));
  foreign.kill9();
  own.kill9();
  EXPECT_EQ(c->wait_message("chg/v1/" + A + "/status"), R"({"online":false})");
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(c->message_count(), 1u);  // the forged will was dropped
}

TEST_F(TokenAcl, ServiceAccountsGetTheirRulesOnly) {
  auto ta = add_charger(A);
  start_broker();
  auto br = connect(bridge());
  ASSERT_EQ(br->connack(), 0);
  auto mon = connect(monitor());
  ASSERT_EQ(mon->connack(), 0);
  EXPECT_EQ(mon->subscribe("svc/v1/#"), 1);
  EXPECT_EQ(mon->subscribe("chg/v1/+/up/#"), 1);
  EXPECT_EQ(mon->subscribe("chg/v1/+/down/#"), 0x87);
  EXPECT_EQ(mon->publish("chg/v1/" + A + "/down/cmd", "x"), 0x87);
  EXPECT_EQ(br->publish("svc/v1/bridge-a/status", "up"), 0);
  EXPECT_EQ(mon->wait_message("svc/v1/bridge-a/status"), "up");
  // The bridge's own identity grants nothing on any charger's topics.
  EXPECT_EQ(br->publish("chg/v1/" + A + "/up/meter", "x"), 0x87);
  EXPECT_EQ(br->publish("chg/v1/" + A + "/status", "x"), 0x87);
  EXPECT_EQ(br->subscribe("chg/v1/" + A + "/down/#"), 0x87);
  EXPECT_EQ(br->subscribe("svc/v1/#"), 0x87);
  EXPECT_EQ(br->publish("svc/v1/bridge-b/status", "x"), 0x87);
  // The core may not publish as a charger.
  auto c = connect(core());
  EXPECT_EQ(c->publish("chg/v1/" + A + "/up/meter", "x"), 0x87);
  EXPECT_EQ(c->subscribe("#"), 0x87);
}

TEST_F(TokenAcl, ServiceClientIdsAreBound) {
  start_broker();
  auto o = core();
  o.client_id = "core";
  EXPECT_NE(Mqtt(broker->port(), o).connack(), 0);
  o.client_id = "core-2";
  EXPECT_EQ(Mqtt(broker->port(), o).connack(), 0);
  auto b = bridge();
  b.client_id = "bridge-b";
  EXPECT_NE(Mqtt(broker->port(), b).connack(), 0);
  auto m = monitor();
  m.client_id = "x-grafana";
  EXPECT_NE(Mqtt(broker->port(), m).connack(), 0);
  auto w = core();
  w.password = secrets["bridge-a"];
  EXPECT_NE(Mqtt(broker->port(), w).connack(), 0);
}

TEST_F(TokenAcl, CommandLineClientsV311AndV5) {
  auto ta = add_charger(A);
  start_broker();
  const std::string port = std::to_string(broker->port());
  for (std::string v : {"mqttv311", "mqttv5"}) {
    auto out = *dir / ("sub-" + v + ".out");
    chargehub::testing::Process sub({"/usr/bin/mosquitto_sub", "-h", "127.0.0.1", "-p", port, "-V", v, "-i", "core-" + v,
                                     "-u", "core", "-P", secrets["core"], "-t", "chg/v1/+/up/#", "-C", "1", "-W", "10"},
                                    out);
    ASSERT_TRUE(broker->wait_for_log("Sending SUBACK to core-" + v));  // it has subscribed
    EXPECT_EQ(run_tool({"/usr/bin/mosquitto_pub", "-h", "127.0.0.1", "-p", port, "-V", v, "-i", A, "-u", A, "-P",
                        ta.password(), "-q", "1", "-t", "chg/v1/" + A + "/up/heartbeat", "-m", "hb-" + v},
                       *dir / "pub.log"),
              0);
    EXPECT_EQ(sub.wait(), 0);
    EXPECT_EQ(chargehub::testing::read_file(out), "hb-" + v + "\n");
    EXPECT_NE(run_tool({"/usr/bin/mosquitto_pub", "-h", "127.0.0.1", "-p", port, "-V", v, "-i", A, "-u", A, "-P",
                        "tok:AAAAAAAAAAAAAAAAAAAAAA==", "-t", "chg/v1/" + A + "/up/heartbeat", "-m", "x"},
                       *dir / "pub-bad.log"),
              0);
  }
}
