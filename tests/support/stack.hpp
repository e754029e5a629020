// The ChargeHub stack as real processes for integration tests: Mosquitto with our plugin, the core
// (with its HTTP API) on a temporary database, and optionally the edge bridge and simulated chargers.
// Every port is free and every file lives in the test's TempDir, so tests run in parallel.
//
//   Stack s(dir);                       // broker + core
//   auto dev = s.api("POST", "/devices", {{"id","861234567890123"}});
//   s.start_bridge();
//   s.start_sim("861234567890123", dev.body.at("token_hex").as_string());
#pragma once
#include <boost/json.hpp>
#include <memory>
#include <string>
#include <vector>

#include "broker.hpp"
#include "testsupport.hpp"

namespace chargehub::testing {

struct ApiReply {
  int status = 0;
  boost::json::value body;   // null when the body was not JSON
  std::string retry_after;    // the Retry-After header, when sent
  const boost::json::object& obj() const;   // throws unless an object
  std::string code() const;                 // the "error" code, or ""
};

// The core's database: an SQLite file in the test's directory, or a fresh database on the test run's
// PostgreSQL (tests/support/pg.hpp).
enum class Database { Sqlite, Postgres };
std::string database_name(Database d);   // "sqlite" | "postgresql", for test names

class Stack {
 public:
  // `broker_log_types`: see BrokerOptions::log_types (benchmarks pass the production set).
  explicit Stack(const TempDir& dir, std::vector<std::string> core_args = {},
                 std::vector<std::string> broker_log_types = {"all"}, Database database = Database::Sqlite);
  ~Stack();

  // HTTP to the core's API (/api/v1 + path), with the test's API key unless `key` is given.
  ApiReply api(const std::string& method, const std::string& path, const boost::json::value& body = nullptr,
               const std::string& key = "") const;
  ApiReply api_raw(const std::string& method, const std::string& path, const std::string& body,
                   const std::string& content_type, const std::string& key) const;
  // As api(), with any bearer credential ("" sends none) and, behind a --trusted-proxy 127.0.0.1, a
  // client address in X-Forwarded-For ("" sends none). A POST, PUT or PATCH without a body sends {}.
  ApiReply call(const std::string& method, const std::string& path, const std::string& bearer,
                const boost::json::value& body = nullptr, const std::string& forwarded_for = "") const;

  void start_core();
  void stop_core(int sig = 15);   // 9 = crash
  void start_bridge(std::vector<std::string> extra = {});
  void stop_bridge();
  // A simulated charger (firmware-sim) over TCP to the bridge.
  Process& start_sim(const std::string& device, const std::string& token_hex, std::vector<std::string> extra = {});

  Broker& broker() { return *broker_; }
  int http_port() const { return http_port_; }
  int core_pid() const { return core_ ? core_->pid() : -1; }
  int bridge_port() const { return bridge_port_; }
  const std::string& api_key() const { return api_key_; }
  const std::string& core_secret() const { return secrets_.at("core"); }
  fs::path db() const { return dir_.path() / "core.db"; }   // the SQLite file (Database::Sqlite)
  const std::string& db_url() const { return db_url_; }      // what the core is given as --db
  Database database() const { return database_; }
  std::string core_log() const { return read_file(dir_.path() / "core.log"); }
  std::string bridge_log() const { return read_file(dir_.path() / "bridge.log"); }
  std::string sim_log(size_t i = 0) const { return read_file(dir_.path() / ("sim" + std::to_string(i) + ".log")); }

 private:
  ApiReply request(const std::string& method, const std::string& path, const std::string& body, const std::string& content_type,
                   const std::string& key, const std::string& forwarded_for) const;
  const TempDir& dir_;
  std::vector<std::string> core_args_;
  std::map<std::string, std::string> secrets_;
  std::unique_ptr<Broker> broker_;
  std::unique_ptr<Process> core_, bridge_;
  std::vector<std::unique_ptr<Process>> sims_;
  int http_port_ = 0, bridge_port_ = 0;
  std::string api_key_;
  Database database_;
  std::string db_url_;
};

}  // namespace chargehub::testing
