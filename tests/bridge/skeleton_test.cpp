// The walking-skeleton path: LOGIN -> the charger's own MQTT connection, heartbeat, meter, session_end
// answered only after down/ack, down/cmd start and stop with their replies. Real mosquitto, real bridge.
#include <gtest/gtest.h>

#include "chargehub/payloads.hpp"
#include "harness.hpp"

using namespace chargehub::bridgetest;
using namespace chargehub::proto;
namespace pl = chargehub::payloads;

namespace {

constexpr DeviceId kDev = 861234567890123ULL;

struct Skeleton : ::testing::Test {
  TempDir dir{"bridge-skel"};
  PlainBroker broker{dir};
  CoreClient core{broker.port()};
  BridgeProcess bridge{dir, broker.port(), {"--heartbeat-s", "30", "--cmd-retry-ms", "300", "--cmd-retries", "2"}};
  std::unique_ptr<FakeLink> link = FakeLink::tcp(bridge.port());
  FakeCharger ch{*link, kDev};

  void login() {
    auto r = ch.login();
    ASSERT_TRUE(r) << bridge.log();
    ASSERT_EQ(r->result, LoginResult::Ok);
    // As the core does: command a charger once its online status arrived (the bridge subscribes to
    // the charger's down topics before it publishes that status).
    ASSERT_TRUE(core.wait(topic(kDev, "status")));
  }
};

TEST_F(Skeleton, LoginAnswersOkPublishesOnlineStatusAndBoot) {
  auto r = ch.login();
  ASSERT_TRUE(r) << bridge.log();
  EXPECT_EQ(r->result, LoginResult::Ok);
  EXPECT_EQ(r->heartbeat_s, 30);
  EXPECT_NEAR(static_cast<double>(r->server_time), static_cast<double>(time(nullptr)), 5.0);
  auto st = core.wait(topic(kDev, "status"));
  ASSERT_TRUE(st);
  EXPECT_EQ(st->json().at("online").as_bool(), true);
  auto boot = core.wait(topic(kDev, "up/boot"));
  ASSERT_TRUE(boot);
  EXPECT_EQ(boot->json().at("model").as_int64(), 1);
  EXPECT_EQ(boot->json().at("fw").as_string(), "1.0.0");
  EXPECT_EQ(boot->payload.find("tok"), std::string::npos);   // no credentials in it
}

TEST_F(Skeleton, HeartbeatIsAnsweredWithServerTimeAndPublished) {
  login();
  auto r = ch.request(Cmd::Heartbeat, heartbeat_body());
  ASSERT_TRUE(r);
  auto t = ServerTime::decode(r->body);
  ASSERT_TRUE(t);
  EXPECT_NEAR(static_cast<double>(t->server_time), static_cast<double>(time(nullptr)), 5.0);
  auto m = core.wait(topic(kDev, "up/heartbeat"));
  ASSERT_TRUE(m);
  EXPECT_EQ(m->json().at("mains_dv").as_int64(), 2205);
  EXPECT_EQ(m->json().at("ports").as_array().size(), 10u);
}

TEST_F(Skeleton, MeterIsPublishedWithoutResponse) {
  login();
  Meter meter{{MeterPort{3, 1001, 180, 120, 3600, 540, 3300}}};
  link->send(ch.frame(Cmd::Meter, meter.encode()));
  auto m = core.wait(topic(kDev, "up/meter"));
  ASSERT_TRUE(m);
  auto p = m->json().at("ports").as_array().at(0).as_object();
  EXPECT_EQ(p.at("session").as_int64(), 1001);
  EXPECT_EQ(p.at("energy_wh").as_int64(), 120);
  EXPECT_FALSE(link->recv(300ms));
}

TEST_F(Skeleton, SessionEndIsAnsweredOnlyAfterTheCoresAckWithTheLatestCopysSeq) {
  login();
  link->send(ch.frame(Cmd::SessionEnd, session_end_body(1001)));
  auto m = core.wait(topic(kDev, "up/session_end"));
  ASSERT_TRUE(m);
  std::string msg(m->json().at("msg").as_string());
  EXPECT_EQ(msg, pl::make_msg(kDev, Cmd::SessionEnd, 1001));
  EXPECT_EQ(m->json().at("energy_wh").as_int64(), 812);
  EXPECT_FALSE(link->recv(400ms)) << "answered before the core's ack";
  // The charger resends with a new seq: not republished while the first is in flight.
  Frame copy = ch.frame(Cmd::SessionEnd, session_end_body(1001));
  link->send(copy);
  EXPECT_FALSE(core.wait(topic(kDev, "up/session_end"), 400ms));
  core.publish(topic(kDev, "down/ack"), json::serialize(pl::ack(pl::Ack{msg, 0, std::nullopt})));
  auto r = link->recv(3s);
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->is_response());
  EXPECT_EQ(r->cmd, Cmd::SessionEnd);
  EXPECT_EQ(r->seq, copy.seq);
  EXPECT_EQ(Result::decode(r->body)->result, 0);
}

TEST_F(Skeleton, StartCommandBecomesAFrameAndItsResponseAReply) {
  login();
  core.publish(topic(kDev, "down/cmd"),
               R"({"id":"c-1","op":"start","args":{"port":3,"session":1001,"mode":0,"limit":0,"max_power_w":0}})");
  auto f = link->recv(3s);
  ASSERT_TRUE(f);
  EXPECT_EQ(f->cmd, Cmd::Start);
  EXPECT_FALSE(f->is_response());
  auto s = StartCmd::decode(f->body);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->port, 3);
  EXPECT_EQ(s->session, 1001u);
  link->send(make_response(*f, Result{0}.encode()));
  auto r = core.wait(topic(kDev, "up/reply"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->json().at("id").as_string(), "c-1");
  EXPECT_EQ(r->json().at("result").as_int64(), 0);
}

TEST_F(Skeleton, StopCommandReplyCarriesTheResult) {
  login();
  core.publish(topic(kDev, "down/cmd"), R"({"id":"c-2","op":"stop","args":{"port":3,"session":1001}})");
  auto f = link->recv(3s);
  ASSERT_TRUE(f);
  EXPECT_EQ(f->cmd, Cmd::Stop);
  link->send(make_response(*f, Result{1}.encode()));
  auto r = core.wait(topic(kDev, "up/reply"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->json().at("id").as_string(), "c-2");
  EXPECT_EQ(r->json().at("result").as_int64(), 1);
}

TEST_F(Skeleton, FramesBeforeLoginGetOnlyALoginFailure) {
  auto r = ch.request(Cmd::Heartbeat, heartbeat_body(), 500ms);
  ASSERT_TRUE(!r);   // no HEARTBEAT response...
  Frame hb = ch.frame(Cmd::Heartbeat, heartbeat_body());
  link->send(hb);
  std::optional<Frame> f;
  while ((f = link->recv(1s)))
    if (f->seq == hb.seq) break;
  ASSERT_TRUE(f);
  EXPECT_EQ(f->cmd, Cmd::Login);   // ...but a LOGIN failure with result 2
  EXPECT_TRUE(f->is_response());
  EXPECT_EQ(LoginResp::decode(f->body)->result, LoginResult::BadCredentials);
  EXPECT_FALSE(core.wait(topic(kDev, "up/heartbeat"), 200ms));
}

TEST_F(Skeleton, ClosedLinkMarksTheChargerOffline) {
  login();   // saw the online status
  link->close();
  auto st = core.wait(topic(kDev, "status"), 5s);
  ASSERT_TRUE(st);
  EXPECT_EQ(st->json().at("online").as_bool(), false);
}

}  // namespace
