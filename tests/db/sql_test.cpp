// Storage conformance (core/src/db/db.hpp): each rule runs on both backends, a fresh SQLite file in a
// temp dir and a fresh database on a real PostgreSQL 15 server (tests/support/pg.hpp). Repository SQL is
// written once, so one SQL text must behave the same on both.
#include <gtest/gtest.h>
#include <libpq-fe.h>

#include <cstdint>
#include <limits>

#include "db/db.hpp"
#include "db/pg_placeholders.hpp"
#include "pg.hpp"
#include "testsupport.hpp"

namespace sql = chargehub::core::sql;
using chargehub::testing::TempDir;

namespace {

class Sql : public ::testing::TestWithParam<sql::Dialect> {
 protected:
  void SetUp() override {
    url_ = GetParam() == sql::Dialect::Sqlite ? "sqlite://" + (dir_ / "core.db").string()
                                              : chargehub::testing::fresh_database_url();
    db_ = sql::open(url_);
    ASSERT_EQ(db_->dialect(), GetParam());
  }
  bool pg() const { return GetParam() == sql::Dialect::Postgres; }
  // A scratch table in the subset both understand.
  void scratch() { db_->exec("CREATE TABLE t (k TEXT PRIMARY KEY, n BIGINT, s TEXT)"); }
  void put(const std::string& k, int64_t n, const std::string& s = "") {
    db_->prepare("INSERT INTO t (k, n, s) VALUES (?, ?, ?)").args(k, n, s).run();
  }
  int64_t count(const std::string& table) {
    auto st = db_->prepare("SELECT count(*) FROM " + table);
    EXPECT_TRUE(st.step());
    return st.i64(0);
  }
  void add_device(const std::string& id) {
    db_->prepare("INSERT INTO device (id, created_at) VALUES (?, ?)").args(id, int64_t{0}).run();
  }
  void add_session(const std::string& device, int port, const std::string& state) {
    db_->prepare("INSERT INTO session (device_id, port, state, plan_id, plan_version, plan_spec, mode, limit_value, created_at) "
                 "VALUES (?, ?, ?, 1, 1, '{}', 0, 0, 0)")
        .args(device, port, state)
        .run();
  }

  TempDir dir_{"chargehub-sql"};
  std::string url_;
  std::unique_ptr<sql::Db> db_;
};

std::string backend_name(const ::testing::TestParamInfo<sql::Dialect>& p) {
  return p.param == sql::Dialect::Sqlite ? "sqlite" : "postgresql";
}

TEST_P(Sql, PlaceholdersInOrderAndNumberedSkippingLiteralsAndComments) {
  auto st = db_->prepare(
      "SELECT CAST(? AS BIGINT), CAST(?1 AS BIGINT) + 1, '?', 'it''s ?2', \"k?\".x, CAST(? AS TEXT) -- ? here is a comment\n"
      "FROM (SELECT 7 AS x) AS \"k?\"");
  st.args(int64_t{41}, std::string("二"));
  ASSERT_TRUE(st.step());
  EXPECT_EQ(st.i64(0), 41);
  EXPECT_EQ(st.i64(1), 42);
  EXPECT_EQ(st.text(2), "?");
  EXPECT_EQ(st.text(3), "it's ?2");
  EXPECT_EQ(st.i64(4), 7);
  EXPECT_EQ(st.text(5), "二");
  EXPECT_FALSE(st.step());

  scratch();
  db_->prepare("INSERT INTO t (k, n, s) VALUES (?2, ?3, ?1)").args(std::string("s"), std::string("k"), int64_t{5}).run();
  auto q = db_->prepare("SELECT k, n, s FROM t WHERE n = ?1 AND k = ?2 AND n + ?1 = 10");
  q.args(int64_t{5}, std::string("k"));
  ASSERT_TRUE(q.step());
  EXPECT_EQ(q.text(0), "k");
  EXPECT_EQ(q.text(2), "s");
}

TEST_P(Sql, Int64ExtremesRoundTrip) {
  scratch();
  constexpr int64_t lo = std::numeric_limits<int64_t>::min(), hi = std::numeric_limits<int64_t>::max();
  put("lo", lo);
  put("hi", hi);
  put("zero", 0);
  auto st = db_->prepare("SELECT n FROM t WHERE k = ?");
  for (auto [k, v] : {std::pair{"lo", lo}, {"hi", hi}, {"zero", int64_t{0}}}) {
    st.args(std::string(k));
    ASSERT_TRUE(st.step()) << k;
    EXPECT_EQ(st.i64(0), v) << k;
    st.reset();
  }
  auto cast = db_->prepare("SELECT CAST(? AS BIGINT), CAST(? AS BIGINT)");
  cast.args(lo, hi);
  ASSERT_TRUE(cast.step());
  EXPECT_EQ(cast.i64(0), lo);
  EXPECT_EQ(cast.i64(1), hi);
}

TEST_P(Sql, ChineseTextRoundTripsAsUtf8) {
  scratch();
  const std::string text = "默认电量计费 充值套餐 — 张三 🚲";
  put("zh", 1, text);
  auto st = db_->prepare("SELECT s, length(s), k FROM t WHERE s = ?");
  st.args(text);
  ASSERT_TRUE(st.step());
  EXPECT_EQ(st.text(0), text);
  EXPECT_EQ(st.i64(1), 18);   // characters, not bytes: the database holds UTF-8 as text
  EXPECT_EQ(st.text(2), "zh");
}

TEST_P(Sql, NullsBindAndRead) {
  scratch();
  db_->prepare("INSERT INTO t (k, n, s) VALUES (?, ?, ?)")
      .args(std::string("a"), std::optional<int64_t>{}, std::optional<std::string>{})
      .run();
  db_->prepare("INSERT INTO t (k, n, s) VALUES (?, ?, ?)").bind(1, "b").bind_null(2).bind(3, "x").run();
  auto st = db_->prepare("SELECT n, s FROM t WHERE k = ?");
  st.args(std::string("a"));
  ASSERT_TRUE(st.step());
  EXPECT_TRUE(st.is_null(0));
  EXPECT_TRUE(st.is_null(1));
  EXPECT_EQ(st.opt_i64(0), std::nullopt);
  EXPECT_EQ(st.opt_text(1), std::nullopt);
  EXPECT_EQ(st.i64(0), 0);   // NULL read as an integer is 0 on both
  EXPECT_EQ(st.text(1), "");
  EXPECT_EQ(count("t WHERE n IS NULL"), 2);
}

TEST_P(Sql, BooleansFromComparisonsReadAsZeroOrOne) {
  scratch();
  put("a", 5, "x");
  auto st = db_->prepare("SELECT s IS NOT NULL, n = 5, n > 5, s IS NULL FROM t WHERE k = 'a'");
  ASSERT_TRUE(st.step());
  EXPECT_EQ(st.i64(0), 1);
  EXPECT_EQ(st.i64(1), 1);
  EXPECT_EQ(st.i64(2), 0);
  EXPECT_FALSE(st.boolean(3));
  EXPECT_TRUE(st.boolean(0));
}

TEST_P(Sql, InsertReturningGivesTheNewId) {
  sql::migrate(*db_);
  auto rider = db_->prepare("INSERT INTO rider (name, created_at) VALUES (?, ?) RETURNING id");
  rider.args(std::string("张三"), int64_t{0});
  ASSERT_TRUE(rider.step());
  EXPECT_EQ(rider.i64(0), 1);
  rider.reset();
  rider.args(std::string("李四"), int64_t{0});
  ASSERT_TRUE(rider.step());
  EXPECT_EQ(rider.i64(0), 2);
  // price_plan 1 is inserted by the migration with an explicit id: the next one is 2 on both.
  auto plan = db_->prepare("INSERT INTO price_plan (name, kind, spec, created_at) VALUES (?, 'free', '{}', 0) RETURNING id");
  plan.args(std::string("免费"));
  ASSERT_TRUE(plan.step());
  EXPECT_EQ(plan.i64(0), 2);
}

TEST_P(Sql, ChangesCountsRowsOfTheLastWrite) {
  scratch();
  for (auto k : {"a", "b", "c", "d"}) put(k, 1);
  EXPECT_EQ(db_->changes(), 1);
  db_->prepare("UPDATE t SET n = n + 1 WHERE k <> ?").args(std::string("a")).run();
  EXPECT_EQ(db_->changes(), 3);
  db_->prepare("SELECT count(*) FROM t").run();   // reads leave it alone (sqlite3_changes semantics)
  EXPECT_EQ(db_->changes(), 3);
  db_->prepare("UPDATE t SET n = 0 WHERE k = 'nobody'").run();
  EXPECT_EQ(db_->changes(), 0);
  db_->prepare("DELETE FROM t WHERE n = 2").run();
  EXPECT_EQ(db_->changes(), 3);
}

TEST_P(Sql, UpdateReturning) {
  sql::migrate(*db_);
  db_->prepare("INSERT INTO rider (name, created_at) VALUES ('r', 0)").run();
  db_->prepare("INSERT INTO wallet (rider_id, balance_fen) VALUES (1, 1000)").run();
  auto st = db_->prepare("UPDATE wallet SET held_fen = held_fen + ? WHERE rider_id = ? RETURNING held_fen, balance_fen - held_fen");
  st.args(int64_t{300}, int64_t{1});
  ASSERT_TRUE(st.step());
  EXPECT_EQ(st.i64(0), 300);
  EXPECT_EQ(st.i64(1), 700);
  EXPECT_FALSE(st.step());
  EXPECT_EQ(db_->changes(), 1);
}

TEST_P(Sql, StatementsAreReusedAfterResetAndFromTheCache) {
  scratch();
  put("a", 1);
  put("b", 2);
  const std::string q = "SELECT n FROM t WHERE k = ?";
  {
    auto st = db_->prepare(q);
    st.args(std::string("a"));
    ASSERT_TRUE(st.step());
    EXPECT_EQ(st.i64(0), 1);
    st.reset();   // bindings cleared: run again with new ones
    st.args(std::string("b"));
    ASSERT_TRUE(st.step());
    EXPECT_EQ(st.i64(0), 2);
    // The same SQL borrowed twice at once: two independent statements.
    auto other = db_->prepare(q);
    other.args(std::string("a"));
    ASSERT_TRUE(other.step());
    EXPECT_EQ(other.i64(0), 1);
    EXPECT_EQ(st.i64(0), 2);
  }
  for (int i = 0; i < 50; ++i) {   // given back and taken from the cache, reset each time
    auto st = db_->prepare(q);
    st.args(std::string(i % 2 ? "a" : "b"));
    ASSERT_TRUE(st.step());
    EXPECT_EQ(st.i64(0), i % 2 ? 1 : 2);
  }
  // Stepping past the end runs it again with the same bindings (sqlite3_step's rule).
  auto ins = db_->prepare("INSERT INTO t (k, n) VALUES (?, 3) ON CONFLICT (k) DO UPDATE SET n = t.n + 1");
  ins.args(std::string("c"));
  ins.run();
  ins.run();
  EXPECT_EQ(count("t WHERE k = 'c' AND n = 4"), 1);
  // A statement given back half-read is reset: the next borrower starts from the first row.
  { auto all = db_->prepare("SELECT k FROM t ORDER BY k"); ASSERT_TRUE(all.step()); }
  auto all = db_->prepare("SELECT k FROM t ORDER BY k");
  ASSERT_TRUE(all.step());
  EXPECT_EQ(all.text(0), "a");
}

TEST_P(Sql, InnerRollbackKeepsOuterWork) {
  scratch();
  {
    sql::Tx outer(*db_);
    put("outer", 1);
    {
      sql::Tx inner(*db_);
      put("inner", 2);
    }   // rolled back
    outer.commit();
  }
  EXPECT_EQ(count("t WHERE k = 'outer'"), 1);
  EXPECT_EQ(count("t WHERE k = 'inner'"), 0);
}

TEST_P(Sql, OuterRollbackDropsAll) {
  scratch();
  {
    sql::Tx outer(*db_);
    put("outer", 1);
    sql::Tx inner(*db_);
    put("inner", 2);
    inner.commit();
  }   // outer never committed
  EXPECT_EQ(count("t"), 0);
  EXPECT_EQ(db_->depth(), 0);
}

TEST_P(Sql, ConstraintViolationInASavepointLeavesTheOuterTransactionUsable) {
  scratch();
  {
    sql::Tx outer(*db_);
    put("a", 1);
    try {
      sql::Tx inner(*db_);
      put("b", 2);
      put("a", 3);   // duplicate key: PostgreSQL aborts the transaction; the savepoint restores it
      inner.commit();
      FAIL() << "duplicate key accepted";
    } catch (const sql::Error& e) {
      EXPECT_TRUE(e.constraint()) << e.what();
    }
    put("c", 4);   // the outer transaction still works
    outer.commit();
  }
  auto st = db_->prepare("SELECT k, n FROM t ORDER BY k");
  std::vector<std::pair<std::string, int64_t>> rows;
  while (st.step()) rows.emplace_back(st.text(0), st.i64(1));
  EXPECT_EQ(rows, (std::vector<std::pair<std::string, int64_t>>{{"a", 1}, {"c", 4}}));
}

TEST_P(Sql, UniqueViolationIsAConstraintError) {
  scratch();
  put("a", 1);
  try {
    put("a", 2);
    FAIL() << "duplicate key accepted";
  } catch (const sql::Error& e) {
    EXPECT_TRUE(e.constraint()) << e.what();
    EXPECT_EQ(e.kind, sql::Error::Kind::Constraint);
  }
  // Other errors are not constraint errors.
  try {
    db_->prepare("SELECT no_such_column FROM t").run();
    FAIL() << "bad SQL accepted";
  } catch (const sql::Error& e) {
    EXPECT_FALSE(e.constraint()) << e.what();
  }
}

TEST_P(Sql, InsertOnConflictDoNothing) {
  scratch();
  const std::string ins = "INSERT INTO t (k, n) VALUES (?, ?) ON CONFLICT (k) DO NOTHING";
  db_->prepare(ins).args(std::string("a"), int64_t{1}).run();
  EXPECT_EQ(db_->changes(), 1);
  db_->prepare(ins).args(std::string("a"), int64_t{2}).run();
  EXPECT_EQ(db_->changes(), 0);
  auto ret = db_->prepare(ins + " RETURNING k");
  ret.args(std::string("a"), int64_t{3});
  EXPECT_FALSE(ret.step());   // nothing inserted, nothing returned
  EXPECT_EQ(count("t WHERE n = 1"), 1);
  EXPECT_EQ(count("t"), 1);
}

TEST_P(Sql, MigrateAppliesEveryMigrationThenIsANoOp) {
  const auto& all = sql::migrations(GetParam());
  ASSERT_GE(all.size(), 4u);
  EXPECT_EQ(sql::migrations(sql::Dialect::Sqlite).back().version, sql::migrations(sql::Dialect::Postgres).back().version);
  int v = sql::migrate(*db_);
  EXPECT_EQ(v, all.back().version);
  EXPECT_EQ(sql::schema_version(*db_), all.back().version);
  EXPECT_EQ(count("schema_migration"), static_cast<int64_t>(all.size()));
  EXPECT_EQ(sql::migrate(*db_), v);
  EXPECT_EQ(count("schema_migration"), static_cast<int64_t>(all.size()));
  // The tables and columns of the last migrations exist.
  db_->prepare("SELECT station_id, agent_id FROM device").run();
  db_->prepare("SELECT rollout_id, device_id FROM rollout_device").run();
  EXPECT_EQ(count("auth_state WHERE rev = 1"), 1);
  // A second connection sees the same version.
  auto again = sql::open(url_);
  EXPECT_EQ(sql::migrate(*again), v);
}

TEST_P(Sql, LedgerRefusesUpdateAndDelete) {
  sql::migrate(*db_);
  db_->prepare("INSERT INTO rider (name, created_at) VALUES ('r', 0)").run();
  db_->prepare("INSERT INTO ledger (rider_id, kind, amount_fen, created_at) VALUES (1, 'topup', 1000, 0)").run();
  for (std::string q : {"UPDATE ledger SET amount_fen = 1 WHERE rider_id = ?", "DELETE FROM ledger WHERE rider_id = ?"}) {
    try {
      sql::Tx tx(*db_);
      db_->prepare(q).args(int64_t{1}).run();
      FAIL() << q << " accepted";
    } catch (const sql::Error& e) {
      EXPECT_NE(std::string(e.what()).find("ledger is append-only"), std::string::npos) << e.what();
      EXPECT_TRUE(e.constraint()) << e.what();
    }
  }
  EXPECT_EQ(count("ledger WHERE amount_fen = 1000"), 1);
}

TEST_P(Sql, GreatestAndLeastIgnoreNulls) {
  scratch();
  put("a", 5);
  db_->prepare("INSERT INTO t (k) VALUES ('null')").run();
  auto st = db_->prepare(
      "SELECT greatest(CAST(? AS BIGINT), NULL, 3), least(NULL, CAST(? AS BIGINT), 2), greatest(n, 7), least(n, 7), "
      "greatest(CAST(NULL AS BIGINT), NULL) FROM t WHERE k = ?");
  st.args(int64_t{-4}, int64_t{9}, std::string("a"));
  ASSERT_TRUE(st.step());
  EXPECT_EQ(st.i64(0), 3);
  EXPECT_EQ(st.i64(1), 2);
  EXPECT_EQ(st.i64(2), 7);
  EXPECT_EQ(st.i64(3), 5);
  EXPECT_TRUE(st.is_null(4));
  auto n = db_->prepare("SELECT greatest(n, 7), least(n, 7) FROM t WHERE k = 'null'");
  ASSERT_TRUE(n.step());
  EXPECT_EQ(n.i64(0), 7);
  EXPECT_EQ(n.i64(1), 7);
}

TEST_P(Sql, OneActiveSessionPerPort) {
  sql::migrate(*db_);
  add_device("861234567890123");
  add_session("861234567890123", 3, "settled");
  add_session("861234567890123", 3, "charging");
  try {
    add_session("861234567890123", 3, "requested");
    FAIL() << "a second active session on one port";
  } catch (const sql::Error& e) {
    EXPECT_TRUE(e.constraint()) << e.what();
  }
  add_session("861234567890123", 4, "starting");   // another port is free
  add_session("861234567890123", 3, "settled");    // ended sessions do not count
  EXPECT_EQ(count("session"), 4);
}

TEST_P(Sql, RowidOrdersCommandsAndMeterSamples) {
  sql::migrate(*db_);
  for (auto id : {"c", "a", "b"})
    db_->prepare("INSERT INTO command (id, device_id, op, args, state, created_at, expires_at) VALUES (?, 'd', 'stop', '{}', 'queued', 100, 200)")
        .args(std::string(id))
        .run();
  auto st = db_->prepare("SELECT id FROM command WHERE device_id = ? ORDER BY created_at DESC, rowid DESC LIMIT ?");
  st.args(std::string("d"), int64_t{10});
  std::string order;
  while (st.step()) order += st.text(0);
  EXPECT_EQ(order, "bac");

  // The store's meter thinning: keep the first sample (lowest rowid) per session and interval.
  auto ins = db_->prepare("INSERT INTO meter_sample (session_id, ts, power_w, energy_wh, elapsed_s, voltage_dv, current_ma) VALUES (?, ?, ?, 0, 0, 0, 0)");
  for (auto [ts, w] : {std::pair{10, 1}, {10, 2}, {15, 3}, {25, 4}, {100, 5}}) {
    ins.args(int64_t{1}, int64_t{ts}, int64_t{w});
    ins.run();
    ins.reset();
  }
  db_->prepare("DELETE FROM meter_sample WHERE ts < ?1 AND rowid NOT IN "
               "(SELECT min(rowid) FROM meter_sample WHERE ts < ?1 GROUP BY session_id, ts / ?2)")
      .args(int64_t{50}, int64_t{20})
      .run();
  EXPECT_EQ(db_->changes(), 2);
  auto left = db_->prepare("SELECT power_w FROM meter_sample ORDER BY rowid");
  std::string kept;
  while (left.step()) kept += std::to_string(left.i64(0));
  EXPECT_EQ(kept, "145");
}

TEST_P(Sql, BadInputThrowsInsteadOfCrashing) {
  scratch();
  EXPECT_THROW(db_->prepare("SELEKT 1"), sql::Error);
  EXPECT_THROW(db_->exec("INSERT INTO nowhere VALUES (1)"), sql::Error);
  auto st = db_->prepare("SELECT n FROM t WHERE k = ?");
  EXPECT_THROW(st.bind(2, int64_t{1}), sql::Error);   // parameter out of range
  EXPECT_THROW(st.bind(0, int64_t{1}), sql::Error);
  // After errors outside a transaction the connection still works.
  put("ok", 1);
  EXPECT_EQ(count("t"), 1);
}

TEST_P(Sql, OpenByUrlForms) {
  if (!pg()) {
    auto abs = dir_ / "abs.db";
    sql::open("sqlite://" + abs.string())->exec("CREATE TABLE x (a BIGINT)");   // sqlite:///abs/path
    EXPECT_TRUE(std::filesystem::exists(abs));
    auto plain = dir_ / "plain.db";
    sql::open(plain.string())->exec("CREATE TABLE x (a BIGINT)");
    EXPECT_TRUE(std::filesystem::exists(plain));
    EXPECT_EQ(sql::open(plain.string())->dialect(), sql::Dialect::Sqlite);
    return;
  }
  // "postgresql:" + keywords (what fresh_database_url gives), and the URI forms.
  std::string conninfo = url_.substr(std::string("postgresql:").size());
  char* err = nullptr;
  PQconninfoOption* opts = PQconninfoParse(conninfo.c_str(), &err);
  ASSERT_NE(opts, nullptr);
  std::string host, port, user, dbname;
  for (auto* o = opts; o->keyword; ++o) {
    std::string k = o->keyword, v = o->val ? o->val : "";
    if (k == "host") host = v;
    if (k == "port") port = v;
    if (k == "user") user = v;
    if (k == "dbname") dbname = v;
  }
  PQconninfoFree(opts);
  db_->exec("CREATE TABLE marker (a BIGINT)");
  for (std::string url : {"postgresql:" + conninfo,
                          "postgresql://" + user + "@/" + dbname + "?host=" + host + "&port=" + port,
                          "postgres://" + user + "@/" + dbname + "?host=" + host + "&port=" + port}) {
    auto db = sql::open(url);
    EXPECT_EQ(db->dialect(), sql::Dialect::Postgres) << url;
    auto st = db->prepare("SELECT count(*) FROM marker");
    ASSERT_TRUE(st.step()) << url;
    auto tz = db->prepare("SELECT current_setting('TimeZone'), current_setting('client_encoding')");
    ASSERT_TRUE(tz.step());
    EXPECT_EQ(tz.text(0), "UTC");
    EXPECT_EQ(tz.text(1), "UTF8");
  }
}

INSTANTIATE_TEST_SUITE_P(Backends, Sql, ::testing::Values(sql::Dialect::Sqlite, sql::Dialect::Postgres), backend_name);

// PostgreSQL only: what has no SQLite counterpart.

TEST(Postgres, PlaceholderRewrite) {
  EXPECT_EQ(sql::pg_placeholders("SELECT ?, ?").text, "SELECT $1, $2");
  EXPECT_EQ(sql::pg_placeholders("?2, ?, ?1").text, "$2, $3, $1");   // SQLite: ? is one more than the highest so far
  EXPECT_EQ(sql::pg_placeholders("?2, ?, ?1").params, 3);
  EXPECT_EQ(sql::pg_placeholders("'a?''?' \"b?\" ? -- ?\n? /* ? */").text, "'a?''?' \"b?\" $1 -- ?\n$2 /* ? */");
  EXPECT_EQ(sql::pg_placeholders("SELECT '?").text, "SELECT '?");   // unterminated: left for the server to refuse
  EXPECT_EQ(sql::pg_placeholders("SELECT 1").params, 0);
  EXPECT_THROW(sql::pg_placeholders("SELECT ?0"), sql::Error);
  EXPECT_THROW(sql::pg_placeholders("SELECT ?70000"), sql::Error);
}

TEST(Postgres, ConnectionErrorsNeverShowThePassword) {
  for (std::string url : {"postgresql:host=/nonexistent-dir port=1 user=u password=hunter2secret dbname=x",
                          "postgresql://u:hunter2secret@[::1/db",
                          "postgresql:host=/x password=hunter2secret junk"}) {
    try {
      sql::open(url);
      FAIL() << "opened " << url;
    } catch (const sql::Error& e) {
      std::string what = e.what();
      EXPECT_EQ(what.find("hunter2secret"), std::string::npos) << what;
      EXPECT_FALSE(what.empty());
    }
  }
}

TEST(Postgres, LostConnectionThrowsThenResetsBetweenTransactions) {
  std::string url = chargehub::testing::fresh_database_url();
  auto db = sql::open(url);
  auto admin = sql::open(url);
  auto pid = db->prepare("SELECT pg_backend_pid()");
  ASSERT_TRUE(pid.step());
  int64_t victim = pid.i64(0);
  pid.reset();
  admin->prepare("SELECT pg_terminate_backend(CAST(? AS INTEGER))").args(victim).run();
  EXPECT_THROW(db->prepare("SELECT 1").run(), sql::Error);   // the lost connection shows
  auto after = db->prepare("SELECT pg_backend_pid()");       // reset once, statements prepared again
  ASSERT_TRUE(after.step());
  EXPECT_NE(after.i64(0), victim);
  after.reset();
  ASSERT_TRUE(pid.step());   // a statement prepared before the loss works again too
}

TEST(Postgres, LostConnectionInsideATransactionIsNotHidden) {
  std::string url = chargehub::testing::fresh_database_url();
  auto db = sql::open(url);
  auto admin = sql::open(url);
  db->exec("CREATE TABLE t (a BIGINT)");
  int64_t victim;
  {
    auto pid = db->prepare("SELECT pg_backend_pid()");
    ASSERT_TRUE(pid.step());
    victim = pid.i64(0);
  }
  {
    sql::Tx tx(*db);
    db->prepare("INSERT INTO t (a) VALUES (1)").run();
    admin->prepare("SELECT pg_terminate_backend(CAST(? AS INTEGER))").args(victim).run();
    EXPECT_THROW(db->prepare("INSERT INTO t (a) VALUES (2)").run(), sql::Error);
    EXPECT_THROW(tx.commit(), sql::Error);
  }
  // The next transaction runs on a fresh connection; nothing of the lost one was kept.
  sql::Tx tx(*db);
  auto n = db->prepare("SELECT count(*) FROM t");
  ASSERT_TRUE(n.step());
  EXPECT_EQ(n.i64(0), 0);
  tx.commit();
}

}  // namespace
