#include "wallets.hpp"

#include "chargehub/rules/wallet.hpp"

namespace chargehub::core {

Rider Wallets::create_rider(const Scope& scope, const std::string& name, const std::string& phone, int64_t now) {
  sql::Tx tx(r_.db);
  auto id = r_.wallets.insert_rider(name, phone, scope.agent_id(), now);
  auto r = r_.wallets.get(id);
  tx.commit();
  return *r;
}

std::optional<Rider> Wallets::rider(const Scope& scope, int64_t id) {
  sql::Lock lock(r_.db);
  return r_.wallets.get(scope, id);
}

Result<Rider> Wallets::topup(const Scope& scope, int64_t rider_id, int64_t amount_fen, int64_t bonus_fen, const std::string& note,
                             int64_t now) {
  if (auto why = rules::check_topup(amount_fen, bonus_fen)) return Result<Rider>::no(*why);
  sql::Tx tx(r_.db);
  if (!r_.wallets.get(scope, rider_id)) return Result<Rider>::no("rider_not_found", "no rider with this id");
  r_.wallets.post(rider_id, LedgerKind::Topup, amount_fen, std::nullopt, note, now);
  if (bonus_fen > 0) r_.wallets.post(rider_id, LedgerKind::Bonus, bonus_fen, std::nullopt, note, now);
  auto r = r_.wallets.get(rider_id);
  tx.commit();
  return Result<Rider>::ok(*r);
}

Page<LedgerEntry> Wallets::ledger_page(const Scope& scope, int64_t rider_id, const PageRequest& p) {
  sql::Lock lock(r_.db);
  if (!r_.wallets.get(scope, rider_id)) return {};
  return r_.wallets.ledger_page(rider_id, p);
}

Page<Rider> Wallets::riders(const Scope& scope, const std::optional<std::string>& q, const PageRequest& p) {
  sql::Lock lock(r_.db);
  return r_.wallets.riders(scope, q, p);
}

std::vector<LedgerEntry> Wallets::ledger(const Scope& scope, int64_t rider_id, int64_t limit) {
  sql::Lock lock(r_.db);
  if (!r_.wallets.get(scope, rider_id)) return {};
  return r_.wallets.ledger(rider_id, limit);
}

int64_t Wallets::ledger_sum(int64_t rider_id) {
  sql::Lock lock(r_.db);
  return r_.wallets.ledger_sum(rider_id);
}

}  // namespace chargehub::core
