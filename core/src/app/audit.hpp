// The audit log: who changed what through the API (and every money movement an operator causes), once,
// in the change's own transaction. The HTTP kernel calls record() per route inside the transaction it
// holds around the handler; use cases record nothing themselves. Entries are never edited (the table
// refuses UPDATE and DELETE on both databases).
//
//   sql::Tx tx(db);
//   auto r = app.devices.set_enabled(id, false);
//   app.audit.record({.at = now, .account_id = caller.account_id, .actor = caller.actor(), .address = caller.address,
//                     .action = "devices.edit", .target_type = "device", .target_id = id, .before = b, .after = a});
//   tx.commit();
#pragma once
#include <boost/json.hpp>

#include "repo/audit.hpp"

namespace chargehub::core {

struct AuditEntry {
  int64_t id = 0, at = 0;
  std::optional<int64_t> account_id;
  std::string actor, address, action, target_type, target_id;
  boost::json::value before, after;   // null: nothing (a creation has no before, a deletion no after)
};

struct AuditFilter {
  std::optional<int64_t> account_id;
  std::optional<std::string> action, target_type, target_id;
  std::optional<int64_t> from, to;   // from <= at < to
};

class Audit {
 public:
  explicit Audit(AuditRepo& repo, sql::Db& db) : repo_(repo), db_(db) {}
  // Appends within the caller's open transaction (a savepoint of it; its own transaction if none is
  // open), secrets redacted first. Sets nothing on `e`; returns the new entry's id.
  int64_t record(AuditEntry e);
  // Newest first by default; sort keys "id", "at".
  // Within the scope: an agent's callers see what the accounts of their agent (and its sub-agents) did.
  Page<AuditEntry> list(const Scope& scope, const AuditFilter& f, const PageRequest& p);
  // Any object member whose key contains password, secret, token, key_hash, pubkey, refresh or
  // authorization (any case) gets "***" (a null stays null: "none" is not a secret), recursively
  // through objects and arrays.
  static boost::json::value redact(const boost::json::value& v);

 private:
  AuditRepo& repo_;
  sql::Db& db_;
};

}  // namespace chargehub::core
