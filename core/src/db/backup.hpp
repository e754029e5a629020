// Backups of the core's database (docs/operations.md, "Backups"): an adapter of the SQL layer.
//
//   auto r = sql::backup_sqlite("sqlite:///var/lib/chargehub/core.db", "/backup/core-2026-11-30.db");
//   // r.pages, r.bytes, r.seconds: an online copy, taken while the core keeps serving
//   auto s = sql::restore_sqlite("/backup/core-2026-11-30.db", "sqlite:///var/lib/chargehub/core.db");
//   // refused while a core has the target open; migrated to this version's schema afterwards
//
// SQLite only. A PostgreSQL URL is refused with a pointer to pg_dump / pg_basebackup, documented in
// docs/operations.md. Failures throw sql::Error with what went wrong; nothing half-written is left under
// the target name.
#pragma once
#include <cstdint>
#include <optional>
#include <string>

namespace chargehub::core::sql {

class Db;

// After a restore the database does not know the session numbers given out after its backup (the
// chargers were told them). raise_session_floor makes new sessions take ids at least `gap` above every id
// the database knows or was floored to before: on SQLite through id_floor, on PostgreSQL by moving the
// identity sequence (setval), recorded in id_floor too. `restore` calls it; after pg_restore run
// `chargehub-core after-restore`. Refused when the floor would pass the charger's u32 session number.
struct FloorReport {
  int64_t max_id = 0;    // the highest session id in the restored database
  int64_t next_id = 0;   // the id the next session takes
};
inline constexpr int64_t kDefaultSessionGap = 10'000'000;
FloorReport raise_session_floor(Db& db, int64_t gap, int64_t now);

struct BackupOptions {
  int pages_per_step = 1024;   // pages copied per slice; between slices the source is not read-locked
  int pause_ms = 2;            // pause between slices, so a writer's checkpoint can run
};

struct BackupReport {
  int64_t pages = 0;       // pages of the copy
  int64_t bytes = 0;       // size of the copy
  double seconds = 0;      // wall time of the copy and its check
  int steps = 0;           // slices
  int restarts = 0;        // times a write by another connection made SQLite start the copy over
  std::string check;       // what PRAGMA quick_check said ("ok")
};

struct RestoreReport {
  int64_t pages = 0;
  int64_t bytes = 0;
  double seconds = 0;
  int schema_before = 0;   // the backup's schema version
  int schema_after = 0;    // after migrating
  FloorReport floor;       // where new session numbers begin (raise_session_floor)
};

// The SQLite file of a database URL (sqlite:///abs, sqlite://rel, sqlite:rel, a file name), or nothing
// for a PostgreSQL URL.
std::optional<std::string> sqlite_path(const std::string& url);

// Copies the live database at `db_url` to `to` with SQLite's online backup API, in slices, into
// `to`.tmp, checks the copy (PRAGMA quick_check) and renames it to `to` (replacing an older file there).
BackupReport backup_sqlite(const std::string& db_url, const std::string& to, const BackupOptions& o = {});

// Replaces the database at `db_url` with the backup `from` (checked first), then migrates it. Refused
// while another process has the target open (a running core): stop the core first.
RestoreReport restore_sqlite(const std::string& from, const std::string& db_url, int64_t session_gap = kDefaultSessionGap);

// True when another process has the SQLite database at `path` open (it holds the WAL index's lock).
bool sqlite_in_use(const std::string& path);

}  // namespace chargehub::core::sql
