// What a meter reading of a charging session triggers (docs/sessions.md): stop when the prepayment runs
// out (time and power tier plans: the charger only enforces energy and time limits), a shorter time
// limit when the power band rises (power tier), a flag on dangerous curves. Pure.
#pragma once
#include <cstdint>
#include <optional>
#include <string>

#include "chargehub/pricing.hpp"

namespace chargehub::rules {

struct TelemetryRules {
  int64_t pack_energy_wh = 1500;      // more than this in one session: flag energy_over_pack
  int64_t taper_after_s = 5 * 3600;   // still at >= 90 % of peak power after this: flag power_not_tapering
  int64_t stop_margin_fen = 0;        // stop when the price so far reaches prepaid - margin
};

struct MeterFacts {
  pricing::Plan plan;
  int64_t prepaid_fen = 0;
  pricing::Usage usage;               // the session so far, this reading included
  uint8_t mode = 0;                   // what START told the charger
  int64_t limit = 0;
  bool flagged = false;               // a flag is kept once set
};

struct MeterVerdict {
  bool stop_for_funds = false;
  std::optional<pricing::Limit> shorter_limit;   // ADJUST to this
  std::optional<std::string> flag;
};

MeterVerdict check_meter(const MeterFacts& f, uint32_t power_w_now, const TelemetryRules& rules);

}  // namespace chargehub::rules
