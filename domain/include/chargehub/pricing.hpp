// Price plans and what a charge costs. Pure arithmetic in integer fen, Wh, W and seconds.
//
//   Plan p = Plan::energy(100, 20);                 // 1.00 yuan/kWh + 0.20 yuan/kWh service
//   int64_t fen = charge_fen(p, usage);             // what the session costs
//   Limit l = limit_for_amount(p, 500);             // what to tell the charger for a 5-yuan prepayment
//
// Rounding rules (docs/pricing.md): energy is billed per whole Wh, rounded down to the fen; time and power
// tier plans bill every started block; a plan's minimum applies once the session delivered anything and
// its cap always applies. A session never costs more than its prepaid amount.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace chargehub::pricing {

enum class PlanKind { Energy, Time, PowerTier, Free };
std::string plan_kind_name(PlanKind k);                    // "energy" "time" "power_tier" "free"
std::optional<PlanKind> parse_plan_kind(std::string_view);

struct PowerTier {
  uint32_t up_to_w = 0;          // band upper bound (inclusive); the last band should cover the rest
  int64_t fen_per_hour = 0;
  bool operator==(const PowerTier&) const = default;
};

struct Plan {
  PlanKind kind = PlanKind::Energy;
  int64_t fen_per_kwh = 0;           // energy
  int64_t service_fen_per_kwh = 0;   // energy
  int64_t fen_per_block = 0;         // time
  uint32_t block_minutes = 60;       // time, power_tier
  std::vector<PowerTier> tiers;      // power_tier, ascending up_to_w
  int64_t min_fen = 0;               // all but free
  int64_t cap_fen = 0;               // 0 = none; also the "until full" prepayment
  uint32_t max_duration_s = 12 * 3600;  // longest a session may run ("until full" on free plans)

  static Plan energy(int64_t fen_per_kwh, int64_t service_fen_per_kwh = 0);
  static Plan time(int64_t fen_per_block, uint32_t block_minutes, int64_t min_fen = 0, int64_t cap_fen = 0);
  static Plan power_tier(std::vector<PowerTier> tiers, uint32_t block_minutes = 60);
  static Plan free();
  // Why the plan is unusable ("" when valid).
  std::string invalid_reason() const;
  bool operator==(const Plan&) const = default;
};

struct Usage {
  uint32_t energy_wh = 0;
  uint32_t duration_s = 0;
  uint32_t max_power_w = 0;
};

// The price of the usage under the plan, before the prepaid cap.
int64_t price_fen(const Plan& plan, const Usage& u);
// What the rider pays: the price, never more than `prepaid_fen`.
int64_t charge_fen(const Plan& plan, const Usage& u, int64_t prepaid_fen);

// Rate of the power band that `power_w` falls in (power_tier plans); the last band for anything above.
int64_t tier_rate(const Plan& plan, uint32_t power_w);

// What the charger is told for a prepayment (START mode and limit, frames.md).
struct Limit {
  uint8_t mode = 0;        // 0 until full, 1 time (s), 2 energy (Wh)
  uint32_t limit = 0;
  bool operator==(const Limit&) const = default;
};
// For power_tier plans, at the band of `power_w` (the core re-evaluates as power rises).
Limit limit_for_amount(const Plan& plan, int64_t amount_fen, uint32_t power_w = 0);

}  // namespace chargehub::pricing
