// What an IC card swipe on a port does: refuse (and why, as the charger shows it), stop the card's own
// session on that port (swipe again to stop), or start a session prepaying from the card's wallet. Pure.
#pragma once
#include <cstdint>
#include <optional>
#include <string>

#include "chargehub/messages.hpp"
#include "chargehub/result.hpp"
#include "chargehub/states.hpp"

namespace chargehub::rules {

struct CardRules {
  int64_t prepay_fen = 1000;   // a swipe prepays this much (or the wallet's whole available balance if less)
  int64_t min_fen = 50;        // below this available balance a swipe is refused
};

struct SessionOnPort {
  int64_t id = 0;
  std::optional<std::string> card_uid;   // the card that started it, if one did
  int64_t prepaid_fen = 0;
};

struct SwipeFacts {
  std::string uid;
  std::optional<CardState> card;         // nothing: the card is not registered
  std::optional<SessionOnPort> on_port;  // what holds the port now
  int64_t available_fen = 0;             // the card's wallet
};

struct SwipeDecision {
  enum class Action { Refuse, StopOwnSession, Start } action = Action::Refuse;
  proto::CardResult result = proto::CardResult::Blocked;   // what the charger is told (Refuse, StopOwnSession)
  int64_t balance_fen = 0;                                 // shown on the charger (Refuse, StopOwnSession)
  int64_t prepay_fen = 0;                                  // Start
};

SwipeDecision decide_swipe(const SwipeFacts& f, const CardRules& rules);

// The card result for a session that could not be opened after all.
proto::CardResult card_result_for(const Refusal& r);

}  // namespace chargehub::rules
