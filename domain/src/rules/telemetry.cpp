#include "chargehub/rules/telemetry.hpp"

namespace chargehub::rules {

MeterVerdict check_meter(const MeterFacts& f, uint32_t power_w_now, const TelemetryRules& rules) {
  using pricing::PlanKind;
  MeterVerdict v;
  // Funds running out: the charger enforces energy limits itself, but time and power tier prices can
  // outrun the prepayment (the band rises): stop at the prepaid amount.
  if (f.plan.kind != PlanKind::Free && f.plan.kind != PlanKind::Energy &&
      pricing::price_fen(f.plan, f.usage) >= f.prepaid_fen - rules.stop_margin_fen) {
    v.stop_for_funds = true;
    return v;
  }
  // Power tier: a higher band buys less time; tell the charger the shorter limit.
  if (f.plan.kind == PlanKind::PowerTier) {
    auto l = pricing::limit_for_amount(f.plan, f.prepaid_fen, f.usage.max_power_w);
    if (l.mode == f.mode && int64_t{l.limit} < f.limit) v.shorter_limit = l;
  }
  // Dangerous curves are flagged for the operator (docs/sessions.md).
  if (!f.flagged) {
    if (f.usage.energy_wh > rules.pack_energy_wh) v.flag = "energy_over_pack";
    else if (f.usage.duration_s > rules.taper_after_s && int64_t{power_w_now} * 10 >= int64_t{f.usage.max_power_w} * 9 &&
             power_w_now > 50)
      v.flag = "power_not_tapering";
  }
  return v;
}

}  // namespace chargehub::rules
