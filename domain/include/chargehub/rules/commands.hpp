// What a charger's reply does to a command, and to the session a START opened. Pure.
#pragma once
#include <cstdint>
#include <optional>
#include <string>

#include "chargehub/session.hpp"
#include "chargehub/states.hpp"

namespace chargehub::rules {

struct ReplyOutcome {
  CommandState state = CommandState::Replied;   // replied; failed or expired when the charger says so
  std::optional<int64_t> result;
  std::optional<std::string> error;
};
// result: the reply's integer result if it has one; error: its error text if it has one.
ReplyOutcome reply_outcome(std::optional<int64_t> result, std::optional<std::string> error);

// The session event a START reply stands for: accepted (result 0), refused, or timed out (an error).
session::Event start_event(const ReplyOutcome& o);
// The session's error text when START failed ("start refused by the charger, result 3").
std::string start_failure(const ReplyOutcome& o);

}  // namespace chargehub::rules
