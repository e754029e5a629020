// The bridge's counters. One block per worker process, in shared memory so that the supervisor sums
// them; plain atomics so that a worker never waits on anything to count.
#pragma once
#include <atomic>
#include <cstdint>
#include <string>

namespace chargehub::bridge {

struct Counters {
  using C = std::atomic<int64_t>;
  C links{0};                 // gauge: open links (TCP connections + serial lines)
  C links_total{0};
  C chargers{0};              // gauge: chargers logged in (MQTT connected or reconnecting)
  C logins_ok{0}, logins_refused{0}, logins_busy{0};
  C logins_deferred{0};       // LOGINs answered 4 by the per-peer throttle without asking the broker
  C not_logged_in{0};         // frames from a device not logged in on that link
  C frames_in[256]{};         // by cmd code
  C frames_out[256]{};
  C bad_frames{0};            // rejected by the decoder, or a body that does not decode
  C dropped_bytes{0};
  C unexpected_frames{0};     // responses matching nothing, commands sent by a charger
  C rate_limited{0};          // frames dropped by the per-link rate limit
  C links_overflowed{0};      // links closed for unsent bytes over the limit
  C silent_closed{0};         // chargers closed after 3 silent heartbeat intervals
  C takeovers{0};
  C mqtt_lost{0};             // charger MQTT connections lost (then reconnected)
  C cmds{0}, cmd_replies{0}, cmd_timeouts{0}, cmd_expired{0}, cmd_bad{0}, cmd_offline{0}, cmd_cached{0};
  C reports{0}, reports_acked{0};
  C queue_records{0}, queue_bytes{0}, queue_dropped{0};   // on-disk queue
};

// A block of n Counters shared with child processes (MAP_SHARED); never freed.
Counters* make_shared_counters(int n);
// Sum of n blocks as the status JSON published on svc/v1/bridge-<name>/status.
std::string counters_json(const Counters* blocks, int n, int workers_alive);
// The same sum in the Prometheus text format, with the serving process's own metrics (GET /metrics,
// docs/metrics.md).
std::string counters_prometheus(const Counters* blocks, int n, int workers_alive);

}  // namespace chargehub::bridge
