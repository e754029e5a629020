// The admin API as its users see it: real core process, real broker with our plugin, real SQLite.
#include <gtest/gtest.h>

#include "stack.hpp"

using namespace chargehub::testing;
namespace json = boost::json;

namespace {
struct ApiTest : ::testing::Test {
  TempDir dir{"api"};
  Stack stack{dir};
};
}  // namespace

TEST_F(ApiTest, HealthIsOpenEverythingElseNeedsTheKey) {
  EXPECT_EQ(stack.api("GET", "/health", nullptr, "-").status, 200);
  auto r = stack.api_raw("GET", "/devices", "", "", "");
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(r.obj().at("error").as_string(), "unauthorized");
  EXPECT_EQ(stack.api("GET", "/devices", nullptr, "wrong-key").status, 401);
  EXPECT_EQ(stack.api("GET", "/devices").status, 200);
}

TEST_F(ApiTest, CreatingADeviceShowsItsTokenOnceAndStoresOnlyTheHash) {
  auto r = stack.api("POST", "/devices", json::object{{"id", "861234567890123"}, {"name", "东门车棚 1号桩"}});
  ASSERT_EQ(r.status, 201);
  std::string token = std::string(r.obj().at("token_hex").as_string());
  EXPECT_EQ(token.size(), 48u);
  EXPECT_EQ(std::string(r.obj().at("mqtt_password").as_string()).substr(0, 4), "tok:");
  auto g = stack.api("GET", "/devices/861234567890123");
  ASSERT_EQ(g.status, 200);
  EXPECT_EQ(g.obj().at("name").as_string(), "东门车棚 1号桩");
  EXPECT_FALSE(g.obj().contains("token_hex"));
  EXPECT_EQ(g.obj().at("auth").as_string(), "token");
  EXPECT_EQ(read_file(stack.db()).find(token), std::string::npos);
  EXPECT_EQ(stack.core_log().find(token), std::string::npos);
  auto again = stack.api("POST", "/devices", json::object{{"id", "861234567890123"}});
  EXPECT_EQ(again.status, 409);
  EXPECT_EQ(again.obj().at("error").as_string(), "device_exists");
}

TEST_F(ApiTest, BadInputGetsAClearError) {
  auto bad_json = stack.api_raw("POST", "/riders", "{\"name\":", "application/json", stack.api_key());
  EXPECT_EQ(bad_json.status, 400);
  EXPECT_EQ(bad_json.obj().at("error").as_string(), "bad_json");
  EXPECT_EQ(stack.api_raw("POST", "/riders", "[1,2]", "application/json", stack.api_key()).status, 400);
  auto huge = stack.api_raw("POST", "/riders", std::string(2 * 1024 * 1024, 'x'), "application/json", stack.api_key());
  EXPECT_EQ(huge.status, 413);
  EXPECT_EQ(stack.api_raw("POST", "/riders", "{\"name\":\"\xff\xfe\"}", "application/json", stack.api_key()).status, 400);
  EXPECT_EQ(stack.api("POST", "/devices", json::object{{"id", "0123"}}).obj().at("error").as_string(), "bad_id");
  EXPECT_EQ(stack.api("POST", "/devices", json::object{{"id", "12345678901234567"}}).status, 400);
  EXPECT_EQ(stack.api("GET", "/sessions/99").status, 404);
  EXPECT_EQ(stack.api("GET", "/nowhere").obj().at("error").as_string(), "not_found");
  auto r = stack.api("POST", "/riders", json::object{{"name", "张三"}});
  int64_t id = r.obj().at("id").as_int64();
  auto topup = [&](json::value amount) { return stack.api("POST", "/riders/" + std::to_string(id) + "/topups", json::object{{"amount_fen", amount}}); };
  EXPECT_EQ(topup(-5).status, 400);
  EXPECT_EQ(topup(1.5).status, 400);
  EXPECT_EQ(topup("100").status, 400);
  EXPECT_EQ(topup(0).status, 400);
  EXPECT_EQ(stack.api("GET", "/health").obj().at("ok").as_bool(), true);   // still alive
}

TEST_F(ApiTest, WalletTopupsAndLedger) {
  auto r = stack.api("POST", "/riders", json::object{{"name", "李四"}, {"phone", "13900000000"}});
  ASSERT_EQ(r.status, 201);
  std::string base = "/riders/" + std::to_string(r.obj().at("id").as_int64());
  auto t = stack.api("POST", base + "/topups", json::object{{"amount_fen", 5000}, {"bonus_fen", 500}, {"note", "充50送5"}});
  ASSERT_EQ(t.status, 200);
  EXPECT_EQ(t.obj().at("balance_fen").as_int64(), 5500);
  EXPECT_EQ(t.obj().at("available_fen").as_int64(), 5500);
  auto l = stack.api("GET", base + "/ledger");
  EXPECT_EQ(l.obj().at("items").as_array().size(), 2u);
  EXPECT_EQ(stack.api("POST", "/riders/999/topups", json::object{{"amount_fen", 1}}).status, 404);
}

TEST_F(ApiTest, StartingNeedsAnOnlineDeviceAndMoney) {
  stack.api("POST", "/devices", json::object{{"id", "861234567890123"}});
  auto r = stack.api("POST", "/riders", json::object{{"name", "王五"}});
  int64_t rider = r.obj().at("id").as_int64();
  auto start = [&](json::object extra) {
    json::object b{{"device_id", "861234567890123"}, {"port", 1}, {"rider_id", rider}, {"amount_fen", 100}};
    for (auto& kv : extra) b[kv.key()] = kv.value();
    return stack.api("POST", "/sessions", b);
  };
  auto off = start({});
  EXPECT_EQ(off.status, 409);
  EXPECT_EQ(off.obj().at("error").as_string(), "device_offline");
  EXPECT_EQ(start({{"device_id", "5"}}).status, 404);
  EXPECT_EQ(start({{"amount_fen", 0}}).status, 400);
  EXPECT_EQ(start({{"port", "one"}}).status, 400);
  EXPECT_EQ(stack.api("GET", "/sessions?rider_id=" + std::to_string(rider)).obj().at("items").as_array().size(), 0u);
}

TEST_F(ApiTest, PricePlansAreValidatedAndAssigned) {
  auto bad = stack.api("POST", "/plans", json::object{{"name", "坏"}, {"kind", "time"}, {"fen_per_block", 0}});
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(bad.obj().at("error").as_string(), "bad_plan");
  auto p = stack.api("POST", "/plans", json::object{{"name", "按时计费"}, {"kind", "time"}, {"fen_per_block", 100}, {"block_minutes", 60}, {"cap_fen", 500}});
  ASSERT_EQ(p.status, 201);
  stack.api("POST", "/devices", json::object{{"id", "861234567890123"}});
  auto a = stack.api("PUT", "/devices/861234567890123/plan", json::object{{"plan_id", p.obj().at("id")}});
  ASSERT_EQ(a.status, 200);
  EXPECT_EQ(a.obj().at("plan_id"), p.obj().at("id"));
  EXPECT_EQ(stack.api("PUT", "/devices/861234567890123/plan", json::object{{"plan_id", 999}}).status, 404);
  EXPECT_EQ(stack.api("GET", "/plans").obj().at("items").as_array().size(), 2u);
}

TEST_F(ApiTest, DeviceLifecycleEnableDisableRotateDelete) {
  auto d = stack.api("POST", "/devices", json::object{{"id", "861234567890123"}});
  std::string old_token = std::string(d.obj().at("token_hex").as_string());
  auto lc = stack.api("PUT", "/devices/861234567890123/lifecycle", json::object{{"lifecycle", "in_stock"}});
  EXPECT_EQ(lc.obj().at("lifecycle").as_string(), "in_stock");
  EXPECT_EQ(stack.api("PUT", "/devices/861234567890123/lifecycle", json::object{{"lifecycle", "lost"}}).status, 400);
  EXPECT_FALSE(stack.api("POST", "/devices/861234567890123/disable").obj().at("enabled").as_bool());
  EXPECT_TRUE(stack.api("POST", "/devices/861234567890123/enable").obj().at("enabled").as_bool());
  auto rot = stack.api("POST", "/devices/861234567890123/token", json::object{{"grace_s", 600}});
  ASSERT_EQ(rot.status, 200);
  EXPECT_NE(rot.obj().at("token_hex").as_string(), old_token);
  EXPECT_EQ(stack.api("DELETE", "/devices/861234567890123").status, 200);
  EXPECT_EQ(stack.api("GET", "/devices/861234567890123").status, 404);
  EXPECT_EQ(stack.api("POST", "/devices/861234567890123/disable").status, 404);
}

TEST_F(ApiTest, CardsAndRechargeOffers) {
  auto pkg = stack.api("POST", "/recharge-offers", json::object{{"name", "充50送10"}, {"amount_fen", 5000}, {"bonus_fen", 1000}});
  ASSERT_EQ(pkg.status, 201);
  EXPECT_EQ(stack.api("POST", "/recharge-offers", json::object{{"name", "x"}, {"amount_fen", 100}, {"bonus_fen", 200}}).status, 400);
  auto card = stack.api("POST", "/cards", json::object{{"uid", "04a1b2c3"}});
  ASSERT_EQ(card.status, 201);
  EXPECT_EQ(card.obj().at("uid").as_string(), "04A1B2C3");
  int64_t holder = card.obj().at("rider_id").as_int64();
  auto t = stack.api("POST", "/riders/" + std::to_string(holder) + "/topups", json::object{{"offer_id", pkg.obj().at("id")}});
  ASSERT_EQ(t.status, 200);
  EXPECT_EQ(t.obj().at("balance_fen").as_int64(), 6000);
  EXPECT_EQ(stack.api("GET", "/cards/04A1B2C3").obj().at("available_fen").as_int64(), 6000);
  EXPECT_EQ(stack.api("PUT", "/cards/04A1B2C3/state", json::object{{"state", "lost"}}).obj().at("state").as_string(), "lost");
  EXPECT_EQ(stack.api("PUT", "/cards/04A1B2C3/state", json::object{{"state", "gone"}}).status, 400);
  EXPECT_EQ(stack.api("POST", "/cards", json::object{{"uid", "04A1B2C3"}}).status, 409);
  EXPECT_EQ(stack.api("POST", "/cards", json::object{{"uid", "xyz"}}).status, 400);
  EXPECT_EQ(stack.api("GET", "/cards/DEADBEEF").status, 404);
  EXPECT_EQ(stack.api("POST", "/riders/" + std::to_string(holder) + "/topups", json::object{{"offer_id", 99}}).status, 404);
}
