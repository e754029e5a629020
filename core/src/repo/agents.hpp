// Agents (issue 17, docs/agents.md "The network"): the rows of the two-level network and their balance
// rows. Rows only: the rules (levels, shares, who may change whom) are in app/agents.cpp. Every method that
// loads or lists an agent takes the caller's Scope: an agent sees itself and its sub-agents.
#pragma once
#include <cstdint>
#include <optional>
#include <string>

#include "db/db.hpp"
#include "repo/page.hpp"
#include "repo/scope.hpp"

namespace chargehub::core {

struct AgentRow {
  int64_t id = 0;
  std::optional<int64_t> parent_id;   // none: a first-level agent
  int64_t level = 1;                  // 1 or 2
  std::string name;
  int64_t share_bp = 0;               // 0..10000
  std::string contact_name, contact_phone, settlement_account;
  bool frozen = false;
  int64_t created_at = 0, updated_at = 0;
};

struct AgentQuery {
  std::optional<std::string> q;           // in the name, contact name or phone
  std::optional<int64_t> parent_id;       // the sub-agents of this agent
  std::optional<int64_t> level;
  std::optional<bool> frozen;
};

class AgentRepo {
 public:
  explicit AgentRepo(sql::Db& db) : db_(db) {}
  // The agent and its (empty) balance row; returns its id.
  int64_t insert(const AgentRow& a);
  std::optional<AgentRow> get(const Scope& scope, int64_t id);
  // Sort keys: id (default), name, created_at, share_bp.
  Page<AgentRow> list(const Scope& scope, const AgentQuery& q, const PageRequest& p);
  // Name, share, contact and settlement details (the row's id names it).
  void update(const AgentRow& a);
  void set_frozen(int64_t id, bool frozen, int64_t now);
  // The highest share of its sub-agents (none without any).
  std::optional<int64_t> max_sub_share(int64_t id);
  // Whether accounts of this agent are refused: it or its parent is frozen (a frozen first-level agent
  // takes its sub-agents' logins with it). Not business data: the login path asks it for any account.
  bool login_blocked(int64_t id);

 private:
  sql::Db& db_;
};

}  // namespace chargehub::core
