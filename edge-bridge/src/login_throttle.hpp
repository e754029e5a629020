// Failed logins per charger peer address (issue 19.4), decided before the bridge asks the broker.
//
// The broker sees every charger behind the bridge coming from the bridge's own address, so it cannot
// tell an attacker at the bridge from the real charger; the bridge can: it counts the broker's
// refusals of a charger's credentials per (device id, peer address) and per peer address, and defers
// a LOGIN it will not forward with result 4 (busy: retry later with back-off), never 2, because it has
// not checked those credentials.
//
// - (device, peer): the first `device_free` refusals are free; every further one blocks that pair for
//   base_ms * 2^n up to max_ms. While blocked, a LOGIN for that device from that peer is deferred.
// - peer: past `peer_free` refusals (for any devices) the peer is blocked the same way; while it is,
//   a LOGIN from it is deferred only for a device that was already refused from that peer. A charger
//   that never failed from that address is still forwarded, so real chargers behind one carrier NAT
//   address never lock each other out, whatever one of them gets wrong.
// A correct login (CONNACK 0) clears its (device, peer) pair. Nothing waits. Memory is bounded.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>

namespace chargehub::bridge {

struct LoginThrottlePolicy {
  uint32_t device_free = 3;
  uint32_t peer_free = 50;
  int64_t base_ms = 1000;
  int64_t max_ms = 60000;
  int64_t forget_s = 600;
  size_t max_keys = 100000;
};

class LoginThrottle {
 public:
  explicit LoginThrottle(LoginThrottlePolicy p = {}) : p_(p) {}
  bool defer(std::string_view device, std::string_view peer, int64_t now_ms) const;
  void failure(std::string_view device, std::string_view peer, int64_t now_ms);
  void success(std::string_view device, std::string_view peer);
  void prune(int64_t now_ms);
  size_t size() const { return keys_.size(); }

 private:
  struct Entry {
    uint32_t failures = 0;
    int64_t last_ms = 0;
    int64_t blocked_until_ms = 0;
  };
  static std::string pair_key(std::string_view device, std::string_view peer);
  static std::string peer_key(std::string_view peer) { return "\n" + std::string(peer); }
  void fail(const std::string& key, uint32_t free, int64_t now_ms);
  const Entry* find(const std::string& key) const;
  LoginThrottlePolicy p_;
  std::unordered_map<std::string, Entry> keys_;
};

// The address part of a link's peer ("1.2.3.4:5678" -> "1.2.3.4", "::1:5678" -> "::1"); a serial
// line's peer (its path) as it is.
std::string peer_address(std::string_view peer);

}  // namespace chargehub::bridge
