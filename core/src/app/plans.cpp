#include "plans.hpp"

namespace chargehub::core {

Result<PlanRow> Plans::create(const std::string& name, const pricing::Plan& p, int64_t now) {
  if (auto why = p.invalid_reason(); !why.empty()) return Result<PlanRow>::no("bad_plan", why);
  sql::Tx tx(r_.db);
  auto id = r_.plans.insert(name, p, now);
  auto row = r_.plans.get(id);
  tx.commit();
  return Result<PlanRow>::ok(row->row);
}

std::optional<PlanRow> Plans::get(int64_t id) {
  sql::Lock lock(r_.db);
  auto l = r_.plans.get(id);
  if (!l || !l->readable) return std::nullopt;
  return l->row;
}

std::vector<PlanRow> Plans::list() {
  sql::Lock lock(r_.db);
  return r_.plans.list();
}

RechargeOffer Plans::create_offer(const std::string& name, int64_t amount_fen, int64_t bonus_fen, int64_t now) {
  sql::Tx tx(r_.db);
  auto id = r_.plans.insert_offer(name, amount_fen, bonus_fen, now);
  auto o = r_.plans.offer(id);
  tx.commit();
  return *o;
}

std::optional<RechargeOffer> Plans::offer(int64_t id) {
  sql::Lock lock(r_.db);
  return r_.plans.offer(id);
}

std::vector<RechargeOffer> Plans::offers() {
  sql::Lock lock(r_.db);
  return r_.plans.active_offers();
}

}  // namespace chargehub::core
