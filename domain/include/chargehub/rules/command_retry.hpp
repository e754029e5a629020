// When to resend an unanswered command, when to ask the charger instead, and when to give up
// (docs/billing-rules.md, issue 15 item 2). Pure: the caller passes the times; nothing here sleeps.
//
//   RetryStep s = next_retry_step(attempts, now);
//   switch (s.action) {
//     case RetryAction::Wait:       call again at s.at
//     case RetryAction::Resend:     publish the same command again, same id and expires; ++sends
//     case RetryAction::QueryPorts: publish QUERY_PORTS (its own id); ++queries; settle from its answer
//     case RetryAction::GiveUp:     no answer at all: the command failed (a START: not started, STOP it)
//   }
//
// Default timeline, from the first send (t = 0): resend at 5 and 10 s, QUERY_PORTS at 15 and 20 s, give
// up at 25 s, so a rider at the charger knows within 30 s. A charger answers a repeated id again without
// acting twice (mqtt.md); the edge bridge answers a repeat from its cache or when its frame is answered.
#pragma once
#include <cstdint>
#include <string_view>

namespace chargehub::rules {

struct RetryPolicy {
  uint32_t resend_every_s = 5;    // between sends of the command (and between QUERY_PORTS)
  uint32_t max_sends = 3;         // the first send and two resends
  uint32_t max_queries = 2;       // QUERY_PORTS after the sends run out
  uint32_t give_up_after_s = 25;  // from the first send; at most kRiderWaitS
  // Why the policy is unusable ("" when valid): zero intervals or sends, or giving up after kRiderWaitS.
  std::string_view invalid_reason() const;
};
inline constexpr uint32_t kRiderWaitS = 30;   // a rider at the charger knows within this

// What happened to the command so far.
struct CommandAttempts {
  int64_t first_sent_at = 0;   // unix s, server clock: the command's first publication
  int64_t last_sent_at = 0;    // the last publication of the command or of a QUERY_PORTS for it
  uint32_t sends = 1;          // publications of the command (>= 1)
  uint32_t queries = 0;        // QUERY_PORTS sent for it
};

enum class RetryAction : uint8_t { Wait, Resend, QueryPorts, GiveUp };
std::string_view retry_action_name(RetryAction a);   // "wait" "resend" "query_ports" "give_up"

struct RetryStep {
  RetryAction action = RetryAction::Wait;
  int64_t at = 0;   // Wait: when to ask again; otherwise `now`
  bool operator==(const RetryStep&) const = default;
};

// The next step for a command still unanswered at `now`.
RetryStep next_retry_step(const CommandAttempts& a, int64_t now, const RetryPolicy& p = {});

}  // namespace chargehub::rules
