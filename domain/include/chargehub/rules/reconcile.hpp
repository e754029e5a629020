// What the core concludes from a charger's answer to QUERY_PORTS (after a boot or a reconnect): a
// session the core runs that the charger no longer has is lost (settled from its last meter reading);
// a port charging a session the core does not run is stopped. Pure.
#pragma once
#include <cstdint>
#include <map>
#include <vector>

#include "chargehub/session.hpp"

namespace chargehub::rules {

struct RunningSession {          // a session the core has holding a port of this device
  int64_t id = 0, port = 0;
  session::State state = session::State::Charging;
  int64_t created_at = 0;
};

struct Reconciliation {
  std::vector<int64_t> lost;                  // settle these as lost
  std::vector<std::pair<int64_t, int64_t>> stop;   // (port, session number): STOP these
};

// A START still on its way may not have reached the charger yet: sessions younger than this are left.
inline constexpr int64_t kYoungSessionS = 30;

// charging: port -> session number, for every port the charger reports charging.
Reconciliation reconcile(const std::vector<RunningSession>& ours, const std::map<int64_t, int64_t>& charging, int64_t now);

}  // namespace chargehub::rules
