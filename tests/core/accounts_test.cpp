// Operator accounts and the audit log on a real database, each test on SQLite and on PostgreSQL: logins,
// tokens (expiry, refresh rotation, logout, revocation), the throttle, roles without escalation, service
// keys, the built-in roles, the append-only audit log with redaction, filters and paging.
#include <gtest/gtest.h>
#include <sodium.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <cstdio>

#include "app/app.hpp"
#include "chargehub/permissions.hpp"
#include "db/db.hpp"
#include "pg.hpp"
#include "testsupport.hpp"

using namespace chargehub;
using namespace chargehub::core;
using chargehub::testing::TempDir;
namespace json = boost::json;

namespace {
constexpr int64_t T0 = 1795500000;
const std::string kAdminPw = "初始密码-admin-1";

AccountSettings cheap() {
  AccountSettings s;
  s.hash_opslimit = crypto_pwhash_OPSLIMIT_MIN;
  s.hash_memlimit = crypto_pwhash_MEMLIMIT_MIN;
  return s;
}

struct AccountsTest : ::testing::TestWithParam<sql::Dialect> {
  TempDir dir{"core-accounts"};
  std::string url;
  std::unique_ptr<sql::Db> db;
  std::unique_ptr<App> app;
  uint64_t reading_commits = sql::commits_while_reading();

  void SetUp() override {
    url = GetParam() == sql::Dialect::Sqlite ? "sqlite://" + (dir / "core.db").string() : chargehub::testing::fresh_database_url();
    reopen();
  }
  void reopen(AccountSettings s = cheap()) {
    app.reset();
    db.reset();
    db = sql::open(url);
    app = std::make_unique<App>(*db, s);
  }
  // No operation may commit while one of its lookups is still stepping (the WAL would stop checkpointing).
  void TearDown() override { EXPECT_EQ(sql::commits_while_reading(), reading_commits); }
  Accounts& acc() { return app->accounts; }

  // The platform administrator, bootstrapped and logged in with the password changed.
  Caller admin() {
    auto a = acc().bootstrap_account(NewAccount{"admin", "管理员", "", {"platform_admin"}, kAdminPw}, T0);
    if (!a) EXPECT_EQ(a.refusal.code, "name_taken");
    auto t = acc().login("admin", kAdminPw, "10.0.0.1", T0);
    EXPECT_TRUE(t) << t.refusal.code;
    if (t->caller.must_change_password) {
      auto c = acc().change_password(t->caller, kAdminPw, kAdminPw + "-new", T0);
      EXPECT_TRUE(c) << c.refusal.code;
    }
    return login("admin", kAdminPw + "-new", "10.0.0.1", T0).caller;
  }
  static Caller system_caller() {
    Caller c;
    c.permissions = permissions::all_keys();
    return c;
  }
  Tokens login(const std::string& name, const std::string& pw, const std::string& source, int64_t now) {
    auto t = acc().login(name, pw, source, now);
    EXPECT_TRUE(t) << t.refusal.code;
    return t ? *t : Tokens{};
  }
  // An account made by `by` with these roles, its initial password changed to `pw`.
  Caller person(const Caller& by, const std::string& name, std::vector<std::string> roles, const std::string& pw = "secret-pass-9") {
    auto a = acc().create(by, NewAccount{name, "张三", "13800000000", std::move(roles), "initial-pass-1"}, T0);
    EXPECT_TRUE(a) << a.refusal.code;
    auto t = login(name, "initial-pass-1", "10.0.0.2", T0);
    EXPECT_TRUE(t.caller.must_change_password);
    EXPECT_TRUE(acc().change_password(t.caller, "initial-pass-1", pw, T0));
    return login(name, pw, "10.0.0.2", T0).caller;
  }
};

std::string backend_name(const ::testing::TestParamInfo<sql::Dialect>& i) {
  return i.param == sql::Dialect::Sqlite ? "Sqlite" : "Postgres";
}
}  // namespace

// --- Logins and tokens ------------------------------------------------------------------------------

TEST_P(AccountsTest, LoginIssuesTokensThatAuthenticate) {
  ASSERT_TRUE(acc().bootstrap_account(NewAccount{"admin", "管理员", "", {"platform_admin"}, kAdminPw}, T0));
  auto t = acc().login("admin", kAdminPw, "10.0.0.1", T0);
  ASSERT_TRUE(t) << t.refusal.code;
  EXPECT_TRUE(t->access_token.starts_with("cha_"));
  EXPECT_TRUE(t->refresh_token.starts_with("chr_"));
  EXPECT_EQ(t->access_token.size(), 4u + 43u);
  EXPECT_EQ(t->access_expires_at, T0 + 2 * 3600);
  EXPECT_EQ(t->refresh_expires_at, T0 + 14 * 86400);
  auto c = acc().authenticate(t->access_token, "10.0.0.1", T0 + 60);
  ASSERT_TRUE(c) << c.refusal.code;
  EXPECT_EQ(c->kind, Caller::Kind::Person);
  EXPECT_EQ(c->name, "admin");
  EXPECT_EQ(c->actor(), "account:admin");
  EXPECT_EQ(c->permissions, permissions::all_keys());
  EXPECT_TRUE(c->can("finance.withdrawals.approve"));
  EXPECT_FALSE(c->can("devices.fly"));
  EXPECT_FALSE(c->agent_id);
  EXPECT_TRUE(c->must_change_password);
  EXPECT_EQ(c->token_id, t->caller.token_id);
  EXPECT_EQ(c->address, "10.0.0.1");
  // Names are case-insensitive at login.
  EXPECT_TRUE(acc().login("Admin", kAdminPw, "10.0.0.1", T0));
  // Only hashes are stored.
  auto st = db->prepare("SELECT count(*) FROM auth_token WHERE access_hash = ? OR refresh_hash = ?");
  st.args(t->access_token, t->refresh_token);
  ASSERT_TRUE(st.step());
  EXPECT_EQ(st.i64(0), 0);
  st.run();
  auto a = acc().get(*c, c->account_id);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->last_login_at, T0);
  EXPECT_EQ(a->roles, std::vector<std::string>{"platform_admin"});
}

TEST_P(AccountsTest, WrongPasswordAndUnknownNameGetTheSameRefusal) {
  ASSERT_TRUE(acc().bootstrap_account(NewAccount{"admin", "", "", {"platform_admin"}, kAdminPw}, T0));
  auto wrong = acc().login("admin", "not-the-password", "10.0.0.1", T0);
  auto unknown = acc().login("nobody", kAdminPw, "10.0.0.1", T0);
  auto bad_name = acc().login("名字\n", kAdminPw, "10.0.0.1", T0);
  ASSERT_FALSE(wrong);
  ASSERT_FALSE(unknown);
  ASSERT_FALSE(bad_name);
  EXPECT_EQ(wrong.refusal.code, "bad_credentials");
  EXPECT_EQ(unknown.refusal.code, wrong.refusal.code);
  EXPECT_EQ(unknown.refusal.message, wrong.refusal.message);
  EXPECT_EQ(bad_name.refusal.code, wrong.refusal.code);
  EXPECT_EQ(acc().failed_logins(), 3u);
}

TEST_P(AccountsTest, TheInitialPasswordMustBeChanged) {
  ASSERT_TRUE(acc().bootstrap_account(NewAccount{"admin", "", "", {"platform_admin"}, kAdminPw}, T0));
  auto t = login("admin", kAdminPw, "10.0.0.1", T0);
  ASSERT_TRUE(t.caller.must_change_password);
  EXPECT_EQ(acc().change_password(t.caller, "wrong-old-pw", "brand-new-pw", T0).refusal.code, "bad_credentials");
  EXPECT_EQ(acc().change_password(t.caller, kAdminPw, "short", T0).refusal.code, "weak_password");
  EXPECT_EQ(acc().change_password(t.caller, kAdminPw, "ADMIN", T0).refusal.code, "weak_password");
  EXPECT_EQ(acc().change_password(t.caller, kAdminPw, kAdminPw, T0).refusal.code, "weak_password");
  EXPECT_EQ(acc().change_password(t.caller, kAdminPw, std::string(129, 'x'), T0).refusal.code, "weak_password");
  auto v = acc().change_password(t.caller, kAdminPw, "充电桩密码好", T0);   // 6 characters: too short
  EXPECT_EQ(v.refusal.code, "weak_password");
  v = acc().change_password(t.caller, kAdminPw, "充电桩的新密码很长", T0);
  ASSERT_TRUE(v) << v.refusal.code;
  EXPECT_FALSE(v->must_change_password);
  // Every token of the account is revoked: log in again.
  EXPECT_EQ(acc().authenticate(t.access_token, "10.0.0.1", T0).refusal.code, "unauthorized");
  EXPECT_EQ(acc().refresh(t.refresh_token, "10.0.0.1", T0).refusal.code, "unauthorized");
  EXPECT_EQ(acc().login("admin", kAdminPw, "10.0.0.1", T0).refusal.code, "bad_credentials");
  auto again = login("admin", "充电桩的新密码很长", "10.0.0.1", T0);
  EXPECT_FALSE(again.caller.must_change_password);
}

TEST_P(AccountsTest, AccessTokensExpire) {
  admin();
  auto t = login("admin", kAdminPw + "-new", "10.0.0.1", T0);
  EXPECT_TRUE(acc().authenticate(t.access_token, "10.0.0.1", t.access_expires_at - 1));
  EXPECT_EQ(acc().authenticate(t.access_token, "10.0.0.1", t.access_expires_at).refusal.code, "token_expired");
  auto r = acc().refresh(t.refresh_token, "10.0.0.1", t.access_expires_at);
  ASSERT_TRUE(r) << r.refusal.code;
  EXPECT_TRUE(acc().authenticate(r->access_token, "10.0.0.1", t.access_expires_at));
  // A refresh token expires too.
  EXPECT_EQ(acc().refresh(r->refresh_token, "10.0.0.1", r->refresh_expires_at).refusal.code, "token_expired");
  EXPECT_EQ(acc().failed_keys(), 0u);   // expired is not unknown
}

TEST_P(AccountsTest, RefreshRotatesThePair) {
  admin();
  auto t = login("admin", kAdminPw + "-new", "10.0.0.1", T0);
  auto r = acc().refresh(t.refresh_token, "10.0.0.9", T0 + 100);
  ASSERT_TRUE(r) << r.refusal.code;
  EXPECT_NE(r->access_token, t.access_token);
  EXPECT_NE(r->refresh_token, t.refresh_token);
  EXPECT_EQ(r->access_expires_at, T0 + 100 + 2 * 3600);
  EXPECT_EQ(r->caller.address, "10.0.0.9");
  EXPECT_EQ(acc().refresh(t.refresh_token, "10.0.0.1", T0 + 101).refusal.code, "unauthorized");
  EXPECT_EQ(acc().authenticate(t.access_token, "10.0.0.1", T0 + 101).refusal.code, "unauthorized");
  EXPECT_TRUE(acc().authenticate(r->access_token, "10.0.0.9", T0 + 101));
  EXPECT_TRUE(acc().refresh(r->refresh_token, "10.0.0.9", T0 + 102));
  // An access token is not a refresh token.
  EXPECT_EQ(acc().refresh(r->access_token, "10.0.0.9", T0 + 102).refusal.code, "unauthorized");
}

TEST_P(AccountsTest, LogoutRevokesTheToken) {
  admin();
  auto t1 = login("admin", kAdminPw + "-new", "10.0.0.1", T0);
  auto t2 = login("admin", kAdminPw + "-new", "10.0.0.1", T0);
  auto c = acc().authenticate(t1.access_token, "10.0.0.1", T0);
  ASSERT_TRUE(c);
  acc().logout(*c, T0 + 1);
  EXPECT_EQ(acc().authenticate(t1.access_token, "10.0.0.1", T0 + 2).refusal.code, "unauthorized");
  EXPECT_EQ(acc().refresh(t1.refresh_token, "10.0.0.1", T0 + 2).refusal.code, "unauthorized");
  EXPECT_TRUE(acc().authenticate(t2.access_token, "10.0.0.1", T0 + 2));   // another login stays
}

TEST_P(AccountsTest, FreezingRevokesTokensAndRefusesLogins) {
  auto a = admin();
  auto u = person(a, "lisi", {"customer_service"});
  auto t = login("lisi", "secret-pass-9", "10.0.0.2", T0);
  EXPECT_EQ(acc().set_frozen(a, a.account_id, true, T0).refusal.code, "cannot_freeze_self");
  auto f = acc().set_frozen(a, u.account_id, true, T0 + 5);
  ASSERT_TRUE(f) << f.refusal.code;
  EXPECT_TRUE(f->frozen);
  EXPECT_EQ(acc().authenticate(t.access_token, "10.0.0.2", T0 + 6).refusal.code, "unauthorized");
  EXPECT_EQ(acc().refresh(t.refresh_token, "10.0.0.2", T0 + 6).refusal.code, "unauthorized");
  EXPECT_EQ(acc().login("lisi", "secret-pass-9", "10.0.0.2", T0 + 6).refusal.code, "account_frozen");
  // A wrong password does not tell that the account is frozen.
  EXPECT_EQ(acc().login("lisi", "wrong-pass-0", "10.0.0.2", T0 + 6).refusal.code, "bad_credentials");
  ASSERT_TRUE(acc().set_frozen(a, u.account_id, false, T0 + 7));
  EXPECT_TRUE(acc().login("lisi", "secret-pass-9", "10.0.0.2", T0 + 8));
  EXPECT_EQ(acc().set_frozen(a, 9999, true, T0).refusal.code, "account_not_found");
}

TEST_P(AccountsTest, NobodyDemotesOrResetsHimself) {
  auto a = admin();
  auto r = acc().update(a, a.account_id, std::nullopt, std::nullopt, std::vector<std::string>{"customer_service"}, T0);
  EXPECT_EQ(r.refusal.code, "cannot_demote_self");
  EXPECT_EQ(acc().get(a, a.account_id)->roles, std::vector<std::string>{"platform_admin"});   // rolled back
  EXPECT_TRUE(acc().update(a, a.account_id, std::string("老板"), std::nullopt, std::vector<std::string>{"platform_admin", "finance"}, T0));
  EXPECT_EQ(acc().reset_password(a, a.account_id, "another-pass-1", T0).refusal.code, "cannot_reset_self");
}

TEST_P(AccountsTest, ResetPasswordRevokesAndMustBeChangedAgain) {
  auto a = admin();
  auto u = person(a, "wangwu", {"finance"});
  auto t = login("wangwu", "secret-pass-9", "10.0.0.3", T0);
  EXPECT_EQ(acc().reset_password(a, u.account_id, "short", T0).refusal.code, "weak_password");
  auto r = acc().reset_password(a, u.account_id, "reset-pass-1", T0 + 1);
  ASSERT_TRUE(r) << r.refusal.code;
  EXPECT_TRUE(r->must_change_password);
  EXPECT_EQ(acc().authenticate(t.access_token, "10.0.0.3", T0 + 2).refusal.code, "unauthorized");
  auto t2 = login("wangwu", "reset-pass-1", "10.0.0.3", T0 + 2);
  EXPECT_TRUE(t2.caller.must_change_password);
}

TEST_P(AccountsTest, ConcurrentLoginsAndOneWinnerPerRefresh) {
  admin();
  const std::string pw = kAdminPw + "-new";
  auto t = login("admin", pw, "10.0.0.1", T0);
  std::atomic<int> logins{0}, refreshed{0}, refused{0};
  std::vector<std::thread> ts;
  for (int i = 0; i < 4; ++i)
    ts.emplace_back([&, i] {
      for (int k = 0; k < 5; ++k)
        if (acc().login("admin", pw, "10.0.1." + std::to_string(i), T0)) ++logins;
      if (acc().refresh(t.refresh_token, "10.0.0.1", T0 + 1)) ++refreshed;
      else ++refused;
    });
  for (auto& th : ts) th.join();
  EXPECT_EQ(logins.load(), 20);
  EXPECT_EQ(refreshed.load(), 1);
  EXPECT_EQ(refused.load(), 3);
}

// --- Throttling -------------------------------------------------------------------------------------

TEST_P(AccountsTest, FailuresSlowDownTheAccountFromThatSourceOnly) {
  admin();
  const std::string pw = kAdminPw + "-new", attacker = "198.51.100.66", office = "10.0.0.1";
  for (int i = 0; i < 5; ++i) EXPECT_EQ(acc().login("admin", "guess-" + std::to_string(i), attacker, T0).refusal.code, "bad_credentials");
  EXPECT_EQ(acc().login("admin", "guess-5", attacker, T0).refusal.code, "bad_credentials");   // the sixth: 1 s
  auto r = acc().login("admin", pw, attacker, T0);   // even the right password waits
  EXPECT_EQ(r.refusal.code, "throttled");
  EXPECT_EQ(r.refusal.retry_after_s, 1);
  // The delay grows: 2 s, 4 s, 8 s.
  int64_t now = T0 + 1;
  for (int64_t want : {2, 4, 8}) {
    EXPECT_EQ(acc().login("admin", "guess", attacker, now).refusal.code, "bad_credentials");
    auto w = acc().login("admin", "guess", attacker, now);
    EXPECT_EQ(w.refusal.code, "throttled");
    EXPECT_EQ(w.refusal.retry_after_s, want);
    now += want;
  }
  // The real user, from the office, is not affected.
  EXPECT_TRUE(acc().login("admin", pw, office, now));
  // Once the wait is over the right password works from there too, and clears that pair.
  EXPECT_TRUE(acc().login("admin", pw, attacker, now));
  EXPECT_EQ(acc().login("admin", "guess", attacker, now).refusal.code, "bad_credentials");
  EXPECT_GE(acc().throttled(), 4u);
}

TEST_P(AccountsTest, ASourceGuessingManyNamesIsSlowedDownForEveryName) {
  admin();
  const std::string pw = kAdminPw + "-new";
  for (int i = 0; i < 21; ++i) EXPECT_EQ(acc().login("user" + std::to_string(i), "x-password", "198.51.100.7", T0).refusal.code, "bad_credentials");
  auto r = acc().login("admin", pw, "198.51.100.7", T0);
  EXPECT_EQ(r.refusal.code, "throttled");
  EXPECT_EQ(r.refusal.retry_after_s, 1);
  EXPECT_TRUE(acc().login("admin", pw, "10.0.0.1", T0));
  EXPECT_TRUE(acc().login("admin", pw, "198.51.100.7", T0 + 1));
}

TEST_P(AccountsTest, UnknownBearersAreCountedAndThrottledPerSourceButAValidOneAlwaysPasses) {
  auto a = admin();
  auto key = acc().create_key(a, "ota-cli", {"service_ota"}, T0);
  ASSERT_TRUE(key);
  for (int i = 0; i < 20; ++i) EXPECT_EQ(acc().authenticate("chk_guess" + std::to_string(i), "198.51.100.8", T0).refusal.code, "unauthorized");
  EXPECT_EQ(acc().authenticate("garbage", "198.51.100.8", T0).refusal.code, "unauthorized");
  auto r = acc().authenticate("chk_guess-more", "198.51.100.8", T0);
  EXPECT_EQ(r.refusal.code, "throttled");
  EXPECT_EQ(r.refusal.retry_after_s, 1);
  // The key's holder behind the same address is not locked out by the guesser.
  EXPECT_TRUE(acc().authenticate(key->secret, "198.51.100.8", T0));
  EXPECT_TRUE(acc().authenticate(key->secret, "10.0.0.5", T0));
  EXPECT_EQ(acc().failed_keys(), 22u);
}

// --- Roles, no escalation ---------------------------------------------------------------------------

TEST_P(AccountsTest, BuiltinRolesAreEnsuredIdempotently) {
  auto count = [&] {
    auto st = db->prepare("SELECT count(*) FROM role WHERE builtin = 1");
    st.step();
    int64_t n = st.i64(0);
    st.run();
    return n;
  };
  EXPECT_EQ(count(), static_cast<int64_t>(permissions::builtin_roles().size()));
  acc().ensure_builtin_roles();
  acc().ensure_builtin_roles();
  reopen();
  EXPECT_EQ(count(), static_cast<int64_t>(permissions::builtin_roles().size()));
  // A permission lost from a built-in role comes back at the next start.
  db->prepare("DELETE FROM role_permission WHERE permission = 'audit.view'").run();
  reopen();
  auto c = admin();
  auto roles = acc().roles(c);
  auto pa = std::find_if(roles.begin(), roles.end(), [](const RoleView& r) { return r.key == "platform_admin"; });
  ASSERT_NE(pa, roles.end());
  EXPECT_TRUE(pa->builtin);
  EXPECT_EQ(pa->name, "平台管理员");
  EXPECT_EQ(pa->permissions, permissions::all_keys());
  for (const auto& b : permissions::builtin_roles()) {
    auto r = std::find_if(roles.begin(), roles.end(), [&](const RoleView& x) { return x.key == b.key; });
    ASSERT_NE(r, roles.end()) << b.key;
    EXPECT_EQ(r->permissions, b.permissions) << b.key;
  }
}

TEST_P(AccountsTest, RolesAreCreatedChangedAndDeleted) {
  auto a = admin();
  auto r = acc().create_role(a, "night_shift", "夜班客服", {"sessions.view", "sessions.stop", "sessions.view"}, T0);
  ASSERT_TRUE(r) << r.refusal.code;
  EXPECT_FALSE(r->builtin);
  EXPECT_EQ(r->permissions, (std::vector<std::string>{"sessions.stop", "sessions.view"}));
  EXPECT_EQ(acc().create_role(a, "night_shift", "x", {}, T0).refusal.code, "role_taken");
  EXPECT_EQ(acc().create_role(a, "platform_admin", "x", {}, T0).refusal.code, "role_taken");
  EXPECT_EQ(acc().create_role(a, "Night Shift", "x", {}, T0).refusal.code, "bad_key");
  EXPECT_EQ(acc().create_role(a, "ok_key", "", {}, T0).refusal.code, "bad_role_name");
  EXPECT_EQ(acc().create_role(a, "ok_key", "x", {"devices.fly"}, T0).refusal.code, "unknown_permission");
  auto u = acc().update_role(a, r->id, std::string("夜班"), std::vector<std::string>{"sessions.view"}, T0);
  ASSERT_TRUE(u) << u.refusal.code;
  EXPECT_EQ(u->name, "夜班");
  EXPECT_EQ(u->permissions, std::vector<std::string>{"sessions.view"});
  auto builtin = acc().roles(a).front();
  ASSERT_TRUE(builtin.builtin);
  EXPECT_EQ(acc().update_role(a, builtin.id, std::string("x"), std::nullopt, T0).refusal.code, "role_builtin");
  EXPECT_EQ(acc().delete_role(a, builtin.id).refusal.code, "role_builtin");
  auto holder = person(a, "zhaoliu", {"night_shift"});
  EXPECT_EQ(holder.permissions, std::vector<std::string>{"sessions.view"});
  EXPECT_EQ(acc().delete_role(a, r->id).refusal.code, "role_in_use");
  ASSERT_TRUE(acc().update(a, holder.account_id, std::nullopt, std::nullopt, std::vector<std::string>{}, T0));
  auto d = acc().delete_role(a, r->id);
  ASSERT_TRUE(d) << d.refusal.code;
  EXPECT_EQ(d->key, "night_shift");
  EXPECT_FALSE(acc().role(a, r->id));
  EXPECT_EQ(acc().delete_role(a, r->id).refusal.code, "role_not_found");
}

TEST_P(AccountsTest, NobodyGrantsWhatHeLacks) {
  auto a = admin();
  // A team lead who manages accounts and roles on top of customer service.
  auto cs = permissions::builtin_role("customer_service")->permissions;
  auto lead_perms = cs;
  for (auto p : {"accounts.view", "accounts.manage", "roles.view", "roles.manage", "keys.manage"}) lead_perms.push_back(p);
  ASSERT_TRUE(acc().create_role(a, "cs_lead", "客服主管", lead_perms, T0));
  auto lead = person(a, "lead", {"cs_lead"});
  // Roles.
  EXPECT_EQ(acc().create_role(lead, "more", "x", {"sessions.view", "devices.delete"}, T0).refusal.code, "permission_exceeds");
  EXPECT_TRUE(acc().create_role(lead, "cs_junior", "初级客服", {"sessions.view"}, T0));
  auto junior = acc().roles(lead);
  auto jr = std::find_if(junior.begin(), junior.end(), [](const RoleView& r) { return r.key == "cs_junior"; });
  ASSERT_NE(jr, junior.end());
  EXPECT_EQ(acc().update_role(lead, jr->id, std::nullopt, std::vector<std::string>{"finance.view"}, T0).refusal.code, "permission_exceeds");
  auto fin = acc().create_role(a, "fin_view", "财务查看", {"finance.view"}, T0);
  ASSERT_TRUE(fin);
  EXPECT_EQ(acc().update_role(lead, fin->id, std::string("mine now"), std::nullopt, T0).refusal.code, "role_exceeds");
  // Accounts.
  auto n = NewAccount{"newbie", "", "", {"platform_admin"}, "initial-pass-1"};
  EXPECT_EQ(acc().create(lead, n, T0).refusal.code, "role_exceeds");
  n.roles = {"no_such_role"};
  EXPECT_EQ(acc().create(lead, n, T0).refusal.code, "unknown_role");
  n.roles = {"customer_service", "cs_junior"};
  auto made = acc().create(lead, n, T0);
  ASSERT_TRUE(made) << made.refusal.code;
  EXPECT_EQ(made->roles, (std::vector<std::string>{"cs_junior", "customer_service"}));
  EXPECT_TRUE(made->must_change_password);
  EXPECT_EQ(acc().update(lead, made->id, std::nullopt, std::nullopt, std::vector<std::string>{"finance"}, T0).refusal.code, "role_exceeds");
  // An account holding more than the lead is out of his reach.
  EXPECT_EQ(acc().reset_password(lead, a.account_id, "takeover-pass-1", T0).refusal.code, "account_exceeds");
  EXPECT_EQ(acc().set_frozen(lead, a.account_id, true, T0).refusal.code, "account_exceeds");
  EXPECT_EQ(acc().update(lead, a.account_id, std::string("x"), std::nullopt, std::nullopt, T0).refusal.code, "account_exceeds");
  // Keys.
  EXPECT_EQ(acc().create_key(lead, "ota", {"service_ota"}, T0).refusal.code, "role_exceeds");
  EXPECT_TRUE(acc().create_key(lead, "cs-script", {"cs_junior"}, T0));
  auto ota = acc().create_key(a, "ota", {"service_ota"}, T0);
  ASSERT_TRUE(ota);
  EXPECT_EQ(acc().revoke_key(lead, ota->account.id, T0).refusal.code, "account_exceeds");
}

TEST_P(AccountsTest, AccountsAreCreatedChecked) {
  auto a = admin();
  auto n = NewAccount{"zhangsan", "张三", "13800000000", {"agent_staff"}, "initial-pass-1"};
  ASSERT_TRUE(acc().create(a, n, T0));
  EXPECT_EQ(acc().create(a, n, T0).refusal.code, "name_taken");
  n.name = "Zhang San";
  EXPECT_EQ(acc().create(a, n, T0).refusal.code, "bad_name");
  n.name = "zhangsan2";
  n.initial_password = "zhangsan2";
  EXPECT_EQ(acc().create(a, n, T0).refusal.code, "weak_password");
  n.initial_password = "short";
  EXPECT_EQ(acc().create(a, n, T0).refusal.code, "weak_password");
  n.initial_password = "initial-pass-1";
  n.display_name = std::string(65, 'x');
  EXPECT_EQ(acc().create(a, n, T0).refusal.code, "bad_display_name");
  auto u = acc().update(a, 2, std::string("张三丰"), std::string("13900000000"), std::nullopt, T0 + 9);
  ASSERT_TRUE(u) << u.refusal.code;
  EXPECT_EQ(u->display_name, "张三丰");
  EXPECT_EQ(u->phone, "13900000000");
  EXPECT_EQ(u->roles, std::vector<std::string>{"agent_staff"});
  EXPECT_FALSE(acc().get(a, 9999));
}

// --- Service keys -----------------------------------------------------------------------------------

TEST_P(AccountsTest, ServiceKeysAuthenticateUntilRevoked) {
  auto k = acc().bootstrap_key("ota-cli", {"service_ota"}, T0);
  ASSERT_TRUE(k) << k.refusal.code;
  EXPECT_TRUE(k->secret.starts_with("chk_"));
  EXPECT_EQ(k->account.kind, "service");
  ASSERT_TRUE(k->account.key_prefix);
  EXPECT_TRUE(k->secret.starts_with(*k->account.key_prefix));
  EXPECT_EQ(k->account.key_prefix->size(), 10u);
  auto c = acc().authenticate(k->secret, "10.0.0.7", T0);
  ASSERT_TRUE(c) << c.refusal.code;
  EXPECT_EQ(c->kind, Caller::Kind::Service);
  EXPECT_EQ(c->actor(), "key:ota-cli");
  EXPECT_EQ(c->token_id, 0);
  EXPECT_EQ(c->permissions, permissions::builtin_role("service_ota")->permissions);
  EXPECT_TRUE(c->can("firmware.upload"));
  EXPECT_FALSE(c->can("sessions.refund"));
  // A service account has no password: no login with it, no password change.
  EXPECT_EQ(acc().login("ota-cli", "anything-at-all", "10.0.0.7", T0).refusal.code, "bad_credentials");
  EXPECT_EQ(acc().change_password(*c, "a", "bbbbbbbbbb", T0).refusal.code, "not_a_person");
  auto a = admin();
  EXPECT_EQ(acc().create_key(a, "ota-cli", {}, T0).refusal.code, "name_taken");
  EXPECT_EQ(acc().revoke_key(a, a.account_id, T0).refusal.code, "not_a_service_key");
  EXPECT_EQ(acc().reset_password(a, k->account.id, "some-pass-1", T0).refusal.code, "not_a_person");
  auto r = acc().revoke_key(a, k->account.id, T0 + 1);
  ASSERT_TRUE(r) << r.refusal.code;
  EXPECT_TRUE(r->frozen);
  EXPECT_EQ(acc().authenticate(k->secret, "10.0.0.7", T0 + 2).refusal.code, "unauthorized");
  EXPECT_TRUE(acc().get(a, k->account.id));   // kept for the audit trail
}

TEST_P(AccountsTest, FreezingAServiceAccountStopsItsKey) {
  auto a = admin();
  auto k = acc().create_key(a, "report-script", {"agent_staff"}, T0);
  ASSERT_TRUE(k);
  ASSERT_TRUE(acc().set_frozen(a, k->account.id, true, T0));
  EXPECT_EQ(acc().authenticate(k->secret, "10.0.0.7", T0).refusal.code, "account_frozen");
  ASSERT_TRUE(acc().set_frozen(a, k->account.id, false, T0));
  EXPECT_TRUE(acc().authenticate(k->secret, "10.0.0.7", T0));
}

// --- Lists ------------------------------------------------------------------------------------------

TEST_P(AccountsTest, AccountListFiltersSortsAndPages) {
  auto a = admin();
  for (auto [name, role] : std::vector<std::pair<std::string, std::string>>{
           {"cs.one", "customer_service"}, {"cs.two", "customer_service"}, {"fin.one", "finance"}, {"inst_1", "installer"}})
    ASSERT_TRUE(acc().create(a, NewAccount{name, "员工 " + name, "1390000" + name.substr(0, 2), {role}, "initial-pass-1"}, T0));
  ASSERT_TRUE(acc().create_key(a, "ota-cli", {"service_ota"}, T0));
  ASSERT_TRUE(acc().set_frozen(a, 3, true, T0));
  auto all = acc().list(a, {}, PageRequest{});
  EXPECT_EQ(all.total, 6);
  EXPECT_EQ(all.items.size(), 6u);
  EXPECT_EQ(all.items[0].name, "admin");
  auto page2 = acc().list(a, {}, PageRequest{2, 2, "name", true});
  EXPECT_EQ(page2.total, 6);
  ASSERT_EQ(page2.items.size(), 2u);
  EXPECT_EQ(page2.items[0].name, "fin.one");   // ota-cli, inst_1 | fin.one, cs.two | …
  EXPECT_EQ(page2.items[1].name, "cs.two");
  EXPECT_EQ(acc().list(a, AccountFilter{std::string("CS."), {}, {}, {}}, PageRequest{}).total, 2);
  EXPECT_EQ(acc().list(a, AccountFilter{std::string("员工"), {}, {}, {}}, PageRequest{}).total, 4);
  ASSERT_TRUE(acc().update(a, 4, std::string("Wang Wu"), std::nullopt, std::nullopt, T0));
  EXPECT_EQ(acc().list(a, AccountFilter{std::string("wANG"), {}, {}, {}}, PageRequest{}).total, 1);
  EXPECT_EQ(acc().list(a, AccountFilter{std::string("员工"), {}, {}, {}}, PageRequest{}).total, 3);
  EXPECT_EQ(acc().list(a, AccountFilter{std::string("%"), {}, {}, {}}, PageRequest{}).total, 0);
  EXPECT_EQ(acc().list(a, AccountFilter{std::string("_"), {}, {}, {}}, PageRequest{}).total, 1);   // inst_1
  EXPECT_EQ(acc().list(a, AccountFilter{{}, std::string("customer_service"), {}, {}}, PageRequest{}).total, 2);
  auto frozen = acc().list(a, AccountFilter{{}, {}, true, {}}, PageRequest{});
  ASSERT_EQ(frozen.total, 1);
  EXPECT_EQ(frozen.items[0].id, 3);
  auto svc = acc().list(a, AccountFilter{{}, {}, {}, std::string("service")}, PageRequest{});
  ASSERT_EQ(svc.total, 1);
  EXPECT_EQ(svc.items[0].roles, std::vector<std::string>{"service_ota"});
  EXPECT_EQ(acc().list(a, AccountFilter{{}, std::string("customer_service"), false, std::string("person")}, PageRequest{}).total, 1);
  EXPECT_EQ(acc().list(a, {}, PageRequest{1, 1000, "last_login_at", true}).items.front().name, "admin");
}

TEST_P(AccountsTest, ALoginRehashesAPasswordMadeWithAnotherCost) {
  ASSERT_TRUE(acc().bootstrap_account(NewAccount{"admin", "", "", {"platform_admin"}, kAdminPw}, T0));
  auto hash = [&] {
    auto st = db->prepare("SELECT password_hash FROM account WHERE name = 'admin'");
    st.step();
    auto h = st.text(0);
    st.run();
    return h;
  };
  auto before = hash();
  EXPECT_NE(before.find("$argon2id$"), std::string::npos);
  EXPECT_NE(before.find("t=1"), std::string::npos);
  auto s = cheap();
  s.hash_opslimit = 2;
  reopen(s);
  ASSERT_TRUE(acc().login("admin", kAdminPw, "10.0.0.1", T0));
  auto after = hash();
  EXPECT_NE(after, before);
  EXPECT_NE(after.find("t=2"), std::string::npos);
  EXPECT_TRUE(acc().login("admin", kAdminPw, "10.0.0.1", T0));
  EXPECT_EQ(hash(), after);
}

TEST_P(AccountsTest, ExpiredTokensArePurged) {
  admin();
  auto t = login("admin", kAdminPw + "-new", "10.0.0.1", T0);
  EXPECT_EQ(acc().purge_tokens(t.refresh_expires_at), 0);
  EXPECT_GE(acc().purge_tokens(t.refresh_expires_at + 1), 1);
  EXPECT_EQ(acc().authenticate(t.access_token, "10.0.0.1", T0).refusal.code, "unauthorized");
}

// --- The audit log ----------------------------------------------------------------------------------

TEST_P(AccountsTest, AuditLogIsAppendOnly) {
  auto id = app->audit.record(AuditEntry{0, T0, 1, "account:admin", "10.0.0.1", "devices.edit", "device", "861234567890123",
                                         json::object{{"enabled", true}}, json::object{{"enabled", false}}});
  EXPECT_GT(id, 0);
  for (const char* sql : {"UPDATE audit_log SET actor = 'account:someone_else'", "DELETE FROM audit_log"}) {
    try {
      sql::Tx tx(*db);
      db->prepare(sql).run();
      ADD_FAILURE() << sql << " was allowed";
    } catch (const sql::Error& e) {
      EXPECT_TRUE(e.constraint()) << e.what();
      EXPECT_NE(std::string(e.what()).find("append-only"), std::string::npos) << e.what();
    }
  }
  auto page = app->audit.list(Scope::platform(), {}, PageRequest{});
  ASSERT_EQ(page.total, 1);
  EXPECT_EQ(page.items[0].actor, "account:admin");
}

TEST_P(AccountsTest, AuditEntriesAreKeptWithTheirTransactionOnly) {
  {
    sql::Tx tx(*db);
    app->audit.record(AuditEntry{0, T0, 1, "account:admin", "", "riders.recharge", "rider", "7", nullptr, json::object{{"fen", 100}}});
    // no commit: the change failed, its entry goes with it
  }
  EXPECT_EQ(app->audit.list(Scope::platform(), {}, PageRequest{}).total, 0);
  {
    sql::Tx tx(*db);
    app->audit.record(AuditEntry{0, T0, 1, "account:admin", "", "riders.recharge", "rider", "7", nullptr, json::object{{"fen", 100}}});
    tx.commit();
  }
  auto page = app->audit.list(Scope::platform(), {}, PageRequest{});
  ASSERT_EQ(page.total, 1);
  EXPECT_TRUE(page.items[0].before.is_null());
  EXPECT_EQ(page.items[0].after, (json::value(json::object{{"fen", 100}})));
}

TEST_P(AccountsTest, AuditRedactsSecretsBeforeStoring) {
  json::value after = json::parse(R"({"name":"ota","password":"p","key_hash":"ab","nested":{"Access_Token":"t","list":[{"secret":"s","ok":1}]},
                                      "pubkey":null,"refresh_token":"r","Authorization":"Bearer x","device_token":"d"})");
  app->audit.record(AuditEntry{0, T0, std::nullopt, "system", "", "keys.create", "account", "2", nullptr, after});
  auto st = db->prepare("SELECT after_json FROM audit_log");
  ASSERT_TRUE(st.step());
  auto stored = st.text(0);
  st.run();
  for (auto secret : {"\"p\"", "\"ab\"", "\"t\"", "\"s\"", "\"r\"", "Bearer", "\"d\""}) EXPECT_EQ(stored.find(secret), std::string::npos) << secret;
  auto e = app->audit.list(Scope::platform(), {}, PageRequest{}).items.at(0);
  EXPECT_EQ(e.after.at("name").as_string(), "ota");
  EXPECT_EQ(e.after.at("password").as_string(), "***");
  EXPECT_EQ(e.after.at("nested").at("Access_Token").as_string(), "***");
  const auto& item = e.after.at("nested").at("list").as_array().at(0);
  EXPECT_EQ(item.at("secret").as_string(), "***");
  EXPECT_EQ(item.at("ok").as_int64(), 1);
  EXPECT_TRUE(e.after.at("pubkey").is_null());
  EXPECT_FALSE(e.account_id);
}

TEST_P(AccountsTest, AuditListFiltersAndPages) {
  for (int i = 0; i < 30; ++i)
    app->audit.record(AuditEntry{0, T0 + i, i % 3 == 0 ? std::optional<int64_t>(1) : std::optional<int64_t>(2), i % 3 == 0 ? "account:admin" : "account:lisi",
                                 "10.0.0.1", i % 2 ? "devices.control" : "sessions.refund", i % 2 ? "device" : "session",
                                 std::to_string(i % 5), nullptr, json::object{{"i", i}}});
  auto all = app->audit.list(Scope::platform(), {}, PageRequest{1, 10});
  EXPECT_EQ(all.total, 30);
  ASSERT_EQ(all.items.size(), 10u);
  EXPECT_EQ(all.items[0].after.at("i").as_int64(), 29);   // newest first
  auto last = app->audit.list(Scope::platform(), {}, PageRequest{3, 10});
  EXPECT_EQ(last.items.back().after.at("i").as_int64(), 0);
  auto oldest_first = app->audit.list(Scope::platform(), {}, PageRequest{1, 5, "at", false});
  EXPECT_EQ(oldest_first.items[0].after.at("i").as_int64(), 0);
  EXPECT_EQ(app->audit.list(Scope::platform(), AuditFilter{1, {}, {}, {}, {}, {}}, PageRequest{}).total, 10);
  EXPECT_EQ(app->audit.list(Scope::platform(), AuditFilter{{}, std::string("devices.control"), {}, {}, {}, {}}, PageRequest{}).total, 15);
  EXPECT_EQ(app->audit.list(Scope::platform(), AuditFilter{{}, {}, std::string("session"), std::string("0"), {}, {}}, PageRequest{}).total, 3);   // 0, 10, 20
  EXPECT_EQ(app->audit.list(Scope::platform(), AuditFilter{{}, {}, {}, {}, T0 + 10, T0 + 20}, PageRequest{}).total, 10);
  EXPECT_EQ(app->audit.list(Scope::platform(), AuditFilter{2, std::string("sessions.refund"), {}, {}, T0, T0 + 10}, PageRequest{}).total, 3);   // 2, 4, 8
}

INSTANTIATE_TEST_SUITE_P(Backends, AccountsTest, ::testing::Values(sql::Dialect::Sqlite, sql::Dialect::Postgres), backend_name);

// --- Without a database -----------------------------------------------------------------------------

TEST(Passwords, ProductionCostTakesTensOfMilliseconds) {
  Passwords pw(HashCost{2, 19u << 20}, 2);
  auto t0 = std::chrono::steady_clock::now();
  auto h = pw.hash("correct horse battery staple");
  auto t1 = std::chrono::steady_clock::now();
  EXPECT_TRUE(pw.verify(h, "correct horse battery staple"));
  auto t2 = std::chrono::steady_clock::now();
  EXPECT_FALSE(pw.verify(h, "correct horse battery stapler"));
  auto ms = [](auto d) { return std::chrono::duration<double, std::milli>(d).count(); };
  std::printf("Argon2id t=2 m=19 MiB: hash %.1f ms, verify %.1f ms\n", ms(t1 - t0), ms(t2 - t1));
  EXPECT_NE(h.find("$argon2id$v=19$m=19456,t=2,p=1$"), std::string::npos) << h;
  EXPECT_FALSE(pw.needs_rehash(h));
  Passwords cheap_pw(HashCost{1, crypto_pwhash_MEMLIMIT_MIN}, 1);
  EXPECT_TRUE(pw.needs_rehash(cheap_pw.hash("x")));
}

TEST(Passwords, AtMostMaxConcurrentHashesRunAtOnce) {
  Passwords pw(HashCost{1, 1u << 20}, 1);
  std::atomic<int> done{0};
  std::vector<std::thread> ts;
  for (int i = 0; i < 4; ++i) ts.emplace_back([&] { pw.hash("pw"); ++done; });
  for (auto& t : ts) t.join();
  EXPECT_EQ(done.load(), 4);
}

TEST(Secrets, RandomSecretsAndTheirHashes) {
  auto a = random_secret("cha_"), b = random_secret("cha_");
  EXPECT_NE(a, b);
  EXPECT_EQ(a.size(), 47u);
  EXPECT_EQ(a.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_", 4), std::string::npos);
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Audit, RedactIsRecursiveAndLeavesOtherValues) {
  auto v = Audit::redact(json::parse(R"([{"a":{"my_secret_x":[1,2]},"b":"token"}, 3, "password"])"));
  EXPECT_EQ(json::serialize(v), R"([{"a":{"my_secret_x":"***"},"b":"token"},3,"password"])");
}
