// The database a core bench runs on: "sqlite" (a file in the bench's temp dir), "postgresql" (a
// throwaway PostgreSQL 15 cluster with its default durability, stopped at the end), or a database URL.
#pragma once
#include <memory>
#include <string>

#include "db/db.hpp"
#include "pg.hpp"
#include "testsupport.hpp"

namespace chargehub::core {

class BenchDb {
 public:
  BenchDb(const std::string& which, const chargehub::testing::TempDir& dir) {
    if (which == "sqlite") {
      url_ = (dir / "core.db").string();
      what_ = "SQLite " + url_ + " (WAL, synchronous=NORMAL)";
    } else if (which == "postgresql") {
      cluster_ = std::make_unique<chargehub::testing::PgCluster>(chargehub::testing::PgCluster::Mode::Durable);
      url_ = cluster_->fresh_database_url();
      what_ = "PostgreSQL 15, throwaway cluster on a unix socket (fsync on, synchronous_commit on)";
    } else {
      url_ = which;
      what_ = "database at the given URL";
    }
    db_ = sql::open(url_);
  }
  sql::Db& db() { return *db_; }
  const std::string& what() const { return what_; }

 private:
  std::unique_ptr<chargehub::testing::PgCluster> cluster_;
  std::string url_, what_;
  std::unique_ptr<sql::Db> db_;
};

}  // namespace chargehub::core
