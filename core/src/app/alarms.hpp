// Alarms from chargers: recorded once per msg, repeats of one condition (device, code, port within
// rules::kAlarmDedupWindowS) counted into one row; those that cut a port stop what charges there
// (rules/alarms.hpp).
#pragma once
#include "app/sessions.hpp"

namespace chargehub::core {

struct AlarmOutcome {
  payloads::Ack ack;
  FollowUp follow;
};

class Alarms {
 public:
  Alarms(Repos& r, Sessions& sessions) : r_(r), sessions_(sessions) {}
  AlarmOutcome raised(const std::string& device_id, const std::string& msg, const proto::Alarm& a, int64_t now);
  // A device's alarms, within the caller's scope (a device outside it has none).
  std::vector<AlarmRow> list(const Scope& scope, const std::string& device_id, int64_t limit);

 private:
  Repos& r_;
  Sessions& sessions_;
};

}  // namespace chargehub::core
