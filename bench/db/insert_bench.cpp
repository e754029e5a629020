// Single-row INSERT transactions per second and the time of one statement round trip, on a real SQLite
// file (WAL, synchronous=NORMAL, as the core runs it) and a real PostgreSQL 15 started for the run with
// its crash-safe defaults (fsync on), once with synchronous_commit on (the default) and once off.
//
//   build/bin/sql_insert_bench [transactions, default 5000]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "db/db.hpp"
#include "pg.hpp"
#include "testsupport.hpp"

namespace sql = chargehub::core::sql;
using Clock = std::chrono::steady_clock;

namespace {

void run(const char* label, sql::Db& db, int n) {
  sql::migrate(db);
  // What ingest does per charger report: one processed_msg row in its own transaction.
  auto t0 = Clock::now();
  for (int i = 0; i < n; ++i) {
    sql::Tx tx(db);
    db.prepare("INSERT INTO processed_msg (msg, device_id, kind, ack, created_at) VALUES (?, ?, ?, ?, ?)")
        .args("m" + std::to_string(i), std::string("861234567890123"), std::string("session_end"), std::string("{}"), int64_t{1764460800})
        .run();
    tx.commit();
  }
  double insert_s = std::chrono::duration<double>(Clock::now() - t0).count();
  // One prepared statement, no transaction: the cost of a round trip to the database.
  auto t1 = Clock::now();
  for (int i = 0; i < n; ++i) {
    auto st = db.prepare("SELECT CAST(? AS BIGINT)");
    st.args(int64_t{i});
    st.step();
  }
  double select_s = std::chrono::duration<double>(Clock::now() - t1).count();
  std::printf("%-44s %8.0f tx/s  (%6.1f us per tx)   round trip %6.1f us\n", label, n / insert_s, insert_s / n * 1e6,
              select_s / n * 1e6);
}

}  // namespace

int main(int argc, char** argv) {
  int n = argc > 1 ? std::atoi(argv[1]) : 5000;
  chargehub::testing::TempDir dir("chargehub-sqlbench");
  {
    auto db = sql::open("sqlite://" + (dir / "bench.db").string());
    run("sqlite (WAL, synchronous=NORMAL)", *db, n);
  }
  chargehub::testing::PgCluster pg(chargehub::testing::PgCluster::Mode::Durable);
  {
    auto db = sql::open(pg.fresh_database_url());
    run("postgresql 15 (unix socket, fsync on)", *db, n);
  }
  {
    auto db = sql::open(pg.fresh_database_url());
    db->exec("SET synchronous_commit = off");
    run("postgresql 15 (synchronous_commit=off)", *db, n);
  }
}
