#include "chargehub/pricing.hpp"

#include <algorithm>

namespace chargehub::pricing {

std::string plan_kind_name(PlanKind k) {
  switch (k) {
    case PlanKind::Energy: return "energy";
    case PlanKind::Time: return "time";
    case PlanKind::PowerTier: return "power_tier";
    case PlanKind::Free: return "free";
  }
  return "?";
}
std::optional<PlanKind> parse_plan_kind(std::string_view s) {
  if (s == "energy") return PlanKind::Energy;
  if (s == "time") return PlanKind::Time;
  if (s == "power_tier") return PlanKind::PowerTier;
  if (s == "free") return PlanKind::Free;
  return std::nullopt;
}

Plan Plan::energy(int64_t fen_per_kwh, int64_t service_fen_per_kwh) {
  Plan p;
  p.kind = PlanKind::Energy;
  p.fen_per_kwh = fen_per_kwh;
  p.service_fen_per_kwh = service_fen_per_kwh;
  return p;
}
Plan Plan::time(int64_t fen_per_block, uint32_t block_minutes, int64_t min_fen, int64_t cap_fen) {
  Plan p;
  p.kind = PlanKind::Time;
  p.fen_per_block = fen_per_block;
  p.block_minutes = block_minutes;
  p.min_fen = min_fen;
  p.cap_fen = cap_fen;
  return p;
}
Plan Plan::power_tier(std::vector<PowerTier> tiers, uint32_t block_minutes) {
  Plan p;
  p.kind = PlanKind::PowerTier;
  p.tiers = std::move(tiers);
  p.block_minutes = block_minutes;
  return p;
}
Plan Plan::free() {
  Plan p;
  p.kind = PlanKind::Free;
  return p;
}

std::string Plan::invalid_reason() const {
  if (min_fen < 0 || cap_fen < 0) return "min_fen and cap_fen must not be negative";
  if (cap_fen && min_fen > cap_fen) return "min_fen is above cap_fen";
  if (max_duration_s == 0) return "max_duration_s must be positive";
  switch (kind) {
    case PlanKind::Energy:
      if (fen_per_kwh < 0 || service_fen_per_kwh < 0) return "energy prices must not be negative";
      if (fen_per_kwh + service_fen_per_kwh == 0) return "an energy plan needs a price (use a free plan)";
      if (fen_per_kwh + service_fen_per_kwh > 100000) return "energy price above 1000 yuan/kWh";
      return "";
    case PlanKind::Time:
      if (fen_per_block <= 0) return "fen_per_block must be positive";
      if (block_minutes == 0 || block_minutes > 24 * 60) return "block_minutes must be 1..1440";
      return "";
    case PlanKind::PowerTier: {
      if (tiers.empty()) return "a power tier plan needs at least one band";
      if (block_minutes == 0 || block_minutes > 24 * 60) return "block_minutes must be 1..1440";
      uint32_t prev = 0;
      for (size_t i = 0; i < tiers.size(); ++i) {
        if (tiers[i].fen_per_hour <= 0) return "every band needs a positive fen_per_hour";
        if (i && tiers[i].up_to_w <= prev) return "bands must ascend by up_to_w";
        prev = tiers[i].up_to_w;
      }
      return "";
    }
    case PlanKind::Free:
      return "";
  }
  return "unknown plan kind";
}

namespace {
int64_t blocks(uint32_t duration_s, uint32_t block_minutes) {
  int64_t block_s = int64_t{block_minutes} * 60;
  return (int64_t{duration_s} + block_s - 1) / block_s;
}
}  // namespace

int64_t tier_rate(const Plan& plan, uint32_t power_w) {
  for (auto& t : plan.tiers)
    if (power_w <= t.up_to_w) return t.fen_per_hour;
  return plan.tiers.empty() ? 0 : plan.tiers.back().fen_per_hour;
}

int64_t price_fen(const Plan& plan, const Usage& u) {
  int64_t fen = 0;
  switch (plan.kind) {
    case PlanKind::Free:
      return 0;
    case PlanKind::Energy:
      fen = int64_t{u.energy_wh} * (plan.fen_per_kwh + plan.service_fen_per_kwh) / 1000;
      break;
    case PlanKind::Time:
      fen = blocks(u.duration_s, plan.block_minutes) * plan.fen_per_block;
      break;
    case PlanKind::PowerTier:
      // Rate per hour of the peak band, billed per started block.
      fen = blocks(u.duration_s, plan.block_minutes) * tier_rate(plan, u.max_power_w) * plan.block_minutes / 60;
      break;
  }
  bool delivered = u.energy_wh > 0 || u.duration_s > 0;
  if (delivered) fen = std::max(fen, plan.min_fen);
  if (plan.cap_fen) fen = std::min(fen, plan.cap_fen);
  return fen;
}

int64_t charge_fen(const Plan& plan, const Usage& u, int64_t prepaid_fen) {
  return std::clamp<int64_t>(price_fen(plan, u), 0, std::max<int64_t>(prepaid_fen, 0));
}

Limit limit_for_amount(const Plan& plan, int64_t amount_fen, uint32_t power_w) {
  constexpr int64_t kMaxU32 = 0xFFFFFFFFLL;
  amount_fen = std::max<int64_t>(amount_fen, 0);
  switch (plan.kind) {
    case PlanKind::Free:
      return Limit{1, plan.max_duration_s};
    case PlanKind::Energy: {
      int64_t wh = amount_fen * 1000 / (plan.fen_per_kwh + plan.service_fen_per_kwh);
      return Limit{2, static_cast<uint32_t>(std::min(wh, kMaxU32))};
    }
    case PlanKind::Time: {
      int64_t s = amount_fen / plan.fen_per_block * plan.block_minutes * 60;
      return Limit{1, static_cast<uint32_t>(std::min<int64_t>(s, plan.max_duration_s))};
    }
    case PlanKind::PowerTier: {
      int64_t per_block = tier_rate(plan, power_w) * plan.block_minutes / 60;
      int64_t s = per_block > 0 ? amount_fen / per_block * plan.block_minutes * 60 : plan.max_duration_s;
      return Limit{1, static_cast<uint32_t>(std::min<int64_t>(s, plan.max_duration_s))};
    }
  }
  return Limit{};
}

}  // namespace chargehub::pricing
