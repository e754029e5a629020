// What a session that ended (or that the charger lost) settles to: the amount charged to the wallet and
// the hold released. Settlement goes through the session state machine: `cause` must be allowed in
// the session's state (EndReported, ChargerLost), then Settled.
//
// The charge is capped by the prepayment while the session holds its port; once the hold was released
// (a START given up on, then a stop record after all) it is capped by what the wallet still has.
#pragma once
#include <cstdint>
#include <optional>

#include "chargehub/pricing.hpp"
#include "chargehub/session.hpp"

namespace chargehub::rules {

struct SettleFacts {
  session::State state = session::State::Charging;
  bool has_rider = false;
  int64_t prepaid_fen = 0;
  pricing::Plan plan;
  int64_t available_fen = 0;   // the wallet's available balance (used when the hold is already released)
};

struct Settlement {
  session::State passes_through = session::State::Ended;   // ended or lost, then settled
  int64_t amount_fen = 0;      // charged to the wallet (a ledger row when > 0)
  int64_t release_fen = 0;     // hold released
};

// Nothing when the cause is not allowed in the session's state (already settled, refused, ...).
std::optional<Settlement> settle(const SettleFacts& f, const pricing::Usage& usage, session::Event cause);

}  // namespace chargehub::rules
