// Issue 18 item 5 through a real core (with real Mosquitto and our plugin): run with --log-format json
// and kv, through logins with a known password, a password change, a wrong bearer and the service key,
// every line of its stderr parses (JSON / logfmt) and has ts, level, prog and event; the password, the new
// password, the service key and the device's token never appear; --log-level warn drops the info lines.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <set>
#include <sstream>

#include "logfmt.hpp"
#include "stack.hpp"

using namespace chargehub::testing;
namespace json = boost::json;

namespace {
const std::string kPassword = "初始 密码=\"0001\"";   // spaces, '=' and quotes: a value that needs escaping
const std::string kNewPassword = "新的密码-2026-log";

struct Line {
  std::map<std::string, std::string> fields;   // values as text (JSON strings unquoted)
};

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);)
    if (!l.empty()) out.push_back(l);
  return out;
}

// Parses one line in `format`; fails the test (with the line) when it does not parse.
std::optional<Line> parse(const std::string& format, const std::string& l) {
  Line out;
  if (format == "json") {
    boost::system::error_code ec;
    auto v = json::parse(l, ec);
    if (ec || !v.is_object()) return std::nullopt;
    for (auto& [k, val] : v.as_object())
      out.fields[std::string(k)] = val.is_string() ? std::string(val.as_string()) : json::serialize(val);
  } else {
    auto m = parse_logfmt(l);
    if (!m) return std::nullopt;
    out.fields = std::move(*m);
  }
  return out;
}

// Logins, a password change, a wrong bearer, a device with a token, then the core stops (SIGTERM).
std::string exercise(Stack& stack, std::string& token_hex) {
  auto c = stack.call("POST", "/accounts", stack.api_key(),
                      json::object{{"name", "logtest"}, {"roles", json::array{"platform_admin"}}, {"initial_password", kPassword}});
  EXPECT_EQ(c.status, 201) << json::serialize(c.body);
  EXPECT_EQ(stack.call("POST", "/auth/login", "", json::object{{"name", "logtest"}, {"password", kPassword + "x"}}).status, 401);
  auto l = stack.call("POST", "/auth/login", "", json::object{{"name", "logtest"}, {"password", kPassword}});
  EXPECT_EQ(l.status, 200) << json::serialize(l.body);
  std::string access = l.status == 200 ? std::string(l.obj().at("access_token").as_string()) : "";
  EXPECT_EQ(stack.call("POST", "/auth/password", access, json::object{{"old_password", kPassword}, {"new_password", kNewPassword}}).status, 200);
  EXPECT_EQ(stack.call("GET", "/riders", "not-a-token-" + kNewPassword).status, 401);
  auto d = stack.api("POST", "/devices", json::object{{"id", "861234567890125"}, {"ports", 10}, {"model", 1}});
  EXPECT_EQ(d.status, 201);
  token_hex = d.status == 201 ? std::string(d.obj().at("token_hex").as_string()) : "";
  stack.stop_core();
  return access;
}

struct LogsOfACore : ::testing::TestWithParam<std::string> {};

}  // namespace

TEST_P(LogsOfACore, EveryLineParsesHasTheCommonFieldsAndNoSecret) {
  const std::string format = GetParam();
  TempDir dir{"log-it"};
  Stack stack(dir, {"--log-format", format});
  std::string token_hex;
  std::string access = exercise(stack, token_hex);
  auto text = stack.core_log();
  auto lines = lines_of(text);
  ASSERT_GE(lines.size(), 5u) << text;
  std::set<std::string> events;
  for (auto& l : lines) {
    auto p = parse(format, l);
    ASSERT_TRUE(p) << "not " << format << ": " << l;
    for (auto k : {"ts", "level", "prog", "event"}) ASSERT_TRUE(p->fields.count(k)) << k << " missing: " << l;
    EXPECT_EQ(p->fields["prog"], "core") << l;
    EXPECT_TRUE(std::set<std::string>({"debug", "info", "warn", "error"}).count(p->fields["level"])) << l;
    EXPECT_EQ(p->fields["ts"].size(), 24u) << l;   // 2026-11-30T08:00:00.123Z
    events.insert(p->fields["event"]);
  }
  for (auto e : {"core.database", "mqtt.connected", "http.listening", "account.login_failed", "account.login",
                 "account.password_changed", "account.unknown_bearer", "device.created", "core.stopping"})
    EXPECT_TRUE(events.count(e)) << e << " not logged:\n" << text;
  for (auto& secret : {kPassword, kNewPassword, stack.api_key(), stack.core_secret(), token_hex, access}) {
    ASSERT_FALSE(secret.empty());
    EXPECT_EQ(text.find(secret), std::string::npos) << "a secret in the log:\n" << text;
  }
  EXPECT_EQ(text.find("新的密码"), std::string::npos) << text;
}

TEST_P(LogsOfACore, LevelWarnDropsInfoLines) {
  const std::string format = GetParam();
  TempDir dir{"log-it-warn"};
  Stack stack(dir, {"--log-format", format, "--log-level", "warn"});
  std::string token_hex;
  exercise(stack, token_hex);
  auto text = stack.core_log();
  std::set<std::string> events;
  for (auto& l : lines_of(text)) {
    auto p = parse(format, l);
    ASSERT_TRUE(p) << l;
    EXPECT_TRUE(p->fields["level"] == "warn" || p->fields["level"] == "error") << l;
    events.insert(p->fields["event"]);
  }
  EXPECT_TRUE(events.count("account.login_failed")) << text;   // a warning
  EXPECT_FALSE(events.count("account.login")) << text;         // information
  EXPECT_FALSE(events.count("http.listening")) << text;
}

INSTANTIATE_TEST_SUITE_P(Formats, LogsOfACore, ::testing::Values("json", "kv"), [](const auto& info) { return info.param; });
