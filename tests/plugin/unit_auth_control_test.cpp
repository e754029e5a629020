// domain/include/chargehub/auth_control.hpp: the $CONTROL commands and responses and the snapshot
// request, built by the core and parsed by the plugin with the same code.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "chargehub/auth_control.hpp"
#include "chargehub/topics.hpp"

using namespace chargehub::auth_control;
namespace json = boost::json;

namespace {
const std::string H(64, 'a'), K(64, 'b');

ParsedCommand parse_one(const std::string& cmd) {
  auto r = parse_request(R"({"commands":[)" + cmd + "]}");
  EXPECT_TRUE(r.error.empty());
  EXPECT_EQ(r.commands.size(), 1u);
  return r.commands.at(0);
}
}  // namespace

TEST(AuthControl, TopicsAreTheFleetsOnes) {
  EXPECT_EQ(kControlTopic, chargehub::topics::kControl);
  EXPECT_EQ(kResponseTopic, std::string(chargehub::topics::kControl) + "/response");
  EXPECT_EQ(kSnapshotRequestTopic, "svc/v1/chargehub-auth/snapshot-request");
  EXPECT_EQ(snapshot_request_subscription(), kSnapshotRequestTopic);
  EXPECT_EQ(snapshot_request_subscription("cores"), "$share/cores/svc/v1/chargehub-auth/snapshot-request");
}

TEST(AuthControl, SnapshotJsonIsWhatTheCorePublishes) {
  Snapshot s{7, {{"861234567890123", H, std::nullopt, 0, K, true}, {"5", std::nullopt, H, 1795500000, std::nullopt, false}}};
  std::string j = snapshot_json(s);
  auto v = json::parse(j);
  auto& c = v.at("commands").at(0).as_object();
  EXPECT_EQ(c.at("command").as_string(), "snapshot");
  EXPECT_EQ(c.at("rev").as_int64(), 7);
  auto& d0 = c.at("devices").at(0).as_object();
  EXPECT_EQ(d0.at("id").as_string(), "861234567890123");
  EXPECT_EQ(d0.at("token_hash").as_string(), H);
  EXPECT_TRUE(d0.at("prev_token_hash").is_null());
  EXPECT_EQ(d0.at("pubkey").as_string(), K);
  EXPECT_EQ(d0.at("enabled").as_bool(), true);
  // The plugin reads back exactly what was built.
  auto p = parse_request(j);
  ASSERT_EQ(p.commands.size(), 1u);
  ASSERT_TRUE(p.commands[0].body);
  EXPECT_EQ(std::get<Snapshot>(*p.commands[0].body), s);
  EXPECT_EQ(p.commands[0].ignored, 0u);
}

TEST(AuthControl, EveryCommandRoundTrips) {
  SetDevice set{"9", Field<std::string>::set(H), Field<std::string>::clear(), Field<std::string>::keep(),
                Field<std::int64_t>::set(1795500000), true, 12};
  Request r{{{set, json::value("c1")},
             {DisableDevice{"9", 13}, std::nullopt},
             {DeleteDevice{"9", std::nullopt}, std::nullopt},
             {Reload{}, std::nullopt},
             {GetStats{}, json::value(5)},
             {Snapshot{3, {}}, std::nullopt}}};
  std::string j = request_json(r);
  auto v = json::parse(j);
  auto& s = v.at("commands").at(0).as_object();
  EXPECT_EQ(s.at("token_hash").as_string(), H);
  EXPECT_TRUE(s.at("prev_token_hash").is_null());  // cleared
  EXPECT_FALSE(s.contains("pubkey"));                // left out: kept
  EXPECT_EQ(s.at("rev").as_int64(), 12);
  EXPECT_EQ(s.at("correlationData").as_string(), "c1");
  EXPECT_FALSE(v.at("commands").at(2).as_object().contains("rev"));
  auto back = json::value_to<Request>(v);
  ASSERT_EQ(back.commands.size(), r.commands.size());
  for (std::size_t i = 0; i < r.commands.size(); ++i) {
    EXPECT_EQ(back.commands[i].body, r.commands[i].body) << i;
    EXPECT_EQ(back.commands[i].correlation_data, r.commands[i].correlation_data) << i;
    EXPECT_EQ(command_name(back.commands[i].body), command_name(r.commands[i].body));
  }
}

TEST(AuthControl, BadCommandsAreRefusedOneByOne) {
  auto r = parse_request(R"({"commands":[{"command":"disable_device","id":"09"},{"command":"reload"},
      {"command":"set_device","id":"9","token_hash":"AA"},{"command":"set_device","id":"9","enabled":"yes"},
      {"command":"set_device","id":"9","prev_token_until":"x"},{"command":"delete_device","id":"9","rev":-1},
      {"command":"snapshot","devices":[]},{"command":"snapshot","rev":1},{"command":"format_disk"},5]})");
  ASSERT_EQ(r.commands.size(), 10u);
  EXPECT_FALSE(r.commands[0].body);
  EXPECT_TRUE(r.commands[1].body);
  for (std::size_t i = 2; i < 10; ++i) {
    EXPECT_FALSE(r.commands[i].body) << i;
    EXPECT_FALSE(r.commands[i].error.empty()) << i;
  }
  EXPECT_EQ(r.commands[8].error, "unknown command");
  EXPECT_EQ(r.commands[9].name, "unknown");
  EXPECT_FALSE(parse_request("{").error.empty());
  EXPECT_FALSE(parse_request(R"({"commands":{}})").error.empty());
  EXPECT_FALSE(parse_request(R"({"commands":[1,2]})", 1).error.empty());
  EXPECT_THROW(json::value_to<Command>(json::parse(R"({"command":"set_device"})")), std::invalid_argument);
}

TEST(AuthControl, MalformedSnapshotEntriesCountAsNoCredential) {
  auto c = parse_one(R"({"command":"snapshot","rev":4,"devices":[{"id":"7","token_hash":"NOTHEX","pubkey":")" + K +
                     R"("},{"id":"010","token_hash":")" + H + R"("},{"token_hash":")" + H +
                     R"("},5,{"id":"8","enabled":"yes","prev_token_until":"x"}]})");
  ASSERT_TRUE(c.body);
  auto& s = std::get<Snapshot>(*c.body);
  ASSERT_EQ(s.devices.size(), 2u);
  EXPECT_FALSE(s.devices[0].token_hash);  // malformed: no token
  EXPECT_EQ(s.devices[0].pubkey, K);
  EXPECT_FALSE(s.devices[1].enabled);     // unreadable enabled: the safe side
  EXPECT_EQ(c.ignored, 6u);
}

TEST(AuthControl, ResponsesAndSnapshotRequestRoundTrip) {
  Responses rs{{{"snapshot", true, "", true, std::nullopt, std::nullopt},
                {"disable_device", false, "unknown device", std::nullopt, std::nullopt, json::value("x")},
                {"get_stats", true, "", std::nullopt, json::object{{"logins_ok", 3}}, std::nullopt}}};
  auto back = parse_responses(responses_json(rs));
  ASSERT_TRUE(back);
  ASSERT_EQ(back->responses.size(), 3u);
  EXPECT_EQ(back->responses[0].applied, true);
  EXPECT_EQ(back->responses[1].error, "unknown device");
  EXPECT_EQ(back->responses[1].correlation_data, json::value("x"));
  EXPECT_EQ(back->responses[2].stats->at("logins_ok").as_int64(), 3);

  SnapshotRequest req{12, "interval"};
  EXPECT_EQ(snapshot_request_json(req), R"({"have_rev":12,"reason":"interval"})");
  EXPECT_EQ(parse_snapshot_request(snapshot_request_json(req)), req);
  EXPECT_FALSE(parse_snapshot_request("nope"));
}
