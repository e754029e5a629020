// Ed25519 logins (window, replay) and token rotation with a grace period, on a real broker.
#include "fixture.hpp"

using namespace chargehub::plugintest;
using chargehub::testkeys::Ed25519Key;
using chargehub::testkeys::now_ms;
using chargehub::testkeys::Token;

namespace {
const std::string A = "861234567890123";
}

class Ed25519Login : public PluginTest {};

TEST_F(Ed25519Login, SignedTimestampAccepted) {
  Ed25519Key key;
  put_device(A, std::nullopt, key.pub_hex());
  start_broker();
  auto c = connect(charger(A, key.password(A, now_ms())));
  ASSERT_EQ(c->connack(), 0);
  int rc = c->publish("chg/v1/" + A + "/up/boot", "{}");
  EXPECT_TRUE(rc == 0 || rc == 0x10) << rc;  // 0x10: accepted, no subscribers
  EXPECT_EQ(Mqtt(broker->port(), charger(A, key.password(A, now_ms() + 1), 4)).connack(), 0);
}

TEST_F(Ed25519Login, ReplayOfAcceptedLoginRefused) {
  Ed25519Key key;
  put_device(A, std::nullopt, key.pub_hex());
  start_broker();
  std::int64_t ts = now_ms();
  auto pw = key.password(A, ts);
  EXPECT_EQ(Mqtt(broker->port(), charger(A, pw)).connack(), 0);
  EXPECT_NE(Mqtt(broker->port(), charger(A, pw)).connack(), 0);
  EXPECT_NE(Mqtt(broker->port(), charger(A, key.password(A, ts - 1000))).connack(), 0);
  EXPECT_TRUE(broker->wait_for_log("reason=replay"));
  EXPECT_EQ(Mqtt(broker->port(), charger(A, key.password(A, ts + 1))).connack(), 0);
}

TEST_F(Ed25519Login, TimestampOutsideWindowRefused) {
  Ed25519Key key;
  put_device(A, std::nullopt, key.pub_hex());
  start_broker("plugin_opt_ed25519_window_s 60\n");
  EXPECT_NE(Mqtt(broker->port(), charger(A, key.password(A, now_ms() - 61000))).connack(), 0);
  EXPECT_NE(Mqtt(broker->port(), charger(A, key.password(A, now_ms() + 61000))).connack(), 0);
  EXPECT_TRUE(broker->wait_for_log("reason=stale_timestamp"));
  EXPECT_EQ(Mqtt(broker->port(), charger(A, key.password(A, now_ms() - 50000))).connack(), 0);
}

TEST_F(Ed25519Login, WrongKeyOrTamperedSignatureRefused) {
  Ed25519Key key, other;
  put_device(A, std::nullopt, key.pub_hex());
  start_broker();
  EXPECT_NE(Mqtt(broker->port(), charger(A, other.password(A, now_ms()))).connack(), 0);
  auto pw = key.password(A, now_ms());
  pw[pw.size() - 5] = pw[pw.size() - 5] == 'A' ? 'B' : 'A';
  EXPECT_NE(Mqtt(broker->port(), charger(A, pw)).connack(), 0);
  EXPECT_TRUE(broker->wait_for_log("reason=bad_signature"));
}

class TokenRotation : public PluginTest {};

TEST_F(TokenRotation, PreviousTokenAcceptedDuringGraceThenRefusedAndKicked) {
  Token old_token = add_charger(A);
  start_broker();
  auto connected_with_old = connect(charger(A + "", old_token.password()));
  ASSERT_EQ(connected_with_old->connack(), 0);
  // The core rotates: new token, the old one accepted for 2 more seconds.
  Token fresh;
  std::int64_t until = now_ms() / 1000 + 2;
  auto d = *db.get(A);
  d.prev_token_hash = d.token_hash;
  d.token_hash = fresh.hash_hex();
  d.prev_token_until = until;
  put_device(d);  // set_device with the new revision
  ASSERT_TRUE(chargehub::testing::wait_until([&] {  // the snapshot's command, then this push
    auto log = broker->log_text();
    auto first = log.find("control.commands from=core ");
    return first != std::string::npos && log.find("control.commands from=core ", first + 1) != std::string::npos;
  }, 3s));
  EXPECT_TRUE(connected_with_old->connected());  // rotation alone does not disconnect
  {
    auto other = connect(charger(A, fresh.password()));  // takes over the session
    EXPECT_EQ(other->connack(), 0);
  }
  EXPECT_EQ(Mqtt(broker->port(), charger(A, old_token.password())).connack(), 0);
  auto still_old = connect(charger(A, old_token.password()));
  ASSERT_EQ(still_old->connack(), 0);
  // When the grace period ends, the session on the old token is closed and the old token refused.
  auto at = still_old->wait_disconnect(std::chrono::seconds(5));
  ASSERT_TRUE(at);
  auto grace_end = std::chrono::system_clock::time_point(std::chrono::seconds(until));
  auto late = std::chrono::system_clock::now() - grace_end;
  EXPECT_LT(late, std::chrono::milliseconds(1500));
  EXPECT_NE(Mqtt(broker->port(), charger(A, old_token.password())).connack(), 0);
  EXPECT_EQ(Mqtt(broker->port(), charger(A, fresh.password())).connack(), 0);
}
