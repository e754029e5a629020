#include "leader_lock.hpp"

namespace chargehub::core {

namespace {
// The lock's key: pg_try_advisory_lock(int4, int4) keys show in pg_locks as classid, objid with
// objsubid 2. The first is ChargeHub's ("CH" = 0x4348), the second the lease (1: housekeeping).
constexpr int64_t kKeyApp = 0x4348, kKeyLease = 1;
}  // namespace

void wait_for_locks_at_most(sql::Db& db, int ms) {
  if (db.dialect() != sql::Dialect::Postgres) return;
  db.prepare("SELECT set_config('lock_timeout', ?, true)").args(std::to_string(ms) + "ms").run();
}

void LeaderLockRepo::name_connection(const std::string& name) {
  db_.prepare("SELECT set_config('application_name', ?, false)").args(name).run();
}

bool LeaderLockRepo::try_take() {
  auto st = db_.prepare("SELECT pg_try_advisory_lock(CAST(? AS INTEGER), CAST(? AS INTEGER))");
  st.args(kKeyApp, kKeyLease);
  if (!st.step()) return false;
  bool got = st.boolean(0);
  st.run();
  return got;
}

bool LeaderLockRepo::holds() {
  // Advisory locks belong to one database: several ChargeHub databases on one server each have their own lease.
  auto st = db_.prepare("SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid() AND granted "
                        "AND classid = CAST(? AS BIGINT) AND objid = CAST(? AS BIGINT) AND objsubid = 2)");
  st.args(kKeyApp, kKeyLease);
  bool held = st.step() && st.boolean(0);
  st.run();
  return held;
}

void LeaderLockRepo::release() {
  auto st = db_.prepare("SELECT pg_advisory_unlock(CAST(? AS INTEGER), CAST(? AS INTEGER))");
  st.args(kKeyApp, kKeyLease);
  st.run();
}

std::optional<std::string> LeaderLockRepo::holder() {
  auto st = db_.prepare("SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
                        "WHERE l.locktype = 'advisory' AND l.granted AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
                        "AND l.classid = CAST(? AS BIGINT) AND l.objid = CAST(? AS BIGINT) "
                        "AND l.objsubid = 2");
  st.args(kKeyApp, kKeyLease);
  std::optional<std::string> out;
  if (st.step()) out = st.text(0);
  st.run();
  return out;
}

}  // namespace chargehub::core
