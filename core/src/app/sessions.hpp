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
};

class Sessions {
 public:
  explicit Sessions(Repos& r) : r_(r) {}

  Result<StartTicket> open(const OpenRequest& req, int64_t now);
  Result<CommandRow> request_stop(int64_t session_id, const Origin& origin, int64_t now, int64_t ttl_s = 60);
  // START was handed to the broker.
  void start_sent(int64_t session_id);
  // The charger answered START (or said it failed); the session after it.
  std::optional<SessionRow> start_answered(int64_t session_id, const rules::ReplyOutcome& o, int64_t now);
  // A SESSION_END report, once per msg; the ack to send (the stored one for a copy).
  EndOutcome end_reported(const std::string& device_id, const std::string& msg, const proto::SessionEnd& e, int64_t now);
  // Starting sessions whose START got no reply by `created_before` give up; funds released.
  std::vector<SessionRow> expire_starts(int64_t created_before, int64_t now);
  // A charger's QUERY_PORTS answer: port -> session number for every port it reports charging.
  FollowUp reconcile(const std::string& device_id, const std::map<int64_t, int64_t>& charging, int64_t now);
  Result<SessionRow> refund(int64_t session_id, int64_t amount_fen, const std::string& note, int64_t now);

  std::optional<SessionRow> get(int64_t id);
  std::vector<SessionRow> list(const SessionFilter& f);
  std::vector<MeterSample> samples(int64_t session_id, int64_t limit);

 private:
  friend class Cards;
  friend class Telemetry;
  friend class Alarms;
  // Inside the caller's transaction.
  Result<StartTicket> open_in_tx(const OpenRequest& req, int64_t now);
  Result<CommandRow> stop_in_tx(int64_t session_id, const Origin& origin, int64_t now, int64_t ttl_s);
  // Settles through the state machine (cause: EndReported or ChargerLost); the amount charged, or
  // nothing when the cause is not allowed in the session's state.
  std::optional<int64_t> settle(const SessionRow& s, const pricing::Usage& u, std::optional<int64_t> reason, const std::string& note,
              session::Event cause, int64_t now);
  Repos& r_;
};

}  // namespace chargehub::core
