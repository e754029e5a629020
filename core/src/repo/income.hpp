// The income split's rows (issue 17, docs/agents.md "The income split"): the agents above a session's
// device as they are now, and the shares a session settled with (`session_share`). The ledger rows are
// AgentLedgerRepo's; the split itself is rules/income_split.hpp.
#pragma once
#include <cstdint>
#include <optional>
#include <vector>

#include "chargehub/rules/income_split.hpp"
#include "db/db.hpp"
#include "repo/scope.hpp"

namespace chargehub::core {

// Who shares a session's income and with which shares: A (first level) and B (second level, under A).
struct ShareChain {
  std::optional<int64_t> first_agent, second_agent;
  rules::Chain chain;   // the shares in basis points
};

// One session_share row. party 0 = the platform (share_bp: what it keeps before rounding, 10000 − s_A),
// 1 = the first-level agent, 2 = the second-level agent.
struct SessionShareRow {
  int64_t session_id = 0, party = 0;
  std::optional<int64_t> agent_id;
  int64_t share_bp = 0;
};

class IncomeRepo {
 public:
  explicit IncomeRepo(sql::Db& db) : db_(db) {}
  // The session's agent (session.agent_id) and its parent with their shares now; a platform chain for a
  // session without an agent (or an unknown session).
  ShareChain chain_now(int64_t session_id);
  // Records the chain as the session's shares (one row per party it has).
  void record(int64_t session_id, const ShareChain& c);
  // The shares a session settled with; none when it has no rows (settled before the split existed).
  std::optional<ShareChain> recorded(int64_t session_id);
  std::vector<SessionShareRow> rows(int64_t session_id);
  // Whether the agent exists and is within the scope (itself or a sub-agent of the caller).
  bool agent_visible(const Scope& scope, int64_t agent_id);
  // Whether the session exists and is within the scope (the platform sees every session, an agent the
  // sessions of its own and its sub-agents' devices).
  bool session_visible(const Scope& scope, int64_t session_id);

 private:
  sql::Db& db_;
};

}  // namespace chargehub::core
