// Accounts, permissions, the audit trail and the route table as users meet them: a real core process
// with real accounts in a real database, over real HTTP. Every registered route is walked with no
// token, a token without the permission, unknown ids and invalid bodies.
#include <gtest/gtest.h>

#include <set>

#include "db/db.hpp"
#include "stack.hpp"

using namespace chargehub::testing;
namespace json = boost::json;

namespace {

using Reply = ApiReply;

// HTTP with any bearer credential and, behind the trusted proxy, any client address (Stack::call).
Reply call(const Stack& s, const std::string& method, const std::string& path, const std::string& bearer, const json::value& body = nullptr,
           const std::string& forwarded_for = "") {
  return s.call(method, path, bearer, body, forwarded_for);
}

std::string code(const ApiReply& r) { return r.code(); }

struct AccountsApi : ::testing::Test {
  TempDir dir{"accounts-api"};
  // nginx would sit at 127.0.0.1: its X-Forwarded-For names the client.
  Stack stack{dir, {"--trusted-proxy", "127.0.0.1"}};

  // An operator account made by the platform admin key; returns the login token after the first
  // password change.
  std::string person(const std::string& name, json::array roles, const std::string& password = "初始密码-0001") {
    auto c = call(stack, "POST", "/accounts", stack.api_key(),
                  json::object{{"name", name}, {"roles", roles}, {"initial_password", password}});
    EXPECT_EQ(c.status, 201) << json::serialize(c.body);
    auto l = call(stack, "POST", "/auth/login", "", json::object{{"name", name}, {"password", password}});
    EXPECT_EQ(l.status, 200) << json::serialize(l.body);
    std::string t(l.obj().at("access_token").as_string());
    auto ch = call(stack, "POST", "/auth/password", t, json::object{{"old_password", password}, {"new_password", password + "-新"}});
    EXPECT_EQ(ch.status, 200) << json::serialize(ch.body);
    auto l2 = call(stack, "POST", "/auth/login", "", json::object{{"name", name}, {"password", password + "-新"}});
    EXPECT_EQ(l2.status, 200);
    return std::string(l2.obj().at("access_token").as_string());
  }
};

// A path with its parameters filled by ids that exist nowhere.
std::string unknown_ids(std::string path) {
  for (auto [p, v] : {std::pair<std::string, std::string>{"{device}", "999999999999999"}, {"{id}", "987654321"}, {"{uid}", "DEADBEEF00"}}) {
    for (auto at = path.find(p); at != std::string::npos; at = path.find(p)) path.replace(at, p.size(), v);
  }
  return path.substr(std::string("/api/v1").size());
}

}  // namespace

TEST_F(AccountsApi, FirstLoginMustChangeTheInitialPassword) {
  auto c = call(stack, "POST", "/accounts", stack.api_key(),
                json::object{{"name", "zhangsan"}, {"display_name", "张三"}, {"roles", json::array{"customer_service"}},
                             {"initial_password", "初始密码-0001"}});
  ASSERT_EQ(c.status, 201) << json::serialize(c.body);
  EXPECT_TRUE(c.obj().at("must_change_password").as_bool());
  auto l = call(stack, "POST", "/auth/login", "", json::object{{"name", "zhangsan"}, {"password", "初始密码-0001"}});
  ASSERT_EQ(l.status, 200);
  std::string t(l.obj().at("access_token").as_string());
  EXPECT_TRUE(l.obj().at("must_change_password").as_bool());
  EXPECT_EQ(code(call(stack, "GET", "/riders", t)), "password_change_required");
  EXPECT_EQ(call(stack, "GET", "/me", t).status, 200);
  EXPECT_EQ(code(call(stack, "POST", "/auth/password", t, json::object{{"old_password", "初始密码-0001"}, {"new_password", "short"}})),
            "weak_password");
  ASSERT_EQ(call(stack, "POST", "/auth/password", t, json::object{{"old_password", "初始密码-0001"}, {"new_password", "新的密码-2026"}}).status, 200);
  EXPECT_EQ(call(stack, "GET", "/riders", t).status, 401);   // the change revoked every token
  auto l2 = call(stack, "POST", "/auth/login", "", json::object{{"name", "zhangsan"}, {"password", "新的密码-2026"}});
  ASSERT_EQ(l2.status, 200);
  std::string t2(l2.obj().at("access_token").as_string());
  EXPECT_EQ(call(stack, "GET", "/riders", t2).status, 200);
  // Customer service may look at riders but not delete devices; the menu shows what it may use.
  EXPECT_EQ(code(call(stack, "DELETE", "/devices/861234567890123", t2)), "forbidden");
  auto me = call(stack, "GET", "/me", t2);
  ASSERT_EQ(me.status, 200);
  EXPECT_FALSE(me.obj().at("menu").as_array().empty());
  EXPECT_EQ(stack.core_log().find("新的密码-2026"), std::string::npos);   // passwords are never logged
  EXPECT_EQ(stack.core_log().find("初始密码-0001"), std::string::npos);
}

TEST_F(AccountsApi, LogoutRefreshAndFreezeRevokeTokens) {
  std::string t = person("lisi", json::array{"finance"});
  auto l = call(stack, "POST", "/auth/login", "", json::object{{"name", "lisi"}, {"password", "初始密码-0001-新"}});
  std::string refresh(l.obj().at("refresh_token").as_string());
  auto r = call(stack, "POST", "/auth/refresh", "", json::object{{"refresh_token", refresh}});
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(call(stack, "POST", "/auth/refresh", "", json::object{{"refresh_token", refresh}}).status, 401);   // rotated: used once
  std::string t2(r.obj().at("access_token").as_string());
  EXPECT_EQ(call(stack, "GET", "/me", t2).status, 200);
  EXPECT_EQ(call(stack, "POST", "/auth/logout", t2).status, 200);
  EXPECT_EQ(code(call(stack, "GET", "/me", t2)), "unauthorized");
  // Frozen: its tokens die and it cannot log in.
  auto list = call(stack, "GET", "/accounts?q=lisi", stack.api_key());
  ASSERT_EQ(list.obj().at("total").as_int64(), 1);
  int64_t id = list.obj().at("items").as_array()[0].as_object().at("id").as_int64();
  ASSERT_EQ(call(stack, "POST", "/accounts/" + std::to_string(id) + "/freeze", stack.api_key()).status, 200);
  EXPECT_EQ(call(stack, "GET", "/me", t).status, 401);
  EXPECT_EQ(code(call(stack, "POST", "/auth/login", "", json::object{{"name", "lisi"}, {"password", "初始密码-0001-新"}})), "account_frozen");
}

TEST_F(AccountsApi, WrongPasswordsAreThrottledPerAddressWithoutLockingTheOwnerOut) {
  person("wangwu", json::array{"customer_service"});
  // A stranger at 198.51.100.7 guesses: after a few tries every answer is 429 with Retry-After, even
  // for the right password from there.
  Reply last;
  for (int i = 0; i < 12; ++i)
    last = call(stack, "POST", "/auth/login", "", json::object{{"name", "wangwu"}, {"password", "guess-" + std::to_string(i)}}, "198.51.100.7");
  EXPECT_EQ(last.status, 429);
  EXPECT_FALSE(last.retry_after.empty());
  EXPECT_EQ(call(stack, "POST", "/auth/login", "", json::object{{"name", "wangwu"}, {"password", "初始密码-0001-新"}}, "198.51.100.7").status, 429);
  // The owner, elsewhere, logs in at once.
  EXPECT_EQ(call(stack, "POST", "/auth/login", "", json::object{{"name", "wangwu"}, {"password", "初始密码-0001-新"}}, "203.0.113.20").status, 200);
  // One address guessing across many names is throttled as a source.
  Reply spray;
  for (int i = 0; i < 40 && spray.status != 429; ++i)
    spray = call(stack, "POST", "/auth/login", "", json::object{{"name", "user" + std::to_string(i)}, {"password", "x"}}, "198.51.100.99");
  EXPECT_EQ(spray.status, 429);
  // Unknown bearer credentials from one address are throttled too, and counted.
  Reply keys;
  for (int i = 0; i < 60 && keys.status != 429; ++i) keys = call(stack, "GET", "/devices", "chk_wrong" + std::to_string(i), nullptr, "198.51.100.50");
  EXPECT_EQ(keys.status, 429);
  EXPECT_FALSE(keys.retry_after.empty());
  // ... but a valid key from that same address still works: guessers cannot lock its holders out.
  EXPECT_EQ(call(stack, "GET", "/devices", stack.api_key(), nullptr, "198.51.100.50").status, 200);
  auto st = call(stack, "GET", "/status", stack.api_key());
  EXPECT_GT(st.obj().at("credentials").as_object().at("failed_logins").as_int64(), 10);
  EXPECT_GT(st.obj().at("credentials").as_object().at("failed_keys").as_int64(), 5);
}

TEST_F(AccountsApi, AChangeIsAuditedWithBeforeAndAfterAndSecretsRedacted) {
  auto d = call(stack, "POST", "/devices", stack.api_key(), json::object{{"id", "861234567890123"}, {"name", "东门车棚 1号桩"}});
  ASSERT_EQ(d.status, 201);
  std::string token(d.obj().at("token_hex").as_string());
  ASSERT_EQ(call(stack, "POST", "/devices/861234567890123/disable", stack.api_key(), nullptr, "203.0.113.5").status, 200);
  auto a = call(stack, "GET", "/audit?target_type=device&target_id=861234567890123&sort=-id", stack.api_key());
  ASSERT_EQ(a.status, 200);
  auto& items = a.obj().at("items").as_array();
  ASSERT_EQ(items.size(), 2u);
  auto& dis = items[0].as_object();
  EXPECT_EQ(dis.at("action").as_string(), "device.disable");
  EXPECT_EQ(dis.at("actor").as_string(), "key:test");
  EXPECT_EQ(dis.at("address").as_string(), "203.0.113.5");
  EXPECT_TRUE(dis.at("before").as_object().at("enabled").as_bool());
  EXPECT_FALSE(dis.at("after").as_object().at("enabled").as_bool());
  auto& created = items[1].as_object();
  EXPECT_EQ(created.at("action").as_string(), "device.create");
  EXPECT_TRUE(created.at("before").is_null());
  EXPECT_EQ(json::serialize(a.body).find(token), std::string::npos);   // the token shown once is not in the trail
  // A refused change leaves no entry.
  call(stack, "PUT", "/devices/861234567890123/plan", stack.api_key(), json::object{{"plan_id", 999}});
  EXPECT_EQ(call(stack, "GET", "/audit?action=device.plan", stack.api_key()).obj().at("total").as_int64(), 0);
  // Money an operator moves is in the trail too.
  auto rider = call(stack, "POST", "/riders", stack.api_key(), json::object{{"name", "赵六"}});
  std::string rid = std::to_string(rider.obj().at("id").as_int64());
  ASSERT_EQ(call(stack, "POST", "/riders/" + rid + "/topups", stack.api_key(), json::object{{"amount_fen", 1000}}).status, 200);
  auto t = call(stack, "GET", "/audit?action=rider.topup&target_id=" + rid, stack.api_key());
  ASSERT_EQ(t.obj().at("total").as_int64(), 1);
  auto& e = t.obj().at("items").as_array()[0].as_object();
  EXPECT_EQ(e.at("before").as_object().at("balance_fen").as_int64(), 0);
  EXPECT_EQ(e.at("after").as_object().at("balance_fen").as_int64(), 1000);
}

TEST_F(AccountsApi, NobodyGrantsWhatTheyDoNotHold) {
  // A role manager with only some permissions.
  auto role = call(stack, "POST", "/roles", stack.api_key(),
                   json::object{{"key", "site_lead"}, {"name", "站点主管"}, {"permissions", json::array{"roles.view", "roles.manage", "accounts.manage", "accounts.view", "devices.view"}}});
  ASSERT_EQ(role.status, 201) << json::serialize(role.body);
  std::string t = person("lead", json::array{"site_lead"});
  EXPECT_EQ(code(call(stack, "POST", "/roles", t, json::object{{"key", "more"}, {"name", "更多"}, {"permissions", json::array{"devices.delete"}}})),
            "permission_exceeds");
  EXPECT_EQ(call(stack, "POST", "/roles", t, json::object{{"key", "less"}, {"name", "更少"}, {"permissions", json::array{"devices.view"}}}).status, 201);
  EXPECT_EQ(code(call(stack, "POST", "/accounts", t,
                      json::object{{"name", "boss"}, {"roles", json::array{"platform_admin"}}, {"initial_password", "初始密码-0001"}})),
            "role_exceeds");
  EXPECT_EQ(code(call(stack, "POST", "/keys", t, json::object{{"name", "x"}, {"roles", json::array{"less"}}})), "forbidden");
}

TEST_F(AccountsApi, ServiceKeysAreManagedThroughTheApi) {
  auto k = call(stack, "POST", "/keys", stack.api_key(), json::object{{"name", "ota-ci"}, {"roles", json::array{"service_ota"}}});
  ASSERT_EQ(k.status, 201) << json::serialize(k.body);
  std::string key(k.obj().at("key").as_string());
  int64_t id = k.obj().at("account").as_object().at("id").as_int64();
  EXPECT_EQ(call(stack, "GET", "/firmware", key).status, 200);
  EXPECT_EQ(code(call(stack, "GET", "/riders", key)), "forbidden");
  ASSERT_EQ(call(stack, "POST", "/keys/" + std::to_string(id) + "/revoke", stack.api_key()).status, 200);
  EXPECT_EQ(call(stack, "GET", "/firmware", key).status, 401);
}

TEST(AccountsApiExpiry, AnExpiredTokenIsRefused) {
  TempDir dir{"accounts-expiry"};
  Stack stack{dir, {"--access-ttl", "1"}};
  auto c = call(stack, "POST", "/accounts", stack.api_key(),
                json::object{{"name", "zhou"}, {"roles", json::array{"finance"}}, {"initial_password", "初始密码-0001"}});
  ASSERT_EQ(c.status, 201);
  auto l = call(stack, "POST", "/auth/login", "", json::object{{"name", "zhou"}, {"password", "初始密码-0001"}});
  std::string t(l.obj().at("access_token").as_string());
  EXPECT_EQ(call(stack, "GET", "/me", t).status, 200);
  std::this_thread::sleep_for(std::chrono::milliseconds(2100));   // the shortest lifetime the flag takes is 1 s
  EXPECT_EQ(code(call(stack, "GET", "/me", t)), "token_expired");
}

// Every registered route (from the served OpenAPI document): no credential → 401; a credential without
// the route's permission → 403; unknown ids → 404; a body with an unknown field → 400 naming it.
TEST_F(AccountsApi, EveryRouteChecksCredentialsPermissionsIdsAndBodies) {
  auto doc = call(stack, "GET", "/openapi.json", "");
  ASSERT_EQ(doc.status, 200);
  auto role = call(stack, "POST", "/roles", stack.api_key(),
                   json::object{{"key", "auditor"}, {"name", "审计"}, {"permissions", json::array{"audit.view"}}});
  ASSERT_EQ(role.status, 201);
  auto k = call(stack, "POST", "/keys", stack.api_key(), json::object{{"name", "auditor"}, {"roles", json::array{"auditor"}}});
  std::string weak(k.obj().at("key").as_string());
  // A token that was valid and is revoked (logged out).
  std::string revoked = person("revoked", json::array{"platform_admin"});
  ASSERT_EQ(call(stack, "POST", "/auth/logout", revoked).status, 200);
  int routes = 0;
  for (auto& [path, item] : doc.obj().at("paths").as_object()) {
    for (auto& [method, op_v] : item.as_object()) {
      auto& op = op_v.as_object();
      std::string m(method);
      for (auto& ch : m) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
      std::string p = unknown_ids(std::string(path));
      std::string what = m + " " + std::string(path);
      ++routes;
      bool is_public = op.at("x-scope").as_string() == "public";
      if (is_public) continue;
      // Each route's strangers come from their own address: unknown credentials are throttled per source.
      std::string stranger = "198.18." + std::to_string(routes / 250) + "." + std::to_string(routes % 250 + 1);
      EXPECT_EQ(call(stack, m, p, "", nullptr, stranger).status, 401) << what;
      EXPECT_EQ(call(stack, m, p, "cha_expired_or_never_issued", nullptr, stranger).status, 401) << what;
      EXPECT_EQ(code(call(stack, m, p, revoked, nullptr, stranger)), "unauthorized") << what;
      bool needs = op.at("x-permission").is_string() && op.at("x-permission").as_string() != "audit.view";
      if (needs) EXPECT_EQ(code(call(stack, m, p, weak)), "forbidden") << what;
      bool has_ids = std::string(path).find('{') != std::string::npos;
      bool has_body = op.contains("requestBody");
      auto& schema = has_body ? op.at("requestBody").as_object().at("content").as_object().at("application/json").as_object().at("schema").as_object()
                              : json::object{};
      if (has_body && schema.contains("properties")) {
        auto r = call(stack, m, p, stack.api_key(), json::object{{"no_such_field", 1}});
        EXPECT_EQ(r.status, 400) << what;
        EXPECT_TRUE(r.body.is_object() && r.obj().contains("field")) << what << " " << json::serialize(r.body);
      }
      if (has_ids && !has_body) {
        auto r = call(stack, m, p, stack.api_key());
        EXPECT_EQ(r.status, 404) << what << " " << json::serialize(r.body);
      }
      if (has_ids) {
        std::string bad = std::string(path);
        for (auto [pp, v] : {std::pair<std::string, std::string>{"{device}", "x1"}, {"{id}", "0"}, {"{uid}", "zz"}})
          for (auto at = bad.find(pp); at != std::string::npos; at = bad.find(pp)) bad.replace(at, pp.size(), v);
        auto r = call(stack, m, bad.substr(7), stack.api_key());
        EXPECT_EQ(r.status, 400) << what;
        EXPECT_EQ(code(r), "bad_id") << what;
      }
    }
  }
  EXPECT_GT(routes, 50);
}

// The document in the repository is the one the core serves: a route added without regenerating it
// (chargehub-core openapi > docs/openapi.json) or a stale entry fails here.
TEST_F(AccountsApi, TheOpenApiDocumentInTheRepositoryMatchesTheRoutes) {
  auto served = call(stack, "GET", "/openapi.json", "");
  ASSERT_EQ(served.status, 200);
  auto kept = json::parse(read_file(source("docs/openapi.json")));
  std::set<std::string> a, b;
  for (auto& [p, item] : served.obj().at("paths").as_object())
    for (auto& [m, op] : item.as_object()) a.insert(std::string(m) + " " + std::string(p));
  for (auto& [p, item] : kept.as_object().at("paths").as_object())
    for (auto& [m, op] : item.as_object()) b.insert(std::string(m) + " " + std::string(p));
  for (auto& r : a) EXPECT_TRUE(b.count(r)) << "registered but not in docs/openapi.json: " << r;
  for (auto& r : b) EXPECT_TRUE(a.count(r)) << "in docs/openapi.json but not registered: " << r;
  EXPECT_EQ(served.body, kept) << "docs/openapi.json is stale: regenerate it with `chargehub-core openapi > docs/openapi.json`";
}

// The happy paths of the management routes the other tests do not walk.
TEST_F(AccountsApi, AccountsAndRolesAreEditedListedAndDeleted) {
  auto perms = call(stack, "GET", "/permissions", stack.api_key());
  ASSERT_EQ(perms.status, 200);
  EXPECT_GT(perms.obj().at("items").as_array().size(), 30u);
  auto role = call(stack, "POST", "/roles", stack.api_key(),
                   json::object{{"key", "night_shift"}, {"name", "夜班"}, {"permissions", json::array{"devices.view"}}});
  ASSERT_EQ(role.status, 201);
  std::string rid = std::to_string(role.obj().at("id").as_int64());
  auto edited = call(stack, "PATCH", "/roles/" + rid, stack.api_key(),
                     json::object{{"name", "夜班值守"}, {"permissions", json::array{"devices.view", "sessions.view"}}});
  ASSERT_EQ(edited.status, 200) << json::serialize(edited.body);
  EXPECT_EQ(edited.obj().at("permissions").as_array().size(), 2u);
  auto roles = call(stack, "GET", "/roles?size=100", stack.api_key());
  EXPECT_GE(roles.obj().at("total").as_int64(), 8);   // seven built in and this one
  auto acc = call(stack, "POST", "/accounts", stack.api_key(),
                  json::object{{"name", "chen"}, {"display_name", "陈"}, {"roles", json::array{"night_shift"}}, {"initial_password", "初始密码-0001"}});
  ASSERT_EQ(acc.status, 201);
  std::string aid = std::to_string(acc.obj().at("id").as_int64());
  EXPECT_EQ(code(call(stack, "DELETE", "/roles/" + rid, stack.api_key())), "role_in_use");
  auto patched = call(stack, "PATCH", "/accounts/" + aid, stack.api_key(), json::object{{"phone", "13900000001"}, {"roles", json::array{"finance"}}});
  ASSERT_EQ(patched.status, 200) << json::serialize(patched.body);
  EXPECT_EQ(patched.obj().at("phone").as_string(), "13900000001");
  EXPECT_EQ(call(stack, "GET", "/accounts/" + aid, stack.api_key()).obj().at("roles").as_array()[0].as_string(), "finance");
  EXPECT_EQ(call(stack, "DELETE", "/roles/" + rid, stack.api_key()).status, 200);
  ASSERT_EQ(call(stack, "POST", "/accounts/" + aid + "/freeze", stack.api_key()).status, 200);
  auto unfrozen = call(stack, "POST", "/accounts/" + aid + "/unfreeze", stack.api_key());
  EXPECT_FALSE(unfrozen.obj().at("frozen").as_bool());
  auto reset = call(stack, "POST", "/accounts/" + aid + "/password", stack.api_key(), json::object{{"initial_password", "重置密码-0002"}});
  ASSERT_EQ(reset.status, 200);
  EXPECT_TRUE(reset.obj().at("must_change_password").as_bool());
  EXPECT_EQ(call(stack, "POST", "/auth/login", "", json::object{{"name", "chen"}, {"password", "重置密码-0002"}}).status, 200);
  auto list = call(stack, "GET", "/accounts?kind=person&sort=-id&size=1", stack.api_key());
  ASSERT_EQ(list.status, 200);
  EXPECT_EQ(list.obj().at("items").as_array().size(), 1u);
  EXPECT_EQ(list.obj().at("items").as_array()[0].as_object().at("name").as_string(), "chen");
  EXPECT_EQ(code(call(stack, "GET", "/accounts?sort=password", stack.api_key())), "bad_field");
  auto riders = call(stack, "GET", "/riders?q=%E5%BC%A0", stack.api_key());   // 张
  EXPECT_EQ(riders.status, 200);
  auto status = call(stack, "GET", "/status", stack.api_key());
  EXPECT_TRUE(status.obj().at("mqtt_connected").as_bool());
  EXPECT_EQ(call(stack, "GET", "/health", "").body, json::value(json::object{{"ok", true}}));   // nothing else to strangers
}

// Data scope through the API (docs/agents.md): an agent's caller lists only its own devices, another
// agent's device answers 404 to reads and changes alike, and firmware is the platform's. The agents and
// the account's agent are set by SQL (their use cases are elsewhere).
TEST_F(AccountsApi, AnAgentsCallerSeesItsOwnAndAForeignIdIsNotFound) {
  for (const char* id : {"861234567890001", "861234567890002"})
    ASSERT_EQ(call(stack, "POST", "/devices", stack.api_key(), json::object{{"id", id}, {"name", "桩"}}).status, 201);
  auto role = call(stack, "POST", "/roles", stack.api_key(),
                   json::object{{"key", "agent_ops"}, {"name", "代理运维"},
                                {"permissions", json::array{"devices.view", "devices.control", "firmware.view"}}});
  ASSERT_EQ(role.status, 201) << json::serialize(role.body);
  {
    auto db = chargehub::core::sql::open(stack.db_url());
    db->exec("INSERT INTO agent (id, parent_id, level, name, created_at, updated_at) VALUES (1, NULL, 1, 'A', 0, 0), "
             "(2, NULL, 1, 'C', 0, 0)");
    db->exec("UPDATE device SET agent_id = 1 WHERE id = '861234567890001'");
    db->exec("UPDATE device SET agent_id = 2 WHERE id = '861234567890002'");
  }
  std::string t = person("agent-a", json::array{"agent_ops"});
  {
    auto db = chargehub::core::sql::open(stack.db_url());
    db->exec("UPDATE account SET agent_id = 1 WHERE name = 'agent-a'");
  }
  auto list = call(stack, "GET", "/devices", t);
  ASSERT_EQ(list.status, 200) << json::serialize(list.body);
  EXPECT_EQ(list.obj().at("total").as_int64(), 1) << json::serialize(list.body);
  auto own = call(stack, "GET", "/devices/861234567890001", t);
  ASSERT_EQ(own.status, 200);
  EXPECT_EQ(own.obj().at("agent_id").as_int64(), 1);
  EXPECT_EQ(code(call(stack, "GET", "/devices/861234567890002", t)), "device_not_found");
  auto off = call(stack, "POST", "/devices/861234567890002/disable", t);
  EXPECT_EQ(off.status, 404);
  EXPECT_EQ(code(off), "device_not_found");
  EXPECT_EQ(call(stack, "GET", "/devices/861234567890002/commands", t).status, 404);
  // The platform still sees both; the agent's caller sees no firmware.
  EXPECT_EQ(call(stack, "GET", "/devices", stack.api_key()).obj().at("total").as_int64(), 2);
  auto fw = call(stack, "GET", "/firmware", t);
  ASSERT_EQ(fw.status, 200);
  EXPECT_EQ(fw.obj().at("total").as_int64(), 0);
  EXPECT_EQ(call(stack, "GET", "/firmware/1", t).status, 404);
}
