#include <gtest/gtest.h>

#include "auth.hpp"
#include "test_keys.hpp"

using namespace chargehub::auth;
using chargehub::testkeys::Ed25519Key;
using chargehub::testkeys::Token;
using chargehub::encoding::base64_encode;

namespace {

constexpr std::int64_t now = 1795500000000;  // ms
const char* id = "861234567890123";

struct LoginTest : ::testing::Test {
  DeviceTable devices;
  ServiceTable services;
  ReplayGuard replay;
  Token token;
  Ed25519Key key;
  std::string core_secret = "0123456789abcdef0123456789abcdef";

  LoginTest() {
    DeviceRecord d;
    d.token_hash = token.hash();
    d.pubkey = key.pub();
    devices.devices[id] = d;
    auto a = make_service_account("core", Role::core, core_secret);
    services.accounts["core"] = a;
    services.accounts["bridge-a"] = make_service_account("bridge-a", Role::bridge, "bridgesecret");
    services.accounts["grafana"] = make_service_account("grafana", Role::monitor, "monsecret");
  }
  DeviceRecord& dev() { return devices.devices[id]; }
  LoginResult login(const char* user, const std::string& password, const char* client_id,
                    std::int64_t at = now) {
    return check_login({user, password.c_str(), client_id}, devices, services, replay, {300}, at);
  }
};

}  // namespace

TEST_F(LoginTest, TokenAccepted) {
  auto r = login(id, token.password(), id);
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.role, Role::charger);
  EXPECT_EQ(r.credential.kind, CredentialKind::token);
}

TEST_F(LoginTest, WrongTokenRefused) {
  Token other;
  EXPECT_EQ(login(id, other.password(), id).refusal, Refusal::bad_token);
}

TEST_F(LoginTest, TokenOutsideLengthBoundsIsBadFormat) {
  EXPECT_EQ(login(id, "tok:" + base64_encode(Bytes(15, 1)), id).refusal, Refusal::bad_password_format);
  EXPECT_EQ(login(id, "tok:" + base64_encode(Bytes(65, 1)), id).refusal, Refusal::bad_password_format);
  EXPECT_EQ(login(id, "tok:not base64!", id).refusal, Refusal::bad_password_format);
  EXPECT_EQ(login(id, "", id).refusal, Refusal::bad_password_format);
  EXPECT_EQ(login(id, "password", id).refusal, Refusal::bad_password_format);
}

TEST_F(LoginTest, ClientIdMustEqualDeviceId) {
  EXPECT_EQ(login(id, token.password(), "861234567890124").refusal, Refusal::client_id_mismatch);
  EXPECT_EQ(login(id, token.password(), "").refusal, Refusal::client_id_mismatch);
  EXPECT_EQ(login(id, token.password(), nullptr).refusal, Refusal::client_id_mismatch);
}

TEST_F(LoginTest, UnknownDisabledDeletedRefused) {
  EXPECT_EQ(login("861234567890124", token.password(), "861234567890124").refusal, Refusal::unknown_user);
  dev().enabled = false;
  EXPECT_EQ(login(id, token.password(), id).refusal, Refusal::disabled);
  dev().deleted = true;
  EXPECT_EQ(login(id, token.password(), id).refusal, Refusal::deleted);
}

TEST_F(LoginTest, DeviceWithoutTokenRefusesTokens) {
  dev().token_hash.reset();
  EXPECT_EQ(login(id, token.password(), id).refusal, Refusal::no_credential);
}

TEST_F(LoginTest, PreviousTokenAcceptedOnlyDuringGrace) {
  Token fresh;
  dev().prev_token_hash = token.hash();
  dev().token_hash = fresh.hash();
  dev().prev_token_until = now / 1000 + 60;
  auto r = login(id, token.password(), id);
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.credential.kind, CredentialKind::prev_token);
  EXPECT_TRUE(login(id, fresh.password(), id).ok());
  EXPECT_EQ(login(id, token.password(), id, now + 61000).refusal, Refusal::bad_token);
  EXPECT_EQ(login(id, token.password(), id, (now / 1000 + 60) * 1000).refusal, Refusal::bad_token);
}

TEST_F(LoginTest, Ed25519Accepted) {
  auto r = login(id, key.password(id, now - 1000), id);
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.credential.kind, CredentialKind::ed25519);
  EXPECT_EQ(r.credential.ts_ms, now - 1000);
}

TEST_F(LoginTest, Ed25519SignatureOfOtherDeviceOrTimeRefused) {
  Ed25519Key other;
  EXPECT_EQ(login(id, other.password(id, now), id).refusal, Refusal::bad_signature);
  // A signature for another timestamp, presented with this one.
  std::string pw = key.password(id, now - 1);
  pw.replace(pw.find(':') + 1, std::to_string(now - 1).size(), std::to_string(now));
  EXPECT_EQ(login(id, pw, id).refusal, Refusal::bad_signature);
  EXPECT_EQ(login(id, key.password("861234567890124", now), id).refusal, Refusal::bad_signature);
}

TEST_F(LoginTest, Ed25519OutsideWindowRefused) {
  EXPECT_EQ(login(id, key.password(id, now - 301000), id).refusal, Refusal::stale_timestamp);
  EXPECT_EQ(login(id, key.password(id, now + 301000), id).refusal, Refusal::stale_timestamp);
  EXPECT_TRUE(login(id, key.password(id, now + 299000), id).ok());
}

TEST_F(LoginTest, Ed25519ReplayRefused) {
  auto pw = key.password(id, now);
  ASSERT_TRUE(login(id, pw, id).ok());
  replay.accept(id, now);
  EXPECT_EQ(login(id, pw, id).refusal, Refusal::replay);
  EXPECT_EQ(login(id, key.password(id, now - 5), id).refusal, Refusal::replay);
  EXPECT_TRUE(login(id, key.password(id, now + 1), id).ok());
}

TEST_F(LoginTest, Ed25519MalformedIsBadFormat) {
  for (std::string pw : std::vector<std::string>{"ed25519:", "ed25519:123", "ed25519:abc:AAAA", "ed25519:-5:" + base64_encode(Bytes(64)),
                         "ed25519:1:" + base64_encode(Bytes(63))})
    EXPECT_EQ(login(id, pw, id).refusal, Refusal::bad_password_format) << pw;
}

TEST_F(LoginTest, DeviceWithoutKeyRefusesEd25519) {
  dev().pubkey.reset();
  EXPECT_EQ(login(id, key.password(id, now), id).refusal, Refusal::no_credential);
}

TEST_F(LoginTest, ServiceAccountsBindClientIds) {
  EXPECT_TRUE(login("core", core_secret, "core-1").ok());
  EXPECT_EQ(login("core", core_secret, "core-1").role, Role::core);
  EXPECT_EQ(login("core", core_secret, "core").refusal, Refusal::client_id_mismatch);
  EXPECT_EQ(login("core", core_secret, "core-").refusal, Refusal::client_id_mismatch);
  EXPECT_EQ(login("core", core_secret, "x-core-1").refusal, Refusal::client_id_mismatch);
  EXPECT_TRUE(login("bridge-a", "bridgesecret", "bridge-a").ok());
  EXPECT_EQ(login("bridge-a", "bridgesecret", "bridge-a-2").refusal, Refusal::client_id_mismatch);
  EXPECT_TRUE(login("grafana", "monsecret", "grafana-7").ok());
  EXPECT_EQ(login("grafana", "monsecret", "other").refusal, Refusal::client_id_mismatch);
}

TEST_F(LoginTest, ServiceAccountWrongSecretRefused) {
  EXPECT_EQ(login("core", "wrong", "core-1").refusal, Refusal::bad_secret);
  EXPECT_EQ(login("core", "", "core-1").refusal, Refusal::bad_password_format);
  EXPECT_EQ(login("nosuch", "x", "nosuch").refusal, Refusal::unknown_user);
}

TEST_F(LoginTest, MissingOrOddUsernameRefused) {
  EXPECT_EQ(login(nullptr, "x", "x").refusal, Refusal::bad_username);
  EXPECT_EQ(login("", "x", "x").refusal, Refusal::bad_username);
  EXPECT_EQ(login("a/b", "x", "x").refusal, Refusal::bad_username);
  EXPECT_EQ(login("0861234567890123", token.password().c_str(), "0861234567890123").refusal, Refusal::bad_username);
}

TEST_F(LoginTest, StillValidFollowsTableChanges) {
  auto r = login(id, token.password(), id);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(still_valid(id, r.credential, devices, services, now / 1000));
  // Rotation with grace keeps the session, until the grace ends.
  Token fresh;
  dev().prev_token_hash = dev().token_hash;
  dev().token_hash = fresh.hash();
  dev().prev_token_until = now / 1000 + 10;
  EXPECT_TRUE(still_valid(id, r.credential, devices, services, now / 1000));
  EXPECT_FALSE(still_valid(id, r.credential, devices, services, now / 1000 + 10));
  dev().prev_token_until = now / 1000 + 100;
  dev().enabled = false;
  EXPECT_FALSE(still_valid(id, r.credential, devices, services, now / 1000));
  auto s = login("core", core_secret, "core-1");
  EXPECT_TRUE(still_valid("core", s.credential, devices, services, 0));
  services.accounts["core"] = make_service_account("core", Role::core, "new");
  EXPECT_FALSE(still_valid("core", s.credential, devices, services, 0));
}

TEST_F(LoginTest, IdentityFromUsername) {
  EXPECT_EQ(identity_of(id, services).role, Role::charger);
  EXPECT_EQ(identity_of("core", services).role, Role::core);
  EXPECT_EQ(identity_of("grafana", services).role, Role::monitor);
  EXPECT_EQ(identity_of("stranger", services).role, Role::none);
  EXPECT_EQ(identity_of("0123", services).role, Role::none);
}
