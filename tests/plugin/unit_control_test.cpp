#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "control.hpp"

using namespace chargehub::auth;
namespace json = boost::json;

namespace {

struct ControlTest : ::testing::Test {
  DeviceTable table;
  ControlTest() {
    DeviceRecord d;
    d.token_hash = Digest{};
    table.devices["7"] = d;
    table.rev = 3;
  }
  ControlOutcome run(std::string_view payload) {
    return apply_control(payload, table, [] { return json::object{{"logins_ok", 42}}; });
  }
  static json::array responses(const ControlOutcome& o) {
    return json::parse(o.response).as_object().at("responses").as_array();
  }
};

}  // namespace

TEST_F(ControlTest, DisableDeviceChangesCopyNotOriginal) {
  auto o = run(R"({"commands":[{"command":"disable_device","id":"7"}]})");
  ASSERT_TRUE(o.devices);
  EXPECT_FALSE(o.devices->find("7")->enabled);
  EXPECT_TRUE(table.find("7")->enabled);
  EXPECT_EQ(o.changed_ids, std::vector<std::string>{"7"});
  EXPECT_EQ(responses(o)[0].as_object().at("ok").as_bool(), true);
  EXPECT_EQ(o.devices->rev, 3);
}

TEST_F(ControlTest, DeleteDeviceMarksDeleted) {
  auto o = run(R"({"commands":[{"command":"delete_device","id":"7"}]})");
  ASSERT_TRUE(o.devices);
  EXPECT_TRUE(o.devices->find("7")->deleted);
}

TEST_F(ControlTest, UnknownDeviceIsAnError) {
  auto o = run(R"({"commands":[{"command":"disable_device","id":"8"}]})");
  EXPECT_FALSE(o.devices);
  auto r = responses(o)[0].as_object();
  EXPECT_FALSE(r.at("ok").as_bool());
  EXPECT_EQ(r.at("error").as_string(), "unknown device");
}

TEST_F(ControlTest, SetDeviceCreatesAndUpdates) {
  std::string h(64, 'a'), k(64, 'b');
  auto o = run(R"({"commands":[{"command":"set_device","id":"9","token_hash":")" + h + R"(","pubkey":")" + k +
               R"(","enabled":true},{"command":"set_device","id":"7","token_hash":null,"enabled":false}]})");
  ASSERT_TRUE(o.devices);
  ASSERT_TRUE(o.devices->find("9"));
  EXPECT_EQ(o.devices->find("9")->token_hash->at(0), 0xaa);
  EXPECT_EQ(o.devices->find("9")->pubkey->at(0), 0xbb);
  EXPECT_FALSE(o.devices->find("7")->token_hash);
  EXPECT_FALSE(o.devices->find("7")->enabled);
  EXPECT_EQ(o.changed_ids.size(), 2u);
}

TEST_F(ControlTest, SetDeviceRejectsBadFields) {
  for (std::string cmd : std::vector<std::string>{R"({"command":"set_device","id":"9","token_hash":"AA"})",
                          R"({"command":"set_device","id":"9","pubkey":12})",
                          R"({"command":"set_device","id":"9","enabled":"yes"})",
                          R"({"command":"set_device","id":"09"})",
                          R"({"command":"set_device","id":"+"})",
                          R"({"command":"set_device"})"}) {
    auto o = run(R"({"commands":[)" + cmd + "]}");
    EXPECT_FALSE(o.devices) << cmd;
    EXPECT_FALSE(responses(o)[0].as_object().at("ok").as_bool()) << cmd;
  }
}

TEST_F(ControlTest, GetStatsAndReload) {
  auto o = run(R"({"commands":[{"command":"get_stats","correlationData":"c1"},{"command":"reload"}]})");
  auto r = responses(o);
  EXPECT_EQ(r[0].as_object().at("stats").as_object().at("logins_ok").as_int64(), 42);
  EXPECT_EQ(r[0].as_object().at("correlationData").as_string(), "c1");
  EXPECT_TRUE(o.reload);
  EXPECT_EQ(o.commands, 2u);
}

TEST_F(ControlTest, MalformedPayloadsAnswerWithError) {
  for (std::string p : std::vector<std::string>{"", "{", "[]", R"({"commands":{}})", "\xff\xfe", R"({"commands":[1,"x",{"command":5}]})"}) {
    auto o = run(p);
    EXPECT_FALSE(o.devices);
    for (auto& r : responses(o)) EXPECT_FALSE(r.as_object().at("ok").as_bool()) << p;
  }
  auto o = run(R"({"commands":[{"command":"format_disk"}]})");
  EXPECT_EQ(responses(o)[0].as_object().at("error").as_string(), "unknown command");
}

TEST_F(ControlTest, SnapshotReplacesTheTableAndReportsItsRev) {
  std::string h(64, 'c');
  auto o = run(R"({"commands":[{"command":"snapshot","rev":4,"devices":[{"id":"9","token_hash":")" + h +
               R"(","enabled":true}]}]})");
  ASSERT_TRUE(o.devices);
  EXPECT_EQ(o.snapshot_rev, 4);
  EXPECT_EQ(o.devices->rev, 4);
  EXPECT_TRUE(o.devices->find("9"));
  EXPECT_FALSE(o.devices->find("7"));  // not in the snapshot: deleted
  EXPECT_EQ(responses(o)[0].as_object().at("applied").as_bool(), true);
}

TEST_F(ControlTest, OlderSnapshotOrPushIsAnsweredButNotApplied) {
  table.devices["7"].rev = 6;
  auto o = run(R"({"commands":[{"command":"snapshot","rev":2,"devices":[]},{"command":"disable_device","id":"7","rev":5}]})");
  EXPECT_FALSE(o.devices);
  EXPECT_FALSE(o.snapshot_rev);
  EXPECT_EQ(o.stale, 2u);
  auto r = responses(o);
  EXPECT_TRUE(r[0].as_object().at("ok").as_bool());
  EXPECT_FALSE(r[0].as_object().at("applied").as_bool());
  EXPECT_FALSE(r[1].as_object().at("applied").as_bool());
  // After SIGHUP the plugin takes an older snapshot (a restored database).
  auto f = apply_control(R"({"commands":[{"command":"snapshot","rev":2,"devices":[]}]})", table,
                         [] { return json::object{}; }, true);
  EXPECT_EQ(f.snapshot_rev, 2);
}
