// domain/include/chargehub/encoding.hpp: the one canonical base64 and hex of every program.
#include <gtest/gtest.h>

#include "chargehub/encoding.hpp"
#include "log_text.hpp"

using namespace chargehub::encoding;

namespace {
std::string decode_str(std::string_view s) {
  auto b = base64_decode(s);
  return b ? std::string(b->begin(), b->end()) : "<invalid>";
}
}  // namespace

TEST(Base64, Rfc4648Vectors) {  // RFC 4648 §10
  EXPECT_EQ(decode_str(""), "");
  EXPECT_EQ(decode_str("Zg=="), "f");
  EXPECT_EQ(decode_str("Zm8="), "fo");
  EXPECT_EQ(decode_str("Zm9v"), "foo");
  EXPECT_EQ(decode_str("Zm9vYg=="), "foob");
  EXPECT_EQ(decode_str("Zm9vYmE="), "fooba");
  EXPECT_EQ(decode_str("Zm9vYmFy"), "foobar");
  for (std::string_view s : {"", "f", "fo", "foo", "foob", "fooba", "foobar"})
    EXPECT_EQ(decode_str(base64_encode(s)), s);
  EXPECT_EQ(base64_encode(std::string_view("foob")), "Zm9vYg==");
  EXPECT_EQ(base64_encode(std::string_view("fooba")), "Zm9vYmE=");
  EXPECT_EQ(base64_encode(std::string_view("")), "");
}

TEST(Base64, StandardAlphabetWithPlusAndSlash) {
  Bytes b{0xfb, 0xff, 0xbf};
  EXPECT_EQ(base64_encode(b), "+/+/");
  EXPECT_EQ(base64_decode("+/+/"), b);
}

TEST(Base64, RoundTripsEveryLength) {
  Bytes b;
  for (int n = 0; n < 70; ++n) {
    EXPECT_EQ(base64_decode(base64_encode(b)), b);
    b.push_back(static_cast<std::uint8_t>(n * 37 + 11));
  }
}

TEST(Base64, RejectsAnythingNotStrictStandard) {
  for (auto bad : {"Zg", "Zg=", "Zm9v\n", " Zm9v", "Zm9v=", "Z===", "Zh==", "Zm9=", "Zm-v", "Zm_v", "Zm9v====",
                   "=Zm9", "Zg==Zg==", "Zm9v Zm9v", "Zm9\tv", "====", "Z=g=", "Zg=\n"})
    EXPECT_FALSE(base64_decode(bad)) << bad;
  EXPECT_FALSE(base64_decode(std::string_view("Zm\0v", 4)));
}

// Issue 15.4: "…Dw=6" and "…Dw==" were accepted as the same token. '=' is padding only at the end,
// and the bits under the padding must be zero ("Dx==" and "Dw==" would otherwise be one byte).
TEST(Base64, PaddingOnlyAtTheEndAndCanonicalTrailingBits) {
  const std::string token = "AAECAwQFBgcICQoLDA0ODw==";  // bytes 0..15
  ASSERT_TRUE(base64_decode(token));
  EXPECT_EQ(base64_decode(token)->size(), 16u);
  EXPECT_FALSE(base64_decode("AAECAwQFBgcICQoLDA0ODw=6"));
  EXPECT_FALSE(base64_decode("AAECAwQFBgcICQoLDA0ODx=="));  // same byte, non-zero trailing bits
  EXPECT_FALSE(base64_decode("AAECAwQFBgcICQoLDA0ODy=="));
  EXPECT_FALSE(base64_decode("Zm9="));                       // 'fo' is "Zm8="
  EXPECT_FALSE(base64_decode("Zm8=Zm8="));
  // Every text that decodes is exactly what encoding its bytes gives back.
  for (std::string_view s : {"Zg==", "Zh==", "Zm8=", "Zm9=", "AA==", "AB==", "AAA=", "AAB="}) {
    auto b = base64_decode(s);
    if (b) EXPECT_EQ(base64_encode(*b), s);
  }
}

TEST(Hex, LowercaseRoundTripAndStrictDecoding) {
  EXPECT_EQ(hex_decode("00ff10"), (Bytes{0, 255, 16}));
  EXPECT_EQ(to_hex(Bytes{0, 255, 16}), "00ff10");
  EXPECT_EQ(to_hex(Bytes{0, 255, 16}, true), "00 ff 10");
  EXPECT_EQ(hex_decode(""), Bytes{});
  EXPECT_FALSE(hex_decode("00FF"));
  EXPECT_FALSE(hex_decode("0"));
  EXPECT_FALSE(hex_decode("zz"));
  EXPECT_FALSE(hex_decode("00 ff"));
  EXPECT_TRUE(is_hex32(std::string(64, 'a')));
  EXPECT_FALSE(is_hex32(std::string(63, 'a')));
  EXPECT_FALSE(is_hex32(std::string(64, 'A')));
  auto d = hex_decode_fixed<2>("0aff");
  ASSERT_TRUE(d);
  EXPECT_EQ((*d)[1], 0xff);
  EXPECT_FALSE(hex_decode_fixed<2>("0aff00"));
}

TEST(Printable, EscapesAndCuts) {
  using chargehub::auth::printable;
  EXPECT_EQ(printable("a\nb\xff"), "a\\x0ab\\xff");
  EXPECT_EQ(printable(std::string(100, 'x'), 4), "xxxx...(100 bytes)");
}
