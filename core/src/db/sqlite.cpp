// The SQLite backend: one connection in WAL mode, prepared statements cached per SQL text.
#include <sqlite3.h>

#include <atomic>
#include <set>
#include <unordered_map>

#include "../log.hpp"
#include "backends.hpp"

namespace chargehub::core::sql {

namespace {

std::atomic<uint64_t> g_commits_while_reading{0};

Error::Kind kind_of(int rc) {
  switch (rc & 0xFF) {
    case SQLITE_CONSTRAINT: return Error::Kind::Constraint;
    case SQLITE_BUSY:
    case SQLITE_LOCKED: return Error::Kind::Busy;
    default: return Error::Kind::Other;
  }
}

[[noreturn]] void fail(sqlite3* db, int rc, std::string_view what) {
  int code = db ? sqlite3_extended_errcode(db) : rc;
  throw Error(std::string(what) + ": " + (db ? sqlite3_errmsg(db) : sqlite3_errstr(rc)), kind_of(code));
}

// greatest()/least() as in PostgreSQL: NULL arguments are ignored; NULL only when all are NULL.
void extreme(sqlite3_context* ctx, int argc, sqlite3_value** argv, bool greatest) {
  sqlite3_value* best = nullptr;
  for (int i = 0; i < argc; ++i) {
    if (sqlite3_value_type(argv[i]) == SQLITE_NULL) continue;
    if (!best) {
      best = argv[i];
      continue;
    }
    bool ints = sqlite3_value_type(argv[i]) == SQLITE_INTEGER && sqlite3_value_type(best) == SQLITE_INTEGER;
    bool better = ints ? (greatest ? sqlite3_value_int64(argv[i]) > sqlite3_value_int64(best)
                                   : sqlite3_value_int64(argv[i]) < sqlite3_value_int64(best))
                       : (greatest ? sqlite3_value_double(argv[i]) > sqlite3_value_double(best)
                                   : sqlite3_value_double(argv[i]) < sqlite3_value_double(best));
    if (better) best = argv[i];
  }
  if (best) sqlite3_result_value(ctx, best);
  else sqlite3_result_null(ctx);
}

class SqliteStmt final : public StmtImpl {
 public:
  SqliteStmt(sqlite3* db, sqlite3_stmt* st) : db_(db), st_(st) {}
  ~SqliteStmt() override { sqlite3_finalize(st_); }
  void bind_i64(int i, int64_t v) override {
    if (int rc = sqlite3_bind_int64(st_, i, v); rc != SQLITE_OK) fail(db_, rc, "bind");
  }
  void bind_text(int i, std::string_view v) override {
    if (int rc = sqlite3_bind_text(st_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT); rc != SQLITE_OK)
      fail(db_, rc, "bind");
  }
  void bind_null(int i) override { sqlite3_bind_null(st_, i); }
  bool step() override {
    int rc = sqlite3_step(st_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    fail(db_, rc, "step");
  }
  void reset() override {
    sqlite3_reset(st_);
    sqlite3_clear_bindings(st_);
  }
  int64_t i64(int col) const override { return sqlite3_column_int64(st_, col); }
  std::string text(int col) const override {
    auto* p = sqlite3_column_text(st_, col);
    return p ? std::string(reinterpret_cast<const char*>(p), static_cast<size_t>(sqlite3_column_bytes(st_, col))) : std::string();
  }
  bool is_null(int col) const override { return sqlite3_column_type(st_, col) == SQLITE_NULL; }

 private:
  sqlite3* db_;
  sqlite3_stmt* st_;
};

class SqliteDb final : public Db {
 public:
  explicit SqliteDb(const std::string& path) {
    int rc = sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
    if (rc != SQLITE_OK) {
      std::string msg = db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
      sqlite3_close(db_);
      db_ = nullptr;
      throw Error("cannot open database " + path + ": " + msg);
    }
    sqlite3_busy_timeout(db_, 5000);
    sqlite3_extended_result_codes(db_, 1);
    for (bool g : {true, false})
      sqlite3_create_function_v2(db_, g ? "greatest" : "least", -1, SQLITE_UTF8 | SQLITE_DETERMINISTIC, nullptr,
                                 g ? +[](sqlite3_context* c, int n, sqlite3_value** v) { extreme(c, n, v, true); }
                                   : +[](sqlite3_context* c, int n, sqlite3_value** v) { extreme(c, n, v, false); },
                                 nullptr, nullptr, nullptr);
    exec("PRAGMA journal_mode=WAL");
    exec("PRAGMA synchronous=NORMAL");
    exec("PRAGMA foreign_keys=ON");
    exec("PRAGMA temp_store=MEMORY");   // savepoint journals in memory, not in temp files
    exec("PRAGMA cache_size=-32768");   // 32 MiB of page cache
    // Checkpoints run after this connection's commits, which lets the WAL restart from its start. Every
    // 8,192 pages (32 MiB) rather than SQLite's 1,000: at fleet ingest rates the same hot pages are
    // rewritten many times between checkpoints, and each checkpoint copies a page once and syncs twice.
    // A WAL that grew past 64 MiB once is cut back afterwards.
    exec("PRAGMA wal_autocheckpoint=8192");
    exec("PRAGMA journal_size_limit=67108864");
  }
  ~SqliteDb() override {
    cache_.clear();
    sqlite3_close_v2(db_);
  }

  Dialect dialect() const override { return Dialect::Sqlite; }

  void exec(std::string_view sql) override {
    std::string s(sql);
    char* err = nullptr;
    int rc = sqlite3_exec(db_, s.c_str(), nullptr, nullptr, &err);
    if (rc != SQLITE_OK) {
      std::string msg = err ? err : sqlite3_errstr(rc);
      sqlite3_free(err);
      throw Error("sql: " + msg, kind_of(sqlite3_extended_errcode(db_)));
    }
  }

  Stmt prepare(std::string_view sql) override {
    std::string key(sql);
    auto it = cache_.find(key);
    if (it != cache_.end() && !it->second.empty()) {
      StmtImpl* st = it->second.back().release();
      it->second.pop_back();
      return Stmt(this, std::move(key), st);
    }
    sqlite3_stmt* st = nullptr;
    int rc = sqlite3_prepare_v2(db_, key.data(), static_cast<int>(key.size()), &st, nullptr);
    if (rc != SQLITE_OK) fail(db_, rc, "prepare");
    return Stmt(this, std::move(key), new SqliteStmt(db_, st));
  }

  int64_t changes() const override { return sqlite3_changes(db_); }

  // Transaction control through cached prepared statements: compiling "SAVEPOINT tx1" for every message
  // of a burst cost more than applying some of them.
  void begin() override { prepare("BEGIN IMMEDIATE").run(); }
  void rollback() override { prepare("ROLLBACK").run(); }
  void savepoint(int level) override { prepare(level_sql("SAVEPOINT tx", level)).run(); }
  void release(int level) override { prepare(level_sql("RELEASE SAVEPOINT tx", level)).run(); }
  void rollback_to(int level) override {
    prepare(level_sql("ROLLBACK TO SAVEPOINT tx", level)).run();
    release(level);
  }
  void commit() override {
    for (sqlite3_stmt* p = sqlite3_next_stmt(db_, nullptr); p; p = sqlite3_next_stmt(db_, p)) {
      if (!sqlite3_stmt_busy(p)) continue;
      ++g_commits_while_reading;
      static std::mutex mu;
      static std::set<std::string> told;
      std::lock_guard lock(mu);
      if (told.insert(sqlite3_sql(p)).second)
        log::warn("db.commit_while_reading", {{"sql", sqlite3_sql(p)}});   // the WAL checkpoint is skipped
    }
    prepare("COMMIT").run();
  }

 protected:
  void give_back(const std::string& sql, StmtImpl* impl) override {
    impl->reset();
    cache_[sql].emplace_back(impl);
  }

 private:
  static std::string level_sql(const char* what, int level) { return what + std::to_string(level); }
  sqlite3* db_ = nullptr;
  std::unordered_map<std::string, std::vector<std::unique_ptr<StmtImpl>>> cache_;
};

}  // namespace

uint64_t commits_while_reading() { return g_commits_while_reading; }

std::unique_ptr<Db> open_sqlite(const std::string& path) { return std::make_unique<SqliteDb>(path); }

}  // namespace chargehub::core::sql
