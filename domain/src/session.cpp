#include "chargehub/session.hpp"

#include <array>

namespace chargehub::session {

namespace {
constexpr std::array<std::string_view, 9> kNames = {"requested", "starting", "charging", "stopping", "ended",
                                                    "settled",   "rejected", "start_timed_out", "lost"};
}

std::string_view state_name(State s) { return kNames[static_cast<size_t>(s)]; }

std::optional<State> parse_state(std::string_view s) {
  for (size_t i = 0; i < kNames.size(); ++i)
    if (kNames[i] == s) return static_cast<State>(i);
  return std::nullopt;
}

std::optional<State> next(State s, Event e) {
  using S = State;
  using E = Event;
  switch (s) {
    case S::Requested:
      // START may have reached the charger even if the core died before recording that it sent it.
      if (e == E::StartSent) return S::Starting;
      [[fallthrough]];
    case S::Starting:
      if (e == E::StartAccepted) return S::Charging;
      if (e == E::StartRefused) return S::Rejected;
      if (e == E::StartTimeout) return S::StartTimedOut;
      if (e == E::StopRequested) return S::Stopping;
      if (e == E::EndReported) return S::Ended;
      if (e == E::ChargerLost) return S::Lost;
      break;
    case S::Charging:
      if (e == E::StartAccepted) return S::Charging;
      if (e == E::StopRequested) return S::Stopping;
      if (e == E::EndReported) return S::Ended;
      if (e == E::ChargerLost) return S::Lost;
      break;
    case S::Stopping:
      if (e == E::StopRequested || e == E::StartAccepted) return S::Stopping;
      if (e == E::EndReported) return S::Ended;
      if (e == E::ChargerLost) return S::Lost;
      break;
    case S::StartTimedOut:
      // A SESSION_END for a session we gave up on still bills what was delivered (funds were released,
      // so settlement charges up to the wallet's balance).
      if (e == E::EndReported) return S::Ended;
      break;
    case S::Ended:
    case S::Lost:
      if (e == E::Settled) return S::Settled;
      break;
    case S::Settled:
    case S::Rejected:
      break;
  }
  return std::nullopt;
}

bool holds_port(State s) {
  return s == State::Requested || s == State::Starting || s == State::Charging || s == State::Stopping;
}

std::vector<std::string_view> port_holding_state_names() {
  std::vector<std::string_view> out;
  for (size_t i = 0; i < kNames.size(); ++i)
    if (holds_port(static_cast<State>(i))) out.push_back(kNames[i]);
  return out;
}

bool is_final(State s) { return s == State::Settled || s == State::Rejected; }

}  // namespace chargehub::session
