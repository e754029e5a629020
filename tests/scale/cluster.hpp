// Several chargehub-core instances on one PostgreSQL database and one Mosquitto with our plugin, each
// with its own --name and HTTP port, all in one --share-group (docs/scale-out.md). For the scale tests
// and the scale benchmark.
//
//   TempDir dir("scale");
//   Cluster c(dir, 3);                          // broker + 3 cores
//   c.api(1, "GET", "/status");                 // the API of instance 1
//   c.kill(c.leader());                         // SIGKILL the one running the housekeeping
//   c.start(i);                                 // and start it again
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "stack.hpp"

namespace chargehub::testing {

class Cluster {
 public:
  // `core_args` are given to every core after the common ones. `broker_log_types` as for Stack.
  Cluster(const TempDir& dir, int cores, std::vector<std::string> core_args = {},
          std::vector<std::string> broker_log_types = {"error", "warning", "notice"}, std::string db_url = "");
  ~Cluster();

  int size() const { return static_cast<int>(ports_.size()); }
  // Starts instance i (it must not run) and waits until its API answers and it is connected to the broker.
  void start(int i);
  void kill(int i);                 // SIGKILL: a crash
  void stop(int i, int sig = 15);   // a clean stop
  bool running(int i) const { return static_cast<bool>(cores_[static_cast<size_t>(i)]); }
  int pid(int i) const;

  // HTTP to instance i's API (/api/v1 + path) with the test's platform key.
  ApiReply api(int i, const std::string& method, const std::string& path, const boost::json::value& body = nullptr) const;
  // The instance whose /status says it leads (-1: none, -2: more than one).
  int leader() const;

  Broker& broker() { return *broker_; }
  int http_port(int i) const { return ports_[static_cast<size_t>(i)]; }
  const std::string& db_url() const { return db_url_; }
  const std::string& api_key() const { return api_key_; }
  std::string log(int i) const;   // instance i's log (all its runs)
  static std::string name(int i) { return "n" + std::to_string(i); }

 private:
  const TempDir& dir_;
  std::vector<std::string> core_args_;
  std::string db_url_, api_key_;
  std::unique_ptr<Broker> broker_;
  std::vector<int> ports_;
  std::vector<std::unique_ptr<Process>> cores_;
  std::vector<int> runs_;
};

}  // namespace chargehub::testing
