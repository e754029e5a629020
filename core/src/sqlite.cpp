#include "sqlite.hpp"

#include <atomic>
#include <mutex>
#include <set>

#include "log.hpp"

namespace chargehub::core::sql {

namespace {
[[noreturn]] void fail(sqlite3* db, int rc, std::string_view what) {
  throw Error(std::string(what) + ": " + (db ? sqlite3_errmsg(db) : sqlite3_errstr(rc)), db ? sqlite3_extended_errcode(db) : rc);
}
}  // namespace

Db::Db(const std::string& path, bool read_only) {
  int flags = read_only ? SQLITE_OPEN_READONLY : (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
  flags |= SQLITE_OPEN_NOMUTEX;
  int rc = sqlite3_open_v2(path.c_str(), &db_, flags, nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
    sqlite3_close(db_);
    db_ = nullptr;
    throw Error("cannot open database " + path + ": " + msg, rc);
  }
  sqlite3_busy_timeout(db_, 5000);
  sqlite3_extended_result_codes(db_, 1);
}

Db::~Db() {
  for (auto& [sql, v] : cache_)
    for (auto* st : v) sqlite3_finalize(st);
  sqlite3_close_v2(db_);
}

void Db::give_back(const std::string& sql, sqlite3_stmt* st) {
  sqlite3_reset(st);
  sqlite3_clear_bindings(st);
  cache_[sql].push_back(st);
}

void Db::exec(std::string_view sql) {
  std::string s(sql);
  char* err = nullptr;
  int rc = sqlite3_exec(db_, s.c_str(), nullptr, nullptr, &err);
  if (rc != SQLITE_OK) {
    std::string msg = err ? err : "";
    sqlite3_free(err);
    throw Error("sql: " + msg, rc);
  }
}

Stmt Db::prepare(std::string_view sql) {
  std::string key(sql);
  auto it = cache_.find(key);
  if (it != cache_.end() && !it->second.empty()) {
    sqlite3_stmt* st = it->second.back();
    it->second.pop_back();
    return Stmt(this, std::move(key), st);
  }
  sqlite3_stmt* st = nullptr;
  int rc = sqlite3_prepare_v2(db_, key.data(), static_cast<int>(key.size()), &st, nullptr);
  if (rc != SQLITE_OK) fail(db_, rc, "prepare");
  return Stmt(this, std::move(key), st);
}

Stmt::Stmt(sqlite3* db, std::string_view sql) : db_(db) {
  int rc = sqlite3_prepare_v2(db, sql.data(), static_cast<int>(sql.size()), &st_, nullptr);
  if (rc != SQLITE_OK) fail(db, rc, "prepare");
}

Stmt::~Stmt() {
  if (!st_) return;
  if (owner_) owner_->give_back(sql_, st_);
  else sqlite3_finalize(st_);
}

Stmt& Stmt::bind(int i, int64_t v) {
  if (int rc = sqlite3_bind_int64(st_, i, v); rc != SQLITE_OK) fail(db_, rc, "bind");
  return *this;
}
Stmt& Stmt::bind(int i, std::string_view v) {
  if (int rc = sqlite3_bind_text(st_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT); rc != SQLITE_OK)
    fail(db_, rc, "bind");
  return *this;
}
Stmt& Stmt::bind_null(int i) {
  sqlite3_bind_null(st_, i);
  return *this;
}

bool Stmt::step() {
  int rc = sqlite3_step(st_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  fail(db_, rc, "step");
}

void Stmt::run() {
  while (step()) {
  }
}

void Stmt::reset() {
  sqlite3_reset(st_);
  sqlite3_clear_bindings(st_);
}

std::string Stmt::text(int col) const {
  auto* p = sqlite3_column_text(st_, col);
  return p ? std::string(reinterpret_cast<const char*>(p), sqlite3_column_bytes(st_, col)) : std::string();
}

Tx::Tx(Db& db) : db_(db), nested_(sqlite3_get_autocommit(db.raw()) == 0) {
  db_.prepare(nested_ ? "SAVEPOINT tx" : "BEGIN IMMEDIATE").run();
}
Tx::~Tx() {
  if (!done_) {
    try {
      if (nested_) {
        db_.prepare("ROLLBACK TO tx").run();
        db_.prepare("RELEASE tx").run();
      } else {
        db_.prepare("ROLLBACK").run();
      }
    } catch (...) {
    }
  }
}
namespace {
std::atomic<uint64_t> g_commits_while_reading{0};
}  // namespace

uint64_t commits_while_reading() { return g_commits_while_reading; }

void Tx::commit() {
  if (!nested_) {
    for (sqlite3_stmt* p = sqlite3_next_stmt(db_.raw(), nullptr); p; p = sqlite3_next_stmt(db_.raw(), p)) {
      if (!sqlite3_stmt_busy(p)) continue;
      ++g_commits_while_reading;
      static std::mutex mu;
      static std::set<std::string> told;
      std::lock_guard lock(mu);
      if (told.insert(sqlite3_sql(p)).second)
        log::warn("statement still reading at commit (the WAL checkpoint is skipped): ", sqlite3_sql(p));
    }
  }
  db_.prepare(nested_ ? "RELEASE tx" : "COMMIT").run();
  done_ = true;
}

}  // namespace chargehub::core::sql
