// Operator accounts, their roles and permissions, and bearer tokens: rows in, rows out. No decisions here
// (core/src/app/accounts.cpp decides; docs/accounts.md).
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "db/db.hpp"
#include "repo/page.hpp"

namespace chargehub::core {

struct AccountRow {
  int64_t id = 0;
  std::string name, display_name, phone;
  std::string kind = "person";   // person | service
  std::optional<std::string> password_hash, key_hash, key_prefix;
  std::optional<int64_t> agent_id;
  bool frozen = false, must_change_password = false;
  int64_t created_at = 0, updated_at = 0;
  std::optional<int64_t> last_login_at;
};

struct RoleRow {
  int64_t id = 0;
  std::string key, name;
  bool builtin = false;
  std::optional<int64_t> agent_id;
};

struct TokenRow {
  int64_t id = 0, account_id = 0;
  int64_t access_expires_at = 0, refresh_expires_at = 0;
  std::optional<int64_t> revoked_at;
  int64_t created_at = 0;
  std::string address;
};

// Filters of the account list; each set one narrows it.
struct AccountQuery {
  std::optional<std::string> q;       // in name, display name or phone
  std::optional<std::string> role;    // holds the role with this key
  std::optional<bool> frozen;
  std::optional<std::string> kind;
  std::optional<int64_t> agent_id;    // only this agent's accounts
};

class AccountRepo {
 public:
  explicit AccountRepo(sql::Db& db) : db_(db) {}

  // Accounts. insert: nothing when the name is taken (the unique index decides).
  std::optional<int64_t> insert(const AccountRow& a);
  std::optional<AccountRow> get(int64_t id);
  std::optional<AccountRow> by_name(const std::string& name);
  std::optional<AccountRow> by_key_hash(const std::string& key_hash);
  // Sort keys: id, name, created_at, last_login_at (default: id).
  Page<AccountRow> list(const AccountQuery& q, const PageRequest& p);
  bool update_profile(int64_t id, const std::optional<std::string>& display_name, const std::optional<std::string>& phone, int64_t now);
  bool set_password(int64_t id, const std::string& hash, bool must_change, int64_t now);
  bool set_frozen(int64_t id, bool frozen, int64_t now);
  bool clear_key(int64_t id, int64_t now);   // key_hash null, frozen
  void touch_login(int64_t id, int64_t now);

  // The union of the account's roles' permissions, sorted, unique.
  std::vector<std::string> permissions(int64_t account_id);
  std::vector<std::string> role_keys(int64_t account_id);   // sorted
  void set_roles(int64_t account_id, const std::vector<int64_t>& role_ids);

  // Roles.
  std::optional<RoleRow> role(int64_t id);
  std::optional<RoleRow> role_by_key(const std::string& key);
  // Platform roles, and this agent's when given; by key.
  std::vector<RoleRow> roles(std::optional<int64_t> agent_id);
  std::vector<std::string> role_permissions(int64_t role_id);   // sorted
  std::optional<int64_t> insert_role(const RoleRow& r);         // nothing when the key is taken
  // A built-in role by key: inserted, or its name and builtin flag refreshed. Returns its id.
  int64_t upsert_builtin_role(const std::string& key, const std::string& name);
  void set_role_permissions(int64_t role_id, const std::vector<std::string>& permissions);
  bool rename_role(int64_t id, const std::string& name);
  int64_t role_holders(int64_t role_id);
  bool delete_role(int64_t id);   // with its permissions

  // Tokens (hashes only).
  int64_t insert_token(int64_t account_id, const std::string& access_hash, const std::string& refresh_hash, int64_t access_expires_at,
                       int64_t refresh_expires_at, int64_t now, const std::string& address);
  std::optional<TokenRow> token_by_access(const std::string& access_hash);
  std::optional<TokenRow> token_by_refresh(const std::string& refresh_hash);
  bool revoke_token(int64_t id, int64_t now);   // false when already revoked (or unknown)
  int64_t revoke_tokens_of(int64_t account_id, int64_t now);
  // Every token of the accounts of this agent and of its sub-agents (freezing an agent; docs/agents.md).
  int64_t revoke_tokens_of_agent(int64_t agent_id, int64_t now);
  int64_t delete_tokens_expired_before(int64_t t);   // refresh expired before t

 private:
  sql::Db& db_;
};

}  // namespace chargehub::core
