#include "chargehub/rules/card_swipe.hpp"

#include <algorithm>

namespace chargehub::rules {

SwipeDecision decide_swipe(const SwipeFacts& f, const CardRules& rules) {
  using A = SwipeDecision::Action;
  using proto::CardResult;
  if (!f.card) return {A::Refuse, CardResult::UnknownCard, 0, 0};
  if (*f.card != CardState::Active) return {A::Refuse, CardResult::Blocked, 0, 0};
  if (f.on_port && f.on_port->card_uid == f.uid)   // swipe again to stop
    return {A::StopOwnSession, CardResult::Accepted, f.available_fen + f.on_port->prepaid_fen, 0};
  if (f.on_port) return {A::Refuse, CardResult::PortBusy, f.available_fen, 0};
  if (f.available_fen < rules.min_fen) return {A::Refuse, CardResult::InsufficientBalance, f.available_fen, 0};
  return {A::Start, CardResult::Accepted, 0, std::min(rules.prepay_fen, f.available_fen)};
}

proto::CardResult card_result_for(const Refusal& r) {
  if (r.code == "port_busy") return proto::CardResult::PortBusy;
  if (r.code == "insufficient_funds" || r.code == "amount_too_small") return proto::CardResult::InsufficientBalance;
  return proto::CardResult::Blocked;
}

}  // namespace chargehub::rules
