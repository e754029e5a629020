// A lean fleet of framed chargers for the OTA benchmark: one asio thread, one TCP link per charger to
// the edge bridge. Each logs in with its token, heartbeats with idle ports, answers QUERY_PORTS and any
// other command with result 0, and runs the OTA client of frames.md: checks the offer's signature with
// the platform key, pulls chunks in order (retrying a lost one), checks SHA-256, reports OTA_STATUS 1/2,
// "reboots" (closes the link, logs in again with the new version) and reports 3.
#pragma once
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "chargehub/ota/firmware.hpp"

namespace chargehub::otabench {

struct FleetConfig {
  std::string host = "127.0.0.1";
  int port = 9000;
  std::vector<std::pair<std::string, std::string>> chargers;   // device id, token hex
  firmware::PublicKey key{};
  int connect_per_s = 200;
  int64_t chunk_retry_ms = 3000;
};

struct FleetStats {
  std::atomic<uint64_t> logged_in{0}, offers{0}, chunks{0}, installed{0}, verify_failed{0}, rejected{0}, retries{0};
};

class Fleet {
 public:
  explicit Fleet(FleetConfig cfg);
  ~Fleet();
  void start();
  void stop();
  const FleetStats& stats() const { return stats_; }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  FleetStats stats_;
  std::thread thread_;
};

}  // namespace chargehub::otabench
