// Serial lines, tested for real on pseudo-terminal pairs: the bridge opens the pty's slave as its serial
// port; the test speaks on the master. Two chargers share one line (multi-drop, addressed by device id).
#include <gtest/gtest.h>
#include <pty.h>
#include <termios.h>
#include <unistd.h>

#include "chargehub/payloads.hpp"
#include "harness.hpp"

using namespace chargehub::bridgetest;
using namespace chargehub::proto;
namespace pl = chargehub::payloads;

namespace {

struct Pty {
  int master = -1, slave = -1;
  std::string path;
  Pty() {
    char name[128];
    termios t{};
    cfmakeraw(&t);
    if (openpty(&master, &slave, name, &t, nullptr) != 0) throw std::runtime_error("openpty failed");
    path = name;
  }
  ~Pty() {
    if (slave >= 0) ::close(slave);
  }
};

struct Serial : ::testing::Test {
  TempDir dir{"bridge-serial"};
  PlainBroker broker{dir};
  CoreClient core{broker.port()};
  Pty pty;
  std::unique_ptr<BridgeProcess> bridge;
  std::unique_ptr<FakeLink> line;
  void SetUp() override {
    bridge = std::make_unique<BridgeProcess>(dir, broker.port(),
                                             std::vector<std::string>{"--serial", pty.path + ":115200", "--cmd-retry-ms", "300"}, false);
    ASSERT_TRUE(bridge->wait_log("serial_open")) << bridge->log();
    line = FakeLink::fd(pty.master);
  }
};

TEST_F(Serial, ChargerLogsInAndHeartbeatsOverAPtyLine) {
  FakeCharger a{*line, 861234567890123ULL};
  auto r = a.login();
  ASSERT_TRUE(r) << bridge->log();
  EXPECT_EQ(r->result, LoginResult::Ok);
  ASSERT_TRUE(a.request(Cmd::Heartbeat, heartbeat_body()));
  EXPECT_TRUE(core.wait(topic(a.id, "up/heartbeat")));
}

TEST_F(Serial, TwoChargersOnOneLineAreAddressedByDeviceId) {
  FakeCharger a{*line, 861234567890123ULL}, b{*line, 861234567890124ULL};
  ASSERT_EQ(a.login()->result, LoginResult::Ok);
  ASSERT_EQ(b.login()->result, LoginResult::Ok);
  EXPECT_TRUE(core.wait(topic(a.id, "status")));
  EXPECT_TRUE(core.wait(topic(b.id, "status")));
  // A command to b reaches b's address only; b answers; the reply is b's.
  core.publish(topic(b.id, "down/cmd"), R"({"id":"sb","op":"locate","args":{"seconds":5}})");
  auto f = line->recv(3s);
  ASSERT_TRUE(f);
  EXPECT_EQ(f->device, b.id);
  line->send(make_response(*f, Result{0}.encode()));
  auto rep = core.wait(topic(b.id, "up/reply"));
  ASSERT_TRUE(rep);
  EXPECT_EQ(rep->json().at("id").as_string(), "sb");
  EXPECT_FALSE(core.wait(topic(a.id, "up/reply"), 200ms));
  // Interleaved reports from both on the same line.
  line->send(a.frame(Cmd::SessionEnd, session_end_body(7)));
  line->send(b.frame(Cmd::SessionEnd, session_end_body(8)));
  auto ma = core.wait(topic(a.id, "up/session_end")), mb = core.wait(topic(b.id, "up/session_end"));
  ASSERT_TRUE(ma && mb);
  core.publish(topic(b.id, "down/ack"), json::serialize(pl::ack(pl::Ack{std::string(mb->json().at("msg").as_string()), 0, {}})));
  auto rb = line->recv(3s);
  ASSERT_TRUE(rb);
  EXPECT_EQ(rb->device, b.id);
  EXPECT_EQ(rb->cmd, Cmd::SessionEnd);
}

TEST_F(Serial, OneChargerGoingSilentDoesNotCloseTheLineForTheOther) {
  bridge.reset();
  bridge = std::make_unique<BridgeProcess>(dir, broker.port(),
                                           std::vector<std::string>{"--serial", pty.path, "--heartbeat-s", "1"}, false,
                                           "bridge2.log");
  ASSERT_TRUE(bridge->wait_log("serial_open"));
  FakeCharger a{*line, 1001}, b{*line, 1002};
  ASSERT_EQ(a.login()->result, LoginResult::Ok);
  ASSERT_EQ(b.login()->result, LoginResult::Ok);
  // Only b keeps talking for 4 s.
  for (int i = 0; i < 8; ++i) {
    line->send(b.frame(Cmd::Heartbeat, heartbeat_body()));
    std::this_thread::sleep_for(500ms);
  }
  auto off = core.wait(topic(a.id, "status"), 2s, [](const Msg& m) { return m.payload.find("false") != std::string::npos; });
  EXPECT_TRUE(off);
  EXPECT_TRUE(b.request(Cmd::Heartbeat, heartbeat_body()));
}

}  // namespace
