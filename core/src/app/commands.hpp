// Downlink commands: queuing one for a device, marking it sent, what a reply does (a START's reply
// goes to the session it opens; a QUERY_PORTS answer reconciles sessions), and giving up on silence.
#pragma once
#include "app/sessions.hpp"
#include "chargehub/rules/command_retry.hpp"

namespace chargehub::core {

struct ReplyEffect {
  std::optional<CommandRow> command;   // the command the reply answered
  std::optional<SessionRow> session;   // the session a START opens, after the reply
  bool duplicate = false;
  std::string note;                    // why nothing happened
  FollowUp follow;                     // reconciliation after a QUERY_PORTS answer
};

class Commands {
 public:
  Commands(Repos& r, Sessions& sessions) : r_(r), sessions_(sessions) {}

  // An operator's or the system's command (query_ports, locate, set_params, ...). start, stop and adjust
  // go through sessions (use_sessions); args are checked against the frame mapping (bad_command).
  Result<CommandRow> queue(const Scope& scope, const std::string& device_id, const std::string& op, const boost::json::object& args, const Origin& origin,
                           int64_t now, int64_t ttl_s);
  // A system command, no checks (the fleet adapter's QUERY_PORTS after a boot).
  CommandRow queue_system(const std::string& device_id, const std::string& op, const std::string& reason, int64_t now, int64_t ttl_s);
  void sent(const std::string& id, int64_t now);
  std::vector<CommandRow> unsent(int64_t now);
  ReplyEffect replied(const std::string& device_id, const boost::json::object& reply, int64_t now);
  int64_t fail_unanswered(int64_t before);
  // Housekeeping for STARTs still unanswered (rules/command_retry.hpp, docs/billing-rules.md): resend the
  // same command, then QUERY_PORTS (settled by its answer in replied()), then give up (start_timed_out,
  // hold released, STOP queued). What to publish comes back.
  FollowUp chase_starts(int64_t now, const rules::RetryPolicy& policy = {});

  std::optional<CommandRow> get(const std::string& id);
  // A device's commands, within the caller's scope (a device outside it has none).
  std::vector<CommandRow> for_device(const Scope& scope, const std::string& device_id, int64_t limit);
  Page<CommandRow> page_for_device(const Scope& scope, const std::string& device_id, const PageRequest& p);

 private:
  // A QUERY_PORTS the retry policy sent for an unanswered START was answered: settle the START from it.
  void settle_start(const std::string& start_id, const boost::json::object& reply, ReplyEffect& eff, int64_t now);
  Repos& r_;
  Sessions& sessions_;
};

}  // namespace chargehub::core
