// The parties' money (issue 17, docs/agents.md): the append-only agent ledger (agent_id none = the
// platform's part of an income) and the agents' balances, always equal to the sum of their rows. Rows
// only: the split is decided in domain (rules/income_split.hpp), withdrawals in app/withdrawals.cpp.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "db/db.hpp"
#include "repo/page.hpp"
#include "repo/scope.hpp"

namespace chargehub::core {

struct AgentLedgerEntry {
  int64_t id = 0;
  std::optional<int64_t> agent_id;   // none: the platform
  std::string kind;                  // income | refund | withdrawal | adjustment
  int64_t amount_fen = 0;            // signed: a refund or a withdrawal is negative
  std::optional<int64_t> session_id, withdrawal_id;
  std::string note;
  int64_t created_at = 0;
};

struct AgentBalance {
  int64_t agent_id = 0, balance_fen = 0, held_fen = 0;
  int64_t available_fen() const { return balance_fen - held_fen; }
};

class AgentLedgerRepo {
 public:
  explicit AgentLedgerRepo(sql::Db& db) : db_(db) {}
  // A ledger row and, for an agent, the balance change it records (inside the caller's transaction).
  void post(const AgentLedgerEntry& e);
  // The same for several rows at once (a settlement's parts): one INSERT of the rows and one upsert per
  // agent's balance, instead of three statements a row (settlement is the hot path).
  void post_all(const std::vector<AgentLedgerEntry>& rows);
  void hold(int64_t agent_id, int64_t fen);      // held_fen += fen (the table refuses held > balance)
  void release(int64_t agent_id, int64_t fen);   // held_fen -= fen
  std::optional<AgentBalance> balance(int64_t agent_id);   // none for an unknown agent
  int64_t ledger_sum(std::optional<int64_t> agent_id);     // the platform's with none
  // An agent's rows (within the scope), newest first; sort key id.
  Page<AgentLedgerEntry> page(const Scope& scope, int64_t agent_id, const PageRequest& p);

 private:
  sql::Db& db_;
};

}  // namespace chargehub::core
