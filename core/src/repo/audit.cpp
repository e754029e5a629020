#include "audit.hpp"

#include <algorithm>

namespace chargehub::core {

int64_t AuditRepo::insert(const AuditRow& r) {
  auto st = db_.prepare(
      "INSERT INTO audit_log (at, account_id, actor, address, action, target_type, target_id, before_json, after_json) "
      "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id");
  st.args(r.at, r.account_id, r.actor, r.address, r.action, r.target_type, r.target_id, r.before_json, r.after_json);
  st.step();
  int64_t id = st.i64(0);
  st.run();
  return id;
}

Page<AuditRow> AuditRepo::list(const Scope& scope, const AuditQuery& q, const PageRequest& p) {
  std::string where = " WHERE 1 = 1";
  if (!scope.is_platform()) where += " AND account_id IN (SELECT id FROM account WHERE " + scope_sql("agent_id", 1) + ")";
  if (q.account_id) where += " AND account_id = ?";
  if (q.action) where += " AND action = ?";
  if (q.target_type) where += " AND target_type = ?";
  if (q.target_id) where += " AND target_id = ?";
  if (q.from) where += " AND at >= ?";
  if (q.to) where += " AND at < ?";
  auto bind_filters = [&](sql::Stmt& st) {
    int i = 0;
    if (!scope.is_platform()) st.bind(++i, scope.bind());
    if (q.account_id) st.bind(++i, *q.account_id);
    if (q.action) st.bind(++i, *q.action);
    if (q.target_type) st.bind(++i, *q.target_type);
    if (q.target_id) st.bind(++i, *q.target_id);
    if (q.from) st.bind(++i, *q.from);
    if (q.to) st.bind(++i, *q.to);
    return i;
  };
  Page<AuditRow> page;
  {
    auto st = db_.prepare("SELECT count(*) FROM audit_log" + where);
    bind_filters(st);
    if (st.step()) page.total = st.i64(0);
    st.run();
  }
  std::string order;
  if (p.sort == "at") order = p.desc ? "at DESC, id DESC" : "at ASC, id ASC";
  else if (p.sort == "id") order = p.desc ? "id DESC" : "id ASC";
  else order = "id DESC";   // newest first
  auto st = db_.prepare(
      "SELECT id, at, account_id, actor, address, action, target_type, target_id, before_json, after_json FROM audit_log" + where +
      " ORDER BY " + order + " LIMIT ? OFFSET ?");
  int i = bind_filters(st);
  int64_t size = std::clamp<int64_t>(p.size, 1, 200);
  st.bind(++i, size);
  st.bind(++i, (std::max<int64_t>(p.page, 1) - 1) * size);
  while (st.step())
    page.items.push_back(AuditRow{st.i64(0), st.i64(1), st.opt_i64(2), st.text(3), st.text(4), st.text(5), st.text(6), st.text(7),
                                  st.opt_text(8), st.opt_text(9)});
  return page;
}

}  // namespace chargehub::core
