// Price plans and recharge offers.
#pragma once
#include "app/repos.hpp"
#include "chargehub/result.hpp"

namespace chargehub::core {

class Plans {
 public:
  explicit Plans(Repos& r) : r_(r) {}
  // bad_plan when the plan is unusable (pricing::Plan::invalid_reason).
  Result<PlanRow> create(const std::string& name, const pricing::Plan& p, int64_t now);
  std::optional<PlanRow> get(int64_t id);
  std::vector<PlanRow> list();

  RechargeOffer create_offer(const std::string& name, int64_t amount_fen, int64_t bonus_fen, int64_t now);
  std::optional<RechargeOffer> offer(int64_t id);
  std::vector<RechargeOffer> offers();   // active ones, cheapest first

 private:
  Repos& r_;
};

}  // namespace chargehub::core
