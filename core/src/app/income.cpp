#include "app/income.hpp"

namespace chargehub::core {

void Income::post(const ShareChain& c, const rules::IncomeParts& parts, int64_t sign, const char* kind, int64_t session_id, int64_t now) {
  std::vector<AgentLedgerEntry> rows;
  auto one = [&](std::optional<int64_t> agent, int64_t fen) {
    if (fen != 0) rows.push_back(AgentLedgerEntry{0, agent, kind, sign * fen, session_id, std::nullopt, "", now});
  };
  one(std::nullopt, parts.platform);
  one(c.first_agent, parts.first);
  one(c.second_agent, parts.second);
  r_.agent_ledger.post_all(rows);
}

void Income::on_settled(int64_t session_id, int64_t amount_fen, int64_t now) {
  auto c = shares_.chain_now(session_id);
  shares_.record(session_id, c);
  post(c, rules::split_income(amount_fen, c.chain), 1, "income", session_id, now);
}

void Income::on_refunded(const SessionRow& s, int64_t refunded_before_fen, int64_t refund_fen, int64_t now) {
  auto c = shares_.recorded(s.id);
  if (!c) return;
  post(*c, rules::refund_deltas(s.amount_fen.value_or(0), refunded_before_fen, refund_fen, c->chain), -1, "refund", s.id, now);
}

std::optional<AgentBalance> Income::balance(const Scope& scope, int64_t agent_id) {
  sql::Lock lock(r_.db);
  if (!shares_.agent_visible(scope, agent_id)) return std::nullopt;
  return r_.agent_ledger.balance(agent_id);
}

std::optional<Page<AgentLedgerEntry>> Income::ledger(const Scope& scope, int64_t agent_id, const PageRequest& p) {
  sql::Lock lock(r_.db);
  if (!shares_.agent_visible(scope, agent_id)) return std::nullopt;
  return r_.agent_ledger.page(scope, agent_id, p);
}

std::optional<SessionSplit> Income::split(const Scope& scope, int64_t session_id) {
  sql::Lock lock(r_.db);
  if (!shares_.session_visible(scope, session_id)) return std::nullopt;
  auto s = r_.sessions.get(session_id);
  if (!s) return std::nullopt;
  SessionSplit out{s->id, s->amount_fen.value_or(0), s->refunded_fen, s->amount_fen.value_or(0) - s->refunded_fen, {}};
  auto c = shares_.recorded(s->id);
  if (!c) return out;
  auto parts = rules::split_income(out.net_fen, c->chain);
  for (auto& row : shares_.rows(s->id)) {
    int64_t fen = row.party == 0 ? parts.platform : row.party == 1 ? parts.first : parts.second;
    out.parts.push_back(SharePart{row.party, row.agent_id, row.share_bp, fen});
  }
  return out;
}

}  // namespace chargehub::core
