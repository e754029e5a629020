// Native-MQTT firmware against a real Mosquitto with our auth plugin (tests/support/broker.hpp): the
// charger logs in with its token, boots, answers down/cmd on up/reply, reports meter and session_end,
// and stops resending session_end once down/ack answers it. A wrong token gets nowhere.
#include <gtest/gtest.h>
#include <mqtt/async_client.h>

#include <boost/json.hpp>
#include <mutex>

#include "broker.hpp"
#include "chargehub/auth_control.hpp"
#include "chargehub/encoding.hpp"
#include "chargehub/sim/crypto.hpp"
#include "testsupport.hpp"

using namespace chargehub;
using namespace chargehub::testing;
using namespace std::chrono_literals;

namespace {
const std::string kDevice = "861234567890123";
const std::string kToken = "000102030405060708090a0b0c0d0e0f";

std::string sha256_hex(const std::string& hex) {
  return encoding::to_hex(sim::crypto::sha256(*encoding::hex_decode(hex)));
}

// The test plays the core: tells the broker plugin the device's credentials (a snapshot on $CONTROL,
// as the core does when it connects; domain/include/chargehub/auth_control.hpp) and subscribes to
// every charger's up/# and status.
struct Core : mqtt::callback {
  std::unique_ptr<mqtt::async_client> cli;
  std::mutex mu;
  std::vector<std::pair<std::string, std::string>> got;
  Core(int port, const std::string& secret) {
    cli = std::make_unique<mqtt::async_client>("tcp://127.0.0.1:" + std::to_string(port), "core-test");
    cli->set_callback(*this);
    auto opts = mqtt::connect_options_builder().user_name("core").password(secret).clean_session(true).finalize();
    cli->connect(opts)->wait();
    auth_control::Snapshot snap{2, {{kDevice, sha256_hex(kToken), std::nullopt, 0, std::nullopt, true}}};
    cli->publish(std::string(auth_control::kControlTopic), auth_control::snapshot_json(snap), 1, false)->wait();
    cli->subscribe("chg/v1/+/up/#", 1)->wait();
    cli->subscribe("chg/v1/+/status", 1)->wait();
  }
  ~Core() {
    try { cli->disconnect()->wait(); } catch (...) {}
  }
  void message_arrived(mqtt::const_message_ptr m) override {
    std::lock_guard l(mu);
    got.emplace_back(m->get_topic(), m->get_payload_str());
  }
  std::optional<boost::json::object> wait(const std::string& topic_suffix,
                                          const std::function<bool(const boost::json::object&)>& pred = {},
                                          std::chrono::milliseconds timeout = 15s) {
    std::optional<boost::json::object> found;
    wait_until([&] {
      std::lock_guard l(mu);
      for (auto& [t, p] : got) {
        if (t.size() < topic_suffix.size() || t.compare(t.size() - topic_suffix.size(), topic_suffix.size(), topic_suffix)) continue;
        boost::system::error_code ec;
        auto v = boost::json::parse(p, ec);
        if (ec || !v.is_object()) continue;
        if (!pred || pred(v.as_object())) { found = v.as_object(); return true; }
      }
      return false;
    }, timeout);
    return found;
  }
  size_t count(const std::string& topic_suffix) {
    std::lock_guard l(mu);
    size_t n = 0;
    for (auto& [t, p] : got) n += t.size() >= topic_suffix.size() && !t.compare(t.size() - topic_suffix.size(), topic_suffix.size(), topic_suffix);
    return n;
  }
  void publish(const std::string& topic, const boost::json::object& o) {
    cli->publish(topic, boost::json::serialize(o), 1, false)->wait();
  }
};

struct MqttRig {
  TempDir dir{"sim-mqtt"};
  std::map<std::string, std::string> secrets;
  std::unique_ptr<Broker> broker;
  MqttRig() {
    secrets = make_services_file(dir / "services", {{"core", "core"}});
    broker = std::make_unique<Broker>(dir, BrokerOptions{dir / "services", "plugin_opt_poll_ms 50\n"});
  }
  std::vector<std::string> sim_args(const std::string& token) {
    return {bin("chargehub-sim").string(), "--mqtt", "tcp://127.0.0.1:" + std::to_string(broker->port()), "--device",
            kDevice, "--token-hex", token, "--time-scale", "600", "--retry-ms", "400"};
  }
};
}  // namespace

TEST(NativeMqtt, ChargesAndIsAckedThroughTheBroker) {
  ASSERT_TRUE(fs::exists(Broker::plugin_path())) << "auth plugin not built: " << Broker::plugin_path();
  MqttRig rig;
  Core core(rig.broker->port(), rig.secrets["core"]);
  Process sim(rig.sim_args(kToken), rig.dir / "sim.log");
  auto boot = core.wait("/" + kDevice + "/up/boot");
  ASSERT_TRUE(boot) << read_file(rig.dir / "sim.log") << rig.broker->log_text();
  EXPECT_EQ(boot->at("model").as_int64(), 1);
  EXPECT_EQ(boot->at("ports").as_int64(), 10);
  ASSERT_TRUE(core.wait("/" + kDevice + "/status", [](auto& o) { return o.at("online").as_bool(); }));
  ASSERT_TRUE(core.wait("/" + kDevice + "/up/heartbeat"));

  std::string down = "chg/v1/" + kDevice + "/down/";
  boost::json::object start{{"id", "cmd-1"}, {"op", "start"},
                            {"args", {{"port", 3}, {"session", 1001}, {"mode", 0}, {"limit", 0}, {"max_power_w", 0}}}};
  core.publish(down + "cmd", start);
  auto reply = core.wait("/up/reply", [](auto& o) { return o.at("id").as_string() == "cmd-1"; });
  ASSERT_TRUE(reply) << read_file(rig.dir / "sim.log");
  EXPECT_EQ(reply->at("result").as_int64(), 0);
  core.publish(down + "cmd", start);   // the same id again: answered again, not acted on twice
  ASSERT_TRUE(wait_until([&] { return core.count("/up/reply") >= 2; }, 5s));

  auto meter = core.wait("/up/meter");
  ASSERT_TRUE(meter);
  EXPECT_EQ(meter->at("ports").as_array()[0].as_object().at("session").as_int64(), 1001);

  auto end = core.wait("/up/session_end", {}, 40s);
  ASSERT_TRUE(end) << read_file(rig.dir / "sim.log");
  EXPECT_EQ(end->at("reason").as_int64(), 1);
  EXPECT_EQ(end->at("session").as_int64(), 1001);
  std::string msg(end->at("msg").as_string());
  ASSERT_TRUE(wait_until([&] { return core.count("/up/session_end") >= 2; }, 5s));   // resent until acked
  core.publish(down + "ack", {{"re", msg}, {"result", 0}});
  ASSERT_TRUE(wait_until([&] { return read_file(rig.dir / "sim.log").find("session_end acked") != std::string::npos; }, 5s));
  auto n = core.count("/up/session_end");
  std::this_thread::sleep_for(1200ms);
  EXPECT_LE(core.count("/up/session_end"), n + 1);   // at most one copy was already in flight
  EXPECT_EQ(core.count("/up/reply"), 2u);
  EXPECT_EQ(sim.stop(SIGTERM), 0);
}

TEST(NativeMqtt, WrongTokenIsRefusedByTheBroker) {
  ASSERT_TRUE(fs::exists(Broker::plugin_path())) << "auth plugin not built";
  MqttRig rig;
  Core core(rig.broker->port(), rig.secrets["core"]);
  Process sim(rig.sim_args("ffffffffffffffffffffffffffffffff"), rig.dir / "sim.log");
  EXPECT_FALSE(core.wait("/up/boot", {}, 2s));
  EXPECT_TRUE(sim.running());   // it keeps trying with back-off
  EXPECT_EQ(sim.stop(SIGTERM), 0);
}
