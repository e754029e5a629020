// Charging sessions and their meter samples: rows in, rows out. The state machine and the money rules
// are in domain (session.hpp, rules/); core/src/app/sessions.cpp applies them.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "chargehub/pricing.hpp"
#include "chargehub/rules/meter_check.hpp"
#include "chargehub/session.hpp"
#include "db/db.hpp"
#include "repo/page.hpp"
#include "repo/scope.hpp"

namespace chargehub::core {

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
  // The meter check (docs/billing-rules.md): its first flag, the charger's raw stop-record figures, and
  // the last plausible reading (none before the first).
  std::optional<std::string> meter_flag;
  std::optional<int64_t> reported_energy_wh, reported_duration_s, reported_max_power_w;
  std::optional<rules::MeterPoint> last;
  std::optional<int64_t> agent_id;   // the device's agent when the session started (none: the platform's)
  pricing::Usage usage() const {
    return {static_cast<uint32_t>(energy_wh), static_cast<uint32_t>(duration_s), static_cast<uint32_t>(max_power_w)};
  }
};

struct NewSession {
  std::string device_id;
  int64_t port = 0;
  int64_t rider_id = 0;
  int64_t plan_id = 0, plan_version = 0;
  std::string plan_spec;   // the plan's JSON as it is when the session starts
  int64_t prepaid_fen = 0, mode = 0, limit_value = 0;
  std::optional<std::string> card_uid;
};

struct SessionFilter {
  std::optional<int64_t> rider_id;
  std::optional<std::string> device_id;
  std::optional<std::string> state;
  int64_t limit = 50;
  std::optional<int64_t> before_id;
};

// Implausible reports of one device (the meter check).
struct MeterCheckCounts {
  int64_t implausible_ends = 0, implausible_readings = 0;
  std::optional<int64_t> last_implausible_at;
};

// A session created by settling an orphan stop record: already settled.
struct SettledSession {
  NewSession s;
  int64_t created_at = 0;
  pricing::Usage billed;
  rules::Reported reported;
  std::optional<std::string> meter_flag;
  int64_t amount_fen = 0, end_reason = 0;
  std::optional<int64_t> started_at;
  std::string note;
};

struct MeterSample {
  int64_t ts = 0, power_w = 0, energy_wh = 0, elapsed_s = 0, voltage_dv = 0, current_ma = 0;
};

class SessionRepo {
 public:
  explicit SessionRepo(sql::Db& db);

  // State requested; agent_id: the device's agent at this moment (the session's owner for the data scope).
  int64_t insert(const NewSession& s, int64_t now);
  // get(id): the fleet's own reads (the session state machine, settlement); everything the API reads
  // goes through the scoped get, list and page.
  // The session, locked until the transaction ends on PostgreSQL (SELECT … FOR UPDATE), so that two core
  // instances never both act on one state (docs/scale-out.md); SQLite's writers are serialized already.
  std::optional<SessionRow> lock(int64_t id);
  std::optional<SessionRow> get(int64_t id);
  std::optional<SessionRow> get(const Scope& scope, int64_t id);
  std::vector<SessionRow> list(const Scope& scope, const SessionFilter& f);
  // The filter's rider, device and state (its limit and before_id unused); sort keys id (default,
  // newest first unless ascending is asked), created_at, amount_fen, energy_wh.
  Page<SessionRow> page(const Scope& scope, const SessionFilter& f, const PageRequest& p);
  // Sessions that hold a port (session::holds_port).
  std::optional<SessionRow> holding_port(const std::string& device_id, int64_t port);
  std::vector<SessionRow> holding_on_device(const std::string& device_id);
  std::vector<SessionRow> holding_created_before(std::vector<session::State> states, int64_t before);

  void set_state(int64_t id, session::State s);
  void set_started(int64_t id, int64_t at);   // unless already set
  void set_ended(int64_t id, session::State s, const std::string& error, int64_t at);
  // A meter reading: usage only grows; the state becomes `state`.
  // ... and, when given, remembers `last` as the session's last plausible reading (the meter check's).
  void apply_reading(int64_t id, session::State state, const pricing::Usage& u, int64_t power_w, int64_t now,
                     const std::optional<rules::MeterPoint>& last = std::nullopt);
  void set_limit(int64_t id, int64_t limit);
  void set_flag(int64_t id, const std::string& flag);
  void settle(int64_t id, const pricing::Usage& u, int64_t amount_fen, std::optional<int64_t> end_reason,
              const std::optional<std::string>& note, int64_t now);
  void add_refund(int64_t id, int64_t fen);
  int64_t insert_settled(const SettledSession& s, int64_t now);

  // The meter check.
  void set_meter_flag(int64_t id, const std::string& flag);   // unless one is set already
  void set_reported(int64_t id, const rules::Reported& r);     // the stop record's raw figures
  void count_implausible(const std::string& device_id, bool stop_record, int64_t now);
  MeterCheckCounts implausible_counts(const std::string& device_id);

  void add_sample(int64_t session_id, const MeterSample& m);
  std::vector<MeterSample> samples(int64_t session_id, int64_t limit);
  // Samples older than `older_than` thinned to one per interval per session; returns how many went.
  int64_t downsample(int64_t older_than, int64_t interval_s);

 private:
  sql::Db& db_;
  std::string holding_;   // "state IN (...)" of the states that hold a port
  std::string next_id_;   // the id of a new row: DEFAULT, or above a restore's floor on SQLite
};

}  // namespace chargehub::core
