// Link fault injection: sits between a charger and its transport, one per direction. Pure: the caller
// passes the time (real ms) and a seed; nothing is slept.
//
//   FaultInjector out{{.drop = 0.05, .corrupt = 0.01}, seed};
//   out.push(encoded_frame, now_ms);
//   for (auto& bytes : out.pop_ready(now_ms)) socket.write(bytes);
//
// Per frame, in this order: drop (never delivered), corrupt (one byte flipped, so the receiver's CRC
// check rejects it), delay (held for delay_ms), reorder (held until the next frame has gone, or at most
// delay_ms), duplicate (delivered twice).
#pragma once
#include <cstdint>
#include <deque>
#include <optional>
#include <random>
#include <string>
#include <vector>

namespace chargehub::sim {

struct FaultRates {
  double drop = 0, duplicate = 0, corrupt = 0, delay = 0, reorder = 0;   // probabilities per frame
  int64_t delay_ms = 2000;
  bool any() const { return drop > 0 || duplicate > 0 || corrupt > 0 || delay > 0 || reorder > 0; }
};
// "drop=0.05,dup=0.01,corrupt=0.01,delay=0.1,reorder=0.05,delay-ms=1500"; throws std::invalid_argument.
FaultRates parse_fault_rates(const std::string& spec);

struct FaultStats {
  uint64_t passed = 0, dropped = 0, duplicated = 0, corrupted = 0, delayed = 0, reordered = 0;
};

class FaultInjector {
 public:
  explicit FaultInjector(FaultRates rates = {}, uint64_t seed = 1) : rates_(rates), rng_(seed) {}
  void push(std::vector<uint8_t> frame, int64_t now_ms);
  std::vector<std::vector<uint8_t>> pop_ready(int64_t now_ms);
  bool idle() const { return held_.empty() && ready_.empty(); }
  const FaultStats& stats() const { return stats_; }
  const FaultRates& rates() const { return rates_; }
  void set_rates(FaultRates r) { rates_ = r; }
  void clear() { held_.clear(); ready_.clear(); reorder_slot_.reset(); }

 private:
  bool roll(double p) { return p > 0 && std::uniform_real_distribution<double>(0, 1)(rng_) < p; }
  struct Held { int64_t due; std::vector<uint8_t> bytes; };
  FaultRates rates_;
  std::mt19937_64 rng_;
  std::deque<Held> held_;                 // delayed frames, by due time
  std::optional<Held> reorder_slot_;      // a frame waiting to be overtaken
  std::vector<std::vector<uint8_t>> ready_;
  FaultStats stats_;
};

}  // namespace chargehub::sim
