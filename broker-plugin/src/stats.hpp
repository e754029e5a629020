// Counters the plugin keeps: bumped on the broker thread, read by the background thread (status
// file) and by get_stats, hence atomics with relaxed ordering (they are counts, not synchronisation).
#pragma once
#include <array>
#include <atomic>
#include <cstdint>
#include <string>

#include <boost/json/object.hpp>

#include "auth.hpp"
#include "identity.hpp"

namespace chargehub::auth {

struct Stats {
  std::atomic<std::uint64_t> logins_ok{0};
  std::array<std::atomic<std::uint64_t>, refusal_count> refused{};  // by Refusal; [none] unused
  std::array<std::atomic<std::uint64_t>, role_count> acl_denied{};  // by Role of the client
  std::atomic<std::uint64_t> kicks{0};
  std::atomic<std::uint64_t> control_commands{0};
  std::atomic<std::uint64_t> reloads{0};
  // Gauges
  std::atomic<std::int64_t> db_rev{-1};
  std::atomic<std::int64_t> devices{0};
  std::atomic<std::int64_t> services{0};
  std::atomic<std::int64_t> sessions{0};

  void bump(std::atomic<std::uint64_t>& c) { c.fetch_add(1, std::memory_order_relaxed); }
};

// Plain copy of the counters at one moment.
struct StatsSnapshot {
  std::uint64_t logins_ok = 0, logins_refused = 0, throttled = 0, acl_denied_total = 0;
  std::array<std::uint64_t, refusal_count> refused{};
  std::array<std::uint64_t, role_count> acl_denied{};
  std::uint64_t kicks = 0, control_commands = 0, reloads = 0;
  std::int64_t db_rev = -1, devices = 0, services = 0, sessions = 0;
};

StatsSnapshot snapshot(const Stats& s);
// {"logins_ok":…,"logins_refused":…,"refused":{"bad_token":…,…},"acl_denied":{"charger":…},…}
boost::json::object stats_json(const StatsSnapshot& s);
// "key: value" lines, as in the status file.
std::string stats_text(const StatsSnapshot& s);
// One line for the broker log.
std::string stats_line(const StatsSnapshot& s);

}  // namespace chargehub::auth
