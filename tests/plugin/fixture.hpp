// Integration test helpers: an MQTT client on libmosquitto (not our code), a raw CONNECT for hostile
// bytes, command-line clients, and a fixture with a DB, a services file and a broker with the plugin.
#pragma once
#include <mosquitto.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "broker.hpp"
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
  std::vector<std::pair<std::string, std::string>> messages_;
};

// Sends one MQTT 3.1.1 CONNECT with arbitrary bytes and returns the CONNACK code, or -1 when the
// broker closes the connection without one.
int raw_connect(int port, const std::string& client_id, const std::optional<std::string>& username,
                const std::optional<std::string>& password, const std::string& bind_address = "");

// Runs a command-line client (mosquitto_pub, ...) to completion; returns its exit status.
int run_tool(const std::vector<std::string>& argv, const fs::path& log);

// A temp dir, a core DB with the auth tables, service accounts core/bridge-a/grafana and a broker.
class PluginTest : public ::testing::Test {
 protected:
  void SetUp() override;
  void start_broker(const std::string& extra_conf = "");

  // Adds or updates a charger in the DB and bumps auth_state.rev (as the core does).
  void put_device(const std::string& id, const std::optional<std::string>& token_hash,
                  const std::optional<std::string>& pubkey = std::nullopt, bool enabled = true);
  void sql(const std::string& statement);  // runs SQL and bumps rev in the same transaction
  // A charger with a fresh token; returns the token.
  testkeys::Token add_charger(const std::string& id);

  Mqtt::Options charger(const std::string& id, const std::string& password, int protocol = 5) {
    return {id, id, password, protocol, "", "", ""};
  }
  Mqtt::Options core(int protocol = 5) { return {"core-1", "core", secrets["core"], protocol, "", "", ""}; }
  Mqtt::Options bridge() { return {"bridge-a", "bridge-a", secrets["bridge-a"], 5, "", "", ""}; }
  Mqtt::Options monitor() { return {"grafana-1", "grafana", secrets["grafana"], 5, "", "", ""}; }
  std::unique_ptr<Mqtt> connect(Mqtt::Options o) { return std::make_unique<Mqtt>(broker->port(), std::move(o)); }
  bool can_login(Mqtt::Options o) { return Mqtt(broker->port(), std::move(o)).connack() == 0; }
  std::string status() { return testing::read_file(broker->status_file()); }

  std::unique_ptr<TempDir> dir;
  fs::path db, services;
  std::map<std::string, std::string> secrets;
  std::unique_ptr<Broker> broker;
  std::map<std::string, std::string> broker_env;  // e.g. LD_PRELOAD for the ASan run
};

}  // namespace chargehub::plugintest
