// Issue 19.5: one device credential cannot flood the platform. A flooding charger beside well-behaved
// ones: the well-behaved lose nothing (their QoS 1 session_end records included); the flooder's excess
// is dropped at the broker and counted for it (the plugin's status file lists it first); an oversized
// payload is refused; a packet over the broker's max_packet_size costs the sender its connection.
#include <gtest/gtest.h>

#include <cstdio>
#include <map>
#include <mutex>

#include "fixture.hpp"

using namespace chargehub::plugintest;
using chargehub::testkeys::Token;

namespace {

class Flood : public PluginTest {};

std::string meter(int i) {
  return R"({"ports":[{"port":3,"session":1001,"power_w":180,"energy_wh":)" + std::to_string(i) +
         R"(,"elapsed_s":3600,"voltage_dv":540,"current_ma":3300}]})";
}

}  // namespace

TEST_F(Flood, AFloodingDeviceLosesItsExcessAndTheOthersLoseNothing) {
  const std::string flooder = "869999999999999";
  std::vector<std::string> good;
  std::map<std::string, Token> tokens;
  for (int i = 0; i < 5; ++i) good.push_back(std::to_string(861000000000100ULL + i));
  for (auto& id : good) tokens[id] = add_charger(id);
  tokens[flooder] = add_charger(flooder);
  // Compressed limits: 20 msg/s, bursts of 100 (production: 10/s, 1,000).
  start_broker("plugin_opt_limit_rate_per_s 20\nplugin_opt_limit_burst 100\nmax_queued_messages 100000\n");

  std::mutex mu;
  std::map<std::string, int> received;  // per device
  auto o = core();
  o.subscribe_on_connect = {"chg/v1/+/up/#"};
  o.on_message = [&](const std::string& topic, const std::string&) {
    std::lock_guard lock(mu);
    ++received[topic.substr(7, topic.find('/', 7) - 7)];
  };
  auto sub = connect(o);
  ASSERT_EQ(sub->connack(), 0);
  ASSERT_TRUE(sub->wait_subscribed());

  std::vector<std::unique_ptr<Mqtt>> goods;
  for (auto& id : good) {
    goods.push_back(connect(charger(id, tokens[id].password())));
    ASSERT_EQ(goods.back()->connack(), 0);
  }
  auto fl = connect(charger(flooder, tokens[flooder].password()));
  ASSERT_EQ(fl->connack(), 0);

  auto t0 = std::chrono::steady_clock::now();
  constexpr int flood_meters = 4000, flood_alarms = 500;
  for (int i = 0; i < flood_meters; ++i) fl->publish_nowait("chg/v1/" + flooder + "/up/meter", meter(i), 0);
  for (int i = 0; i < flood_alarms; ++i)
    fl->publish_nowait("chg/v1/" + flooder + "/up/alarm",
                       R"({"msg":"f-)" + std::to_string(i) + R"(","code":3,"port":2,"value":9000})", 1);
  // An oversized payload (over the plugin's 8 KiB): refused and counted as size.
  EXPECT_EQ(fl->publish("chg/v1/" + flooder + "/up/meter", std::string(9000, 'x'), 1), 0x87);
  // The well-behaved: heartbeats, meters and their QoS 1 stop records, at a charger's pace.
  int good_sent = 0;
  for (int round = 0; round < 3; ++round)
    for (std::size_t g = 0; g < goods.size(); ++g) {
      auto& id = good[g];
      EXPECT_EQ(goods[g]->publish("chg/v1/" + id + "/up/heartbeat", R"({"csq":20})", 0), 0);
      EXPECT_EQ(goods[g]->publish("chg/v1/" + id + "/up/meter", meter(round), 0), 0);
      EXPECT_EQ(goods[g]->publish("chg/v1/" + id + "/up/session_end",
                                  R"({"msg":")" + id + "-session_end-" + std::to_string(round) +
                                      R"(","port":3,"session":)" + std::to_string(round) +
                                      R"(,"reason":1,"started_at":1795500000,"duration_s":60,"energy_wh":10,"max_power_w":200})",
                                  1),
                0);  // PUBACK 0: accepted
      good_sent += 3;
    }
  // Everything the flooder sent has reached the broker once its last QoS 1 is answered.
  EXPECT_TRUE(fl->publish("chg/v1/" + flooder + "/up/heartbeat", "{}", 1) >= 0);
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  ASSERT_TRUE(chargehub::testing::wait_until(
      [&] {
        std::lock_guard lock(mu);
        for (auto& id : good)
          if (received[id] < 9) return false;
        return true;
      },
      5s));
  std::string st;
  ASSERT_TRUE(chargehub::testing::wait_until(
      [&] {
        st = status();
        return st.find("top_dropped.1: " + flooder + " ") != std::string::npos;
      },
      5s))
      << st;
  std::this_thread::sleep_for(200ms);  // stray QoS 0 deliveries to the subscriber
  std::lock_guard lock(mu);
  for (auto& id : good) EXPECT_EQ(received[id], 9) << id;  // nothing lost, nothing doubled
  int flood_sent = flood_meters + flood_alarms + 2;
  int flood_delivered = received[flooder];
  // At most the burst plus the rate over the run (and the heartbeat at the end).
  EXPECT_LE(flood_delivered, 100 + static_cast<int>(20 * secs) + 2);
  EXPECT_GE(flood_delivered, 100);
  // Dropped and counted for the flooder only: rate + size == what it sent minus what got through.
  auto line = st.substr(st.find("top_dropped.1: "));
  line = line.substr(0, line.find('\n'));
  unsigned long long rate = 0, size = 0;
  ASSERT_EQ(std::sscanf(line.c_str(), ("top_dropped.1: " + flooder + " rate=%llu size=%llu").c_str(), &rate, &size), 2) << line;
  EXPECT_EQ(size, 1u);
  EXPECT_EQ(static_cast<int>(rate + size), flood_sent - flood_delivered) << st;
  EXPECT_EQ(st.find("top_dropped.2: "), std::string::npos) << st;  // nobody else lost anything
  std::printf("FIGURE flood: flooder sent %d (%d meters QoS 0, %d alarms QoS 1, 1 of 9,000 bytes, 1 heartbeat) in "
              "%.2f s; %d delivered, %llu dropped over the rate, %llu over the size; 5 well-behaved chargers: %d sent, "
              "%d delivered\n",
              flood_sent, flood_meters, flood_alarms, secs, flood_delivered, rate, size, good_sent,
              received[good[0]] + received[good[1]] + received[good[2]] + received[good[3]] + received[good[4]]);
}

TEST_F(Flood, APacketOverTheBrokersMaxPacketSizeCostsItsSenderTheConnection) {
  auto t = add_charger("861234567890123");
  start_broker();
  // MQTT 3.1.1: a v5 client is told the limit in CONNACK and libmosquitto would not even send it.
  auto c = connect(charger("861234567890123", t.password(), 4));
  ASSERT_EQ(c->connack(), 0);
  c->publish_nowait("chg/v1/861234567890123/up/meter", std::string(17 * 1024 * 1024, 'x'), 0);
  EXPECT_TRUE(c->wait_disconnect(10s));
  // and the charger comes back with its own credentials
  EXPECT_TRUE(can_login(charger("861234567890123", t.password())));
}
