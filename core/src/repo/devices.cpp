#include "devices.hpp"

#include <cstdio>

namespace chargehub::core {

namespace {
constexpr const char* kCols =
    "id, name, model, ports, hw, fw, iccid, enabled, lifecycle, plan_id, online, last_seen_at, csq, temp_dc, "
    "mains_dv, power_w, token_hash IS NOT NULL, pubkey IS NOT NULL, created_at, station_id, agent_id";

Device read(sql::Stmt& st) {
  Device d;
  d.id = st.text(0);
  d.name = st.text(1);
  d.model = st.opt_i64(2);
  d.ports = st.i64(3);
  d.hw = st.opt_i64(4);
  d.fw = st.opt_text(5);
  d.iccid = st.opt_text(6);
  d.enabled = st.boolean(7);
  d.lifecycle = parse_lifecycle(st.text(8)).value_or(Lifecycle::Installed);
  d.plan_id = st.opt_i64(9);
  d.online = st.boolean(10);
  d.last_seen_at = st.opt_i64(11);
  d.csq = st.opt_i64(12);
  d.temp_dc = st.opt_i64(13);
  d.mains_dv = st.opt_i64(14);
  d.power_w = st.opt_i64(15);
  d.has_token = st.boolean(16);
  d.has_pubkey = st.boolean(17);
  d.created_at = st.i64(18);
  d.station_id = st.opt_i64(19);
  d.agent_id = st.opt_i64(20);
  return d;
}

DeviceCredential read_credential(sql::Stmt& st) {
  return DeviceCredential{st.text(0), st.opt_text(1), st.opt_text(2), st.opt_text(3), st.opt_i64(4), st.boolean(5)};
}
constexpr const char* kCredentialCols = "id, token_hash, prev_token_hash, pubkey, prev_token_until, enabled";
}  // namespace

bool DeviceRepo::exists_even_deleted(const std::string& id) {
  auto st = db_.prepare("SELECT 1 FROM device WHERE id = ?");
  st.args(id);
  return st.step();
}

void DeviceRepo::insert(const NewDevice& d, int64_t now) {
  db_.prepare("INSERT INTO device (id, name, ports, model, token_hash, pubkey, lifecycle, created_at) VALUES (?,?,?,?,?,?,?,?)")
      .args(d.id, d.name, d.ports, d.model, d.token_hash, d.pubkey, std::string(name(d.lifecycle)), now)
      .run();
  auto ins = db_.prepare("INSERT INTO port (device_id, port, state, updated_at) VALUES (?, ?, 0, ?)");
  for (int64_t p = 1; p <= d.ports; ++p) {
    ins.args(d.id, p, now).run();
    ins.reset();
  }
}

std::optional<Device> DeviceRepo::get(const Scope& scope, const std::string& id) {
  std::optional<Device> d;
  {
    auto st = db_.prepare(std::string("SELECT ") + kCols + " FROM device WHERE id = ?2 AND deleted_at IS NULL AND " +
                          scope_sql("agent_id", 1));
    st.bind(1, scope.bind()).bind(2, id);
    if (!st.step()) return std::nullopt;
    d = read(st);
  }
  auto ps = db_.prepare("SELECT state FROM port WHERE device_id = ? ORDER BY port");
  ps.args(id);
  while (ps.step()) d->port_states.push_back(ps.i64(0));
  return d;
}

std::vector<Device> DeviceRepo::list(const Scope& scope, int64_t limit, const std::string& after_id) {
  auto st = db_.prepare(std::string("SELECT ") + kCols + " FROM device WHERE deleted_at IS NULL AND id > ?2 AND " +
                        scope_sql("agent_id", 1) + " ORDER BY id LIMIT ?3");
  st.bind(1, scope.bind()).bind(2, after_id).bind(3, limit);
  std::vector<Device> out;
  while (st.step()) out.push_back(read(st));
  return out;
}

Page<Device> DeviceRepo::page(const Scope& scope, const DeviceFilter& f, const PageRequest& p) {
  static const std::string kWhere =
      " FROM device WHERE deleted_at IS NULL AND (CAST(?1 AS TEXT) IS NULL OR id LIKE ?1 ESCAPE '\\' OR name LIKE ?1 ESCAPE '\\') "
      "AND (CAST(?2 AS BIGINT) IS NULL OR online = ?2) AND (CAST(?3 AS BIGINT) IS NULL OR enabled = ?3) "
      "AND (CAST(?4 AS TEXT) IS NULL OR lifecycle = ?4) AND (CAST(?5 AS BIGINT) IS NULL OR station_id = ?5) "
      "AND (CAST(?6 AS BIGINT) IS NULL OR agent_id = ?6) AND " + scope_sql("agent_id", 7);
  std::optional<std::string> like;
  if (f.q) like = "%" + like_escape(*f.q) + "%";
  auto bind = [&](sql::Stmt& st) {
    st.bind(1, like).bind(2, f.online ? std::optional<int64_t>(*f.online) : std::nullopt)
        .bind(3, f.enabled ? std::optional<int64_t>(*f.enabled) : std::nullopt)
        .bind(4, f.lifecycle).bind(5, f.station_id).bind(6, f.agent_id).bind(7, scope.bind());
  };
  Page<Device> out;
  {
    auto st = db_.prepare(std::string("SELECT count(*)") + kWhere);
    bind(st);
    if (st.step()) out.total = st.i64(0);
  }
  std::string key = p.sort.empty() ? "id" : p.sort;   // the route checked it against its whitelist
  if (key != "id" && key != "created_at" && key != "last_seen_at" && key != "name") key = "id";
  auto st = db_.prepare(std::string("SELECT ") + kCols + kWhere + " ORDER BY " + key + (p.desc ? " DESC" : "") + ", id LIMIT ?8 OFFSET ?9");
  bind(st);
  st.bind(8, p.size).bind(9, p.offset());
  while (st.step()) out.items.push_back(read(st));
  return out;
}

std::vector<std::string> DeviceRepo::online_ids() {
  auto st = db_.prepare("SELECT id FROM device WHERE online = 1 AND deleted_at IS NULL");
  std::vector<std::string> out;
  while (st.step()) out.push_back(st.text(0));
  return out;
}

namespace {
template <class V>
std::vector<std::string> ids(sql::Db& db, const char* sql, const V& v) {
  auto st = db.prepare(sql);
  st.args(v);
  std::vector<std::string> out;
  while (st.step()) out.push_back(st.text(0));
  return out;
}
}  // namespace

std::vector<std::string> DeviceRepo::ids_with_model(int64_t model) {
  return ids(db_, "SELECT id FROM device WHERE model = ? AND deleted_at IS NULL ORDER BY id", model);
}
std::vector<std::string> DeviceRepo::ids_at_station(int64_t station_id) {
  return ids(db_, "SELECT id FROM device WHERE station_id = ? AND deleted_at IS NULL ORDER BY id", station_id);
}
std::vector<std::string> DeviceRepo::ids_of_agent(int64_t agent_id) {
  auto st = db_.prepare("SELECT id FROM device WHERE deleted_at IS NULL AND " + scope_sql("agent_id", 1) + " ORDER BY id");
  st.bind(1, std::optional<int64_t>(agent_id));
  std::vector<std::string> out;
  while (st.step()) out.push_back(st.text(0));
  return out;
}

std::optional<int64_t> DeviceRepo::model(const std::string& id) {
  auto st = db_.prepare("SELECT model FROM device WHERE id = ?");
  st.args(id);
  return st.step() ? st.opt_i64(0) : std::nullopt;
}

std::optional<proto::PortState> DeviceRepo::port_state(const std::string& id, int64_t port) {
  auto st = db_.prepare("SELECT state FROM port WHERE device_id = ? AND port = ?");
  st.args(id, port);
  if (!st.step()) return std::nullopt;
  return static_cast<proto::PortState>(st.i64(0));
}

bool DeviceRepo::update_boot(const std::string& id, const proto::Login& b, int64_t now) {
  db_.prepare("UPDATE device SET model = ?, ports = ?, hw = ?, fw = ?, iccid = ?, csq = ?, online = 1, last_seen_at = ? "
              "WHERE id = ?")
      .args(int64_t{b.model}, int64_t{b.ports}, int64_t{b.hw}, b.fw.text(), b.iccid, int64_t{b.csq}, now, id)
      .run();
  if (db_.changes() == 0) return false;
  auto ins = db_.prepare("INSERT INTO port (device_id, port, state, updated_at) VALUES (?, ?, 0, ?) ON CONFLICT DO NOTHING");
  for (int64_t p = 1; p <= b.ports; ++p) {
    ins.args(id, p, now).run();
    ins.reset();
  }
  return true;
}

void DeviceRepo::update_heartbeat(const std::string& id, const proto::Heartbeat& hb, int64_t now) {
  db_.prepare("UPDATE device SET csq = ?, temp_dc = ?, mains_dv = ?, power_w = ?, online = 1, last_seen_at = ? WHERE id = ?")
      .args(int64_t{hb.csq}, int64_t{hb.temp_dc}, int64_t{hb.mains_dv}, int64_t{hb.power_w}, now, id)
      .run();
  // Every port in one statement (one per port made heartbeats the costliest message at fleet scale):
  // the states travel as three decimal digits per port, port n at offset 3n-2; only changed rows are
  // written.
  std::string states;
  states.reserve(hb.ports.size() * 3);
  for (uint8_t s : hb.ports) {
    char buf[4];
    std::snprintf(buf, sizeof buf, "%03u", unsigned{s});
    states.append(buf, 3);
  }
  db_.prepare("UPDATE port SET state = CAST(substr(?1, CAST(port * 3 - 2 AS INTEGER), 3) AS INTEGER), updated_at = ?2 "
              "WHERE device_id = ?3 AND port BETWEEN 1 AND ?4 "
              "AND state <> CAST(substr(?1, CAST(port * 3 - 2 AS INTEGER), 3) AS INTEGER)")
      .args(states, now, id, static_cast<int64_t>(hb.ports.size()))
      .run();
}

void DeviceRepo::set_online(const std::string& id, bool online, int64_t now) {
  if (online) db_.prepare("UPDATE device SET online = 1, last_seen_at = ? WHERE id = ?").args(now, id).run();
  else db_.prepare("UPDATE device SET online = 0 WHERE id = ?").args(id).run();
}

std::vector<std::string> DeviceRepo::mark_silent_offline(int64_t before) {
  std::vector<std::string> ids;
  auto st = db_.prepare("UPDATE device SET online = 0 WHERE online = 1 AND (last_seen_at IS NULL OR last_seen_at < ?) RETURNING id");
  st.args(before);
  while (st.step()) ids.push_back(st.text(0));
  return ids;
}

bool DeviceRepo::set_plan(const std::string& id, int64_t plan_id) {
  db_.prepare("UPDATE device SET plan_id = ? WHERE id = ? AND deleted_at IS NULL").args(plan_id, id).run();
  return db_.changes() > 0;
}

bool DeviceRepo::set_enabled(const std::string& id, bool enabled) {
  db_.prepare("UPDATE device SET enabled = ? WHERE id = ? AND deleted_at IS NULL").args(int64_t{enabled}, id).run();
  return db_.changes() > 0;
}

bool DeviceRepo::set_lifecycle(const std::string& id, Lifecycle l) {
  db_.prepare("UPDATE device SET lifecycle = ? WHERE id = ? AND deleted_at IS NULL").args(std::string(name(l)), id).run();
  return db_.changes() > 0;
}

bool DeviceRepo::mark_deleted(const std::string& id, int64_t now) {
  db_.prepare("UPDATE device SET deleted_at = ?, online = 0, token_hash = NULL, prev_token_hash = NULL, pubkey = NULL "
              "WHERE id = ? AND deleted_at IS NULL")
      .args(now, id)
      .run();
  return db_.changes() > 0;
}

bool DeviceRepo::set_token(const std::string& id, const std::string& token_hash, int64_t grace_s, int64_t now) {
  db_.prepare("UPDATE device SET prev_token_hash = CASE WHEN ?1 > 0 THEN token_hash END, "
              "prev_token_until = CASE WHEN ?1 > 0 THEN CAST(?2 AS BIGINT) END, token_hash = ?3, pubkey = NULL "
              "WHERE id = ?4 AND deleted_at IS NULL")
      .args(grace_s, now + grace_s, token_hash, id)
      .run();
  return db_.changes() > 0;
}

std::vector<DeviceCredential> DeviceRepo::credentials() {
  auto st = db_.prepare(std::string("SELECT ") + kCredentialCols + " FROM device WHERE deleted_at IS NULL ORDER BY id");
  std::vector<DeviceCredential> out;
  while (st.step()) out.push_back(read_credential(st));
  return out;
}

std::optional<DeviceCredential> DeviceRepo::credential(const std::string& id) {
  auto st = db_.prepare(std::string("SELECT ") + kCredentialCols + " FROM device WHERE id = ? AND deleted_at IS NULL");
  st.args(id);
  if (!st.step()) return std::nullopt;
  return read_credential(st);
}

std::pair<int64_t, std::optional<DeviceCredential>> DeviceRepo::credential_at_rev(const std::string& id) {
  auto st = db_.prepare(std::string("SELECT a.rev, d.") + "id, d.token_hash, d.prev_token_hash, d.pubkey, d.prev_token_until, d.enabled "
                        "FROM auth_state a LEFT JOIN device d ON d.id = ? AND d.deleted_at IS NULL WHERE a.id = 1");
  st.args(id);
  if (!st.step()) return {0, std::nullopt};
  int64_t rev = st.i64(0);
  if (st.is_null(1)) return {rev, std::nullopt};
  return {rev, DeviceCredential{st.text(1), st.opt_text(2), st.opt_text(3), st.opt_text(4), st.opt_i64(5), st.boolean(6)}};
}

int64_t DeviceRepo::bump_credentials_rev() {
  auto st = db_.prepare("UPDATE auth_state SET rev = rev + 1 WHERE id = 1 RETURNING rev");
  return st.step() ? st.i64(0) : 0;
}

int64_t DeviceRepo::credentials_rev() {
  auto st = db_.prepare("SELECT rev FROM auth_state WHERE id = 1");
  return st.step() ? st.i64(0) : 0;
}

}  // namespace chargehub::core
