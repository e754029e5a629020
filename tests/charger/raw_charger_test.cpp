// The raw charger fixture against a real Mosquitto (plain: a password file and per-charger ACL patterns
// as mqtt.md confines chargers; the plugin's own tests cover the plugin). A "core" peer on libmosquitto
// plays the platform: it reads what the charger publishes and sends commands and acks.
#include <gtest/gtest.h>

#include <thread>

#include "chargehub/payloads.hpp"
#include "chargehub/topics.hpp"
#include "broker.hpp"
#include "chargehub/auth_control.hpp"
#include "raw_charger.hpp"
#include "testsupport.hpp"

namespace chargehub::testing {
namespace {

namespace pl = chargehub::payloads;
namespace json = boost::json;
using proto::PortState;

constexpr const char* kDevice = "861234567890123";
constexpr const char* kOther = "861234567890999";

std::vector<uint8_t> token() {
  std::vector<uint8_t> t(16);
  for (size_t i = 0; i < t.size(); ++i) t[i] = static_cast<uint8_t>(i);
  return t;
}

class RawChargerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir = std::make_unique<TempDir>("raw-charger");
    broker = std::make_unique<PlainBroker>(dir->path(), std::map<std::string, std::string>{
                                                            {kDevice, token_password(token())},
                                                            {kOther, "tok:b3RoZXI="},
                                                            {"core", "core-secret"}});
    core = std::make_unique<Peer>(broker->port(), "core-1", "core", "core-secret");
    ASSERT_TRUE(core->ok());
    ASSERT_TRUE(core->subscribe("chg/v1/+/up/#"));
    ASSERT_TRUE(core->subscribe("chg/v1/+/status"));
  }
  RawCharger::Options opts(std::string device = kDevice) {
    RawCharger::Options o;
    o.port = broker->port();
    o.device = device;
    o.password = token_password(token());
    return o;
  }
  std::unique_ptr<RawCharger> charger() {
    auto c = std::make_unique<RawCharger>(opts());
    EXPECT_TRUE(c->connect()) << broker->log_text();
    return c;
  }
  // Sends a command as the core does and returns the `nth` reply seen on up/reply for it.
  void send(const pl::Command& c) {
    ASSERT_TRUE(core->publish(topics::down_topic(kDevice, topics::down::kCmd), json::serialize(pl::command(c))));
  }
  std::optional<json::object> reply(size_t nth = 0, std::chrono::milliseconds t = 3s) {
    auto r = core->wait(topics::up_topic(kDevice, topics::up::kReply), t, nth);
    if (!r) return std::nullopt;
    auto v = pl::parse_json(*r);
    if (!v || !v->is_object()) return std::nullopt;
    return v->get_object();
  }
  static pl::Command start(std::string id, uint8_t port, uint32_t session) {
    return pl::Command{std::move(id), "start", json::object{{"port", port}, {"session", session}, {"mode", 0}, {"limit", 0}, {"max_power_w", 0}}, 0};
  }
  static pl::Command query(std::string id) { return pl::Command{std::move(id), "query_ports", {}, 0}; }
  size_t replies_seen() { return core->count(topics::up_topic(kDevice, topics::up::kReply)); }

  std::unique_ptr<TempDir> dir;
  std::unique_ptr<PlainBroker> broker;
  std::unique_ptr<Peer> core;
};

TEST_F(RawChargerTest, ConnectsWithItsTokenPasswordAndAnnouncesItself) {
  EXPECT_EQ(token_password(token()), "tok:AAECAwQFBgcICQoLDA0ODw==");
  EXPECT_EQ(token_password_hex("000102030405060708090a0b0c0d0e0f"), token_password(token()));
  auto c = charger();
  EXPECT_TRUE(c->connected());
  auto status = core->wait(topics::status(kDevice));
  ASSERT_TRUE(status);
  auto sv = pl::parse_json(*status);
  ASSERT_TRUE(sv);
  EXPECT_EQ(sv->at("online"), true);
  auto boot = core->wait(topics::up_topic(kDevice, topics::up::kBoot));
  ASSERT_TRUE(boot);
  auto b = pl::parse_boot(*pl::parse_json(*boot));
  ASSERT_TRUE(b);
  EXPECT_EQ(b->ports, 10);
  EXPECT_EQ(b->model, 1);
}

TEST_F(RawChargerTest, AWrongPasswordIsRefused) {
  auto o = opts();
  o.password = "tok:AAAA";
  RawCharger c(o);
  EXPECT_FALSE(c.connect(3s));
  EXPECT_GT(c.connack(), 0);
}

TEST_F(RawChargerTest, StatusOnlineThenOfflineByWillOrByItself) {
  auto status_n = [&](size_t n) -> std::optional<bool> {
    auto m = core->wait(topics::status(kDevice), 3s, n);
    if (!m) return std::nullopt;
    return pl::parse_json(*m)->at("online").as_bool();
  };
  {
    auto c = charger();
    EXPECT_EQ(status_n(0), true);
    c->disconnect();   // clean: no will
  }
  EXPECT_FALSE(core->wait(topics::status(kDevice), 300ms, 1));
  {
    auto c = charger();
    EXPECT_EQ(status_n(1), true);
    c->drop_link();    // the link dies: the broker publishes the will
    EXPECT_EQ(status_n(2), false);
  }
  auto c = charger();
  EXPECT_EQ(status_n(3), true);
  EXPECT_TRUE(c->status(false));   // a charger going away on purpose says so itself
  EXPECT_EQ(status_n(4), false);
}

TEST_F(RawChargerTest, StartChargesThePortAndARepeatIsAnsweredWithoutActingTwice) {
  auto c = charger();
  send(start("c-1", 3, 1001));
  auto r = reply();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->at("id"), "c-1");
  EXPECT_EQ(r->at("result"), 0);
  EXPECT_EQ(c->port(3).state, uint8_t(PortState::Charging));
  EXPECT_EQ(c->port(3).session, 1001u);
  send(start("c-1", 3, 1001));
  auto again = reply(1);
  ASSERT_TRUE(again);
  EXPECT_EQ(*again, *r);
  EXPECT_EQ(c->copies("c-1"), 2u);
  EXPECT_EQ(c->executions("start"), 1u);
  // Another session on a busy port: port busy.
  send(start("c-2", 3, 1002));
  auto busy = reply(2);
  ASSERT_TRUE(busy);
  EXPECT_EQ(busy->at("result"), 1);
}

TEST_F(RawChargerTest, LostStartReplyWhileCharging) {
  auto c = charger();
  c->drop_start_replies(2, true);
  send(start("c-1", 3, 1001));
  ASSERT_TRUE(c->wait_command("start"));
  send(start("c-1", 3, 1001));
  ASSERT_TRUE(c->wait_command("start", 3s, 1));
  EXPECT_FALSE(reply(0, 500ms));
  EXPECT_EQ(c->port(3).state, uint8_t(PortState::Charging));   // it acted on the first copy
  // QUERY_PORTS tells the truth.
  send(query("q-1"));
  auto q = reply();
  ASSERT_TRUE(q);
  EXPECT_EQ(q->at("id"), "q-1");
  auto& ports = q->at("ports").as_array();
  ASSERT_EQ(ports.size(), 10u);
  EXPECT_EQ(ports[2].at("port"), 3);
  EXPECT_EQ(ports[2].at("state"), 1);
  EXPECT_EQ(ports[2].at("session"), 1001);
  // The third copy is answered, and the charger acted once.
  send(start("c-1", 3, 1001));
  auto r = reply(1);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->at("result"), 0);
  EXPECT_EQ(c->executions("start"), 1u);
}

TEST_F(RawChargerTest, MissedStartLeavesThePortIdleUntilARepeat) {
  auto c = charger();
  c->drop_start_replies(1, false);
  send(start("c-1", 3, 1001));
  ASSERT_TRUE(c->wait_command("start"));
  EXPECT_FALSE(reply(0, 500ms));
  EXPECT_EQ(c->port(3).state, uint8_t(PortState::Idle));
  send(query("q-1"));
  auto q = reply();
  ASSERT_TRUE(q);
  EXPECT_EQ(q->at("ports").as_array()[2].at("state"), 0);
  EXPECT_EQ(c->executions("start"), 0u);
  // The repeat is the first copy the charger sees: it acts and answers.
  send(start("c-1", 3, 1001));
  auto r = reply(1);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->at("id"), "c-1");
  EXPECT_EQ(r->at("result"), 0);
  EXPECT_EQ(c->executions("start"), 1u);
}

TEST_F(RawChargerTest, QueryPortsAnswersChosenStates) {
  auto c = charger();
  c->set_port(1, {uint8_t(PortState::Fault), 0, 0, 0, 0});
  c->set_port(2, {uint8_t(PortState::Charging), 77, 310, 120, 1800});
  c->set_port(10, {uint8_t(PortState::Finished), 78, 0, 600, 9000});
  send(query("q-1"));
  auto q = reply();
  ASSERT_TRUE(q);
  // Through the domain's own reply mapping: the same body a framed charger would have sent.
  auto body = pl::reply_to_body(proto::Cmd::QueryPorts, *q);
  ASSERT_TRUE(body);
  auto typed = proto::QueryPortsResp::decode(*body);
  ASSERT_TRUE(typed);
  EXPECT_EQ(typed->ports[0].state, uint8_t(PortState::Fault));
  EXPECT_EQ(typed->ports[1], (proto::PortStatus{1, 77, 310, 120, 1800}));
  EXPECT_EQ(typed->ports[9], (proto::PortStatus{2, 78, 0, 600, 9000}));
}

TEST_F(RawChargerTest, StopEndsTheSessionWithARecordAndTheAckArrives) {
  auto c = charger();
  c->set_port(4, {uint8_t(PortState::Charging), 2002, 220, 150, 2400});
  send(pl::Command{"s-1", "stop", json::object{{"port", 4}, {"session", 2002}}, 0});
  auto r = reply();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->at("result"), 0);
  auto end = core->wait(topics::up_topic(kDevice, topics::up::kSessionEnd));
  ASSERT_TRUE(end);
  auto v = pl::parse_json(*end);
  auto e = pl::parse_session_end(*v);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->session, 2002u);
  EXPECT_EQ(e->reason, uint8_t(proto::EndReason::RemoteStop));
  EXPECT_EQ(e->energy_wh, 150u);
  EXPECT_EQ(e->duration_s, 2400u);
  EXPECT_EQ(c->port(4).state, uint8_t(PortState::Idle));
  std::string msg(v->at("msg").as_string());
  ASSERT_TRUE(core->publish(topics::down_topic(kDevice, topics::down::kAck), json::serialize(pl::ack({msg, 0, std::nullopt}))));
  auto a = c->wait_ack(msg);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->result, 0);
  // Stopping it again: not charging.
  send(pl::Command{"s-2", "stop", json::object{{"port", 4}, {"session", 2002}}, 0});
  auto r2 = reply(1);
  ASSERT_TRUE(r2);
  EXPECT_EQ(r2->at("result"), 1);
}

TEST_F(RawChargerTest, AbsurdStopRecordsAndMetersGoOutAsGiven) {
  auto c = charger();
  proto::SessionEnd e{3, 1001, 8, 1795500000, 300, 400000, 205};
  std::string msg = c->session_end(e);
  auto got = core->wait(topics::up_topic(kDevice, topics::up::kSessionEnd));
  ASSERT_TRUE(got);
  auto v = pl::parse_json(*got);
  EXPECT_EQ(v->at("msg").as_string(), msg);
  EXPECT_EQ(pl::parse_session_end(*v), e);
  // A copy with the same msg, as a charger resends until acked.
  EXPECT_EQ(c->session_end(e, msg), msg);
  ASSERT_TRUE(core->wait(topics::up_topic(kDevice, topics::up::kSessionEnd), 3s, 1));

  proto::Meter m{{proto::MeterPort{3, 1001, 65535, 0xFFFFFFFFu, 0xFFFFFFFFu, 540, 3300}}};
  ASSERT_TRUE(c->meter(m));
  auto mm = core->wait(topics::up_topic(kDevice, topics::up::kMeter));
  ASSERT_TRUE(mm);
  auto parsed = pl::parse_meter(*pl::parse_json(*mm));
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->ports, m.ports);
}

TEST_F(RawChargerTest, MeterAndHeartbeatFromThePorts) {
  auto c = charger();
  c->set_port(2, {uint8_t(PortState::Charging), 5, 180, 120, 3600});
  ASSERT_TRUE(c->meter());
  auto mm = core->wait(topics::up_topic(kDevice, topics::up::kMeter));
  ASSERT_TRUE(mm);
  auto m = pl::parse_meter(*pl::parse_json(*mm));
  ASSERT_TRUE(m);
  ASSERT_EQ(m->ports.size(), 1u);
  EXPECT_EQ(m->ports[0].port, 2);
  EXPECT_EQ(m->ports[0].energy_wh, 120u);
  ASSERT_TRUE(c->heartbeat());
  auto hb = core->wait(topics::up_topic(kDevice, topics::up::kHeartbeat));
  ASSERT_TRUE(hb);
  auto h = pl::parse_heartbeat(*pl::parse_json(*hb));
  ASSERT_TRUE(h);
  EXPECT_EQ(h->ports.size(), 10u);
  EXPECT_EQ(h->ports[1], uint8_t(PortState::Charging));
  EXPECT_EQ(h->power_w, 180);
}

TEST_F(RawChargerTest, CardAndAlarmAreAcked) {
  auto c = charger();
  std::string card = c->card(proto::Card{{0x04, 0xA1, 0xB2, 0xC3}, 2});
  auto cv = core->wait(topics::up_topic(kDevice, topics::up::kCard));
  ASSERT_TRUE(cv);
  auto parsed = pl::parse_card(*pl::parse_json(*cv));
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->uid_text(), "04A1B2C3");
  ASSERT_TRUE(core->publish(topics::down_topic(kDevice, topics::down::kAck), json::serialize(pl::ack({card, 1, 150}))));
  auto a = c->wait_ack(card);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->result, 1);
  EXPECT_EQ(a->balance_fen, 150);
  std::string alarm = c->alarm(proto::Alarm{uint8_t(proto::AlarmCode::PortOverload), 3, 2600});
  ASSERT_TRUE(core->wait(topics::up_topic(kDevice, topics::up::kAlarm)));
  ASSERT_TRUE(core->publish(topics::down_topic(kDevice, topics::down::kAck), json::serialize(pl::ack({alarm, 0, std::nullopt}))));
  EXPECT_TRUE(c->wait_ack(alarm));
}

TEST_F(RawChargerTest, ExpiredAndMalformedCommandsAreNotExecuted) {
  auto c = charger();
  auto old = start("c-old", 3, 1001);
  old.expires = 1000;   // long past
  send(old);
  auto r = reply();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->at("error"), "expired");
  EXPECT_EQ(c->port(3).state, uint8_t(PortState::Idle));
  send(pl::Command{"c-bad", "start", json::object{{"port", 3}}, 0});
  auto bad = reply(1);
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->at("error"), "bad_command");
  EXPECT_EQ(c->executions("start"), 0u);
}

TEST_F(RawChargerTest, SilentAndForcedRefusal) {
  auto c = charger();
  c->set_silent(true);
  send(start("c-1", 3, 1001));
  ASSERT_TRUE(c->wait_command("start"));
  EXPECT_FALSE(reply(0, 500ms));
  EXPECT_EQ(c->port(3).state, uint8_t(PortState::Charging));
  c->set_silent(false);
  c->set_start_result(2);   // no load
  send(start("c-2", 5, 1002));
  auto r = reply();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->at("id"), "c-2");
  EXPECT_EQ(r->at("result"), 2);
  EXPECT_EQ(c->port(5).state, uint8_t(PortState::Idle));
}

TEST_F(RawChargerTest, CommandsForAnotherChargerNeverReachIt) {
  auto c = charger();
  RawCharger::Options o = opts(kOther);
  o.password = "tok:b3RoZXI=";
  RawCharger other(o);
  ASSERT_TRUE(other.connect());
  ASSERT_TRUE(core->publish(topics::down_topic(kOther, topics::down::kCmd), json::serialize(pl::command(query("q-x")))));
  ASSERT_TRUE(other.wait_command("query_ports"));
  auto r = core->wait(topics::up_topic(kOther, topics::up::kReply));
  ASSERT_TRUE(r);
  EXPECT_EQ(pl::parse_json(*r)->at("id"), "q-x");
  EXPECT_FALSE(c->wait_command("query_ports", 300ms));
  EXPECT_EQ(replies_seen(), 0u);
}

TEST_F(RawChargerTest, AdvanceAccumulatesEnergyFromPower) {
  auto c = charger();
  c->set_port(1, {uint8_t(PortState::Charging), 9, 200, 0, 0});
  for (int i = 0; i < 60; ++i) c->advance(60);   // an hour in one-minute steps
  EXPECT_EQ(c->port(1).elapsed_s, 3600u);
  EXPECT_EQ(c->port(1).energy_wh, 200u);          // no Wh lost to rounding per step
  EXPECT_EQ(c->port(2).energy_wh, 0u);            // idle ports do not move
}

TEST_F(RawChargerTest, AStopRecordIsResentUntilAcked) {
  auto c = charger();
  proto::SessionEnd e{3, 1001, 1, 1795500000, 600, 30, 210};
  std::string msg = "861234567890123-4-1001";
  std::thread acker([&] {
    // The platform answers only the third copy.
    if (core->wait(topics::up_topic(kDevice, topics::up::kSessionEnd), 5s, 2))
      core->publish(topics::down_topic(kDevice, topics::down::kAck), json::serialize(pl::ack({msg, 0, std::nullopt})));
  });
  auto a = c->session_end_until_acked(e, msg, 200ms, 5s);
  acker.join();
  ASSERT_TRUE(a);
  EXPECT_EQ(a->re, msg);
  EXPECT_GE(core->count(topics::up_topic(kDevice, topics::up::kSessionEnd)), 3u);
}

// Through the real broker plugin (the token's hash in a credentials snapshot the test "core" sends, a
// service account for the core): the fixture logs in the way the platform's integration tests need, and
// its topics pass the plugin's ACL.
TEST(RawChargerWithPlugin, LogsInWithItsTokenAndAnswersTheCore) {
  TempDir dir("raw-charger-plugin");
  auto secrets = make_services_file(dir / "services", {{"core", "core"}});
  // The plugin stores hex(SHA-256(token)): SHA-256 of the 16 bytes 00..0F.
  const std::string hash = "be45cb2605bf36bebde684841a28f0fd43c69850a3dce5fedba69928ee3a8991";
  Broker broker(dir, {dir / "services", "plugin_opt_poll_ms 50\n"});
  Peer core(broker.port(), "core-1", "core", secrets["core"]);
  ASSERT_TRUE(core.ok());
  auth_control::Snapshot snap{2, {{kDevice, hash, std::nullopt, 0, std::nullopt, true}}};
  ASSERT_TRUE(core.publish(std::string(auth_control::kControlTopic), auth_control::snapshot_json(snap)));
  ASSERT_TRUE(core.subscribe("chg/v1/+/up/#"));
  RawCharger::Options o;
  o.port = broker.port();
  o.device = kDevice;
  o.password = token_password(token());
  RawCharger c(o);
  ASSERT_TRUE(wait_until([&] { return c.connect(1s); }, 10s)) << broker.log_text();
  ASSERT_TRUE(core.wait(topics::up_topic(kDevice, topics::up::kBoot)));
  ASSERT_TRUE(core.publish(topics::down_topic(kDevice, topics::down::kCmd),
                           json::serialize(pl::command({"q-1", "query_ports", {}, 0}))));
  auto r = core.wait(topics::up_topic(kDevice, topics::up::kReply));
  ASSERT_TRUE(r) << broker.log_text();
  EXPECT_EQ(pl::parse_json(*r)->at("ports").as_array().size(), 10u);
  // A wrong token is refused by the plugin.
  o.password = "tok:AAAAAAAAAAAAAAAAAAAAAA==";
  o.device = kDevice;
  RawCharger bad(o);
  EXPECT_FALSE(bad.connect(2s));
}

}  // namespace
}  // namespace chargehub::testing
