// The OTA client: offer, pull, resume, verify (SHA-256 and Ed25519), install, report, roll back.
#include <gtest/gtest.h>

#include <random>

#include "chargehub/sim/crypto.hpp"
#include "rig.hpp"

using namespace chargehub::sim;
using namespace chargehub::sim::testing;
using namespace chargehub::proto;

namespace {
struct Firmware {
  std::array<uint8_t, 32> priv{}, pub{};
  Bytes image;
  OtaOffer offer;
  explicit Firmware(size_t size = 5000, Version v = {1, 1, 0}, uint16_t chunk = 512) {
    std::mt19937 rng(7);
    for (auto& b : priv) b = static_cast<uint8_t>(rng());
    pub = crypto::ed25519_public(priv);
    image.resize(size);
    for (auto& b : image) b = static_cast<uint8_t>(rng());
    offer.version = v;
    offer.size = static_cast<uint32_t>(size);
    offer.sha256 = crypto::sha256(image);
    offer.chunk = chunk;
    Bytes msg(offer.sha256.begin(), offer.sha256.end());
    msg.insert(msg.end(), {v.major, v.minor, v.patch});
    offer.signature = crypto::ed25519_sign(priv, msg);
  }
};
ChargerConfig with_key(const Firmware& fw, bool boot_fails = false) {
  ChargerConfig c;
  c.firmware_key = fw.pub;
  c.ota_boot_fails = boot_fails;
  return c;
}
std::vector<OtaStatus> statuses(const Rig& r) {
  std::vector<OtaStatus> out;
  for (auto& f : r.sent_of(Cmd::OtaStatus)) out.push_back(*OtaStatus::decode(f.body));
  return out;
}
// Lets the charger install and reboot, then logs in again.
void settle(Rig& r) {
  for (int i = 0; i < 5; ++i) {
    r.real(300);
    if (r.c->take_link_request()) {
      r.c->link_down(r.now);
      r.connect();
    }
  }
}
}  // namespace

TEST(Ota, DownloadsVerifiesInstallsAndReportsBooted) {
  Firmware fw;
  Rig r(with_key(fw));
  r.ota_image = fw.image;
  EXPECT_EQ(r.result(Cmd::OtaOffer, fw.offer.encode()), 0);
  settle(r);
  auto reqs = r.sent_of(Cmd::OtaChunkReq);
  ASSERT_EQ(reqs.size(), 10u);   // 5000 bytes in 512-byte chunks
  EXPECT_EQ(OtaChunkReq::decode(reqs[9].body)->offset, 4608u);
  EXPECT_EQ(OtaChunkReq::decode(reqs[9].body)->length, 392);
  EXPECT_EQ(r.c->firmware(), (Version{1, 1, 0}));
  auto st = statuses(r);
  ASSERT_GE(st.size(), 3u);
  EXPECT_EQ(st.front().status, 1);
  EXPECT_EQ(st[st.size() - 2].status, 2);
  EXPECT_EQ(st.back().status, 3);
  EXPECT_EQ(st.back().version, (Version{1, 1, 0}));
  EXPECT_EQ(Login::decode(r.sent_of(Cmd::Login).back().body)->fw, (Version{1, 1, 0}));
  EXPECT_EQ(r.result(Cmd::OtaOffer, fw.offer.encode()), 2);   // already on that version
}

TEST(Ota, ResumesFromTheLastGoodOffsetAfterADisconnect) {
  Firmware fw(5000);
  Rig r(with_key(fw));
  r.ota_image = fw.image;
  r.answer = false;   // the first request goes unanswered...
  EXPECT_EQ(r.result(Cmd::OtaOffer, fw.offer.encode()), 0);
  r.real(10);
  ASSERT_EQ(r.sent_of(Cmd::OtaChunkReq).size(), 1u);
  // ...answer three chunks by hand, then the link breaks.
  for (int i = 0; i < 3; ++i) {
    auto req = r.sent_of(Cmd::OtaChunkReq).back();
    auto q = OtaChunkReq::decode(req.body);
    r.answer = false;
    r.c->receive(make_response(req, OtaChunk{q->offset, Bytes(fw.image.begin() + q->offset,
                                                              fw.image.begin() + q->offset + q->length)}.encode()),
                 r.now);
  }
  EXPECT_EQ(r.c->nv().ota->image.size(), 1536u);
  r.c->link_down(r.now);
  r.c->power_loss(r.now);   // even a power loss keeps the downloaded part
  r.c->take_link_request();
  r.answer = true;
  size_t before = r.sent_of(Cmd::OtaChunkReq).size();
  r.connect();
  r.real(10);
  auto reqs = r.sent_of(Cmd::OtaChunkReq);
  ASSERT_GT(reqs.size(), before);
  EXPECT_EQ(OtaChunkReq::decode(reqs[before].body)->offset, 1536u);
  settle(r);
  EXPECT_EQ(r.c->firmware(), (Version{1, 1, 0}));
}

TEST(Ota, ImageThatFailsToBootRollsBackAndReportsStatus5) {
  Firmware fw;
  Rig r(with_key(fw, true));
  r.ota_image = fw.image;
  ASSERT_EQ(r.result(Cmd::OtaOffer, fw.offer.encode()), 0);
  settle(r);
  EXPECT_EQ(r.c->firmware(), (Version{1, 0, 0}));
  auto st = statuses(r);
  ASSERT_FALSE(st.empty());
  EXPECT_EQ(st.back().status, 5);
  EXPECT_EQ(st.back().version, (Version{1, 1, 0}));
}

TEST(Ota, BadSignatureIsRejected) {
  Firmware fw;
  auto offer = fw.offer;
  offer.signature[0] ^= 1;
  Rig r(with_key(fw));
  EXPECT_EQ(r.result(Cmd::OtaOffer, offer.encode()), 3);
  Firmware other;   // signed, but for another version than it claims
  offer = other.offer;
  offer.version = {1, 2, 0};
  EXPECT_EQ(r.result(Cmd::OtaOffer, offer.encode()), 3);
  Rig nokey;        // a charger without the platform key accepts nothing
  EXPECT_EQ(nokey.result(Cmd::OtaOffer, fw.offer.encode()), 3);
  EXPECT_TRUE(r.sent_of(Cmd::OtaChunkReq).empty());
}

TEST(Ota, TamperedImageFailsVerificationWithStatus4) {
  Firmware fw;
  Rig r(with_key(fw));
  r.ota_image = fw.image;
  r.ota_image[100] ^= 0xFF;
  ASSERT_EQ(r.result(Cmd::OtaOffer, fw.offer.encode()), 0);
  settle(r);
  EXPECT_EQ(r.c->firmware(), (Version{1, 0, 0}));
  auto st = statuses(r);
  ASSERT_FALSE(st.empty());
  EXPECT_EQ(st.back().status, 4);
  EXPECT_FALSE(r.c->nv().ota);
}

TEST(Ota, BusyChargerAnswers1AndPullsOnceIdle) {
  Firmware fw;
  Rig r(with_key(fw));
  r.ota_image = fw.image;
  r.c->plug(1, li48());
  ASSERT_EQ(r.result(Cmd::Start, StartCmd{1, 1, 0, 0, 0}.encode()), 0);
  EXPECT_EQ(r.result(Cmd::OtaOffer, fw.offer.encode()), 1);
  r.run(60);
  EXPECT_TRUE(r.sent_of(Cmd::OtaChunkReq).empty());
  ASSERT_EQ(r.result(Cmd::Stop, StopCmd{1, 1}.encode()), 0);
  settle(r);
  EXPECT_FALSE(r.sent_of(Cmd::OtaChunkReq).empty());
  EXPECT_EQ(r.c->firmware(), (Version{1, 1, 0}));
}
