// IC cards: a card spends from a rider's wallet (its holder's, or one made for the card).
#pragma once
#include <cstdint>
#include <optional>
#include <string>

#include "chargehub/states.hpp"
#include "db/db.hpp"

namespace chargehub::core {

struct CardRow {
  std::string uid;   // upper-case hex, as the charger reads it
  int64_t rider_id = 0;
  CardState state = CardState::Active;
  int64_t created_at = 0;
};

class CardRepo {
 public:
  explicit CardRepo(sql::Db& db) : db_(db) {}
  void insert(const CardRow& c);
  std::optional<CardRow> get(const std::string& uid);
  bool set_state(const std::string& uid, CardState s);

 private:
  sql::Db& db_;
};

}  // namespace chargehub::core
