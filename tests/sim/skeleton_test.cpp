// The walking-skeleton contract of chargehub-sim, run as a real process against a real TCP listener:
//   chargehub-sim --bridge 127.0.0.1:P --device 861234567890123 --token-hex HEX --model 1
//                 --time-scale 600 [--retry-ms 500] [--journal-dir DIR] [--plug-in all|none|LIST]
#include <gtest/gtest.h>

#include "chargehub/messages.hpp"
#include "frame_server.hpp"
#include "testsupport.hpp"

using namespace chargehub;
using namespace chargehub::proto;
using namespace chargehub::testing;
using namespace std::chrono_literals;

namespace {
constexpr DeviceId kDev = 861234567890123ULL;
const std::string kToken = "000102030405060708090a0b0c0d0e0f";

std::vector<std::string> skeleton_args(int port, const TempDir& dir, std::vector<std::string> extra = {}) {
  std::vector<std::string> a{bin("chargehub-sim").string(), "--bridge", "127.0.0.1:" + std::to_string(port),
                             "--device", "861234567890123", "--token-hex", kToken, "--model", "1",
                             "--time-scale", "600", "--retry-ms", "500", "--journal-dir", (dir / "journal").string()};
  a.insert(a.end(), extra.begin(), extra.end());
  return a;
}
bool is(const Frame& f, Cmd c) { return f.cmd == c && !f.is_response(); }
}  // namespace

TEST(SkeletonCli, LogsInWithTokenChargesToFullAndIsPaidOnce) {
  TempDir dir("sim-skel");
  FrameServer server;
  Process sim(skeleton_args(server.port(), dir), dir / "sim.log");

  auto login = server.wait_for([](auto& f) { return is(f, Cmd::Login); }, 10s);
  ASSERT_TRUE(login);
  auto l = Login::decode(login->body);
  ASSERT_TRUE(l);
  EXPECT_EQ(l->model, 1);
  EXPECT_EQ(l->ports, 10);
  EXPECT_EQ(l->auth_kind, AuthKind::Token);
  EXPECT_EQ(to_hex(l->auth), kToken);
  ASSERT_TRUE(server.wait_for([](auto& f) { return is(f, Cmd::Heartbeat); }, 10s));

  auto seq = server.send_command(kDev, Cmd::Start, StartCmd{3, 1001, 0, 0, 0}.encode());
  auto resp = server.wait_response(Cmd::Start, seq);
  ASSERT_TRUE(resp);
  EXPECT_EQ(Result::decode(resp->body)->result, 0);

  // METER while charging, power about 150-250 W.
  auto meter = server.wait_for([](auto& f) {
    if (!is(f, Cmd::Meter)) return false;
    auto m = Meter::decode(f.body);
    return m && !m->ports.empty() && m->ports[0].power_w > 100;
  }, 10s);
  ASSERT_TRUE(meter);
  auto mp = Meter::decode(meter->body)->ports[0];
  EXPECT_EQ(mp.port, 3);
  EXPECT_EQ(mp.session, 1001u);
  EXPECT_GE(mp.power_w, 150);
  EXPECT_LE(mp.power_w, 250);

  // Full within well under 30 s of real time.
  auto t0 = std::chrono::steady_clock::now();
  auto end = server.wait_for([](auto& f) { return is(f, Cmd::SessionEnd); }, 30s);
  ASSERT_TRUE(end) << read_file(dir / "sim.log");
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 25s);
  auto e = SessionEnd::decode(end->body);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->port, 3);
  EXPECT_EQ(e->session, 1001u);
  EXPECT_EQ(e->reason, static_cast<uint8_t>(EndReason::Full));
  EXPECT_GT(e->energy_wh, 50u);
  EXPECT_LT(e->energy_wh, 600u);
  EXPECT_GE(e->max_power_w, 150);
  EXPECT_LE(e->max_power_w, 250);
  auto now = static_cast<uint32_t>(::time(nullptr));
  EXPECT_NEAR(static_cast<double>(e->started_at), now, 120.0);   // started a moment ago (simulated)

  EXPECT_EQ(sim.stop(SIGTERM), 0);
  auto log = read_file(dir / "sim.log");
  EXPECT_NE(log.find("login ok"), std::string::npos) << log;
  EXPECT_NE(log.find("start port 3 session 1001"), std::string::npos) << log;
  EXPECT_NE(log.find("end port 3 session 1001 reason 1 (full) energy"), std::string::npos) << log;
}

TEST(SkeletonCli, SessionEndIsResentWithNewSeqUntilAnswered) {
  TempDir dir("sim-skel");
  FrameServer server;
  server.ack_session_end = false;
  Process sim(skeleton_args(server.port(), dir), dir / "sim.log");
  ASSERT_TRUE(server.wait_for([](auto& f) { return is(f, Cmd::Heartbeat); }, 10s));
  auto seq = server.send_command(kDev, Cmd::Start, StartCmd{1, 7, 2, 20, 0}.encode());   // 20 Wh limit
  ASSERT_TRUE(server.wait_response(Cmd::Start, seq));
  auto first = server.wait_for([](auto& f) { return is(f, Cmd::SessionEnd); }, 20s);
  ASSERT_TRUE(first);
  EXPECT_EQ(SessionEnd::decode(first->body)->reason, static_cast<uint8_t>(EndReason::LimitReached));
  auto again = server.wait_for([&](auto& f) { return is(f, Cmd::SessionEnd) && f.seq != first->seq; }, 5s);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->body, first->body);
  auto third = server.wait_for(
      [&](auto& f) { return is(f, Cmd::SessionEnd) && f.seq != first->seq && f.seq != again->seq; }, 5s);
  ASSERT_TRUE(third);
  server.ack_session_end = true;   // the next copy gets an answer; then the charger stops resending
  ASSERT_TRUE(wait_until([&] { return read_file(dir / "sim.log").find("session_end acked") != std::string::npos; }, 5s));
  auto copies = server.count([](auto& f) { return is(f, Cmd::SessionEnd); });
  std::this_thread::sleep_for(1500ms);   // three retry intervals of 500 ms
  EXPECT_EQ(server.count([](auto& f) { return is(f, Cmd::SessionEnd); }), copies);
  EXPECT_EQ(sim.stop(SIGINT), 0);
}

TEST(SkeletonCli, TimeLimitAndRemoteStop) {
  TempDir dir("sim-skel");
  FrameServer server;
  Process sim(skeleton_args(server.port(), dir), dir / "sim.log");
  ASSERT_TRUE(server.wait_for([](auto& f) { return is(f, Cmd::Heartbeat); }, 10s));
  auto s1 = server.send_command(kDev, Cmd::Start, StartCmd{2, 21, 1, 600, 0}.encode());   // 10 simulated minutes
  auto s2 = server.send_command(kDev, Cmd::Start, StartCmd{4, 22, 0, 0, 0}.encode());
  ASSERT_TRUE(server.wait_response(Cmd::Start, s1));
  ASSERT_TRUE(server.wait_response(Cmd::Start, s2));
  auto lim = server.wait_for([](auto& f) { return is(f, Cmd::SessionEnd) && SessionEnd::decode(f.body)->session == 21; }, 15s);
  ASSERT_TRUE(lim);
  auto e = SessionEnd::decode(lim->body);
  EXPECT_EQ(e->reason, static_cast<uint8_t>(EndReason::LimitReached));
  EXPECT_GE(e->duration_s, 600u);
  EXPECT_LE(e->duration_s, 620u);
  auto stop = server.send_command(kDev, Cmd::Stop, StopCmd{4, 22}.encode());
  auto sr = server.wait_response(Cmd::Stop, stop);
  ASSERT_TRUE(sr);
  EXPECT_EQ(Result::decode(sr->body)->result, 0);
  auto rs = server.wait_for([](auto& f) { return is(f, Cmd::SessionEnd) && SessionEnd::decode(f.body)->session == 22; }, 5s);
  ASSERT_TRUE(rs);
  EXPECT_EQ(SessionEnd::decode(rs->body)->reason, static_cast<uint8_t>(EndReason::RemoteStop));
  EXPECT_EQ(sim.stop(SIGTERM), 0);
}

TEST(SkeletonCli, PlugInNoneAnswersNoLoad) {
  TempDir dir("sim-skel");
  FrameServer server;
  Process sim(skeleton_args(server.port(), dir, {"--plug-in", "2"}), dir / "sim.log");
  ASSERT_TRUE(server.wait_for([](auto& f) { return is(f, Cmd::Heartbeat); }, 10s));
  auto s1 = server.send_command(kDev, Cmd::Start, StartCmd{1, 31, 0, 0, 0}.encode());
  auto r1 = server.wait_response(Cmd::Start, s1);
  ASSERT_TRUE(r1);
  EXPECT_EQ(Result::decode(r1->body)->result, 2);   // nothing plugged into port 1
  auto s2 = server.send_command(kDev, Cmd::Start, StartCmd{2, 32, 0, 0, 0}.encode());
  auto r2 = server.wait_response(Cmd::Start, s2);
  ASSERT_TRUE(r2);
  EXPECT_EQ(Result::decode(r2->body)->result, 0);
  EXPECT_EQ(sim.stop(SIGTERM), 0);
}

TEST(SkeletonCli, HelpExplainsTheFlags) {
  TempDir dir("sim-skel");
  Process p({bin("chargehub-sim").string(), "--help"}, dir / "help.txt");
  EXPECT_EQ(p.wait(), 0);
  auto help = read_file(dir / "help.txt");
  for (auto flag : {"--bridge", "--device", "--token-hex", "--model", "--time-scale", "--retry-ms", "--journal-dir",
                    "--plug-in", "fleet"})
    EXPECT_NE(help.find(flag), std::string::npos) << flag;
}
