#include "chargehub/rules/command_retry.hpp"

#include <algorithm>

namespace chargehub::rules {

std::string_view RetryPolicy::invalid_reason() const {
  if (resend_every_s == 0) return "resend_every_s must be positive";
  if (max_sends == 0) return "max_sends must be at least 1";
  if (give_up_after_s == 0 || give_up_after_s > kRiderWaitS) return "give_up_after_s must be 1..30";
  if (uint64_t{resend_every_s} * (max_sends - 1 + max_queries) >= give_up_after_s)
    return "the resends and queries do not fit before giving up";
  return "";
}

std::string_view retry_action_name(RetryAction a) {
  switch (a) {
    case RetryAction::Wait: return "wait";
    case RetryAction::Resend: return "resend";
    case RetryAction::QueryPorts: return "query_ports";
    case RetryAction::GiveUp: return "give_up";
  }
  return "unknown";
}

RetryStep next_retry_step(const CommandAttempts& a, int64_t now, const RetryPolicy& p) {
  const int64_t give_up_at = a.first_sent_at + p.give_up_after_s;
  if (now >= give_up_at) return {RetryAction::GiveUp, now};
  // Every publication (a send or a query) is followed by resend_every_s of waiting for its answer; a late
  // tick does not make the next step come sooner than that.
  const int64_t due = std::min(std::max(a.last_sent_at, a.first_sent_at) + p.resend_every_s, give_up_at);
  if (a.sends < p.max_sends) return now >= due ? RetryStep{RetryAction::Resend, now} : RetryStep{RetryAction::Wait, due};
  if (a.queries < p.max_queries)
    return now >= due ? RetryStep{RetryAction::QueryPorts, now} : RetryStep{RetryAction::Wait, due};
  return {RetryAction::Wait, give_up_at};
}

}  // namespace chargehub::rules
