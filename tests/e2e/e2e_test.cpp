// One charger, one rider, one paid charge, end to end through real processes: the simulated charger
// speaks frames over TCP to the bridge, the bridge speaks MQTT through Mosquitto and our plugin to the
// core, and the test drives it all through the admin HTTP API.
#include <gtest/gtest.h>

#include "stack.hpp"

using namespace chargehub::testing;
namespace json = boost::json;

namespace {
const std::string kDevice = "861234567890123";

// Every test runs on SQLite and on PostgreSQL.
struct EndToEnd : ::testing::TestWithParam<Database> {
  TempDir dir{"e2e"};
  // The simulated chargers run at --time-scale 60 and 600, and the hand-written charger below reports
  // hours at once: the meter check must see the sessions' windows in charger seconds (docs/billing-rules.md).
  Stack stack{dir, {"--charger-time-scale", "36000"}, {"all"}, GetParam()};
  int64_t rider = 0;
  std::string token;

  void SetUp() override {
    auto d = stack.api("POST", "/devices", json::object{{"id", kDevice}, {"name", "东门车棚 1号桩"}, {"ports", 10}});
    ASSERT_EQ(d.status, 201);
    token = std::string(d.obj().at("token_hex").as_string());
    auto r = stack.api("POST", "/riders", json::object{{"name", "张三"}});
    rider = r.obj().at("id").as_int64();
    ASSERT_EQ(stack.api("POST", "/riders/" + std::to_string(rider) + "/topups", json::object{{"amount_fen", 1000}}).status, 200);
    stack.start_bridge({"--heartbeat-s", "60"});
  }

  bool online() {
    auto d = stack.api("GET", "/devices/" + kDevice);
    return d.status == 200 && d.obj().at("online").as_bool();
  }
  json::object session(int64_t id) { return stack.api("GET", "/sessions/" + std::to_string(id)).obj(); }
  json::object rider_now() { return stack.api("GET", "/riders/" + std::to_string(rider)).obj(); }
  std::string logs() { return "\n--- core\n" + stack.core_log() + "\n--- bridge\n" + stack.bridge_log() + "\n--- sim\n" + stack.sim_log(); }
};
}  // namespace

TEST_P(EndToEnd, APaidChargeIsSettledOnceWithTheEnergyTheChargerReported) {
  stack.start_sim(kDevice, token, {"--time-scale", "600", "--retry-ms", "500", "--seed", "7"});
  ASSERT_TRUE(wait_until([&] { return online(); }, std::chrono::seconds(20))) << logs();

  auto s = stack.api("POST", "/sessions", json::object{{"device_id", kDevice}, {"port", 3}, {"rider_id", rider}, {"amount_fen", 500}});
  ASSERT_EQ(s.status, 201) << json::serialize(s.body);
  int64_t id = s.obj().at("id").as_int64();
  EXPECT_EQ(rider_now().at("held_fen").as_int64(), 500);

  // The charger reports meter readings while it charges...
  ASSERT_TRUE(wait_until([&] { return session(id).at("energy_wh").as_int64() > 0; }, std::chrono::seconds(30))) << logs();
  // ...and stops by itself when the battery is full (or the prepaid energy is used up).
  ASSERT_TRUE(wait_until([&] { return session(id).at("state").as_string() == "settled"; }, std::chrono::seconds(90))) << logs();
  auto done = session(id);
  int64_t wh = done.at("energy_wh").as_int64();
  int64_t fen = done.at("amount_fen").as_int64();
  EXPECT_GT(wh, 100);
  EXPECT_LE(wh, 5000);                             // 500 fen buys at most 5 kWh at 1.00 yuan/kWh
  EXPECT_EQ(fen, std::min<int64_t>(wh * 100 / 1000, 500));
  int64_t reason = done.at("end_reason").as_int64();
  EXPECT_TRUE(reason == 1 || reason == 2) << reason;
  EXPECT_GT(done.at("max_power_w").as_int64(), 100);

  auto w = rider_now();
  EXPECT_EQ(w.at("balance_fen").as_int64(), 1000 - fen);
  EXPECT_EQ(w.at("held_fen").as_int64(), 0);
  auto ledger = stack.api("GET", "/riders/" + std::to_string(rider) + "/ledger?size=200").obj().at("items").as_array();
  ASSERT_EQ(ledger.size(), fen > 0 ? 2u : 1u);
  EXPECT_EQ(ledger[0].as_object().at("amount_fen").as_int64(), -fen);
  EXPECT_GT(stack.api("GET", "/sessions/" + std::to_string(id) + "/meter").obj().at("items").as_array().size(), 0u);

  // The charger got its answer: it does not keep resending the record.
  std::this_thread::sleep_for(std::chrono::seconds(2));
  EXPECT_EQ(session(id).at("amount_fen").as_int64(), fen);
  EXPECT_EQ(rider_now().at("balance_fen").as_int64(), 1000 - fen);
}

TEST_P(EndToEnd, ARiderStopsTheChargeAndPaysForWhatWasDelivered) {
  stack.start_sim(kDevice, token, {"--time-scale", "60", "--retry-ms", "500", "--seed", "3"});
  ASSERT_TRUE(wait_until([&] { return online(); }, std::chrono::seconds(20))) << logs();
  auto s = stack.api("POST", "/sessions", json::object{{"device_id", kDevice}, {"port", 5}, {"rider_id", rider}, {"amount_fen", 800}});
  ASSERT_EQ(s.status, 201);
  int64_t id = s.obj().at("id").as_int64();
  ASSERT_TRUE(wait_until([&] { return session(id).at("state").as_string() == "charging"; }, std::chrono::seconds(20))) << logs();
  // Port 5 is taken now.
  auto busy = stack.api("POST", "/sessions", json::object{{"device_id", kDevice}, {"port", 5}, {"rider_id", rider}, {"amount_fen", 100}});
  EXPECT_EQ(busy.status, 409);
  EXPECT_EQ(busy.obj().at("error").as_string(), "port_busy");
  ASSERT_TRUE(wait_until([&] { return session(id).at("energy_wh").as_int64() > 0; }, std::chrono::seconds(30))) << logs();
  ASSERT_EQ(stack.api("POST", "/sessions/" + std::to_string(id) + "/stop").status, 202);
  ASSERT_TRUE(wait_until([&] { return session(id).at("state").as_string() == "settled"; }, std::chrono::seconds(30))) << logs();
  auto done = session(id);
  EXPECT_EQ(done.at("end_reason").as_int64(), 3);   // remote stop
  int64_t fen = done.at("amount_fen").as_int64();
  EXPECT_EQ(fen, done.at("energy_wh").as_int64() * 100 / 1000);
  EXPECT_EQ(rider_now().at("balance_fen").as_int64(), 1000 - fen);
  EXPECT_EQ(stack.api("POST", "/sessions/" + std::to_string(id) + "/stop").status, 409);
}

TEST_P(EndToEnd, AForgedOrMissingTokenIsRefusedByTheBroker) {
  // Through the bridge: a charger with the wrong token never comes online.
  std::string forged(token.size(), '0');
  stack.start_sim(kDevice, forged, {"--time-scale", "60", "--retry-ms", "500"});
  // Directly at the broker, with a client that is not ours: wrong token, no password, someone else's id.
  auto pub = [&](std::vector<std::string> auth) {
    std::vector<std::string> argv{"/usr/bin/mosquitto_pub", "-h", "127.0.0.1", "-p", std::to_string(stack.broker().port()),
                                  "-t", "chg/v1/" + kDevice + "/up/heartbeat", "-m", "{}", "-q", "1"};
    argv.insert(argv.end(), auth.begin(), auth.end());
    Process p(argv, dir / "pub.log");
    return p.wait();
  };
  EXPECT_NE(pub({"-i", kDevice, "-u", kDevice, "-P", "tok:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}), 0);
  EXPECT_NE(pub({"-i", kDevice, "-u", kDevice}), 0);
  EXPECT_NE(pub({"-i", "bridge-test", "-u", "bridge-test", "-P", "not-the-secret"}), 0);
  std::this_thread::sleep_for(std::chrono::seconds(3));
  EXPECT_FALSE(online()) << logs();
  auto d = stack.api("GET", "/devices/" + kDevice).obj();
  EXPECT_TRUE(d.at("fw").is_null());   // it never booted
}

TEST_P(EndToEnd, ACoreKilledMidSessionLosesNothingAndBillsOnce) {
  stack.start_sim(kDevice, token, {"--time-scale", "600", "--retry-ms", "300", "--seed", "11"});
  ASSERT_TRUE(wait_until([&] { return online(); }, std::chrono::seconds(20))) << logs();
  // 10 fen buy 100 Wh: the charger reaches the limit while the core is down.
  auto s = stack.api("POST", "/sessions", json::object{{"device_id", kDevice}, {"port", 4}, {"rider_id", rider}, {"amount_fen", 10}});
  ASSERT_EQ(s.status, 201);
  int64_t id = s.obj().at("id").as_int64();
  ASSERT_TRUE(wait_until([&] { return session(id).at("state").as_string() == "charging"; }, std::chrono::seconds(20))) << logs();
  stack.stop_core(9);
  ASSERT_TRUE(wait_until([&] { return stack.sim_log().find("end port 4") != std::string::npos; }, std::chrono::seconds(60))) << logs();
  std::this_thread::sleep_for(std::chrono::seconds(1));   // a few unanswered copies of SESSION_END
  stack.start_core();
  ASSERT_TRUE(wait_until([&] { return session(id).at("state").as_string() == "settled"; }, std::chrono::seconds(30))) << logs();
  auto done = session(id);
  EXPECT_EQ(done.at("end_reason").as_int64(), 2);   // limit reached
  EXPECT_GE(done.at("energy_wh").as_int64(), 99);
  EXPECT_EQ(done.at("amount_fen").as_int64(), 10);
  ASSERT_TRUE(wait_until([&] { return stack.sim_log().find("session_end acked port 4") != std::string::npos; }, std::chrono::seconds(15)));
  auto w = rider_now();
  EXPECT_EQ(w.at("balance_fen").as_int64(), 990);
  EXPECT_EQ(w.at("held_fen").as_int64(), 0);
  EXPECT_EQ(stack.api("GET", "/riders/" + std::to_string(rider) + "/ledger?size=200").obj().at("items").as_array().size(), 2u);
}

TEST_P(EndToEnd, DuplicateAndReorderedReportsThroughTheBrokerCountOnce) {
  // Here the test is the charger, speaking MQTT natively with its own credentials (mqtt.md).
  auto rot = stack.api("POST", "/devices/" + kDevice + "/token", json::object{{"grace_s", 0}});
  std::string password = std::string(rot.obj().at("mqtt_password").as_string());
  auto pub = [&](const std::string& kind, const std::string& payload, bool retain = false) {
    std::vector<std::string> argv{"/usr/bin/mosquitto_pub", "-h", "127.0.0.1", "-p", std::to_string(stack.broker().port()),
                                  "-i", kDevice, "-u", kDevice, "-P", password, "-q", "1",
                                  "-t", kind == "status" ? "chg/v1/" + kDevice + "/status" : "chg/v1/" + kDevice + "/up/" + kind,
                                  "-m", payload};
    if (retain) argv.push_back("-r");
    Process p(argv, dir / "pub.log");
    ASSERT_EQ(p.wait(), 0) << read_file(dir / "pub.log");
  };
  pub("status", R"({"online":true,"ts":1})", true);
  ASSERT_TRUE(wait_until([&] { return online(); }, std::chrono::seconds(10))) << logs();
  auto s = stack.api("POST", "/sessions", json::object{{"device_id", kDevice}, {"port", 1}, {"rider_id", rider}, {"amount_fen", 500}});
  ASSERT_EQ(s.status, 201);
  int64_t id = s.obj().at("id").as_int64();
  std::string sid = std::to_string(id);
  pub("meter", R"({"ports":[{"port":1,"session":)" + sid + R"(,"power_w":200,"energy_wh":100,"elapsed_s":1800,"voltage_dv":540,"current_ma":3700}]})");
  ASSERT_TRUE(wait_until([&] { return session(id).at("state").as_string() == "charging"; }, std::chrono::seconds(10))) << logs();
  std::string end = R"({"msg":")" + kDevice + "-session_end-" + sid + R"(","port":1,"session":)" + sid +
                    R"(,"reason":1,"started_at":1795500000,"duration_s":7200,"energy_wh":640,"max_power_w":330})";
  std::string forged_copy = end;
  forged_copy.replace(forged_copy.find("\"energy_wh\":640"), 15, "\"energy_wh\":999");
  pub("session_end", end);
  pub("session_end", end);
  pub("meter", R"({"ports":[{"port":1,"session":)" + sid + R"(,"power_w":150,"energy_wh":300,"elapsed_s":3600,"voltage_dv":540,"current_ma":2700}]})");
  pub("session_end", forged_copy);   // same msg, other numbers: still the first one counts
  ASSERT_TRUE(wait_until([&] { return session(id).at("state").as_string() == "settled"; }, std::chrono::seconds(10))) << logs();
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  auto done = session(id);
  EXPECT_EQ(done.at("energy_wh").as_int64(), 640);
  EXPECT_EQ(done.at("amount_fen").as_int64(), 64);
  EXPECT_EQ(rider_now().at("balance_fen").as_int64(), 936);
  EXPECT_EQ(stack.api("GET", "/riders/" + std::to_string(rider) + "/ledger?size=200").obj().at("items").as_array().size(), 2u);
}


// The broker plugin never reads the core's database: a device created through the API reaches it as a
// pushed set_device, so it can log in within a second whichever database the core uses; a disabled one
// is refused within a second.
TEST_P(EndToEnd, ADeviceCreatedThroughTheApiLogsInWithinASecondAndADisabledOneIsRefused) {
  const std::string dev = "861234567890777";
  auto login = [&](const std::string& password) {
    std::string cmd = "mosquitto_pub -h 127.0.0.1 -p " + std::to_string(stack.broker().port()) + " -i " + dev + " -u " + dev +
                      " -P '" + password + "' -q 1 -t chg/v1/" + dev + "/status -m '{\"online\":false}' >/dev/null 2>&1";
    return std::system(cmd.c_str()) == 0;
  };
  auto d = stack.api("POST", "/devices", json::object{{"id", dev}});
  ASSERT_EQ(d.status, 201);
  auto created = std::chrono::steady_clock::now();
  std::string password(d.obj().at("mqtt_password").as_string());
  ASSERT_TRUE(wait_until([&] { return login(password); }, std::chrono::seconds(5))) << stack.broker().log_text();
  auto in = std::chrono::steady_clock::now() - created;
  EXPECT_LT(in, std::chrono::seconds(1)) << std::chrono::duration_cast<std::chrono::milliseconds>(in).count() << " ms";
  ASSERT_EQ(stack.api("POST", "/devices/" + dev + "/disable").status, 200);
  auto disabled = std::chrono::steady_clock::now();
  ASSERT_TRUE(wait_until([&] { return !login(password); }, std::chrono::seconds(5)));
  auto out = std::chrono::steady_clock::now() - disabled;
  EXPECT_LT(out, std::chrono::seconds(1)) << std::chrono::duration_cast<std::chrono::milliseconds>(out).count() << " ms";
  EXPECT_FALSE(login(password));
}

INSTANTIATE_TEST_SUITE_P(Databases, EndToEnd, ::testing::Values(Database::Sqlite, Database::Postgres),
                         [](const auto& i) { return database_name(i.param); });

TEST(EndToEndKeys, AChargerWithAnEd25519KeyLogsInThroughTheBridgeAndADisabledOneIsCutOff) {
  TempDir dir("e2e-ed25519");
  Stack stack(dir);
  std::string key = (dir / "charger.pem").string();
  run_capture("openssl genpkey -algorithm ed25519 -out " + key + " 2>/dev/null");
  std::string pub = run_capture("openssl pkey -in " + key + " -pubout -outform DER 2>/dev/null | tail -c 32 | od -An -tx1 | tr -d ' \\n'");
  ASSERT_EQ(pub.size(), 64u);
  const std::string dev = "861234567890555";
  auto d = stack.api("POST", "/devices", json::object{{"id", dev}, {"pubkey", pub}});
  ASSERT_EQ(d.status, 201) << json::serialize(d.body);
  EXPECT_FALSE(d.obj().contains("token_hex"));
  stack.start_bridge();
  Process sim({bin("chargehub-sim").string(), "--bridge", "127.0.0.1:" + std::to_string(stack.bridge_port()), "--device", dev,
               "--key", key, "--model", "1", "--time-scale", "60", "--retry-ms", "500"},
              dir / "sim.log");
  auto online = [&] { return stack.api("GET", "/devices/" + dev).obj().at("online").as_bool(); };
  ASSERT_TRUE(wait_until(online, std::chrono::seconds(20))) << read_file(dir / "sim.log") << stack.bridge_log();
  EXPECT_EQ(stack.api("GET", "/devices/" + dev).obj().at("auth").as_string(), "ed25519");
  // Disabled: the broker drops it at once and refuses it from then on.
  ASSERT_EQ(stack.api("POST", "/devices/" + dev + "/disable").status, 200);
  ASSERT_TRUE(wait_until([&] { return !online(); }, std::chrono::seconds(10))) << stack.core_log();
  // The charger logs in again after its back-off and is refused; it never comes back online.
  EXPECT_TRUE(wait_until([&] { return read_file(dir / "sim.log").find("login refused") != std::string::npos; },
                         std::chrono::seconds(90)))
      << read_file(dir / "sim.log") << stack.bridge_log();
  EXPECT_FALSE(online());
}
