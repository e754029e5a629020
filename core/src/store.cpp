#include "store.hpp"

#include <cstdio>

#include <openssl/rand.h>

#include <algorithm>
#include <map>

#include "chargehub/frame.hpp"
#include "migrations.hpp"

namespace chargehub::core {

using session::Event;
using session::State;

// ---------------------------------------------------------------------------------------------------
// plans as JSON

json::object plan_to_json(const pricing::Plan& p) {
  json::object o{{"kind", pricing::plan_kind_name(p.kind)}};
  switch (p.kind) {
    case pricing::PlanKind::Energy:
      o["fen_per_kwh"] = p.fen_per_kwh;
      o["service_fen_per_kwh"] = p.service_fen_per_kwh;
      break;
    case pricing::PlanKind::Time:
      o["fen_per_block"] = p.fen_per_block;
      o["block_minutes"] = p.block_minutes;
      break;
    case pricing::PlanKind::PowerTier: {
      json::array tiers;
      for (auto& t : p.tiers) tiers.push_back(json::object{{"up_to_w", t.up_to_w}, {"fen_per_hour", t.fen_per_hour}});
      o["tiers"] = std::move(tiers);
      o["block_minutes"] = p.block_minutes;
      break;
    }
    case pricing::PlanKind::Free:
      break;
  }
  o["min_fen"] = p.min_fen;
  o["cap_fen"] = p.cap_fen;
  o["max_duration_s"] = p.max_duration_s;
  return o;
}

namespace {
std::optional<int64_t> num(const json::object& o, std::string_view k, int64_t def, int64_t lo, int64_t hi) {
  auto* v = o.if_contains(k);
  if (!v) return def;
  int64_t x;
  if (v->is_int64()) x = v->get_int64();
  else if (v->is_uint64() && v->get_uint64() <= static_cast<uint64_t>(hi)) x = static_cast<int64_t>(v->get_uint64());
  else return std::nullopt;
  if (x < lo || x > hi) return std::nullopt;
  return x;
}
}  // namespace

std::optional<pricing::Plan> plan_from_json(const json::value& v) {
  if (!v.is_object()) return std::nullopt;
  auto& o = v.get_object();
  auto* k = o.if_contains("kind");
  if (!k || !k->is_string()) return std::nullopt;
  auto kind = pricing::parse_plan_kind(std::string_view(k->get_string()));
  if (!kind) return std::nullopt;
  constexpr int64_t kMaxFen = 100'000'000;
  pricing::Plan p;
  p.kind = *kind;
  auto fk = num(o, "fen_per_kwh", 0, 0, kMaxFen), sk = num(o, "service_fen_per_kwh", 0, 0, kMaxFen),
       fb = num(o, "fen_per_block", 0, 0, kMaxFen), bm = num(o, "block_minutes", 60, 1, 1440),
       mn = num(o, "min_fen", 0, 0, kMaxFen), cp = num(o, "cap_fen", 0, 0, kMaxFen),
       md = num(o, "max_duration_s", 12 * 3600, 60, 72 * 3600);
  if (!fk || !sk || !fb || !bm || !mn || !cp || !md) return std::nullopt;
  p.fen_per_kwh = *fk;
  p.service_fen_per_kwh = *sk;
  p.fen_per_block = *fb;
  p.block_minutes = static_cast<uint32_t>(*bm);
  p.min_fen = *mn;
  p.cap_fen = *cp;
  p.max_duration_s = static_cast<uint32_t>(*md);
  if (auto* t = o.if_contains("tiers")) {
    if (!t->is_array() || t->get_array().size() > 16) return std::nullopt;
    for (auto& tv : t->get_array()) {
      if (!tv.is_object()) return std::nullopt;
      auto up = num(tv.get_object(), "up_to_w", -1, 0, 100000), fh = num(tv.get_object(), "fen_per_hour", -1, 0, kMaxFen);
      if (!up || !fh || *up < 0 || *fh < 0) return std::nullopt;
      p.tiers.push_back({static_cast<uint32_t>(*up), *fh});
    }
  }
  return p;
}

std::string new_command_id() {
  unsigned char b[12];
  RAND_bytes(b, sizeof b);
  return "c" + proto::to_hex(std::span<const uint8_t>(b, sizeof b));
}

// ---------------------------------------------------------------------------------------------------
// opening and migrating

Store::Store(const std::string& path) : db_(path) {
  db_.exec("PRAGMA journal_mode=WAL");
  db_.exec("PRAGMA synchronous=NORMAL");
  db_.exec("PRAGMA foreign_keys=ON");
  db_.exec("PRAGMA temp_store=MEMORY");   // savepoint journals in memory, not in temp files
  db_.exec("PRAGMA cache_size=-32768");   // 32 MiB of page cache
  // Checkpoints run after this connection's commits, which lets the WAL restart from its start. Every
  // 8,192 pages (32 MiB) rather than SQLite's 1,000: at fleet ingest rates the same hot pages are
  // rewritten many times between checkpoints, and each checkpoint copies a page once and syncs twice.
  // A WAL that grew past 64 MiB once is cut back afterwards.
  db_.exec("PRAGMA wal_autocheckpoint=8192");
  db_.exec("PRAGMA journal_size_limit=67108864");
  migrate();
}

void Store::migrate() {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  db_.exec("CREATE TABLE IF NOT EXISTS schema_migration (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)");
  int64_t current = 0;
  {
    auto st = db_.prepare("SELECT coalesce(max(version), 0) FROM schema_migration");
    if (st.step()) current = st.i64(0);
  }
  for (auto& m : migrations()) {
    if (m.version <= current) continue;
    sql::Tx tx(db_);
    db_.exec(m.sql);
    db_.prepare("INSERT INTO schema_migration (version, name, applied_at) VALUES (?, ?, strftime('%s','now'))")
        .args(m.version, m.name)
        .run();
    tx.commit();
  }
}

int Store::schema_version() {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  auto st = db_.prepare("SELECT coalesce(max(version), 0) FROM schema_migration");
  st.step();
  return static_cast<int>(st.i64(0));
}

void Store::bump_auth_rev() { db_.prepare("UPDATE auth_state SET rev = rev + 1 WHERE id = 1").run(); }

// ---------------------------------------------------------------------------------------------------
// devices

namespace {
constexpr const char* kDeviceCols =
    "id, name, model, ports, hw, fw, iccid, enabled, lifecycle, plan_id, online, last_seen_at, csq, temp_dc, "
    "mains_dv, power_w, token_hash IS NOT NULL, pubkey IS NOT NULL, created_at, station, agent";

Device read_device(sql::Stmt& st) {
  Device d;
  d.id = st.text(0);
  d.name = st.text(1);
  d.model = st.opt_i64(2);
  d.ports = st.i64(3);
  d.hw = st.opt_i64(4);
  d.fw = st.opt_text(5);
  d.iccid = st.opt_text(6);
  d.enabled = st.i64(7) != 0;
  d.lifecycle = st.text(8);
  d.plan_id = st.opt_i64(9);
  d.online = st.i64(10) != 0;
  d.last_seen_at = st.opt_i64(11);
  d.csq = st.opt_i64(12);
  d.temp_dc = st.opt_i64(13);
  d.mains_dv = st.opt_i64(14);
  d.power_w = st.opt_i64(15);
  d.has_token = st.i64(16) != 0;
  d.has_pubkey = st.i64(17) != 0;
  d.created_at = st.i64(18);
  d.station = st.opt_text(19);
  d.agent = st.opt_text(20);
  return d;
}
}  // namespace

Result<Device> Store::create_device(const NewDevice& d, int64_t now) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  sql::Tx tx(db_);
  {
    auto st = db_.prepare("SELECT deleted_at FROM device WHERE id = ?");
    st.args(d.id);
    if (st.step()) return Result<Device>::no("device_exists", "a device with this id exists already");
  }
  db_.prepare("INSERT INTO device (id, name, ports, model, token_hash, pubkey, lifecycle, created_at) VALUES (?,?,?,?,?,?,?,?)")
      .args(d.id, d.name, d.ports, d.model, d.token_hash, d.pubkey, d.lifecycle, now)
      .run();
  auto ins = db_.prepare("INSERT INTO port (device_id, port, state, updated_at) VALUES (?, ?, 0, ?)");
  for (int64_t p = 1; p <= d.ports; ++p) {
    ins.args(d.id, p, now).run();
    ins.reset();
  }
  bump_auth_rev();
  tx.commit();
  auto st = db_.prepare(std::string("SELECT ") + kDeviceCols + " FROM device WHERE id = ?");
  st.args(d.id);
  st.step();
  auto dev = read_device(st);
  dev.port_states.assign(static_cast<size_t>(d.ports), 0);
  return Result<Device>::ok(dev);
}

std::optional<Device> Store::device(const std::string& id) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  auto st = db_.prepare(std::string("SELECT ") + kDeviceCols + " FROM device WHERE id = ? AND deleted_at IS NULL");
  st.args(id);
  if (!st.step()) return std::nullopt;
  Device d = read_device(st);
  auto ps = db_.prepare("SELECT state FROM port WHERE device_id = ? ORDER BY port");
  ps.args(id);
  while (ps.step()) d.port_states.push_back(ps.i64(0));
  return d;
}

std::vector<Device> Store::devices(int64_t limit, const std::string& after_id) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  auto st = db_.prepare(std::string("SELECT ") + kDeviceCols +
                        " FROM device WHERE deleted_at IS NULL AND id > ? ORDER BY id LIMIT ?");
  st.args(after_id, limit);
  std::vector<Device> out;
  while (st.step()) out.push_back(read_device(st));
  return out;
}

void Store::device_boot(const std::string& id, const proto::Login& b, int64_t now) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  sql::Tx tx(db_);
  db_.prepare("UPDATE device SET model = ?, ports = ?, hw = ?, fw = ?, iccid = ?, csq = ?, online = 1, last_seen_at = ? "
              "WHERE id = ?")
      .args(int64_t{b.model}, int64_t{b.ports}, int64_t{b.hw}, b.fw.text(), b.iccid, int64_t{b.csq}, now, id)
      .run();
  if (db_.changes() == 0) return;   // unknown device: the broker should not have let it in
  auto ins = db_.prepare("INSERT OR IGNORE INTO port (device_id, port, state, updated_at) VALUES (?, ?, 0, ?)");
  for (int64_t p = 1; p <= b.ports; ++p) {
    ins.args(id, p, now).run();
    ins.reset();
  }
  tx.commit();
}

void Store::device_heartbeat(const std::string& id, const proto::Heartbeat& hb, int64_t now) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  sql::Tx tx(db_);
  db_.prepare("UPDATE device SET csq = ?, temp_dc = ?, mains_dv = ?, power_w = ?, online = 1, last_seen_at = ? WHERE id = ?")
      .args(int64_t{hb.csq}, int64_t{hb.temp_dc}, int64_t{hb.mains_dv}, int64_t{hb.power_w}, now, id)
      .run();
  // Every port in one statement (one per port made heartbeats the costliest message at fleet scale):
  // the states travel as three decimal digits per port, port n at offset 3n-2; only changed rows are
  // written.
  std::string states;
  states.reserve(hb.ports.size() * 3);
  for (uint8_t st : hb.ports) {
    char buf[4];
    std::snprintf(buf, sizeof buf, "%03u", unsigned{st});
    states.append(buf, 3);
  }
  db_.prepare("UPDATE port SET state = CAST(substr(?1, port * 3 - 2, 3) AS INTEGER), updated_at = ?2 "
              "WHERE device_id = ?3 AND port BETWEEN 1 AND ?4 AND state != CAST(substr(?1, port * 3 - 2, 3) AS INTEGER)")
      .args(states, now, id, static_cast<int64_t>(hb.ports.size()))
      .run();
  tx.commit();
}

void Store::device_online(const std::string& id, bool online, int64_t now) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  if (online)
    db_.prepare("UPDATE device SET online = 1, last_seen_at = ? WHERE id = ?").args(now, id).run();
  else
    db_.prepare("UPDATE device SET online = 0 WHERE id = ?").args(id).run();
}

std::vector<std::string> Store::mark_silent_offline(int64_t before) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  std::vector<std::string> ids;
  auto st = db_.prepare("UPDATE device SET online = 0 WHERE online = 1 AND (last_seen_at IS NULL OR last_seen_at < ?) RETURNING id");
  st.args(before);
  while (st.step()) ids.push_back(st.text(0));
  return ids;
}

Result<Device> Store::assign_plan(const std::string& device_id, int64_t plan_id) {
  {
    std::lock_guard<std::recursive_mutex> lock(mu_);
    auto p = db_.prepare("SELECT 1 FROM price_plan WHERE id = ?");
    p.args(plan_id);
    if (!p.step()) return Result<Device>::no("plan_not_found", "no price plan with this id", 404);
    db_.prepare("UPDATE device SET plan_id = ? WHERE id = ? AND deleted_at IS NULL").args(plan_id, device_id).run();
    if (db_.changes() == 0) return Result<Device>::no("device_not_found", "no device with this id", 404);
  }
  return Result<Device>::ok(*device(device_id));
}

Result<Device> Store::set_enabled(const std::string& device_id, bool enabled) {
  {
    std::lock_guard<std::recursive_mutex> lock(mu_);
    sql::Tx tx(db_);
    db_.prepare("UPDATE device SET enabled = ? WHERE id = ? AND deleted_at IS NULL").args(int64_t{enabled}, device_id).run();
    if (db_.changes() == 0) return Result<Device>::no("device_not_found", "no device with this id", 404);
    bump_auth_rev();
    tx.commit();
  }
  return Result<Device>::ok(*device(device_id));
}

Result<Device> Store::set_lifecycle(const std::string& device_id, const std::string& lifecycle) {
  if (lifecycle != "not_produced" && lifecycle != "in_stock" && lifecycle != "not_installed" && lifecycle != "installed")
    return Result<Device>::no("bad_lifecycle", "lifecycle must be not_produced, in_stock, not_installed or installed", 400);
  {
    std::lock_guard<std::recursive_mutex> lock(mu_);
    db_.prepare("UPDATE device SET lifecycle = ? WHERE id = ? AND deleted_at IS NULL").args(lifecycle, device_id).run();
    if (db_.changes() == 0) return Result<Device>::no("device_not_found", "no device with this id", 404);
  }
  return Result<Device>::ok(*device(device_id));
}

Result<Device> Store::set_placement(const std::string& device_id, const std::string& station, const std::string& agent) {
  {
    std::lock_guard<std::recursive_mutex> lock(mu_);
    auto opt = [](const std::string& v) { return v.empty() ? std::optional<std::string>() : std::optional<std::string>(v); };
    db_.prepare("UPDATE device SET station = ?, agent = ? WHERE id = ? AND deleted_at IS NULL").args(opt(station), opt(agent), device_id).run();
    if (db_.changes() == 0) return Result<Device>::no("device_not_found", "no device with this id", 404);
  }
  return Result<Device>::ok(*device(device_id));
}

Result<Device> Store::delete_device(const std::string& device_id, int64_t now) {
  auto d = device(device_id);
  if (!d) return Result<Device>::no("device_not_found", "no device with this id", 404);
  std::lock_guard<std::recursive_mutex> lock(mu_);
  sql::Tx tx(db_);
  db_.prepare("UPDATE device SET deleted_at = ?, online = 0, token_hash = NULL, prev_token_hash = NULL, pubkey = NULL WHERE id = ?")
      .args(now, device_id)
      .run();
  bump_auth_rev();
  tx.commit();
  return Result<Device>::ok(*d);
}

Result<Device> Store::rotate_token(const std::string& device_id, const std::string& token_hash, int64_t grace_s, int64_t now) {
  {
    std::lock_guard<std::recursive_mutex> lock(mu_);
    sql::Tx tx(db_);
    db_.prepare("UPDATE device SET prev_token_hash = CASE WHEN ?1 > 0 THEN token_hash END, "
                "prev_token_until = CASE WHEN ?1 > 0 THEN ?2 END, token_hash = ?3, pubkey = NULL "
                "WHERE id = ?4 AND deleted_at IS NULL")
        .args(grace_s, now + grace_s, token_hash, device_id)
        .run();
    if (db_.changes() == 0) return Result<Device>::no("device_not_found", "no device with this id", 404);
    bump_auth_rev();
    tx.commit();
  }
  return Result<Device>::ok(*device(device_id));
}

// ---------------------------------------------------------------------------------------------------
// plans

int64_t Store::create_plan(const std::string& name, const pricing::Plan& p, int64_t now) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  db_.prepare("INSERT INTO price_plan (name, kind, spec, version, created_at) VALUES (?, ?, ?, 1, ?)")
      .args(name, pricing::plan_kind_name(p.kind), json::serialize(plan_to_json(p)), now)
      .run();
  return db_.last_insert_id();
}

std::optional<PlanRow> Store::plan(int64_t id) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  auto st = db_.prepare("SELECT id, name, spec, version, created_at FROM price_plan WHERE id = ?");
  st.args(id);
  if (!st.step()) return std::nullopt;
  auto p = plan_from_json(json::parse(st.text(2)));
  if (!p) return std::nullopt;
  return PlanRow{st.i64(0), st.i64(3), st.i64(4), st.text(1), *p};
}

std::vector<PlanRow> Store::plans() {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  auto st = db_.prepare("SELECT id, name, spec, version, created_at FROM price_plan ORDER BY id");
  std::vector<PlanRow> out;
  while (st.step())
    if (auto p = plan_from_json(json::parse(st.text(2)))) out.push_back(PlanRow{st.i64(0), st.i64(3), st.i64(4), st.text(1), *p});
  return out;
}

// ---------------------------------------------------------------------------------------------------
// riders and money

std::optional<Rider> Store::load_rider(int64_t id) {
  auto st = db_.prepare(
      "SELECT r.id, r.name, r.phone, w.balance_fen, w.held_fen, r.created_at FROM rider r JOIN wallet w ON w.rider_id = r.id "
      "WHERE r.id = ?");
  st.args(id);
  if (!st.step()) return std::nullopt;
  return Rider{st.i64(0), st.text(1), st.text(2), st.i64(3), st.i64(4), st.i64(5)};
}

Rider Store::create_rider(const std::string& name, const std::string& phone, int64_t now) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  sql::Tx tx(db_);
  db_.prepare("INSERT INTO rider (name, phone, created_at) VALUES (?, ?, ?)").args(name, phone, now).run();
  int64_t id = db_.last_insert_id();
  db_.prepare("INSERT INTO wallet (rider_id) VALUES (?)").args(id).run();
  tx.commit();
  return *load_rider(id);
}

std::optional<Rider> Store::rider(int64_t id) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  return load_rider(id);
}

Result<Rider> Store::topup(int64_t rider_id, int64_t amount_fen, int64_t bonus_fen, const std::string& note, int64_t now) {
  if (amount_fen <= 0 || amount_fen > 100'000'00) return Result<Rider>::no("bad_amount", "amount_fen must be 1..10000000", 400);
  if (bonus_fen < 0 || bonus_fen > amount_fen) return Result<Rider>::no("bad_amount", "bonus_fen must be 0..amount_fen", 400);
  std::lock_guard<std::recursive_mutex> lock(mu_);
  sql::Tx tx(db_);
  if (!load_rider(rider_id)) return Result<Rider>::no("rider_not_found", "no rider with this id", 404);
  auto add = db_.prepare("INSERT INTO ledger (rider_id, kind, amount_fen, note, created_at) VALUES (?, ?, ?, ?, ?)");
  add.args(rider_id, "topup", amount_fen, note, now).run();
  if (bonus_fen > 0) {
    add.reset();
    add.args(rider_id, "bonus", bonus_fen, note, now).run();
  }
  db_.prepare("UPDATE wallet SET balance_fen = balance_fen + ? WHERE rider_id = ?").args(amount_fen + bonus_fen, rider_id).run();
  tx.commit();
  return Result<Rider>::ok(*load_rider(rider_id));
}

std::vector<LedgerEntry> Store::ledger(int64_t rider_id, int64_t limit) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  auto st = db_.prepare(
      "SELECT id, rider_id, amount_fen, created_at, kind, note, session_id FROM ledger WHERE rider_id = ? ORDER BY id DESC LIMIT ?");
  st.args(rider_id, limit);
  std::vector<LedgerEntry> out;
  while (st.step()) out.push_back(LedgerEntry{st.i64(0), st.i64(1), st.i64(2), st.i64(3), st.text(4), st.text(5), st.opt_i64(6)});
  return out;
}

int64_t Store::ledger_sum(int64_t rider_id) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  auto st = db_.prepare("SELECT coalesce(sum(amount_fen), 0) FROM ledger WHERE rider_id = ?");
  st.args(rider_id);
  st.step();
  return st.i64(0);
}

// ---------------------------------------------------------------------------------------------------
// sessions

namespace {
constexpr const char* kSessionCols =
    "id, device_id, port, rider_id, state, plan_id, plan_version, plan_spec, prepaid_fen, mode, limit_value, energy_wh, "
    "duration_s, power_w, max_power_w, amount_fen, end_reason, error, created_at, started_at, ended_at, settled_at, card_uid, "
    "flag, refunded_fen";

SessionRow read_session(sql::Stmt& st) {
  SessionRow s;
  s.id = st.i64(0);
  s.device_id = st.text(1);
  s.port = st.i64(2);
  s.rider_id = st.opt_i64(3);
  s.state = session::parse_state(st.text(4)).value_or(State::Lost);
  s.plan_id = st.i64(5);
  s.plan_version = st.i64(6);
  s.plan = plan_from_json(json::parse(st.text(7))).value_or(pricing::Plan::free());
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
  return s;
}

CommandRow read_command(sql::Stmt& st) {
  CommandRow c;
  c.id = st.text(0);
  c.device_id = st.text(1);
  c.op = st.text(2);
  auto a = json::parse(st.text(3));
  if (a.is_object()) c.args = a.get_object();
  c.state = st.text(4);
  c.result = st.opt_i64(5);
  if (auto r = st.opt_text(6)) {
    auto v = json::parse(*r);
    if (v.is_object()) c.reply = v.get_object();
  }
  c.error = st.opt_text(7);
  c.session_id = st.opt_i64(8);
  c.created_by = st.text(9);
  c.created_at = st.i64(10);
  c.sent_at = st.opt_i64(11);
  c.replied_at = st.opt_i64(12);
  c.expires_at = st.i64(13);
  return c;
}
constexpr const char* kCommandCols =
    "id, device_id, op, args, state, result, reply, error, session_id, created_by, created_at, sent_at, replied_at, expires_at";
}  // namespace

std::optional<SessionRow> Store::load_session(int64_t id) {
  auto st = db_.prepare(std::string("SELECT ") + kSessionCols + " FROM session WHERE id = ?");
  st.args(id);
  if (!st.step()) return std::nullopt;
  return read_session(st);
}

std::optional<SessionRow> Store::session(int64_t id) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  return load_session(id);
}

std::vector<SessionRow> Store::sessions(const SessionFilter& f) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  auto st = db_.prepare(std::string("SELECT ") + kSessionCols +
                        " FROM session WHERE (?1 IS NULL OR rider_id = ?1) AND (?2 IS NULL OR device_id = ?2) "
                        "AND (?3 IS NULL OR state = ?3) AND (?4 IS NULL OR id < ?4) ORDER BY id DESC LIMIT ?5");
  st.bind(1, f.rider_id).bind(2, f.device_id).bind(3, f.state).bind(4, f.before_id).bind(5, std::clamp<int64_t>(f.limit, 1, 500));
  std::vector<SessionRow> out;
  while (st.step()) out.push_back(read_session(st));
  return out;
}

void Store::set_session_state(int64_t id, State s) {
  db_.prepare("UPDATE session SET state = ? WHERE id = ?").args(std::string(session::state_name(s)), id).run();
}

void Store::release_hold(const SessionRow& s) {
  if (s.rider_id && s.prepaid_fen > 0)
    db_.prepare("UPDATE wallet SET held_fen = held_fen - ? WHERE rider_id = ?").args(s.prepaid_fen, *s.rider_id).run();
}

CommandRow Store::insert_command(const std::string& device_id, const std::string& op, json::object args,
                                 const std::string& by, std::optional<int64_t> session_id, int64_t now, int64_t ttl_s) {
  CommandRow c;
  c.id = new_command_id();
  c.device_id = device_id;
  c.op = op;
  c.args = std::move(args);
  c.state = "queued";
  c.session_id = session_id;
  c.created_by = by;
  c.created_at = now;
  c.expires_at = now + ttl_s;
  db_.prepare("INSERT INTO command (id, device_id, op, args, state, session_id, created_by, created_at, expires_at) "
              "VALUES (?, ?, ?, ?, 'queued', ?, ?, ?, ?)")
      .args(c.id, c.device_id, c.op, json::serialize(c.args), session_id, by, now, c.expires_at)
      .run();
  return c;
}

CommandRow Store::new_command(const std::string& device_id, const std::string& op, json::object args,
                              const std::string& by, std::optional<int64_t> session_id, int64_t now, int64_t ttl_s) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  return insert_command(device_id, op, std::move(args), by, session_id, now, ttl_s);
}

Result<StartTicket> Store::open_session(const OpenRequest& r, int64_t now) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  return open_session_locked(r, now);
}

Result<StartTicket> Store::open_session_locked(const OpenRequest& r, int64_t now) {
  using R = Result<StartTicket>;
  sql::Tx tx(db_);
  // Every lookup below is read in its own scope: a statement still stepping when the transaction
  // commits keeps the connection reading, which makes SQLite skip the checkpoint after the commit (the
  // WAL then grows without end: 0.7 GB while the ingest benchmark opened 10,000 sessions).
  int64_t plan_id = 0;
  {
    auto dst = db_.prepare("SELECT enabled, online, ports, coalesce(plan_id, 1) FROM device WHERE id = ? AND deleted_at IS NULL");
    dst.args(r.device_id);
    if (!dst.step()) return R::no("device_not_found", "no device with this id", 404);
    if (!dst.i64(0)) return R::no("device_disabled", "the device is disabled");
    if (!dst.i64(1)) return R::no("device_offline", "the device is offline");
    if (r.port < 1 || r.port > dst.i64(2)) return R::no("bad_port", "no such port on this device", 400);
    plan_id = dst.i64(3);
  }
  {
    auto ps = db_.prepare("SELECT state FROM port WHERE device_id = ? AND port = ?");
    ps.args(r.device_id, r.port);
    if (ps.step() && (ps.i64(0) == 3 || ps.i64(0) == 4)) return R::no("port_unavailable", "the port is faulty or disabled");
  }
  {
    auto busy = db_.prepare("SELECT id FROM session WHERE device_id = ? AND port = ? AND state IN ('requested','starting','charging','stopping')");
    busy.args(r.device_id, r.port);
    if (busy.step()) return R::no("port_busy", "the port is in use by session " + std::to_string(busy.i64(0)));
  }
  auto rider = load_rider(r.rider_id);
  if (!rider) return R::no("rider_not_found", "no rider with this id", 404);
  std::string spec;
  int64_t plan_version = 0;
  {
    auto pst = db_.prepare("SELECT spec, version FROM price_plan WHERE id = ?");
    pst.args(plan_id);
    if (!pst.step()) return R::no("plan_not_found", "the device's price plan is missing", 500);
    spec = pst.text(0);
    plan_version = pst.i64(1);
  }
  auto plan = plan_from_json(json::parse(spec));
  if (!plan) return R::no("plan_invalid", "the device's price plan cannot be read", 500);

  int64_t amount = r.amount_fen;
  if (r.duration_s > 0) {
    if (plan->kind != pricing::PlanKind::Time && plan->kind != pricing::PlanKind::PowerTier && plan->kind != pricing::PlanKind::Free)
      return R::no("duration_not_offered", "this device's price plan sells energy, not time: give amount_fen", 400);
    if (r.duration_s > plan->max_duration_s) return R::no("bad_duration", "longer than the plan allows", 400);
    // The price of that duration at the lowest band; a dearer band shortens it (ADJUST) as power rises.
    amount = pricing::price_fen(*plan, pricing::Usage{0, static_cast<uint32_t>(r.duration_s), 0});
  }
  if (plan->kind == pricing::PlanKind::Free) {
    amount = 0;
  } else {
    if (r.until_full && amount == 0) amount = plan->cap_fen > 0 ? std::min(plan->cap_fen, rider->available_fen()) : rider->available_fen();
    if (amount <= 0 && !r.until_full) return R::no("bad_amount", "amount_fen must be positive", 400);
    if (amount <= 0 || amount > rider->available_fen())
      return R::no("insufficient_funds", "the wallet's available balance is " + std::to_string(rider->available_fen()) + " fen", 402);
  }
  auto limit = pricing::limit_for_amount(*plan, amount, 0);
  if (r.duration_s > 0) limit = pricing::Limit{1, static_cast<uint32_t>(std::min<int64_t>(r.duration_s, limit.limit ? limit.limit : r.duration_s))};
  if (plan->kind != pricing::PlanKind::Free && limit.limit == 0)
    return R::no("amount_too_small", "the amount buys nothing under this device's price plan", 400);

  db_.prepare("INSERT INTO session (device_id, port, rider_id, state, plan_id, plan_version, plan_spec, prepaid_fen, mode, "
              "limit_value, created_at, card_uid) VALUES (?, ?, ?, 'requested', ?, ?, ?, ?, ?, ?, ?, ?)")
      .args(r.device_id, r.port, r.rider_id, plan_id, plan_version, spec, amount, int64_t{limit.mode}, int64_t{limit.limit}, now,
            r.card_uid)
      .run();
  int64_t sid = db_.last_insert_id();
  if (amount > 0) db_.prepare("UPDATE wallet SET held_fen = held_fen + ? WHERE rider_id = ?").args(amount, r.rider_id).run();
  json::object args{{"port", r.port}, {"session", sid}, {"mode", limit.mode}, {"limit", limit.limit}, {"max_power_w", 0}};
  auto cmd = insert_command(r.device_id, "start", std::move(args), r.created_by, sid, now, r.command_ttl_s);
  auto s = load_session(sid);
  tx.commit();
  return R::ok(StartTicket{*s, cmd});
}

Result<CommandRow> Store::request_stop(int64_t session_id, const std::string& by, int64_t now) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  return request_stop_locked(session_id, by, now);
}

Result<CommandRow> Store::request_stop_locked(int64_t session_id, const std::string& by, int64_t now) {
  using R = Result<CommandRow>;
  sql::Tx tx(db_);
  auto s = load_session(session_id);
  if (!s) return R::no("session_not_found", "no session with this id", 404);
  auto n = session::next(s->state, Event::StopRequested);
  if (!n) return R::no("session_not_active", "the session is " + std::string(session::state_name(s->state)));
  set_session_state(s->id, *n);
  auto cmd = insert_command(s->device_id, "stop", json::object{{"port", s->port}, {"session", s->id}}, by, s->id, now, 60);
  tx.commit();
  return R::ok(cmd);
}

void Store::command_sent(const std::string& id, int64_t now) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  sql::Tx tx(db_);
  db_.prepare("UPDATE command SET state = 'sent', sent_at = ? WHERE id = ? AND state = 'queued'").args(now, id).run();
  std::optional<int64_t> start_of;   // the session a START command opens
  {
    auto st = db_.prepare("SELECT session_id, op FROM command WHERE id = ?");
    st.args(id);
    if (st.step() && !st.is_null(0) && st.text(1) == "start") start_of = st.i64(0);
  }
  if (start_of) {
    if (auto s = load_session(*start_of))
      if (auto n = session::next(s->state, Event::StartSent)) set_session_state(s->id, *n);
  }
  tx.commit();
}

std::vector<CommandRow> Store::unsent_commands(int64_t now) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  db_.prepare("UPDATE command SET state = 'expired', error = 'expired before it was sent' WHERE state = 'queued' AND expires_at <= ?")
      .args(now)
      .run();
  auto st = db_.prepare(std::string("SELECT ") + kCommandCols + " FROM command WHERE state = 'queued' ORDER BY created_at");
  std::vector<CommandRow> out;
  while (st.step()) out.push_back(read_command(st));
  return out;
}

std::optional<CommandRow> Store::load_command(const std::string& id) {
  auto st = db_.prepare(std::string("SELECT ") + kCommandCols + " FROM command WHERE id = ?");
  st.args(id);
  if (!st.step()) return std::nullopt;
  return read_command(st);
}

std::optional<CommandRow> Store::command(const std::string& id) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  return load_command(id);
}

std::vector<CommandRow> Store::commands(const std::string& device_id, int64_t limit) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  auto st = db_.prepare(std::string("SELECT ") + kCommandCols + " FROM command WHERE device_id = ? ORDER BY created_at DESC, rowid DESC LIMIT ?");
  st.args(device_id, limit);
  std::vector<CommandRow> out;
  while (st.step()) out.push_back(read_command(st));
  return out;
}

Effect Store::apply_reply(const std::string& device_id, const json::object& reply, int64_t now) {
  Effect eff;
  auto* idv = reply.if_contains("id");
  if (!idv || !idv->is_string()) {
    eff.note = "reply without id";
    return eff;
  }
  std::string id(idv->get_string());
  std::lock_guard<std::recursive_mutex> lock(mu_);
  sql::Tx tx(db_);
  auto cmd = load_command(id);
  if (!cmd || cmd->device_id != device_id) {
    eff.note = "reply to an unknown command";
    return eff;
  }
  if (cmd->state == "replied" || cmd->state == "failed" || cmd->state == "expired") {
    eff.duplicate = true;
    return eff;
  }
  std::optional<int64_t> result;
  std::optional<std::string> error;
  if (auto* r = reply.if_contains("result"); r && r->is_number()) result = r->to_number<int64_t>();
  if (auto* e = reply.if_contains("error"); e && e->is_string()) error = std::string(e->get_string());
  if (!result && !error) error = "malformed reply";
  std::string state = error ? (*error == "expired" ? "expired" : "failed") : "replied";
  db_.prepare("UPDATE command SET state = ?, result = ?, reply = ?, error = ?, replied_at = ? WHERE id = ?")
      .args(state, result, json::serialize(reply), error, now, id)
      .run();
  eff.command = load_command(id);
  if (cmd->op == "start" && cmd->session_id) {
    auto s = load_session(*cmd->session_id);
    if (s) {
      Event ev = error ? Event::StartTimeout : (*result == 0 ? Event::StartAccepted : Event::StartRefused);
      if (auto n = session::next(s->state, ev)) {
        set_session_state(s->id, *n);
        if (*n == State::Charging && !s->started_at)
          db_.prepare("UPDATE session SET started_at = ? WHERE id = ?").args(now, s->id).run();
        if (*n == State::Rejected || *n == State::StartTimedOut) {
          release_hold(*s);
          std::string why = error ? "start failed: " + *error : "start refused by the charger, result " + std::to_string(*result);
          db_.prepare("UPDATE session SET error = ?, ended_at = ? WHERE id = ?").args(why, now, s->id).run();
        }
      }
      eff.session = load_session(s->id);
    }
  }
  tx.commit();
  return eff;
}

void Store::record_meter(const std::string& device_id, const proto::Meter& m, int64_t now) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  sql::Tx tx(db_);
  auto up = db_.prepare(
      "UPDATE session SET energy_wh = max(energy_wh, ?1), duration_s = max(duration_s, ?2), power_w = ?3, "
      "max_power_w = max(max_power_w, ?3), state = CASE WHEN state IN ('requested','starting') THEN 'charging' ELSE state END, "
      "started_at = coalesce(started_at, ?4) "
      "WHERE id = ?5 AND device_id = ?6 AND port = ?7 AND state IN ('requested','starting','charging','stopping')");
  auto ins = db_.prepare("INSERT INTO meter_sample (session_id, ts, power_w, energy_wh, elapsed_s, voltage_dv, current_ma) VALUES (?,?,?,?,?,?,?)");
  for (auto& p : m.ports) {
    if (p.session == 0) continue;
    up.args(int64_t{p.energy_wh}, int64_t{p.elapsed_s}, int64_t{p.power_w}, now, int64_t{p.session}, device_id, int64_t{p.port}).run();
    bool known = db_.changes() > 0;
    up.reset();
    if (!known) continue;
    ins.args(int64_t{p.session}, now, int64_t{p.power_w}, int64_t{p.energy_wh}, int64_t{p.elapsed_s}, int64_t{p.voltage_dv},
             int64_t{p.current_ma})
        .run();
    ins.reset();
  }
  tx.commit();
}

json::array Store::meter_samples(int64_t session_id, int64_t limit) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  auto st = db_.prepare("SELECT ts, power_w, energy_wh, elapsed_s, voltage_dv, current_ma FROM meter_sample WHERE session_id = ? ORDER BY ts LIMIT ?");
  st.args(session_id, limit);
  json::array out;
  while (st.step())
    out.push_back(json::object{{"ts", st.i64(0)}, {"power_w", st.i64(1)}, {"energy_wh", st.i64(2)}, {"elapsed_s", st.i64(3)},
                               {"voltage_dv", st.i64(4)}, {"current_ma", st.i64(5)}});
  return out;
}

json::object Store::settle_end(const std::string& device_id, const std::string& msg, const proto::SessionEnd& e, int64_t now,
                               Effect* effect) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  sql::Tx tx(db_);
  {
    auto seen = db_.prepare("SELECT ack FROM processed_msg WHERE msg = ?");
    seen.args(msg);
    if (seen.step()) {
      if (effect) effect->duplicate = true;
      auto v = json::parse(seen.text(0));
      return v.is_object() ? v.get_object() : json::object{{"re", msg}, {"result", 0}};
    }
  }
  json::object ack{{"re", msg}, {"result", 0}};
  auto s = load_session(e.session);
  if (s && s->device_id == device_id && s->port == e.port) {
    if (session::next(s->state, Event::EndReported)) {
      settle_as(*s, pricing::Usage{e.energy_wh, e.duration_s, e.max_power_w}, int64_t{e.reason}, "", now);
      if (e.started_at)
        db_.prepare("UPDATE session SET started_at = coalesce(started_at, ?) WHERE id = ?").args(int64_t{e.started_at}, s->id).run();
      if (effect) effect->session = load_session(s->id);
    } else if (effect) {
      effect->note = "session already " + std::string(session::state_name(s->state));
    }
  } else if (effect) {
    effect->note = "unknown session";
  }
  db_.prepare("INSERT INTO processed_msg (msg, device_id, kind, ack, created_at) VALUES (?, ?, 'session_end', ?, ?)")
      .args(msg, device_id, json::serialize(ack), now)
      .run();
  tx.commit();
  return ack;
}

// Settles a session that ended (or was lost) with the given usage: charges the wallet (capped by the
// prepayment, or by the available balance when the hold was already released), releases the hold and
// writes the ledger, inside the caller's transaction.
void Store::settle_as(const SessionRow& s, const pricing::Usage& u, std::optional<int64_t> reason, const std::string& note,
                      int64_t now) {
  bool holding = session::holds_port(s.state);
  int64_t cap = s.prepaid_fen;
  if (!holding && s.rider_id) {
    auto r = load_rider(*s.rider_id);
    cap = r ? std::max<int64_t>(0, r->available_fen()) : 0;
  }
  int64_t amount = s.rider_id ? pricing::charge_fen(s.plan, u, cap) : 0;
  if (holding) release_hold(s);
  if (s.rider_id && amount > 0) {
    db_.prepare("INSERT INTO ledger (rider_id, kind, amount_fen, session_id, note, created_at) VALUES (?, 'charge', ?, ?, ?, ?)")
        .args(*s.rider_id, -amount, s.id, note, now)
        .run();
    db_.prepare("UPDATE wallet SET balance_fen = balance_fen - ? WHERE rider_id = ?").args(amount, *s.rider_id).run();
  }
  db_.prepare("UPDATE session SET state = 'settled', energy_wh = ?, duration_s = ?, max_power_w = max(max_power_w, ?), "
              "power_w = 0, amount_fen = ?, end_reason = ?, error = coalesce(?, error), ended_at = ?, settled_at = ? WHERE id = ?")
      .args(int64_t{u.energy_wh}, int64_t{u.duration_s}, int64_t{u.max_power_w}, amount, reason,
            note.empty() ? std::optional<std::string>() : std::optional<std::string>(note), now, now, s.id)
      .run();
}

std::vector<SessionRow> Store::expire_starts(int64_t created_before, int64_t now) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  sql::Tx tx(db_);
  std::vector<SessionRow> out;
  {
    auto st = db_.prepare(std::string("SELECT ") + kSessionCols +
                          " FROM session WHERE state IN ('requested','starting') AND created_at < ?");
    st.args(created_before);
    while (st.step()) out.push_back(read_session(st));
  }
  for (auto& s : out) {
    release_hold(s);
    db_.prepare("UPDATE session SET state = 'start_timed_out', error = 'no reply to START', ended_at = ? WHERE id = ?")
        .args(now, s.id)
        .run();
    db_.prepare("UPDATE command SET state = 'failed', error = 'no reply' WHERE session_id = ? AND op = 'start' AND state IN ('queued','sent')")
        .args(s.id)
        .run();
    s.state = State::StartTimedOut;
  }
  tx.commit();
  return out;
}

// ---------------------------------------------------------------------------------------------------
// reconciliation, telemetry rules, refunds

FollowUp Store::reconcile(const std::string& device_id, const json::array& ports, int64_t now) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  sql::Tx tx(db_);
  FollowUp out;
  std::map<int64_t, std::pair<int64_t, int64_t>> charging;   // port -> (session, energy) the charger runs
  for (auto& pv : ports) {
    if (!pv.is_object()) continue;
    auto& p = pv.get_object();
    auto port = num(p, "port", 0, 0, 255), state = num(p, "state", 0, 0, 4), sess = num(p, "session", 0, 0, 0xFFFFFFFFLL),
         energy = num(p, "energy_wh", 0, 0, 0xFFFFFFFFLL);
    if (!port || !state || !sess || !energy) continue;
    if (*state == 1) charging[*port] = {*sess, *energy};
  }
  // Sessions we run on this device.
  std::vector<SessionRow> ours;
  {
    auto st = db_.prepare(std::string("SELECT ") + kSessionCols +
                          " FROM session WHERE device_id = ? AND state IN ('requested','starting','charging','stopping')");
    st.args(device_id);
    while (st.step()) ours.push_back(read_session(st));
  }
  for (auto& s : ours) {
    auto it = charging.find(s.port);
    bool charger_has_it = it != charging.end() && it->second.first == s.id;
    // A START still on its way may not have reached the charger yet: leave young sessions alone.
    if (charger_has_it || ((s.state == State::Requested || s.state == State::Starting) && now - s.created_at < 30)) continue;
    set_session_state(s.id, State::Lost);
    s.state = State::Lost;
    pricing::Usage u{static_cast<uint32_t>(s.energy_wh), static_cast<uint32_t>(s.duration_s), static_cast<uint32_t>(s.max_power_w)};
    // settle_as releases the hold only for states that hold a port; a lost session still holds it.
    SessionRow holding = s;
    holding.state = State::Charging;
    settle_as(holding, u, std::nullopt, "lost: the charger no longer has this session", now);
    if (auto done = load_session(s.id)) out.settled.push_back(*done);
  }
  for (auto& [port, v] : charging) {
    auto s = load_session(v.first);
    bool known_active = s && s->device_id == device_id && s->port == port && session::holds_port(s->state);
    if (known_active) continue;
    out.commands.push_back(insert_command(device_id, "stop", json::object{{"port", port}, {"session", v.first}},
                                          "reconcile", std::nullopt, now, 60));
  }
  tx.commit();
  return out;
}

FollowUp Store::record_meter_and_check(const std::string& device_id, const proto::Meter& m, int64_t now,
                                       const TelemetryRules& rules) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  sql::Tx tx(db_);
  record_meter(device_id, m, now);
  FollowUp out;
  for (auto& p : m.ports) {
    if (p.session == 0) continue;
    auto s = load_session(p.session);
    if (!s || s->device_id != device_id || s->port != p.port || s->state != State::Charging) continue;
    pricing::Usage u{static_cast<uint32_t>(s->energy_wh), static_cast<uint32_t>(s->duration_s), static_cast<uint32_t>(s->max_power_w)};
    // Funds running out: the charger enforces energy limits itself, but time and power tier prices can
    // outrun the prepayment (the band rises): stop at the prepaid amount.
    if (s->plan.kind != pricing::PlanKind::Free && s->plan.kind != pricing::PlanKind::Energy &&
        pricing::price_fen(s->plan, u) >= s->prepaid_fen - rules.stop_margin_fen) {
      if (auto c = request_stop_locked(s->id, "funds_exhausted", now)) out.commands.push_back(*c.value);
      continue;
    }
    // Power tier: a higher band buys less time; tell the charger the shorter limit.
    if (s->plan.kind == pricing::PlanKind::PowerTier) {
      auto l = pricing::limit_for_amount(s->plan, s->prepaid_fen, static_cast<uint32_t>(s->max_power_w));
      if (l.mode == s->mode && int64_t{l.limit} < s->limit_value) {
        db_.prepare("UPDATE session SET limit_value = ? WHERE id = ?").args(int64_t{l.limit}, s->id).run();
        out.commands.push_back(insert_command(
            device_id, "adjust", json::object{{"port", s->port}, {"session", s->id}, {"mode", l.mode}, {"limit", l.limit}},
            "power_band", s->id, now, 60));
      }
    }
    // Dangerous curves are flagged for the operator (docs/sessions.md).
    if (!s->flag) {
      std::optional<std::string> flag;
      if (s->energy_wh > rules.pack_energy_wh) flag = "energy_over_pack";
      else if (s->duration_s > rules.taper_after_s && p.power_w * 10 >= s->max_power_w * 9 && p.power_w > 50)
        flag = "power_not_tapering";
      if (flag) db_.prepare("UPDATE session SET flag = ? WHERE id = ?").args(*flag, s->id).run();
    }
  }
  tx.commit();
  return out;
}

FollowUp Store::stop_for_alarm(const std::string& device_id, const proto::Alarm& a, int64_t now) {
  using proto::AlarmCode;
  FollowUp out;
  auto code = static_cast<AlarmCode>(a.code);
  bool cuts_port = code == AlarmCode::PortOverload || code == AlarmCode::RelayFault || code == AlarmCode::Leakage ||
                   code == AlarmCode::FuseBlown;
  bool cuts_unit = code == AlarmCode::TempCutoff || code == AlarmCode::UnitOverload;
  if (!cuts_port && !cuts_unit) return out;
  std::lock_guard<std::recursive_mutex> lock(mu_);
  sql::Tx tx(db_);
  std::vector<int64_t> ids;
  {
    auto st = db_.prepare("SELECT id FROM session WHERE device_id = ? AND (? = 0 OR port = ?) AND state IN ('starting','charging')");
    int64_t port = (cuts_unit && code == AlarmCode::TempCutoff) || a.port == 0 ? 0 : a.port;
    st.args(device_id, port, port);
    while (st.step()) ids.push_back(st.i64(0));
  }
  for (int64_t id : ids)
    if (auto c = request_stop_locked(id, "alarm", now)) out.commands.push_back(*c.value);
  tx.commit();
  return out;
}

int64_t Store::downsample_meter(int64_t older_than, int64_t interval_s) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  db_.prepare("DELETE FROM meter_sample WHERE ts < ?1 AND rowid NOT IN "
              "(SELECT min(rowid) FROM meter_sample WHERE ts < ?1 GROUP BY session_id, ts / ?2)")
      .args(older_than, std::max<int64_t>(interval_s, 1))
      .run();
  return db_.changes();
}

Result<SessionRow> Store::refund_session(int64_t session_id, int64_t amount_fen, const std::string& note, int64_t now) {
  using R = Result<SessionRow>;
  std::lock_guard<std::recursive_mutex> lock(mu_);
  sql::Tx tx(db_);
  auto s = load_session(session_id);
  if (!s) return R::no("session_not_found", "no session with this id", 404);
  if (s->state != State::Settled || !s->rider_id) return R::no("not_settled", "only settled sessions can be refunded");
  int64_t refundable = s->amount_fen.value_or(0) - s->refunded_fen;
  if (amount_fen <= 0 || amount_fen > refundable)
    return R::no("bad_amount", "at most " + std::to_string(refundable) + " fen can be refunded", 400);
  db_.prepare("INSERT INTO ledger (rider_id, kind, amount_fen, session_id, note, created_at) VALUES (?, 'refund', ?, ?, ?, ?)")
      .args(*s->rider_id, amount_fen, s->id, note, now)
      .run();
  db_.prepare("UPDATE wallet SET balance_fen = balance_fen + ? WHERE rider_id = ?").args(amount_fen, *s->rider_id).run();
  db_.prepare("UPDATE session SET refunded_fen = refunded_fen + ? WHERE id = ?").args(amount_fen, s->id).run();
  auto out = load_session(s->id);
  tx.commit();
  return R::ok(*out);
}

// ---------------------------------------------------------------------------------------------------
// IC cards and recharge offers

namespace {
CardRow read_card(sql::Stmt& st) { return CardRow{st.text(0), st.i64(1), st.text(2), st.i64(3)}; }
bool valid_uid(const std::string& uid) {
  if (uid.size() < 8 || uid.size() > 20 || uid.size() % 2) return false;
  return uid.find_first_not_of("0123456789ABCDEF") == std::string::npos;
}
}  // namespace

std::optional<CardRow> Store::card(const std::string& uid) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  auto st = db_.prepare("SELECT uid, rider_id, state, created_at FROM card WHERE uid = ?");
  st.args(uid);
  if (!st.step()) return std::nullopt;
  return read_card(st);
}

Result<CardRow> Store::create_card(const std::string& uid, std::optional<int64_t> rider_id, int64_t now) {
  using R = Result<CardRow>;
  if (!valid_uid(uid)) return R::no("bad_uid", "uid must be 4 to 10 bytes as upper-case hex", 400);
  std::lock_guard<std::recursive_mutex> lock(mu_);
  sql::Tx tx(db_);
  if (card(uid)) return R::no("card_exists", "this card is registered already");
  int64_t rid;
  if (rider_id) {
    if (!load_rider(*rider_id)) return R::no("rider_not_found", "no rider with this id", 404);
    rid = *rider_id;
  } else {
    db_.prepare("INSERT INTO rider (name, phone, created_at) VALUES (?, '', ?)").args("IC卡 " + uid, now).run();
    rid = db_.last_insert_id();
    db_.prepare("INSERT INTO wallet (rider_id) VALUES (?)").args(rid).run();
  }
  db_.prepare("INSERT INTO card (uid, rider_id, state, created_at) VALUES (?, ?, 'active', ?)").args(uid, rid, now).run();
  tx.commit();
  return R::ok(CardRow{uid, rid, "active", now});
}

Result<CardRow> Store::set_card_state(const std::string& uid, const std::string& state) {
  if (state != "active" && state != "lost" && state != "blocked")
    return Result<CardRow>::no("bad_state", "state must be active, lost or blocked", 400);
  std::lock_guard<std::recursive_mutex> lock(mu_);
  db_.prepare("UPDATE card SET state = ? WHERE uid = ?").args(state, uid).run();
  if (db_.changes() == 0) return Result<CardRow>::no("card_not_found", "no card with this uid", 404);
  return Result<CardRow>::ok(*card(uid));
}

json::object Store::card_swipe(const std::string& device_id, const std::string& msg, const proto::Card& c, int64_t now,
                               const CardRules& rules, int64_t command_ttl_s, FollowUp* follow) {
  using proto::CardResult;
  std::lock_guard<std::recursive_mutex> lock(mu_);
  sql::Tx tx(db_);
  {
    auto seen = db_.prepare("SELECT ack FROM processed_msg WHERE msg = ?");
    seen.args(msg);
    if (seen.step()) {
      auto v = json::parse(seen.text(0));
      return v.is_object() ? v.get_object() : json::object{{"re", msg}, {"result", 0}};
    }
  }
  auto answer = [&](CardResult r, int64_t balance) {
    json::object ack{{"re", msg}, {"result", static_cast<int>(r)}, {"balance_fen", balance}};
    db_.prepare("INSERT INTO processed_msg (msg, device_id, kind, ack, created_at) VALUES (?, ?, 'card', ?, ?)")
        .args(msg, device_id, json::serialize(ack), now)
        .run();
    return ack;
  };
  json::object ack;
  std::string uid = c.uid_text();
  auto cr = card(uid);
  if (!cr) {
    ack = answer(CardResult::UnknownCard, 0);
  } else if (cr->state != "active") {
    ack = answer(CardResult::Blocked, 0);
  } else {
    auto rider = load_rider(cr->rider_id);
    // What runs on that port now?
    std::optional<SessionRow> active;
    {
      auto st = db_.prepare(std::string("SELECT ") + kSessionCols +
                            " FROM session WHERE device_id = ? AND port = ? AND state IN ('requested','starting','charging','stopping')");
      st.args(device_id, int64_t{c.port});
      if (st.step()) active = read_session(st);
    }
    if (active && active->card_uid == uid) {
      // Swipe again to stop.
      if (auto stop = request_stop_locked(active->id, "card", now); stop && follow) follow->commands.push_back(*stop.value);
      ack = answer(CardResult::Accepted, rider->available_fen() + active->prepaid_fen);
    } else if (active) {
      ack = answer(CardResult::PortBusy, rider->available_fen());
    } else if (rider->available_fen() < rules.min_fen) {
      ack = answer(CardResult::InsufficientBalance, rider->available_fen());
    } else {
      OpenRequest r{device_id, c.port, cr->rider_id, std::min(rules.prepay_fen, rider->available_fen()), false, 0, "card:" + uid,
                    command_ttl_s, uid};
      auto t = open_session_locked(r, now);
      if (!t) {
        CardResult why = t.refusal.code == "port_busy" ? CardResult::PortBusy
                         : t.refusal.code == "insufficient_funds" || t.refusal.code == "amount_too_small"
                             ? CardResult::InsufficientBalance
                             : CardResult::Blocked;
        ack = answer(why, rider->available_fen());
      } else {
        if (follow) follow->commands.push_back(t.value->command);
        ack = answer(CardResult::Accepted, load_rider(cr->rider_id)->available_fen());
      }
    }
  }
  tx.commit();
  return ack;
}

RechargeOffer Store::create_offer(const std::string& name, int64_t amount_fen, int64_t bonus_fen, int64_t now) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  db_.prepare("INSERT INTO recharge_offer (name, amount_fen, bonus_fen, created_at) VALUES (?, ?, ?, ?)").args(name, amount_fen, bonus_fen, now).run();
  return *offer(db_.last_insert_id());
}

std::vector<RechargeOffer> Store::offers() {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  auto st = db_.prepare("SELECT id, name, amount_fen, bonus_fen, active, created_at FROM recharge_offer WHERE active = 1 ORDER BY amount_fen");
  std::vector<RechargeOffer> out;
  while (st.step()) out.push_back(RechargeOffer{st.i64(0), st.text(1), st.i64(2), st.i64(3), st.i64(4) != 0, st.i64(5)});
  return out;
}

std::optional<RechargeOffer> Store::offer(int64_t id) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  auto st = db_.prepare("SELECT id, name, amount_fen, bonus_fen, active, created_at FROM recharge_offer WHERE id = ?");
  st.args(id);
  if (!st.step()) return std::nullopt;
  return RechargeOffer{st.i64(0), st.text(1), st.i64(2), st.i64(3), st.i64(4) != 0, st.i64(5)};
}

int64_t Store::fail_stale_commands(int64_t before) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  db_.prepare("UPDATE command SET state = 'failed', error = 'no reply' WHERE state = 'sent' AND expires_at < ?").args(before).run();
  return db_.changes();
}

std::vector<std::string> Store::online_devices() {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  auto st = db_.prepare("SELECT id FROM device WHERE online = 1 AND deleted_at IS NULL");
  std::vector<std::string> out;
  while (st.step()) out.push_back(st.text(0));
  return out;
}

// ---------------------------------------------------------------------------------------------------
// alarms

json::object Store::record_alarm(const std::string& device_id, const std::string& msg, const proto::Alarm& a, int64_t now) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  sql::Tx tx(db_);
  json::object ack{{"re", msg}, {"result", 0}};
  db_.prepare("INSERT OR IGNORE INTO alarm (msg, device_id, code, port, value, created_at) VALUES (?, ?, ?, ?, ?, ?)")
      .args(msg, device_id, int64_t{a.code}, int64_t{a.port}, int64_t{a.value}, now)
      .run();
  tx.commit();
  return ack;
}

json::array Store::alarms(const std::string& device_id, int64_t limit) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  auto st = db_.prepare("SELECT id, code, port, value, created_at FROM alarm WHERE device_id = ? ORDER BY id DESC LIMIT ?");
  st.args(device_id, limit);
  json::array out;
  while (st.step())
    out.push_back(json::object{{"id", st.i64(0)}, {"code", st.i64(1)}, {"port", st.i64(2)}, {"value", st.i64(3)}, {"created_at", st.i64(4)}});
  return out;
}

}  // namespace chargehub::core
