// Issue 15 items 1-3 through real processes: Mosquitto with our plugin, the core with its HTTP API, and
// a charger speaking raw MQTT (tests/charger) that reports absurd meters, loses START replies or misses
// STARTs, and sends stop records for sessions the platform does not know. After each, every wallet's
// balance is its ledger's sum, its hold the prepayments of the sessions holding a port, nothing negative.
#include <gtest/gtest.h>

#include "chargehub/plan_json.hpp"
#include "chargehub/pricing.hpp"
#include "raw_charger.hpp"
#include "stack.hpp"

using namespace chargehub;
using namespace chargehub::testing;
namespace json = boost::json;

namespace {
const std::string kDevice = "861234567890123";
constexpr uint64_t kDeviceNum = 861234567890123ULL;

int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

struct BillingIT : ::testing::Test {
  TempDir dir{"billing-it"};
  Stack stack{dir};
  std::unique_ptr<RawCharger> charger;
  int64_t rider = 0;

  void SetUp() override {
    auto d = stack.api("POST", "/devices", json::object{{"id", kDevice}, {"ports", 10}, {"model", 1}});
    ASSERT_EQ(d.status, 201) << json::serialize(d.body);
    auto r = stack.api("POST", "/riders", json::object{{"name", "张三"}, {"phone", "13800000000"}});
    rider = r.obj().at("id").as_int64();
    ASSERT_EQ(stack.api("POST", "/riders/" + std::to_string(rider) + "/topups", json::object{{"amount_fen", 5000}}).status, 200);
    RawCharger::Options o;
    o.port = stack.broker().port();
    o.device = kDevice;
    o.password = std::string(d.obj().at("mqtt_password").as_string());
    o.boot.model = 1;
    o.boot.ports = 10;
    o.start_power_w = 2000;
    charger = std::make_unique<RawCharger>(o);
    // The plugin admits a new device within its poll interval.
    ASSERT_TRUE(wait_until([&] { return charger->connect(1s); }, 10s)) << logs();
    ASSERT_TRUE(wait_until([&] { return device().at("online").as_bool(); }, 10s)) << logs();
  }
  void TearDown() override { invariants(); }

  std::string logs() { return "\n--- core\n" + stack.core_log(); }
  json::object device() { return stack.api("GET", "/devices/" + kDevice).obj(); }
  json::object billing() { return device().at("billing").as_object(); }
  json::object session(int64_t id) { return stack.api("GET", "/sessions/" + std::to_string(id)).obj(); }
  std::string state(int64_t id) { return std::string(session(id).at("state").as_string()); }
  json::object rider_now() { return stack.api("GET", "/riders/" + std::to_string(rider)).obj(); }

  void invariants() {
    auto w = rider_now();
    int64_t sum = 0;
    auto ledger = stack.api("GET", "/riders/" + std::to_string(rider) + "/ledger?size=200");
    for (auto& e : ledger.obj().at("items").as_array())
      sum += e.as_object().at("amount_fen").as_int64();
    int64_t held = 0;
    auto sessions = stack.api("GET", "/sessions?rider_id=" + std::to_string(rider) + "&size=200");
    for (auto& s : sessions.obj().at("items").as_array()) {
      auto st = s.as_object().at("state").as_string();
      if (st == "requested" || st == "starting" || st == "charging" || st == "stopping") held += s.as_object().at("prepaid_fen").as_int64();
    }
    EXPECT_EQ(w.at("balance_fen").as_int64(), sum);
    EXPECT_EQ(w.at("held_fen").as_int64(), held);
    EXPECT_GE(w.at("balance_fen").as_int64(), 0);
    EXPECT_GE(w.at("held_fen").as_int64(), 0);
    EXPECT_GE(w.at("available_fen").as_int64(), 0);
  }

  void use_plan(const pricing::Plan& p) {
    json::object o = pricing::plan_to_json(p);
    o["name"] = "plan";
    auto c = stack.api("POST", "/plans", o);
    ASSERT_EQ(c.status, 201) << json::serialize(c.body);
    ASSERT_EQ(stack.api("PUT", "/devices/" + kDevice + "/plan", json::object{{"plan_id", c.obj().at("id").as_int64()}}).status, 200);
  }
  int64_t start(int64_t port, json::object terms) {
    terms["device_id"] = kDevice;
    terms["port"] = port;
    terms["rider_id"] = rider;
    auto s = stack.api("POST", "/sessions", terms);
    EXPECT_EQ(s.status, 201) << json::serialize(s.body);
    return s.status == 201 ? s.obj().at("id").as_int64() : 0;
  }

  // One plan kind: a plausible minute of charging, an absurd reading, then an absurd stop record
  // (400 kWh, 40 h, 9 kW): billed on the plausible minute, flagged, the raw figures kept, counted.
  void absurd_meter_on(const pricing::Plan& plan, json::object terms) {
    use_plan(plan);
    int64_t id = start(3, terms);
    ASSERT_TRUE(id);
    ASSERT_TRUE(wait_until([&] { return state(id) == "charging"; }, 10s)) << logs();
    charger->advance(60);   // 60 s at 2,000 W: 33 Wh
    auto good = charger->port(3);
    charger->meter();
    ASSERT_TRUE(wait_until([&] { return session(id).at("duration_s").as_int64() == good.elapsed_s; }, 10s)) << logs();
    charger->meter(proto::Meter{{proto::MeterPort{3, static_cast<uint32_t>(id), 2000, 400000, good.elapsed_s + 5, 2200, 9000}}});
    ASSERT_TRUE(wait_until([&] { return billing().at("implausible_readings").as_int64() == 1; }, 10s)) << logs();
    EXPECT_EQ(session(id).at("energy_wh").as_int64(), good.energy_wh);

    proto::SessionEnd e{3, static_cast<uint32_t>(id), 1, static_cast<uint32_t>(unix_now() - 60), 40 * 3600, 400000, 9000};
    auto ack = charger->wait_ack(charger->session_end(e));
    ASSERT_TRUE(ack);
    EXPECT_EQ(ack->result, 0);
    ASSERT_TRUE(wait_until([&] { return state(id) == "settled"; }, 10s)) << logs();
    auto s = session(id);
    EXPECT_FALSE(s.at("meter_flag").is_null());
    EXPECT_EQ(s.at("energy_wh").as_int64(), good.energy_wh);
    EXPECT_EQ(s.at("duration_s").as_int64(), good.elapsed_s);
    EXPECT_EQ(s.at("max_power_w").as_int64(), good.power_w);
    auto& raw = s.at("reported").as_object();
    EXPECT_EQ(raw.at("energy_wh").as_int64(), 400000);
    EXPECT_EQ(raw.at("duration_s").as_int64(), 40 * 3600);
    EXPECT_EQ(raw.at("max_power_w").as_int64(), 9000);
    auto billed = pricing::charge_fen(plan, pricing::Usage{good.energy_wh, good.elapsed_s, good.power_w}, s.at("prepaid_fen").as_int64());
    EXPECT_EQ(s.at("amount_fen").as_int64(), billed);
    EXPECT_EQ(rider_now().at("balance_fen").as_int64(), 5000 - billed);
    EXPECT_EQ(billing().at("implausible_stop_records").as_int64(), 1);
  }
};
}  // namespace

// ---- 1. absurd meters, on each plan kind ---------------------------------------------------------------

TEST_F(BillingIT, AbsurdMeterOnAnEnergyPlanIsBilledOnThePlausibleMinute) {
  absurd_meter_on(pricing::Plan::energy(100), json::object{{"amount_fen", 500}});
}

TEST_F(BillingIT, AbsurdMeterOnATimePlanIsBilledOnThePlausibleMinute) {
  absurd_meter_on(pricing::Plan::time(100, 60), json::object{{"amount_fen", 500}});
}

TEST_F(BillingIT, AbsurdMeterOnAPowerTierPlanIsBilledOnThePlausibleMinute) {
  absurd_meter_on(pricing::Plan::power_tier({{1000, 100}, {2500, 200}, {3500, 300}}), json::object{{"amount_fen", 500}});
}

TEST_F(BillingIT, AbsurdMeterOnAFreePlanBillsNothingAndIsCounted) {
  absurd_meter_on(pricing::Plan::free(), json::object{{"duration_s", 3600}});
}

// ---- 2. lost START replies ----------------------------------------------------------------------------

TEST_F(BillingIT, ALostStartReplyWithTheChargerChargingBecomesChargingWithin30Seconds) {
  charger->drop_start_replies(3, true);   // it acts on the first copy; every reply is lost
  int64_t id = start(4, json::object{{"amount_fen", 500}});
  ASSERT_TRUE(id);
  auto t0 = std::chrono::steady_clock::now();
  ASSERT_TRUE(wait_until([&] { return state(id) == "charging"; }, 30s)) << logs();
  EXPECT_LE(std::chrono::steady_clock::now() - t0, 30s);
  auto first = charger->wait_command("start");
  ASSERT_TRUE(first);
  EXPECT_EQ(charger->copies(first->id), 3u);          // the same id, resent twice
  EXPECT_EQ(charger->executions("start"), 1u);        // and acted on once
  EXPECT_TRUE(charger->wait_command("query_ports"));  // then asked
  EXPECT_EQ(rider_now().at("held_fen").as_int64(), 500);
  // The operator sees the retries on the command: three publications, then a QUERY_PORTS asking about it.
  json::object start_cmd, query_cmd;
  auto commands = stack.api("GET", "/devices/" + kDevice + "/commands?size=20");
  for (auto& c : commands.obj().at("items").as_array()) {
    auto& o = c.as_object();
    if (o.at("id").as_string() == first->id) start_cmd = o;
    if (o.at("op").as_string() == "query_ports" && o.at("query_for").is_string() && o.at("query_for").as_string() == first->id)
      query_cmd = o;
  }
  ASSERT_FALSE(start_cmd.empty());
  EXPECT_EQ(start_cmd.at("sends").as_int64(), 3);
  EXPECT_GE(start_cmd.at("queries").as_int64(), 1);
  EXPECT_TRUE(start_cmd.at("last_sent_at").is_int64());
  EXPECT_FALSE(query_cmd.empty()) << "no QUERY_PORTS names the START it asks about";
  // The rider pays for what is delivered (a minute: within what the real time since the START allows).
  charger->advance(60);
  auto delivered = charger->port(4).energy_wh;
  ASSERT_EQ(stack.api("POST", "/sessions/" + std::to_string(id) + "/stop").status, 202);
  ASSERT_TRUE(wait_until([&] { return state(id) == "settled"; }, 10s)) << logs();
  EXPECT_EQ(session(id).at("energy_wh").as_int64(), delivered);
  EXPECT_EQ(session(id).at("amount_fen").as_int64(), delivered * 100 / 1000);
}

TEST_F(BillingIT, AMissedStartWithTheChargerIdleIsReleasedAndStoppedWithin30Seconds) {
  charger->drop_start_replies(3, false);   // it never sees the command
  int64_t id = start(6, json::object{{"amount_fen", 500}});
  ASSERT_TRUE(id);
  EXPECT_EQ(rider_now().at("held_fen").as_int64(), 500);
  auto t0 = std::chrono::steady_clock::now();
  ASSERT_TRUE(wait_until([&] { return state(id) == "start_timed_out"; }, 30s)) << logs();
  EXPECT_LE(std::chrono::steady_clock::now() - t0, 30s);
  EXPECT_EQ(charger->executions("start"), 0u);
  EXPECT_EQ(rider_now().at("held_fen").as_int64(), 0);
  EXPECT_EQ(rider_now().at("balance_fen").as_int64(), 5000);
  // A STOP follows, so a late START copy could not start a free charge.
  auto stop = charger->wait_command("stop", 5s);
  ASSERT_TRUE(stop);
  EXPECT_EQ(stop->args.at("session").to_number<int64_t>(), id);
  EXPECT_EQ(stop->args.at("port").to_number<int64_t>(), 6);
}

// ---- 3. orphan stop records -----------------------------------------------------------------------------

TEST_F(BillingIT, AnUnknownSessionRecordIsAckedKeptAndSettledOrClosedOnceThroughTheApi) {
  int64_t now = unix_now();
  proto::SessionEnd a{5, 990001, 1, static_cast<uint32_t>(now - 3700), 3600, 500, 600};
  proto::SessionEnd b{7, 990002, 4, static_cast<uint32_t>(now - 1000), 900, 100, 500};
  auto msg_a = charger->session_end(a);
  auto ack = charger->wait_ack(msg_a);
  ASSERT_TRUE(ack);
  EXPECT_EQ(ack->result, 0);
  charger->session_end(a, msg_a);   // a copy: the same record
  ASSERT_TRUE(charger->wait_ack(msg_a, 5s, 1));
  ASSERT_TRUE(charger->wait_ack(charger->session_end(b)));

  auto list = stack.api("GET", "/orphans?device_id=" + kDevice + "&state=open").obj().at("items").as_array();
  ASSERT_EQ(list.size(), 2u);
  auto oa = list[0].as_object();
  EXPECT_EQ(oa.at("port").as_int64(), 5);
  EXPECT_EQ(oa.at("session").as_int64(), 990001);
  EXPECT_EQ(oa.at("energy_wh").as_int64(), 500);
  EXPECT_EQ(oa.at("duration_s").as_int64(), 3600);
  EXPECT_EQ(oa.at("reason").as_int64(), 1);
  EXPECT_EQ(oa.at("started_at").as_int64(), now - 3700);
  EXPECT_EQ(oa.at("msg").as_string(), msg_a);
  EXPECT_EQ(oa.at("copies").as_int64(), 2);
  EXPECT_NE(std::string(oa.at("payload").as_string()).find("990001"), std::string::npos);
  EXPECT_EQ(billing().at("orphan_records").as_int64(), 2);
  EXPECT_EQ(billing().at("open_orphan_records").as_int64(), 2);
  int64_t ida = oa.at("id").as_int64(), idb = list[1].as_object().at("id").as_int64();
  EXPECT_EQ(stack.api("GET", "/orphans/" + std::to_string(ida)).status, 200);
  EXPECT_EQ(stack.api("GET", "/orphans/999999").status, 404);

  auto settled = stack.api("POST", "/orphans/" + std::to_string(ida) + "/settle", json::object{{"rider_id", rider}});
  ASSERT_EQ(settled.status, 200) << json::serialize(settled.body);
  EXPECT_EQ(settled.obj().at("state").as_string(), "settled");
  auto& s = settled.obj().at("settled_session").as_object();
  EXPECT_EQ(s.at("state").as_string(), "settled");
  EXPECT_EQ(s.at("energy_wh").as_int64(), 500);
  EXPECT_EQ(s.at("amount_fen").as_int64(), 50);   // the device's default plan, 1.00 yuan/kWh
  EXPECT_EQ(rider_now().at("balance_fen").as_int64(), 4950);
  auto ledger = stack.api("GET", "/riders/" + std::to_string(rider) + "/ledger?size=200").obj().at("items").as_array();
  EXPECT_EQ(ledger[0].as_object().at("session_id").as_int64(), s.at("id").as_int64());
  EXPECT_EQ(stack.api("POST", "/orphans/" + std::to_string(ida) + "/settle", json::object{{"rider_id", rider}}).status, 409);
  EXPECT_EQ(stack.api("POST", "/orphans/" + std::to_string(ida) + "/close", json::object{{"reason", "x"}}).status, 409);

  EXPECT_EQ(stack.api("POST", "/orphans/" + std::to_string(idb) + "/close", json::object{}).status, 400);
  auto closed = stack.api("POST", "/orphans/" + std::to_string(idb) + "/close", json::object{{"reason", "test charge"}});
  ASSERT_EQ(closed.status, 200);
  EXPECT_EQ(closed.obj().at("state").as_string(), "closed");
  EXPECT_EQ(closed.obj().at("closed_reason").as_string(), "test charge");
  EXPECT_FALSE(closed.obj().at("actor").is_null());
  EXPECT_EQ(stack.api("POST", "/orphans/" + std::to_string(idb) + "/close", json::object{{"reason", "again"}}).status, 409);
  EXPECT_EQ(stack.api("POST", "/orphans/" + std::to_string(idb) + "/settle", json::object{{"rider_id", rider}}).status, 409);
  EXPECT_EQ(rider_now().at("balance_fen").as_int64(), 4950);
  EXPECT_EQ(billing().at("open_orphan_records").as_int64(), 0);
  EXPECT_EQ(stack.api("GET", "/orphans?state=closed").obj().at("items").as_array().size(), 1u);
  (void)kDeviceNum;
}
