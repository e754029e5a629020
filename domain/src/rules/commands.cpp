#include "chargehub/rules/commands.hpp"

namespace chargehub::rules {

ReplyOutcome reply_outcome(std::optional<int64_t> result, std::optional<std::string> error) {
  ReplyOutcome o{CommandState::Replied, result, std::move(error)};
  if (!o.result && !o.error) o.error = "malformed reply";
  if (o.error) o.state = *o.error == "expired" ? CommandState::Expired : CommandState::Failed;
  return o;
}

session::Event start_event(const ReplyOutcome& o) {
  if (o.error) return session::Event::StartTimeout;
  return *o.result == 0 ? session::Event::StartAccepted : session::Event::StartRefused;
}

std::string start_failure(const ReplyOutcome& o) {
  return o.error ? "start failed: " + *o.error : "start refused by the charger, result " + std::to_string(o.result.value_or(-1));
}

}  // namespace chargehub::rules
