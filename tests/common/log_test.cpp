// chargehub/log.hpp: one line per event whatever the values hold, valid JSON, logfmt that parses back,
// UTF-8 kept, secrets redacted by key, levels filtered.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <vector>

#include "chargehub/log.hpp"
#include "logfmt.hpp"

using namespace chargehub;
using chargehub::testing::parse_logfmt;
namespace json = boost::json;

namespace {
constexpr int64_t kTs = 1796025600123;   // 2026-11-30T08:00:00.123Z

std::string line(log::Format f, std::string_view event, log::Fields fields, log::Level l = log::Level::Info) {
  return log::format_line(l, event, std::span<const log::Field>(fields.begin(), fields.size()), kTs, f, "core");
}
std::string kv(std::string_view event, log::Fields fields) { return line(log::Format::Kv, event, fields); }
json::object js(std::string_view event, log::Fields fields) {
  auto l = line(log::Format::Json, event, fields);
  EXPECT_EQ(l.find('\n'), std::string::npos) << l;
  return json::parse(l).as_object();
}

// Captures what write() sends while alive.
struct Capture {
  std::vector<std::string> lines;
  Capture() {
    log::set_sink([this](std::string_view l) { lines.emplace_back(l); });
  }
  ~Capture() {
    log::set_sink(nullptr);
    log::set_level(log::Level::Info);
    log::set_format(log::Format::Kv);
  }
};
}  // namespace

TEST(Log, KvLineHasTimestampLevelProgramEventAndFieldsInOrder) {
  int64_t session = 12;
  EXPECT_EQ(kv("session.settled", {{"session", session}, {"device", "861234567890123"}, {"fen", 350u}}),
            "ts=2026-11-30T08:00:00.123Z level=info prog=core event=session.settled session=12 device=861234567890123 fen=350");
}

TEST(Log, JsonLineIsOneObjectWithTypedValues) {
  std::optional<int64_t> none, some = 7;
  auto o = js("session.settled", {{"session", int64_t{12}}, {"ok", true}, {"ratio", 0.25}, {"none", none}, {"some", some}, {"port", uint8_t{3}}});
  EXPECT_EQ(o.at("ts").as_string(), "2026-11-30T08:00:00.123Z");
  EXPECT_EQ(o.at("level").as_string(), "info");
  EXPECT_EQ(o.at("prog").as_string(), "core");
  EXPECT_EQ(o.at("event").as_string(), "session.settled");
  EXPECT_EQ(o.at("session").as_int64(), 12);
  EXPECT_EQ(o.at("ok").as_bool(), true);
  EXPECT_DOUBLE_EQ(o.at("ratio").as_double(), 0.25);
  EXPECT_TRUE(o.at("none").is_null());
  EXPECT_EQ(o.at("some").as_int64(), 7);
  EXPECT_EQ(o.at("port").as_int64(), 3);   // a uint8_t is a number, not a character
}

TEST(Log, KvValuesWithSpacesQuotesEqualsOrControlsAreQuotedAndEscaped) {
  std::string evil = "a b\"c=d\\e\nf\rg\th\x01i\x7f";
  auto l = kv("device.created", {{"name", evil}, {"empty", ""}, {"plain", "abc"}});
  EXPECT_EQ(l.find('\n'), std::string::npos);
  EXPECT_EQ(l.find('\r'), std::string::npos);
  EXPECT_NE(l.find(R"(name="a b\"c=d\\e\nf\rg\th\u0001i\u007f")"), std::string::npos) << l;
  auto m = parse_logfmt(l);
  ASSERT_TRUE(m) << l;
  EXPECT_EQ(m->at("name"), evil);
  EXPECT_EQ(m->at("empty"), "");
  EXPECT_EQ(m->at("plain"), "abc");
}

TEST(Log, JsonEscapesEveryControlCharacter) {
  std::string all;
  for (int c = 0; c < 0x20; ++c) all += static_cast<char>(c);
  all += "\"\\\x7f";
  auto o = js("x.y", {{"v", all}});
  EXPECT_EQ(o.at("v").as_string(), all);
}

TEST(Log, Utf8IsKeptAsIsAndInvalidBytesBecomeReplacementCharacters) {
  auto l = kv("rider.created", {{"name", "张三"}, {"bad", std::string_view("a\xff\xc3")}});
  EXPECT_NE(l.find("name=张三 "), std::string::npos) << l;   // no quotes needed, no escapes
  EXPECT_NE(l.find("bad=\"a\xEF\xBF\xBD\xEF\xBF\xBD\""), std::string::npos) << l;
  auto o = js("rider.created", {{"name", "张三"}, {"bad", std::string_view("a\xff\xc3")}, {"overlong", std::string_view("\xc0\xaf")}});
  EXPECT_EQ(o.at("name").as_string(), "张三");
  EXPECT_EQ(o.at("bad").as_string(), "a\xEF\xBF\xBD\xEF\xBF\xBD");
  EXPECT_EQ(o.at("overlong").as_string(), "\xEF\xBF\xBD\xEF\xBF\xBD");
}

TEST(Log, ANewlineInADeviceIdNeverBreaksTheLine) {
  for (auto f : {log::Format::Kv, log::Format::Json}) {
    auto l = line(f, "device.malformed", {{"device", "8612\nlevel=error event=forged"}});
    EXPECT_EQ(l.find('\n'), std::string::npos) << l;
    if (f == log::Format::Kv) {
      auto m = parse_logfmt(l);
      ASSERT_TRUE(m) << l;
      EXPECT_EQ(m->at("level"), "info");
      EXPECT_EQ(m->at("event"), "device.malformed");
    }
  }
}

TEST(Log, ValuesOfKeysThatNameSecretsAreRedacted) {
  for (std::string_view k : {"password", "new_password", "secret", "mqtt_secret", "token", "refresh_token", "api_key", "key",
                             "Authorization"})
    EXPECT_TRUE(log::is_secret_key(k)) << k;
  for (std::string_view k : {"device", "session", "account", "fen", "source"}) EXPECT_FALSE(log::is_secret_key(k)) << k;
  auto l = kv("account.login", {{"account", "admin"}, {"password", "hunter2-很长"}, {"token", "tok:AAAA"}, {"api_key", "chk_123"}});
  EXPECT_EQ(l.find("hunter2"), std::string::npos) << l;
  EXPECT_EQ(l.find("tok:AAAA"), std::string::npos) << l;
  EXPECT_EQ(l.find("chk_123"), std::string::npos) << l;
  auto m = parse_logfmt(l);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->at("password"), "***");
  EXPECT_EQ(m->at("account"), "admin");
  auto o = js("account.login", {{"secret", int64_t{1234}}});
  EXPECT_EQ(o.at("secret").as_string(), "***");
}

TEST(Log, KeysAndEventNamesAreSanitisedAndReservedKeysNotOverwritten) {
  auto l = kv("Session Settled", {{"a b", 1}, {"level", "error"}, {"", 2}});
  auto m = parse_logfmt(l);
  ASSERT_TRUE(m) << l;
  EXPECT_EQ(m->at("event"), "session_settled");
  EXPECT_EQ(m->at("level"), "info");
  EXPECT_EQ(m->at("level_"), "error");
  EXPECT_EQ(m->at("a_b"), "1");
  auto o = js("x", {{"ts", 5}, {"prog", "forged"}});
  EXPECT_EQ(o.at("prog").as_string(), "core");
  EXPECT_EQ(o.at("prog_").as_string(), "forged");
  EXPECT_EQ(o.at("ts_").as_int64(), 5);
}

TEST(Log, NonFiniteNumbersStayValid) {
  auto o = js("x", {{"nan", std::nan("")}, {"big", 1e300}});
  EXPECT_TRUE(o.at("nan").is_null());
  EXPECT_TRUE(parse_logfmt(kv("x", {{"nan", std::nan("")}})));
}

TEST(Log, TheLevelFiltersAndWriteSendsOneLinePerEvent) {
  Capture c;
  log::set_program("core");
  log::set_level(log::Level::Warn);
  EXPECT_FALSE(log::enabled(log::Level::Info));
  EXPECT_TRUE(log::enabled(log::Level::Error));
  log::debug("a.debug");
  log::info("a.info", {{"n", 1}});
  log::warn("a.warn", {{"n", 2}});
  log::error("a.error", {{"n", 3}});
  ASSERT_EQ(c.lines.size(), 2u);
  EXPECT_NE(c.lines[0].find("level=warn prog=core event=a.warn n=2\n"), std::string::npos) << c.lines[0];
  EXPECT_NE(c.lines[1].find("level=error"), std::string::npos);
  log::set_level(log::Level::Debug);
  log::set_format(log::Format::Json);
  log::debug("a.debug", {{"n", 4}});
  ASSERT_EQ(c.lines.size(), 3u);
  EXPECT_EQ(c.lines[2].back(), '\n');
  EXPECT_EQ(json::parse(c.lines[2]).as_object().at("level").as_string(), "debug");
}

TEST(Log, LevelsAndFormatsParse) {
  EXPECT_EQ(log::parse_level("debug"), log::Level::Debug);
  EXPECT_EQ(log::parse_level("warn"), log::Level::Warn);
  EXPECT_FALSE(log::parse_level("loud"));
  EXPECT_EQ(log::parse_format("json"), log::Format::Json);
  EXPECT_EQ(log::parse_format("kv"), log::Format::Kv);
  EXPECT_FALSE(log::parse_format("xml"));
}
