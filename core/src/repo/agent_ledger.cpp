#include "repo/agent_ledger.hpp"

namespace chargehub::core {

void AgentLedgerRepo::post(const AgentLedgerEntry& e) {
  db_.prepare("INSERT INTO agent_ledger (agent_id, kind, amount_fen, session_id, withdrawal_id, note, created_at) VALUES (?,?,?,?,?,?,?)")
      .args(e.agent_id, e.kind, e.amount_fen, e.session_id, e.withdrawal_id, e.note, e.created_at)
      .run();
  if (!e.agent_id) return;
  // The balance row exists from the agent's creation; an agent made before it gets one now.
  db_.prepare("INSERT INTO agent_balance (agent_id) SELECT ? WHERE NOT EXISTS (SELECT 1 FROM agent_balance WHERE agent_id = ?)")
      .args(*e.agent_id, *e.agent_id)
      .run();
  db_.prepare("UPDATE agent_balance SET balance_fen = balance_fen + ? WHERE agent_id = ?").args(e.amount_fen, *e.agent_id).run();
}

void AgentLedgerRepo::post_all(const std::vector<AgentLedgerEntry>& rows) {
  if (rows.empty()) return;
  std::string sql = "INSERT INTO agent_ledger (agent_id, kind, amount_fen, session_id, withdrawal_id, note, created_at) VALUES ";
  for (size_t i = 0; i < rows.size(); ++i) sql += i ? ",(?,?,?,?,?,?,?)" : "(?,?,?,?,?,?,?)";
  auto st = db_.prepare(sql);
  // Seven parameters per row, bound one statement each (no two increments of k in one expression).
  int k = 0;
  for (auto& e : rows) {
    st.bind(k + 1, e.agent_id);
    st.bind(k + 2, e.kind);
    st.bind(k + 3, e.amount_fen);
    st.bind(k + 4, e.session_id);
    st.bind(k + 5, e.withdrawal_id);
    st.bind(k + 6, e.note);
    st.bind(k + 7, e.created_at);
    k += 7;
  }
  st.run();
  for (auto& e : rows) {
    if (!e.agent_id) continue;
    // The balance row exists from the agent's creation (one statement); an agent made before it gets one.
    auto up = db_.prepare("UPDATE agent_balance SET balance_fen = balance_fen + ? WHERE agent_id = ? RETURNING agent_id");
    up.args(e.amount_fen, *e.agent_id);
    bool found = up.step();
    up.run();
    if (!found) db_.prepare("INSERT INTO agent_balance (agent_id, balance_fen) VALUES (?, ?)").args(*e.agent_id, e.amount_fen).run();
  }
}

void AgentLedgerRepo::hold(int64_t agent_id, int64_t fen) {
  db_.prepare("UPDATE agent_balance SET held_fen = held_fen + ? WHERE agent_id = ?").args(fen, agent_id).run();
}

void AgentLedgerRepo::release(int64_t agent_id, int64_t fen) {
  db_.prepare("UPDATE agent_balance SET held_fen = held_fen - ? WHERE agent_id = ?").args(fen, agent_id).run();
}

std::optional<AgentBalance> AgentLedgerRepo::balance(int64_t agent_id) {
  auto st = db_.prepare(
      "SELECT a.id, coalesce(b.balance_fen, 0), coalesce(b.held_fen, 0) FROM agent a LEFT JOIN agent_balance b ON b.agent_id = a.id "
      "WHERE a.id = ?");
  st.args(agent_id);
  if (!st.step()) return std::nullopt;
  return AgentBalance{st.i64(0), st.i64(1), st.i64(2)};
}

int64_t AgentLedgerRepo::ledger_sum(std::optional<int64_t> agent_id) {
  auto st = db_.prepare("SELECT coalesce(sum(amount_fen), 0) FROM agent_ledger WHERE (CAST(?1 AS BIGINT) IS NULL AND agent_id IS NULL) OR agent_id = ?1");
  st.bind(1, agent_id);
  st.step();
  return st.i64(0);
}

Page<AgentLedgerEntry> AgentLedgerRepo::page(const Scope& scope, int64_t agent_id, const PageRequest& p) {
  const std::string where = " FROM agent_ledger WHERE agent_id = ?1 AND " + scope_sql("agent_id", 2);
  Page<AgentLedgerEntry> out;
  {
    auto st = db_.prepare("SELECT count(*)" + where);
    st.bind(1, agent_id).bind(2, scope.bind());
    if (st.step()) out.total = st.i64(0);
  }
  auto st = db_.prepare("SELECT id, agent_id, kind, amount_fen, session_id, withdrawal_id, note, created_at" + where + " ORDER BY id" +
                        (p.sort.empty() || p.desc ? " DESC" : "") + " LIMIT ?3 OFFSET ?4");
  st.bind(1, agent_id).bind(2, scope.bind()).bind(3, p.size).bind(4, p.offset());
  while (st.step())
    out.items.push_back(AgentLedgerEntry{st.i64(0), st.opt_i64(1), st.text(2), st.i64(3), st.opt_i64(4), st.opt_i64(5), st.text(6), st.i64(7)});
  return out;
}

}  // namespace chargehub::core
