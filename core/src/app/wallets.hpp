// Riders and their wallets: creating riders, top-ups (with a recharge offer's bonus), the ledger.
#pragma once
#include "app/repos.hpp"
#include "chargehub/result.hpp"

namespace chargehub::core {

class Wallets {
 public:
  explicit Wallets(Repos& r) : r_(r) {}
  // The caller's scope: a rider registered by an agent's caller belongs to that agent; a rider outside
  // the scope is rider_not_found (see WalletRepo::get for who is inside).
  Rider create_rider(const Scope& scope, const std::string& name, const std::string& phone, int64_t now);
  std::optional<Rider> rider(const Scope& scope, int64_t id);
  Result<Rider> topup(const Scope& scope, int64_t rider_id, int64_t amount_fen, int64_t bonus_fen, const std::string& note, int64_t now);
  std::vector<LedgerEntry> ledger(const Scope& scope, int64_t rider_id, int64_t limit);
  Page<LedgerEntry> ledger_page(const Scope& scope, int64_t rider_id, const PageRequest& p);
  Page<Rider> riders(const Scope& scope, const std::optional<std::string>& q, const PageRequest& p);
  int64_t ledger_sum(int64_t rider_id);   // equals the balance, always

 private:
  Repos& r_;
};

}  // namespace chargehub::core
