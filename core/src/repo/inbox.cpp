#include "inbox.hpp"

#include <algorithm>

namespace chargehub::core {

namespace {
constexpr const char* kCols =
    "id, device_id, msg, port, session, reason, started_at, duration_s, energy_wh, max_power_w, payload, first_seen_at, last_seen_at, "
    "copies, meter_flag, state, session_id, resolved_at, closed_reason, actor";

OrphanRecord read(sql::Stmt& st) {
  OrphanRecord o;
  o.id = st.i64(0);
  o.device_id = st.text(1);
  o.msg = st.text(2);
  o.port = st.i64(3);
  o.session = st.i64(4);
  o.reason = st.i64(5);
  o.started_at = st.i64(6);
  o.duration_s = st.i64(7);
  o.energy_wh = st.i64(8);
  o.max_power_w = st.i64(9);
  o.payload = st.text(10);
  o.first_seen_at = st.i64(11);
  o.last_seen_at = st.i64(12);
  o.copies = st.i64(13);
  o.meter_flag = st.opt_text(14);
  o.state = parse_orphan_state(st.text(15)).value_or(OrphanState::Open);
  o.session_id = st.opt_i64(16);
  o.resolved_at = st.opt_i64(17);
  o.closed_reason = st.opt_text(18);
  o.actor = st.opt_text(19);
  return o;
}
std::string sel() { return std::string("SELECT ") + kCols + " FROM orphan_record "; }
std::string name_of(OrphanState s) { return std::string(orphan_state_name(s)); }
}  // namespace

std::string_view orphan_state_name(OrphanState s) {
  switch (s) {
    case OrphanState::Open: return "open";
    case OrphanState::Settled: return "settled";
    case OrphanState::Closed: return "closed";
  }
  return "open";
}

std::optional<OrphanState> parse_orphan_state(std::string_view s) {
  for (auto x : {OrphanState::Open, OrphanState::Settled, OrphanState::Closed})
    if (orphan_state_name(x) == s) return x;
  return std::nullopt;
}

int64_t InboxRepo::insert(const std::string& device_id, const std::string& msg, const proto::SessionEnd& e, const std::string& payload,
                          const std::optional<std::string>& meter_flag, int64_t now) {
  auto st = db_.prepare(
      "INSERT INTO orphan_record (device_id, msg, port, session, reason, started_at, duration_s, energy_wh, max_power_w, payload, "
      "first_seen_at, last_seen_at, meter_flag) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id");
  st.args(device_id, msg, int64_t{e.port}, int64_t{e.session}, int64_t{e.reason}, int64_t{e.started_at}, int64_t{e.duration_s},
          int64_t{e.energy_wh}, int64_t{e.max_power_w}, payload, now, now, meter_flag);
  st.step();
  return st.i64(0);
}

bool InboxRepo::count_copy(const std::string& msg, int64_t now) {
  db_.prepare("UPDATE orphan_record SET copies = copies + 1, last_seen_at = ? WHERE msg = ?").args(now, msg).run();
  return db_.changes() > 0;
}

namespace {
// An orphan record is in the scope bound as ?n through its device's agent.
std::string orphan_scope_sql(int n) {
  return "device_id IN (SELECT d.id FROM device d WHERE " + scope_sql("d.agent_id", n) + ")";
}
std::string orphan_scope_or_platform(int n) {
  return "(CAST(?" + std::to_string(n) + " AS BIGINT) IS NULL OR " + orphan_scope_sql(n) + ")";
}
}  // namespace

std::optional<OrphanRecord> InboxRepo::get(const Scope& scope, int64_t id) {
  auto st = db_.prepare(sel() + "WHERE id = ?2 AND " + orphan_scope_or_platform(1));
  st.bind(1, scope.bind()).bind(2, id);
  if (!st.step()) return std::nullopt;
  return read(st);
}

std::vector<OrphanRecord> InboxRepo::list(const Scope& scope, const OrphanFilter& f) {
  std::optional<std::string> state;
  if (f.state) state = name_of(*f.state);
  auto st = db_.prepare(sel() +
                        "WHERE (CAST(?1 AS TEXT) IS NULL OR device_id = ?1) AND (CAST(?2 AS TEXT) IS NULL OR state = ?2) AND id > ?3 AND " +
                        orphan_scope_or_platform(5) + " ORDER BY id LIMIT ?4");
  st.bind(1, f.device_id).bind(2, state).bind(3, f.after_id).bind(4, std::clamp<int64_t>(f.limit, 1, 500)).bind(5, scope.bind());
  std::vector<OrphanRecord> out;
  while (st.step()) out.push_back(read(st));
  return out;
}

Page<OrphanRecord> InboxRepo::page(const Scope& scope, const OrphanFilter& f, const PageRequest& p) {
  std::optional<std::string> state;
  if (f.state) state = name_of(*f.state);
  static const std::string kWhere = "WHERE (CAST(?1 AS TEXT) IS NULL OR device_id = ?1) AND (CAST(?2 AS TEXT) IS NULL OR state = ?2) AND " +
                                    orphan_scope_or_platform(3) + " ";
  Page<OrphanRecord> out;
  {
    auto st = db_.prepare("SELECT count(*) FROM orphan_record " + kWhere);
    st.bind(1, f.device_id).bind(2, state).bind(3, scope.bind());
    if (st.step()) out.total = st.i64(0);
  }
  std::string key = p.sort == "last_seen_at" ? "last_seen_at" : p.sort == "energy_wh" ? "energy_wh" : "id";
  auto st = db_.prepare(sel() + kWhere + "ORDER BY " + key + (p.desc ? " DESC" : "") + ", id LIMIT ?4 OFFSET ?5");
  st.bind(1, f.device_id).bind(2, state).bind(3, scope.bind()).bind(4, p.size).bind(5, p.offset());
  while (st.step()) out.items.push_back(read(st));
  return out;
}

bool InboxRepo::mark_settled(int64_t id, int64_t session_id, const std::string& actor, int64_t now) {
  db_.prepare("UPDATE orphan_record SET state = ?, session_id = ?, actor = ?, resolved_at = ? WHERE id = ? AND state = ?")
      .args(name_of(OrphanState::Settled), session_id, actor, now, id, name_of(OrphanState::Open))
      .run();
  return db_.changes() > 0;
}

bool InboxRepo::mark_closed(int64_t id, const std::string& reason, const std::string& actor, int64_t now) {
  db_.prepare("UPDATE orphan_record SET state = ?, closed_reason = ?, actor = ?, resolved_at = ? WHERE id = ? AND state = ?")
      .args(name_of(OrphanState::Closed), reason, actor, now, id, name_of(OrphanState::Open))
      .run();
  return db_.changes() > 0;
}

OrphanCounts InboxRepo::counts(const std::string& device_id) {
  auto st = db_.prepare("SELECT count(*), coalesce(sum(CASE WHEN state = 'open' THEN 1 ELSE 0 END), 0) FROM orphan_record WHERE device_id = ?");
  st.args(device_id);
  OrphanCounts c;
  if (st.step()) c = OrphanCounts{st.i64(1), st.i64(0)};
  return c;
}

}  // namespace chargehub::core
