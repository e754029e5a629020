#include "repo/agents.hpp"

namespace chargehub::core {

namespace {
constexpr const char* kCols = "id, parent_id, level, name, share_bp, contact_name, contact_phone, settlement_account, frozen, created_at, updated_at";

AgentRow row(const sql::Stmt& st) {
  return AgentRow{st.i64(0),  st.opt_i64(1), st.i64(2),     st.text(3), st.i64(4), st.text(5),
                  st.text(6), st.text(7),    st.boolean(8), st.i64(9),  st.i64(10)};
}
}  // namespace

int64_t AgentRepo::insert(const AgentRow& a) {
  auto st = db_.prepare(
      "INSERT INTO agent (parent_id, level, name, share_bp, contact_name, contact_phone, settlement_account, frozen, created_at, updated_at) "
      "VALUES (?,?,?,?,?,?,?,?,?,?) RETURNING id");
  st.args(a.parent_id, a.level, a.name, a.share_bp, a.contact_name, a.contact_phone, a.settlement_account, a.frozen, a.created_at, a.updated_at);
  st.step();
  int64_t id = st.i64(0);
  st.reset();
  db_.prepare("INSERT INTO agent_balance (agent_id) VALUES (?)").args(id).run();
  return id;
}

std::optional<AgentRow> AgentRepo::get(const Scope& scope, int64_t id) {
  auto st = db_.prepare(std::string("SELECT ") + kCols + " FROM agent WHERE id = ?1 AND " + scope_sql("id", 2));
  st.bind(1, id).bind(2, scope.bind());
  if (!st.step()) return std::nullopt;
  return row(st);
}

Page<AgentRow> AgentRepo::list(const Scope& scope, const AgentQuery& q, const PageRequest& p) {
  const std::string where = " FROM agent WHERE " + scope_sql("id", 1) +
                            " AND (CAST(?2 AS TEXT) IS NULL OR name LIKE ?2 ESCAPE '\\' OR contact_name LIKE ?2 ESCAPE '\\' "
                            "OR contact_phone LIKE ?2 ESCAPE '\\') "
                            "AND (CAST(?3 AS BIGINT) IS NULL OR parent_id = ?3) AND (CAST(?4 AS BIGINT) IS NULL OR level = ?4) "
                            "AND (CAST(?5 AS BIGINT) IS NULL OR frozen = ?5)";
  std::optional<std::string> like;
  if (q.q) like = "%" + like_escape(*q.q) + "%";
  std::optional<int64_t> frozen;
  if (q.frozen) frozen = *q.frozen ? 1 : 0;
  auto bind = [&](sql::Stmt& st) { st.bind(1, scope.bind()).bind(2, like).bind(3, q.parent_id).bind(4, q.level).bind(5, frozen); };
  Page<AgentRow> out;
  {
    auto st = db_.prepare("SELECT count(*)" + where);
    bind(st);
    if (st.step()) out.total = st.i64(0);
  }
  // The sort key comes from the route's whitelist; anything else falls back to id.
  std::string order = p.sort == "name" || p.sort == "created_at" || p.sort == "share_bp" ? p.sort : "id";
  std::string dir = p.desc ? " DESC" : "";
  auto st = db_.prepare(std::string("SELECT ") + kCols + where + " ORDER BY " + order + dir + ", id" + dir + " LIMIT ?6 OFFSET ?7");
  bind(st);
  st.bind(6, p.size).bind(7, p.offset());
  while (st.step()) out.items.push_back(row(st));
  return out;
}

void AgentRepo::update(const AgentRow& a) {
  db_.prepare("UPDATE agent SET name = ?, share_bp = ?, contact_name = ?, contact_phone = ?, settlement_account = ?, updated_at = ? WHERE id = ?")
      .args(a.name, a.share_bp, a.contact_name, a.contact_phone, a.settlement_account, a.updated_at, a.id)
      .run();
}

void AgentRepo::set_frozen(int64_t id, bool frozen, int64_t now) {
  db_.prepare("UPDATE agent SET frozen = ?, updated_at = ? WHERE id = ?").args(frozen, now, id).run();
}

std::optional<int64_t> AgentRepo::max_sub_share(int64_t id) {
  auto st = db_.prepare("SELECT max(share_bp) FROM agent WHERE parent_id = ?");
  st.args(id);
  if (!st.step()) return std::nullopt;
  return st.opt_i64(0);
}

bool AgentRepo::login_blocked(int64_t id) {
  auto st = db_.prepare("SELECT count(*) FROM agent a LEFT JOIN agent p ON p.id = a.parent_id WHERE a.id = ? AND (a.frozen <> 0 OR p.frozen <> 0)");
  st.args(id);
  return st.step() && st.i64(0) > 0;
}

}  // namespace chargehub::core
