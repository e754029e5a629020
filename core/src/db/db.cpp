#include "db.hpp"

#include <ctime>

#include "backends.hpp"

namespace chargehub::core::sql {

std::string_view dialect_name(Dialect d) { return d == Dialect::Sqlite ? "sqlite" : "postgresql"; }

std::unique_ptr<Db> open(const std::string& url) {
  auto starts = [&](std::string_view p) { return url.rfind(p, 0) == 0; };
  if (starts("postgresql:") || starts("postgres:")) {
    // libpq takes the URI as it is; "postgresql:host=… dbname=…" passes the keyword form.
    if (starts("postgresql://") || starts("postgres://")) return open_postgres(url);
    return open_postgres(url.substr(url.find(':') + 1));
  }
  if (starts("sqlite://")) return open_sqlite(url.substr(9));   // sqlite:///abs → /abs
  if (starts("sqlite:")) return open_sqlite(url.substr(7));
  return open_sqlite(url);
}

Tx::Tx(Db& db) : db_(db), lock_(db.mutex()), level_(db.depth_) {
  if (level_ == 0) {
    began_ = std::chrono::steady_clock::now();
    db_.begin();
    db_.owner_ = std::this_thread::get_id();
  } else {
    db_.savepoint(level_);
  }
  ++db_.depth_;
}

void Db::after_commit(std::function<void()> fn) {
  // owner_ equals this thread only while this thread holds the mutex inside a transaction.
  if (in_transaction_here()) {
    after_commit_.push_back(std::move(fn));
    return;
  }
  fn();
}

Tx::~Tx() {
  if (done_) return;
  --db_.depth_;
  try {
    if (level_ == 0) {
      db_.owner_ = std::thread::id();
      db_.after_commit_.clear();
      db_.rollback();
      if (auto* o = observer()) o->transaction(false, std::chrono::duration<double>(std::chrono::steady_clock::now() - began_).count());
    } else {
      db_.rollback_to(level_);
    }
  } catch (...) {
  }
}

void Tx::commit() {
  if (level_ == 0) {
    db_.commit();
    if (auto* o = observer()) o->transaction(true, std::chrono::duration<double>(std::chrono::steady_clock::now() - began_).count());
    --db_.depth_;
    done_ = true;
    db_.owner_ = std::thread::id();
    auto hooks = std::move(db_.after_commit_);
    db_.after_commit_.clear();
    for (auto& fn : hooks) fn();
    return;
  }
  db_.release(level_);
  --db_.depth_;
  done_ = true;
}

int schema_version(Db& db) {
  Lock lock(db);
  auto st = db.prepare("SELECT coalesce(max(version), 0) FROM schema_migration");
  return st.step() ? static_cast<int>(st.i64(0)) : 0;
}

int migrate(Db& db) {
  Lock lock(db);
  db.exec("CREATE TABLE IF NOT EXISTS schema_migration (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)");
  int current = schema_version(db);
  for (auto& m : migrations(db.dialect())) {
    if (m.version <= current) continue;
    Tx tx(db);
    db.exec(m.sql);
    db.prepare("INSERT INTO schema_migration (version, name, applied_at) VALUES (?, ?, ?)")
        .args(int64_t{m.version}, std::string(m.name), static_cast<int64_t>(std::time(nullptr)))
        .run();
    tx.commit();
    current = m.version;
  }
  return current;
}

}  // namespace chargehub::core::sql
