// The core's MQTT adapter against a real Mosquitto with our plugin: messages reach the handler in
// batches, and under overload QoS 0 telemetry is shed and counted while no QoS 1 message is dropped,
// with the handler publishing as the service does (the network thread never waits for the worker);
// shedding is fair per device (a flooding device loses its own telemetry); the link reconnects and
// subscribes again when the broker drops it.
#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <set>

#include "broker.hpp"
#include "chargehub/auth_control.hpp"
#include "chargehub/credentials.hpp"
#include "chargehub/frame.hpp"
#include "mqtt_link.hpp"
#include "app/app.hpp"
#include "db/db.hpp"
#include "testsupport.hpp"

using namespace chargehub;
using namespace chargehub::core;
using namespace chargehub::testing;

namespace {

// A charger's MQTT credentials as the admin API issues them: password "tok:<base64>", hash stored.
struct Creds {
  std::string password, hash;
};
Creds charger_creds() {
  unsigned char tok[24];
  for (int i = 0; i < 24; ++i) tok[i] = static_cast<unsigned char>(i * 7 + 1);
  unsigned char md[32];
  unsigned int len = 0;
  EVP_Digest(tok, sizeof tok, md, &len, EVP_sha256(), nullptr);
  return {credentials::token_password(std::span<const uint8_t>(tok, sizeof tok)), proto::to_hex(std::span<const uint8_t>(md, len))};
}

struct Fixture {
  TempDir dir{"mqtt-link"};
  std::string device = "861234567890123";
  std::string quiet = "861234567890124";   // a second, well-behaved device
  Creds creds = charger_creds();
  std::map<std::string, std::string> secrets;
  std::unique_ptr<sql::Db> db;
  std::unique_ptr<App> app;
  std::unique_ptr<Broker> broker;

  Fixture() {
    db = sql::open((dir / "core.db").string());
    app = std::make_unique<App>(*db);
    app->devices.create(NewDevice{device, "", 10, 1, creds.hash, {}}, 1);
    app->devices.create(NewDevice{quiet, "", 10, 1, creds.hash, {}}, 1);
    secrets = make_services_file(dir / "services", {{"core", "core"}});
    broker = std::make_unique<Broker>(dir, BrokerOptions{dir / "services", "plugin_opt_poll_ms 100\n"});
    // The devices' credentials reach the plugin as a core sends them: a snapshot over $CONTROL.
    auto c = app->devices.credentials();
    auth_control::Snapshot snap{c.rev, {}};
    for (auto& d : c.devices) snap.devices.push_back({d.id, d.token_hash, std::nullopt, 0, std::nullopt, d.enabled});
    broker->publish_as("core", secrets.at("core"), std::string(auth_control::kControlTopic), auth_control::snapshot_json(snap));
  }
  // Publishes one message per line as the charger (mosquitto_pub -l), at the given QoS.
  void publish_lines(const std::string& sub_topic, const std::vector<std::string>& lines, int qos) {
    publish_lines_as(device, sub_topic, lines, qos);
  }
  void publish_lines_as(const std::string& device, const std::string& sub_topic, const std::vector<std::string>& lines,
                        int qos) {
    std::string input;
    for (auto& l : lines) input += l + "\n";
    write_file(dir / "lines.txt", input);
    std::string cmd = "mosquitto_pub -h 127.0.0.1 -p " + std::to_string(broker->port()) + " -i " + device + " -u " +
                      device + " -P '" + creds.password + "' -q " + std::to_string(qos) + " -t chg/v1/" + device +
                      "/up/" + sub_topic + " -l < " + (dir / "lines.txt").string() + " 2>&1";
    ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  }
};

}  // namespace

TEST(MqttLink, DeliversInBatchesAndShedsOnlyQos0WhenTheQueueIsFullWithoutStallingPublishes) {
  Fixture f;
  std::mutex mu;
  std::condition_variable cv;
  bool connected = false, released = false;
  std::vector<std::pair<std::string, std::string>> got;
  size_t largest_batch = 0;
  MqttConfig cfg;
  cfg.uri = "tcp://127.0.0.1:" + std::to_string(f.broker->port());
  cfg.client_id = "core-test";
  cfg.password = f.secrets.at("core");
  cfg.max_queue = 20;
  cfg.max_batch = 5;
  MqttLink* self = nullptr;
  size_t published = 0;
  MqttLink link(
      cfg,
      [&](const MqttLink::Batch& batch) {
        std::unique_lock lock(mu);
        // The store is "slow": the first batch waits until the test releases it.
        cv.wait(lock, [&] { return released; });
        // As the service does (acks, commands): publishing from the worker while Paho's receive thread
        // may be waiting for room must not deadlock.
        published += self->publish("chg/v1/" + f.device + "/down/ack", R"({"msg":"x","result":0})", 1, false);
        got.insert(got.end(), batch.begin(), batch.end());
        largest_batch = std::max(largest_batch, batch.size());
        cv.notify_all();
      },
      [&] {
        std::lock_guard lock(mu);
        connected = true;
        cv.notify_all();
      });
  self = &link;
  link.start();
  {
    std::unique_lock lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(20), [&] { return connected; }));
  }
  // The subscription is made on connect without waiting for it: wait until a probe message arrives.
  ASSERT_TRUE(wait_until(
      [&] {
        f.publish_lines("meter", {"probe"}, 1);
        return link.waiting() > 0;
      },
      std::chrono::seconds(10)));
  size_t probes = link.waiting();

  std::vector<std::string> telemetry, reports;
  for (int i = 0; i < 100; ++i) telemetry.push_back("t" + std::to_string(i));
  for (int i = 0; i < 10; ++i) reports.push_back("r" + std::to_string(i));
  f.publish_lines("meter", telemetry, 0);
  // The handler holds one batch; the queue fills to max_queue and the rest of the QoS 0 burst is shed.
  ASSERT_TRUE(wait_until([&] { return link.shed() > 0 && link.waiting() == cfg.max_queue; }, std::chrono::seconds(10)))
      << "waiting " << link.waiting() << ", shed " << link.shed();
  // QoS 1 reports arrive while the queue is full: they are queued past the limit, never shed.
  uint64_t shed_before_reports = link.shed();
  f.publish_lines("session_end", reports, 1);
  EXPECT_TRUE(wait_until([&] { return link.waiting() == cfg.max_queue + reports.size(); }, std::chrono::seconds(10)))
      << "waiting " << link.waiting();
  EXPECT_EQ(link.shed(), shed_before_reports);
  {
    std::lock_guard lock(mu);
    released = true;
    cv.notify_all();
  }
  {
    std::unique_lock lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(20), [&] {
      return std::count_if(got.begin(), got.end(), [](auto& m) { return m.second[0] == 'r'; }) == 10;
    })) << "reports received: " << std::count_if(got.begin(), got.end(), [](auto& m) { return m.second[0] == 'r'; });
  }
  link.stop();

  std::set<std::string> t_seen, r_seen;
  for (auto& [topic, payload] : got) {
    if (payload[0] == 't') {
      EXPECT_EQ(topic, "chg/v1/" + f.device + "/up/meter");
      t_seen.insert(payload);
    }
    if (payload[0] == 'r') {
      EXPECT_EQ(topic, "chg/v1/" + f.device + "/up/session_end");
      r_seen.insert(payload);
    }
  }
  EXPECT_EQ(r_seen.size(), 10u);   // every QoS 1 report, once each
  // Every telemetry message was either handed to the handler or shed and counted; none vanished.
  EXPECT_EQ(t_seen.size() + link.shed(), 100u);
  EXPECT_GT(link.shed(), 50u);
  EXPECT_LE(largest_batch, cfg.max_batch);
  EXPECT_GE(got.size(), probes + t_seen.size() + 10);
  EXPECT_GT(published, 0u);
  // One device, so all of it is that device's.
  auto top = link.top_shed(10);
  ASSERT_EQ(top.size(), 1u);
  EXPECT_EQ(top[0].device, f.device);
  EXPECT_EQ(top[0].shed, link.shed());
  EXPECT_EQ(link.received(), got.size() + link.shed());
}

namespace {
// The names of this process's threads (/proc/self/task/*/comm).
std::multiset<std::string> thread_names() {
  std::multiset<std::string> names;
  for (auto& t : std::filesystem::directory_iterator("/proc/self/task")) {
    std::ifstream comm(t.path() / "comm");
    std::string n;
    std::getline(comm, n);
    names.insert(n);
  }
  return names;
}
}  // namespace

TEST(MqttLink, AFloodingDeviceLosesItsOwnTelemetryWhileAQuietDeviceKeepsAllOfIts) {
  Fixture f;
  std::mutex mu;
  std::condition_variable cv;
  bool released = false;
  std::vector<std::pair<std::string, std::string>> got;
  MqttConfig cfg;
  cfg.uri = "tcp://127.0.0.1:" + std::to_string(f.broker->port());
  cfg.client_id = "core-test";
  cfg.password = f.secrets.at("core");
  cfg.max_queue = 20;
  cfg.max_batch = 5;
  MqttLink link(
      cfg,
      [&](const MqttLink::Batch& batch) {
        std::unique_lock lock(mu);
        cv.wait(lock, [&] { return released; });
        got.insert(got.end(), batch.begin(), batch.end());
        cv.notify_all();
      },
      [] {});
  link.start();
  ASSERT_TRUE(wait_until(
      [&] {
        f.publish_lines("meter", {"probe"}, 1);
        return link.waiting() > 0;
      },
      std::chrono::seconds(20)));
  // The link's threads carry names (set as they start), so that benches can tell where the core's
  // time goes.
  auto names = thread_names();
  EXPECT_EQ(names.count("mqtt-rx"), 1u);
  EXPECT_EQ(names.count("mqtt-worker"), 1u);

  // The flooding device fills the queue and loses the rest of its burst.
  std::vector<std::string> flood;
  for (int i = 0; i < 100; ++i) flood.push_back("f" + std::to_string(i));
  f.publish_lines("meter", flood, 0);
  ASSERT_TRUE(wait_until([&] { return link.shed() > 0 && link.waiting() == cfg.max_queue; }, std::chrono::seconds(10)))
      << "waiting " << link.waiting() << ", shed " << link.shed();
  uint64_t flood_shed = link.shed();
  // The quiet device's telemetry arrives while the queue is full: it holds nothing, so none is shed.
  std::vector<std::string> calm;
  for (int i = 0; i < 5; ++i) calm.push_back("q" + std::to_string(i));
  f.publish_lines_as(f.quiet, "heartbeat", calm, 0);
  EXPECT_TRUE(wait_until([&] { return link.waiting() == cfg.max_queue + calm.size(); }, std::chrono::seconds(10)))
      << "waiting " << link.waiting();
  EXPECT_EQ(link.shed(), flood_shed);
  // ...while the flooder, over its share, still loses what it sends.
  f.publish_lines("meter", {"late"}, 0);
  EXPECT_TRUE(wait_until([&] { return link.shed() == flood_shed + 1; }, std::chrono::seconds(10)));
  auto top = link.top_shed(10);
  ASSERT_EQ(top.size(), 1u);
  EXPECT_EQ(top[0].device, f.device);
  EXPECT_EQ(top[0].shed, link.shed());

  {
    std::lock_guard lock(mu);
    released = true;
    cv.notify_all();
  }
  {
    std::unique_lock lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(20), [&] {
      return std::count_if(got.begin(), got.end(), [](auto& m) { return m.second[0] == 'q'; }) == 5;
    }));
  }
  auto cpu = link.thread_cpu();
  EXPECT_GT(cpu.receive_s + cpu.worker_s, 0.0);
  link.stop();
  size_t floods = std::count_if(got.begin(), got.end(), [](auto& m) { return m.second[0] == 'f' || m.second == "late"; });
  EXPECT_EQ(floods + link.shed(), 101u);
  for (auto& [topic, payload] : got) {
    if (payload[0] == 'q') {
      EXPECT_EQ(topic, "chg/v1/" + f.quiet + "/up/heartbeat");
    }
  }
}

TEST(MqttLink, ReconnectsAndSubscribesAgainWhenTheBrokerDropsItsConnection) {
  Fixture f;
  std::mutex mu;
  std::condition_variable cv;
  int connects = 0;
  std::vector<std::string> got;
  MqttConfig cfg;
  cfg.uri = "tcp://127.0.0.1:" + std::to_string(f.broker->port());
  cfg.client_id = "core-test";
  cfg.password = f.secrets.at("core");
  MqttLink link(
      cfg,
      [&](const MqttLink::Batch& batch) {
        std::lock_guard lock(mu);
        for (auto& m : batch) got.push_back(m.second);
        cv.notify_all();
      },
      [&] {
        std::lock_guard lock(mu);
        ++connects;
        cv.notify_all();
      });
  link.start();
  auto received = [&](const std::string& payload) {
    std::lock_guard lock(mu);
    return std::find(got.begin(), got.end(), payload) != got.end();
  };
  ASSERT_TRUE(wait_until(
      [&] {
        f.publish_lines("alarm", {"before"}, 1);
        return received("before");
      },
      std::chrono::seconds(20)));
  // Another client takes the core's client id with a clean session: the broker drops the link and
  // forgets its subscriptions. The link connects again (taking its id back) and subscribes again.
  std::string cmd = "mosquitto_sub -h 127.0.0.1 -p " + std::to_string(f.broker->port()) +
                    " -i core-test -u core -P '" + f.secrets.at("core") + "' -t chg/v1/+/status -W 1 >/dev/null 2>&1";
  EXPECT_NE(std::system(cmd.c_str()), -1);
  {
    std::unique_lock lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(20), [&] { return connects >= 2; })) << connects;
  }
  ASSERT_TRUE(wait_until(
      [&] {
        f.publish_lines("alarm", {"after"}, 1);
        return received("after");
      },
      std::chrono::seconds(20)));
  EXPECT_TRUE(link.connected());
  link.stop();
  EXPECT_FALSE(link.connected());
}

TEST(MqttLink, StaysConnectedWhileItOnlyReceives) {
  // The broker drops a client it has heard nothing from for 1.5 keepalive intervals, however much it
  // sends to it: the link must ping while it only receives QoS 0 telemetry (nothing to acknowledge).
  Fixture f;
  std::atomic<int> connects{0};
  std::atomic<size_t> got{0};
  MqttConfig cfg;
  cfg.uri = "tcp://127.0.0.1:" + std::to_string(f.broker->port());
  cfg.client_id = "core-test";
  cfg.password = f.secrets.at("core");
  cfg.keepalive_s = 2;
  MqttLink link(cfg, [&](const MqttLink::Batch& b) { got += b.size(); }, [&] { ++connects; });
  link.start();
  ASSERT_TRUE(wait_until(
      [&] {
        f.publish_lines("meter", {"probe"}, 1);
        return got > 0;
      },
      std::chrono::seconds(20)));
  // Telemetry for well over 1.5 intervals (the broker checks once a second), a message at a time.
  auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(6500);
  while (std::chrono::steady_clock::now() < until) {
    f.publish_lines("meter", {"t"}, 0);
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_TRUE(link.connected());
  EXPECT_EQ(connects, 1);
  EXPECT_FALSE(f.broker->log_text().find("core-test has exceeded timeout") != std::string::npos);
  link.stop();
}

TEST(MqttLink, ADeviceOverItsRateLosesTheExcessOfItsTelemetryWhateverTheLoad) {
  Fixture f;
  std::mutex mu;
  std::vector<std::pair<std::string, std::string>> got;
  MqttConfig cfg;
  cfg.uri = "tcp://127.0.0.1:" + std::to_string(f.broker->port());
  cfg.client_id = "core-test";
  cfg.password = f.secrets.at("core");
  cfg.device_rate = 0.01;   // one message per 100 s after a burst of 5: nothing refills during the test
  cfg.device_burst = 5;
  MqttLink link(
      cfg,
      [&](const MqttLink::Batch& b) {
        std::lock_guard lock(mu);
        got.insert(got.end(), b.begin(), b.end());
      },
      [] {});
  link.start();
  // QoS 1 is never limited: the probes all arrive.
  ASSERT_TRUE(wait_until(
      [&] {
        f.publish_lines("alarm", {"probe"}, 1);
        return link.received() > 0;
      },
      std::chrono::seconds(20)));
  std::vector<std::string> flood, calm;
  for (int i = 0; i < 50; ++i) flood.push_back("f" + std::to_string(i));
  for (int i = 0; i < 3; ++i) calm.push_back("q" + std::to_string(i));
  f.publish_lines("meter", flood, 0);
  f.publish_lines_as(f.quiet, "heartbeat", calm, 0);
  size_t floods = 0, calms = 0;
  auto count = [&] {
    std::lock_guard lock(mu);
    floods = calms = 0;
    for (auto& [topic, payload] : got) {
      floods += payload[0] == 'f';
      calms += payload[0] == 'q';
    }
    return floods + calms + link.shed();
  };
  // Every message is either delivered or shed and counted.
  EXPECT_TRUE(wait_until([&] { return count() == 53; }, std::chrono::seconds(10))) << count();
  link.stop();
  EXPECT_EQ(floods, 5u);   // its burst
  EXPECT_EQ(calms, 3u);    // the quiet device is under its rate
  EXPECT_EQ(link.shed(), 45u);
  auto top = link.top_shed(10);
  ASSERT_EQ(top.size(), 1u);
  EXPECT_EQ(top[0].device, f.device);
  EXPECT_EQ(top[0].shed, 45u);
}
