// The income split (issue 17, docs/agents.md "The income split"): when a session settles, its income is
// divided between the platform and the agents above its device, in the settlement's transaction; a refund
// takes the parts back with the shares the session settled with. Reads for the admin API, within the
// caller's scope.
//
//   Income(repos).on_settled(session_id, amount_fen, now);           // inside Sessions::settle's transaction
//   Income(repos).on_refunded(session, refunded_before, refund, now); // inside Sessions::refund's
#pragma once
#include <optional>
#include <vector>

#include "app/repos.hpp"
#include "repo/income.hpp"

namespace chargehub::core {

// One party's part of a session: the recorded share and what it holds of the session now (after refunds).
struct SharePart {
  int64_t party = 0;                  // 0 the platform, 1 the first-level agent, 2 the second-level agent
  std::optional<int64_t> agent_id;    // none: the platform
  int64_t share_bp = 0;
  int64_t part_fen = 0;
};

struct SessionSplit {
  int64_t session_id = 0, amount_fen = 0, refunded_fen = 0, net_fen = 0;
  std::vector<SharePart> parts;       // empty for a session settled before the split (or not settled)
};

class Income {
 public:
  explicit Income(Repos& r) : r_(r), shares_(r.db) {}

  // Inside the caller's transaction, once per settlement: records the shares as they are now and posts
  // each party's part of `amount_fen` (kind income; the platform's with agent_id none). Rows of 0 fen are
  // not posted; the shares are recorded whatever the amount.
  void on_settled(int64_t session_id, int64_t amount_fen, int64_t now);
  // Inside the caller's transaction: a refund of `refund_fen` of the settled session `s` (its amount_fen
  // the income) after `refunded_before_fen` was refunded: the parts' differences, kind refund, with the
  // recorded shares. Nothing for a session without recorded shares (nothing was booked for it).
  void on_refunded(const SessionRow& s, int64_t refunded_before_fen, int64_t refund_fen, int64_t now);

  // Reads (each under the connection's lock). None: no such agent or session within the scope.
  std::optional<AgentBalance> balance(const Scope& scope, int64_t agent_id);
  std::optional<Page<AgentLedgerEntry>> ledger(const Scope& scope, int64_t agent_id, const PageRequest& p);
  std::optional<SessionSplit> split(const Scope& scope, int64_t session_id);

 private:
  void post(const ShareChain& c, const rules::IncomeParts& parts, int64_t sign, const char* kind, int64_t session_id, int64_t now);
  Repos& r_;
  IncomeRepo shares_;
};

}  // namespace chargehub::core
