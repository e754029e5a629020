// The housekeeping lease of several core instances on one PostgreSQL (docs/scale-out.md): a
// session-level advisory lock, held on a connection of its own. PostgreSQL releases it the moment that
// connection ends, so a core that is killed (SIGKILL, a power cut, a lost network) gives it up at once
// and another instance takes it at its next try. SQLite has no such lock: one core uses the file, and it
// always leads (LeaderLockRepo is not used there).
#pragma once
#include <optional>
#include <string>

#include "db/db.hpp"

namespace chargehub::core {

// In the transaction under way, on PostgreSQL: a row lock is waited for at most `ms`, then the statement
// fails (lock_not_available, sql::Error::Kind::Busy). Nothing on SQLite, whose writers never overlap.
void wait_for_locks_at_most(sql::Db& db, int ms);

class LeaderLockRepo {
 public:
  // `db` must be a PostgreSQL connection used for nothing else: the lock lives as long as it does.
  explicit LeaderLockRepo(sql::Db& db) : db_(db) {}

  // Names this connection (pg_stat_activity.application_name) so that any instance can tell who leads.
  void name_connection(const std::string& name);
  // Takes the lock if nobody holds it; true when this connection holds it (now or already).
  bool try_take();
  // True while this connection still holds the lock (it is lost with the connection).
  bool holds();
  // Gives it up (a clean shutdown: another instance takes over at once).
  void release();
  // The application_name of the connection holding the lock, if any.
  std::optional<std::string> holder();

 private:
  sql::Db& db_;
};

}  // namespace chargehub::core
