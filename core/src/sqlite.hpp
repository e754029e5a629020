// A thin RAII layer over the SQLite C API: a connection, prepared statements with typed binds and
// columns, and transactions. All SQL of the core goes through prepared statements.
#pragma once
#include <sqlite3.h>

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace chargehub::core::sql {

struct Error : std::runtime_error {
  Error(const std::string& what, int code) : std::runtime_error(what), code(code) {}
  int code;
  bool constraint() const { return (code & 0xFF) == SQLITE_CONSTRAINT; }
};

class Stmt;

class Db {
 public:
  explicit Db(const std::string& path, bool read_only = false);
  ~Db();
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;
  void exec(std::string_view sql);   // for migrations and pragmas only (no parameters)
  // A prepared statement, taken from this connection's cache when the same SQL ran before (it goes
  // back, reset, when the Stmt is destroyed): SQL is compiled once per connection, not per call.
  Stmt prepare(std::string_view sql);
  int64_t last_insert_id() const { return sqlite3_last_insert_rowid(db_); }
  int changes() const { return sqlite3_changes(db_); }
  sqlite3* raw() { return db_; }

 private:
  friend class Stmt;
  void give_back(const std::string& sql, sqlite3_stmt* st);
  sqlite3* db_ = nullptr;
  std::unordered_map<std::string, std::vector<sqlite3_stmt*>> cache_;
};

class Stmt {
 public:
  Stmt(sqlite3* db, std::string_view sql);
  Stmt(Db* owner, std::string sql, sqlite3_stmt* st) : db_(owner->db_), st_(st), owner_(owner), sql_(std::move(sql)) {}
  ~Stmt();
  Stmt(Stmt&& o) noexcept : db_(o.db_), st_(o.st_), owner_(o.owner_), sql_(std::move(o.sql_)) { o.st_ = nullptr; }
  Stmt(const Stmt&) = delete;

  // Binds by position, starting at 1; returns *this for chaining.
  Stmt& bind(int i, int64_t v);
  Stmt& bind(int i, int v) { return bind(i, static_cast<int64_t>(v)); }
  Stmt& bind(int i, uint32_t v) { return bind(i, static_cast<int64_t>(v)); }
  Stmt& bind(int i, std::string_view v);
  Stmt& bind(int i, const char* v) { return bind(i, std::string_view(v)); }
  Stmt& bind(int i, const std::string& v) { return bind(i, std::string_view(v)); }
  Stmt& bind_null(int i);
  template <class T>
  Stmt& bind(int i, const std::optional<T>& v) { return v ? bind(i, *v) : bind_null(i); }
  template <class... A>
  Stmt& args(const A&... a) {
    int i = 0;
    (bind(++i, a), ...);
    return *this;
  }

  bool step();          // true while a row is available
  void run();           // steps to the end
  void reset();

  int64_t i64(int col) const { return sqlite3_column_int64(st_, col); }
  std::string text(int col) const;
  bool is_null(int col) const { return sqlite3_column_type(st_, col) == SQLITE_NULL; }
  std::optional<int64_t> opt_i64(int col) const { return is_null(col) ? std::nullopt : std::optional(i64(col)); }
  std::optional<std::string> opt_text(int col) const { return is_null(col) ? std::nullopt : std::optional(text(col)); }

 private:
  sqlite3* db_;
  sqlite3_stmt* st_ = nullptr;
  Db* owner_ = nullptr;   // set for cached statements
  std::string sql_;
};

// Outermost commits made while another statement of the same connection was still stepping (not yet
// reset). SQLite skips the checkpoint after such a commit, so if every commit is like that the WAL grows
// without end. Each such statement is logged once; tests require this to stay 0.
uint64_t commits_while_reading();

// BEGIN IMMEDIATE on construction (a SAVEPOINT when a transaction is already open, so operations
// compose into a larger one); rolled back unless commit() was called.
class Tx {
 public:
  explicit Tx(Db& db);
  ~Tx();
  void commit();

 private:
  Db& db_;
  bool nested_ = false;
  bool done_ = false;
};

}  // namespace chargehub::core::sql
