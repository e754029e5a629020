// The audit log: append and list, rows only (core/src/app/audit.cpp redacts; the table refuses updates and
// deletes on both databases).
#pragma once
#include <cstdint>
#include <optional>
#include <string>

#include "db/db.hpp"
#include "repo/page.hpp"
#include "repo/scope.hpp"

namespace chargehub::core {

struct AuditRow {
  int64_t id = 0, at = 0;
  std::optional<int64_t> account_id;
  std::string actor, address, action, target_type, target_id;
  std::optional<std::string> before_json, after_json;   // JSON text, secrets already redacted
};

struct AuditQuery {
  std::optional<int64_t> account_id;
  std::optional<std::string> action, target_type, target_id;
  std::optional<int64_t> from, to;   // from <= at < to
};

class AuditRepo {
 public:
  explicit AuditRepo(sql::Db& db) : db_(db) {}
  int64_t insert(const AuditRow& r);   // returns the id
  // Sort keys: id (default), at; newest first unless a sort key is given without desc.
  Page<AuditRow> list(const Scope& scope, const AuditQuery& q, const PageRequest& p);

 private:
  sql::Db& db_;
};

}  // namespace chargehub::core
