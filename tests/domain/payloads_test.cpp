// MQTT payloads of mqtt.md and the frame <-> payload mapping.
#include <gtest/gtest.h>

#include "chargehub/payloads.hpp"
#include "chargehub/topics.hpp"

using namespace chargehub;
using namespace chargehub::payloads;
namespace json = boost::json;

TEST(Topics, BuildAndParse) {
  EXPECT_EQ(topics::status("861234567890123"), "chg/v1/861234567890123/status");
  EXPECT_EQ(topics::up_topic("1", topics::up::kMeter), "chg/v1/1/up/meter");
  EXPECT_EQ(topics::down_topic("1", topics::down::kCmd), "chg/v1/1/down/cmd");
  auto p = topics::parse("chg/v1/861234567890123/up/session_end");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->device, "861234567890123");
  EXPECT_EQ(p->dir, topics::Direction::Up);
  EXPECT_EQ(p->kind, "session_end");
  EXPECT_EQ(topics::parse("chg/v1/5/status")->dir, topics::Direction::Status);
  EXPECT_FALSE(topics::parse("chg/v1/+/up/meter"));
  EXPECT_FALSE(topics::parse("chg/v1/5/up/a/b"));
  EXPECT_FALSE(topics::parse("chg/v2/5/up/meter"));
  EXPECT_FALSE(topics::parse("chg/v1/5/sideways/x"));
}

TEST(Payloads, HeartbeatMatchesTheContractExample) {
  Heartbeat h{20, 285, 2205, 0, {0, 0, 1}};
  EXPECT_EQ(json::serialize(heartbeat(h)),
            R"({"csq":20,"temp_dc":285,"mains_dv":2205,"power_w":0,"ports":[0,0,1]})");
  auto back = parse_heartbeat(heartbeat(h));
  ASSERT_TRUE(back);
  EXPECT_EQ(back->ports, h.ports);
}

TEST(Payloads, MeterMatchesTheContractExample) {
  Meter m{{MeterPort{3, 1001, 180, 120, 3600, 540, 3300}}};
  EXPECT_EQ(json::serialize(meter(m)),
            R"({"ports":[{"port":3,"session":1001,"power_w":180,"energy_wh":120,"elapsed_s":3600,"voltage_dv":540,"current_ma":3300}]})");
  EXPECT_EQ(parse_meter(meter(m))->ports, m.ports);
}

TEST(Payloads, BootHasNoCredentials) {
  Login l;
  l.fw = {1, 0, 0};
  l.iccid = "89860000000000000001";
  l.csq = 20;
  l.auth = Bytes(16, 7);
  auto o = boot(l);
  EXPECT_EQ(json::serialize(o), R"({"model":1,"ports":10,"hw":1,"fw":"1.0.0","iccid":"89860000000000000001","csq":20})");
  auto b = parse_boot(o);
  ASSERT_TRUE(b);
  EXPECT_EQ(b->fw, l.fw);
}

TEST(Payloads, SessionEndCardAlarmCarryMsg) {
  SessionEnd s{3, 1001, 1, 1795500000, 14400, 812, 236};
  auto msg = make_msg(861234567890123ULL, Cmd::SessionEnd, 1001);
  EXPECT_EQ(msg, "861234567890123-session_end-1001");
  auto o = session_end(s, msg);
  EXPECT_EQ(o.at("msg").as_string(), msg);
  EXPECT_EQ(parse_session_end(o), s);
  auto c = card(Card{{0x04, 0xA1, 0xB2, 0xC3}, 2}, "m1");
  EXPECT_EQ(c.at("uid").as_string(), "04A1B2C3");
  EXPECT_EQ(parse_card(c)->uid, (Bytes{0x04, 0xA1, 0xB2, 0xC3}));
  auto a = alarm(Alarm{1, 0, 655}, "m2");
  EXPECT_EQ(parse_alarm(a)->value, 655);
}

TEST(Payloads, RefusesOutOfRangeAndWrongTypes) {
  EXPECT_FALSE(parse_session_end(json::parse(R"({"port":300,"session":1,"reason":1,"started_at":0,"duration_s":0,"energy_wh":0})")));
  EXPECT_FALSE(parse_session_end(json::parse(R"({"port":1,"session":-1,"reason":1,"started_at":0,"duration_s":0,"energy_wh":0})")));
  EXPECT_FALSE(parse_session_end(json::parse(R"({"port":1,"session":"1","reason":1,"started_at":0,"duration_s":0,"energy_wh":0})")));
  EXPECT_FALSE(parse_heartbeat(json::parse("[]")));
  EXPECT_FALSE(parse_card(json::parse(R"({"uid":"zz","port":1})")));
  EXPECT_FALSE(parse_json("{not json"));
  EXPECT_FALSE(parse_json(std::string(100, ' '), 50));
  EXPECT_TRUE(parse_json(R"({"站点":"东门充电站"})"));
}

TEST(Commands, StartRoundTripsThroughTheFrame) {
  Command c{"c-1", "start", {{"port", 3}, {"session", 1001}, {"mode", 0}, {"limit", 0}, {"max_power_w", 0}}, 1795500000};
  auto parsed = parse_command(command(c));
  ASSERT_TRUE(parsed);
  auto fb = command_to_frame(*parsed);
  ASSERT_TRUE(fb);
  EXPECT_EQ(fb->cmd, Cmd::Start);
  EXPECT_EQ(fb->body, (StartCmd{3, 1001, 0, 0, 0}.encode()));
  auto back = frame_to_command(fb->cmd, fb->body, "c-1", 1795500000);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->op, "start");
  EXPECT_EQ(back->args.at("session").to_number<int64_t>(), 1001);
}

TEST(Commands, EveryOpMapsToAFrame) {
  for (auto [op, args] : std::vector<std::pair<std::string, json::object>>{
           {"stop", {{"port", 1}, {"session", 2}}},
           {"adjust", {{"port", 1}, {"session", 2}, {"mode", 2}, {"limit", 100}}},
           {"query_ports", {}},
           {"get_params", {}},
           {"set_params", {{"full_stop_w", 5}}},
           {"reboot", {{"delay_s", 3}}},
           {"locate", {{"seconds", 10}}},
           {"ota_offer", {{"version", "1.1.0"}, {"size", 1000}, {"sha256", std::string(64, 'a')},
                          {"signature", std::string(128, 'b')}, {"chunk", 512}}}}) {
    Command c{"x", op, args, 0};
    auto fb = command_to_frame(c);
    ASSERT_TRUE(fb) << op;
    auto back = frame_to_command(fb->cmd, fb->body, "x", 0);
    ASSERT_TRUE(back) << op;
    EXPECT_EQ(back->op, op);
    EXPECT_EQ(command_to_frame(*back)->body, fb->body) << op;
  }
  EXPECT_FALSE(command_to_frame(Command{"x", "explode", {}, 0}));
  EXPECT_FALSE(command_to_frame(Command{"x", "start", {{"port", 1}}, 0}));
  EXPECT_FALSE(command_to_frame(Command{"x", "ota_offer", {{"version", "1.1"}, {"size", 1}, {"sha256", ""}, {"signature", ""}}, 0}));
}

TEST(Replies, CarryTheResponseFieldsByName) {
  auto r = reply("c-1", Cmd::Start, Result{1}.encode());
  ASSERT_TRUE(r);
  EXPECT_EQ(json::serialize(*r), R"({"id":"c-1","result":1})");
  QueryPortsResp q{{PortStatus{1, 1001, 180, 120, 3600}}};
  auto qr = reply("c-2", Cmd::QueryPorts, q.encode());
  ASSERT_TRUE(qr);
  EXPECT_EQ(qr->at("ports").as_array()[0].as_object().at("session").to_number<int64_t>(), 1001);
  EXPECT_EQ(reply_to_body(Cmd::QueryPorts, *qr), q.encode());
  Params p;
  auto gp = reply("c-3", Cmd::GetParams, p.encode());
  EXPECT_EQ(gp->at("port_max_w").to_number<int64_t>(), 600);
  EXPECT_EQ(reply_to_body(Cmd::GetParams, *gp), p.encode());
  EXPECT_FALSE(reply("c-4", Cmd::Start, Bytes{}));
}

TEST(Acks, BecomeTheRightResponseBody) {
  Ack a{"m", 1, 150};
  auto back = parse_ack(ack(a));
  ASSERT_TRUE(back);
  EXPECT_EQ(back->balance_fen, 150);
  EXPECT_EQ(ack_to_body(Cmd::Card, a), (CardResp{1, 150}.encode()));
  EXPECT_EQ(ack_to_body(Cmd::SessionEnd, Ack{"m", 0, {}}), Bytes{0});
  EXPECT_TRUE(ack_to_body(Cmd::Alarm, Ack{"m", 0, {}}).empty());
}
