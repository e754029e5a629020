// Hostile input on a link: torn, corrupted, oversized and interleaved frames, garbage, frames before
// login and from other devices. Bad frames are counted, never fatal.
#include <gtest/gtest.h>

#include <random>

#include "harness.hpp"

using namespace chargehub::bridgetest;
using namespace chargehub::proto;

namespace {

constexpr DeviceId kDev = 860000000000999ULL;

struct Hostile : ::testing::Test {
  TempDir dir{"bridge-hostile"};
  PlainBroker broker{dir};
  CoreClient core{broker.port()};
  BridgeProcess bridge{dir, broker.port(), {"--status-s", "1", "--name", "h", "--max-frames-per-s", "1000"}};
  std::unique_ptr<FakeLink> link = FakeLink::tcp(bridge.port());
  FakeCharger ch{*link, kDev};
  json::value status(const std::function<bool(const json::value&)>& pred) {
    auto m = core.wait("svc/v1/bridge-h/status", 5s, [&](const Msg& m) { return pred(m.json()); });
    return m ? m->json() : json::value();
  }
};

TEST_F(Hostile, AFrameTornIntoSingleBytesIsReassembled) {
  auto wire = encode_frame(ch.frame(Cmd::Login, login_body(ch.token)));
  for (auto b : wire) {
    link->send_raw({b});
    std::this_thread::sleep_for(2ms);
  }
  auto r = link->recv(3s);
  ASSERT_TRUE(r);
  EXPECT_EQ(LoginResp::decode(r->body)->result, LoginResult::Ok);
}

TEST_F(Hostile, CorruptedOversizedAndGarbageBytesAreSkippedAndCounted) {
  ASSERT_EQ(ch.login()->result, LoginResult::Ok);
  auto good = encode_frame(ch.frame(Cmd::Heartbeat, heartbeat_body()));
  auto bad_crc = encode_frame(ch.frame(Cmd::Heartbeat, heartbeat_body()));
  bad_crc[bad_crc.size() - 1] ^= 0xFF;
  std::vector<uint8_t> oversized{0x5a, 0xa5, 0xff, 0x7f, 0x01};   // len 32767
  std::vector<uint8_t> stream{0x5a, 0x5a, 0xa5, 0x00, 0x00};
  stream.insert(stream.end(), bad_crc.begin(), bad_crc.end());
  stream.insert(stream.end(), oversized.begin(), oversized.end());
  stream.insert(stream.end(), {0x13, 0x37});
  stream.insert(stream.end(), good.begin(), good.end());
  link->send_raw(stream);
  auto r = link->recv(3s);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->cmd, Cmd::Heartbeat);
  EXPECT_FALSE(link->recv(200ms));   // the corrupted copy was not answered
  auto st = status([](const json::value& v) { return v.is_object() && v.at("bad_frames").as_int64() >= 2; });
  EXPECT_TRUE(st.is_object());
}

TEST_F(Hostile, RandomGarbageDoesNotHurtTheLinkOrTheBridge) {
  ASSERT_EQ(ch.login()->result, LoginResult::Ok);
  std::mt19937 rng(7);
  std::vector<uint8_t> junk(64 * 1024);
  for (auto& b : junk) b = static_cast<uint8_t>(rng());
  for (size_t i = 0; i < junk.size(); i += 997) junk[i] = 0x5a, junk[i + 1] = 0xa5;   // many false starts
  link->send_raw(junk);
  auto r = ch.request(Cmd::Heartbeat, heartbeat_body(), 5s);
  EXPECT_TRUE(r) << bridge.log();
  EXPECT_TRUE(bridge.running());
}

TEST_F(Hostile, InterleavedFramesFromAnUnloggedDeviceGetOnlyLoginFailures) {
  ASSERT_EQ(ch.login()->result, LoginResult::Ok);
  FakeCharger intruder{*link, 123456789ULL};
  auto hb = intruder.frame(Cmd::Heartbeat, heartbeat_body());
  auto mine = ch.frame(Cmd::Heartbeat, heartbeat_body());
  auto w1 = encode_frame(hb), w2 = encode_frame(mine);
  // Interleave at the byte level is impossible on one stream; interleave whole frames back to back.
  std::vector<uint8_t> both(w1);
  both.insert(both.end(), w2.begin(), w2.end());
  link->send_raw(both);
  auto ri = link->recv(3s, intruder.id);
  ASSERT_TRUE(ri);
  EXPECT_EQ(ri->cmd, Cmd::Login);
  EXPECT_EQ(LoginResp::decode(ri->body)->result, LoginResult::BadCredentials);
  auto rm = link->recv(3s, ch.id);
  ASSERT_TRUE(rm);
  EXPECT_EQ(rm->cmd, Cmd::Heartbeat);
  EXPECT_FALSE(core.wait(topic(intruder.id, "up/heartbeat"), 200ms));
  auto st = status([](const json::value& v) { return v.is_object() && v.at("not_logged_in").as_int64() >= 1; });
  EXPECT_TRUE(st.is_object());
}

TEST_F(Hostile, AMalformedLoginIsRefusedWithResult2) {
  std::vector<uint8_t> body = login_body(ch.token);
  body.resize(10);   // truncated
  auto r = ch.request(Cmd::Login, body);
  ASSERT_TRUE(r);
  EXPECT_EQ(LoginResp::decode(r->body)->result, LoginResult::BadCredentials);
  Login l = *Login::decode(login_body(ch.token));
  l.auth.resize(8);   // token under 16 bytes
  r = ch.request(Cmd::Login, l.encode());
  ASSERT_TRUE(r);
  EXPECT_EQ(LoginResp::decode(r->body)->result, LoginResult::BadCredentials);
}

TEST_F(Hostile, ABodyThatDoesNotDecodeIsCountedAndNotAnswered) {
  ASSERT_EQ(ch.login()->result, LoginResult::Ok);
  auto r = ch.request(Cmd::Heartbeat, {1, 2, 3}, 500ms);
  EXPECT_FALSE(r);
  EXPECT_TRUE(ch.request(Cmd::Heartbeat, heartbeat_body()));
}

}  // namespace
