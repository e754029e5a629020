// Agents and stations as users meet them (issue 17, docs/agents.md): a real core process over real HTTP.
// The platform signs a first-level agent whose admin logs in, changes the initial password, signs a
// second-level agent, opens stations and places a device; the second-level agent's admin does not see
// its parent's other stations (404); a frozen agent's admin cannot log in.
#include <gtest/gtest.h>

#include "stack.hpp"

using namespace chargehub::testing;
namespace json = boost::json;

namespace {

std::string code(const ApiReply& r) { return r.code(); }

struct AgentsApi : ::testing::Test {
  TempDir dir{"agents-api"};
  Stack stack{dir};

  // Without credentials (the login).
  ApiReply anon(const std::string& path, const json::value& body) { return stack.api_raw("POST", path, json::serialize(body), "application/json", ""); }
  // Logs in with the initial password, changes it, logs in again; the token.
  std::string first_login(const std::string& name, const std::string& initial) {
    auto l = anon("/auth/login", json::object{{"name", name}, {"password", initial}});
    EXPECT_EQ(l.status, 200) << json::serialize(l.body);
    if (l.status != 200) return "";
    EXPECT_TRUE(l.obj().at("must_change_password").as_bool());
    std::string t(l.obj().at("access_token").as_string());
    EXPECT_EQ(code(stack.api("GET", "/stations", nullptr, t)), "password_change_required");
    auto ch = stack.api("POST", "/auth/password", json::object{{"old_password", initial}, {"new_password", "新密码-" + name}}, t);
    EXPECT_EQ(ch.status, 200) << json::serialize(ch.body);
    return login(name, "新密码-" + name);
  }
  std::string login(const std::string& name, const std::string& pw) {
    auto l = anon("/auth/login", json::object{{"name", name}, {"password", pw}});
    EXPECT_EQ(l.status, 200) << json::serialize(l.body);
    return l.status == 200 ? std::string(l.obj().at("access_token").as_string()) : "";
  }
  static int64_t id(const ApiReply& r) { return r.obj().at("id").as_int64(); }
};

}  // namespace

TEST_F(AgentsApi, AFirstLevelAgentSignsASubAgentAndPlacesDevicesWhichTheSubAgentAloneSees) {
  // The platform signs 杭州电驴 with a generated initial password, shown once.
  auto a = stack.api("POST", "/agents",
                     json::object{{"name", "杭州电驴运营有限公司"}, {"share_bp", 6000}, {"contact_name", "王经理"}, {"contact_phone", "13900000000"},
                                  {"settlement_account", "招商银行 6225 8800 0000 0000"}, {"admin_name", "hz-admin"}});
  ASSERT_EQ(a.status, 201) << json::serialize(a.body);
  EXPECT_EQ(a.obj().at("level").as_int64(), 1);
  EXPECT_EQ(a.obj().at("admin_name").as_string(), "hz-admin");
  EXPECT_EQ(a.obj().at("admin").as_object().at("agent_id").as_int64(), id(a));
  std::string initial(a.obj().at("initial_password").as_string());
  EXPECT_GE(initial.size(), 8u);
  std::string ta = first_login("hz-admin", initial);
  ASSERT_FALSE(ta.empty());
  // The initial password is shown once: not in the audit trail, not in the log.
  auto audit = stack.api("GET", "/audit?action=agent.create");
  ASSERT_EQ(audit.status, 200) << json::serialize(audit.body);
  EXPECT_EQ(audit.obj().at("total").as_int64(), 1);
  EXPECT_EQ(json::serialize(audit.body).find(initial), std::string::npos);
  EXPECT_EQ(stack.core_log().find(initial), std::string::npos);

  // 杭州电驴 signs 西湖区代理点 (second level) and opens stations.
  auto b = stack.api("POST", "/agents",
                     json::object{{"name", "西湖区代理点"}, {"share_bp", 5000}, {"admin_name", "xh-admin"}, {"admin_password", "初始密码-xh-0001"}}, ta);
  ASSERT_EQ(b.status, 201) << json::serialize(b.body);
  EXPECT_EQ(b.obj().at("level").as_int64(), 2);
  EXPECT_EQ(b.obj().at("parent_id").as_int64(), id(a));
  EXPECT_EQ(code(stack.api("POST", "/agents", json::object{{"name", "超额代理"}, {"share_bp", 7000}, {"admin_name", "over-admin"}}, ta)),
            "share_above_parent");
  auto station = [&](const std::string& name, std::optional<int64_t> agent) {
    json::object body{{"name", name}, {"address", "浙江省杭州市下城区武林广场 1 号"}, {"lat_e6", 30274000}, {"lng_e6", 120155000},
                      {"open_hours", "00:00-24:00"}, {"photos", json::array{"https://img.example.cn/station/1.jpg"}}};
    if (agent) body["agent_id"] = *agent;
    auto r = stack.api("POST", "/stations", body, ta);
    EXPECT_EQ(r.status, 201) << json::serialize(r.body);
    return r;
  };
  auto sa = station("武林广场站", std::nullopt);
  auto sa2 = station("湖滨银泰站", std::nullopt);
  auto sb = station("文三路站", id(b));
  EXPECT_EQ(sa.obj().at("agent_id").as_int64(), id(a));
  EXPECT_EQ(sb.obj().at("agent_id").as_int64(), id(b));
  EXPECT_EQ(code(stack.api("POST", "/stations", json::object{{"name", "北极站"}, {"lat_e6", 80000000}, {"lng_e6", 120000000}}, ta)), "bad_station");

  // The platform gives a new device to 杭州电驴, which places it at 西湖区代理点's station.
  ASSERT_EQ(stack.api("POST", "/devices", json::object{{"id", "861234567890123"}, {"name", "文三路 1号桩"}}).status, 201);
  EXPECT_EQ(code(stack.api("POST", "/devices/assign", json::object{{"device_ids", json::array{"861234567890123"}}, {"station_id", id(sb)}}, ta)),
            "device_not_found");   // still the platform's
  ASSERT_EQ(stack.api("POST", "/devices/assign", json::object{{"device_ids", json::array{"861234567890123"}}, {"agent_id", id(a)}}).status, 200);
  auto placed = stack.api("POST", "/devices/assign", json::object{{"device_ids", json::array{"861234567890123"}}, {"station_id", id(sb)}}, ta);
  ASSERT_EQ(placed.status, 200) << json::serialize(placed.body);
  EXPECT_EQ(placed.obj().at("devices").as_array().at(0).as_object().at("agent_id").as_int64(), id(b));
  EXPECT_EQ(code(stack.api("DELETE", "/stations/" + std::to_string(id(sb)), nullptr, ta)), "station_in_use");

  // 西湖区代理点's admin sees its own station, not its parent's: 404, as if they did not exist.
  std::string tb = first_login("xh-admin", "初始密码-xh-0001");
  ASSERT_FALSE(tb.empty());
  auto mine = stack.api("GET", "/stations", nullptr, tb);
  ASSERT_EQ(mine.status, 200);
  EXPECT_EQ(mine.obj().at("total").as_int64(), 1);
  EXPECT_EQ(stack.api("GET", "/stations", nullptr, ta).obj().at("total").as_int64(), 3);
  for (auto* s : {&sa, &sa2}) {
    std::string path = "/stations/" + std::to_string(id(*s));
    auto r = stack.api("GET", path, nullptr, tb);
    EXPECT_EQ(r.status, 404);
    EXPECT_EQ(code(r), "station_not_found");
    EXPECT_EQ(stack.api("PATCH", path, json::object{{"name", "改名"}}, tb).status, 404);
    EXPECT_EQ(stack.api("DELETE", path, nullptr, tb).status, 404);
  }
  EXPECT_EQ(stack.api("GET", "/agents/" + std::to_string(id(a)), nullptr, tb).status, 404);
  EXPECT_EQ(stack.api("GET", "/stations/" + std::to_string(id(sb)), nullptr, tb).status, 200);
  EXPECT_EQ(code(stack.api("POST", "/agents", json::object{{"name", "三级代理"}, {"admin_name", "third-admin"}}, tb)), "too_deep");

  // Moving 杭州电驴's station to 西湖区代理点 makes it visible there.
  ASSERT_EQ(stack.api("POST", "/stations/" + std::to_string(id(sa2)) + "/move", json::object{{"agent_id", id(b)}}, ta).status, 200);
  EXPECT_EQ(stack.api("GET", "/stations/" + std::to_string(id(sa2)), nullptr, tb).status, 200);

  // The platform freezes 杭州电驴: its admin and its sub-agent's cannot log in, their tokens stop working.
  auto f = stack.api("POST", "/agents/" + std::to_string(id(a)) + "/freeze");
  ASSERT_EQ(f.status, 200) << json::serialize(f.body);
  EXPECT_TRUE(f.obj().at("frozen").as_bool());
  auto denied = anon("/auth/login", json::object{{"name", "hz-admin"}, {"password", "新密码-hz-admin"}});
  EXPECT_EQ(denied.status, 403);
  EXPECT_EQ(code(denied), "account_frozen");
  EXPECT_EQ(code(anon("/auth/login", json::object{{"name", "xh-admin"}, {"password", "新密码-xh-admin"}})), "account_frozen");
  EXPECT_EQ(code(stack.api("GET", "/stations", nullptr, ta)), "unauthorized");   // revoked by the freeze
  ASSERT_EQ(stack.api("POST", "/agents/" + std::to_string(id(a)) + "/unfreeze").status, 200);
  EXPECT_FALSE(login("hz-admin", "新密码-hz-admin").empty());
}
