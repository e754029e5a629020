// Packages: keys, manifest, signing over sha256 ‖ version (frames.md), and every way a package fails.
#include <gtest/gtest.h>

#include "chargehub/encoding.hpp"
#include "chargehub/ota/firmware.hpp"

using namespace chargehub;
using firmware::Check;

namespace {
firmware::Bytes image(size_t n, uint8_t seed = 1) {
  firmware::Bytes b(n);
  for (size_t i = 0; i < n; ++i) b[i] = static_cast<uint8_t>(i * 31 + seed);
  return b;
}
firmware::PackageInfo info() { return {1, {1, 1, 0}, {1, 0, 0}, "fixes", 1795500000}; }
}  // namespace

TEST(Firmware, KeysRoundTripThroughPem) {
  auto k = firmware::generate_key();
  EXPECT_EQ(firmware::private_from_pem(firmware::private_to_pem(k.priv)), k.priv);
  EXPECT_EQ(firmware::public_from_pem(firmware::public_to_pem(k.pub)), k.pub);
  EXPECT_EQ(firmware::public_of(k.priv), k.pub);
  EXPECT_NE(firmware::private_to_pem(k.priv).find("BEGIN PRIVATE KEY"), std::string::npos);
  EXPECT_NE(firmware::public_to_pem(k.pub).find("BEGIN PUBLIC KEY"), std::string::npos);
  EXPECT_FALSE(firmware::public_from_pem("not a key"));
  EXPECT_FALSE(firmware::public_from_pem(firmware::private_to_pem(k.priv)));
  EXPECT_EQ(firmware::key_id(k.pub).size(), 16u);
}

TEST(Firmware, TheSignatureCoversSha256ThenVersion35Bytes) {
  auto k = firmware::generate_key();
  auto p = firmware::make_package(image(5000), info(), k.priv);
  auto msg = firmware::signed_message(p.manifest.sha256, p.manifest.version);
  ASSERT_EQ(msg.size(), 35u);
  EXPECT_TRUE(std::equal(p.manifest.sha256.begin(), p.manifest.sha256.end(), msg.begin()));
  EXPECT_EQ(msg[32], 1);
  EXPECT_EQ(msg[33], 1);
  EXPECT_EQ(msg[34], 0);
  EXPECT_TRUE(firmware::verify(k.pub, msg, p.manifest.signature));
  EXPECT_EQ(p.manifest.size, 5000u);
  EXPECT_EQ(p.manifest.sha256, firmware::sha256(p.image));
  EXPECT_EQ(p.manifest.key_id, firmware::key_id(k.pub));
}

TEST(Firmware, APackageFileRoundTripsAndVerifies) {
  auto k = firmware::generate_key();
  auto p = firmware::make_package(image(3001), info(), k.priv);
  std::string why;
  auto back = firmware::parse_package(firmware::package_to_json(p), &why);
  ASSERT_TRUE(back) << why;
  EXPECT_EQ(back->image, p.image);
  EXPECT_EQ(back->manifest.version, p.manifest.version);
  EXPECT_EQ(back->manifest.min_from, p.manifest.min_from);
  EXPECT_EQ(back->manifest.notes, "fixes");
  EXPECT_EQ(firmware::check(back->manifest, back->image, k.pub), Check::Ok);
}

TEST(Firmware, AnAlteredImageFailsTheHash) {
  auto k = firmware::generate_key();
  auto p = firmware::make_package(image(2000), info(), k.priv);
  p.image[1234] ^= 0x01;
  EXPECT_EQ(firmware::check(p.manifest, p.image, k.pub), Check::HashMismatch);
  p.image.pop_back();
  EXPECT_EQ(firmware::check(p.manifest, p.image, k.pub), Check::SizeMismatch);
}

TEST(Firmware, AnotherKeyOrAnAlteredVersionFailsTheSignature) {
  auto k = firmware::generate_key(), other = firmware::generate_key();
  auto p = firmware::make_package(image(2000), info(), k.priv);
  EXPECT_EQ(firmware::check(p.manifest, p.image, other.pub), Check::BadSignature);
  auto m = p.manifest;
  m.version = {1, 1, 1};   // the version is signed too: a renamed image does not verify
  EXPECT_EQ(firmware::check(m, p.image, k.pub), Check::BadSignature);
  m = p.manifest;
  m.signature[0] ^= 0x80;
  EXPECT_EQ(firmware::check(m, p.image, k.pub), Check::BadSignature);
}

TEST(Firmware, MalformedPackagesAreRefusedWithAReason) {
  auto k = firmware::generate_key();
  auto p = firmware::make_package(image(100), info(), k.priv);
  std::string why;
  EXPECT_FALSE(firmware::parse_package("{", &why));
  EXPECT_FALSE(firmware::parse_package(R"({"manifest":{}})", &why));
  EXPECT_NE(why.find("model"), std::string::npos);
  auto o = boost::json::parse(firmware::package_to_json(p)).as_object();
  o["image_base64"] = "!!!!";
  EXPECT_FALSE(firmware::parse_package(boost::json::serialize(o), &why));
  EXPECT_NE(why.find("base64"), std::string::npos);
  o = boost::json::parse(firmware::package_to_json(p)).as_object();
  o["manifest"].as_object()["version"] = "1.1";
  EXPECT_FALSE(firmware::parse_package(boost::json::serialize(o), &why));
  o = boost::json::parse(firmware::package_to_json(p)).as_object();
  o["manifest"].as_object()["sha256"] = "00";
  EXPECT_FALSE(firmware::parse_package(boost::json::serialize(o), &why));
  o = boost::json::parse(firmware::package_to_json(p)).as_object();
  o["format"] = "something-else/2";
  EXPECT_FALSE(firmware::parse_package(boost::json::serialize(o), &why));
  // Over the size limit.
  EXPECT_FALSE(firmware::parse_package(firmware::package_to_json(p), &why, 50));
}

TEST(Firmware, PackagingRefusesEmptyOversizedOrUnknownModel) {
  auto k = firmware::generate_key();
  EXPECT_THROW(firmware::make_package({}, info(), k.priv), std::invalid_argument);
  EXPECT_THROW(firmware::make_package(firmware::Bytes(firmware::kMaxImage + 1), info(), k.priv), std::invalid_argument);
  auto i = info();
  i.model = 6;
  EXPECT_THROW(firmware::make_package(image(10), i, k.priv), std::invalid_argument);
}

// The package's image_base64 is domain's canonical base64 (chargehub/encoding.hpp).
TEST(Firmware, Base64RoundTripsEveryLength) {
  for (size_t n = 0; n < 10; ++n) {
    auto b = image(n, 7);
    auto e = chargehub::encoding::base64_encode(b);
    auto d = chargehub::encoding::base64_decode(e);
    ASSERT_TRUE(d) << n;
    EXPECT_EQ(*d, b) << n;
  }
  EXPECT_FALSE(chargehub::encoding::base64_decode("abc"));
  EXPECT_FALSE(chargehub::encoding::base64_decode("ab=c"));
}
