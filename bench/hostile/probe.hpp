// The well-behaved client of chargehub-hostile: one request at a time at a fixed rate, each on a new
// connection (so the accept path is measured too), timing connect to last byte of the response.
#pragma once
#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <thread>
#include <vector>

namespace chargehub::hostile {

struct ProbeConfig {
  std::string address = "127.0.0.1";   // IPv4 of the target
  uint16_t port = 0;
  std::string source;                  // local address to bind ("" = any)
  std::string path = "/api/v1/health";
  std::string host_header = "chargehub";
  std::vector<std::string> headers;    // "Name: value"
  double rate = 50;                    // probes per second
  std::chrono::milliseconds timeout{2000};
};

struct ProbeResult {
  std::vector<double> latencies_ms;    // of every answered probe, whatever its status
  uint64_t sent = 0, ok = 0, failed = 0;   // ok: 2xx; failed: no answer (refused, reset, timeout) or not 2xx
  std::map<int, uint64_t> statuses;
  std::map<std::string, uint64_t> errors;   // "timeout", "connect", "reset"
  double percentile(double p) const;
  double max() const;
};

class Prober {
 public:
  explicit Prober(ProbeConfig config) : config_(std::move(config)) {}
  ~Prober() { stop(); }
  void start();
  ProbeResult stop();   // waits for the probe in flight

 private:
  void probe_once(ProbeResult& r);

  ProbeConfig config_;
  std::atomic<bool> running_{false};
  std::thread thread_;
  ProbeResult result_;
};

}  // namespace chargehub::hostile
