// The frame codec against frames.md, including every test vector byte for byte.
#include <gtest/gtest.h>

#include "chargehub/frame.hpp"
#include "chargehub/messages.hpp"

using namespace chargehub::proto;

namespace {
constexpr DeviceId kDev = 861234567890123ULL;

const char* kLogin =
    "5a a5 3a 00 01 08 61 23 45 67 89 01 23 01 00 01 00 01 0a 01 01 00 00 38 39 38 36 30 30 30 30 30 30 30 30"
    "30 30 30 30 30 30 30 31 14 01 10 00 01 02 03 04 05 06 07 08 09 0a 0b 0c 0d 0e 0f c2 ed";
const char* kHeartbeat =
    "5a a5 1f 00 01 08 61 23 45 67 89 01 23 02 00 02 00 14 1d 01 9d 08 00 00 0a 00 00 00 00 00 00 00 00 00 00 e8 85";
const char* kStart = "5a a5 19 00 01 08 61 23 45 67 89 01 23 07 00 10 00 03 e9 03 00 00 00 00 00 00 00 00 00 ae 84";
const char* kStartResp = "5a a5 0e 00 01 08 61 23 45 67 89 01 23 07 00 10 01 00 0a 20";
const char* kMeter =
    "5a a5 21 00 01 08 61 23 45 67 89 01 23 03 00 03 00 01 03 e9 03 00 00 b4 00 78 00 00 00 10 0e 00 00 1c 02"
    "e4 0c e0 4b";
const char* kSessionEnd =
    "5a a5 21 00 01 08 61 23 45 67 89 01 23 04 00 04 00 03 e9 03 00 00 01 e0 27 05 6b 40 38 00 00 2c 03 00 00"
    "ec 00 5b 6c";
const char* kSessionEndResp = "5a a5 0e 00 01 08 61 23 45 67 89 01 23 04 00 04 01 00 0e 24";
const char* kCard = "5a a5 13 00 01 08 61 23 45 67 89 01 23 05 00 05 00 04 04 a1 b2 c3 02 8f da";
const char* kCardResp = "5a a5 12 00 01 08 61 23 45 67 89 01 23 05 00 05 01 01 96 00 00 00 9d a5";
const char* kSetParams =
    "5a a5 1c 00 01 08 61 23 45 67 89 01 23 08 00 13 00 05 3c 00 58 02 70 17 8a 02 20 03 3c 00 3c 00 c2 13";

Frame decode_one(const char* hex) {
  FrameDecoder d;
  auto bytes = from_hex(hex);
  d.feed(bytes);
  auto f = d.next();
  EXPECT_TRUE(f.has_value()) << hex;
  EXPECT_FALSE(d.next().has_value());
  EXPECT_EQ(d.stats().bad_frames, 0u);
  return f.value_or(Frame{});
}

Frame frame(uint16_t seq, Cmd cmd, Bytes body, uint8_t flags = 0) { return Frame{kDev, seq, cmd, flags, std::move(body)}; }
}  // namespace

TEST(Crc, ModbusCheckValue) {
  std::string s = "123456789";
  EXPECT_EQ(crc16_modbus(std::span(reinterpret_cast<const uint8_t*>(s.data()), s.size())), 0x4B37);
}

TEST(DeviceId, TextFormHasNoLeadingZeros) {
  EXPECT_EQ(device_id_text(kDev), "861234567890123");
  EXPECT_EQ(parse_device_id("861234567890123"), kDev);
  EXPECT_FALSE(parse_device_id("0861234567890123"));
  EXPECT_FALSE(parse_device_id("12345678901234567"));
  EXPECT_FALSE(parse_device_id("12a"));
  EXPECT_FALSE(parse_device_id(""));
  EXPECT_FALSE(parse_device_id("0"));
}

TEST(Vectors, LoginEncodesByteForByte) {
  Login l;
  l.model = 1;
  l.ports = 10;
  l.hw = 1;
  l.fw = {1, 0, 0};
  l.iccid = "89860000000000000001";
  l.csq = 20;
  l.auth_kind = AuthKind::Token;
  for (uint8_t i = 0; i < 16; ++i) l.auth.push_back(i);
  EXPECT_EQ(encode_frame(frame(1, Cmd::Login, l.encode())), from_hex(kLogin));
  auto f = decode_one(kLogin);
  EXPECT_EQ(f.device, kDev);
  EXPECT_EQ(f.seq, 1);
  auto d = Login::decode(f.body);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->iccid, "89860000000000000001");
  EXPECT_EQ(d->fw.text(), "1.0.0");
  EXPECT_EQ(d->auth, l.auth);
}

TEST(Vectors, HeartbeatEncodesByteForByte) {
  Heartbeat h{20, 285, 2205, 0, std::vector<uint8_t>(10, 0)};
  EXPECT_EQ(encode_frame(frame(2, Cmd::Heartbeat, h.encode())), from_hex(kHeartbeat));
  auto d = Heartbeat::decode(decode_one(kHeartbeat).body);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->temp_dc, 285);
  EXPECT_EQ(d->mains_dv, 2205);
  EXPECT_EQ(d->ports.size(), 10u);
}

TEST(Vectors, StartAndItsResponse) {
  StartCmd s{3, 1001, 0, 0, 0};
  Frame req = frame(7, Cmd::Start, s.encode());
  EXPECT_EQ(encode_frame(req), from_hex(kStart));
  EXPECT_EQ(encode_frame(make_response(req, Result{0}.encode())), from_hex(kStartResp));
  auto resp = decode_one(kStartResp);
  EXPECT_TRUE(resp.is_response());
  EXPECT_EQ(resp.cmd, Cmd::Start);
  auto d = StartCmd::decode(decode_one(kStart).body);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->session, 1001u);
  EXPECT_EQ(d->port, 3);
}

TEST(Vectors, Meter) {
  Meter m{{MeterPort{3, 1001, 180, 120, 3600, 540, 3300}}};
  EXPECT_EQ(encode_frame(frame(3, Cmd::Meter, m.encode())), from_hex(kMeter));
  auto d = Meter::decode(decode_one(kMeter).body);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->ports, m.ports);
}

TEST(Vectors, SessionEndAndItsResponse) {
  SessionEnd s{3, 1001, 1, 1795500000, 14400, 812, 236};
  Frame req = frame(4, Cmd::SessionEnd, s.encode());
  EXPECT_EQ(encode_frame(req), from_hex(kSessionEnd));
  EXPECT_EQ(encode_frame(make_response(req, Result{0}.encode())), from_hex(kSessionEndResp));
  EXPECT_EQ(SessionEnd::decode(decode_one(kSessionEnd).body), s);
}

TEST(Vectors, CardAndItsResponse) {
  Card c{{0x04, 0xA1, 0xB2, 0xC3}, 2};
  Frame req = frame(5, Cmd::Card, c.encode());
  EXPECT_EQ(encode_frame(req), from_hex(kCard));
  EXPECT_EQ(encode_frame(make_response(req, CardResp{1, 150}.encode())), from_hex(kCardResp));
  auto d = Card::decode(decode_one(kCard).body);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->uid_text(), "04A1B2C3");
  auto r = CardResp::decode(decode_one(kCardResp).body);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->balance_fen, 150);
}

TEST(Vectors, SetParamsDefaults) {
  Params p;
  EXPECT_TRUE(p.valid());
  EXPECT_EQ(encode_frame(frame(8, Cmd::SetParams, p.encode())), from_hex(kSetParams));
  EXPECT_EQ(Params::decode(decode_one(kSetParams).body), p);
}

TEST(Decoder, ResynchronisesOnGarbage) {
  // frames.md: `5a 5a a5 00 00`, METER, `13 37`, SESSION_END yields exactly those two frames.
  auto bytes = from_hex("5a 5a a5 00 00");
  auto m = from_hex(kMeter), s = from_hex(kSessionEnd);
  bytes.insert(bytes.end(), m.begin(), m.end());
  bytes.push_back(0x13);
  bytes.push_back(0x37);
  bytes.insert(bytes.end(), s.begin(), s.end());
  FrameDecoder d;
  d.feed(bytes);
  auto f1 = d.next(), f2 = d.next();
  ASSERT_TRUE(f1);
  ASSERT_TRUE(f2);
  EXPECT_EQ(f1->cmd, Cmd::Meter);
  EXPECT_EQ(f2->cmd, Cmd::SessionEnd);
  EXPECT_FALSE(d.next());
  EXPECT_GT(d.stats().dropped_bytes, 0u);
}

TEST(Decoder, AcceptsAnyChunking) {
  auto bytes = from_hex(kLogin);
  auto m = from_hex(kMeter);
  bytes.insert(bytes.end(), m.begin(), m.end());
  for (size_t chunk = 1; chunk <= bytes.size(); ++chunk) {
    FrameDecoder d;
    std::vector<Frame> got;
    for (size_t i = 0; i < bytes.size(); i += chunk) {
      d.feed(std::span(bytes).subspan(i, std::min(chunk, bytes.size() - i)));
      while (auto f = d.next()) got.push_back(*f);
    }
    ASSERT_EQ(got.size(), 2u) << "chunk " << chunk;
    EXPECT_EQ(got[0].cmd, Cmd::Login);
    EXPECT_EQ(got[1].cmd, Cmd::Meter);
  }
}

TEST(Decoder, RejectsBadCrc) {
  auto bytes = from_hex(kMeter);
  bytes[20] ^= 0x01;
  FrameDecoder d;
  d.feed(bytes);
  EXPECT_FALSE(d.next());
  EXPECT_GE(d.stats().bad_frames, 1u);
}

TEST(Decoder, RejectsBadVersionAndLength) {
  auto v = from_hex(kStartResp);
  v[4] = 0x02;   // version
  auto l = from_hex(kStartResp);
  l[2] = 0x0C;   // len 12 < 13
  auto big = from_hex(kStartResp);
  big[2] = 0x0E;
  big[3] = 0x04;  // len 1038 > 1037
  for (auto* b : {&v, &l, &big}) {
    FrameDecoder d;
    d.feed(*b);
    EXPECT_FALSE(d.next());
    EXPECT_GE(d.stats().bad_frames, 1u);
  }
}

TEST(Decoder, RejectsBadBcdAndUnknownCmd) {
  Frame f = frame(1, Cmd::Heartbeat, Heartbeat{}.encode());
  auto bytes = encode_frame(f);
  auto bcd = bytes;
  bcd[5] = 0xAB;
  auto fix_crc = [](std::vector<uint8_t>& b) {
    uint16_t c = crc16_modbus(std::span(b).subspan(2, b.size() - 4));
    b[b.size() - 2] = c & 0xFF;
    b[b.size() - 1] = c >> 8;
  };
  fix_crc(bcd);
  auto cmd = bytes;
  cmd[15] = 0x7F;
  fix_crc(cmd);
  for (auto* b : {&bcd, &cmd}) {
    FrameDecoder d;
    d.feed(*b);
    EXPECT_FALSE(d.next());
    EXPECT_EQ(d.stats().bad_frames, 1u);
  }
}

TEST(Decoder, NoiseWithALongLenDoesNotHoldUpTheNextFrame) {
  // A magic, the largest len and version 1, then a header that cannot be (BCD digit 0xA), then a
  // whole START response: the response comes out at once, not after 1 KiB more bytes.
  auto bytes = from_hex("5a a5 0d 04 01 aa aa aa aa aa aa aa aa 00 00 10 00");
  auto good = from_hex(kStartResp);
  bytes.insert(bytes.end(), good.begin(), good.end());
  FrameDecoder d;
  d.feed(bytes);
  auto f = d.next();
  ASSERT_TRUE(f);
  EXPECT_EQ(f->cmd, Cmd::Start);
  EXPECT_TRUE(f->is_response());
  EXPECT_EQ(d.stats().bad_frames, 1u);
}

TEST(Decoder, BoundsItsBuffer) {
  FrameDecoder d(64);
  std::vector<uint8_t> junk(1000, 0x5A);
  EXPECT_FALSE(d.feed(junk));
  EXPECT_LE(d.buffered(), 64u);
  d.feed(from_hex(kStartResp));
  while (d.next()) {
  }
  EXPECT_LE(d.buffered(), 64u);
}

TEST(Decoder, MaxBodyRoundTripsAndOversizeThrows) {
  Frame f = frame(9, Cmd::OtaChunkReq, Bytes(kMaxBody, 0xAB), kFlagResp);
  FrameDecoder d(4096);
  d.feed(encode_frame(f));
  auto g = d.next();
  ASSERT_TRUE(g);
  EXPECT_EQ(*g, f);
  f.body.push_back(0);
  EXPECT_THROW(encode_frame(f), std::invalid_argument);
}

TEST(Bodies, WrongSizesAreRefused) {
  EXPECT_FALSE(SessionEnd::decode(Bytes(20, 0)));
  EXPECT_FALSE(StartCmd::decode(Bytes(11, 0)));
  EXPECT_FALSE(Card::decode(Bytes{3, 1, 2, 3, 1}));      // uid shorter than 4
  EXPECT_FALSE(Meter::decode(Bytes{2, 1, 0, 0}));        // says 2 ports, has less
  EXPECT_FALSE(Login::decode(Bytes(10, 0)));
  EXPECT_FALSE(OtaChunkReq::decode(OtaChunkReq{0, 1001}.encode()));
  EXPECT_FALSE(Alarm::decode(Alarm{9, 0, 0}.encode()));
}

TEST(Bodies, EveryCommandRoundTrips) {
  OtaOffer o;
  o.version = {1, 2, 3};
  o.size = 262144;
  o.sha256.fill(0x11);
  o.signature.fill(0x22);
  o.chunk = 1000;
  auto od = OtaOffer::decode(o.encode());
  ASSERT_TRUE(od);
  EXPECT_EQ(od->sha256, o.sha256);
  EXPECT_EQ(od->signature, o.signature);
  QueryPortsResp q{{PortStatus{1, 5, 100, 10, 60}, PortStatus{0, 0, 0, 0, 0}}};
  EXPECT_EQ(QueryPortsResp::decode(q.encode())->ports, q.ports);
  EXPECT_EQ(AdjustCmd::decode(AdjustCmd{2, 9, 2, 500}.encode())->limit, 500u);
  EXPECT_EQ(OtaStatus::decode(OtaStatus{{1, 1, 0}, 3, 4096}.encode())->bytes, 4096u);
  EXPECT_EQ(OtaChunk::decode(OtaChunk{1000, Bytes(10, 7)}.encode())->data.size(), 10u);
  EXPECT_EQ(LoginResp::decode(LoginResp{LoginResult::Busy, 5, 60}.encode())->result, LoginResult::Busy);
  EXPECT_EQ(Alarm::decode(Alarm{1, 0, 655}.encode())->value, 655);
  Login ed;
  ed.auth_kind = AuthKind::Ed25519;
  ed.auth = Bytes(72, 1);
  EXPECT_TRUE(Login::decode(ed.encode()));
  ed.auth.pop_back();
  EXPECT_FALSE(Login::decode(ed.encode()));
}

TEST(Params, RangesFollowTheSpec) {
  Params p;
  p.port_max_w = 601;
  EXPECT_FALSE(p.valid());
  EXPECT_TRUE(p.valid(true));
  p.port_max_w = 3501;
  EXPECT_FALSE(p.valid(true));
  p = Params{};
  p.unit_max_w = 6001;
  EXPECT_FALSE(p.valid());
  p = Params{};
  p.full_stop_w = 0;
  EXPECT_FALSE(p.valid());
}
