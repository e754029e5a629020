#include "repo/withdrawals.hpp"

namespace chargehub::core {

namespace {
const char* kColumns = "id, agent_id, amount_fen, state, requested_by, decided_by, reference, note, created_at, decided_at, paid_at";

WithdrawalRow row_of(sql::Stmt& st) {
  return WithdrawalRow{st.i64(0),      st.i64(1),      st.i64(2), st.text(3),     st.text(4),     st.opt_text(5),
                       st.opt_text(6), st.text(7),     st.i64(8), st.opt_i64(9), st.opt_i64(10)};
}
}  // namespace

int64_t WithdrawalRepo::insert(const WithdrawalRow& w) {
  auto st = db_.prepare(
      "INSERT INTO withdrawal (agent_id, amount_fen, state, requested_by, decided_by, reference, note, created_at, decided_at, paid_at) "
      "VALUES (?,?,?,?,?,?,?,?,?,?) RETURNING id");
  st.args(w.agent_id, w.amount_fen, w.state, w.requested_by, w.decided_by, w.reference, w.note, w.created_at, w.decided_at, w.paid_at);
  st.step();
  int64_t id = st.i64(0);
  st.run();
  return id;
}

std::optional<WithdrawalRow> WithdrawalRepo::get(const Scope& scope, int64_t id) {
  auto st = db_.prepare(std::string("SELECT ") + kColumns + " FROM withdrawal WHERE id = ?1 AND " + scope_sql("agent_id", 2));
  st.bind(1, id).bind(2, scope.bind());
  if (!st.step()) return std::nullopt;
  auto w = row_of(st);
  st.run();
  return w;
}

bool WithdrawalRepo::transition(const WithdrawalRow& w, const std::string& from) {
  db_.prepare("UPDATE withdrawal SET state = ?, decided_by = ?, reference = ?, note = ?, decided_at = ?, paid_at = ? WHERE id = ? AND state = ?")
      .args(w.state, w.decided_by, w.reference, w.note, w.decided_at, w.paid_at, w.id, from)
      .run();
  return db_.changes() == 1;
}

int64_t WithdrawalRepo::count_since(int64_t agent_id, int64_t since) {
  auto st = db_.prepare("SELECT count(*) FROM withdrawal WHERE agent_id = ? AND created_at >= ?");
  st.args(agent_id, since);
  st.step();
  int64_t n = st.i64(0);
  st.run();
  return n;
}

void WithdrawalRepo::lock_balance(int64_t agent_id) {
  db_.prepare("UPDATE agent_balance SET held_fen = held_fen WHERE agent_id = ?").args(agent_id).run();
}

Page<WithdrawalRow> WithdrawalRepo::page(const Scope& scope, const WithdrawalFilter& f, const PageRequest& p) {
  const std::string where = " FROM withdrawal WHERE " + scope_sql("agent_id", 1) +
                            " AND (CAST(?2 AS TEXT) IS NULL OR state = ?2) AND (CAST(?3 AS BIGINT) IS NULL OR agent_id = ?3)";
  Page<WithdrawalRow> out;
  {
    auto st = db_.prepare("SELECT count(*)" + where);
    st.bind(1, scope.bind()).bind(2, f.state).bind(3, f.agent_id);
    if (st.step()) out.total = st.i64(0);
    st.run();
  }
  const bool known = p.sort == "id" || p.sort == "created_at" || p.sort == "amount_fen";
  const std::string dir = p.desc ? " DESC" : "";
  std::string order = known ? p.sort + dir + ", id" + dir : "id DESC";
  auto st = db_.prepare(std::string("SELECT ") + kColumns + where + " ORDER BY " + order + " LIMIT ?4 OFFSET ?5");
  st.bind(1, scope.bind()).bind(2, f.state).bind(3, f.agent_id).bind(4, p.size).bind(5, p.offset());
  while (st.step()) out.items.push_back(row_of(st));
  return out;
}

}  // namespace chargehub::core
