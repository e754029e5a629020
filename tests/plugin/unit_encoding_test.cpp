#include <gtest/gtest.h>

#include "encoding.hpp"

using namespace chargehub::auth;

namespace {
std::string decode_str(std::string_view s) {
  auto b = base64_decode(s);
  return b ? std::string(b->begin(), b->end()) : "<invalid>";
}
}  // namespace

TEST(Base64, Rfc4648Vectors) {
  EXPECT_EQ(decode_str(""), "");
  EXPECT_EQ(decode_str("Zg=="), "f");
  EXPECT_EQ(decode_str("Zm8="), "fo");
  EXPECT_EQ(decode_str("Zm9v"), "foo");
  EXPECT_EQ(decode_str("Zm9vYg=="), "foob");
  EXPECT_EQ(decode_str("Zm9vYmE="), "fooba");
  EXPECT_EQ(decode_str("Zm9vYmFy"), "foobar");
  std::string s = "foobar";
  EXPECT_EQ(base64_encode({reinterpret_cast<const std::uint8_t*>(s.data()), 4}), "Zm9vYg==");
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
                   "=Zm9", "Zg==Zg=="})
    EXPECT_FALSE(base64_decode(bad)) << bad;
  EXPECT_FALSE(base64_decode(std::string_view("Zm\0v", 4)));
}

TEST(Hex, LowercaseOnlyAndEvenLength) {
  EXPECT_EQ(hex_decode("00ff10"), (Bytes{0, 255, 16}));
  EXPECT_FALSE(hex_decode("00FF"));
  EXPECT_FALSE(hex_decode("0"));
  EXPECT_FALSE(hex_decode("zz"));
  EXPECT_EQ(hex_encode(Bytes{0, 255, 16}), "00ff10");
}

TEST(Decimal, DigitsOnlyFitInInt64) {
  EXPECT_EQ(parse_decimal("1795500000000"), 1795500000000);
  EXPECT_FALSE(parse_decimal(""));
  EXPECT_FALSE(parse_decimal("-1"));
  EXPECT_FALSE(parse_decimal("+1"));
  EXPECT_FALSE(parse_decimal("1 "));
  EXPECT_FALSE(parse_decimal("9999999999999999999"));
}

TEST(Printable, EscapesControlAndNonAsciiAndCuts) {
  EXPECT_EQ(printable("a\nb\xff"), "a\\x0ab\\xff");
  EXPECT_EQ(printable(std::string(100, 'x'), 4), "xxxx...(100 bytes)");
}
