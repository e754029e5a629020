// A fleet scenario (JSON, see docs/firmware-sim.md "Scenario format") and the riders who use the
// chargers in it. Pure: parsing and decisions; the fleet runner (io) supplies time and transports.
//
//   auto sc = parse_scenario(json_text);           // throws std::invalid_argument with the field's name
//   Riders riders{sc.riders, sc.batteries, sc.faults, seed};
//   riders.tick(charger, plan, now, dt_s);          // arrivals, card swipes / self-starts, unplugging
#pragma once
#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "chargehub/frame.hpp"
#include "chargehub/messages.hpp"
#include "chargehub/sim/battery.hpp"
#include "chargehub/sim/charger.hpp"
#include "chargehub/sim/faults.hpp"

namespace chargehub::sim {

struct ChargerGroup {
  proto::Model model = proto::Model::Port20;
  int count = 1;
  proto::Version fw{1, 0, 0};
};

struct BatteryChoice {
  std::string pack = "li48";
  double brick_a = 3.5;
  double weight = 1;
};

struct RiderConfig {
  double arrivals_per_port_per_hour = 0.3;   // simulated hours
  bool self_start = true;       // the charger starts a session itself when a rider plugs in (load generation)
  double card_share = 0.0;      // riders who swipe a card instead (card models only); the server STARTs
  double unplug_early_share = 0.05;
  double soc_min = 0.1, soc_max = 0.8;
  double dwell_min_s = 600, dwell_max_s = 7200;     // time a finished bike stays plugged in
  double give_up_s = 1800;                          // a plugged bike nobody starts leaves after this
};

struct FleetFaults {
  std::string frames;           // fault spec for frames to the server (parse_fault_rates)
  std::string frames_in;        // and from the server
  double faulty_brick_share = 0;     // bricks that never drop under full_stop_w
  double overload_share = 0;         // packs that draw too much (port overload)
  double link_cuts_per_hour = 0;     // per charger, simulated hours
  double reboots_per_hour = 0;
  double power_losses_per_hour = 0;
  double clock_skew_s = 0;           // each charger's clock off by uniform(-x, x)
};

struct TokenSource {
  enum Kind { Derive, File, Fixed } kind = Derive;
  std::string secret = "chargehub-sim";   // Derive: token = first `bytes` of HMAC-SHA256(secret, device id text)
  int bytes = 16;
  std::string file;                       // File: lines "<device id> <token hex>"
  std::string hex;                        // Fixed: one token for every charger
};

struct Scenario {
  std::string name = "fleet";
  uint64_t seed = 1;
  double time_scale = 60;
  double duration_s = 60;                 // real seconds (0 = until SIGINT/SIGTERM)
  std::string transport = "tcp";          // tcp | mqtt
  std::string bridge = "127.0.0.1:9000";
  std::string mqtt_uri = "tcp://127.0.0.1:1883";
  std::vector<std::string> local_ips;     // tcp: source addresses used in turn
  proto::DeviceId device_base = 861000000000000ULL;
  std::vector<ChargerGroup> chargers;
  TokenSource tokens;
  RiderConfig riders;
  std::vector<BatteryChoice> batteries{{"li48", 3.5, 1}};
  FleetFaults faults;
  int64_t retry_ms = 5000;
  double ambient_c = 25;
  int64_t tick_ms = 100;                  // real ms between firmware ticks
  int64_t rider_tick_ms = 1000;           // real ms between rider decisions
  double connect_rate = 5000;             // new connections per real second at start
  std::string journal_dir;                // empty: journals in memory
  int total() const;
};

Scenario parse_scenario(std::string_view json_text);
// Derive-kind token of a device: the first `bytes` bytes of HMAC-SHA256(secret, device id text).
proto::Bytes derive_token(const std::string& secret, proto::DeviceId id, int bytes = 16);

// What a rider at a port intends (kept per port by the fleet runner).
struct PortPlan {
  int64_t leave_at_ms = -1;     // plugged, not started: leave then
  int64_t unplug_at_ms = -1;    // charging: unplug early then
  int64_t return_at_ms = -1;    // finished: come back and unplug then
  bool started = false;
};

class Riders {
 public:
  Riders(RiderConfig cfg, std::vector<BatteryChoice> mix, FleetFaults faults, uint64_t seed);
  // Arrivals, swipes or self-starts, early unplugging and pick-ups on every port of one charger.
  void tick(Charger& c, std::vector<PortPlan>& plans, const Now& now, double dt_s);
  uint64_t arrivals() const { return arrivals_; }
  uint64_t swipes() const { return swipes_; }

 private:
  double uniform(double a, double b) { return std::uniform_real_distribution<double>(a, b)(rng_); }
  bool chance(double p) { return p > 0 && uniform(0, 1) < p; }
  Load make_load(bool high_power_port);
  RiderConfig cfg_;
  std::vector<BatteryChoice> mix_;
  std::vector<PackSpec> packs_;
  double weight_sum_ = 0;
  FleetFaults faults_;
  std::mt19937_64 rng_;
  uint64_t arrivals_ = 0, swipes_ = 0;
};

}  // namespace chargehub::sim
