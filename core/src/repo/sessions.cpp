#include "sessions.hpp"

#include <algorithm>

#include "chargehub/plan_json.hpp"
#include "chargehub/states.hpp"

namespace chargehub::core {

namespace json = boost::json;

namespace {
constexpr const char* kCols =
    "id, device_id, port, rider_id, state, plan_id, plan_version, plan_spec, prepaid_fen, mode, limit_value, energy_wh, "
    "duration_s, power_w, max_power_w, amount_fen, end_reason, error, created_at, started_at, ended_at, settled_at, card_uid, "
    "flag, refunded_fen, meter_flag, reported_energy_wh, reported_duration_s, reported_max_power_w, last_energy_wh, last_duration_s, "
    "last_max_power_w, last_reading_at, agent_id";

SessionRow read(sql::Stmt& st) {
  SessionRow s;
  s.id = st.i64(0);
  s.device_id = st.text(1);
  s.port = st.i64(2);
  s.rider_id = st.opt_i64(3);
  s.state = session::parse_state(st.text(4)).value_or(session::State::Lost);
  s.plan_id = st.i64(5);
  s.plan_version = st.i64(6);
  s.plan = pricing::plan_from_json(json::parse(st.text(7))).value_or(pricing::Plan::free());
  s.prepaid_fen = st.i64(8);
  s.mode = st.i64(9);
  s.limit_value = st.i64(10);
  s.energy_wh = st.i64(11);
  s.duration_s = st.i64(12);
  s.power_w = st.i64(13);
  s.max_power_w = st.i64(14);
  s.amount_fen = st.opt_i64(15);
  s.end_reason = st.opt_i64(16);
  s.error = st.opt_text(17);
  s.created_at = st.i64(18);
  s.started_at = st.opt_i64(19);
  s.ended_at = st.opt_i64(20);
  s.settled_at = st.opt_i64(21);
  s.card_uid = st.opt_text(22);
  s.flag = st.opt_text(23);
  s.refunded_fen = st.i64(24);
  s.meter_flag = st.opt_text(25);
  s.reported_energy_wh = st.opt_i64(26);
  s.reported_duration_s = st.opt_i64(27);
  s.reported_max_power_w = st.opt_i64(28);
  s.agent_id = st.opt_i64(33);
  if (auto at = st.opt_i64(32))
    s.last = rules::MeterPoint{static_cast<uint32_t>(st.opt_i64(29).value_or(0)), static_cast<uint32_t>(st.opt_i64(30).value_or(0)),
                               static_cast<uint32_t>(st.opt_i64(31).value_or(0)), *at};
  return s;
}

std::vector<SessionRow> read_all(sql::Stmt& st) {
  std::vector<SessionRow> out;
  while (st.step()) out.push_back(read(st));
  return out;
}

std::string sel() { return std::string("SELECT ") + kCols + " FROM session "; }
}  // namespace

// A new session's id: PostgreSQL's identity (moved past a restore's floor by after-restore); on SQLite the
// next rowid, but never below the floor a restore set (id_floor, migration 011), so a restored database
// does not give out again the session numbers chargers were told after its backup.
SessionRepo::SessionRepo(sql::Db& db)
    : db_(db),
      holding_("state IN (" + sql_in_list(session::port_holding_state_names()) + ")"),
      next_id_(db.dialect() == sql::Dialect::Postgres
                   ? "DEFAULT"
                   : "(SELECT max(coalesce((SELECT max(id) FROM session), 0) + 1, "
                     "coalesce((SELECT next_id FROM id_floor WHERE name = 'session'), 1)))") {}

int64_t SessionRepo::insert(const NewSession& s, int64_t now) {
  auto st = db_.prepare(
      "INSERT INTO session (id, device_id, port, rider_id, state, plan_id, plan_version, plan_spec, prepaid_fen, mode, limit_value, "
      "created_at, card_uid, agent_id) VALUES (" + next_id_ + ", ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, (SELECT agent_id FROM device WHERE id = ?)) "
      "RETURNING id");
  st.args(s.device_id, s.port, s.rider_id, std::string(session::state_name(session::State::Requested)), s.plan_id, s.plan_version,
          s.plan_spec, s.prepaid_fen, s.mode, s.limit_value, now, s.card_uid, s.device_id);
  st.step();
  return st.i64(0);
}

std::optional<SessionRow> SessionRepo::get(int64_t id) {
  auto st = db_.prepare(sel() + "WHERE id = ?");
  st.args(id);
  if (!st.step()) return std::nullopt;
  return read(st);
}

std::optional<SessionRow> SessionRepo::lock(int64_t id) {
  auto st = db_.prepare(sel() + (db_.dialect() == sql::Dialect::Postgres ? "WHERE id = ? FOR UPDATE" : "WHERE id = ?"));
  st.args(id);
  if (!st.step()) return std::nullopt;
  return read(st);
}

std::optional<SessionRow> SessionRepo::get(const Scope& scope, int64_t id) {
  auto st = db_.prepare(sel() + "WHERE id = ?2 AND " + scope_sql("agent_id", 1));
  st.bind(1, scope.bind()).bind(2, id);
  if (!st.step()) return std::nullopt;
  return read(st);
}

std::vector<SessionRow> SessionRepo::list(const Scope& scope, const SessionFilter& f) {
  auto st = db_.prepare(sel() +
                        "WHERE (CAST(?1 AS BIGINT) IS NULL OR rider_id = ?1) AND (CAST(?2 AS TEXT) IS NULL OR device_id = ?2) "
                        "AND (CAST(?3 AS TEXT) IS NULL OR state = ?3) AND (CAST(?4 AS BIGINT) IS NULL OR id < ?4) AND " +
                        scope_sql("agent_id", 6) + " ORDER BY id DESC LIMIT ?5");
  st.bind(1, f.rider_id).bind(2, f.device_id).bind(3, f.state).bind(4, f.before_id).bind(5, std::clamp<int64_t>(f.limit, 1, 500))
      .bind(6, scope.bind());
  return read_all(st);
}

Page<SessionRow> SessionRepo::page(const Scope& scope, const SessionFilter& f, const PageRequest& p) {
  static const std::string kWhere =
      "WHERE (CAST(?1 AS BIGINT) IS NULL OR rider_id = ?1) AND (CAST(?2 AS TEXT) IS NULL OR device_id = ?2) "
      "AND (CAST(?3 AS TEXT) IS NULL OR state = ?3) AND " + scope_sql("agent_id", 4) + " ";
  Page<SessionRow> out;
  {
    auto st = db_.prepare("SELECT count(*) FROM session " + kWhere);
    st.bind(1, f.rider_id).bind(2, f.device_id).bind(3, f.state).bind(4, scope.bind());
    if (st.step()) out.total = st.i64(0);
  }
  std::string key = p.sort;
  if (key != "created_at" && key != "amount_fen" && key != "energy_wh") key = "id";
  bool desc = p.sort.empty() ? true : p.desc;
  auto st = db_.prepare(sel() + kWhere + "ORDER BY " + key + (desc ? " DESC" : "") + ", id" + (desc ? " DESC" : "") + " LIMIT ?5 OFFSET ?6");
  st.bind(1, f.rider_id).bind(2, f.device_id).bind(3, f.state).bind(4, scope.bind()).bind(5, p.size).bind(6, p.offset());
  out.items = read_all(st);
  return out;
}

std::optional<SessionRow> SessionRepo::holding_port(const std::string& device_id, int64_t port) {
  auto st = db_.prepare(sel() + "WHERE device_id = ? AND port = ? AND " + holding_);
  st.args(device_id, port);
  if (!st.step()) return std::nullopt;
  auto s = read(st);
  return s;
}

std::vector<SessionRow> SessionRepo::holding_on_device(const std::string& device_id) {
  auto st = db_.prepare(sel() + "WHERE device_id = ? AND " + holding_);
  st.args(device_id);
  return read_all(st);
}

std::vector<SessionRow> SessionRepo::holding_created_before(std::vector<session::State> states, int64_t before) {
  std::vector<std::string_view> names;
  for (auto s : states) names.push_back(session::state_name(s));
  auto st = db_.prepare(sel() + "WHERE state IN (" + sql_in_list(names) + ") AND created_at < ?");
  st.args(before);
  return read_all(st);
}

void SessionRepo::set_state(int64_t id, session::State s) {
  db_.prepare("UPDATE session SET state = ? WHERE id = ?").args(std::string(session::state_name(s)), id).run();
}

void SessionRepo::set_started(int64_t id, int64_t at) {
  db_.prepare("UPDATE session SET started_at = coalesce(started_at, ?) WHERE id = ?").args(at, id).run();
}

void SessionRepo::set_ended(int64_t id, session::State s, const std::string& error, int64_t at) {
  db_.prepare("UPDATE session SET state = ?, error = ?, ended_at = ? WHERE id = ?")
      .args(std::string(session::state_name(s)), error, at, id)
      .run();
}

void SessionRepo::apply_reading(int64_t id, session::State state, const pricing::Usage& u, int64_t power_w, int64_t now,
                                const std::optional<rules::MeterPoint>& last) {
  if (last) {   // one statement for both: this runs for every meter reading of the fleet
    db_.prepare("UPDATE session SET energy_wh = greatest(energy_wh, ?1), duration_s = greatest(duration_s, ?2), power_w = ?3, "
                "max_power_w = greatest(max_power_w, ?4), state = ?5, started_at = coalesce(started_at, ?6), "
                "last_energy_wh = ?8, last_duration_s = ?9, last_max_power_w = ?10, last_reading_at = ?11 WHERE id = ?7")
        .args(int64_t{u.energy_wh}, int64_t{u.duration_s}, power_w, int64_t{u.max_power_w}, std::string(session::state_name(state)),
              now, id, int64_t{last->energy_wh}, int64_t{last->duration_s}, int64_t{last->max_power_w}, last->at)
        .run();
    return;
  }
  db_.prepare("UPDATE session SET energy_wh = greatest(energy_wh, ?1), duration_s = greatest(duration_s, ?2), power_w = ?3, "
              "max_power_w = greatest(max_power_w, ?4), state = ?5, started_at = coalesce(started_at, ?6) WHERE id = ?7")
      .args(int64_t{u.energy_wh}, int64_t{u.duration_s}, power_w, int64_t{u.max_power_w}, std::string(session::state_name(state)), now, id)
      .run();
}

void SessionRepo::set_limit(int64_t id, int64_t limit) {
  db_.prepare("UPDATE session SET limit_value = ? WHERE id = ?").args(limit, id).run();
}

void SessionRepo::set_flag(int64_t id, const std::string& flag) {
  db_.prepare("UPDATE session SET flag = ? WHERE id = ?").args(flag, id).run();
}

void SessionRepo::settle(int64_t id, const pricing::Usage& u, int64_t amount_fen, std::optional<int64_t> end_reason,
                         const std::optional<std::string>& note, int64_t now) {
  db_.prepare("UPDATE session SET state = ?, energy_wh = ?, duration_s = ?, max_power_w = greatest(max_power_w, ?), "
              "power_w = 0, amount_fen = ?, end_reason = ?, error = coalesce(?, error), ended_at = ?, settled_at = ? WHERE id = ?")
      .args(std::string(session::state_name(session::State::Settled)), int64_t{u.energy_wh}, int64_t{u.duration_s},
            int64_t{u.max_power_w}, amount_fen, end_reason, note, now, now, id)
      .run();
}

void SessionRepo::add_refund(int64_t id, int64_t fen) {
  db_.prepare("UPDATE session SET refunded_fen = refunded_fen + ? WHERE id = ?").args(fen, id).run();
}

int64_t SessionRepo::insert_settled(const SettledSession& x, int64_t now) {
  auto st = db_.prepare(
      "INSERT INTO session (id, device_id, port, rider_id, state, plan_id, plan_version, plan_spec, prepaid_fen, mode, limit_value, "
      "energy_wh, duration_s, max_power_w, amount_fen, end_reason, error, created_at, started_at, ended_at, settled_at, meter_flag, "
      "reported_energy_wh, reported_duration_s, reported_max_power_w, agent_id) "
      "VALUES (" + next_id_ + ", ?, ?, ?, ?, ?, ?, ?, 0, 0, 0, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, (SELECT agent_id FROM device WHERE id = ?)) "
      "RETURNING id");
  st.args(x.s.device_id, x.s.port, x.s.rider_id, std::string(session::state_name(session::State::Settled)), x.s.plan_id,
          x.s.plan_version, x.s.plan_spec, int64_t{x.billed.energy_wh}, int64_t{x.billed.duration_s}, int64_t{x.billed.max_power_w},
          x.amount_fen, x.end_reason, x.note, x.created_at, x.started_at, now, now, x.meter_flag, int64_t{x.reported.energy_wh},
          int64_t{x.reported.duration_s}, int64_t{x.reported.max_power_w}, x.s.device_id);
  st.step();
  return st.i64(0);
}

void SessionRepo::set_meter_flag(int64_t id, const std::string& flag) {
  db_.prepare("UPDATE session SET meter_flag = coalesce(meter_flag, ?) WHERE id = ?").args(flag, id).run();
}

void SessionRepo::set_reported(int64_t id, const rules::Reported& r) {
  db_.prepare("UPDATE session SET reported_energy_wh = ?, reported_duration_s = ?, reported_max_power_w = ? WHERE id = ?")
      .args(int64_t{r.energy_wh}, int64_t{r.duration_s}, int64_t{r.max_power_w}, id)
      .run();
}

void SessionRepo::count_implausible(const std::string& device_id, bool stop_record, int64_t now) {
  int64_t e = stop_record ? 1 : 0, r = stop_record ? 0 : 1;
  db_.prepare("INSERT INTO device_meter_check (device_id, implausible_ends, implausible_readings, last_implausible_at) "
              "VALUES (?1, ?2, ?3, ?4) ON CONFLICT (device_id) DO UPDATE SET "
              "implausible_ends = device_meter_check.implausible_ends + ?2, "
              "implausible_readings = device_meter_check.implausible_readings + ?3, last_implausible_at = ?4")
      .args(device_id, e, r, now)
      .run();
}

MeterCheckCounts SessionRepo::implausible_counts(const std::string& device_id) {
  auto st = db_.prepare("SELECT implausible_ends, implausible_readings, last_implausible_at FROM device_meter_check WHERE device_id = ?");
  st.args(device_id);
  MeterCheckCounts c;
  if (st.step()) c = MeterCheckCounts{st.i64(0), st.i64(1), st.opt_i64(2)};
  return c;
}

void SessionRepo::add_sample(int64_t session_id, const MeterSample& m) {
  db_.prepare("INSERT INTO meter_sample (session_id, ts, power_w, energy_wh, elapsed_s, voltage_dv, current_ma) VALUES (?,?,?,?,?,?,?)")
      .args(session_id, m.ts, m.power_w, m.energy_wh, m.elapsed_s, m.voltage_dv, m.current_ma)
      .run();
}

std::vector<MeterSample> SessionRepo::samples(int64_t session_id, int64_t limit) {
  auto st = db_.prepare(
      "SELECT ts, power_w, energy_wh, elapsed_s, voltage_dv, current_ma FROM meter_sample WHERE session_id = ? ORDER BY ts, rowid LIMIT ?");
  st.args(session_id, limit);
  std::vector<MeterSample> out;
  while (st.step()) out.push_back(MeterSample{st.i64(0), st.i64(1), st.i64(2), st.i64(3), st.i64(4), st.i64(5)});
  return out;
}

int64_t SessionRepo::downsample(int64_t older_than, int64_t interval_s) {
  db_.prepare("DELETE FROM meter_sample WHERE ts < ?1 AND rowid NOT IN "
              "(SELECT min(rowid) FROM meter_sample WHERE ts < ?1 GROUP BY session_id, ts / ?2)")
      .args(older_than, std::max<int64_t>(interval_s, 1))
      .run();
  return db_.changes();
}

}  // namespace chargehub::core
