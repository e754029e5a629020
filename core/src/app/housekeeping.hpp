// Which core instance runs the housekeeping when several share one PostgreSQL (docs/scale-out.md).
//
//   auto lease = conn->dialect() == sql::Dialect::Postgres ? sql::open(url) : nullptr;   // its own connection
//   core::Leadership leader("core-a", std::move(lease));
//   every second: svc.tick(leader.poll());
//
// Housekeeping is what no message asks for: giving up unanswered STARTs, marking silent devices offline,
// sending what is still queued, failing unanswered commands, thinning old meter samples, planning
// firmware rollouts. It must run once across instances, so only the holder of a lease runs it: on
// PostgreSQL a session-level advisory lock on a connection used for nothing else (repo/leader_lock.hpp),
// which the server releases the moment that connection ends, so a killed leader is replaced at the
// next poll of another instance (about a second). On SQLite there is one core per file: it always leads.
//
// Message handling (ingest, settlement, replies, card swipes) and the API run on every instance; their
// state changes lock the rows they decide on, so a short overlap of two leaders (a lease lost and taken
// while the old holder has not polled yet) applies nothing twice either.
#pragma once
#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "db/db.hpp"
#include "repo/leader_lock.hpp"

namespace chargehub::core {

class Leadership {
 public:
  // `name`: this instance (shown to the others). `lease_db`: a PostgreSQL connection of its own, or
  // nullptr for a single instance (SQLite), which always leads.
  Leadership(std::string name, std::unique_ptr<sql::Db> lease_db);
  ~Leadership();
  Leadership(const Leadership&) = delete;
  Leadership& operator=(const Leadership&) = delete;

  // Takes the lease when it is free, checks it is still held when this instance leads; returns whether
  // this instance leads now. Logs each change. Never throws (a database error means not leading).
  bool poll();
  bool leading() const { return leading_; }
  const std::string& name() const { return name_; }
  // Who leads as the database sees it ("" when nobody does), for GET /status.
  std::string leader_name();
  // How often this instance became leader since it started.
  uint64_t terms() const { return terms_; }
  // Gives the lease up (a clean shutdown: another instance takes over at its next poll).
  void release();

 private:
  std::string name_;
  std::unique_ptr<sql::Db> db_;
  std::optional<LeaderLockRepo> repo_;
  std::mutex mu_;   // poll() (main thread) and leader_name() (HTTP threads) share the connection
  std::atomic<bool> leading_{false};
  std::atomic<uint64_t> terms_{0};
  bool named_ = false;
};

}  // namespace chargehub::core
