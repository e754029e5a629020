#include "accounts.hpp"

#include <algorithm>

#include "app/repos.hpp"
#include "chargehub/permissions.hpp"
#include "chargehub/text.hpp"
#include "log.hpp"

namespace chargehub::core {

namespace {

constexpr size_t kMaxPasswordBytes = 1024;   // longer ones are never hashed (a login with one just fails)
constexpr size_t kMinPasswordChars = 8, kMaxPasswordChars = 128;

std::string lower_ascii(std::string s) {
  for (auto& c : s)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return s;
}

// Characters (UTF-8 code points) in s.
// Login names: 2 to 64 of a-z 0-9 . _ - @, starting with a letter or digit (a phone number or an
// e-mail address works).
bool valid_name(std::string_view n) {
  if (n.size() < 2 || n.size() > 64) return false;
  auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  if (!alnum(n[0])) return false;
  return std::all_of(n.begin(), n.end(), [&](char c) { return alnum(c) || c == '.' || c == '_' || c == '-' || c == '@'; });
}

// Role keys: 2 to 40 of a-z 0-9 _, starting with a letter.
bool valid_role_key(std::string_view k) {
  if (k.size() < 2 || k.size() > 40 || !(k[0] >= 'a' && k[0] <= 'z')) return false;
  return std::all_of(k.begin(), k.end(), [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'; });
}

// Text safe for a log line: printable ASCII, at most `max` bytes; the rest shown as '?'.
std::string loggable(std::string_view s, size_t max = 64) {
  std::string out;
  for (char c : s.substr(0, max)) out += (c >= 0x20 && c < 0x7f) ? c : '?';
  if (s.size() > max) out += "…";
  return out;
}

std::string joined(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ", ") + s;
  return out;
}

std::optional<Refusal> weak_password(const std::string& pw, const std::string& name, const std::string* old_pw) {
  size_t n = utf8_length(pw);
  if (n < kMinPasswordChars) return Refusal{"weak_password", "a password has at least 8 characters"};
  if (n > kMaxPasswordChars || pw.size() > kMaxPasswordBytes) return Refusal{"weak_password", "a password has at most 128 characters"};
  if (lower_ascii(pw) == lower_ascii(name)) return Refusal{"weak_password", "the password must not be the login name"};
  if (old_pw && pw == *old_pw) return Refusal{"weak_password", "the new password must differ from the old one"};
  return std::nullopt;
}

Refusal throttled_refusal(int64_t wait) {
  return Refusal{"throttled", "too many failed attempts; try again in " + std::to_string(wait) + " s", wait};
}

}  // namespace

bool Caller::can(std::string_view permission) const {
  return std::binary_search(permissions.begin(), permissions.end(), permission, [](const auto& a, const auto& b) {
    return std::string_view(a) < std::string_view(b);
  });
}

std::string Caller::actor() const { return (kind == Kind::Service ? "key:" : "account:") + name; }

Accounts::Accounts(Repos& r, AccountSettings settings)
    : r_(r),
      settings_(settings),
      passwords_(HashCost{settings.hash_opslimit, settings.hash_memlimit}, settings.max_concurrent_hashes),
      logins_(settings.throttle),
      bearers_(settings.throttle.free_per_source, settings.throttle) {}

// ---------------------------------------------------------------------------------------------------
// Views

AccountView Accounts::view(const AccountRow& a) {
  return AccountView{a.id,       a.name,
                     a.display_name, a.phone,
                     a.kind,     a.agent_id,
                     a.frozen,   a.must_change_password,
                     r_.accounts.role_keys(a.id), a.key_prefix,
                     a.created_at, a.last_login_at};
}

RoleView Accounts::role_view(const RoleRow& r) {
  return RoleView{r.id, r.key, r.name, r.builtin, r.agent_id, r_.accounts.role_permissions(r.id)};
}

Caller Accounts::caller_of(const AccountRow& a, int64_t token_id, const std::string& address) {
  Caller c;
  c.kind = a.kind == "service" ? Caller::Kind::Service : Caller::Kind::Person;
  c.account_id = a.id;
  c.name = a.name;
  c.agent_id = a.agent_id;
  for (auto& p : r_.accounts.permissions(a.id))   // sorted, unique; a permission dropped from the catalogue grants nothing
    if (permissions::known(p)) c.permissions.push_back(std::move(p));
  c.must_change_password = a.must_change_password;
  c.token_id = token_id;
  c.address = address;
  return c;
}

bool Accounts::locked_out(const AccountRow& a) { return a.frozen || (a.agent_id && r_.agents.login_blocked(*a.agent_id)); }

bool Accounts::visible(const Caller& by, const AccountRow& a) const { return !by.agent_id || a.agent_id == by.agent_id; }

// ---------------------------------------------------------------------------------------------------
// Throttle

int64_t Accounts::throttle_login(const std::string& name, const std::string& source, int64_t now) {
  std::lock_guard lock(throttle_mu_);
  return logins_.check(name, source, now);
}

void Accounts::login_failed(const std::string& name, const std::string& source, int64_t now) {
  {
    std::lock_guard lock(throttle_mu_);
    logins_.failure(name, source, now);
  }
  failed_logins_++;
  log::warn("account.login_failed", {{"name", loggable(name)}, {"source", loggable(source)}});
}

// ---------------------------------------------------------------------------------------------------
// Bearer credentials

Tokens Accounts::issue(const AccountRow& a, const std::string& source, int64_t now) {
  Tokens t;
  t.access_token = random_secret("cha_");
  t.refresh_token = random_secret("chr_");
  t.access_expires_at = now + settings_.access_ttl_s;
  t.refresh_expires_at = now + settings_.refresh_ttl_s;
  int64_t id = r_.accounts.insert_token(a.id, sha256_hex(t.access_token), sha256_hex(t.refresh_token), t.access_expires_at,
                                        t.refresh_expires_at, now, source.substr(0, 128));
  t.caller = caller_of(a, id, source);
  return t;
}

Result<Tokens> Accounts::login(const std::string& name_in, const std::string& password, const std::string& source, int64_t now) {
  std::string name = lower_ascii(name_in.substr(0, 128));
  if (int64_t wait = throttle_login(name, source, now)) {
    throttled_++;
    log::warn("account.login_throttled", {{"name", loggable(name)}, {"source", loggable(source)}, {"wait_s", wait}});
    return no<Tokens>(throttled_refusal(wait));
  }
  std::optional<AccountRow> a;
  {
    sql::Lock lock(r_.db);
    if (valid_name(name)) a = r_.accounts.by_name(name);
  }
  // The hash is checked outside the connection's lock (it takes tens of milliseconds).
  bool ok = false;
  if (a && a->kind == "person" && a->password_hash && password.size() <= kMaxPasswordBytes)
    ok = passwords_.verify(*a->password_hash, password);
  else
    passwords_.verify_dummy(std::string_view(password).substr(0, kMaxPasswordBytes));
  if (!ok) {
    login_failed(name, source, now);
    return Result<Tokens>::no("bad_credentials", "wrong name or password");
  }
  {
    std::lock_guard lock(throttle_mu_);
    logins_.success(name, source);
  }
  if (a->frozen) return Result<Tokens>::no("account_frozen", "this account is frozen");
  std::optional<std::string> rehash;
  if (passwords_.needs_rehash(*a->password_hash)) rehash = passwords_.hash(password);

  sql::Tx tx(r_.db);
  auto cur = r_.accounts.get(a->id);   // frozen, or the password changed, since it was read?
  if (!cur || locked_out(*cur)) return Result<Tokens>::no("account_frozen", "this account is frozen");
  if (cur->password_hash != a->password_hash) return Result<Tokens>::no("bad_credentials", "wrong name or password");
  if (rehash) r_.accounts.set_password(cur->id, *rehash, cur->must_change_password, now);
  r_.accounts.touch_login(cur->id, now);
  cur->last_login_at = now;
  auto t = issue(*cur, source, now);
  tx.commit();
  log::info("account.login", {{"account", cur->name}, {"source", loggable(source)}});
  return Result<Tokens>::ok(std::move(t));
}

Result<Caller> Accounts::authenticate(const std::string& bearer, const std::string& source, int64_t now) {
  // A valid credential is always accepted (checking one is a cheap hash lookup): a stranger guessing
  // from the same address (a carrier NAT, an office) must not lock its holders out. Only unknown ones
  // count against the source and, past the free ones, are answered `throttled` (429) instead.
  auto unknown = [&]() {
    std::lock_guard lock(throttle_mu_);
    failed_keys_++;
    if (int64_t wait = bearers_.check(source.substr(0, 128), now)) {
      throttled_++;
      return no<Caller>(throttled_refusal(wait));
    }
    bearers_.failure(source.substr(0, 128), now);
    log::warn("account.unknown_bearer", {{"source", loggable(source)}});
    return Result<Caller>::no("unauthorized", "unknown or revoked credentials");
  };
  bool access = bearer.starts_with("cha_"), key = bearer.starts_with("chk_");
  if ((!access && !key) || bearer.size() > 256) return unknown();
  std::string h = sha256_hex(bearer);
  sql::Lock lock(r_.db);
  if (access) {
    auto t = r_.accounts.token_by_access(h);
    if (!t) return unknown();
    if (t->revoked_at) return Result<Caller>::no("unauthorized", "unknown or revoked credentials");
    if (now >= t->access_expires_at) return Result<Caller>::no("token_expired", "the access token expired; refresh it");
    auto a = r_.accounts.get(t->account_id);
    if (!a || locked_out(*a)) return Result<Caller>::no("account_frozen", "this account is frozen");
    return Result<Caller>::ok(caller_of(*a, t->id, source));
  }
  auto a = r_.accounts.by_key_hash(h);
  if (!a || a->kind != "service") return unknown();
  if (locked_out(*a)) return Result<Caller>::no("account_frozen", "this key's account is frozen");
  return Result<Caller>::ok(caller_of(*a, 0, source));
}

Result<Tokens> Accounts::refresh(const std::string& refresh_token, const std::string& source, int64_t now) {
  auto unknown = [&]() {
    {
      std::lock_guard lock(throttle_mu_);
      bearers_.failure(source.substr(0, 128), now);
    }
    failed_keys_++;
    log::warn("account.unknown_refresh", {{"source", loggable(source)}});
    return Result<Tokens>::no("unauthorized", "unknown or revoked refresh token");
  };
  {
    std::lock_guard lock(throttle_mu_);
    if (int64_t wait = bearers_.check(source.substr(0, 128), now)) {
      throttled_++;
      return no<Tokens>(throttled_refusal(wait));
    }
  }
  if (!refresh_token.starts_with("chr_") || refresh_token.size() > 256) return unknown();
  std::string h = sha256_hex(refresh_token);
  std::optional<TokenRow> t;
  {
    sql::Lock lock(r_.db);
    t = r_.accounts.token_by_refresh(h);
  }
  if (!t) return unknown();
  if (t->revoked_at) return Result<Tokens>::no("unauthorized", "unknown or revoked refresh token");
  if (now >= t->refresh_expires_at) return Result<Tokens>::no("token_expired", "the refresh token expired; log in again");
  sql::Tx tx(r_.db);
  auto a = r_.accounts.get(t->account_id);
  if (!a || locked_out(*a)) return Result<Tokens>::no("account_frozen", "this account is frozen");
  // Decided by the statement: of two refreshes with the same token, one wins.
  if (!r_.accounts.revoke_token(t->id, now)) return Result<Tokens>::no("unauthorized", "unknown or revoked refresh token");
  auto fresh = issue(*a, source, now);
  tx.commit();
  return Result<Tokens>::ok(std::move(fresh));
}

void Accounts::logout(const Caller& c, int64_t now) {
  if (!c.token_id) return;
  sql::Tx tx(r_.db);
  r_.accounts.revoke_token(c.token_id, now);
  tx.commit();
}

Result<AccountView> Accounts::change_password(const Caller& c, const std::string& old_pw, const std::string& new_pw, int64_t now) {
  using R = Result<AccountView>;
  if (c.kind != Caller::Kind::Person) return R::no("not_a_person", "a service key has no password");
  if (int64_t wait = throttle_login(c.name, c.address, now)) {
    throttled_++;
    return no<AccountView>(throttled_refusal(wait));
  }
  std::optional<AccountRow> a;
  {
    sql::Lock lock(r_.db);
    a = r_.accounts.get(c.account_id);
  }
  if (!a || !a->password_hash) return R::no("account_not_found", "no account with this id");
  if (old_pw.size() > kMaxPasswordBytes || !passwords_.verify(*a->password_hash, old_pw)) {
    login_failed(c.name, c.address, now);
    return R::no("bad_credentials", "the old password is wrong");
  }
  if (auto weak = weak_password(new_pw, a->name, &old_pw)) return no<AccountView>(*weak);
  std::string h = passwords_.hash(new_pw);
  sql::Tx tx(r_.db);
  if (!r_.accounts.set_password(a->id, h, false, now)) return R::no("account_not_found", "no account with this id");
  r_.accounts.revoke_tokens_of(a->id, now);
  auto v = view(*r_.accounts.get(a->id));
  tx.commit();
  log::info("account.password_changed", {{"account", a->name}});
  return R::ok(std::move(v));
}

// ---------------------------------------------------------------------------------------------------
// Management

Result<std::vector<int64_t>> Accounts::resolve_roles(const std::optional<Caller>& by, const std::vector<std::string>& keys) {
  using R = Result<std::vector<int64_t>>;
  std::vector<int64_t> ids;
  for (const auto& k : permissions::normalized(keys)) {
    auto role = r_.accounts.role_by_key(k);
    if (!role || (role->agent_id && (!by || role->agent_id != by->agent_id))) return R::no("unknown_role", "no role '" + k + "'");
    if (by) {
      auto lacking = permissions::missing(by->permissions, r_.accounts.role_permissions(role->id));
      if (!lacking.empty())
        return R::no("role_exceeds", "role '" + k + "' holds permissions you do not have: " + joined(lacking));
    }
    ids.push_back(role->id);
  }
  return R::ok(std::move(ids));
}

Result<AccountView> Accounts::create_account(const std::optional<Caller>& by, const NewAccount& n, int64_t now,
                                             std::optional<int64_t> for_agent) {
  using R = Result<AccountView>;
  if (!valid_name(n.name)) return R::no("bad_name", "a login name is 2 to 64 of a-z 0-9 . _ - @, starting with a letter or digit");
  if (utf8_length(n.display_name) > 64) return R::no("bad_display_name", "a display name has at most 64 characters");
  if (utf8_length(n.phone) > 32) return R::no("bad_phone", "a phone number has at most 32 characters");
  if (auto weak = weak_password(n.initial_password, n.name, nullptr)) return no<AccountView>(*weak);
  {
    sql::Lock lock(r_.db);
    if (r_.accounts.by_name(n.name)) return R::no("name_taken", "an account with this name exists");
    auto roles = resolve_roles(by, n.roles);   // refused before spending a hash
    if (!roles) return no<AccountView>(roles.refusal);
  }
  std::string h = passwords_.hash(n.initial_password);
  sql::Tx tx(r_.db);
  auto roles = resolve_roles(by, n.roles);
  if (!roles) return no<AccountView>(roles.refusal);
  AccountRow a;
  a.name = n.name;
  a.display_name = n.display_name;
  a.phone = n.phone;
  a.kind = "person";
  a.password_hash = h;
  a.agent_id = for_agent ? for_agent : by ? by->agent_id : std::nullopt;
  a.must_change_password = true;
  a.created_at = a.updated_at = now;
  auto id = r_.accounts.insert(a);
  if (!id) return R::no("name_taken", "an account with this name exists");
  r_.accounts.set_roles(*id, *roles);
  auto v = view(*r_.accounts.get(*id));
  tx.commit();
  return R::ok(std::move(v));
}

Result<AccountView> Accounts::create(const Caller& by, const NewAccount& a, int64_t now) { return create_account(by, a, now); }
Result<AccountView> Accounts::create_for_agent(const Caller& by, int64_t agent_id, const NewAccount& a, int64_t now) {
  return create_account(by, a, now, agent_id);
}
Result<AccountView> Accounts::bootstrap_account(const NewAccount& a, int64_t now) { return create_account(std::nullopt, a, now); }

Result<AccountView> Accounts::update(const Caller& by, int64_t id, std::optional<std::string> display_name, std::optional<std::string> phone,
                                     std::optional<std::vector<std::string>> roles, int64_t now) {
  using R = Result<AccountView>;
  if (display_name && utf8_length(*display_name) > 64) return R::no("bad_display_name", "a display name has at most 64 characters");
  if (phone && utf8_length(*phone) > 32) return R::no("bad_phone", "a phone number has at most 32 characters");
  sql::Tx tx(r_.db);
  auto a = r_.accounts.get(id);
  if (!a || !visible(by, *a)) return R::no("account_not_found", "no account with this id");
  auto lacking = permissions::missing(by.permissions, r_.accounts.permissions(id));
  if (!lacking.empty()) return R::no("account_exceeds", "this account holds permissions you do not have: " + joined(lacking));
  if (roles) {
    auto ids = resolve_roles(by, *roles);
    if (!ids) return no<AccountView>(ids.refusal);
    auto before = r_.accounts.permissions(id);
    r_.accounts.set_roles(id, *ids);
    // Nobody takes his own permissions away (the last platform administrator would lock everyone out).
    if (id == by.account_id && !permissions::missing(r_.accounts.permissions(id), before).empty())
      return R::no("cannot_demote_self", "nobody takes permissions from their own account");
  }
  r_.accounts.update_profile(id, display_name, phone, now);
  auto v = view(*r_.accounts.get(id));
  tx.commit();
  return R::ok(std::move(v));
}

Result<AccountView> Accounts::set_frozen(const Caller& by, int64_t id, bool frozen, int64_t now) {
  using R = Result<AccountView>;
  sql::Tx tx(r_.db);
  auto a = r_.accounts.get(id);
  if (!a || !visible(by, *a)) return R::no("account_not_found", "no account with this id");
  if (frozen && id == by.account_id) return R::no("cannot_freeze_self", "nobody freezes their own account");
  auto lacking = permissions::missing(by.permissions, r_.accounts.permissions(id));
  if (!lacking.empty()) return R::no("account_exceeds", "this account holds permissions you do not have: " + joined(lacking));
  r_.accounts.set_frozen(id, frozen, now);
  if (frozen) r_.accounts.revoke_tokens_of(id, now);
  auto v = view(*r_.accounts.get(id));
  tx.commit();
  return R::ok(std::move(v));
}

Result<AccountView> Accounts::reset_password(const Caller& by, int64_t id, const std::string& initial_password, int64_t now) {
  using R = Result<AccountView>;
  std::optional<AccountRow> a;
  {
    sql::Lock lock(r_.db);
    a = r_.accounts.get(id);
    if (!a || !visible(by, *a)) return R::no("account_not_found", "no account with this id");
    if (a->kind != "person") return R::no("not_a_person", "a service key's account has no password");
    // A stolen token must not set a new password without the old one: one's own goes through change_password.
    if (id == by.account_id) return R::no("cannot_reset_self", "change your own password with the old one instead");
    auto lacking = permissions::missing(by.permissions, r_.accounts.permissions(id));
    if (!lacking.empty()) return R::no("account_exceeds", "this account holds permissions you do not have: " + joined(lacking));
  }
  if (auto weak = weak_password(initial_password, a->name, nullptr)) return no<AccountView>(*weak);
  std::string h = passwords_.hash(initial_password);
  sql::Tx tx(r_.db);
  if (!r_.accounts.set_password(id, h, true, now)) return R::no("account_not_found", "no account with this id");
  r_.accounts.revoke_tokens_of(id, now);
  auto v = view(*r_.accounts.get(id));
  tx.commit();
  return R::ok(std::move(v));
}

std::optional<AccountView> Accounts::get(const Caller& by, int64_t id) {
  sql::Lock lock(r_.db);
  auto a = r_.accounts.get(id);
  if (!a || !visible(by, *a)) return std::nullopt;
  return view(*a);
}

Page<AccountView> Accounts::list(const Caller& by, const AccountFilter& f, const PageRequest& p) {
  sql::Lock lock(r_.db);
  auto rows = r_.accounts.list(AccountQuery{f.q, f.role, f.frozen, f.kind, by.agent_id}, p);
  Page<AccountView> out;
  out.total = rows.total;
  for (const auto& a : rows.items) out.items.push_back(view(a));
  return out;
}

// ---------------------------------------------------------------------------------------------------
// Roles

std::vector<RoleView> Accounts::roles(const Caller& by) {
  sql::Lock lock(r_.db);
  std::vector<RoleView> out;
  for (const auto& r : r_.accounts.roles(by.agent_id)) out.push_back(role_view(r));
  return out;
}

std::optional<RoleView> Accounts::role(const Caller& by, int64_t id) {
  sql::Lock lock(r_.db);
  auto r = r_.accounts.role(id);
  if (!r || (r->agent_id && r->agent_id != by.agent_id)) return std::nullopt;
  return role_view(*r);
}

namespace {
std::optional<Refusal> check_grant(const Caller& by, const std::vector<std::string>& perms) {
  auto bad = permissions::unknown(perms);
  if (!bad.empty()) return Refusal{"unknown_permission", "no such permission: " + joined(bad)};
  auto lacking = permissions::missing(by.permissions, perms);
  if (!lacking.empty()) return Refusal{"permission_exceeds", "you cannot grant permissions you do not have: " + joined(lacking)};
  return std::nullopt;
}
bool valid_role_name(const std::string& n) { return utf8_length(n) >= 1 && utf8_length(n) <= 64; }
}  // namespace

Result<RoleView> Accounts::create_role(const Caller& by, const std::string& key, const std::string& name,
                                       const std::vector<std::string>& perms_in, int64_t) {
  using R = Result<RoleView>;
  if (!valid_role_key(key)) return R::no("bad_key", "a role key is 2 to 40 of a-z 0-9 _, starting with a letter");
  if (!valid_role_name(name)) return R::no("bad_role_name", "a role name has 1 to 64 characters");
  auto perms = permissions::normalized(perms_in);
  if (auto r = check_grant(by, perms)) return no<RoleView>(*r);
  sql::Tx tx(r_.db);
  auto id = r_.accounts.insert_role(RoleRow{0, key, name, false, by.agent_id});
  if (!id) return R::no("role_taken", "a role with this key exists");
  r_.accounts.set_role_permissions(*id, perms);
  auto v = role_view(*r_.accounts.role(*id));
  tx.commit();
  return R::ok(std::move(v));
}

Result<RoleView> Accounts::update_role(const Caller& by, int64_t id, std::optional<std::string> name,
                                       std::optional<std::vector<std::string>> perms_in, int64_t) {
  using R = Result<RoleView>;
  sql::Tx tx(r_.db);
  auto r = r_.accounts.role(id);
  if (!r || (r->agent_id && r->agent_id != by.agent_id)) return R::no("role_not_found", "no role with this id");
  if (r->builtin) return R::no("role_builtin", "built-in roles cannot be changed");
  if (r->agent_id != by.agent_id) return R::no("role_not_owned", "only the platform changes platform roles");
  auto lacking = permissions::missing(by.permissions, r_.accounts.role_permissions(id));
  if (!lacking.empty()) return R::no("role_exceeds", "this role holds permissions you do not have: " + joined(lacking));
  if (name) {
    if (!valid_role_name(*name)) return R::no("bad_role_name", "a role name has 1 to 64 characters");
    r_.accounts.rename_role(id, *name);
  }
  if (perms_in) {
    auto perms = permissions::normalized(*perms_in);
    if (auto refusal = check_grant(by, perms)) return no<RoleView>(*refusal);
    r_.accounts.set_role_permissions(id, perms);
  }
  auto v = role_view(*r_.accounts.role(id));
  tx.commit();
  return R::ok(std::move(v));
}

Result<RoleView> Accounts::delete_role(const Caller& by, int64_t id) {
  using R = Result<RoleView>;
  sql::Tx tx(r_.db);
  auto r = r_.accounts.role(id);
  if (!r || (r->agent_id && r->agent_id != by.agent_id)) return R::no("role_not_found", "no role with this id");
  if (r->builtin) return R::no("role_builtin", "built-in roles cannot be deleted");
  if (r->agent_id != by.agent_id) return R::no("role_not_owned", "only the platform deletes platform roles");
  if (r_.accounts.role_holders(id) > 0) return R::no("role_in_use", "accounts hold this role; take it from them first");
  auto v = role_view(*r);
  r_.accounts.delete_role(id);
  tx.commit();
  return R::ok(std::move(v));
}

void Accounts::ensure_builtin_roles() {
  sql::Tx tx(r_.db);
  for (const auto& b : permissions::builtin_roles()) {
    int64_t id = r_.accounts.upsert_builtin_role(std::string(b.key), std::string(b.name));
    if (r_.accounts.role_permissions(id) != b.permissions) r_.accounts.set_role_permissions(id, b.permissions);
  }
  tx.commit();
}

// ---------------------------------------------------------------------------------------------------
// Service keys

Result<NewKey> Accounts::create_service(const std::optional<Caller>& by, const std::string& name, const std::vector<std::string>& roles,
                                        int64_t now) {
  using R = Result<NewKey>;
  if (!valid_name(name)) return R::no("bad_name", "a key name is 2 to 64 of a-z 0-9 . _ - @, starting with a letter or digit");
  sql::Tx tx(r_.db);
  auto ids = resolve_roles(by, roles);
  if (!ids) return no<NewKey>(ids.refusal);
  NewKey k;
  k.secret = random_secret("chk_");
  AccountRow a;
  a.name = name;
  a.kind = "service";
  a.key_hash = sha256_hex(k.secret);
  a.key_prefix = k.secret.substr(0, 10);
  a.agent_id = by ? by->agent_id : std::nullopt;
  a.created_at = a.updated_at = now;
  auto id = r_.accounts.insert(a);
  if (!id) return R::no("name_taken", "an account with this name exists");
  r_.accounts.set_roles(*id, *ids);
  k.account = view(*r_.accounts.get(*id));
  tx.commit();
  return R::ok(std::move(k));
}

Result<NewKey> Accounts::create_key(const Caller& by, const std::string& name, const std::vector<std::string>& roles, int64_t now) {
  return create_service(by, name, roles, now);
}
Result<NewKey> Accounts::bootstrap_key(const std::string& name, const std::vector<std::string>& roles, int64_t now) {
  return create_service(std::nullopt, name, roles, now);
}

Result<AccountView> Accounts::revoke_key(const Caller& by, int64_t account_id, int64_t now) {
  using R = Result<AccountView>;
  sql::Tx tx(r_.db);
  auto a = r_.accounts.get(account_id);
  if (!a || !visible(by, *a)) return R::no("account_not_found", "no account with this id");
  if (a->kind != "service") return R::no("not_a_service_key", "this account is a person's, not a service key");
  auto lacking = permissions::missing(by.permissions, r_.accounts.permissions(account_id));
  if (!lacking.empty()) return R::no("account_exceeds", "this key holds permissions you do not have: " + joined(lacking));
  r_.accounts.clear_key(account_id, now);
  auto v = view(*r_.accounts.get(account_id));
  tx.commit();
  return R::ok(std::move(v));
}

int64_t Accounts::purge_tokens(int64_t before) {
  sql::Tx tx(r_.db);
  int64_t n = r_.accounts.delete_tokens_expired_before(before);
  tx.commit();
  return n;
}

}  // namespace chargehub::core
