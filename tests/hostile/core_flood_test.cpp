// Issue 19.5 through the real core: a charger that sends the same alarm thousands of times beside
// well-behaved chargers. Every alarm is acknowledged, the flooder's become one row with a count, and
// the others' alarms are each recorded and acknowledged as usual.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdio>
#include <map>
#include <mutex>

#include "chargehub/credentials.hpp"
#include "chargehub/encoding.hpp"
#include "fixture.hpp"
#include "stack.hpp"

using namespace chargehub::plugintest;
namespace json = boost::json;

namespace {
struct CoreFlood : ::testing::TestWithParam<chargehub::testing::Database> {};
}  // namespace

TEST_P(CoreFlood, ThousandsOfIdenticalAlarmsBecomeOneRowAndTheOthersKeepTheirs) {
  chargehub::testing::TempDir dir("fleet-core-flood");
  chargehub::testing::Stack stack(dir, {}, {"all"}, GetParam());
  std::vector<std::string> ids;
  std::map<std::string, std::string> passwords;
  for (int i = 0; i < 6; ++i) {
    std::string id = std::to_string(863000000000000ULL + i);
    auto d = stack.api("POST", "/devices", json::object{{"id", id}, {"ports", 20}});
    ASSERT_EQ(d.status, 201) << json::serialize(d.body);
    auto token = chargehub::encoding::hex_decode(std::string(d.obj().at("token_hex").as_string()));
    ASSERT_TRUE(token);
    passwords[id] = chargehub::credentials::token_password(*token);
    ids.push_back(id);
  }
  const std::string flooder = ids[0];
  std::mutex mu;
  std::map<std::string, int> acks;
  std::vector<std::unique_ptr<Mqtt>> chargers;
  for (auto& id : ids) {
    Mqtt::Options o{id, id, passwords[id], 5, "", "", "", {}, {"chg/v1/" + id + "/down/#"}};
    o.on_message = [&, id](const std::string& topic, const std::string&) {
      if (topic.ends_with("/down/ack")) {
        std::lock_guard lock(mu);
        ++acks[id];
      }
    };
    // The plugin learns each device from the core's push: retry until it has.
    std::unique_ptr<Mqtt> c;
    ASSERT_TRUE(chargehub::testing::wait_until(
        [&] {
          c = std::make_unique<Mqtt>(stack.broker().port(), o);
          return c->connack() == 0;
        },
        5s));
    ASSERT_TRUE(c->wait_subscribed());
    chargers.push_back(std::move(c));
  }
  constexpr int n = 3000;
  auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < n; ++i)
    chargers[0]->publish_nowait("chg/v1/" + flooder + "/up/alarm",
                                R"({"msg":"flood-)" + std::to_string(i) + R"(","code":1,"port":0,"value":655})", 1);
  for (std::size_t g = 1; g < ids.size(); ++g)
    EXPECT_EQ(chargers[g]->publish("chg/v1/" + ids[g] + "/up/alarm",
                                   R"({"msg":"good-)" + ids[g] + R"(","code":5,"port":)" + std::to_string(g) +
                                       R"(,"value":1})",
                                   1),
              0);
  ASSERT_TRUE(chargehub::testing::wait_until(
      [&] {
        std::lock_guard lock(mu);
        for (std::size_t g = 1; g < ids.size(); ++g)
          if (acks[ids[g]] < 1) return false;
        return acks[flooder] >= n;
      },
      20s))
      << "flooder acks " << acks[flooder] << "\n"
      << stack.core_log().substr(0, 2000);
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  auto rows = stack.api("GET", "/devices/" + flooder + "/alarms");
  ASSERT_EQ(rows.status, 200);
  EXPECT_EQ(rows.obj().at("items").as_array().size(), 1u) << json::serialize(rows.body);
  for (std::size_t g = 1; g < ids.size(); ++g) {
    auto r = stack.api("GET", "/devices/" + ids[g] + "/alarms");
    ASSERT_EQ(r.obj().at("items").as_array().size(), 1u);
    EXPECT_EQ(r.obj().at("items").as_array()[0].at("port").as_int64(), static_cast<std::int64_t>(g));
  }
  std::lock_guard lock(mu);
  std::printf("FIGURE core-alarms (%s): %d identical alarms from one charger acknowledged in %.2f s and stored as 1 row; "
              "5 other chargers' alarms: %d acknowledged, 1 row each\n",
              chargehub::testing::database_name(GetParam()).c_str(), acks[flooder], secs, acks[ids[1]] + acks[ids[2]] + acks[ids[3]] + acks[ids[4]] + acks[ids[5]]);
}

INSTANTIATE_TEST_SUITE_P(Databases, CoreFlood,
                         ::testing::Values(chargehub::testing::Database::Sqlite, chargehub::testing::Database::Postgres),
                         [](const auto& info) { return chargehub::testing::database_name(info.param); });
