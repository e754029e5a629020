// The charging session's state machine (docs/sessions.md). Pure: the core stores the state and applies
// the transitions this file allows; nothing here does I/O.
//
//   requested -> starting -> charging -> stopping -> ended -> settled
//   (requested accepts what starting does: START may be out before the core recorded sending it)
//        \            \-> rejected (charger refused START)
//         \            \-> start_timed_out (no reply in time; funds released)
//          \-> rejected (refused before START was sent)
//   charging/stopping/starting -> lost (the charger no longer knows the session; settled from the
//   last meter reading)  -> settled
#pragma once
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace chargehub::session {

enum class State { Requested, Starting, Charging, Stopping, Ended, Settled, Rejected, StartTimedOut, Lost };
std::string_view state_name(State s);   // "requested" ... "start_timed_out"
std::optional<State> parse_state(std::string_view s);

enum class Event {
  StartSent,        // START published to the charger
  StartAccepted,    // START reply result 0 (or a meter reading for the session)
  StartRefused,     // START reply result != 0, or refused before sending
  StartTimeout,     // no reply within the start timeout
  StopRequested,    // rider, operator or funds exhausted
  EndReported,      // SESSION_END recorded
  ChargerLost,      // reconciliation: the charger does not have the session
  Settled,          // money moved
};

// The state after `e`, or nothing when `e` is not allowed in `s` (the caller ignores or logs it).
std::optional<State> next(State s, Event e);
// States in which the port is taken by this session.
bool holds_port(State s);
// States that are final.
bool is_final(State s);
// Names of the states that hold a port, for SQL (one definition: holds_port).
std::vector<std::string_view> port_holding_state_names();

}  // namespace chargehub::session
