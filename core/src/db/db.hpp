// The core's one SQL layer, for SQLite (the embedded default) and PostgreSQL 15: a connection, prepared
// statements with typed binds and columns, transactions that nest as savepoints, numbered migrations.
// Repositories write their SQL once, in the subset both databases understand (docs/architecture.md,
// "One SQL layer"):
//
//   auto db = sql::open("sqlite:///var/lib/chargehub/core.db");      // or postgresql://…
//   sql::Tx tx(*db);                                                    // BEGIN (a SAVEPOINT when nested)
//   auto st = db->prepare("UPDATE wallet SET held_fen = held_fen + ? WHERE rider_id = ? RETURNING held_fen");
//   st.args(amount, rider_id);
//   if (st.step()) held = st.i64(0);
//   tx.commit();                                                        // rolled back if never called
//
// Placeholders are `?` (numbered in order) or `?N`; the PostgreSQL backend rewrites them to `$N`. Ids
// come back through RETURNING, never a "last insert id". Scalar greatest()/least() exist on both (the
// SQLite backend defines them). Booleans are read as 0/1 whichever way the database returns them.
// A connection is used by one thread at a time: Tx and Lock hold its mutex (recursive, so use cases
// compose). SQL errors throw sql::Error; a constraint violation says so.
#pragma once
#include <cstdint>
#include <memory>
#include <atomic>
#include <chrono>
#include <functional>
#include <mutex>
#include <thread>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace chargehub::core::sql {

enum class Dialect { Sqlite, Postgres };
std::string_view dialect_name(Dialect d);   // "sqlite" | "postgresql"

struct Error : std::runtime_error {
  enum class Kind { Other, Constraint, Busy };
  Error(const std::string& what, Kind kind = Kind::Other) : std::runtime_error(what), kind(kind) {}
  Kind kind;
  bool constraint() const { return kind == Kind::Constraint; }
};

// What a backend implements for one prepared statement. Column and parameter indexes: parameters from
// 1, columns from 0. Text results are UTF-8 bytes as stored.
class StmtImpl {
 public:
  virtual ~StmtImpl() = default;
  virtual void bind_i64(int i, int64_t v) = 0;
  virtual void bind_text(int i, std::string_view v) = 0;
  virtual void bind_null(int i) = 0;
  virtual bool step() = 0;          // executes on the first call; true while a row is available
  virtual void reset() = 0;         // ready to run again; bindings cleared
  virtual int64_t i64(int col) const = 0;
  virtual std::string text(int col) const = 0;
  virtual bool is_null(int col) const = 0;
};

class Db;

// Time spent in the database, for metrics (core/src/metrics.cpp installs one; none by default): the
// steps of each statement summed until it is reset or given back, and each outermost transaction from
// BEGIN to COMMIT or ROLLBACK. Called on the thread doing the work, with the connection held: be quick.
class Observer {
 public:
  virtual ~Observer() = default;
  virtual void statement(std::string_view sql, double seconds) = 0;
  virtual void transaction(bool committed, double seconds) = 0;
};
inline std::atomic<Observer*> g_observer{nullptr};
inline void set_observer(Observer* o) { g_observer.store(o, std::memory_order_release); }
inline Observer* observer() { return g_observer.load(std::memory_order_acquire); }

// A prepared statement borrowed from its connection's cache (given back, reset, when destroyed).
class Stmt {
 public:
  Stmt(Db* owner, std::string sql, StmtImpl* impl) : owner_(owner), sql_(std::move(sql)), impl_(impl) {}
  ~Stmt();
  Stmt(Stmt&& o) noexcept : owner_(o.owner_), sql_(std::move(o.sql_)), impl_(o.impl_), spent_(o.spent_) {
    o.impl_ = nullptr;
    o.spent_ = 0;
  }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;

  Stmt& bind(int i, int64_t v) { impl_->bind_i64(i, v); return *this; }
  Stmt& bind(int i, int v) { return bind(i, static_cast<int64_t>(v)); }
  Stmt& bind(int i, uint32_t v) { return bind(i, static_cast<int64_t>(v)); }
  Stmt& bind(int i, bool v) { return bind(i, static_cast<int64_t>(v ? 1 : 0)); }
  Stmt& bind(int i, std::string_view v) { impl_->bind_text(i, v); return *this; }
  Stmt& bind(int i, const char* v) { return bind(i, std::string_view(v)); }
  Stmt& bind(int i, const std::string& v) { return bind(i, std::string_view(v)); }
  Stmt& bind_null(int i) { impl_->bind_null(i); return *this; }
  template <class T>
  Stmt& bind(int i, const std::optional<T>& v) { return v ? bind(i, *v) : bind_null(i); }
  // Binds all parameters in order, from 1.
  template <class... A>
  Stmt& args(const A&... a) {
    int i = 0;
    (bind(++i, a), ...);
    return *this;
  }

  bool step() {
    if (!observer()) return impl_->step();
    auto t0 = std::chrono::steady_clock::now();
    bool row = impl_->step();
    spent_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return row;
  }
  void run() { while (step()) {} }
  void reset() {
    report();
    impl_->reset();
  }

  int64_t i64(int col) const { return impl_->i64(col); }
  bool boolean(int col) const { return impl_->i64(col) != 0; }
  std::string text(int col) const { return impl_->text(col); }
  bool is_null(int col) const { return impl_->is_null(col); }
  std::optional<int64_t> opt_i64(int col) const { return is_null(col) ? std::nullopt : std::optional(i64(col)); }
  std::optional<std::string> opt_text(int col) const { return is_null(col) ? std::nullopt : std::optional(text(col)); }

 private:
  void report() {
    if (spent_ > 0)
      if (auto* o = observer()) o->statement(sql_, spent_);
    spent_ = 0;
  }
  Db* owner_;
  std::string sql_;
  StmtImpl* impl_;
  double spent_ = 0;   // seconds in step() since the last report (with an observer)
};

// One database connection.
class Db {
 public:
  virtual ~Db() = default;
  virtual Dialect dialect() const = 0;
  // Statements without parameters (migrations, settings); several separated by ';' are allowed.
  virtual void exec(std::string_view sql) = 0;
  // A prepared statement, compiled once per connection and SQL text.
  virtual Stmt prepare(std::string_view sql) = 0;
  // Rows inserted, updated or deleted by the statement that ran last.
  virtual int64_t changes() const = 0;
  // Transactions, for Tx: begin() starts the outermost one (SQLite: BEGIN IMMEDIATE, taking the write
  // lock at once; PostgreSQL: BEGIN, READ COMMITTED).
  virtual void begin() = 0;
  virtual void commit() = 0;
  virtual void rollback() = 0;
  // Savepoints of nested transactions, by depth (1, 2, ...). The defaults run the SQL text; a backend
  // may keep them prepared (SQLite: a message burst opens hundreds per transaction).
  virtual void savepoint(int level) { exec("SAVEPOINT tx" + std::to_string(level)); }
  virtual void release(int level) { exec("RELEASE SAVEPOINT tx" + std::to_string(level)); }
  virtual void rollback_to(int level) {
    exec("ROLLBACK TO SAVEPOINT tx" + std::to_string(level));
    release(level);
  }

  std::recursive_mutex& mutex() { return mu_; }
  int depth() const { return depth_; }

  // Runs fn after the outermost transaction open on this thread commits (dropped if it rolls back), or
  // at once when this thread has none open: side effects such as publishing a command leave only once
  // the rows they announce are durable, however deep the use case that caused them was nested.
  void after_commit(std::function<void()> fn);
  // True while this thread has a transaction open on the connection.
  bool in_transaction_here() const { return owner_.load() == std::this_thread::get_id(); }

 protected:
  friend class Stmt;
  friend class Tx;
  virtual void give_back(const std::string& sql, StmtImpl* impl) = 0;
  std::recursive_mutex mu_;
  int depth_ = 0;   // open transactions: 0 none, 1 the outermost, more = savepoints
  std::atomic<std::thread::id> owner_{};   // the thread whose transaction is open (depth_ > 0)
  std::vector<std::function<void()>> after_commit_;
};

inline Stmt::~Stmt() {
  report();
  if (impl_) owner_->give_back(sql_, impl_);
}

// Opens a database by URL: sqlite:///abs/path, sqlite://relative/path, a plain file path (SQLite), or
// postgresql://… / postgres://… (libpq's URI; keywords form "host=… dbname=…" after "postgresql:" too).
std::unique_ptr<Db> open(const std::string& url);

// The connection's mutex for reads outside a transaction (several statements that must see one state
// need a Tx).
class Lock {
 public:
  explicit Lock(Db& db) : lock_(db.mutex()) {}
 private:
  std::lock_guard<std::recursive_mutex> lock_;
};

// A transaction: the outermost one begins on construction, an inner one is a SAVEPOINT, so use cases
// compose into a larger unit of work. Rolled back unless commit() was called. Holds the connection's
// mutex for its whole life.
class Tx {
 public:
  explicit Tx(Db& db);
  ~Tx();
  Tx(const Tx&) = delete;
  Tx& operator=(const Tx&) = delete;
  void commit();

 private:
  Db& db_;
  std::lock_guard<std::recursive_mutex> lock_;
  int level_;
  bool done_ = false;
  std::chrono::steady_clock::time_point began_;   // the outermost one, for sql::Observer
};

// Numbered migrations (core/migrations/<dialect>/NNN_name.sql), applied in order, each in its own
// transaction, recorded in schema_migration.
struct Migration {
  int version;
  std::string_view name;
  std::string_view sql;
};
const std::vector<Migration>& migrations(Dialect d);   // embedded at build time
// Applies what is missing; returns the schema version afterwards.
int migrate(Db& db);
int schema_version(Db& db);

// SQLite only: outermost commits made while another statement of the same connection was still stepping
// (SQLite then skips the WAL checkpoint). Tests require this to stay 0.
uint64_t commits_while_reading();

}  // namespace chargehub::core::sql
