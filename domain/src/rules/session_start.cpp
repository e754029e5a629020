#include "chargehub/rules/session_start.hpp"

#include <algorithm>
#include <string>

namespace chargehub::rules {

Result<StartTerms> decide_start(const StartRequest& r, const StartFacts& f) {
  using R = Result<StartTerms>;
  using pricing::PlanKind;
  if (!f.device_found) return R::no("device_not_found", "no device with this id");
  if (!f.device_enabled) return R::no("device_disabled", "the device is disabled");
  if (!f.device_online) return R::no("device_offline", "the device is offline");
  if (r.port < 1 || r.port > f.device_ports) return R::no("bad_port", "no such port on this device");
  if (f.port_state == proto::PortState::Fault || f.port_state == proto::PortState::Disabled)
    return R::no("port_unavailable", "the port is faulty or disabled");
  if (f.session_on_port) return R::no("port_busy", "the port is in use by session " + std::to_string(*f.session_on_port));
  if (!f.rider_found) return R::no("rider_not_found", "no rider with this id");
  if (!f.plan_found) return R::no("plan_missing", "the device's price plan is missing");
  if (!f.plan) return R::no("plan_invalid", "the device's price plan cannot be read");
  const pricing::Plan& plan = *f.plan;

  int64_t amount = r.amount_fen;
  if (r.duration_s > 0) {
    if (plan.kind != PlanKind::Time && plan.kind != PlanKind::PowerTier && plan.kind != PlanKind::Free)
      return R::no("duration_not_offered", "this device's price plan sells energy, not time: give amount_fen");
    if (r.duration_s > plan.max_duration_s) return R::no("bad_duration", "longer than the plan allows");
    // The price of that duration at the lowest band; a dearer band shortens it (ADJUST) as power rises.
    amount = pricing::price_fen(plan, pricing::Usage{0, static_cast<uint32_t>(r.duration_s), 0});
  }
  if (plan.kind == PlanKind::Free) {
    amount = 0;
  } else {
    if (r.until_full && amount == 0) amount = plan.cap_fen > 0 ? std::min(plan.cap_fen, f.available_fen) : f.available_fen;
    if (amount <= 0 && !r.until_full) return R::no("bad_amount", "amount_fen must be positive");
    if (amount <= 0 || amount > f.available_fen)
      return R::no("insufficient_funds", "the wallet's available balance is " + std::to_string(f.available_fen) + " fen");
  }
  auto limit = pricing::limit_for_amount(plan, amount, 0);
  if (r.duration_s > 0)
    limit = pricing::Limit{1, static_cast<uint32_t>(std::min<int64_t>(r.duration_s, limit.limit ? limit.limit : r.duration_s))};
  if (plan.kind != PlanKind::Free && limit.limit == 0)
    return R::no("amount_too_small", "the amount buys nothing under this device's price plan");
  return R::ok(StartTerms{amount, limit});
}

}  // namespace chargehub::rules
