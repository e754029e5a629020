// Per-device message limits on what chargers publish (issue 19.5): one device credential must not be
// able to flood the platform. Pure: the plugin calls check() from its ACL WRITE callback with the
// broker's clock; tests call it with their own.
//
// - Size: a charger's payload larger than max_payload bytes is refused. The largest legitimate
//   charger payload in mqtt.md is an up/meter or an up/reply for QUERY_PORTS: a frame body is at most
//   1024 bytes, so at most 53 ports per METER, about 6.7 KB of JSON; a 20-port charger's meter is
//   about 2.6 KB. Default 8192.
// - Rate: a token bucket per device, `rate_per_s` messages a second on average with bursts of `burst`.
//   A 20-port charger sends a heartbeat and a meter per minute (defaults; at least every 10 s at the
//   fastest settings), a SESSION_END, CARD or ALARM per event, and after a reconnect the reports it
//   kept (at most a few per port) and the bridge's on-disk queue of what it sent while the broker was
//   away (flushed at once). Default 10/s with bursts of 1,000: over 50 times the sustained rate of a
//   20-port charger at its fastest settings, and an hour of its telemetry in one burst.
// A charger's `status` topic (its online status and its will) has a bucket of its own, so that a device
// that floods its reports still has its will ({"online":false}) delivered when it goes.
// Everything beyond is dropped (the ACL check is denied: PUBACK 0x87 under MQTT v5, a silent drop
// under 3.1.1) and counted per device, by kind; top() lists the devices that lost most.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "devices.hpp"

namespace chargehub::auth {

struct LimitPolicy {
  std::int64_t max_payload = 8192;    // bytes; 0 = no limit
  std::int64_t rate_per_s = 10;       // messages a second per device on average; 0 = no limit
  std::int64_t burst = 1000;          // messages a device may send at once
  std::size_t max_devices = 200000;   // buckets kept (idle full buckets are dropped by prune())
};

enum class LimitVerdict { pass, too_big, rate };

struct DeviceDrops {
  std::uint64_t rate = 0;       // over the rate
  std::uint64_t size = 0;       // over max_payload
  std::int64_t last_ms = 0;     // last drop
  std::uint64_t total() const { return rate + size; }
};

class DeviceLimits {
 public:
  explicit DeviceLimits(LimitPolicy p = {}) : policy_(p) {}
  // `status`: a publish on the device's status topic (its own bucket, same policy).
  LimitVerdict check(std::string_view device, std::size_t payload_len, std::int64_t now_ms, bool status = false);
  // The n devices with most drops, most first.
  std::vector<std::pair<std::string, DeviceDrops>> top(std::size_t n) const;
  std::uint64_t dropped_rate() const { return dropped_rate_; }
  std::uint64_t dropped_size() const { return dropped_size_; }
  // Forgets buckets that are full again (idle devices) and, past max_devices, drop counts of the
  // devices that dropped least.
  void prune(std::int64_t now_ms);
  std::size_t buckets() const { return buckets_.size(); }
  const LimitPolicy& policy() const { return policy_; }

 private:
  struct Bucket {
    std::int64_t milli_tokens = 0;  // 1000 per message
    std::int64_t at_ms = 0;
  };
  std::int64_t refill(Bucket& b, std::int64_t now_ms) const;
  LimitPolicy policy_;
  std::unordered_map<std::string, Bucket, StringHash, std::equal_to<>> buckets_;
  std::unordered_map<std::string, DeviceDrops, StringHash, std::equal_to<>> drops_;
  std::uint64_t dropped_rate_ = 0, dropped_size_ = 0;
};

}  // namespace chargehub::auth
