#include "chargehub/rules/settlement.hpp"

#include <algorithm>

namespace chargehub::rules {

std::optional<Settlement> settle(const SettleFacts& f, const pricing::Usage& usage, session::Event cause) {
  auto through = session::next(f.state, cause);
  if (!through || !session::next(*through, session::Event::Settled)) return std::nullopt;
  Settlement s;
  s.passes_through = *through;
  bool holding = session::holds_port(f.state);
  int64_t cap = holding ? f.prepaid_fen : std::max<int64_t>(0, f.available_fen);
  s.amount_fen = f.has_rider ? pricing::charge_fen(f.plan, usage, cap) : 0;
  s.release_fen = holding && f.has_rider ? f.prepaid_fen : 0;
  return s;
}

}  // namespace chargehub::rules
