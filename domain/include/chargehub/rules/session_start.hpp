// May this session start, and on what terms? Decided from facts the use case loaded (device, port,
// the session holding the port, the rider's wallet, the device's plan); pure.
//
//   auto terms = rules::decide_start(request, facts);   // refusal codes below, in the order checked
//   if (terms) hold terms->prepaid_fen and send START with terms->limit
//
// Refusals: device_not_found, device_disabled, device_offline, bad_port, port_unavailable (faulty or
// disabled), port_busy, rider_not_found, plan_missing, plan_invalid, duration_not_offered, bad_duration,
// bad_amount, insufficient_funds, amount_too_small.
#pragma once
#include <cstdint>
#include <optional>

#include "chargehub/messages.hpp"
#include "chargehub/pricing.hpp"
#include "chargehub/result.hpp"

namespace chargehub::rules {

struct StartRequest {
  int64_t port = 0;
  int64_t amount_fen = 0;     // prepayment; 0 with until_full = the plan's cap (or the whole balance)
  bool until_full = false;
  int64_t duration_s = 0;     // or a duration the rider buys (time and power tier plans)
};

struct StartFacts {
  bool device_found = false, device_enabled = false, device_online = false;
  int64_t device_ports = 0;
  std::optional<proto::PortState> port_state;   // as last reported; unknown if never
  std::optional<int64_t> session_on_port;       // a session that holds the port
  bool rider_found = false;
  int64_t available_fen = 0;
  bool plan_found = false;
  std::optional<pricing::Plan> plan;            // nothing when the stored plan cannot be read
};

struct StartTerms {
  int64_t prepaid_fen = 0;    // held on the wallet until settlement
  pricing::Limit limit;       // what START tells the charger
};

Result<StartTerms> decide_start(const StartRequest& r, const StartFacts& f);

}  // namespace chargehub::rules
