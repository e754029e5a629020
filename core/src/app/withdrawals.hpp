// Withdrawals (docs/agents.md "Withdrawals"): an agent asks for money from its available balance (held
// while pending or approved); the platform's finance approves, rejects (released) or marks it paid (a
// `withdrawal` ledger row, the hold released), each in one transaction with the money it moves.
//
//   auto w = app.withdrawals.request(Scope::agent(7), 20000, "", "account:a7", now);   // held
//   app.withdrawals.approve(Scope::platform(), w->id, "account:fin", now);
//   app.withdrawals.pay(Scope::platform(), w->id, "BANK-2026-0001", "account:fin", now);
//
// Refusals: agent_only (the platform requests for nobody), bad_amount, amount_too_small,
// amount_too_large, too_many_today (withdrawal.daily_count per day in report.time_zone),
// insufficient_funds; platform_only (deciding), withdrawal_not_found (also another agent's),
// withdrawal_state (not in a state the step starts from), bad_reference, bad_note.
#pragma once
#include "app/repos.hpp"
#include "app/settings.hpp"
#include "chargehub/result.hpp"
#include "repo/withdrawals.hpp"

namespace chargehub::core {

class Withdrawals {
 public:
  Withdrawals(Repos& r, Settings& settings) : r_(r), settings_(settings) {}
  // For the scope's own agent (the caller's), never for another.
  Result<WithdrawalRow> request(const Scope& scope, int64_t amount_fen, const std::string& note, const std::string& actor, int64_t now);
  Result<WithdrawalRow> approve(const Scope& scope, int64_t id, const std::string& actor, int64_t now);          // pending → approved
  Result<WithdrawalRow> reject(const Scope& scope, int64_t id, const std::string& note, const std::string& actor,
                               int64_t now);                                                                      // pending|approved → rejected
  Result<WithdrawalRow> pay(const Scope& scope, int64_t id, const std::string& reference, const std::string& actor,
                            int64_t now);                                                                         // approved → paid

  std::optional<WithdrawalRow> get(const Scope& scope, int64_t id);
  Page<WithdrawalRow> page(const Scope& scope, const WithdrawalFilter& f, const PageRequest& p);

 private:
  Result<WithdrawalRow> decide(const Scope& scope, int64_t id, std::initializer_list<std::string_view> from, const std::string& to,
                               const std::string& actor, int64_t now, const std::string& note, const std::string& reference);
  Repos& r_;
  Settings& settings_;
};

}  // namespace chargehub::core
