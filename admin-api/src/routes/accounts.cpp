// Logging in and out, tokens, the caller's own account and menu; accounts, roles, service keys and the
// audit log (docs/accounts.md).
#include "chargehub/permissions.hpp"
#include "routes/routes.hpp"
#include "routes/views.hpp"

namespace chargehub::api {

namespace {

struct LoginBody {
  std::string name, password;
};
BOOST_DESCRIBE_STRUCT(LoginBody, (), (name, password))

struct RefreshBody {
  std::string refresh_token;
};
BOOST_DESCRIBE_STRUCT(RefreshBody, (), (refresh_token))

struct PasswordBody {
  std::string old_password, new_password;
};
BOOST_DESCRIBE_STRUCT(PasswordBody, (), (old_password, new_password))

struct TokensView {
  std::string access_token, refresh_token, token_type;
  int64_t access_expires_at, refresh_expires_at;
  AccountView account;
  std::vector<std::string> permissions;
  bool must_change_password;
};
BOOST_DESCRIBE_STRUCT(TokensView, (), (access_token, refresh_token, token_type, access_expires_at, refresh_expires_at, account, permissions,
                                       must_change_password))

struct MenuView {
  std::string key, title, path, permission;
  json::array children;   // more MenuViews (an array, so that the schema does not recurse)
};
BOOST_DESCRIBE_STRUCT(MenuView, (), (key, title, path, permission, children))

struct MeView {
  std::string kind, name, actor;
  std::optional<int64_t> account_id, agent_id;
  std::vector<std::string> permissions;
  bool must_change_password;
  std::vector<MenuView> menu;
};
BOOST_DESCRIBE_STRUCT(MeView, (), (kind, name, actor, account_id, agent_id, permissions, must_change_password, menu))

struct NewAccountBody {
  std::string name;
  optional<std::string> display_name, phone;
  std::vector<std::string> roles;
  std::string initial_password;
};
BOOST_DESCRIBE_STRUCT(NewAccountBody, (), (name, display_name, phone, roles, initial_password))

struct EditAccountBody {
  optional<std::string> display_name, phone;
  optional<std::vector<std::string>> roles;
};
BOOST_DESCRIBE_STRUCT(EditAccountBody, (), (display_name, phone, roles))

struct ResetPasswordBody {
  std::string initial_password;
};
BOOST_DESCRIBE_STRUCT(ResetPasswordBody, (), (initial_password))

struct NewRoleBody {
  std::string key, name;
  std::vector<std::string> permissions;
};
BOOST_DESCRIBE_STRUCT(NewRoleBody, (), (key, name, permissions))

struct EditRoleBody {
  optional<std::string> name;
  optional<std::vector<std::string>> permissions;
};
BOOST_DESCRIBE_STRUCT(EditRoleBody, (), (name, permissions))

struct NewKeyBody {
  std::string name;
  std::vector<std::string> roles;
};
BOOST_DESCRIBE_STRUCT(NewKeyBody, (), (name, roles))

struct NewKeyView {
  AccountView account;
  std::string key;   // shown once
};
BOOST_DESCRIBE_STRUCT(NewKeyView, (), (account, key))

struct PermissionView {
  std::string key, menu, title;
};
BOOST_DESCRIBE_STRUCT(PermissionView, (), (key, menu, title))

MenuView menu_view(const permissions::Menu& m) {
  MenuView v{m.key, m.title, m.path, m.permission, {}};
  for (auto& c : m.children) v.children.push_back(json::value_from(menu_view(c)));
  return v;
}

TokensView tokens_view(core::App& app, const core::Tokens& t) {
  auto acc = app.accounts.get(t.caller, t.caller.account_id);
  return TokensView{t.access_token, t.refresh_token, "Bearer", t.access_expires_at, t.refresh_expires_at,
                    acc ? account_view(*acc) : AccountView{}, t.caller.permissions, t.caller.must_change_password};
}

std::optional<json::value> account_snapshot(Ctx& c, const std::string& id) {
  auto a = c.app.accounts.get(c.caller, std::stoll(id));
  if (!a) return std::nullopt;
  return json::value_from(account_view(*a));
}
std::optional<json::value> role_snapshot(Ctx& c, const std::string& id) {
  auto r = c.app.accounts.role(c.caller, std::stoll(id));
  if (!r) return std::nullopt;
  return json::value_from(role_view(*r));
}

}  // namespace

std::vector<Route> account_routes() {
  std::vector<Route> r;
  // ---- logging in ----
  r.push_back(Route{"POST", "/api/v1/auth/login", "", Scope::Public, "Log in with an account name and password",
                    [](Ctx& c) {
                      auto b = c.body<LoginBody>();
                      need(b.name.size() <= 64 && b.password.size() <= 256, "bad_credentials", "name", "wrong name or password");
                      auto t = c.app.accounts.login(b.name, b.password, c.address, c.now);
                      if (!t) return refuse(t.refusal);
                      return ok(json::value_from(tokens_view(c.app, *t)));
                    }}
                  .with_request<LoginBody>()
                  .with_response<TokensView>()
                  .may_refuse({"bad_credentials", "throttled", "account_frozen"}));
  r.push_back(Route{"POST", "/api/v1/auth/refresh", "", Scope::Public, "A new token pair for a refresh token (the old pair is revoked)",
                    [](Ctx& c) {
                      auto b = c.body<RefreshBody>();
                      auto t = c.app.accounts.refresh(b.refresh_token, c.address, c.now);
                      if (!t) return refuse(t.refusal);
                      return ok(json::value_from(tokens_view(c.app, *t)));
                    }}
                  .with_request<RefreshBody>()
                  .with_response<TokensView>()
                  .may_refuse({"unauthorized", "token_expired", "account_frozen", "throttled"}));
  r.push_back(Route{"POST", "/api/v1/auth/logout", "", Scope::Self, "Revoke the token used",
                    [](Ctx& c) {
                      c.app.accounts.logout(c.caller, c.now);
                      return ok(json::object{{"ok", true}});
                    }}
                  .initial());
  r.push_back(Route{"POST", "/api/v1/auth/password", "", Scope::Self, "Change one's own password (every token is revoked)",
                    [](Ctx& c) {
                      auto b = c.body<PasswordBody>();
                      c.audit_target = std::to_string(c.caller.account_id);
                      return result(c.app.accounts.change_password(c.caller, b.old_password, b.new_password, c.now), 200, account_view);
                    }}
                  .with_request<PasswordBody>()
                  .with_response<AccountView>()
                  .may_refuse({"bad_credentials", "weak_password", "throttled", "not_a_person"})
                  .initial()
                  .audited("account.password", "account"));
  r.push_back(Route{"GET", "/api/v1/me", "", Scope::Self, "Who I am: permissions and the menu tree a console draws",
                    [](Ctx& c) {
                      MeView v;
                      v.kind = c.caller.kind == core::Caller::Kind::Person ? "person" : "service";
                      v.name = c.caller.name;
                      v.actor = c.caller.actor();
                      if (c.caller.account_id) v.account_id = c.caller.account_id;
                      v.agent_id = c.caller.agent_id;
                      v.permissions = c.caller.permissions;
                      v.must_change_password = c.caller.must_change_password;
                      for (auto& m : permissions::visible_menus(c.caller.permissions)) v.menu.push_back(menu_view(m));
                      return ok(json::value_from(v));
                    }}
                  .with_response<MeView>()
                  .initial());
  r.push_back(Route{"GET", "/api/v1/permissions", "roles.view", Scope::Platform, "The permission catalogue",
                    [](Ctx&) {
                      std::vector<PermissionView> all;
                      for (auto& p : permissions::catalogue()) all.push_back(PermissionView{std::string(p.key), std::string(p.menu), std::string(p.title)});
                      return ok(json::object{{"items", json::value_from(all)}});
                    }});

  // ---- accounts ----
  r.push_back(Route{"GET", "/api/v1/accounts", "accounts.view", Scope::Platform, "List accounts",
                    [](Ctx& c) {
                      core::AccountFilter f;
                      f.q = c.query("q");
                      f.role = c.query("role");
                      f.frozen = c.query_bool("frozen");
                      f.kind = c.query("kind");
                      auto p = c.page({"id", "name", "created_at", "last_login_at"});
                      return ok(page_json(c.app.accounts.list(c.caller, f, p), p, account_view));
                    }}
                  .with_page<AccountView>()
                  .with_query({"q", "role", "frozen", "kind"}));
  r.push_back(Route{"POST", "/api/v1/accounts", "accounts.manage", Scope::Platform, "Create an operator account (the password must be changed at first login)",
                    [](Ctx& c) {
                      auto b = c.body<NewAccountBody>();
                      core::NewAccount a{b.name, b.display_name.value_or(""), b.phone.value_or(""), b.roles, b.initial_password};
                      return result(c.app.accounts.create(c.caller, a, c.now), 201, account_view);
                    }}
                  .with_request<NewAccountBody>()
                  .with_response<AccountView>()
                  .answers(201)
                  .may_refuse({"bad_name", "name_taken", "weak_password", "unknown_role", "role_exceeds"})
                  .audited("account.create", "account"));
  r.push_back(Route{"GET", "/api/v1/accounts/{id}", "accounts.view", Scope::Platform, "An account",
                    [](Ctx& c) {
                      auto a = c.app.accounts.get(c.caller, c.id("id"));
                      if (!a) return fail(404, "account_not_found", "no account with this id");
                      return ok(json::value_from(account_view(*a)));
                    }}
                  .with_response<AccountView>()
                  .may_refuse({"account_not_found"}));
  r.push_back(Route{"PATCH", "/api/v1/accounts/{id}", "accounts.manage", Scope::Platform, "Edit an account's name, phone or roles",
                    [](Ctx& c) {
                      auto b = c.body<EditAccountBody>();
                      return result(c.app.accounts.update(c.caller, c.id("id"), b.display_name, b.phone, b.roles, c.now), 200, account_view);
                    }}
                  .with_request<EditAccountBody>()
                  .with_response<AccountView>()
                  .may_refuse({"account_not_found", "account_exceeds", "unknown_role", "role_exceeds"})
                  .audited("account.update", "account", "id", account_snapshot));
  for (bool freeze : {true, false}) {
    r.push_back(Route{"POST", freeze ? "/api/v1/accounts/{id}/freeze" : "/api/v1/accounts/{id}/unfreeze", "accounts.manage", Scope::Platform,
                      freeze ? "Freeze an account (its tokens are revoked)" : "Unfreeze an account",
                      [freeze](Ctx& c) { return result(c.app.accounts.set_frozen(c.caller, c.id("id"), freeze, c.now), 200, account_view); }}
                    .with_response<AccountView>()
                    .may_refuse({"account_not_found", "cannot_freeze_self", "account_exceeds"})
                    .audited(freeze ? "account.freeze" : "account.unfreeze", "account", "id", account_snapshot));
  }
  r.push_back(Route{"POST", "/api/v1/accounts/{id}/password", "accounts.manage", Scope::Platform,
                    "Reset an account's password (to be changed at its next login)",
                    [](Ctx& c) {
                      auto b = c.body<ResetPasswordBody>();
                      return result(c.app.accounts.reset_password(c.caller, c.id("id"), b.initial_password, c.now), 200, account_view);
                    }}
                  .with_request<ResetPasswordBody>()
                  .with_response<AccountView>()
                  .may_refuse({"account_not_found", "account_exceeds", "not_a_person", "weak_password"})
                  .audited("account.password_reset", "account", "id", account_snapshot));

  // ---- roles ----
  r.push_back(Route{"GET", "/api/v1/roles", "roles.view", Scope::Platform, "Roles (built-in and own)",
                    [](Ctx& c) {
                      auto p = c.page({});
                      return ok(page_json(page_of(c.app.accounts.roles(c.caller), p), p, role_view));
                    }}
                  .with_page<RoleView>());
  r.push_back(Route{"POST", "/api/v1/roles", "roles.manage", Scope::Platform, "Create a role (only permissions the creator holds)",
                    [](Ctx& c) {
                      auto b = c.body<NewRoleBody>();
                      return result(c.app.accounts.create_role(c.caller, b.key, b.name, b.permissions, c.now), 201, role_view);
                    }}
                  .with_request<NewRoleBody>()
                  .with_response<RoleView>()
                  .answers(201)
                  .may_refuse({"bad_key", "bad_role_name", "unknown_permission", "permission_exceeds", "role_taken"})
                  .audited("role.create", "role"));
  r.push_back(Route{"PATCH", "/api/v1/roles/{id}", "roles.manage", Scope::Platform, "Rename a role or change its permissions",
                    [](Ctx& c) {
                      auto b = c.body<EditRoleBody>();
                      return result(c.app.accounts.update_role(c.caller, c.id("id"), b.name, b.permissions, c.now), 200, role_view);
                    }}
                  .with_request<EditRoleBody>()
                  .with_response<RoleView>()
                  .may_refuse({"role_not_found", "role_builtin", "role_exceeds", "bad_role_name", "unknown_permission", "permission_exceeds"})
                  .audited("role.update", "role", "id", role_snapshot));
  r.push_back(Route{"DELETE", "/api/v1/roles/{id}", "roles.manage", Scope::Platform, "Delete a role nobody holds",
                    [](Ctx& c) { return result(c.app.accounts.delete_role(c.caller, c.id("id")), 200, role_view); }}
                  .with_response<RoleView>()
                  .may_refuse({"role_not_found", "role_builtin", "role_in_use"})
                  .audited("role.delete", "role", "id", role_snapshot));

  // ---- service keys ----
  r.push_back(Route{"POST", "/api/v1/keys", "keys.manage", Scope::Platform, "Create a service key (shown once) with roles",
                    [](Ctx& c) {
                      auto b = c.body<NewKeyBody>();
                      auto k = c.app.accounts.create_key(c.caller, b.name, b.roles, c.now);
                      if (!k) return refuse(k.refusal);
                      c.audit_target = std::to_string(k.value->account.id);
                      return ok(json::value_from(NewKeyView{account_view(k.value->account), k.value->secret}), 201);
                    }}
                  .with_request<NewKeyBody>()
                  .with_response<NewKeyView>()
                  .answers(201)
                  .may_refuse({"bad_name", "name_taken", "unknown_role", "role_exceeds"})
                  .audited("key.create", "account"));
  r.push_back(Route{"POST", "/api/v1/keys/{id}/revoke", "keys.manage", Scope::Platform, "Revoke a service key (its account stays, frozen)",
                    [](Ctx& c) { return result(c.app.accounts.revoke_key(c.caller, c.id("id"), c.now), 200, account_view); }}
                  .with_response<AccountView>()
                  .may_refuse({"account_not_found", "not_a_service_key", "account_exceeds"})
                  .audited("key.revoke", "account", "id", account_snapshot));

  // ---- the audit log ----
  r.push_back(Route{"GET", "/api/v1/audit", "audit.view", Scope::Platform, "The audit log, newest first",
                    [](Ctx& c) {
                      core::AuditFilter f;
                      f.account_id = c.query_int("account_id", 1, INT64_MAX);
                      f.action = c.query("action");
                      f.target_type = c.query("target_type");
                      f.target_id = c.query("target_id");
                      f.from = c.query_int("from", 0, INT64_MAX);
                      f.to = c.query_int("to", 0, INT64_MAX);
                      auto p = c.page({"id", "at"});
                      return ok(page_json(c.app.audit.list(c.scope(), f, p), p, audit_view));
                    }}
                  .with_page<AuditView>()
                  .with_query({"account_id", "action", "target_type", "target_id", "from", "to"}));
  return r;
}

}  // namespace chargehub::api
