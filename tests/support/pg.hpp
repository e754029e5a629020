// A real PostgreSQL server for tests, and a fresh database per test.
//
//   std::string url = chargehub::testing::fresh_database_url();   // "postgresql:host=… dbname=t_…"
//   auto db = chargehub::core::sql::open(url);
//
// The cluster is the one named by CHARGEHUB_TEST_PG (a conninfo; scripts/test.sh starts one for the
// whole run with scripts/pg-test-cluster.sh), or else one this process starts on first use (about 1-2 s)
// and that is stopped when the process ends, however it ends. If PostgreSQL cannot be started, this
// throws with the reason: the test fails, it is never skipped.
#pragma once
#include <mutex>
#include <string>
#include <vector>

namespace chargehub::testing {

class PgCluster {
 public:
  // Tests: fsync off (a throwaway cluster). Durable: PostgreSQL's defaults, for benchmarks.
  enum class Mode { Tests, Durable };

  // Starts a cluster of its own (scripts/pg-test-cluster.sh), stopped by the destructor or at exit.
  explicit PgCluster(Mode mode = Mode::Tests);
  ~PgCluster();
  PgCluster(const PgCluster&) = delete;
  PgCluster& operator=(const PgCluster&) = delete;

  // The process's cluster for tests: CHARGEHUB_TEST_PG's, or one started on first use.
  static PgCluster& shared();

  // libpq conninfo of the maintenance database ("host=… port=… user=chargehub dbname=postgres").
  const std::string& conninfo() const { return conninfo_; }
  // Creates a uniquely named empty database; returns a URL sql::open() accepts.
  std::string fresh_database_url();

 private:
  explicit PgCluster(std::string conninfo) : conninfo_(std::move(conninfo)) {}
  void admin(const std::string& sql) const;   // one statement on the maintenance database
  void drop_databases();
  std::string conninfo_;
  std::mutex mu_;
  std::vector<std::string> created_;   // databases to drop at exit (shared clusters only)
  int watchdog_fd_ = -1;   // our end of the pipe whose closing makes the watchdog stop the cluster
  int watchdog_pid_ = -1;
};

// PgCluster::shared().fresh_database_url().
std::string fresh_database_url();

}  // namespace chargehub::testing
