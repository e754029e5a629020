// The field rules of fields.hpp, one test per rule: each shows that the frame door (messages.cpp, what
// the edge bridge decodes) and the JSON door (payloads.cpp, what native MQTT chargers send) accept and
// refuse exactly the same values. docs/validation.md lists the rules.
#include <gtest/gtest.h>

#include "chargehub/fields.hpp"
#include "chargehub/payloads.hpp"
#include "chargehub/topics.hpp"

using namespace chargehub;
using namespace chargehub::proto;
namespace json = boost::json;
namespace pl = chargehub::payloads;

namespace {

// The JSON door gets text, as from the broker: serialised, then parsed as the core does.
std::optional<json::value> wire(const json::value& v) { return pl::parse_json(json::serialize(v)); }

Login login(uint8_t model = 1) {
  Login l;
  l.model = model;
  l.ports = static_cast<uint8_t>(fields::model_ports(model) ? fields::model_ports(model) : 10);
  l.fw = {1, 0, 0};
  l.iccid = "89860000000000000001";
  l.csq = 20;
  l.auth = Bytes(16, 7);
  return l;
}

// Each pair: does the frame door accept it; does the JSON door accept the same values.
bool frame_ok(const Login& l) { return Login::decode(l.encode()).has_value(); }
bool json_ok(const Login& l) { auto v = wire(pl::boot(l)); return v && pl::parse_boot(*v); }
bool frame_ok(const Heartbeat& h) { return Heartbeat::decode(h.encode()).has_value(); }
bool json_ok(const Heartbeat& h) { auto v = wire(pl::heartbeat(h)); return v && pl::parse_heartbeat(*v); }
bool frame_ok(const Meter& m) { return Meter::decode(m.encode()).has_value(); }
bool json_ok(const Meter& m) { auto v = wire(pl::meter(m)); return v && pl::parse_meter(*v); }
bool frame_ok(const SessionEnd& s) { return SessionEnd::decode(s.encode()).has_value(); }
bool json_ok(const SessionEnd& s) { auto v = wire(pl::session_end(s, "m")); return v && pl::parse_session_end(*v); }
bool frame_ok(const Card& c) { return Card::decode(c.encode()).has_value(); }
bool json_ok(const Card& c) { auto v = wire(pl::card(c, "m")); return v && pl::parse_card(*v); }
bool frame_ok(const Alarm& a) { return Alarm::decode(a.encode()).has_value(); }
bool json_ok(const Alarm& a) { auto v = wire(pl::alarm(a, "m")); return v && pl::parse_alarm(*v); }
bool frame_ok(const OtaStatus& s) { return OtaStatus::decode(s.encode()).has_value(); }
bool json_ok(const OtaStatus& s) { auto v = wire(pl::ota_status(s)); return v && pl::parse_ota_status(*v); }
bool frame_ok(const OtaChunkReq& r) { return OtaChunkReq::decode(r.encode()).has_value(); }
bool json_ok(const OtaChunkReq& r) { auto v = wire(pl::ota_chunk_req(r, "m")); return v && pl::parse_ota_chunk_req(*v); }

// Commands: the frame door is frame_to_command (the charger's side), the JSON door command_to_frame
// (the bridge's side) fed with the same values written as args.
bool json_cmd_ok(std::string op, json::object args) {
  auto v = wire(pl::command(pl::Command{"c", std::move(op), std::move(args), 0}));
  if (!v) return false;
  auto c = pl::parse_command(*v);
  return c && pl::command_to_frame(*c);
}
bool frame_ok(const StartCmd& s) { return pl::frame_to_command(Cmd::Start, s.encode(), "c", 0).has_value(); }
bool json_ok(const StartCmd& s) {
  return json_cmd_ok("start", {{"port", s.port}, {"session", s.session}, {"mode", s.mode}, {"limit", s.limit},
                               {"max_power_w", s.max_power_w}});
}
bool frame_ok(const AdjustCmd& a) { return pl::frame_to_command(Cmd::Adjust, a.encode(), "c", 0).has_value(); }
bool json_ok(const AdjustCmd& a) {
  return json_cmd_ok("adjust", {{"port", a.port}, {"session", a.session}, {"mode", a.mode}, {"limit", a.limit}});
}
bool frame_ok(const OtaOffer& o) { return pl::frame_to_command(Cmd::OtaOffer, o.encode(), "c", 0).has_value(); }
bool json_ok(const OtaOffer& o) {
  return json_cmd_ok("ota_offer", {{"version", o.version.text()}, {"size", o.size}, {"sha256", to_hex(o.sha256)},
                                   {"signature", to_hex(o.signature)}, {"chunk", o.chunk}});
}

// Replies: the frame door is reply() (the bridge turning a response frame into up/reply), the JSON
// door reply_to_body() (a native charger's up/reply) with the same values.
bool frame_ok(const QueryPortsResp& q) { return pl::reply("c", Cmd::QueryPorts, q.encode()).has_value(); }
bool json_ok(const QueryPortsResp& q) {
  json::array ports;
  for (size_t i = 0; i < q.ports.size(); ++i) {
    auto& p = q.ports[i];
    ports.push_back(json::object{{"port", i + 1}, {"state", p.state}, {"session", p.session}, {"power_w", p.power_w},
                                 {"energy_wh", p.energy_wh}, {"elapsed_s", p.elapsed_s}});
  }
  auto v = wire(json::object{{"id", "c"}, {"result", 0}, {"ports", std::move(ports)}});
  return v && pl::reply_to_body(Cmd::QueryPorts, v->as_object());
}
bool frame_result_ok(Cmd cmd, uint8_t r) { return pl::reply("c", cmd, Result{r}.encode()).has_value(); }
bool json_result_ok(Cmd cmd, uint8_t r) {
  auto v = wire(json::object{{"id", "c"}, {"result", r}});
  return v && pl::reply_to_body(cmd, v->as_object());
}

// Both doors give the expected answer for x.
#define EXPECT_BOTH_DOORS(x, expected)                                 \
  do {                                                                \
    EXPECT_EQ(frame_ok(x), (expected)) << "frame door, " << #x;       \
    EXPECT_EQ(json_ok(x), (expected)) << "JSON door, " << #x;         \
  } while (0)

QueryPortsResp idle_ports(size_t n) { return QueryPortsResp{std::vector<PortStatus>(n, PortStatus{})}; }
Meter meter_of(std::vector<uint8_t> ports) {
  Meter m;
  for (auto p : ports) m.ports.push_back(MeterPort{p, 1001, 180, 120, 3600, 540, 3300});
  return m;
}

Frame with_device(DeviceId d) { return Frame{d, 1, Cmd::Heartbeat, 0, Heartbeat{20, 0, 0, 0, {0}}.encode()}; }

}  // namespace

// frames.md, Frame: the device is 16 BCD digits, and its text form has no leading zeros; 0 names no
// charger. The frame door is the stream decoder, the MQTT door the topic.
TEST(FieldRules, DeviceIdIsOneToSixteenDigits) {
  auto bytes = encode_frame(with_device(1));
  bytes[12] = 0x00;   // device BCD 00..00, CRC fixed below
  uint16_t crc = crc16_modbus(std::span(bytes).subspan(2, bytes.size() - 4));
  bytes[bytes.size() - 2] = crc & 0xFF;
  bytes[bytes.size() - 1] = crc >> 8;
  FrameDecoder d;
  d.feed(bytes);
  EXPECT_FALSE(d.next());
  EXPECT_EQ(d.stats().bad_frames, 1u);
  EXPECT_THROW(encode_frame(with_device(0)), std::invalid_argument);
  EXPECT_FALSE(topics::parse("chg/v1/0/up/meter"));

  for (DeviceId id : std::vector<DeviceId>{1, 861234567890123ULL, kMaxDeviceId}) {
    FrameDecoder ok;
    ok.feed(encode_frame(with_device(id)));
    auto f = ok.next();
    ASSERT_TRUE(f) << id;
    EXPECT_EQ(f->device, id);
    auto t = topics::parse(topics::up_topic(device_id_text(id), topics::up::kMeter));
    ASSERT_TRUE(t) << id;
    EXPECT_EQ(parse_device_id(t->device), id);
  }
  EXPECT_FALSE(topics::parse("chg/v1/0861234567890123/up/meter"));
  EXPECT_FALSE(topics::parse("chg/v1/12345678901234567/up/meter"));
}

// frames.md, LOGIN: "Models: 1 .. 5".
TEST(FieldRules, ModelIsOneToFive) {
  for (int m = 0; m <= 255; ++m) {
    Login l = login(static_cast<uint8_t>(m));
    EXPECT_BOTH_DOORS(l, m >= 1 && m <= 5);
  }
}

// frames.md, LOGIN models: ten ports, or twenty for model 5 (model 4 is eight plus two).
TEST(FieldRules, PortsMatchTheModel) {
  for (int m = 1; m <= 5; ++m)
    for (int n = 0; n <= 255; ++n) {
      Login l = login(static_cast<uint8_t>(m));
      l.ports = static_cast<uint8_t>(n);
      EXPECT_BOTH_DOORS(l, n == (m == 5 ? 20 : 10));
    }
}

// frames.md, LOGIN: "iccid 20 bytes ASCII (0-padded)"; an ICCID is digits, with capital letters in
// some Chinese operators' issuer part. No control characters, spaces or lower case.
TEST(FieldRules, IccidIsUpToTwentyDigitsOrCapitals) {
  for (std::string s : {"", "8986", "89860000000000000001", "898600D6991234567890", "ABCDEFGHIJKLMNOPQRST"}) {
    Login l = login();
    l.iccid = s;
    EXPECT_BOTH_DOORS(l, true);
  }
  for (std::string s : {std::string("8986\n"), std::string("8986 0001"), std::string("\x01"), std::string("898600d6"),
                        std::string("8986-0001"), std::string("8986\x7f"), std::string("\xc3\xa9"),
                        std::string("8986\0" "1", 6)}) {
    Login l = login();
    l.iccid = s;
    EXPECT_BOTH_DOORS(l, false);
  }
  Login l = login();
  l.iccid = std::string(21, '8');
  EXPECT_FALSE(json_ok(l));   // the frame cannot carry 21 characters; encode() would cut it
  // In the frame, nothing but zeros may follow the iccid.
  auto body = login().encode();
  body[6 + 19] = '7';
  body[6 + 18] = 0;
  EXPECT_FALSE(Login::decode(body));
  EXPECT_FALSE(pl::parse_boot(json::parse(R"({"model":1,"ports":10,"fw":"1.0.0","iccid":12})")));
}

// frames.md, LOGIN and HEARTBEAT: "csq u8 (0–31, 99 unknown)".
TEST(FieldRules, CsqIsZeroToThirtyOneOrUnknown) {
  for (int v = 0; v <= 255; ++v) {
    bool expected = v <= 31 || v == 99;
    Login l = login();
    l.csq = static_cast<uint8_t>(v);
    EXPECT_BOTH_DOORS(l, expected);
    Heartbeat h{static_cast<uint8_t>(v), 285, 2205, 0, {0, 0}};
    EXPECT_BOTH_DOORS(h, expected);
  }
}

// frames.md: "Port states: 0 idle, 1 charging, 2 finished, 3 fault, 4 disabled" (HEARTBEAT and the
// QUERY_PORTS reply).
TEST(FieldRules, PortStateIsZeroToFour) {
  for (int s = 0; s <= 255; ++s) {
    Heartbeat h{20, 285, 2205, 0, {0, static_cast<uint8_t>(s)}};
    EXPECT_BOTH_DOORS(h, s <= 4);
    QueryPortsResp q = idle_ports(2);
    q.ports[1].state = static_cast<uint8_t>(s);
    EXPECT_BOTH_DOORS(q, s <= 4);
  }
}

// A list of ports (HEARTBEAT, METER, the QUERY_PORTS reply) names at least one and at most the
// largest unit's twenty.
TEST(FieldRules, PortListsHoldOneToTwenty) {
  for (size_t n : {0, 1, 10, 20, 21, 255}) {
    bool expected = n >= 1 && n <= 20;
    Heartbeat h{20, 285, 2205, 0, std::vector<uint8_t>(n, 0)};
    EXPECT_BOTH_DOORS(h, expected);
    QueryPortsResp q = idle_ports(n);
    EXPECT_BOTH_DOORS(q, expected);
    std::vector<uint8_t> numbers;
    for (size_t i = 0; i < n; ++i) numbers.push_back(static_cast<uint8_t>(i % 20 + 1));
    if (n <= 20) {
      Meter m = meter_of(numbers);
      EXPECT_BOTH_DOORS(m, expected);
    }
  }
}

// Ports are numbered from 1 (ALARM's port 0 is the whole unit) up to twenty.
TEST(FieldRules, PortNumberIsOneToTwenty) {
  for (int p = 0; p <= 255; ++p) {
    bool expected = p >= 1 && p <= 20;
    auto port = static_cast<uint8_t>(p);
    Meter m = meter_of({port});
    EXPECT_BOTH_DOORS(m, expected);
    SessionEnd s{port, 1001, 1, 1795500000, 14400, 812, 236};
    EXPECT_BOTH_DOORS(s, expected);
    Card c{{0x04, 0xA1, 0xB2, 0xC3}, port};
    EXPECT_BOTH_DOORS(c, expected);
  }
}

// frames.md, ALARM: "port u8 (0 = whole unit)".
TEST(FieldRules, AlarmPortIsTheUnitOrAPort) {
  for (int p = 0; p <= 255; ++p) {
    Alarm a{1, static_cast<uint8_t>(p), 655};
    EXPECT_BOTH_DOORS(a, p <= 20);
  }
}

// A METER record has one reading per port.
TEST(FieldRules, MeterNamesEachPortOnce) {
  Meter twice = meter_of({3, 4, 3});
  EXPECT_BOTH_DOORS(twice, false);
  Meter distinct = meter_of({3, 4, 5});
  EXPECT_BOTH_DOORS(distinct, true);
}

// frames.md, SESSION_END: "Reasons: 1 full .. 10 stopped by card".
TEST(FieldRules, EndReasonIsOneToTen) {
  for (int r = 0; r <= 255; ++r) {
    SessionEnd s{3, 1001, static_cast<uint8_t>(r), 1795500000, 14400, 812, 236};
    EXPECT_BOTH_DOORS(s, r >= 1 && r <= 10);
  }
}

// frames.md, ALARM codes 1..7.
TEST(FieldRules, AlarmCodeIsOneToSeven) {
  for (int c = 0; c <= 255; ++c) {
    Alarm a{static_cast<uint8_t>(c), 0, 655};
    EXPECT_BOTH_DOORS(a, c >= 1 && c <= 7);
  }
}

// frames.md, OTA_STATUS status 1..5.
TEST(FieldRules, OtaStatusIsOneToFive) {
  for (int s = 0; s <= 255; ++s) {
    OtaStatus st{{1, 1, 0}, static_cast<uint8_t>(s), 4096};
    EXPECT_BOTH_DOORS(st, s >= 1 && s <= 5);
  }
}

// frames.md, OTA_CHUNK_REQ "length u16 (≤ 1000)": a request for nothing is no request, and OTA_OFFER's
// chunk is the length the charger will ask for.
TEST(FieldRules, ChunkLengthIsOneToThousand) {
  for (int n : {0, 1, 512, 1000, 1001, 65535}) {
    bool expected = n >= 1 && n <= 1000;
    OtaChunkReq r{4096, static_cast<uint16_t>(n)};
    EXPECT_BOTH_DOORS(r, expected);
    OtaOffer o;
    o.version = {1, 1, 0};
    o.size = 262144;
    o.chunk = static_cast<uint16_t>(n);
    EXPECT_BOTH_DOORS(o, expected);
  }
  EXPECT_FALSE(OtaChunk::decode(OtaChunk{0, {}}.encode()));
  EXPECT_TRUE(OtaChunk::decode(OtaChunk{0, Bytes(1000, 1)}.encode()));
}

// frames.md, START and ADJUST: "modes: 0 until full, 1 time limit, 2 energy limit". Other values have no
// result code, so they are refused (the simulator answers a well-sized START with 3).
TEST(FieldRules, StartModeIsZeroToTwo) {
  for (int m = 0; m <= 255; ++m) {
    StartCmd s{3, 1001, static_cast<uint8_t>(m), 0, 0};
    EXPECT_BOTH_DOORS(s, m <= 2);
    AdjustCmd a{3, 1001, static_cast<uint8_t>(m), 600};
    EXPECT_BOTH_DOORS(a, m <= 2);
  }
}

// frames.md, CARD: "uid_len u8 (4–10)".
TEST(FieldRules, CardUidIsFourToTenBytes) {
  for (size_t n = 0; n <= 12; ++n) {
    Card c{Bytes(n, 0xA5), 2};
    bool expected = n >= 4 && n <= 10;
    EXPECT_EQ(frame_ok(c), expected) << n;
    if (n > 0) {   // an empty uid has no text form to send
      EXPECT_EQ(json_ok(c), expected) << n;
    }
  }
  EXPECT_FALSE(pl::parse_card(json::parse(R"({"uid":"","port":2})")));
}

// mqtt.md card: "uid":"04A1B2C3", the frame's bytes in upper-case hex: one text form per card, and
// nothing else (whitespace, lower case, odd length) reaches the core.
TEST(FieldRules, CardUidTextIsCapitalHex) {
  Card c{{0x04, 0xA1, 0xB2, 0xC3}, 2};
  auto v = wire(pl::card(c, "m"));
  ASSERT_TRUE(v);
  EXPECT_EQ(v->at("uid").as_string(), "04A1B2C3");
  EXPECT_EQ(pl::parse_card(*v)->uid, c.uid);
  for (const char* uid : {"04a1b2c3", "04 A1B2C3", "04A1 B2C3", "        ", "  04A1B2C3", "04A1B2C", "04A1B2CG",
                          "\t4A1B2C3", "04A1B2C3 ", "0x04A1B2"}) {
    json::object o{{"msg", "m"}, {"uid", uid}, {"port", 2}};
    EXPECT_FALSE(pl::parse_card(o)) << '"' << uid << '"';
  }
}

// frames.md lists the results of each response; anything else has no meaning and is refused.
TEST(FieldRules, ResultIsOneTheSpecLists) {
  std::vector<std::pair<Cmd, int>> max{{Cmd::Start, 5}, {Cmd::Stop, 1}, {Cmd::Adjust, 2}, {Cmd::SetParams, 1},
                                       {Cmd::Reboot, 0}, {Cmd::Locate, 1}, {Cmd::OtaOffer, 3}};
  for (auto [cmd, top] : max)
    for (int r = 0; r <= 255; ++r) {
      bool expected = r <= top;
      EXPECT_EQ(frame_result_ok(cmd, static_cast<uint8_t>(r)), expected) << cmd_name(cmd) << " " << r;
      EXPECT_EQ(json_result_ok(cmd, static_cast<uint8_t>(r)), expected) << cmd_name(cmd) << " " << r;
    }
  for (int r = 0; r <= 255; ++r) {
    EXPECT_EQ(LoginResp::decode(LoginResp{static_cast<LoginResult>(r), 0, 60}.encode()).has_value(), r <= 4);
    EXPECT_EQ(CardResp::decode(CardResp{static_cast<uint8_t>(r), 150}.encode()).has_value(), r <= 4);
  }
}

// The version's text form in JSON ("fw", "version") is the one Version::text() writes: numbers 0..255
// without leading zeros, so a version has one text and every frame version has it.
TEST(FieldRules, VersionTextIsCanonical) {
  for (Version v : {Version{0, 0, 0}, Version{1, 0, 0}, Version{10, 200, 255}}) {
    EXPECT_EQ(Version::parse(v.text()), v);
    OtaStatus s{v, 1, 0};
    EXPECT_BOTH_DOORS(s, true);
  }
  for (const char* t : {"01.0.0", "1.00.0", "1.0.00", "1.0", "1.0.0.0", "256.0.0", "+1.0.0", "1.0.0 ", " 1.0.0", "-1.0.0", ""})
    EXPECT_FALSE(Version::parse(t)) << t;
  EXPECT_FALSE(pl::parse_ota_status(json::parse(R"({"version":"1.01.0","status":1})")));
}

// frames.md, LOGIN: auth_kind 1 is a 16-64 byte token, 2 a u64 timestamp and a 64-byte signature. The
// boot payload carries no credentials (mqtt.md: they are the MQTT password), so this rule has one door.
TEST(FieldRules, LoginAuthIsATokenOrASignature) {
  for (int kind = 0; kind <= 3; ++kind)
    for (size_t n : {0, 15, 16, 64, 65, 71, 72, 73}) {
      Login l = login();
      l.auth_kind = static_cast<AuthKind>(kind);
      l.auth = Bytes(n, 1);
      bool expected = (kind == 1 && n >= 16 && n <= 64) || (kind == 2 && n == 72);
      EXPECT_EQ(frame_ok(l), expected) << kind << " " << n;
      EXPECT_TRUE(json_ok(l));
    }
}

// The QUERY_PORTS reply numbers ports by position in the frame; the JSON reply's "port" (which the core
// reads) must say the same.
TEST(FieldRules, ReplyPortIsItsPosition) {
  auto r = pl::reply("c", Cmd::QueryPorts, idle_ports(2).encode());
  ASSERT_TRUE(r);
  EXPECT_TRUE(pl::reply_to_body(Cmd::QueryPorts, *r));
  (*r)["ports"].as_array()[1].as_object()["port"] = 1;
  EXPECT_FALSE(pl::reply_to_body(Cmd::QueryPorts, *r));
  (*r)["ports"].as_array()[1].as_object().erase("port");
  EXPECT_TRUE(pl::reply_to_body(Cmd::QueryPorts, *r));
}

// Boost.JSON reads 1e400 as infinity and writes it back as `Infinity`, which nothing reads: a reply
// stored that way could never be loaded again. No JSON from outside may hold a non-finite number.
TEST(FieldRules, NonFiniteNumbersAreRefused) {
  for (const char* t : {"1e400", "-1e400", "[1e400]", R"({"id":"c","result":0,"x":1E999})",
                        R"({"a":{"b":[0,1,{"c":-2e308}]}})", "1.8e308"})
    EXPECT_FALSE(pl::parse_json(t)) << t;
  for (const char* t : {"1.7e308", "[0.5]", R"({"id":"c","result":0,"x":-1e-400})", "1e2"})
    EXPECT_TRUE(pl::parse_json(t)) << t;
  // What parse_json accepts serialises to text it accepts again.
  auto v = pl::parse_json(R"({"x":1.7976931348623157e308,"y":-0.0,"z":5e-324})");
  ASSERT_TRUE(v);
  EXPECT_TRUE(pl::parse_json(json::serialize(*v)));
}

// Fields of the frame bodies are integers: 1.0, 1e0, "1", true and null are not.
TEST(FieldRules, IntegersMustBeIntegers) {
  const char* good = R"({"msg":"m","code":1,"port":0,"value":655})";
  ASSERT_TRUE(pl::parse_alarm(*pl::parse_json(good)));
  for (const char* code : {"1.0", "1e0", "\"1\"", "true", "null", "[1]", "1.5"}) {
    std::string t = std::string(R"({"msg":"m","code":)") + code + R"(,"port":0,"value":655})";
    auto v = pl::parse_json(t);
    ASSERT_TRUE(v) << t;
    EXPECT_FALSE(pl::parse_alarm(*v)) << t;
  }
  EXPECT_FALSE(pl::parse_json(R"({"code":01})"));   // not JSON at all
  EXPECT_TRUE(pl::parse_alarm(*pl::parse_json(R"({"msg":"m","code":1,"port":-0,"value":655})")));
}

// A key twice in one object: Boost.JSON keeps the last, other readers the first. Refused.
TEST(FieldRules, DuplicateKeysAreRefused) {
  EXPECT_FALSE(pl::parse_json(R"({"port":1,"port":300})"));
  EXPECT_FALSE(pl::parse_json(R"({"a":{"b":1,"b":1}})"));
  EXPECT_FALSE(pl::parse_json(R"([{"x":1},{"y":2,"y":3}])"));
  EXPECT_FALSE(pl::parse_json(R"({"\u0061":1,"a":2})"));   // the same key spelt two ways
  EXPECT_TRUE(pl::parse_json(R"({"a":{"b":1},"b":{"a":1},"c":[{"a":1},{"a":2}]})"));
  // Large objects too (checked another way past 16 keys).
  std::string big = "{";
  for (int i = 0; i < 40; ++i) big += "\"k" + std::to_string(i) + "\":" + std::to_string(i) + ",";
  EXPECT_TRUE(pl::parse_json(big + "\"last\":0}"));
  EXPECT_FALSE(pl::parse_json(big + "\"k7\":0}"));
}

// mqtt.md, Topics: the kinds are the declared ones; anything else is outside the tree.
TEST(FieldRules, TopicKindIsADeclaredOne) {
  for (auto k : {"boot", "heartbeat", "meter", "session_end", "card", "alarm", "ota", "reply"})
    EXPECT_TRUE(topics::parse(topics::up_topic("5", k))) << k;
  for (auto k : {"cmd", "ack", "ota"}) EXPECT_TRUE(topics::parse(topics::down_topic("5", k))) << k;
  for (auto t : {"chg/v1/5/up/cmd", "chg/v1/5/down/meter", "chg/v1/5/up/+", "chg/v1/5/up/#", "chg/v1/5/up/",
                 "chg/v1/5/up/meter/", "chg/v1/5/status/", "chg/v1//up/meter", "chg/v1/5"})
    EXPECT_FALSE(topics::parse(t)) << t;
}
