// The inbox of orphan stop records: SESSION_END records for sessions the platform does not know, kept
// whole (one row per msg), until an operator settles or closes them. Rows in, rows out.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "chargehub/messages.hpp"
#include "db/db.hpp"
#include "repo/page.hpp"
#include "repo/scope.hpp"

namespace chargehub::core {

enum class OrphanState { Open, Settled, Closed };
std::string_view orphan_state_name(OrphanState s);   // "open" "settled" "closed"
std::optional<OrphanState> parse_orphan_state(std::string_view s);

struct OrphanRecord {
  int64_t id = 0;
  std::string device_id, msg;
  int64_t port = 0, session = 0, reason = 0, started_at = 0, duration_s = 0, energy_wh = 0, max_power_w = 0;
  std::string payload;                        // the JSON payload as received
  int64_t first_seen_at = 0, last_seen_at = 0, copies = 1;
  std::optional<std::string> meter_flag;
  OrphanState state = OrphanState::Open;
  std::optional<int64_t> session_id, resolved_at;
  std::optional<std::string> closed_reason, actor;
};

struct OrphanFilter {
  std::optional<std::string> device_id;
  std::optional<OrphanState> state;
  int64_t limit = 100;
  int64_t after_id = 0;   // oldest first
};

struct OrphanCounts {
  int64_t open = 0, total = 0;
};

class InboxRepo {
 public:
  explicit InboxRepo(sql::Db& db) : db_(db) {}

  int64_t insert(const std::string& device_id, const std::string& msg, const proto::SessionEnd& e, const std::string& payload,
                 const std::optional<std::string>& meter_flag, int64_t now);
  // Another copy of a record (same msg): counted; false when no record has this msg.
  bool count_copy(const std::string& msg, int64_t now);
  // Within the scope through the record's device's agent (records of unknown devices: the platform's).
  std::optional<OrphanRecord> get(const Scope& scope, int64_t id);
  std::vector<OrphanRecord> list(const Scope& scope, const OrphanFilter& f);
  Page<OrphanRecord> page(const Scope& scope, const OrphanFilter& f, const PageRequest& p);   // the filter's device and state; oldest first
  // Resolving: only an open record changes; false when it was not open.
  bool mark_settled(int64_t id, int64_t session_id, const std::string& actor, int64_t now);
  bool mark_closed(int64_t id, const std::string& reason, const std::string& actor, int64_t now);
  OrphanCounts counts(const std::string& device_id);

 private:
  sql::Db& db_;
};

}  // namespace chargehub::core
