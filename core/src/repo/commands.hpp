// Downlink commands: what was asked of a device, by whom, and what became of it.
#pragma once
#include <boost/json.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "chargehub/states.hpp"
#include "db/db.hpp"
#include "repo/page.hpp"

namespace chargehub::core {

// Who made a command (an account "account:<name>", a service key "key:<name>", a card "card:<uid>", or "system") and why
// ("operator", "card_swipe", "funds_exhausted", "alarm", "reconcile", "power_band", "boot", ...).
struct Origin {
  std::string actor, reason;
  static Origin system(std::string reason) { return {"system", std::move(reason)}; }
};

struct CommandRow {
  std::string id, device_id, op;
  CommandState state = CommandState::Queued;
  boost::json::object args;                  // the MQTT command's args (mqtt.md)
  std::optional<int64_t> result, session_id, sent_at, replied_at;
  std::optional<std::string> error;
  std::optional<boost::json::object> reply;   // the charger's reply as received
  Origin origin;
  int64_t created_at = 0, expires_at = 0;
  // Retrying while unanswered (rules/command_retry.hpp): publications of the command, QUERY_PORTS sent
  // for it, the last of either; a QUERY_PORTS the policy sent names the command it asks about.
  int64_t sends = 0, queries = 0;
  std::optional<int64_t> last_sent_at;
  std::optional<std::string> query_for;
};

class CommandRepo {
 public:
  explicit CommandRepo(sql::Db& db) : db_(db) {}

  void insert(const CommandRow& c);
  std::optional<CommandRow> get(const std::string& id);
  // The command, locked until the transaction ends on PostgreSQL (SELECT … FOR UPDATE): a reply, a copy
  // of it on another core instance and the retry policy never act on one state twice.
  std::optional<CommandRow> lock(const std::string& id);
  std::vector<CommandRow> for_device(const std::string& device_id, int64_t limit);
  Page<CommandRow> page_for_device(const std::string& device_id, const PageRequest& p);   // newest first   // newest first
  // Marks a queued command sent; returns true when it was queued.
  bool mark_sent(const std::string& id, int64_t now);
  void set_outcome(const std::string& id, CommandState state, std::optional<int64_t> result, const std::string& reply_json,
                   const std::optional<std::string>& error, int64_t now);
  // Queued commands past their expiry become expired; the rest, oldest first.
  std::vector<CommandRow> queued(int64_t now);
  // Sent commands unanswered past `before`: failed ("no reply"). Returns how many.
  int64_t fail_unanswered(int64_t before);
  // The open START of a session: failed ("no reply").
  void fail_open_start(int64_t session_id);

  // Retrying: sent STARTs still unanswered; one more publication of a command, or of a QUERY_PORTS for it.
  std::vector<CommandRow> unanswered_starts();
  void count_resend(const std::string& id, int64_t now);
  void count_query(const std::string& id, int64_t now);
  // The command's final state when it was settled otherwise than by its own reply.
  void resolve(const std::string& id, CommandState state, const std::optional<std::string>& error, int64_t now);

 private:
  sql::Db& db_;
};

// A fresh random id for commands ("c" + 24 hex digits).
std::string new_command_id();

}  // namespace chargehub::core
