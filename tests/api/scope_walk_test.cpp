// Data scope as a second-level agent meets it (issue 17): every registered route, walked with a
// second-level agent's token against another agent's ids, never shows or changes that agent's rows:
// 404 (or 403 where the role lacks the permission, or 400 where the body is refused before anything is
// loaded), never a success and never a conflict (which would tell the row exists). Every list the agent
// may read answers without the other agent's rows.
#include <gtest/gtest.h>

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

std::string login(const Stack& s, const std::string& name, const std::string& initial) {
  auto l = call(s, "POST", "/auth/login", "", json::object{{"name", name}, {"password", initial}});
  std::string t(l.body.as_object().at("access_token").as_string());
  EXPECT_EQ(call(s, "POST", "/auth/password", t, json::object{{"old_password", initial}, {"new_password", initial + "-新"}}).status, 200);
  auto l2 = call(s, "POST", "/auth/login", "", json::object{{"name", name}, {"password", initial + "-新"}});
  return std::string(l2.body.as_object().at("access_token").as_string());
}

}  // namespace

TEST(ScopeWalk, ASecondLevelAgentNeverSeesAnotherAgentsRowsOnAnyRoute) {
  TempDir dir{"scope-walk"};
  Stack stack{dir};
  const std::string key = stack.api_key();
  auto agent = [&](const std::string& bearer, const std::string& name, const std::string& admin) {
    auto r = call(stack, "POST", "/agents", bearer,
                  json::object{{"name", name}, {"share_bp", 3000}, {"admin_name", admin}, {"admin_password", "初始密码-" + admin}});
    EXPECT_EQ(r.status, 201) << json::serialize(r.body);
    return r.body.as_object();
  };
  // 丙方 (C): another first-level agent, with a station, a device, a rider and a card of its own.
  auto c = agent(key, "丙方运营", "c-admin");
  int64_t c_id = c.at("id").as_int64(), c_admin = c.at("admin").as_object().at("id").as_int64();
  std::string tc = login(stack, "c-admin", "初始密码-c-admin");
  auto st = call(stack, "POST", "/stations", tc, json::object{{"name", "丙方东门站"}, {"address", "丙方路 1 号"}});
  ASSERT_EQ(st.status, 201) << json::serialize(st.body);
  int64_t c_station = st.body.as_object().at("id").as_int64();
  const std::string c_device = "861234500000009";
  ASSERT_EQ(call(stack, "POST", "/devices", key, json::object{{"id", c_device}, {"name", "丙方 1号桩"}}).status, 201);
  ASSERT_EQ(call(stack, "POST", "/devices/assign", key, json::object{{"device_ids", json::array{c_device}}, {"station_id", c_station}}).status, 200);
  auto rider = call(stack, "POST", "/riders", tc, json::object{{"name", "丙方骑手"}, {"phone", "13700000009"}});
  ASSERT_EQ(rider.status, 201) << json::serialize(rider.body);
  int64_t c_rider = rider.body.as_object().at("id").as_int64();
  // The rider shows whose it is: registered by C's admin, C's.
  EXPECT_EQ(rider.body.as_object().at("agent_id").as_int64(), c_id);
  EXPECT_TRUE(call(stack, "POST", "/riders", key, json::object{{"name", "平台骑手"}}).body.as_object().at("agent_id").is_null());
  auto card = call(stack, "POST", "/cards", tc, json::object{{"uid", "C0C0C0C0"}, {"rider_id", c_rider}});
  ASSERT_EQ(card.status, 201) << json::serialize(card.body);

  // 甲方 (A) signs 乙方 (B); B's admin walks.
  auto a = agent(key, "甲方运营", "a-admin");
  std::string ta = login(stack, "a-admin", "初始密码-a-admin");
  agent(ta, "乙方代理", "b-admin");
  std::string tb = login(stack, "b-admin", "初始密码-b-admin");
  ASSERT_EQ(call(stack, "GET", "/devices", tb).status, 200);

  // C's ids by the resource a path names; other ids exist nowhere B may look.
  auto foreign = [&](const std::string& path, const std::string& param) -> std::string {
    if (param == "{device}") return c_device;
    if (param == "{uid}") return "C0C0C0C0";
    if (path.starts_with("/api/v1/agents/")) return std::to_string(c_id);
    if (path.starts_with("/api/v1/stations/")) return std::to_string(c_station);
    if (path.starts_with("/api/v1/riders/")) return std::to_string(c_rider);
    if (path.starts_with("/api/v1/accounts/")) return std::to_string(c_admin);
    return "987654321";
  };
  auto doc = call(stack, "GET", "/openapi.json", "");
  int walked = 0;
  for (auto& [path_v, item] : doc.body.as_object().at("paths").as_object()) {
    std::string path(path_v);
    for (auto& [method_v, op_v] : item.as_object()) {
      auto& op = op_v.as_object();
      if (op.at("x-scope").as_string() != "platform") continue;
      std::string m(method_v);
      for (auto& ch : m) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
      std::string p = path;
      for (std::string param : {"{device}", "{id}", "{uid}"})
        for (auto at = p.find(param); at != std::string::npos; at = p.find(param)) p.replace(at, param.size(), foreign(path, param));
      auto r = call(stack, m, p.substr(7), tb);
      std::string what = m + " " + p;
      std::string text = json::serialize(r.body);
      if (p == path) {   // no ids: a list or a creation
        if (m == "GET" && r.status == 200) {
          ++walked;
          EXPECT_EQ(text.find("丙方"), std::string::npos) << what << ": " << text;
          EXPECT_EQ(text.find(c_device), std::string::npos) << what;
        }
        continue;
      }
      ++walked;
      EXPECT_TRUE(r.status == 404 || (r.status == 403 && code(r) == "forbidden") ||
                  (r.status == 400 && (code(r) == "missing_field" || code(r) == "bad_field" || code(r) == "unknown_field" || code(r) == "bad_json")))
          << what << " answered " << r.status << " " << text;
      EXPECT_EQ(text.find("丙方"), std::string::npos) << what;
    }
  }
  EXPECT_GT(walked, 40);
  // Nothing of C's changed.
  auto dev = call(stack, "GET", "/devices/" + c_device, key);
  EXPECT_TRUE(dev.body.as_object().at("enabled").as_bool());
  EXPECT_EQ(call(stack, "GET", "/stations/" + std::to_string(c_station), tc).status, 200);
  (void)a;
}
