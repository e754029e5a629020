#include "repo/income.hpp"

namespace chargehub::core {

ShareChain IncomeRepo::chain_now(int64_t session_id) {
  auto st = db_.prepare(
      "SELECT a.id, a.level, a.share_bp, p.id, p.share_bp FROM session s JOIN agent a ON a.id = s.agent_id "
      "LEFT JOIN agent p ON p.id = a.parent_id WHERE s.id = ?");
  st.args(session_id);
  ShareChain c;
  if (!st.step()) return c;
  if (st.i64(1) == 2 && st.opt_i64(3)) {
    c.second_agent = st.i64(0);
    c.first_agent = st.i64(3);
    c.chain = rules::Chain::two(st.i64(4), st.i64(2));
  } else {
    c.first_agent = st.i64(0);
    c.chain = rules::Chain::one(st.i64(2));
  }
  while (st.step()) {}
  return c;
}

void IncomeRepo::record(int64_t session_id, const ShareChain& c) {
  // One statement for the session's rows (settlement is the hot path).
  constexpr const char* kInsert = "INSERT INTO session_share (session_id, party, agent_id, share_bp) VALUES (?1, 0, NULL, ?2)";
  int64_t platform_bp = 10000 - c.chain.first_bp.value_or(0);
  if (c.second_agent)
    db_.prepare(std::string(kInsert) + ", (?1, 1, ?3, ?4), (?1, 2, ?5, ?6)")
        .args(session_id, platform_bp, c.first_agent, c.chain.first_bp.value_or(0), c.second_agent, c.chain.second_bp.value_or(0))
        .run();
  else if (c.first_agent)
    db_.prepare(std::string(kInsert) + ", (?1, 1, ?3, ?4)").args(session_id, platform_bp, c.first_agent, c.chain.first_bp.value_or(0)).run();
  else
    db_.prepare(kInsert).args(session_id, platform_bp).run();
}

std::vector<SessionShareRow> IncomeRepo::rows(int64_t session_id) {
  auto st = db_.prepare("SELECT session_id, party, agent_id, share_bp FROM session_share WHERE session_id = ? ORDER BY party");
  st.args(session_id);
  std::vector<SessionShareRow> out;
  while (st.step()) out.push_back(SessionShareRow{st.i64(0), st.i64(1), st.opt_i64(2), st.i64(3)});
  return out;
}

std::optional<ShareChain> IncomeRepo::recorded(int64_t session_id) {
  auto rs = rows(session_id);
  if (rs.empty()) return std::nullopt;
  ShareChain c;
  for (auto& r : rs) {
    if (r.party == 1) {
      c.first_agent = r.agent_id;
      c.chain.first_bp = r.share_bp;
    } else if (r.party == 2) {
      c.second_agent = r.agent_id;
      c.chain.second_bp = r.share_bp;
    }
  }
  return c;
}

bool IncomeRepo::agent_visible(const Scope& scope, int64_t agent_id) {
  auto st = db_.prepare("SELECT 1 FROM agent WHERE id = ?1 AND " + scope_sql("id", 2));
  st.bind(1, agent_id).bind(2, scope.bind());
  bool found = st.step();
  while (st.step()) {}
  return found;
}

bool IncomeRepo::session_visible(const Scope& scope, int64_t session_id) {
  auto st = db_.prepare("SELECT 1 FROM session WHERE id = ?1 AND " + scope_sql("agent_id", 2));
  st.bind(1, session_id).bind(2, scope.bind());
  bool found = st.step();
  while (st.step()) {}
  return found;
}

}  // namespace chargehub::core
