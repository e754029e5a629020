// Brute-force throttling of failed logins, per key (a username, or a source address).
//
// Each key may fail `free_failures` times in a row without consequence. Every further failure blocks
// the key for base_ms * 2^(failures - free_failures), capped at max_ms; while blocked, every login
// with that key is refused at once (reason "throttled") without even checking its credentials, and
// such refusals do not extend the block. A success clears the key. A key that has not failed for
// forget_s seconds is forgotten. Nothing ever waits: other clients are not delayed.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>

#include "devices.hpp"

namespace chargehub::auth {

struct ThrottlePolicy {
  std::uint32_t free_failures = 5;
  std::int64_t base_ms = 1000;
  std::int64_t max_ms = 60000;
  std::int64_t forget_s = 600;
  std::size_t max_keys = 100000;  // beyond this, the oldest entries are dropped on prune()
};

class Throttle {
 public:
  explicit Throttle(ThrottlePolicy p = {}) : policy_(p) {}
  // True if the key is blocked now (the login must be refused without checking it).
  bool blocked(std::string_view key, std::int64_t now_ms) const;
  // Remaining block in ms (0 when not blocked).
  std::int64_t blocked_for(std::string_view key, std::int64_t now_ms) const;
  void failure(std::string_view key, std::int64_t now_ms);
  void success(std::string_view key);
  // Drops forgotten keys; call now and then (the plugin does it every few seconds from TICK).
  void prune(std::int64_t now_ms);
  std::size_t size() const { return keys_.size(); }
  const ThrottlePolicy& policy() const { return policy_; }

 private:
  struct Entry {
    std::uint32_t failures = 0;
    std::int64_t last_failure_ms = 0;
    std::int64_t blocked_until_ms = 0;
  };
  ThrottlePolicy policy_;
  std::unordered_map<std::string, Entry, StringHash, std::equal_to<>> keys_;
};

}  // namespace chargehub::auth
