// The income split's money (issue 17, docs/agents.md): an agent's balance and ledger, one session's
// split. Scoped: an agent's caller sees its own and its sub-agents' only (another id is not found).
#include "routes/routes.hpp"
#include "routes/views.hpp"

namespace chargehub::api {

namespace {

struct AgentBalanceView {
  int64_t agent_id;
  int64_t balance_fen;     // the sum of the agent's ledger
  int64_t held_fen;        // held for pending withdrawals
  int64_t available_fen;   // balance − held
};
BOOST_DESCRIBE_STRUCT(AgentBalanceView, (), (agent_id, balance_fen, held_fen, available_fen))

struct AgentLedgerView {
  int64_t id;
  optional<int64_t> agent_id;
  string kind;             // income | refund | withdrawal | adjustment
  int64_t amount_fen;      // signed
  optional<int64_t> session_id, withdrawal_id;
  string note;
  int64_t created_at;
};
BOOST_DESCRIBE_STRUCT(AgentLedgerView, (), (id, agent_id, kind, amount_fen, session_id, withdrawal_id, note, created_at))

struct SharePartView {
  int64_t party;               // 0 the platform, 1 the first-level agent, 2 the second-level agent
  optional<int64_t> agent_id;  // null: the platform
  int64_t share_bp;            // as recorded when the session settled (the platform's: 10000 − the first level's)
  int64_t part_fen;            // the party's part of the session now (after refunds)
};
BOOST_DESCRIBE_STRUCT(SharePartView, (), (party, agent_id, share_bp, part_fen))

struct SessionSharesView {
  int64_t session_id;
  int64_t amount_fen;      // the income settled
  int64_t refunded_fen;
  int64_t net_fen;         // amount − refunded: what the parts sum to
  std::vector<SharePartView> parts;   // empty: not settled, or settled before the split
};
BOOST_DESCRIBE_STRUCT(SessionSharesView, (), (session_id, amount_fen, refunded_fen, net_fen, parts))

AgentLedgerView agent_ledger_view(const core::AgentLedgerEntry& e) {
  return AgentLedgerView{e.id, e.agent_id, e.kind, e.amount_fen, e.session_id, e.withdrawal_id, e.note, e.created_at};
}

}  // namespace

std::vector<Route> income_routes() {
  std::vector<Route> r;
  r.push_back(Route{"GET", "/api/v1/agents/{id}/balance", "finance.view", Scope::Platform, "An agent's balance, held and available",
                    [](Ctx& c) {
                      auto b = c.app.income.balance(c.scope(), c.id("id"));
                      if (!b) return fail(404, "agent_not_found", "no agent with this id");
                      return ok(json::value_from(AgentBalanceView{b->agent_id, b->balance_fen, b->held_fen, b->available_fen()}));
                    }}
                  .with_response<AgentBalanceView>()
                  .may_refuse({"agent_not_found"}));
  r.push_back(Route{"GET", "/api/v1/agents/{id}/ledger", "finance.view", Scope::Platform, "An agent's ledger, newest first",
                    [](Ctx& c) {
                      auto p = c.page({"id"});
                      auto page = c.app.income.ledger(c.scope(), c.id("id"), p);
                      if (!page) return fail(404, "agent_not_found", "no agent with this id");
                      return ok(page_json(*page, p, agent_ledger_view));
                    }}
                  .with_page<AgentLedgerView>()
                  .may_refuse({"agent_not_found"}));
  r.push_back(Route{"GET", "/api/v1/sessions/{id}/shares", "finance.view", Scope::Platform,
                    "A session's income split: the shares it settled with and each party's part",
                    [](Ctx& c) {
                      auto s = c.app.income.split(c.scope(), c.id("id"));
                      if (!s) return fail(404, "session_not_found", "no session with this id");
                      SessionSharesView v{s->session_id, s->amount_fen, s->refunded_fen, s->net_fen, {}};
                      for (auto& p : s->parts) v.parts.push_back(SharePartView{p.party, p.agent_id, p.share_bp, p.part_fen});
                      return ok(json::value_from(v));
                    }}
                  .with_response<SessionSharesView>()
                  .may_refuse({"session_not_found"}));
  return r;
}

}  // namespace chargehub::api
