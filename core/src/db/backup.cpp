// Online backup and restore of the SQLite database with SQLite's backup API (docs/operations.md).
#include "backup.hpp"

#include <fcntl.h>
#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <filesystem>
#include <memory>
#include <thread>

#include "db.hpp"

namespace chargehub::core::sql {

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

struct Conn {
  sqlite3* db = nullptr;
  Conn() = default;
  Conn(Conn&& o) noexcept : db(o.db) { o.db = nullptr; }
  Conn(const Conn&) = delete;
  Conn& operator=(const Conn&) = delete;
  ~Conn() { sqlite3_close_v2(db); }
};

Conn open_file(const std::string& path, int flags, const char* what) {
  Conn c;
  int rc = sqlite3_open_v2(path.c_str(), &c.db, flags, nullptr);
  if (rc != SQLITE_OK)
    throw Error(std::string("cannot open ") + what + " " + path + ": " + (c.db ? sqlite3_errmsg(c.db) : sqlite3_errstr(rc)));
  sqlite3_busy_timeout(c.db, 5000);
  sqlite3_extended_result_codes(c.db, 1);
  return c;
}

std::string scalar_text(sqlite3* db, const char* sql) {
  sqlite3_stmt* st = nullptr;
  if (sqlite3_prepare_v2(db, sql, -1, &st, nullptr) != SQLITE_OK) throw Error(std::string(sql) + ": " + sqlite3_errmsg(db));
  std::unique_ptr<sqlite3_stmt, int (*)(sqlite3_stmt*)> guard(st, sqlite3_finalize);
  int rc = sqlite3_step(st);
  if (rc == SQLITE_ROW) {
    auto* p = sqlite3_column_text(st, 0);
    return p ? reinterpret_cast<const char*>(p) : "";
  }
  if (rc == SQLITE_DONE) return "";
  throw Error(std::string(sql) + ": " + sqlite3_errmsg(db));
}

// "ok", or the first problem PRAGMA quick_check reports.
std::string quick_check(sqlite3* db) { return scalar_text(db, "PRAGMA quick_check"); }

int schema_of(sqlite3* db) {
  if (scalar_text(db, "SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'schema_migration'").empty()) return -1;
  auto v = scalar_text(db, "SELECT coalesce(max(version), 0) FROM schema_migration");
  return v.empty() ? 0 : std::stoi(v);
}

void fsync_path(const fs::path& p, bool dir) {
  int fd = ::open(p.c_str(), dir ? O_RDONLY | O_DIRECTORY : O_RDONLY);
  if (fd < 0) return;
  ::fsync(fd);
  ::close(fd);
}

double since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

std::string sqlite_path_or_refuse(const std::string& url, const char* verb) {
  auto p = sqlite_path(url);
  if (!p)
    throw Error(std::string("chargehub-core ") + verb +
                " handles SQLite databases only; for PostgreSQL use pg_dump -Fc / pg_restore, or pg_basebackup with WAL "
                "archiving for point-in-time recovery (docs/operations.md, \"Backups\")");
  if (*p == ":memory:" || p->empty()) throw Error(std::string("cannot ") + verb + " an in-memory database");
  return *p;
}

}  // namespace

std::optional<std::string> sqlite_path(const std::string& url) {
  auto starts = [&](std::string_view p) { return url.rfind(p, 0) == 0; };
  if (starts("postgresql:") || starts("postgres:")) return std::nullopt;
  if (starts("sqlite://")) return url.substr(9);
  if (starts("sqlite:")) return url.substr(7);
  return url;
}

bool sqlite_in_use(const std::string& path) {
  // Every connection to a WAL database holds a shared lock on the WAL index's "dead man switch" byte
  // (SQLite's unix VFS: byte 128 of <db>-shm) for as long as it is open; the other bytes 120..127 are the
  // read and write locks of running transactions. Another process holding any of them has it open.
  std::string shm = path + "-shm";
  int fd = ::open(shm.c_str(), O_RDONLY);
  if (fd < 0) return false;   // no WAL index: nobody has it open in WAL mode
  struct flock l{};
  l.l_type = F_WRLCK;
  l.l_whence = SEEK_SET;
  l.l_start = 120;
  l.l_len = 9;
  bool used = ::fcntl(fd, F_GETLK, &l) == 0 && l.l_type != F_UNLCK;
  ::close(fd);
  return used;
}

BackupReport backup_sqlite(const std::string& db_url, const std::string& to, const BackupOptions& o) {
  std::string from = sqlite_path_or_refuse(db_url, "backup");
  if (!fs::exists(from)) throw Error("no database at " + from);
  auto t0 = Clock::now();
  BackupReport r;
  fs::path target = fs::absolute(to);
  fs::path tmp = target;
  tmp += ".tmp";
  fs::remove(tmp);
  bool rc_failed = false;
  std::string rc_failed_msg;
  {
    Conn src = open_file(from, SQLITE_OPEN_READWRITE, "database");
    Conn dst = open_file(tmp.string(), SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, "backup file");
    sqlite3_backup* b = sqlite3_backup_init(dst.db, "main", src.db, "main");
    if (!b) throw Error(std::string("backup: ") + sqlite3_errmsg(dst.db));
    int step = std::max(1, o.pages_per_step);
    int last_remaining = -1, rc = SQLITE_OK;
    for (;;) {
      rc = sqlite3_backup_step(b, step);
      ++r.steps;
      if (rc == SQLITE_DONE) break;
      if (rc == SQLITE_OK || rc == SQLITE_BUSY || rc == SQLITE_LOCKED) {
        int remaining = sqlite3_backup_remaining(b);
        // A commit by another connection (the serving core) restarts the copy from the first page. Under
        // a steady write load small slices might never finish: each restart doubles the slice.
        if (last_remaining >= 0 && remaining > last_remaining) {
          ++r.restarts;
          step = step > (1 << 24) ? -1 : step * 2;
        }
        last_remaining = remaining;
        std::this_thread::sleep_for(std::chrono::milliseconds(rc == SQLITE_OK ? o.pause_ms : 20));
        continue;
      }
      break;
    }
    r.pages = sqlite3_backup_pagecount(b);
    sqlite3_backup_finish(b);
    if (rc != SQLITE_DONE) {
      rc_failed = true;
      rc_failed_msg = "backup of " + from + " failed: " + sqlite3_errstr(rc);
    }
  }
  if (!rc_failed) {
    Conn dst = open_file(tmp.string(), SQLITE_OPEN_READWRITE, "backup file");
    // The copy is a WAL database like its source; leave it as one self-contained file.
    scalar_text(dst.db, "PRAGMA wal_checkpoint(TRUNCATE)");
    r.check = quick_check(dst.db);
    scalar_text(dst.db, "PRAGMA journal_mode=DELETE");
  }
  if (rc_failed) {
    fs::remove(tmp);
    throw Error(rc_failed_msg);
  }
  if (r.check != "ok") {
    fs::remove(tmp);
    throw Error("the copy of " + from + " failed its check: " + r.check);
  }
  fsync_path(tmp, false);
  fs::rename(tmp, target);
  fsync_path(target.parent_path(), true);
  r.bytes = static_cast<int64_t>(fs::file_size(target));
  r.seconds = since(t0);
  return r;
}

FloorReport raise_session_floor(Db& db, int64_t gap, int64_t now) {
  if (gap < 1) throw Error("the session gap must be at least 1");
  Tx tx(db);
  FloorReport f;
  {
    auto st = db.prepare("SELECT coalesce(max(id), 0) FROM session");
    st.step();
    f.max_id = st.i64(0);
  }
  int64_t above = f.max_id + 1;   // the least id the database would give next without a floor
  {
    auto st = db.prepare("SELECT next_id FROM id_floor WHERE name = 'session'");
    if (st.step()) above = std::max(above, st.i64(0));
  }
  if (db.dialect() == Dialect::Postgres) {
    auto st = db.prepare("SELECT coalesce(pg_sequence_last_value(pg_get_serial_sequence('session', 'id')::regclass), 0)");
    st.step();
    above = std::max(above, st.i64(0) + 1);
  }
  f.next_id = above + gap;
  if (f.next_id > int64_t{0xFFFFFFFF} - gap)
    throw Error("session numbers would pass the charger's 32-bit session number: use a smaller --session-gap");
  if (db.dialect() == Dialect::Postgres) {
    auto st = db.prepare("SELECT setval(pg_get_serial_sequence('session', 'id'), ?, false)");
    st.args(f.next_id);
    st.step();
  }
  db.prepare("INSERT INTO id_floor (name, next_id, set_at) VALUES ('session', ?, ?) "
             "ON CONFLICT (name) DO UPDATE SET next_id = excluded.next_id, set_at = excluded.set_at")
      .args(f.next_id, now)
      .run();
  tx.commit();
  return f;
}

RestoreReport restore_sqlite(const std::string& from, const std::string& db_url, int64_t session_gap) {
  std::string to = sqlite_path_or_refuse(db_url, "restore");
  if (!fs::exists(from)) throw Error("no backup file at " + from);
  auto t0 = Clock::now();
  RestoreReport r;
  {
    Conn src = open_file(from, SQLITE_OPEN_READONLY, "backup file");
    std::string check = quick_check(src.db);
    if (check != "ok") throw Error(from + " failed its check: " + check);
    r.schema_before = schema_of(src.db);
    if (r.schema_before < 0) throw Error(from + " is not a ChargeHub database (no schema_migration table)");
    if (sqlite_in_use(to))
      throw Error(to + " is open by another process (a running core?): stop the core before restoring");
    Conn dst = open_file(to, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, "database");
    // Hold the target for the whole copy: no core can start on it half-way.
    scalar_text(dst.db, "PRAGMA locking_mode=EXCLUSIVE");
    scalar_text(dst.db, "PRAGMA journal_mode=WAL");
    if (sqlite_in_use(to)) throw Error(to + " is open by another process (a running core?): stop the core before restoring");
    sqlite3_backup* b = sqlite3_backup_init(dst.db, "main", src.db, "main");
    if (!b) throw Error(std::string("restore: ") + sqlite3_errmsg(dst.db));
    int rc = sqlite3_backup_step(b, -1);
    r.pages = sqlite3_backup_pagecount(b);
    sqlite3_backup_finish(b);
    if (rc != SQLITE_DONE) throw Error("restore into " + to + " failed: " + sqlite3_errmsg(dst.db));
    scalar_text(dst.db, "PRAGMA wal_checkpoint(TRUNCATE)");
    std::string after = quick_check(dst.db);
    if (after != "ok") throw Error("the restored database failed its check: " + after);
  }
  // A backup from an older version gets this version's schema now (the core would do it at start).
  auto db = open(db_url);
  r.schema_after = migrate(*db);
  r.floor = raise_session_floor(*db, session_gap, static_cast<int64_t>(std::time(nullptr)));
  db.reset();
  r.bytes = static_cast<int64_t>(fs::file_size(to));
  r.seconds = since(t0);
  return r;
}

}  // namespace chargehub::core::sql
