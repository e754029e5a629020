// Links and logins: silence, takeover, refused and busy logins, rate limits, the status topic and
// SIGUSR1, configuration checks.
#include <gtest/gtest.h>
#include <signal.h>

#include "chargehub/payloads.hpp"
#include "harness.hpp"

using namespace chargehub::bridgetest;
using namespace chargehub::proto;
using chargehub::testing::free_port;
using chargehub::testing::wait_until;
using chargehub::testing::write_file;

namespace {

constexpr DeviceId kDev = 860000000000777ULL;

TEST(Supervision, ASilentChargerIsClosedAfterThreeHeartbeatIntervalsAndGoesOffline) {
  TempDir dir{"bridge-sup"};
  PlainBroker broker{dir};
  CoreClient core{broker.port()};
  BridgeProcess bridge{dir, broker.port(), {"--heartbeat-s", "1"}};
  auto link = FakeLink::tcp(bridge.port());
  FakeCharger ch{*link, kDev};
  auto r = ch.login();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->heartbeat_s, 1);
  ASSERT_TRUE(core.wait(topic(kDev, "status")));
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_TRUE(link->closed_within(6s));
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 2500ms);
  auto st = core.wait(topic(kDev, "status"), 3s);
  ASSERT_TRUE(st);
  EXPECT_FALSE(st->json().at("online").as_bool());
}

TEST(Supervision, AReconnectingChargerTakesOverAndTheOldLinkIsClosed) {
  TempDir dir{"bridge-sup"};
  PlainBroker broker{dir};
  CoreClient core{broker.port()};
  BridgeProcess bridge{dir, broker.port()};
  auto old_link = FakeLink::tcp(bridge.port());
  FakeCharger old_ch{*old_link, kDev};
  ASSERT_EQ(old_ch.login()->result, LoginResult::Ok);
  auto new_link = FakeLink::tcp(bridge.port());
  FakeCharger new_ch{*new_link, kDev};
  ASSERT_EQ(new_ch.login()->result, LoginResult::Ok);
  EXPECT_TRUE(old_link->closed_within(3s));
  // The new link works and the charger stays online (the last retained status says online).
  ASSERT_TRUE(new_ch.request(Cmd::Heartbeat, heartbeat_body()));
  std::this_thread::sleep_for(300ms);
  auto sts = core.all(topic(kDev, "status"));
  ASSERT_FALSE(sts.empty());
  EXPECT_TRUE(sts.back().json().at("online").as_bool());
  core.publish(topic(kDev, "down/cmd"), R"({"id":"tk","op":"locate","args":{"seconds":2}})");
  EXPECT_TRUE(new_link->recv(2s));
}

TEST(Supervision, RefusedCredentialsGetLoginResult2AndTheLinkIsClosed) {
  TempDir dir{"bridge-sup"};
  // A broker that only admits device kDev with token 16 x 0x42 (password "tok:" + base64).
  auto pw = dir / "passwd";
  std::string id = device_id_text(kDev);
  ASSERT_EQ(std::system(("mosquitto_passwd -c -b " + pw.string() + " " + id + " tok:QkJCQkJCQkJCQkJCQkJCQg== >/dev/null 2>&1").c_str()), 0);
  ::chmod(pw.c_str(), 0600);
  PlainBroker broker{dir, "allow_anonymous false\nuser root\npassword_file " + pw.string() + "\n"};
  // replace "allow_anonymous true" by the later line: mosquitto takes the last setting
  BridgeProcess bridge{dir, broker.port(), {"--refuse-close-ms", "300"}};
  {
    auto link = FakeLink::tcp(bridge.port());
    FakeCharger good{*link, kDev};
    auto r = good.login();
    ASSERT_TRUE(r) << bridge.log();
    EXPECT_EQ(r->result, LoginResult::Ok);
  }
  auto link = FakeLink::tcp(bridge.port());
  FakeCharger bad{*link, kDev};
  bad.token = std::vector<uint8_t>(16, 0x41);
  auto r = bad.login();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->result, LoginResult::BadCredentials);
  EXPECT_TRUE(link->closed_within(3s));
  EXPECT_EQ(bridge.log().find("QUFB"), std::string::npos) << "a secret in the log";
}

TEST(Supervision, AnUnreachableBrokerGivesLoginResult4) {
  TempDir dir{"bridge-sup"};
  int dead_port = free_port();
  BridgeProcess bridge{dir, dead_port, {"--refuse-close-ms", "100"}};
  auto link = FakeLink::tcp(bridge.port());
  FakeCharger ch{*link, kDev};
  auto r = ch.login();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->result, LoginResult::Busy);
  EXPECT_TRUE(link->closed_within(3s));
}

TEST(Supervision, AFloodingLinkIsRateLimitedAndCounted) {
  TempDir dir{"bridge-sup"};
  PlainBroker broker{dir};
  CoreClient core{broker.port()};
  BridgeProcess bridge{dir, broker.port(), {"--max-frames-per-s", "5", "--status-s", "1", "--name", "t1"}};
  auto link = FakeLink::tcp(bridge.port());
  FakeCharger ch{*link, kDev};
  ASSERT_EQ(ch.login()->result, LoginResult::Ok);
  std::vector<uint8_t> burst;
  for (int i = 0; i < 200; ++i) {
    auto w = encode_frame(ch.frame(Cmd::Heartbeat, heartbeat_body()));
    burst.insert(burst.end(), w.begin(), w.end());
  }
  link->send_raw(burst);
  int answered = 0;
  while (link->recv(500ms)) ++answered;
  EXPECT_LE(answered, 15);
  EXPECT_GE(answered, 5);
  auto st = core.wait("svc/v1/bridge-t1/status", 5s, [](const Msg& m) {
    auto v = m.json();
    return v.is_object() && v.as_object().contains("rate_limited") && v.at("rate_limited").as_int64() > 100;
  });
  EXPECT_TRUE(st) << bridge.log();
}

TEST(Supervision, StatusTopicAndSigusr1ReportTheCounters) {
  TempDir dir{"bridge-sup"};
  PlainBroker broker{dir};
  CoreClient core{broker.port()};
  BridgeProcess bridge{dir, broker.port(), {"--status-s", "1", "--name", "site7"}};
  auto link = FakeLink::tcp(bridge.port());
  FakeCharger ch{*link, kDev};
  ASSERT_EQ(ch.login()->result, LoginResult::Ok);
  ASSERT_TRUE(ch.request(Cmd::Heartbeat, heartbeat_body()));
  link->send_raw({0x5a, 0xa5, 0xff, 0xff, 0x13, 0x37});   // garbage: bad len
  auto st = core.wait("svc/v1/bridge-site7/status", 5s, [](const Msg& m) {
    auto v = m.json();
    return v.is_object() && v.at("chargers").as_int64() == 1 && v.at("frames_in").as_object().contains("heartbeat");
  });
  ASSERT_TRUE(st) << bridge.log();
  auto v = st->json();
  EXPECT_EQ(v.at("logins").at("ok").as_int64(), 1);
  EXPECT_EQ(v.at("links").as_int64(), 1);
  EXPECT_GE(v.at("bad_frames").as_int64(), 1);
  EXPECT_TRUE(v.at("queue").as_object().contains("depth"));
  EXPECT_TRUE(st->retained || true);
  ::kill(bridge.pid(), SIGUSR1);
  EXPECT_TRUE(bridge.wait_log("counters json="));
  // Stopping: SIGTERM exits 0 and the charger goes offline.
  EXPECT_EQ(bridge.stop(), 0);
  auto off = core.wait(topic(kDev, "status"), 3s, [](const Msg& m) { return m.payload.find("false") != std::string::npos; });
  EXPECT_TRUE(off);
}

TEST(Config, BadValuesAreRefusedWithAClearMessage) {
  TempDir dir{"bridge-cfg"};
  auto run = [&](std::vector<std::string> args) {
    args.insert(args.begin(), chargehub::testing::bin("chargehub-bridge").string());
    Process p(args, dir / "cfg.log");
    return p.wait();
  };
  EXPECT_EQ(run({"--broker", "mqtt://x:1"}), 2);
  EXPECT_NE(chargehub::testing::read_file(dir / "cfg.log").find("--broker must be tcp://host:port"), std::string::npos);
  EXPECT_EQ(run({"--listen", "127.0.0.1:99999"}), 2);
  EXPECT_EQ(run({"--heartbeat-s", "0"}), 2);
  EXPECT_EQ(run({"--serial", "/dev/does-not-exist"}), 2);
  EXPECT_EQ(run({"--secret-file", (dir / "missing").string()}), 2);
  EXPECT_EQ(run({"--no-such-flag"}), 2);
  EXPECT_NE(chargehub::testing::read_file(dir / "cfg.log").find("no such device"), std::string::npos);
}

TEST(Config, AConfigFileSetsTheOptions) {
  TempDir dir{"bridge-cfg"};
  PlainBroker broker{dir};
  CoreClient core{broker.port()};
  int port = free_port();
  write_file(dir / "secret", "s3cret\n");
  write_file(dir / "bridge.toml", "listen = \"127.0.0.1:" + std::to_string(port) + "\"\nbroker = \"tcp://127.0.0.1:" +
                                      std::to_string(broker.port()) + "\"\nname = \"fromfile\"\nheartbeat-s = 45\n" +
                                      "secret-file = \"" + (dir / "secret").string() + "\"\nqueue-dir = \"" +
                                      (dir / "q").string() + "\"\nstatus-s = 1\n");
  Process p({chargehub::testing::bin("chargehub-bridge").string(), "--config", (dir / "bridge.toml").string()}, dir / "b.log");
  ASSERT_TRUE(chargehub::testing::wait_for_port(port)) << chargehub::testing::read_file(dir / "b.log");
  auto link = FakeLink::tcp(port);
  FakeCharger ch{*link, kDev};
  auto r = ch.login();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->heartbeat_s, 45);
  EXPECT_TRUE(core.wait("svc/v1/bridge-fromfile/status", 5s));
  EXPECT_EQ(chargehub::testing::read_file(dir / "b.log").find("s3cret"), std::string::npos);
}

}  // namespace

namespace {
size_t open_fds(int pid) {
  size_t n = 0;
  for ([[maybe_unused]] auto& e : std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fd")) ++n;
  return n;
}
}  // namespace

TEST(Supervision, EachChargerCostsTwoFileDescriptors) {
  TempDir dir{"bridge-sup"};
  PlainBroker broker{dir};
  BridgeProcess bridge{dir, broker.port()};
  std::this_thread::sleep_for(300ms);
  size_t before = open_fds(bridge.pid());
  std::vector<std::unique_ptr<FakeLink>> links;
  for (int i = 0; i < 20; ++i) {
    links.push_back(FakeLink::tcp(bridge.port()));
    FakeCharger ch{*links.back(), 7000 + static_cast<DeviceId>(i)};
    ASSERT_EQ(ch.login()->result, LoginResult::Ok);
  }
  size_t after = open_fds(bridge.pid());
  EXPECT_LE(after - before, 42u) << "libmosquitto's wake-up socketpair is back (4 fds per charger)";
  EXPECT_GE(after - before, 40u);
}
