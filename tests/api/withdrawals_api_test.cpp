// Withdrawals and system configuration over real HTTP against a real core (docs/agents.md): an agent's
// admin requests, the platform's finance approves and pays, the audit trail shows each step with the
// withdrawal before and after; an agent cannot decide, the platform cannot request, another agent's
// withdrawal is not found; the limits come from PUT /settings. The agents, their money and the accounts'
// agent are written into the core's database directly (the agents' own use cases are another part).
#include <gtest/gtest.h>

#include "db/db.hpp"
#include "stack.hpp"

using namespace chargehub::testing;
namespace json = boost::json;
namespace sql = chargehub::core::sql;

namespace {

using Reply = ApiReply;

// HTTP with any bearer credential and, behind the trusted proxy, any client address (Stack::call).
Reply call(const Stack& s, const std::string& method, const std::string& path, const std::string& bearer, const json::value& body = nullptr,
           const std::string& forwarded_for = "") {
  return s.call(method, path, bearer, body, forwarded_for);
}

constexpr int64_t A = 1, C = 2;   // two first-level agents

struct WithdrawalsApi : ::testing::Test {
  TempDir dir{"withdrawals-api"};
  Stack stack{dir};
  std::unique_ptr<sql::Db> db = sql::open("sqlite://" + stack.db().string());

  void SetUp() override {
    for (int64_t id : {A, C}) {
      db->prepare("INSERT INTO agent (id, level, name, share_bp, created_at, updated_at) VALUES (?, 1, ?, 3000, 0, 0)")
          .args(id, "运营商" + std::to_string(id))
          .run();
      db->prepare("INSERT INTO agent_balance (agent_id, balance_fen) VALUES (?, 50000)").args(id).run();
      db->prepare("INSERT INTO agent_ledger (agent_id, kind, amount_fen, note, created_at) VALUES (?, 'adjustment', 50000, 'test', 0)")
          .args(id)
          .run();
    }
  }

  // An operator account with `role`, of `agent` (none: the platform's); its token after the first
  // password change.
  std::string person(const std::string& name, const std::string& role, std::optional<int64_t> agent) {
    const std::string pw = "初始密码-0001";
    auto c = call(stack, "POST", "/accounts", stack.api_key(), json::object{{"name", name}, {"roles", json::array{json::string(role)}}, {"initial_password", pw}});
    EXPECT_EQ(c.status, 201) << json::serialize(c.body);
    if (agent) db->prepare("UPDATE account SET agent_id = ? WHERE name = ?").args(*agent, name).run();
    auto l = call(stack, "POST", "/auth/login", "", json::object{{"name", name}, {"password", pw}});
    EXPECT_EQ(l.status, 200) << json::serialize(l.body);
    std::string t(l.obj().at("access_token").as_string());
    EXPECT_EQ(call(stack, "POST", "/auth/password", t, json::object{{"old_password", pw}, {"new_password", pw + "-新"}}).status, 200);
    auto l2 = call(stack, "POST", "/auth/login", "", json::object{{"name", name}, {"password", pw + "-新"}});
    return std::string(l2.obj().at("access_token").as_string());
  }
  std::pair<int64_t, int64_t> money(int64_t agent) {
    auto st = db->prepare("SELECT balance_fen, held_fen FROM agent_balance WHERE agent_id = ?");
    st.args(agent);
    st.step();
    std::pair<int64_t, int64_t> out{st.i64(0), st.i64(1)};
    st.run();
    return out;
  }
};

}  // namespace

TEST_F(WithdrawalsApi, AgentRequestsFinanceApprovesAndPaysEachStepAudited) {
  auto admin_a = person("a_admin", "agent_admin", A);
  auto admin_c = person("c_admin", "agent_admin", C);
  auto fin = person("fin", "finance", std::nullopt);

  auto w = call(stack, "POST", "/withdrawals", admin_a, json::object{{"amount_fen", 20000}, {"note", "十一月结算"}});
  ASSERT_EQ(w.status, 201) << json::serialize(w.body);
  EXPECT_EQ(w.obj().at("state").as_string(), "pending");
  EXPECT_EQ(w.obj().at("agent_id").as_int64(), A);
  EXPECT_EQ(w.obj().at("requested_by").as_string(), "account:a_admin");
  const std::string id = std::to_string(w.obj().at("id").as_int64());
  EXPECT_EQ(money(A), std::make_pair(int64_t{50000}, int64_t{20000}));

  // An agent cannot decide; the platform cannot request; another agent does not see it.
  auto self_approve = call(stack, "POST", "/withdrawals/" + id + "/approve", admin_a);
  EXPECT_EQ(self_approve.status, 403);
  EXPECT_EQ(self_approve.code(), "forbidden");
  auto by_platform = call(stack, "POST", "/withdrawals", stack.api_key(), json::object{{"amount_fen", 20000}});
  EXPECT_EQ(by_platform.status, 403);
  EXPECT_EQ(by_platform.code(), "agent_only");
  EXPECT_EQ(call(stack, "POST", "/withdrawals", fin, json::object{{"amount_fen", 20000}}).code(), "forbidden");
  auto foreign = call(stack, "GET", "/withdrawals/" + id, admin_c);
  EXPECT_EQ(foreign.status, 404);
  EXPECT_EQ(foreign.code(), "withdrawal_not_found");
  EXPECT_EQ(call(stack, "GET", "/withdrawals", admin_c).obj().at("total").as_int64(), 0);
  EXPECT_EQ(call(stack, "GET", "/withdrawals", admin_a).obj().at("total").as_int64(), 1);

  // Paying before approving is refused; approve, then pay.
  auto early = call(stack, "POST", "/withdrawals/" + id + "/pay", fin, json::object{{"reference", "BANK-1"}});
  EXPECT_EQ(early.status, 409);
  EXPECT_EQ(early.code(), "withdrawal_state");
  auto ap = call(stack, "POST", "/withdrawals/" + id + "/approve", fin);
  ASSERT_EQ(ap.status, 200) << json::serialize(ap.body);
  EXPECT_EQ(ap.obj().at("state").as_string(), "approved");
  EXPECT_EQ(ap.obj().at("decided_by").as_string(), "account:fin");
  auto paid = call(stack, "POST", "/withdrawals/" + id + "/pay", fin, json::object{{"reference", "BANK-20261130-0001"}});
  ASSERT_EQ(paid.status, 200) << json::serialize(paid.body);
  EXPECT_EQ(paid.obj().at("state").as_string(), "paid");
  EXPECT_EQ(paid.obj().at("reference").as_string(), "BANK-20261130-0001");
  EXPECT_EQ(money(A), std::make_pair(int64_t{30000}, int64_t{0}));
  EXPECT_EQ(call(stack, "GET", "/withdrawals/" + id, admin_a).obj().at("state").as_string(), "paid");
  EXPECT_EQ(call(stack, "GET", "/withdrawals?state=paid&agent_id=1", fin).obj().at("total").as_int64(), 1);
  EXPECT_EQ(call(stack, "GET", "/withdrawals?state=flying", fin).code(), "bad_field");

  auto trail = call(stack, "GET", "/audit?target_type=withdrawal&target_id=" + id + "&sort=id", stack.api_key());
  ASSERT_EQ(trail.status, 200) << json::serialize(trail.body);
  auto& items = trail.obj().at("items").as_array();
  ASSERT_EQ(items.size(), 3u);
  auto& req = items[0].as_object();
  EXPECT_EQ(req.at("action").as_string(), "withdrawal.request");
  EXPECT_EQ(req.at("actor").as_string(), "account:a_admin");
  EXPECT_TRUE(req.at("before").is_null());
  EXPECT_EQ(req.at("after").as_object().at("state").as_string(), "pending");
  auto& app = items[1].as_object();
  EXPECT_EQ(app.at("action").as_string(), "withdrawal.approve");
  EXPECT_EQ(app.at("actor").as_string(), "account:fin");
  EXPECT_EQ(app.at("before").as_object().at("state").as_string(), "pending");
  EXPECT_EQ(app.at("after").as_object().at("state").as_string(), "approved");
  auto& pay = items[2].as_object();
  EXPECT_EQ(pay.at("action").as_string(), "withdrawal.pay");
  EXPECT_EQ(pay.at("before").as_object().at("state").as_string(), "approved");
  EXPECT_EQ(pay.at("after").as_object().at("state").as_string(), "paid");
  EXPECT_EQ(pay.at("after").as_object().at("reference").as_string(), "BANK-20261130-0001");
  // The refused steps recorded nothing.
  EXPECT_EQ(call(stack, "GET", "/audit?action=withdrawal.pay", stack.api_key()).obj().at("total").as_int64(), 1);
}

TEST_F(WithdrawalsApi, RejectionReleasesAndRefusalsHaveTheirStatuses) {
  auto admin_a = person("a_admin", "agent_admin", A);
  auto fin = person("fin", "finance", std::nullopt);
  auto w = call(stack, "POST", "/withdrawals", admin_a, json::object{{"amount_fen", 40000}});
  ASSERT_EQ(w.status, 201);
  const std::string id = std::to_string(w.obj().at("id").as_int64());
  auto broke = call(stack, "POST", "/withdrawals", admin_a, json::object{{"amount_fen", 10001}});
  EXPECT_EQ(broke.status, 402);
  EXPECT_EQ(broke.code(), "insufficient_funds");
  auto small = call(stack, "POST", "/withdrawals", admin_a, json::object{{"amount_fen", 999}});
  EXPECT_EQ(small.status, 400);
  EXPECT_EQ(small.code(), "amount_too_small");
  auto rj = call(stack, "POST", "/withdrawals/" + id + "/reject", fin, json::object{{"note", "收款账户与开户名不符"}});
  ASSERT_EQ(rj.status, 200) << json::serialize(rj.body);
  EXPECT_EQ(rj.obj().at("state").as_string(), "rejected");
  EXPECT_EQ(rj.obj().at("note").as_string(), "收款账户与开户名不符");
  EXPECT_EQ(money(A), std::make_pair(int64_t{50000}, int64_t{0}));
  EXPECT_EQ(call(stack, "POST", "/withdrawals/" + id + "/approve", fin).code(), "withdrawal_state");
  // Two more today (the default daily count is 3), then 409.
  ASSERT_EQ(call(stack, "POST", "/withdrawals", admin_a, json::object{{"amount_fen", 1000}}).status, 201);
  ASSERT_EQ(call(stack, "POST", "/withdrawals", admin_a, json::object{{"amount_fen", 1000}}).status, 201);
  auto many = call(stack, "POST", "/withdrawals", admin_a, json::object{{"amount_fen", 1000}});
  EXPECT_EQ(many.status, 409);
  EXPECT_EQ(many.code(), "too_many_today");
}

TEST_F(WithdrawalsApi, SettingsAreThePlatformsAndAudited) {
  auto admin_a = person("a_admin", "agent_admin", A);
  auto fin = person("fin", "finance", std::nullopt);
  auto all = call(stack, "GET", "/settings", stack.api_key());
  ASSERT_EQ(all.status, 200) << json::serialize(all.body);
  bool seen = false;
  for (auto& s : all.obj().at("items").as_array())
    if (s.as_object().at("key").as_string() == "withdrawal.min_fen") {
      seen = true;
      EXPECT_EQ(s.as_object().at("value").as_string(), "1000");
      EXPECT_EQ(s.as_object().at("default_value").as_string(), "1000");
    }
  EXPECT_TRUE(seen);
  EXPECT_EQ(call(stack, "GET", "/settings", fin).code(), "forbidden");
  EXPECT_EQ(call(stack, "PUT", "/settings", admin_a, json::object{{"key", "withdrawal.min_fen"}, {"value", "1"}}).code(), "forbidden");
  EXPECT_EQ(call(stack, "PUT", "/settings", stack.api_key(), json::object{{"key", "withdrawal.nope"}, {"value", "1"}}).code(), "unknown_setting");
  auto bad = call(stack, "PUT", "/settings", stack.api_key(), json::object{{"key", "withdrawal.min_fen"}, {"value", "十元"}});
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(bad.code(), "bad_setting");
  auto set = call(stack, "PUT", "/settings", stack.api_key(), json::object{{"key", "withdrawal.min_fen"}, {"value", "30000"}});
  ASSERT_EQ(set.status, 200) << json::serialize(set.body);
  EXPECT_EQ(set.obj().at("value").as_string(), "30000");
  EXPECT_EQ(set.obj().at("previous_value").as_string(), "1000");
  auto small = call(stack, "POST", "/withdrawals", admin_a, json::object{{"amount_fen", 20000}});
  EXPECT_EQ(small.code(), "amount_too_small");
  auto trail = call(stack, "GET", "/audit?action=setting.update", stack.api_key());
  ASSERT_EQ(trail.obj().at("total").as_int64(), 1);
  auto& e = trail.obj().at("items").as_array()[0].as_object();
  EXPECT_EQ(e.at("target_type").as_string(), "setting");
  EXPECT_EQ(e.at("target_id").as_string(), "withdrawal.min_fen");
  EXPECT_EQ(e.at("after").as_object().at("previous_value").as_string(), "1000");
}
