// Counters the plugin keeps: bumped on the broker thread, read by the background thread (status
// file) and by get_stats, hence atomics with relaxed ordering (they are counts, not synchronisation).
#pragma once
#include <array>
#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>

#include "auth.hpp"
#include "identity.hpp"
#include "limits.hpp"

namespace chargehub::auth {

// Where the device table the plugin uses came from.
enum class CredentialsSource { none, cache, snapshot };
std::string_view credentials_source_name(int source);  // "none (no charger can log in)", "cache", "snapshot"

struct Stats {
  std::atomic<std::uint64_t> logins_ok{0};
  std::array<std::atomic<std::uint64_t>, refusal_count> refused{};  // by Refusal; [none] unused
  std::array<std::atomic<std::uint64_t>, role_count> acl_denied{};  // by Role of the client
  std::atomic<std::uint64_t> kicks{0};
  std::atomic<std::uint64_t> control_commands{0};
  std::atomic<std::uint64_t> reloads{0};
  std::atomic<std::uint64_t> snapshot_requests{0};  // published on the snapshot request topic
  std::atomic<std::uint64_t> snapshots{0};          // applied
  std::atomic<std::uint64_t> stale_ignored{0};      // snapshots or pushes older than the table
  std::atomic<std::uint64_t> admitted_while_throttled{0};  // correct credentials admitted on a blocked key
  std::atomic<std::uint64_t> dropped_rate{0};       // charger messages over the per-device rate (limits.hpp)
  std::atomic<std::uint64_t> dropped_size{0};       // charger messages over the size limit
  // Gauges
  std::atomic<std::int64_t> auth_rev{-1};           // revision of the last snapshot applied
  std::atomic<std::int64_t> devices{0};
  std::atomic<std::int64_t> services{0};
  std::atomic<std::int64_t> connections{0};         // clients admitted and still connected
  std::atomic<int> credentials_source{0};           // CredentialsSource

  void bump(std::atomic<std::uint64_t>& c) { c.fetch_add(1, std::memory_order_relaxed); }

  // The devices that lost most messages to the limits, "<id> rate=<n> size=<n>" lines, most first:
  // set by the broker thread once a second, read by the status file writer and get_stats.
  using TopDropped = std::vector<std::pair<std::string, DeviceDrops>>;   // Limits::top()
  void set_top_dropped(TopDropped top) {
    std::lock_guard lock(top_mu_);
    top_dropped_ = std::move(top);
  }
  std::vector<std::string> top_dropped() const;   // the lines above
  TopDropped top_dropped_devices() const {
    std::lock_guard lock(top_mu_);
    return top_dropped_;
  }

 private:
  mutable std::mutex top_mu_;
  TopDropped top_dropped_;
};

// Plain copy of the counters at one moment.
struct StatsSnapshot {
  std::uint64_t logins_ok = 0, logins_refused = 0, throttled = 0, acl_denied_total = 0;
  std::array<std::uint64_t, refusal_count> refused{};
  std::array<std::uint64_t, role_count> acl_denied{};
  std::uint64_t kicks = 0, control_commands = 0, reloads = 0;
  std::uint64_t snapshot_requests = 0, snapshots = 0, stale_ignored = 0;
  std::uint64_t admitted_while_throttled = 0, dropped_rate = 0, dropped_size = 0;
  std::vector<std::string> top_dropped;
  Stats::TopDropped top_dropped_devices;
  std::int64_t auth_rev = -1, devices = 0, services = 0, connections = 0;
  int credentials_source = 0;
};

StatsSnapshot snapshot(const Stats& s);
// {"logins_ok":…,"logins_refused":…,"refused":{"bad_token":…,…},"acl_denied":{"charger":…},…}
boost::json::object stats_json(const StatsSnapshot& s);
// "key: value" lines, as in the status file.
std::string stats_text(const StatsSnapshot& s);
// One line for the broker log.
std::string stats_line(const StatsSnapshot& s);
// The counters in the Prometheus text format (names chargehub_plugin_*, docs/metrics.md), ending with
// kMetricsEnd so that a reader can tell a complete file from a torn one.
inline constexpr std::string_view kMetricsEnd = "# chargehub-auth metrics end\n";
std::string stats_prometheus(const StatsSnapshot& s);
// Writes text to path through path.tmp and a rename, so readers see the old file or the new one whole
// (plugin_opt_status_file, plugin_opt_metrics_file). False when it could not.
bool write_atomically(const std::string& path, const std::string& text);

}  // namespace chargehub::auth
