// A real Mosquitto broker loading our plugin (build/lib/chargehub_auth.so), for integration tests.
//
//   TempDir dir;
//   create_auth_tables(dir / "core.db");
//   auto secrets = make_services_file(dir / "services", {{"core", "core"}, {"bridge-a", "bridge"}});
//   Broker broker(dir, {dir / "core.db", dir / "services", "plugin_opt_poll_ms 50\n"});
//   // connect to 127.0.0.1:broker.port() as user "core", client id "core-1", password secrets["core"]
//
// The broker listens on 127.0.0.1:<free port>, allow_anonymous false, per_listener_settings false,
// persistence false, logs everything to broker.log(); the plugin's status file is status_file().
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
  std::filesystem::path db;        // plugin_opt_database (may not exist yet; Mosquitto 2.0.11
                                   // refuses the 2-letter spelling plugin_opt_db)
  std::filesystem::path services;  // plugin_opt_services
  std::string extra_conf;          // appended after the plugin lines: plugin_opt_* lines apply to it
  std::filesystem::path plugin = {};  // empty: the plugin built by this tree (plugin_path())
  // Mosquitto's log_type lines. Tests log everything (a failing test's broker log shows each packet);
  // benchmarks log as a production broker does (examples/mosquitto/mosquitto.conf), because logging
  // every PUBLISH costs the broker a file write per message.
  std::vector<std::string> log_types = {"all"};
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
  const fs::path& log() const { return log_; }
  const fs::path& conf() const { return conf_; }
  const fs::path& status_file() const { return status_; }
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
  fs::path conf_, log_, status_;
  std::unique_ptr<Process> process_;
};

// Creates (or adds to) a SQLite DB with the core's `device` and `auth_state` tables (auth_state.rev 1),
// in WAL mode, as the core's migrations do. Uses the sqlite3 program.
void create_auth_tables(const fs::path& db);

// Writes a services file with a fresh secret per account via the chargehub-passwd tool
// (build/bin/chargehub-passwd); returns username -> secret. accounts: {username, role}.
std::map<std::string, std::string> make_services_file(
    const fs::path& path, const std::vector<std::pair<std::string, std::string>>& accounts);

}  // namespace chargehub::testing
