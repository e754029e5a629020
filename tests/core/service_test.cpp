// The core service's message handling, with a recording publisher in place of the broker.
#include <gtest/gtest.h>

#include "chargehub/payloads.hpp"
#include "chargehub/topics.hpp"
#include "db/db.hpp"
#include "service.hpp"
#include "testsupport.hpp"

using namespace chargehub;
using namespace chargehub::core;
namespace json = boost::json;

namespace {
struct Recorder : Publisher {
  std::vector<std::pair<std::string, std::string>> sent;
  bool up = true;
  bool publish(const std::string& t, const std::string& p, int, bool) override {
    if (!up) return false;
    sent.emplace_back(t, p);
    return true;
  }
};

struct ServiceTest : ::testing::Test {
  chargehub::testing::TempDir dir{"core-svc"};
  std::unique_ptr<sql::Db> db = sql::open((dir / "core.db").string());
  App app{*db};
  Recorder pub;
  int64_t now = 1795500000;
  Service svc{app, pub, ServiceConfig{}, [this] { return now; }};
  std::string dev = "861234567890123";
  uint64_t reading_commits = sql::commits_while_reading();

  void SetUp() override {
    app.devices.create(NewDevice{dev, "", 10, 1, std::string(64, 'b'), {}}, now);
    svc.on_message(topics::status(dev), R"({"online":true,"ts":1})");
  }
  // No operation may commit while one of its lookups is still stepping (the WAL would stop checkpointing).
  void TearDown() override { EXPECT_EQ(sql::commits_while_reading(), reading_commits); }
};
}  // namespace

TEST_F(ServiceTest, BootAndHeartbeatUpdateTheDevice) {
  svc.on_message(topics::up_topic(dev, "boot"), R"({"model":1,"ports":10,"hw":1,"fw":"1.2.3","iccid":"8986","csq":20})");
  svc.on_message(topics::up_topic(dev, "heartbeat"), R"({"csq":18,"temp_dc":285,"mains_dv":2205,"power_w":0,"ports":[0,0,3,0,0,0,0,0,0,0]})");
  auto d = app.devices.get(chargehub::core::Scope::platform(), dev);
  EXPECT_EQ(d->fw, "1.2.3");
  EXPECT_EQ(d->csq, 18);
  EXPECT_EQ(d->temp_dc, 285);
  EXPECT_EQ(d->port_states[2], 3);
  EXPECT_TRUE(d->online);
  svc.on_message(topics::status(dev), R"({"online":false})");
  EXPECT_FALSE(app.devices.get(chargehub::core::Scope::platform(), dev)->online);
}

TEST_F(ServiceTest, HeartbeatPortStatesFollowEveryPortAndLeaveUnreportedPortsAlone) {
  svc.on_message(topics::up_topic(dev, "heartbeat"), R"({"csq":18,"temp_dc":285,"mains_dv":2205,"power_w":0,"ports":[1,2,3,4,0,1,2,3,4,1]})");
  auto d = app.devices.get(chargehub::core::Scope::platform(), dev);
  ASSERT_EQ(d->port_states.size(), 10u);
  std::vector<int> first{1, 2, 3, 4, 0, 1, 2, 3, 4, 1};
  for (size_t i = 0; i < first.size(); ++i) EXPECT_EQ(d->port_states[i], first[i]) << "port " << i + 1;
  svc.on_message(topics::up_topic(dev, "heartbeat"), R"({"csq":18,"temp_dc":285,"mains_dv":2205,"power_w":0,"ports":[0,2,0,3]})");
  d = app.devices.get(chargehub::core::Scope::platform(), dev);
  std::vector<int> want{0, 2, 0, 3, 0, 1, 2, 3, 4, 1};   // ports 5-10 were not in the second heartbeat
  for (size_t i = 0; i < want.size(); ++i) EXPECT_EQ(d->port_states[i], want[i]) << "port " << i + 1;
}

TEST_F(ServiceTest, BadInputIsCountedNotFatal) {
  svc.on_message(topics::up_topic(dev, "meter"), "{not json");
  svc.on_message(topics::up_topic(dev, "meter"), R"({"ports":"x"})");
  svc.on_message(topics::up_topic(dev, "session_end"), R"({"port":1})");
  svc.on_message("chg/v1/abc/up/meter", "{}");
  svc.on_message(topics::up_topic(dev, "teleport"), "{}");
  svc.on_message(topics::up_topic(dev, "heartbeat"), std::string(200000, '['));
  EXPECT_EQ(svc.counters().bad_messages.load(), 4u);
  EXPECT_EQ(svc.counters().unknown_topics.load(), 2u);
}

TEST_F(ServiceTest, StartPublishesACommandAndEndIsAcked) {
  auto r = app.wallets.create_rider(chargehub::core::Scope::platform(), "李四", "", now);
  app.wallets.topup(chargehub::core::Scope::platform(), r.id, 1000, 0, "", now);
  auto t = svc.start_session(chargehub::core::Scope::platform(), OpenRequest{dev, 3, r.id, 500, false, 0, Origin{"test", "operator"}});
  ASSERT_TRUE(t);
  ASSERT_EQ(pub.sent.size(), 1u);
  EXPECT_EQ(pub.sent[0].first, topics::down_topic(dev, "cmd"));
  auto cmd = payloads::parse_command(json::parse(pub.sent[0].second));
  ASSERT_TRUE(cmd);
  EXPECT_EQ(cmd->op, "start");
  EXPECT_EQ(cmd->expires, now + 60);
  EXPECT_EQ(t->session.state, session::State::Starting);

  svc.on_message(topics::up_topic(dev, "reply"), json::serialize(json::object{{"id", cmd->id}, {"result", 0}}));
  EXPECT_EQ(app.sessions.get(chargehub::core::Scope::platform(), t->session.id)->state, session::State::Charging);

  proto::SessionEnd e{3, static_cast<uint32_t>(t->session.id), 1, static_cast<uint32_t>(now), 3600, 400, 420};
  now += 3600;   // the record arrives when the hour it reports is over (the meter check)
  std::string msg = payloads::make_msg(861234567890123ULL, proto::Cmd::SessionEnd, e.session);
  svc.on_message(topics::up_topic(dev, "session_end"), json::serialize(payloads::session_end(e, msg)));
  svc.on_message(topics::up_topic(dev, "session_end"), json::serialize(payloads::session_end(e, msg)));
  ASSERT_EQ(pub.sent.size(), 3u);
  for (int i : {1, 2}) {
    EXPECT_EQ(pub.sent[i].first, topics::down_topic(dev, "ack"));
    auto a = payloads::parse_ack(json::parse(pub.sent[i].second));
    EXPECT_EQ(a->re, msg);
    EXPECT_EQ(a->result, 0);
  }
  EXPECT_EQ(app.wallets.rider(chargehub::core::Scope::platform(), r.id)->balance_fen, 960);
  EXPECT_EQ(svc.counters().duplicate_reports.load(), 1u);
}

TEST_F(ServiceTest, CommandsWaitForTheBrokerAndGoOutAfterReconnect) {
  auto r = app.wallets.create_rider(chargehub::core::Scope::platform(), "王五", "", now);
  app.wallets.topup(chargehub::core::Scope::platform(), r.id, 1000, 0, "", now);
  pub.up = false;
  auto t = svc.start_session(chargehub::core::Scope::platform(), OpenRequest{dev, 1, r.id, 100, false, 0, Origin{"test", "operator"}});
  ASSERT_TRUE(t);
  EXPECT_EQ(t->session.state, session::State::Requested);
  EXPECT_TRUE(pub.sent.empty());
  pub.up = true;
  svc.flush_commands();
  ASSERT_EQ(pub.sent.size(), 1u);
  EXPECT_EQ(app.sessions.get(chargehub::core::Scope::platform(), t->session.id)->state, session::State::Starting);
}

TEST_F(ServiceTest, TickGivesUpOnUnansweredStartsAndSilentDevices) {
  auto r = app.wallets.create_rider(chargehub::core::Scope::platform(), "赵六", "", now);
  app.wallets.topup(chargehub::core::Scope::platform(), r.id, 1000, 0, "", now);
  auto t = svc.start_session(chargehub::core::Scope::platform(), OpenRequest{dev, 1, r.id, 100, false, 0, Origin{"test", "operator"}});
  now += 91;
  svc.tick();
  EXPECT_EQ(app.sessions.get(chargehub::core::Scope::platform(), t->session.id)->state, session::State::StartTimedOut);
  EXPECT_EQ(app.wallets.rider(chargehub::core::Scope::platform(), r.id)->held_fen, 0);
  now += 200;
  svc.tick();
  EXPECT_FALSE(app.devices.get(chargehub::core::Scope::platform(), dev)->online);
}

TEST_F(ServiceTest, DeviceCommandsAreValidated) {
  EXPECT_EQ(svc.send_command(chargehub::core::Scope::platform(), dev, "explode", {}, Origin{"test", "operator"}).refusal.code, "bad_command");
  EXPECT_EQ(svc.send_command(chargehub::core::Scope::platform(), dev, "start", {{"port", 1}, {"session", 1}}, Origin{"test", "operator"}).refusal.code, "use_sessions");
  EXPECT_EQ(svc.send_command(chargehub::core::Scope::platform(), "5", "locate", {{"seconds", 5}}, Origin{"test", "operator"}).refusal.code, "device_not_found");
  auto c = svc.send_command(chargehub::core::Scope::platform(), dev, "locate", {{"seconds", 5}}, Origin{"test", "operator"});
  ASSERT_TRUE(c);
  EXPECT_EQ(c.value->state, CommandState::Sent);
  svc.on_message(topics::up_topic(dev, "reply"), json::serialize(json::object{{"id", c.value->id}, {"result", 0}}));
  EXPECT_EQ(app.commands.get(c.value->id)->state, CommandState::Replied);
  EXPECT_EQ(app.commands.for_device(chargehub::core::Scope::platform(), dev, 10).size(), 1u);
}
