#include "cards.hpp"

namespace chargehub::core {

void CardRepo::insert(const CardRow& c) {
  db_.prepare("INSERT INTO card (uid, rider_id, state, created_at, agent_id) VALUES (?, ?, ?, ?, ?)")
      .args(c.uid, c.rider_id, std::string(name(c.state)), c.created_at, c.agent_id)
      .run();
}

std::optional<CardRow> CardRepo::get(const std::string& uid) {
  auto st = db_.prepare("SELECT uid, rider_id, state, created_at, agent_id FROM card WHERE uid = ?");
  st.args(uid);
  if (!st.step()) return std::nullopt;
  return CardRow{st.text(0), st.i64(1), parse_card_state(st.text(2)).value_or(CardState::Blocked), st.i64(3), st.opt_i64(4)};
}

std::optional<CardRow> CardRepo::get(const Scope& scope, const std::string& uid) {
  auto st = db_.prepare("SELECT uid, rider_id, state, created_at, agent_id FROM card WHERE uid = ?2 AND " + scope_sql("agent_id", 1));
  st.bind(1, scope.bind()).bind(2, uid);
  if (!st.step()) return std::nullopt;
  return CardRow{st.text(0), st.i64(1), parse_card_state(st.text(2)).value_or(CardState::Blocked), st.i64(3), st.opt_i64(4)};
}

bool CardRepo::set_state(const std::string& uid, CardState s) {
  db_.prepare("UPDATE card SET state = ? WHERE uid = ?").args(std::string(name(s)), uid).run();
  return db_.changes() > 0;
}

}  // namespace chargehub::core
