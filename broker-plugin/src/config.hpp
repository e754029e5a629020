// The plugin's options (plugin_opt_<name> lines in mosquitto.conf), parsed and checked.
// An unknown option or a bad value is an error: the broker then refuses to start, so a typo in a
// security setting cannot go unnoticed.
#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "limits.hpp"
#include "throttle.hpp"

namespace chargehub::auth {

struct Config {
  std::string auth_cache_file;     // auth_cache_file: the last known device table (hashes only)
  std::int64_t auth_snapshot_interval = 300;  // auth_snapshot_interval: s between snapshot requests
  std::string services;            // services: service accounts file
  std::string status_file;         // status_file: plain-text status, rewritten periodically
  std::string metrics_file;        // metrics_file: the counters in the Prometheus text format, rewritten with the status
  std::int64_t ed25519_window_s = 300;   // ed25519_window_s
  std::int64_t poll_ms = 250;            // poll_ms: services file check interval
  std::int64_t status_interval_s = 10;   // status_interval_s
  std::int64_t stats_log_s = 300;        // stats_log_s: counters to the broker log (0 = never)
  ThrottlePolicy user_throttle{5, 1000, 60000, 600, 100000};   // throttle_user_free, throttle_*
  ThrottlePolicy addr_throttle{50, 1000, 60000, 600, 100000};  // throttle_addr_free, throttle_*
  std::vector<std::string> addr_exempt;  // throttle_addr_exempt: the edge bridges' addresses, comma-separated
  LimitPolicy limits;                    // limit_max_payload, limit_rate_per_s, limit_burst (limits.hpp)
};

struct ConfigResult {
  Config config;
  std::vector<std::string> errors;
};

ConfigResult parse_config(const std::vector<std::pair<std::string, std::string>>& options);

}  // namespace chargehub::auth
