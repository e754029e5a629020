// Integration test helpers: an MQTT client on libmosquitto (not our code), a raw CONNECT for hostile
// bytes, command-line clients, a test "core" that serves device credentials to the plugin the way the
// real core does (answers snapshot requests, pushes changes with their revision), and a fixture with a
// services file, that core and a broker with the plugin.
#pragma once
#include <mosquitto.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "broker.hpp"
#include "chargehub/auth_control.hpp"
#include "test_keys.hpp"
#include "testsupport.hpp"

namespace chargehub::plugintest {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using chargehub::testing::Broker;
using chargehub::testing::TempDir;

// One MQTT connection (libmosquitto with its own network thread). Protocol 4 = 3.1.1, 5 = v5.
class Mqtt {
 public:
  struct Options {
    std::string client_id, username, password;
    int protocol = 5;
    std::string will_topic, will_payload;
    std::string bind_address;  // source address, e.g. 127.0.0.2
    // Called on libmosquitto's thread for every message (before it is stored); may publish_nowait().
    std::function<void(const std::string& topic, const std::string& payload)> on_message;
    // Subscribed from the connect callback (so also after a reconnect), before anything else is read.
    std::vector<std::string> subscribe_on_connect;
  };
  Mqtt(int port, Options o);
  ~Mqtt();
  // The CONNACK code (0 = accepted; 5 / 135 = not authorised), or -1 if none came (connection dropped).
  int connack() const { return connack_; }
  bool connected() const { return connack_ == 0 && !disconnected_; }
  // SUBACK granted QoS / reason (0x80 or 0x87 = refused), or -1 on timeout.
  int subscribe(const std::string& filter, int qos = 1);
  // Publishes; for QoS 1 waits for PUBACK and returns its reason code (v5: 0x87 = not authorised;
  // 3.1.1 has none: always 0), -1 on timeout. QoS 0 returns the send result (0).
  int publish(const std::string& topic, const std::string& payload, int qos = 1, bool retain = false);
  // Publishes without waiting for anything (safe inside on_message). 0 when queued.
  int publish_nowait(const std::string& topic, const std::string& payload, int qos = 1);
  // Waits until the subscribe_on_connect subscriptions are acknowledged.
  bool wait_subscribed(std::chrono::milliseconds t = 3s);
  // Waits for a message on `topic` (exact) and returns its payload.
  std::optional<std::string> wait_message(const std::string& topic, std::chrono::milliseconds t = 3s);
  bool received(const std::string& topic);  // without waiting
  std::size_t message_count();
  // Waits until the broker closed the connection; returns the time it happened.
  std::optional<std::chrono::steady_clock::time_point> wait_disconnect(std::chrono::milliseconds t = 3s);

 private:
  static void on_connect(mosquitto*, void*, int, int, const mosquitto_property*);
  static void on_disconnect(mosquitto*, void*, int, const mosquitto_property*);
  static void on_subscribe(mosquitto*, void*, int, int, const int*, const mosquitto_property*);
  static void on_publish(mosquitto*, void*, int, int, const mosquitto_property*);
  static void on_message(mosquitto*, void*, const mosquitto_message*, const mosquitto_property*);

  mosquitto* m_ = nullptr;
  std::mutex mu_;
  std::condition_variable cv_;
  std::atomic<int> connack_{-1};
  std::atomic<bool> disconnected_{false};
  std::optional<std::chrono::steady_clock::time_point> disconnect_at_;
  std::map<int, int> suback_, puback_;
  Options opts_;
  std::atomic<int> on_connect_subs_{0};
  std::vector<std::pair<std::string, std::string>> messages_;
};

// Sends one MQTT 3.1.1 CONNECT with arbitrary bytes and returns the CONNACK code, or -1 when the
// broker closes the connection without one.
int raw_connect(int port, const std::string& client_id, const std::optional<std::string>& username,
                const std::optional<std::string>& password, const std::string& bind_address = "");

// Runs a command-line client (mosquitto_pub, ...) to completion; returns its exit status.
int run_tool(const std::vector<std::string>& argv, const fs::path& log);

// What the core's database says about devices, and its credential revision (auth_state.rev).
// Thread-safe: the test changes it while TestCore answers snapshot requests on libmosquitto's thread.
class CoreDb {
 public:
  // Each change bumps the revision and returns it (the "rev" of the push).
  std::int64_t put(auth_control::DeviceCredentials d);
  std::int64_t disable(const std::string& id);
  std::int64_t remove(const std::string& id);  // deleted: left out of snapshots
  std::optional<auth_control::DeviceCredentials> get(const std::string& id);
  auth_control::Snapshot snapshot();
  std::int64_t rev();

 private:
  std::mutex mu_;
  std::map<std::string, auth_control::DeviceCredentials> devices_;
  std::int64_t rev_ = 1;
};

// A core as the plugin sees it: the service account "core" (client id core-auth-<n>), subscribed to the
// snapshot request topic (through $share/<group>/ when given), answering each request with a snapshot
// of `db`; with `announce`, it also sends one when it connects (as the real core should).
class TestCore {
 public:
  TestCore(int port, const std::string& secret, CoreDb& db, bool announce = true, const std::string& share_group = "",
           const std::string& client_id = "core-auth");
  bool connected() const { return mqtt_->connected(); }
  std::size_t requests_answered() const { return answered_; }
  std::vector<auth_control::SnapshotRequest> requests();
  // Sends commands on $CONTROL (QoS 1, waits for the PUBACK).
  int send(const auth_control::Request& r);
  int send_snapshot() { return send_snapshot(db_.snapshot()); }
  int send_snapshot(const auth_control::Snapshot& s);

 private:
  CoreDb& db_;
  std::mutex mu_;
  std::vector<auth_control::SnapshotRequest> requests_;
  std::atomic<std::size_t> answered_{0};
  std::unique_ptr<Mqtt> mqtt_;
};

// A temp dir, service accounts core/bridge-a/grafana, a CoreDb, and a broker with the plugin (its auth
// cache file in the temp dir) with a TestCore serving that CoreDb.
class PluginTest : public ::testing::Test {
 protected:
  void SetUp() override;
  // Starts the broker and (unless with_core is false) the test core, and waits until the plugin has
  // applied the core's snapshot.
  void start_broker(const std::string& extra_conf = "", bool with_core = true);
  void start_core(bool announce = true);
  // Waits until the broker log shows the n-th snapshot applied.
  bool wait_for_snapshot(std::size_t n = 1, std::chrono::milliseconds t = 5s);

  // Adds or updates a charger in the core's DB and, when the core runs, pushes set_device with the new
  // revision (as the core does after committing).
  void put_device(const std::string& id, const std::optional<std::string>& token_hash,
                  const std::optional<std::string>& pubkey = std::nullopt, bool enabled = true);
  void put_device(const auth_control::DeviceCredentials& d);
  void disable_device(const std::string& id);  // DB + disable_device push
  void delete_device(const std::string& id);   // DB + delete_device push
  // A charger with a fresh token; returns the token.
  testkeys::Token add_charger(const std::string& id);

  Mqtt::Options charger(const std::string& id, const std::string& password, int protocol = 5) {
    return {id, id, password, protocol, "", "", "", {}, {}};
  }
  Mqtt::Options core(int protocol = 5) { return {"core-1", "core", secrets["core"], protocol, "", "", "", {}, {}}; }
  Mqtt::Options bridge() { return {"bridge-a", "bridge-a", secrets["bridge-a"], 5, "", "", "", {}, {}}; }
  Mqtt::Options monitor() { return {"grafana-1", "grafana", secrets["grafana"], 5, "", "", "", {}, {}}; }
  std::unique_ptr<Mqtt> connect(Mqtt::Options o) { return std::make_unique<Mqtt>(broker->port(), std::move(o)); }
  bool can_login(Mqtt::Options o) { return Mqtt(broker->port(), std::move(o)).connack() == 0; }
  std::string status() { return testing::read_file(broker->status_file()); }

  std::unique_ptr<TempDir> dir;
  fs::path services, auth_cache;
  std::map<std::string, std::string> secrets;
  CoreDb db;
  std::unique_ptr<TestCore> test_core;
  std::unique_ptr<Broker> broker;
  std::map<std::string, std::string> broker_env;  // e.g. LD_PRELOAD for the ASan run
  fs::path plugin;                                 // empty: the plugin built by this tree
};

}  // namespace chargehub::plugintest
