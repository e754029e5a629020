// The core's storage adapter: SQLite, WAL, versioned migrations, and the domain's atomic operations
// (each one transaction). Callers never see SQL. Thread-safe: one connection behind a mutex.
// A PostgreSQL adapter later implements the same operations (docs/architecture.md).
#pragma once
#include <boost/json.hpp>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "chargehub/messages.hpp"
#include "chargehub/pricing.hpp"
#include "chargehub/session.hpp"
#include "sqlite.hpp"

namespace chargehub::core {

namespace json = boost::json;

// An expected refusal: a machine-readable code, a sentence for people, and the HTTP status that fits.
struct Refusal {
  std::string code;
  std::string message;
  int http = 409;
};

template <class T>
struct Result {
  std::optional<T> value;
  Refusal refusal;
  static Result ok(T v) { return Result{std::move(v), {}}; }
  static Result no(std::string code, std::string msg, int http = 409) { return Result{std::nullopt, {std::move(code), std::move(msg), http}}; }
  explicit operator bool() const { return value.has_value(); }
};

struct Device {
  std::string id, name;
  std::optional<int64_t> model;
  int64_t ports = 10;
  std::optional<int64_t> hw;
  std::optional<std::string> fw, iccid;
  bool enabled = true;
  std::string lifecycle;
  std::optional<int64_t> plan_id;
  bool online = false;
  std::optional<int64_t> last_seen_at, csq, temp_dc, mains_dv, power_w;
  bool has_token = false, has_pubkey = false;
  int64_t created_at = 0;
  std::vector<int64_t> port_states;   // index 0 = port 1
  std::optional<std::string> station, agent;
};

struct NewDevice {
  std::string id, name;
  int64_t ports = 10;
  std::optional<int64_t> model;
  std::optional<std::string> token_hash, pubkey;
  std::string lifecycle = "installed";
};

struct Rider {
  int64_t id = 0;
  std::string name, phone;
  int64_t balance_fen = 0, held_fen = 0;
  int64_t created_at = 0;
  int64_t available_fen() const { return balance_fen - held_fen; }
};

struct LedgerEntry {
  int64_t id = 0, rider_id = 0, amount_fen = 0, created_at = 0;
  std::string kind, note;
  std::optional<int64_t> session_id;
};

struct PlanRow {
  int64_t id = 0, version = 1, created_at = 0;
  std::string name;
  pricing::Plan plan;
};

struct SessionRow {
  int64_t id = 0;
  std::string device_id;
  int64_t port = 0;
  std::optional<int64_t> rider_id;
  session::State state = session::State::Requested;
  int64_t plan_id = 0, plan_version = 0;
  pricing::Plan plan;
  int64_t prepaid_fen = 0, mode = 0, limit_value = 0;
  int64_t energy_wh = 0, duration_s = 0, power_w = 0, max_power_w = 0;
  std::optional<int64_t> amount_fen, end_reason;
  std::optional<std::string> error;
  int64_t created_at = 0;
  std::optional<int64_t> started_at, ended_at, settled_at;
  std::optional<std::string> card_uid, flag;
  int64_t refunded_fen = 0;
};

struct CommandRow {
  std::string id, device_id, op, state;
  json::object args;
  std::optional<int64_t> result, session_id, sent_at, replied_at;
  std::optional<std::string> error;
  std::optional<json::object> reply;
  std::string created_by;
  int64_t created_at = 0, expires_at = 0;
};

struct CardRow {
  std::string uid;
  int64_t rider_id = 0;
  std::string state;
  int64_t created_at = 0;
};

struct RechargeOffer {
  int64_t id = 0;
  std::string name;
  int64_t amount_fen = 0, bonus_fen = 0;
  bool active = true;
  int64_t created_at = 0;
};

// Follow-up commands an operation asks the service to send.
struct FollowUp {
  std::vector<CommandRow> commands;
  std::vector<SessionRow> settled;   // sessions settled as lost (reconciliation)
};

struct OpenRequest {
  std::string device_id;
  int64_t port = 0;
  int64_t rider_id = 0;
  int64_t amount_fen = 0;          // prepayment; 0 with until_full = the plan's cap
  bool until_full = false;
  int64_t duration_s = 0;          // or a duration the rider buys (time and power tier plans)
  std::string created_by;
  int64_t command_ttl_s = 60;
  std::optional<std::string> card_uid;
};

struct StartTicket {
  SessionRow session;
  CommandRow command;
};

struct SessionFilter {
  std::optional<int64_t> rider_id;
  std::optional<std::string> device_id;
  std::optional<std::string> state;
  int64_t limit = 50;
  std::optional<int64_t> before_id;
};

// What applying a report or reply did, for logs and follow-up commands.
struct Effect {
  std::optional<SessionRow> session;
  std::optional<CommandRow> command;   // the command a reply answered
  bool duplicate = false;
  std::string note;
};

// Telemetry rules of the core (docs/sessions.md).
struct TelemetryRules {
  int64_t pack_energy_wh = 1500;      // more than this in one session: flag energy_over_pack
  int64_t taper_after_s = 5 * 3600;   // still at >= 90 % of peak power after this: flag power_not_tapering
  int64_t stop_margin_fen = 0;        // stop when the price so far reaches prepaid - margin
};

struct CardRules {
  int64_t prepay_fen = 1000;          // a swipe prepays this much (or the card's whole available balance if less)
  int64_t min_fen = 50;               // below this available balance a swipe is refused (result 1)
};

class Store {
 public:
  // Opens (creating if needed) and migrates the database.
  explicit Store(const std::string& path);
  int schema_version();
  // Runs fn inside one transaction (the operations it calls nest as savepoints): the core applies a
  // burst of telemetry this way. fn must not throw (each operation handles its own failures).
  template <class F>
  void batch(F&& fn) {
    std::lock_guard<std::recursive_mutex> lock(mu_);
    sql::Tx tx(db_);
    fn();
    tx.commit();
  }

  // ---- devices ----
  Result<Device> create_device(const NewDevice& d, int64_t now);
  std::optional<Device> device(const std::string& id);
  std::vector<Device> devices(int64_t limit, const std::string& after_id);
  void device_boot(const std::string& id, const proto::Login& boot, int64_t now);
  void device_heartbeat(const std::string& id, const proto::Heartbeat& hb, int64_t now);
  void device_online(const std::string& id, bool online, int64_t now);
  // Devices whose last report is older than `before` and are still marked online.
  std::vector<std::string> mark_silent_offline(int64_t before);
  Result<Device> assign_plan(const std::string& device_id, int64_t plan_id);
  Result<Device> set_enabled(const std::string& device_id, bool enabled);
  Result<Device> set_lifecycle(const std::string& device_id, const std::string& lifecycle);
  // Where the device stands and which agent runs it (text ids; empty clears).
  Result<Device> set_placement(const std::string& device_id, const std::string& station, const std::string& agent);
  // Marks the device deleted (kept for history); its credentials stop working.
  Result<Device> delete_device(const std::string& device_id, int64_t now);
  // New token hash; the old one stays valid until now + grace_s (0 = refused at once).
  Result<Device> rotate_token(const std::string& device_id, const std::string& token_hash, int64_t grace_s, int64_t now);

  // ---- plans ----
  int64_t create_plan(const std::string& name, const pricing::Plan& p, int64_t now);
  std::optional<PlanRow> plan(int64_t id);
  std::vector<PlanRow> plans();

  // ---- riders and money ----
  Rider create_rider(const std::string& name, const std::string& phone, int64_t now);
  std::optional<Rider> rider(int64_t id);
  Result<Rider> topup(int64_t rider_id, int64_t amount_fen, int64_t bonus_fen, const std::string& note, int64_t now);
  std::vector<LedgerEntry> ledger(int64_t rider_id, int64_t limit);
  // Sum of ledger rows (for invariant checks and audits).
  int64_t ledger_sum(int64_t rider_id);

  // ---- sessions ----
  Result<StartTicket> open_session(const OpenRequest& r, int64_t now);
  Result<CommandRow> request_stop(int64_t session_id, const std::string& by, int64_t now);
  Effect apply_reply(const std::string& device_id, const json::object& reply, int64_t now);
  void record_meter(const std::string& device_id, const proto::Meter& m, int64_t now);
  // Settles a SESSION_END exactly once per msg; returns the ack to send (the stored one for a copy).
  json::object settle_end(const std::string& device_id, const std::string& msg, const proto::SessionEnd& e,
                          int64_t now, Effect* effect = nullptr);
  // Starting sessions whose START got no reply by `deadline` become start_timed_out; funds released.
  std::vector<SessionRow> expire_starts(int64_t created_before, int64_t now);
  std::optional<SessionRow> session(int64_t id);
  std::vector<SessionRow> sessions(const SessionFilter& f);
  json::array meter_samples(int64_t session_id, int64_t limit);

  // Applies the charger's answer to QUERY_PORTS: a port charging a session we do not know (or no longer
  // run) is stopped; a session we run that the charger no longer has is settled as lost from its last
  // meter reading.
  FollowUp reconcile(const std::string& device_id, const json::array& ports, int64_t now);
  // Meter readings, with the rules that act on them: funds running out (time and power tier plans),
  // the power band rising (power tier: a shorter time limit), dangerous curves (flagged).
  FollowUp record_meter_and_check(const std::string& device_id, const proto::Meter& m, int64_t now,
                                  const TelemetryRules& rules);
  // An alarm that cuts a port (overload, leakage, fuse, temperature cut-off) stops what charges there.
  FollowUp stop_for_alarm(const std::string& device_id, const proto::Alarm& a, int64_t now);
  // Keeps full resolution for samples newer than `older_than`; older ones thinned to one per interval.
  int64_t downsample_meter(int64_t older_than, int64_t interval_s);
  // Refunds part of what a settled session cost back to the wallet.
  Result<SessionRow> refund_session(int64_t session_id, int64_t amount_fen, const std::string& note, int64_t now);

  // ---- IC cards ----
  // A card for a rider's wallet, or (rider_id empty) with a wallet of its own.
  Result<CardRow> create_card(const std::string& uid, std::optional<int64_t> rider_id, int64_t now);
  Result<CardRow> set_card_state(const std::string& uid, const std::string& state);
  std::optional<CardRow> card(const std::string& uid);
  // A swipe (CARD report), once per msg: refuses, starts a session (START queued), or stops the card's
  // own session on that port. Returns the ack (result, balance_fen) and the commands to send.
  json::object card_swipe(const std::string& device_id, const std::string& msg, const proto::Card& c, int64_t now,
                          const CardRules& rules, int64_t command_ttl_s, FollowUp* follow);

  // ---- recharge offers ----
  RechargeOffer create_offer(const std::string& name, int64_t amount_fen, int64_t bonus_fen, int64_t now);
  std::vector<RechargeOffer> offers();
  std::optional<RechargeOffer> offer(int64_t id);

  // Commands sent but unanswered long after they expired: failed.
  int64_t fail_stale_commands(int64_t before);
  std::vector<std::string> online_devices();

  // ---- commands ----
  CommandRow new_command(const std::string& device_id, const std::string& op, json::object args,
                         const std::string& by, std::optional<int64_t> session_id, int64_t now, int64_t ttl_s);
  void command_sent(const std::string& id, int64_t now);
  std::vector<CommandRow> unsent_commands(int64_t now);
  std::vector<CommandRow> commands(const std::string& device_id, int64_t limit);
  std::optional<CommandRow> command(const std::string& id);

  // ---- alarms ----
  json::object record_alarm(const std::string& device_id, const std::string& msg, const proto::Alarm& a, int64_t now);
  json::array alarms(const std::string& device_id, int64_t limit);

 private:
  void migrate();
  void bump_auth_rev();
  CommandRow insert_command(const std::string& device_id, const std::string& op, json::object args,
                            const std::string& by, std::optional<int64_t> session_id, int64_t now, int64_t ttl_s);
  std::optional<SessionRow> load_session(int64_t id);
  void set_session_state(int64_t id, session::State s);
  void release_hold(const SessionRow& s);
  std::optional<Rider> load_rider(int64_t id);
  std::optional<CommandRow> load_command(const std::string& id);
  Result<StartTicket> open_session_locked(const OpenRequest& r, int64_t now);
  Result<CommandRow> request_stop_locked(int64_t session_id, const std::string& by, int64_t now);
  void settle_as(const SessionRow& s, const pricing::Usage& u, std::optional<int64_t> reason, const std::string& state_note,
                 int64_t now);

  std::recursive_mutex mu_;   // recursive: operations compose (a card swipe opens a session)
  sql::Db db_;
};

// Plan <-> the JSON kept in price_plan.spec and session.plan_spec (docs/pricing.md).
json::object plan_to_json(const pricing::Plan& p);
std::optional<pricing::Plan> plan_from_json(const json::value& v);

// A fresh random id for commands ("c" + 24 hex digits).
std::string new_command_id();

}  // namespace chargehub::core
