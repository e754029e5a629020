// Meter readings of running sessions, and the rules that act on them (rules/telemetry.hpp): funds
// running out, the power band rising, dangerous curves. Also the thinning of old samples.
#pragma once
#include "app/sessions.hpp"
#include "chargehub/rules/telemetry.hpp"

namespace chargehub::core {

class Telemetry {
 public:
  Telemetry(Repos& r, Sessions& sessions) : r_(r), sessions_(sessions) {}
  FollowUp meter(const std::string& device_id, const proto::Meter& m, int64_t now, const rules::TelemetryRules& rules);
  int64_t downsample(int64_t older_than, int64_t interval_s);

 private:
  Repos& r_;
  Sessions& sessions_;
};

}  // namespace chargehub::core
