// IC cards: registering one (on a rider's wallet or with its own), blocking it, and what a swipe on a
// charger does (rules/card_swipe.hpp decides; a swipe may open or stop a session).
#pragma once
#include "app/sessions.hpp"
#include "chargehub/rules/card_swipe.hpp"

namespace chargehub::core {

struct SwipeOutcome {
  payloads::Ack ack;       // result and the balance shown on the charger
  FollowUp follow;
};

class Cards {
 public:
  Cards(Repos& r, Sessions& sessions) : r_(r), sessions_(sessions) {}
  // uid: 4 to 10 bytes as upper-case hex. Without rider_id the card gets a wallet of its own.
  // A card is in a scope when the agent that issued it is (card.agent_id); the caller's agent issues the
  // cards it registers, and its rider must be in the caller's scope.
  Result<CardRow> create(const Scope& scope, const std::string& uid, std::optional<int64_t> rider_id, int64_t now);
  Result<CardRow> set_state(const Scope& scope, const std::string& uid, const std::string& state);
  std::optional<CardRow> get(const Scope& scope, const std::string& uid);
  // A CARD report, once per msg.
  SwipeOutcome swipe(const std::string& device_id, const std::string& msg, const proto::Card& c, int64_t now,
                     const rules::CardRules& rules, int64_t command_ttl_s);

 private:
  Repos& r_;
  Sessions& sessions_;
};

}  // namespace chargehub::core
