// Operator accounts (docs/accounts.md): logins with a name and a password issuing expiring bearer tokens,
// refresh, logout, password changes; service keys for scripts and the OTA tool; roles as named sets of
// permissions; failed credentials throttled per (account, source) and per source.
//
//   auto t = app.accounts.login("zhangsan", password, "203.0.113.7", now);      // Result<Tokens>
//   auto c = app.accounts.authenticate("Bearer-less token", "203.0.113.7", now); // Result<Caller>
//   if (c && c->can("devices.control")) …
//
// The HTTP kernel checks the management permissions (accounts.manage, roles.manage, keys.manage) and
// records the audit entry per route; these use cases enforce only what no permission can allow: nobody
// grants a permission he lacks (roles, accounts, keys), nobody changes an account that holds more than he
// does, nobody freezes himself. Each operation is one transaction (a savepoint inside the kernel's).
// Password hashes are computed outside the connection's lock when no outer transaction is open.
#pragma once
#include <atomic>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "app/passwords.hpp"
#include "chargehub/result.hpp"
#include "chargehub/rules/throttle.hpp"
#include "repo/accounts.hpp"
#include "repo/page.hpp"

namespace chargehub::core {

struct Repos;

// Who makes a request, resolved from a bearer credential.
struct Caller {
  enum class Kind { Person, Service };
  Kind kind = Kind::Person;
  int64_t account_id = 0;
  std::string name;                        // login name, or the service key's name
  std::optional<int64_t> agent_id;         // none = the platform (agents: issue 17)
  std::vector<std::string> permissions;    // sorted, unique: the union of the account's roles
  bool must_change_password = false;
  int64_t token_id = 0;                    // the access token used (0 for service keys)
  std::string address;                     // the request's source address, as given to authenticate()
  bool can(std::string_view permission) const;
  std::string actor() const;               // "account:<name>" or "key:<name>"
};

struct Tokens {
  std::string access_token, refresh_token;   // shown once; stored as SHA-256 only
  int64_t access_expires_at = 0, refresh_expires_at = 0;
  Caller caller;
};

struct AccountSettings {
  int64_t access_ttl_s = 2 * 3600, refresh_ttl_s = 14 * 86400;
  unsigned long long hash_opslimit = 2;   // Argon2id t (OWASP minimum with m = 19 MiB)
  size_t hash_memlimit = 19u << 20;
  int max_concurrent_hashes = 2;
  rules::ThrottleRules throttle;
};

struct AccountView {
  int64_t id = 0;
  std::string name, display_name, phone, kind;   // kind: person | service
  std::optional<int64_t> agent_id;
  bool frozen = false, must_change_password = false;
  std::vector<std::string> roles;   // role keys, sorted
  std::optional<std::string> key_prefix;
  int64_t created_at = 0;
  std::optional<int64_t> last_login_at;
};

struct RoleView {
  int64_t id = 0;
  std::string key, name;
  bool builtin = false;
  std::optional<int64_t> agent_id;
  std::vector<std::string> permissions;   // sorted
};

struct NewAccount {
  std::string name, display_name, phone;
  std::vector<std::string> roles;   // role keys
  std::string initial_password;
};

struct AccountFilter {
  std::optional<std::string> q;      // in login name, display name or phone
  std::optional<std::string> role;   // role key
  std::optional<bool> frozen;
  std::optional<std::string> kind;   // person | service
};

struct NewKey {
  AccountView account;
  std::string secret;   // "chk_…", shown once
};

class Accounts {
 public:
  Accounts(Repos& r, AccountSettings settings = {});

  // --- Bearer credentials. Access tokens "cha_…", refresh tokens "chr_…", service keys "chk_…" (43
  // base64url characters of 32 random bytes after the prefix), stored as SHA-256 hex only.

  // Refusals: bad_credentials (unknown name and wrong password alike), throttled (retry_after_s > 0),
  // account_frozen (only once the password was right; also while its agent or the agent's parent is).
  Result<Tokens> login(const std::string& name, const std::string& password, const std::string& source, int64_t now);
  // An access token or a service key. Refusals: unauthorized (unknown, revoked), token_expired,
  // account_frozen, throttled (a source that presented too many unknown credentials).
  Result<Caller> authenticate(const std::string& bearer, const std::string& source, int64_t now);
  // Rotates: the old pair is revoked, a new one issued. Refusals: unauthorized (unknown or already used
  // or revoked), token_expired, account_frozen, throttled.
  Result<Tokens> refresh(const std::string& refresh_token, const std::string& source, int64_t now);
  void logout(const Caller& c, int64_t now);   // revokes the access token used (and its refresh token)
  // Revokes every token of the account (the console logs in again) and clears must_change_password.
  // Refusals: bad_credentials, throttled, weak_password (under 8 characters, over 128, equal to the name,
  // equal to the old one), not_a_person.
  Result<AccountView> change_password(const Caller& c, const std::string& old_pw, const std::string& new_pw, int64_t now);

  // --- Management (the kernel has checked accounts.manage / roles.manage / keys.manage).

  // must_change_password = true. Refusals: bad_name, name_taken, weak_password, unknown_role,
  // role_exceeds (a role holding a permission `by` lacks).
  Result<AccountView> create(const Caller& by, const NewAccount& a, int64_t now);
  // The same for an agent's account (Agents::create makes its admin so, in its transaction): the account
  // gets agent_id = agent_id instead of by's; whether `by` may sign that agent is the caller's question.
  Result<AccountView> create_for_agent(const Caller& by, int64_t agent_id, const NewAccount& a, int64_t now);
  // Refusals: account_not_found, account_exceeds (it holds a permission `by` lacks), unknown_role,
  // role_exceeds, cannot_demote_self (roles of one's own account that would hold fewer permissions).
  Result<AccountView> update(const Caller& by, int64_t id, std::optional<std::string> display_name, std::optional<std::string> phone,
                             std::optional<std::vector<std::string>> roles, int64_t now);
  // Freezing revokes its tokens (a service key stops working too). Refusals: account_not_found,
  // cannot_freeze_self, account_exceeds.
  Result<AccountView> set_frozen(const Caller& by, int64_t id, bool frozen, int64_t now);
  // Revokes its tokens; the password must be changed at the next login. Refusals: account_not_found,
  // account_exceeds, not_a_person, cannot_reset_self (change_password needs the old one), weak_password.
  Result<AccountView> reset_password(const Caller& by, int64_t id, const std::string& initial_password, int64_t now);
  std::optional<AccountView> get(const Caller& by, int64_t id);   // nothing for unknown ids and other agents' accounts
  // Sort keys: id (default), name, created_at, last_login_at.
  Page<AccountView> list(const Caller& by, const AccountFilter& f, const PageRequest& p);

  std::vector<RoleView> roles(const Caller& by);   // platform roles and by's agent's
  std::optional<RoleView> role(const Caller& by, int64_t id);
  // Refusals: bad_key (a-z, 0-9, _; 2 to 40, starting with a letter), bad_role_name (1 to 64 characters),
  // unknown_permission, permission_exceeds, role_taken.
  Result<RoleView> create_role(const Caller& by, const std::string& key, const std::string& name, const std::vector<std::string>& permissions,
                               int64_t now);
  // Refusals: role_not_found, role_builtin, role_exceeds (it holds a permission `by` lacks),
  // bad_role_name, unknown_permission, permission_exceeds.
  Result<RoleView> update_role(const Caller& by, int64_t id, std::optional<std::string> name, std::optional<std::vector<std::string>> permissions,
                               int64_t now);
  // Returns the role as it was. Refusals: role_not_found, role_builtin, role_in_use.
  Result<RoleView> delete_role(const Caller& by, int64_t id);

  // An account of kind service with a new key. Refusals: bad_name, name_taken, unknown_role, role_exceeds.
  Result<NewKey> create_key(const Caller& by, const std::string& name, const std::vector<std::string>& roles, int64_t now);
  // Deletes the key's hash; the account stays, frozen, for the audit trail. Refusals: account_not_found,
  // not_a_service_key, account_exceeds.
  Result<AccountView> revoke_key(const Caller& by, int64_t account_id, int64_t now);

  // Writes the built-in roles and exactly their catalogue permissions (idempotent; run at start; App's
  // constructor calls it).
  void ensure_builtin_roles();
  // Bootstrap (the CLI, no caller): no escalation check. Same refusals as create / create_key.
  Result<AccountView> bootstrap_account(const NewAccount& a, int64_t now);
  Result<NewKey> bootstrap_key(const std::string& name, const std::vector<std::string>& roles, int64_t now);
  // Deletes tokens whose refresh token expired before `before` (housekeeping); returns how many.
  int64_t purge_tokens(int64_t before);

  // Counters since start.
  uint64_t failed_logins() const { return failed_logins_.load(); }
  uint64_t failed_keys() const { return failed_keys_.load(); }   // unknown bearer credentials (keys, tokens)
  uint64_t throttled() const { return throttled_.load(); }       // attempts refused by the throttle

  const AccountSettings& settings() const { return settings_; }

 private:
  Result<AccountView> create_account(const std::optional<Caller>& by, const NewAccount& a, int64_t now,
                                     std::optional<int64_t> for_agent = std::nullopt);
  // Frozen itself, or its agent or that agent's parent is (docs/agents.md: a frozen agent's accounts and
  // its sub-agents' cannot log in). Inside the connection's lock.
  bool locked_out(const AccountRow& a);
  Result<NewKey> create_service(const std::optional<Caller>& by, const std::string& name, const std::vector<std::string>& roles, int64_t now);
  AccountView view(const AccountRow& a);
  RoleView role_view(const RoleRow& r);
  Caller caller_of(const AccountRow& a, int64_t token_id, const std::string& address);
  Tokens issue(const AccountRow& a, const std::string& source, int64_t now);   // inside a Tx
  bool visible(const Caller& by, const AccountRow& a) const;
  // Role ids for keys visible to `by` (or any platform role without `by`); refusals unknown_role, role_exceeds.
  Result<std::vector<int64_t>> resolve_roles(const std::optional<Caller>& by, const std::vector<std::string>& keys);
  int64_t throttle_login(const std::string& name, const std::string& source, int64_t now);
  void login_failed(const std::string& name, const std::string& source, int64_t now);

  Repos& r_;
  AccountSettings settings_;
  Passwords passwords_;
  std::mutex throttle_mu_;
  rules::LoginThrottle logins_;
  rules::Throttle bearers_;   // unknown bearer credentials per source
  std::atomic<uint64_t> failed_logins_{0}, failed_keys_{0}, throttled_{0};
};

}  // namespace chargehub::core
