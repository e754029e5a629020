// Charging sessions: opening one (funds held, START queued), stopping it, what START's reply or its
// absence does, settling a stop record exactly once, reconciliation with what a charger runs, refunds.
// Each operation is one transaction (nested in the caller's when there is one).
#pragma once
#include <map>
#include <optional>
#include <string>

#include "app/repos.hpp"
#include "chargehub/messages.hpp"
#include "chargehub/payloads.hpp"
#include "chargehub/result.hpp"
#include "chargehub/rules/commands.hpp"

namespace chargehub::core {

struct OpenRequest {
  std::string device_id;
  int64_t port = 0;
  int64_t rider_id = 0;
  int64_t amount_fen = 0;          // prepayment; 0 with until_full = the plan's cap
  bool until_full = false;
  int64_t duration_s = 0;          // or a duration the rider buys (time and power tier plans)
  Origin origin;                   // who asked and why
  int64_t command_ttl_s = 60;
  std::optional<std::string> card_uid;
};

struct StartTicket {
  SessionRow session;
  CommandRow command;
};

// What a stop record did.
struct EndOutcome {
  payloads::Ack ack;
  std::optional<SessionRow> settled;
  bool duplicate = false;
  std::string note;
  std::optional<rules::MeterFlag> meter_flag;   // the record was implausible: billed on the last plausible reading
  std::optional<int64_t> orphan_id;             // the record's session is unknown: kept in the inbox
};

class Sessions {
 public:
  explicit Sessions(Repos& r) : r_(r) {}

  Result<StartTicket> open(const Scope& scope, const OpenRequest& req, int64_t now);
  Result<CommandRow> request_stop(const Scope& scope, int64_t session_id, const Origin& origin, int64_t now, int64_t ttl_s = 60);
  // START was handed to the broker.
  void start_sent(int64_t session_id);
  // The charger answered START (or said it failed); the session after it.
  std::optional<SessionRow> start_answered(int64_t session_id, const rules::ReplyOutcome& o, int64_t now);
  // A SESSION_END report, once per msg; the ack to send (the stored one for a copy).
  // The record is judged by the meter check (rules/meter_check.hpp) first; one for a session the platform
  // does not know goes to the inbox (app/inbox.hpp) with `payload`, the JSON as received.
  EndOutcome end_reported(const std::string& device_id, const std::string& msg, const proto::SessionEnd& e, int64_t now,
                          const std::string& payload = "");
  // Starting sessions whose START got no reply by `created_before` give up; funds released.
  std::vector<SessionRow> expire_starts(int64_t created_before, int64_t now);
  // A charger's QUERY_PORTS answer: port -> session number for every port it reports charging.
  FollowUp reconcile(const std::string& device_id, const std::map<int64_t, int64_t>& charging, int64_t now);
  Result<SessionRow> refund(const Scope& scope, int64_t session_id, int64_t amount_fen, const std::string& note, int64_t now);

  // Chargers whose seconds run `k` times faster than the server's (a simulated fleet at --time-scale k):
  // the meter check sees a session's window k times longer. 1 for real chargers.
  void set_charger_time_scale(int64_t k) { time_scale_ = k < 1 ? 1 : k; }

  // Within the caller's scope (session.agent_id); outside it a session does not exist.
  std::optional<SessionRow> get(const Scope& scope, int64_t id);
  std::vector<SessionRow> list(const Scope& scope, const SessionFilter& f);
  Page<SessionRow> page(const Scope& scope, const SessionFilter& f, const PageRequest& p);
  std::vector<MeterSample> samples(const Scope& scope, int64_t session_id, int64_t limit);

 private:
  friend class Cards;
  friend class Telemetry;
  friend class Alarms;
  friend class Commands;
  // Inside the caller's transaction.
  Result<StartTicket> open_in_tx(const OpenRequest& req, int64_t now);
  Result<CommandRow> stop_in_tx(int64_t session_id, const Origin& origin, int64_t now, int64_t ttl_s);
  // Settles through the state machine (cause: EndReported or ChargerLost); the amount charged, or
  // nothing when the cause is not allowed in the session's state.
  std::optional<int64_t> settle(const SessionRow& s, const pricing::Usage& u, std::optional<int64_t> reason, const std::string& note,
              session::Event cause, int64_t now);
  // What the meter check knows of a session.
  rules::SessionFacts facts(const SessionRow& s);
  // A reading of a session (up/meter port, QUERY_PORTS port status), judged by the meter check: a
  // plausible one becomes its usage (never moving backwards) and its last plausible reading, and the
  // session takes `state`; an implausible one is counted on the device and flags the session, the usage
  // stays. The usage after it, or nothing when implausible.
  std::optional<pricing::Usage> reading(const SessionRow& s, session::State state, const rules::Reported& r, int64_t now);
  // A START that did not take effect (the charger's port state, or no answer at all): the session is
  // start_timed_out, its hold released, the START failed, and a STOP queued so a late copy cannot start it.
  std::optional<CommandRow> start_not_taken(const SessionRow& s, const std::string& why, int64_t now);
  // `now` as the meter check sees it: the session's window in charger seconds. Server seconds are whole,
  // so a scaled window counts the second under way too (a report in the session's first second is not
  // judged against a window of 0 charger seconds); real chargers (scale 1) have the check's skew for that.
  int64_t judged_now(const SessionRow& s, int64_t now) const {
    return time_scale_ == 1 ? now : s.created_at + (now - s.created_at + 1) * time_scale_;
  }
  int64_t time_scale_ = 1;
  Repos& r_;
};

}  // namespace chargehub::core
