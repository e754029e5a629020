// Nothing money depends on is lost: the on-disk queue while the broker is away, a broker restart with a
// SESSION_END in flight, a bridge restart (kill -9) with frames waiting on disk.
#include <gtest/gtest.h>

#include "chargehub/payloads.hpp"
#include "disk_queue.hpp"
#include "harness.hpp"

using namespace chargehub::bridgetest;
using namespace chargehub::proto;
namespace pl = chargehub::payloads;

namespace {

constexpr DeviceId kDev = 860000000000555ULL;

Meter meter(uint32_t energy) { return Meter{{MeterPort{3, 42, 200, energy, 60, 540, 3700}}}; }

std::string ack_for(const Msg& m) {
  return json::serialize(pl::ack(pl::Ack{std::string(m.json().at("msg").as_string()), 0, {}}));
}

// A broker with persistence and a core with a persistent session, as in production: what the bridge
// publishes after a broker restart reaches the core even before the core is back.
struct Durability : ::testing::Test {
  TempDir dir{"bridge-dur"};
  PlainBroker broker{dir, "persistence true\npersistence_location " + (dir.path() / "").string() + "\nautosave_interval 1\nuser root\n"};
  std::unique_ptr<CoreClient> core =
      std::make_unique<CoreClient>(broker.port(), std::vector<std::string>{"chg/v1/+/up/#", "chg/v1/+/status"}, "", "",
                                   "core-dur", true);
  std::vector<std::string> opts{"--report-republish-s", "1", "--queue-dir", (dir / "queue").string()};
};

TEST_F(Durability, BrokerRestartWithASessionEndInFlightDeliversItAndAnswersTheChargerOnce) {
  BridgeProcess bridge{dir, broker.port(), opts};
  auto link = FakeLink::tcp(bridge.port());
  FakeCharger ch{*link, kDev};
  ASSERT_EQ(ch.login()->result, LoginResult::Ok);
  std::this_thread::sleep_for(1500ms);   // the core's persistent session is saved
  link->send(ch.frame(Cmd::SessionEnd, session_end_body(42)));
  auto first = core->wait(topic(kDev, "up/session_end"));
  ASSERT_TRUE(first);
  broker.stop();
  // While the broker is away: telemetry and another report go to the disk queue; heartbeats are answered.
  link->send(ch.frame(Cmd::Meter, meter(100).encode()));
  link->send(ch.frame(Cmd::SessionEnd, session_end_body(43)));
  link->send(ch.frame(Cmd::Meter, meter(200).encode()));
  ASSERT_TRUE(ch.request(Cmd::Heartbeat, heartbeat_body()));
  link->send(ch.frame(Cmd::SessionEnd, session_end_body(42)));   // the charger's retry of 42
  ASSERT_TRUE(bridge.wait_log("mqtt_lost"));
  broker.start();
  ASSERT_TRUE(bridge.wait_log("mqtt_reconnected", 15s)) << bridge.log();
  // The queued frames arrive in order, 43 once.
  auto m1 = core->wait(topic(kDev, "up/meter"), 10s);
  auto m2 = core->wait(topic(kDev, "up/meter"), 5s);
  ASSERT_TRUE(m1 && m2);
  EXPECT_EQ(m1->json().at("ports").at(0).at("energy_wh").as_int64(), 100);
  EXPECT_EQ(m2->json().at("ports").at(0).at("energy_wh").as_int64(), 200);
  auto s43 = core->wait(topic(kDev, "up/session_end"), 5s, [](const Msg& m) { return m.json().at("session").as_int64() == 43; });
  ASSERT_TRUE(s43);
  // 42 is published again after the restart (its first copy may have been lost with the broker).
  auto s42 = core->wait(topic(kDev, "up/session_end"), 5s, [](const Msg& m) { return m.json().at("session").as_int64() == 42; });
  ASSERT_TRUE(s42);
  EXPECT_EQ(s42->json().at("msg"), first->json().at("msg"));
  // The core acks every copy it got (it dedups by msg); the charger gets one answer per record.
  core->publish(topic(kDev, "down/ack"), ack_for(*first));
  core->publish(topic(kDev, "down/ack"), ack_for(*s42));
  core->publish(topic(kDev, "down/ack"), ack_for(*s43));
  int answers42 = 0, answers43 = 0;
  while (auto f = link->recv(800ms)) {
    if (f->cmd != Cmd::SessionEnd) continue;
    if (f->seq == 5) ++answers42;   // seq of the latest copy of 42 (frames 1 login, 2, 3 meter, 4 = 43, ...)
    else ++answers43;
  }
  EXPECT_EQ(answers42 + answers43, 2);
  std::this_thread::sleep_for(300ms);
  size_t n43 = 0;
  for (auto& m : core->all(topic(kDev, "up/session_end")))
    if (m.json().at("session").as_int64() == 43) ++n43;
  EXPECT_EQ(n43, 1u);
}

TEST_F(Durability, BridgeKilledWithFramesOnDiskDeliversThemWhenTheChargerIsBack) {
  auto bridge = std::make_unique<BridgeProcess>(dir, broker.port(), opts);
  int port = bridge->port();
  {
    auto link = FakeLink::tcp(port);
    FakeCharger ch{*link, kDev};
    ASSERT_EQ(ch.login()->result, LoginResult::Ok);
    std::this_thread::sleep_for(1500ms);
    broker.stop();
    link->send(ch.frame(Cmd::Meter, meter(300).encode()));
    link->send(ch.frame(Cmd::SessionEnd, session_end_body(77)));
    link->send(ch.frame(Cmd::Meter, meter(400).encode()));
    ASSERT_TRUE(ch.request(Cmd::Heartbeat, heartbeat_body()));   // processed: everything before it is queued
    bridge->kill9();
  }
  broker.start();
  auto args = opts;
  args.push_back("--listen");
  args.push_back("127.0.0.1:" + std::to_string(port));
  bridge = std::make_unique<BridgeProcess>(dir, broker.port(), args, true, "bridge2.log");
  EXPECT_TRUE(bridge->wait_log("queue_found"));
  auto link = FakeLink::tcp(port);
  FakeCharger ch{*link, kDev};
  ch.seq = 100;
  ASSERT_EQ(ch.login()->result, LoginResult::Ok);
  auto m1 = core->wait(topic(kDev, "up/meter"), 10s);
  auto m2 = core->wait(topic(kDev, "up/meter"), 5s);
  ASSERT_TRUE(m1 && m2);
  EXPECT_EQ(m1->json().at("ports").at(0).at("energy_wh").as_int64(), 300);
  EXPECT_EQ(m2->json().at("ports").at(0).at("energy_wh").as_int64(), 400);
  auto s = core->wait(topic(kDev, "up/session_end"), 5s);
  ASSERT_TRUE(s);
  // The charger was never answered, so it resends 77: published again (the core dedups by msg) and
  // answered once the core acks.
  Frame copy = ch.frame(Cmd::SessionEnd, session_end_body(77));
  link->send(copy);
  auto again = core->wait(topic(kDev, "up/session_end"), 5s);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->json().at("msg"), s->json().at("msg"));
  core->publish(topic(kDev, "down/ack"), ack_for(*again));
  auto r = link->recv(3s);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->cmd, Cmd::SessionEnd);
  EXPECT_EQ(r->seq, copy.seq);
}

TEST(DiskQueue, KeepsRecordsInOrderWithinItsBoundAndCountsWhatItDrops) {
  TempDir dir{"bridge-q"};
  chargehub::bridge::Counters c;
  chargehub::bridge::DiskQueue q(dir.path(), 300, c);
  EXPECT_TRUE(q.append("1", {0, "meter", std::string(100, 'a')}));
  EXPECT_TRUE(q.append("1", {1, "session_end", std::string(100, 'b')}));
  EXPECT_FALSE(q.append("2", {0, "meter", std::string(200, 'c')}));   // over 300 bytes
  EXPECT_EQ(c.queue_dropped.load(), 1);
  EXPECT_EQ(c.queue_records.load(), 2);
  chargehub::bridge::Counters c2;   // a restarted process finds them
  chargehub::bridge::DiskQueue q2(dir.path(), 300, c2);
  q2.scan();
  EXPECT_EQ(c2.queue_records.load(), 2);
  auto recs = q2.take("1");
  ASSERT_EQ(recs.size(), 2u);
  EXPECT_EQ(recs[0].kind, "meter");
  EXPECT_EQ(recs[1].qos, 1);
  EXPECT_EQ(recs[1].payload, std::string(100, 'b'));
  EXPECT_FALSE(q2.has("1"));
  EXPECT_EQ(c2.queue_records.load(), 0);
}

}  // namespace
