// A real Mosquitto broker loading our plugin (build/lib/chargehub_auth.so), for integration tests.
//
//   TempDir dir;
//   auto secrets = make_services_file(dir / "services", {{"core", "core"}, {"bridge-a", "bridge"}});
//   Broker broker(dir, {{}, dir / "services", "plugin_opt_poll_ms 50\n"});
//   // connect to 127.0.0.1:broker.port() as user "core", client id "core-1", password secrets["core"];
//   // the plugin learns devices from a core: it asks on auth_control::kSnapshotRequestTopic and takes
//   // snapshots and pushes on $CONTROL/chargehub-auth/v1 (domain/include/chargehub/auth_control.hpp)
//
// The broker listens on 127.0.0.1:<free port>, allow_anonymous false, per_listener_settings false,
// persistence false, logs everything to broker.log(); the plugin's status file is status_file() and its
// auth cache file auth_cache_file() (kept across restarts of a Broker in the same dir). Like the example
// configuration it sets max_packet_size 16 MiB and keeps the plugin's 8 KiB payload limit per charger;
// unlike it, no per-device rate limit (tests compress time): set plugin_opt_limit_rate_per_s in extra_conf.
#pragma once
#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "testsupport.hpp"

namespace chargehub::testing {

struct BrokerOptions {
  std::filesystem::path services;  // plugin_opt_services
  std::string extra_conf;          // appended after the plugin lines: plugin_opt_* lines apply to it
  std::filesystem::path plugin = {};  // empty: the plugin built by this tree (plugin_path())
  // Mosquitto's log_type lines. Tests log everything (a failing test's broker log shows each packet);
  // benchmarks log as a production broker does (examples/mosquitto/mosquitto.conf), because logging
  // every PUBLISH costs the broker a file write per message.
  std::vector<std::string> log_types = {"all"};
  // plugin_opt_auth_cache_file; empty: <dir>/chargehub-auth.cache
  std::filesystem::path auth_cache_file = {};
};

class Broker {
 public:
  // Starts mosquitto and waits until its port accepts connections (throws if it does not start).
  // `env` is added to mosquitto's environment (e.g. LD_PRELOAD for a sanitizer run).
  Broker(const TempDir& dir, BrokerOptions opts, std::map<std::string, std::string> env = {});
  ~Broker();
  Broker(const Broker&) = delete;
  Broker& operator=(const Broker&) = delete;

  int port() const { return port_; }
  // Publishes one message at QoS 1 as the given account (mosquitto_pub), returning once the broker has
  // acknowledged it; throws if it was refused. Tests and benches seed the plugin's credentials this way,
  // as a core does: a credentials snapshot on $CONTROL/chargehub-auth/v1 (domain/auth_control.hpp).
  void publish_as(const std::string& username, const std::string& secret, const std::string& topic,
                  const std::string& payload) const;
  const fs::path& log() const { return log_; }
  const fs::path& conf() const { return conf_; }
  const fs::path& status_file() const { return status_; }
  const fs::path& auth_cache_file() const { return auth_cache_; }
  int pid() const { return process_->pid(); }
  bool running() { return process_->running(); }
  // SIGTERM and wait; returns mosquitto's exit status. Safe to call twice.
  int stop();
  // True once the broker log contains `needle` (polled).
  bool wait_for_log(const std::string& needle,
                    std::chrono::milliseconds timeout = std::chrono::seconds(5)) const;
  std::string log_text() const { return read_file(log_); }

  // Path of the plugin built by this tree.
  static fs::path plugin_path();

 private:
  int port_ = 0;
  fs::path conf_, log_, status_, auth_cache_;
  std::unique_ptr<Process> process_;
};

// Writes a services file with a fresh secret per account via the chargehub-passwd tool
// (build/bin/chargehub-passwd); returns username -> secret. accounts: {username, role}.
std::map<std::string, std::string> make_services_file(
    const fs::path& path, const std::vector<std::pair<std::string, std::string>>& accounts);

}  // namespace chargehub::testing
