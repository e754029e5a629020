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
#include <vector>

#include "auth.hpp"
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

namespace chargehub::auth {

// What the plugin does with a login's outcome (issue 19.4: a charger's correct credentials always get
// in, whatever others send under its name).
//
// Every login's credential is checked, blocked key or not, and a correct one is admitted: nothing an
// attacker sends can make the broker refuse a correct credential. Failures are counted per
// (username, source address) and per source address (two Throttle instances); once a key is past
// its free failures, further wrong logins with it are refused as `throttled` and not logged one by
// one (a summary line a second), so what an attacker costs the broker thread is bounded to the check
// itself: one SHA-256 (token, about 1 µs) or one Ed25519 verification (about 110 µs on our machines),
// against about 66 µs the broker spends on a CONNECT anyway. Tokens are 16-64 random bytes and Ed25519 keys are
// not guessable, so the throttle is not what stops guessing; it bounds its cost and its noise.
//
// "Source" is the address Mosquitto reports for the connection. Chargers behind the edge bridge all
// arrive from the bridge's address: those addresses (`bridge_addresses`, plugin option
// throttle_addr_exempt) are never counted as a source, only (username, bridge address) is, and the
// bridge throttles each charger's own peer address itself (docs/edge-bridge.md). Many chargers behind
// one carrier NAT address share a source key; as a correct credential is always admitted, they can
// not lock each other out, whatever one of them (or an attacker behind the same NAT) gets wrong.
class LoginThrottle {
 public:
  LoginThrottle() = default;
  LoginThrottle(ThrottlePolicy user_source, ThrottlePolicy source, std::vector<std::string> bridge_addresses)
      : user_source_(user_source), source_(source), bridges_(std::move(bridge_addresses)) {}

  struct Verdict {
    Refusal refusal = Refusal::none;  // what to answer and count: the check's refusal, or `throttled`
    bool log = true;                  // false: summarised, not logged one by one
    bool key_blocked = false;         // a key of this login was past its free failures
  };
  // After the credential was checked (`checked`); updates the counts.
  Verdict after_check(std::string_view username, std::string_view source, Refusal checked, std::int64_t now_ms);
  bool is_bridge(std::string_view source) const;
  void prune(std::int64_t now_ms) {
    user_source_.prune(now_ms);
    source_.prune(now_ms);
  }
  std::size_t size() const { return user_source_.size() + source_.size(); }

 private:
  static std::string user_source_key(std::string_view username, std::string_view source);
  Throttle user_source_;
  Throttle source_;
  std::vector<std::string> bridges_;
};

}  // namespace chargehub::auth
