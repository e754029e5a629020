// Did a START take effect? Settled from the START's reply when one comes, else from the charger's port
// states (QUERY_PORTS) (docs/billing-rules.md, issue 15 item 2). Pure: typed inputs, no I/O.
//
//   switch (classify_start_reply(result, error)) { ... }          // the reply, when there is one
//   switch (start_outcome(query_ports_resp, port, session)) { ... } // the charger's answer
//
//   Charging   the port runs our session (or ran it and has ended: a SESSION_END follows): the session
//              is charging (session::Event::StartAccepted); the rider pays for what is delivered
//   NotStarted the port is idle, faulty, disabled or runs another session: not started, funds released;
//              also send STOP for (port, session) so a START copy still in flight cannot start it
//   Unknown    the answer does not cover the port: keep asking until the retry policy gives up
#pragma once
#include <cstdint>
#include <optional>
#include <string_view>

#include "chargehub/messages.hpp"

namespace chargehub::rules {

enum class StartOutcome : uint8_t { Charging, NotStarted, Unknown };
std::string_view start_outcome_name(StartOutcome o);   // "charging" "not_started" "unknown"

// From the charger's QUERY_PORTS answer (ports[i] is port i + 1) for our session on `port` (1-based).
StartOutcome start_outcome(const proto::QueryPortsResp& answer, uint8_t port, uint32_t session);

// What a START reply (up/reply) says: `result` as the charger answered it, or `error` when the edge bridge
// or a charger answers without the charger's result.
enum class StartReply : uint8_t {
  Started,      // result 0 (also a repeat of a START already charging that session)
  Refused,      // result != 0 (port busy, no load, fault, no such port, power budget): not started
  Unanswered,   // an error instead of a result ("timeout": the bridge's frame retries ran out; "expired",
                // "busy", "bad_command", ...) or no usable result: the charger's state is unknown, so
                // follow the retry policy (resend, then QUERY_PORTS); never conclude from it alone
};
std::string_view start_reply_name(StartReply r);   // "started" "refused" "unanswered"
StartReply classify_start_reply(std::optional<int64_t> result, std::optional<std::string_view> error);

}  // namespace chargehub::rules
