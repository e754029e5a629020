// domain/include/chargehub/credentials.hpp: the charger MQTT password, built by the bridge and the
// simulator, parsed by the plugin.
#include <gtest/gtest.h>

#include "chargehub/credentials.hpp"
#include "chargehub/encoding.hpp"

using namespace chargehub::credentials;
using chargehub::encoding::base64_encode;
using Bytes = std::vector<std::uint8_t>;

TEST(Credentials, TokenPasswordRoundTrip) {
  Bytes tok(16);
  for (std::size_t i = 0; i < tok.size(); ++i) tok[i] = static_cast<std::uint8_t>(i);
  std::string p = token_password(tok);
  EXPECT_EQ(p, "tok:AAECAwQFBgcICQoLDA0ODw==");
  auto parsed = parse_password(p);
  ASSERT_TRUE(parsed);
  ASSERT_TRUE(std::holds_alternative<TokenPassword>(*parsed));
  EXPECT_EQ(std::get<TokenPassword>(*parsed).token, tok);
  EXPECT_THROW(token_password(Bytes(15)), std::invalid_argument);
  EXPECT_THROW(token_password(Bytes(65)), std::invalid_argument);
  EXPECT_NO_THROW(token_password(Bytes(64)));
}

TEST(Credentials, Ed25519PasswordRoundTrip) {
  std::array<std::uint8_t, 64> sig{};
  sig[0] = 1;
  sig[63] = 0xff;
  std::string p = ed25519_password(1795500000000, sig);
  EXPECT_EQ(p, "ed25519:1795500000000:" + base64_encode(sig));
  auto parsed = parse_password(p);
  ASSERT_TRUE(parsed);
  auto& e = std::get<Ed25519Password>(*parsed);
  EXPECT_EQ(e.unix_ms, 1795500000000);
  EXPECT_EQ(e.signature, sig);
  EXPECT_EQ(ed25519_login_message("861234567890123", 1795500000000), "chargehub-login:861234567890123:1795500000000");
  EXPECT_THROW(ed25519_password(-1, sig), std::invalid_argument);
}

TEST(Credentials, AnythingElseIsNotAPassword) {
  std::string sig64 = base64_encode(Bytes(64));
  for (std::string bad : std::vector<std::string>{
           "", "password", "tok:", "tok:not base64!", "tok:" + base64_encode(Bytes(15, 1)),
           "tok:" + base64_encode(Bytes(65, 1)), "TOK:" + base64_encode(Bytes(16)),
           "tok:AAECAwQFBgcICQoLDA0ODw=6",  // issue 15.4: malformed padding
           "tok:AAECAwQFBgcICQoLDA0ODx==",  // non-canonical trailing bits
           "tok: AAECAwQFBgcICQoLDA0ODw==", "ed25519:", "ed25519:123", "ed25519:abc:AAAA", "ed25519:-5:" + sig64,
           "ed25519:+5:" + sig64, "ed25519::" + sig64, "ed25519:1:" + base64_encode(Bytes(63)),
           "ed25519:1:" + base64_encode(Bytes(65)), "ed25519:1234567890123456789:" + sig64, "ed25519:1:" + sig64 + "="})
    EXPECT_FALSE(parse_password(bad)) << bad;
}

TEST(Credentials, Decimal) {
  EXPECT_EQ(parse_decimal("1795500000000"), 1795500000000);
  EXPECT_EQ(parse_decimal("0"), 0);
  EXPECT_FALSE(parse_decimal(""));
  EXPECT_FALSE(parse_decimal("-1"));
  EXPECT_FALSE(parse_decimal("+1"));
  EXPECT_FALSE(parse_decimal("1 "));
  EXPECT_FALSE(parse_decimal("9999999999999999999"));
}
