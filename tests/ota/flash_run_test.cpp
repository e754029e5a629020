// The flash run: the server side of the frame protocol for one charger, frame by frame.
#include <gtest/gtest.h>

#include "chargehub/ota/flash.hpp"

using namespace chargehub;
using namespace chargehub::proto;

namespace {
constexpr DeviceId kDev = 861234567890123ULL;

struct FlashRun : ::testing::Test {
  firmware::KeyPair key = firmware::generate_key();
  firmware::Package pkg = [this] {
    firmware::Bytes img(2500);
    for (size_t i = 0; i < img.size(); ++i) img[i] = static_cast<uint8_t>(i * 7);
    return firmware::make_package(img, {1, {1, 1, 0}, {1, 0, 0}, "", 0}, key.priv);
  }();
  uint16_t seq = 1;

  Frame from_charger(Cmd c, Bytes body) { return Frame{kDev, seq++, c, 0, std::move(body)}; }
  Frame login(Version fw, uint8_t model = 1) {
    Login l;
    l.model = model;
    l.ports = model == 5 ? 20 : 10;   // frames.md: the twenty-port model has 20
    l.fw = fw;
    l.iccid = "89860000000000000001";
    l.auth = Bytes(16, 1);
    return from_charger(Cmd::Login, l.encode());
  }
  static const Frame* find(const std::vector<Frame>& fs, Cmd c) {
    for (auto& f : fs)
      if (f.cmd == c) return &f;
    return nullptr;
  }
};
}  // namespace

TEST_F(FlashRun, ALoggedInChargerIsOfferedThePackageAndServedEveryChunk) {
  flash::FlashRun s(pkg, {});
  auto out = s.on_frame(login({1, 0, 0}), 0);
  auto* resp = find(out, Cmd::Login);
  ASSERT_TRUE(resp);
  EXPECT_TRUE(resp->is_response());
  EXPECT_EQ(LoginResp::decode(resp->body)->result, LoginResult::Ok);
  auto* offer = find(out, Cmd::OtaOffer);
  ASSERT_TRUE(offer);
  auto o = OtaOffer::decode(offer->body);
  ASSERT_TRUE(o);
  EXPECT_EQ(o->version, (Version{1, 1, 0}));
  EXPECT_EQ(o->size, 2500u);
  EXPECT_EQ(o->sha256, pkg.manifest.sha256);
  EXPECT_EQ(o->signature, pkg.manifest.signature);
  s.on_frame(make_response(*offer, Result{0}.encode()), 10);
  EXPECT_EQ(s.phase(), flash::Phase::Downloading);

  Bytes got;
  for (uint32_t off = 0; off < 2500; off += 1000) {
    auto r = s.on_frame(from_charger(Cmd::OtaChunkReq, OtaChunkReq{off, 1000}.encode()), 20);
    ASSERT_EQ(r.size(), 1u);
    auto c = OtaChunk::decode(r[0].body);
    ASSERT_TRUE(c);
    EXPECT_EQ(c->offset, off);
    got.insert(got.end(), c->data.begin(), c->data.end());
  }
  EXPECT_EQ(got, pkg.image);
  EXPECT_EQ(s.bytes(), 2500u);
  s.on_frame(from_charger(Cmd::OtaStatus, OtaStatus{{1, 1, 0}, 2, 2500}.encode()), 30);
  EXPECT_EQ(s.phase(), flash::Phase::Installing);
  // It reboots and logs in with the new version.
  s.on_frame(login({1, 1, 0}), 40);
  EXPECT_TRUE(s.done());
  EXPECT_EQ(s.outcome(), flash::Outcome::Installed);
  EXPECT_EQ(s.exit_code(), 0);
}

TEST_F(FlashRun, ARejectedOfferEndsWithExitCode3) {
  flash::FlashRun s(pkg, {});
  auto out = s.on_frame(login({1, 0, 0}), 0);
  s.on_frame(make_response(*find(out, Cmd::OtaOffer), Result{3}.encode()), 1);
  EXPECT_EQ(s.outcome(), flash::Outcome::Rejected);
  EXPECT_EQ(s.exit_code(), 3);
}

TEST_F(FlashRun, ARollbackEndsWithExitCode6AndAVerifyFailureWith5) {
  flash::FlashRun s(pkg, {});
  s.on_frame(login({1, 0, 0}), 0);
  s.on_frame(from_charger(Cmd::OtaStatus, OtaStatus{{1, 1, 0}, 5, 0}.encode()), 1);
  EXPECT_EQ(s.outcome(), flash::Outcome::RolledBack);
  EXPECT_EQ(s.exit_code(), 6);
  flash::FlashRun v(pkg, {});
  v.on_frame(login({1, 0, 0}), 0);
  v.on_frame(from_charger(Cmd::OtaStatus, OtaStatus{{1, 1, 0}, 4, 2500}.encode()), 1);
  EXPECT_EQ(v.exit_code(), 5);
}

TEST_F(FlashRun, AnotherModelOrATooOldVersionIsNotOfferedWithoutForce) {
  flash::FlashRun s(pkg, {});
  auto out = s.on_frame(login({1, 0, 0}, 5), 0);
  EXPECT_FALSE(find(out, Cmd::OtaOffer));
  EXPECT_EQ(s.exit_code(), 4);
  flash::FlashRun old(pkg, {});
  out = old.on_frame(login({0, 9, 0}), 0);
  EXPECT_FALSE(find(out, Cmd::OtaOffer));
  EXPECT_EQ(old.outcome(), flash::Outcome::Incompatible);
  flash::Options force;
  force.force = true;
  flash::FlashRun f(pkg, force);
  EXPECT_TRUE(find(f.on_frame(login({1, 0, 0}, 5), 0), Cmd::OtaOffer));
  flash::FlashRun same(pkg, {});
  same.on_frame(login({1, 1, 0}), 0);
  EXPECT_EQ(same.outcome(), flash::Outcome::AlreadyOnVersion);
  EXPECT_EQ(same.exit_code(), 0);
}

TEST_F(FlashRun, TheOfferIsRetriedWithTheSameSeqThenGivenUp) {
  flash::FlashRun s(pkg, {});
  auto out = s.on_frame(login({1, 0, 0}), 0);
  auto first = *find(out, Cmd::OtaOffer);
  EXPECT_TRUE(s.on_tick(4999).empty());
  auto again = s.on_tick(5000);
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].seq, first.seq);
  s.on_tick(10000);
  s.on_tick(15000);
  s.on_tick(20000);
  EXPECT_TRUE(s.done());
  EXPECT_EQ(s.outcome(), flash::Outcome::NoAnswer);
}

TEST_F(FlashRun, SessionRecordsAreLeftForThePlatformAndHeartbeatsAnswered) {
  flash::FlashRun s(pkg, {});
  s.on_frame(login({1, 0, 0}), 0);
  SessionEnd e{3, 1001, 1, 1795500000, 100, 50, 200};
  EXPECT_TRUE(s.on_frame(from_charger(Cmd::SessionEnd, e.encode()), 1).empty());
  Heartbeat h;
  h.ports = std::vector<uint8_t>(10, 0);
  auto hb = s.on_frame(from_charger(Cmd::Heartbeat, h.encode()), 2);
  ASSERT_EQ(hb.size(), 1u);
  EXPECT_TRUE(ServerTime::decode(hb[0].body));
}

TEST_F(FlashRun, OtherChargersOnTheBusAreIgnored) {
  flash::Options o;
  o.device = kDev + 1;
  flash::FlashRun s(pkg, o);
  EXPECT_TRUE(s.on_frame(login({1, 0, 0}), 0).empty());
  EXPECT_EQ(s.phase(), flash::Phase::WaitingForLogin);
}
