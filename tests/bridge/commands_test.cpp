// Every command of frames.md through the bridge: down/cmd -> frame -> response -> up/reply, retries with
// the same seq, repeats answered from cache, expiry, bad commands, offline; CARD, ALARM and OTA reports.
#include <gtest/gtest.h>

#include "chargehub/payloads.hpp"
#include "harness.hpp"

using namespace chargehub::bridgetest;
using namespace chargehub::proto;
namespace pl = chargehub::payloads;

namespace {

constexpr DeviceId kDev = 860000000000042ULL;

struct Commands : ::testing::Test {
  TempDir dir{"bridge-cmd"};
  PlainBroker broker{dir};
  CoreClient core{broker.port()};
  BridgeProcess bridge{dir, broker.port(), {"--cmd-retry-ms", "200", "--cmd-retries", "3"}};
  std::unique_ptr<FakeLink> link = FakeLink::tcp(bridge.port());
  FakeCharger ch{*link, kDev};

  void SetUp() override {
    auto r = ch.login();
    ASSERT_TRUE(r) << bridge.log();
    ASSERT_EQ(r->result, LoginResult::Ok);
    ASSERT_TRUE(core.wait(topic(kDev, "up/boot")));
  }
  // Sends a command, expects a frame of cmd, answers it with resp and returns the reply JSON.
  json::object round_trip(const std::string& cmd_json, Cmd expect, std::vector<uint8_t> resp, Frame* seen = nullptr) {
    core.publish(topic(kDev, "down/cmd"), cmd_json);
    auto f = link->recv(3s);
    EXPECT_TRUE(f);
    if (!f) return {};
    EXPECT_EQ(f->cmd, expect);
    if (seen) *seen = *f;
    link->send(make_response(*f, std::move(resp)));
    auto r = core.wait(topic(kDev, "up/reply"));
    EXPECT_TRUE(r);
    return r ? r->json().as_object() : json::object{};
  }
};

TEST_F(Commands, QueryPortsReplyListsEveryPort) {
  QueryPortsResp q{{PortStatus{1, 1001, 180, 120, 3600}, PortStatus{0, 0, 0, 0, 0}}};
  auto r = round_trip(R"({"id":"q1","op":"query_ports"})", Cmd::QueryPorts, q.encode());
  EXPECT_EQ(r.at("id").as_string(), "q1");
  ASSERT_EQ(r.at("ports").as_array().size(), 2u);
  EXPECT_EQ(r.at("ports").as_array()[0].at("session").as_int64(), 1001);
}

TEST_F(Commands, SetParamsSendsTheParamsAndGetParamsReturnsThem) {
  Frame seen;
  auto r = round_trip(R"({"id":"p1","op":"set_params","args":{"heartbeat_s":30}})", Cmd::SetParams, Result{0}.encode(), &seen);
  EXPECT_EQ(r.at("result").as_int64(), 0);
  EXPECT_EQ(Params::decode(seen.body)->heartbeat_s, 30);
  Params p;
  p.meter_s = 15;
  r = round_trip(R"({"id":"p2","op":"get_params"})", Cmd::GetParams, p.encode());
  EXPECT_EQ(r.at("meter_s").as_int64(), 15);
}

TEST_F(Commands, RebootAdjustLocateAndOtaOfferMapToTheirFrames) {
  Frame seen;
  round_trip(R"({"id":"r1","op":"reboot","args":{"delay_s":5}})", Cmd::Reboot, Result{0}.encode(), &seen);
  EXPECT_EQ(RebootCmd::decode(seen.body)->delay_s, 5);
  auto r = round_trip(R"({"id":"a1","op":"adjust","args":{"port":3,"session":1001,"mode":1,"limit":7200}})", Cmd::Adjust,
                      Result{2}.encode(), &seen);
  EXPECT_EQ(r.at("result").as_int64(), 2);
  EXPECT_EQ(AdjustCmd::decode(seen.body)->limit, 7200u);
  round_trip(R"({"id":"l1","op":"locate","args":{"seconds":10}})", Cmd::Locate, Result{0}.encode(), &seen);
  EXPECT_EQ(LocateCmd::decode(seen.body)->seconds, 10);
  std::string sha(64, 'a'), sig(128, 'b');
  r = round_trip(R"({"id":"o1","op":"ota_offer","args":{"version":"1.2.0","size":65536,"sha256":")" + sha +
                     R"(","signature":")" + sig + R"(","chunk":1000}})",
                 Cmd::OtaOffer, Result{0}.encode(), &seen);
  EXPECT_EQ(r.at("result").as_int64(), 0);
  EXPECT_EQ(OtaOffer::decode(seen.body)->size, 65536u);
}

TEST_F(Commands, UnansweredCommandIsRetriedWithTheSameSeqThenTimesOut) {
  core.publish(topic(kDev, "down/cmd"), R"({"id":"t1","op":"locate","args":{"seconds":3}})");
  std::vector<Frame> seen;
  while (auto f = link->recv(600ms)) seen.push_back(*f);
  ASSERT_EQ(seen.size(), 4u);   // first send + 3 retries
  for (auto& f : seen) EXPECT_EQ(f.seq, seen[0].seq);
  auto r = core.wait(topic(kDev, "up/reply"), 2s);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->json().at("error").as_string(), "timeout");
}

TEST_F(Commands, RepeatedCommandIdIsAnsweredFromCacheAndNotResent) {
  auto r = round_trip(R"({"id":"d1","op":"stop","args":{"port":1,"session":5}})", Cmd::Stop, Result{0}.encode());
  EXPECT_EQ(r.at("result").as_int64(), 0);
  core.publish(topic(kDev, "down/cmd"), R"({"id":"d1","op":"stop","args":{"port":1,"session":5}})");
  auto again = core.wait(topic(kDev, "up/reply"), 2s);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->json().at("result").as_int64(), 0);
  EXPECT_FALSE(link->recv(400ms)) << "a repeated command id was sent to the charger again";
}

TEST_F(Commands, ACommandPastItsExpiryIsNotSent) {
  core.publish(topic(kDev, "down/cmd"),
               R"({"id":"e1","op":"start","args":{"port":1,"session":9},"expires":)" + std::to_string(time(nullptr) - 5) + "}");
  auto r = core.wait(topic(kDev, "up/reply"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->json().at("error").as_string(), "expired");
  EXPECT_FALSE(link->recv(300ms));
  // A future expiry is sent.
  core.publish(topic(kDev, "down/cmd"),
               R"({"id":"e2","op":"start","args":{"port":1,"session":9},"expires":)" + std::to_string(time(nullptr) + 60) + "}");
  EXPECT_TRUE(link->recv(2s));
}

TEST_F(Commands, BadOpOrArgsAreRejectedAsBadCommand) {
  core.publish(topic(kDev, "down/cmd"), R"({"id":"b1","op":"self_destruct"})");
  auto r = core.wait(topic(kDev, "up/reply"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->json().at("id").as_string(), "b1");
  EXPECT_EQ(r->json().at("error").as_string(), "bad_command");
  core.publish(topic(kDev, "down/cmd"), R"({"id":"b2","op":"start","args":{"port":"three"}})");
  r = core.wait(topic(kDev, "up/reply"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->json().at("error").as_string(), "bad_command");
  core.publish(topic(kDev, "down/cmd"), "not json at all {");
  EXPECT_FALSE(link->recv(300ms));
}

TEST_F(Commands, PendingCommandsAreAnsweredOfflineWhenTheChargerGoes) {
  core.publish(topic(kDev, "down/cmd"), R"({"id":"off1","op":"query_ports"})");
  ASSERT_TRUE(link->recv(2s));
  link->close();
  auto r = core.wait(topic(kDev, "up/reply"), 3s);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->json().at("id").as_string(), "off1");
  EXPECT_EQ(r->json().at("error").as_string(), "offline");
}

TEST_F(Commands, CardIsAnsweredAfterTheAckWithTheBalance) {
  Card card{{0x04, 0xA1, 0xB2, 0xC3}, 2};
  Frame f = ch.frame(Cmd::Card, card.encode());
  link->send(f);
  auto m = core.wait(topic(kDev, "up/card"));
  ASSERT_TRUE(m);
  EXPECT_EQ(m->json().at("uid").as_string(), "04A1B2C3");
  std::string msg(m->json().at("msg").as_string());
  link->send(f);   // the charger's retry: same seq, same msg, not republished
  EXPECT_FALSE(core.wait(topic(kDev, "up/card"), 300ms));
  EXPECT_FALSE(link->recv(200ms));
  core.publish(topic(kDev, "down/ack"), json::serialize(pl::ack(pl::Ack{msg, 1, 150})));
  auto r = link->recv(3s);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->cmd, Cmd::Card);
  EXPECT_EQ(r->seq, f.seq);
  auto cr = CardResp::decode(r->body);
  ASSERT_TRUE(cr);
  EXPECT_EQ(cr->result, 1);
  EXPECT_EQ(cr->balance_fen, 150);
}

TEST_F(Commands, AlarmIsAnsweredWithAnEmptyBodyAfterTheAck) {
  Frame f = ch.frame(Cmd::Alarm, Alarm{1, 0, 655}.encode());
  link->send(f);
  auto m = core.wait(topic(kDev, "up/alarm"));
  ASSERT_TRUE(m);
  EXPECT_EQ(m->json().at("value").as_int64(), 655);
  EXPECT_FALSE(link->recv(300ms));
  core.publish(topic(kDev, "down/ack"), json::serialize(pl::ack(pl::Ack{std::string(m->json().at("msg").as_string()), 0, {}})));
  auto r = link->recv(3s);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->cmd, Cmd::Alarm);
  EXPECT_TRUE(r->body.empty());
}

TEST_F(Commands, OtaStatusIsPublishedAndAnsweredAtOnce) {
  auto r = ch.request(Cmd::OtaStatus, OtaStatus{Version{1, 2, 0}, 1, 4000}.encode());
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->body.empty());
  auto m = core.wait(topic(kDev, "up/ota"));
  ASSERT_TRUE(m);
  EXPECT_EQ(m->json().at("version").as_string(), "1.2.0");
  EXPECT_EQ(m->json().at("bytes").as_int64(), 4000);
}

TEST_F(Commands, OtaChunkRequestIsAnsweredWithTheChunkFromDownOta) {
  Frame f = ch.frame(Cmd::OtaChunkReq, OtaChunkReq{2000, 1000}.encode());
  link->send(f);
  auto m = core.wait(topic(kDev, "up/ota"));
  ASSERT_TRUE(m);
  EXPECT_EQ(m->json().at("offset").as_int64(), 2000);
  EXPECT_EQ(m->json().at("length").as_int64(), 1000);
  EXPECT_TRUE(m->json().as_object().contains("msg"));
  std::vector<uint8_t> payload{0xD0, 0x07, 0x00, 0x00};   // offset 2000
  for (int i = 0; i < 1000; ++i) payload.push_back(static_cast<uint8_t>(i));
  core.publish_bytes(topic(kDev, "down/ota"), payload);
  auto r = link->recv(3s);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->cmd, Cmd::OtaChunkReq);
  EXPECT_EQ(r->seq, f.seq);
  auto chunk = OtaChunk::decode(r->body);
  ASSERT_TRUE(chunk);
  EXPECT_EQ(chunk->offset, 2000u);
  EXPECT_EQ(chunk->data.size(), 1000u);
  EXPECT_EQ(chunk->data[999], static_cast<uint8_t>(999 & 0xFF));
}

}  // namespace
