// IC cards: a card spends from a rider's wallet (its holder's, or one made for the card).
#pragma once
#include <cstdint>
#include <optional>
#include <string>

#include "chargehub/states.hpp"
#include "db/db.hpp"
#include "repo/scope.hpp"

namespace chargehub::core {

struct CardRow {
  std::string uid;   // upper-case hex, as the charger reads it
  int64_t rider_id = 0;
  CardState state = CardState::Active;
  int64_t created_at = 0;
  std::optional<int64_t> agent_id;   // the agent that issued it (null: the platform)
};

class CardRepo {
 public:
  explicit CardRepo(sql::Db& db) : db_(db) {}
  void insert(const CardRow& c);
  // get(uid): the fleet's (a swipe, a uid taken already). The API's: card.agent_id within the scope.
  std::optional<CardRow> get(const std::string& uid);
  std::optional<CardRow> get(const Scope& scope, const std::string& uid);
  bool set_state(const std::string& uid, CardState s);

 private:
  sql::Db& db_;
};

}  // namespace chargehub::core
