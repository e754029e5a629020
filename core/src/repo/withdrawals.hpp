// Withdrawals as stored (docs/agents.md "Withdrawals"): an agent's request and its way through pending →
// approved → paid, or → rejected. Rows only: the rules and the money are in app/withdrawals.cpp.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "db/db.hpp"
#include "repo/page.hpp"
#include "repo/scope.hpp"

namespace chargehub::core {

struct WithdrawalRow {
  int64_t id = 0, agent_id = 0, amount_fen = 0;
  std::string state;                          // pending | approved | rejected | paid
  std::string requested_by;                   // actor
  std::optional<std::string> decided_by;      // who approved or rejected it (paid: who marked it paid)
  std::optional<std::string> reference;       // the payment's reference, once paid
  std::string note;
  int64_t created_at = 0;
  std::optional<int64_t> decided_at, paid_at;
};

struct WithdrawalFilter {
  std::optional<std::string> state;
  std::optional<int64_t> agent_id;
};

class WithdrawalRepo {
 public:
  explicit WithdrawalRepo(sql::Db& db) : db_(db) {}
  int64_t insert(const WithdrawalRow& w);   // the new id
  std::optional<WithdrawalRow> get(const Scope& scope, int64_t id);
  // Moves w to its (new) state, decision and note only if it is still in `from`: false when another
  // request changed it first.
  bool transition(const WithdrawalRow& w, const std::string& from);
  // Requests the agent made at or after `since` (whatever became of them).
  int64_t count_since(int64_t agent_id, int64_t since);
  // Locks the agent's balance row until the transaction ends (PostgreSQL; SQLite's writer lock is held
  // already), so an agent's requests are decided one at a time.
  void lock_balance(int64_t agent_id);
  // Newest first by default; sort keys id, created_at, amount_fen.
  Page<WithdrawalRow> page(const Scope& scope, const WithdrawalFilter& f, const PageRequest& p);

 private:
  sql::Db& db_;
};

}  // namespace chargehub::core
