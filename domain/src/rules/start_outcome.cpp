#include "chargehub/rules/start_outcome.hpp"

namespace chargehub::rules {

std::string_view start_outcome_name(StartOutcome o) {
  switch (o) {
    case StartOutcome::Charging: return "charging";
    case StartOutcome::NotStarted: return "not_started";
    case StartOutcome::Unknown: return "unknown";
  }
  return "unknown";
}

StartOutcome start_outcome(const proto::QueryPortsResp& answer, uint8_t port, uint32_t session) {
  using proto::PortState;
  if (port < 1 || port > answer.ports.size() || session == 0) return StartOutcome::Unknown;
  const auto& p = answer.ports[port - 1];
  switch (static_cast<PortState>(p.state)) {
    case PortState::Charging:
      // Ours, or another session on that port (then ours never started).
      return p.session == session ? StartOutcome::Charging : StartOutcome::NotStarted;
    case PortState::Finished:
      // It ran our session and has already stopped (battery full, limit): the session did start and its
      // SESSION_END settles it. A finished port of another session: ours never started.
      return p.session == session ? StartOutcome::Charging : StartOutcome::NotStarted;
    case PortState::Idle:
    case PortState::Fault:
    case PortState::Disabled:
      return StartOutcome::NotStarted;
  }
  return StartOutcome::Unknown;   // a state frames.md does not define
}

std::string_view start_reply_name(StartReply r) {
  switch (r) {
    case StartReply::Started: return "started";
    case StartReply::Refused: return "refused";
    case StartReply::Unanswered: return "unanswered";
  }
  return "unanswered";
}

StartReply classify_start_reply(std::optional<int64_t> result, std::optional<std::string_view> error) {
  if (error || !result || *result < 0 || *result > 255) return StartReply::Unanswered;
  return *result == 0 ? StartReply::Started : StartReply::Refused;
}

}  // namespace chargehub::rules
