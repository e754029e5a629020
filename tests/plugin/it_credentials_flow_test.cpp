// How credentials reach the plugin (issue 14.4), with a real mosquitto, the plugin and a test core
// speaking the protocol of domain's auth_control.hpp: the plugin asks for a snapshot, any core answers
// on $CONTROL, pushes carry revisions, and the last known table is kept in the auth cache file so
// chargers log in while no core runs.
#include <signal.h>
#include <sys/stat.h>

#include <boost/json.hpp>
#include <fstream>

#include "fixture.hpp"

using namespace chargehub::plugintest;
using chargehub::testkeys::Token;
using chargehub::testing::wait_until;
namespace ac = chargehub::auth_control;

namespace {
const std::string A = "861234567890123";
const std::string B = "861234567890124";
const std::string C = "861234567890125";
const std::string request_topic(ac::kSnapshotRequestTopic);
}  // namespace

class CredentialsFlow : public PluginTest {};

TEST_F(CredentialsFlow, ChargersLogInAfterTheSnapshotThePluginAskedFor) {
  auto ta = add_charger(A);
  start_broker("", /*with_core=*/false);
  EXPECT_NE(Mqtt(broker->port(), charger(A, ta.password())).connack(), 0);
  start_core(/*announce=*/false);
  ASSERT_TRUE(wait_for_snapshot()) << broker->log_text();
  EXPECT_EQ(Mqtt(broker->port(), charger(A, ta.password())).connack(), 0);
  auto reqs = test_core->requests();
  ASSERT_FALSE(reqs.empty());
  EXPECT_EQ(reqs[0].have_rev, -1);  // it had nothing yet
  EXPECT_TRUE(reqs[0].reason == "start" || reqs[0].reason == "retry") << reqs[0].reason;
  EXPECT_TRUE(broker->wait_for_log("chargehub-auth: snapshot at rev " + std::to_string(db.rev()) + " from 'core': 1 devices"));
  EXPECT_TRUE(wait_until([&] { return status().find("credentials: snapshot\n") != std::string::npos; }, 3s)) << status();
  // Once it has one, it stops asking (until auth_snapshot_interval).
  auto n = test_core->requests().size();
  std::this_thread::sleep_for(1500ms);
  EXPECT_EQ(test_core->requests().size(), n);
}

TEST_F(CredentialsFlow, OnlyServiceAccountsMayReadTheRequestTopicAndNobodyMayPublishOnIt) {
  auto ta = add_charger(A);
  start_broker();
  auto a = connect(charger(A, ta.password()));
  ASSERT_EQ(a->connack(), 0);
  EXPECT_EQ(a->subscribe(request_topic), 0x87);
  EXPECT_EQ(a->publish(request_topic, "{}"), 0x87);
  auto br = connect(bridge());
  EXPECT_EQ(br->subscribe(request_topic), 0x87);
  EXPECT_EQ(br->publish(request_topic, "{}"), 0x87);
  auto c = connect(core());
  EXPECT_EQ(c->subscribe("$share/auth/" + request_topic), 1);
  EXPECT_EQ(c->publish(request_topic, "{}"), 0x87);
  auto mon = connect(monitor());
  EXPECT_EQ(mon->subscribe(request_topic), 1);
}

TEST_F(CredentialsFlow, ADevicePushedWithSetDeviceLogsInWithinOneSecond) {
  start_broker();
  Token t;
  auto t0 = std::chrono::steady_clock::now();
  put_device(A, t.hash_hex());  // the core commits, then pushes set_device with the new rev
  ASSERT_TRUE(wait_until([&] { return can_login(charger(A, t.password())); }, 1s));
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_LT(ms, 1000);
}

TEST_F(CredentialsFlow, TheCachedTableServesLoginsAfterABrokerRestartWithNoCore) {
  auto ta = add_charger(A);
  Token tb;
  put_device(B, tb.hash_hex(), std::nullopt, /*enabled=*/false);
  start_broker();
  Token tc;
  put_device(C, tc.hash_hex());  // a push after the snapshot is cached too
  ASSERT_TRUE(wait_until(
      [&] { return chargehub::testing::read_file(auth_cache).find("\"" + C + "\"") != std::string::npos; }, 3s));
  std::string cache = chargehub::testing::read_file(auth_cache);
  EXPECT_EQ(cache.find(ta.password().substr(4)), std::string::npos);  // hashes only
  EXPECT_NE(cache.find(ta.hash_hex()), std::string::npos);
  struct stat st {};
  ASSERT_EQ(::stat(auth_cache.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);

  test_core.reset();  // every core is down
  broker->stop();
  start_broker("", /*with_core=*/false);
  EXPECT_TRUE(broker->wait_for_log("from the auth cache file"));
  EXPECT_EQ(Mqtt(broker->port(), charger(A, ta.password())).connack(), 0);
  EXPECT_EQ(Mqtt(broker->port(), charger(C, tc.password())).connack(), 0);
  EXPECT_NE(Mqtt(broker->port(), charger(B, tb.password())).connack(), 0);
  EXPECT_TRUE(broker->wait_for_log("reason=disabled"));
  EXPECT_TRUE(wait_until([&] { return status().find("credentials: cache") != std::string::npos; }, 3s)) << status();
  // A revocation still works once a core is back.
  start_core();
  auto a = connect(charger(A, ta.password()));
  ASSERT_EQ(a->connack(), 0);
  disable_device(A);
  EXPECT_TRUE(a->wait_disconnect(1s));
}

TEST_F(CredentialsFlow, AMissingOrCorruptCacheFileIsLoggedAndIgnored) {
  start_broker("", /*with_core=*/false);
  EXPECT_TRUE(broker->wait_for_log("does not exist: no charger can log in until a core sends a snapshot"));
  broker->stop();
  chargehub::testing::write_file(auth_cache, "{\"format\":\"chargehub-auth-cache/1\",\"rev\":3,\"devi");
  auto ta = add_charger(A);
  start_broker();  // starts, logs the bad file, and takes the core's snapshot
  EXPECT_TRUE(broker->wait_for_log("auth cache file ignored"));
  EXPECT_EQ(Mqtt(broker->port(), charger(A, ta.password())).connack(), 0);
  // And the file is rewritten whole.
  EXPECT_TRUE(wait_until(
      [&] { return chargehub::testing::read_file(auth_cache).find("\"" + A + "\"") != std::string::npos; }, 3s));
}

TEST_F(CredentialsFlow, AStaleSnapshotDoesNotResurrectADeviceDeletedByANewerPush) {
  auto ta = add_charger(A);
  start_broker();
  // A slow core's snapshot, taken before the deletion (at the revision of that moment; not older than
  // the snapshot the plugin has, so it is applied) ...
  auto taken_before = db.snapshot();
  auto a = connect(charger(A, ta.password()));
  ASSERT_EQ(a->connack(), 0);
  delete_device(A);  // another core deletes A and pushes at rev + 1
  EXPECT_TRUE(a->wait_disconnect(1s));
  ASSERT_EQ(test_core->send_snapshot(taken_before), 0);  // ... arrives after the push
  ASSERT_TRUE(wait_for_snapshot(2));
  EXPECT_NE(Mqtt(broker->port(), charger(A, ta.password())).connack(), 0);
  EXPECT_TRUE(broker->wait_for_log("reason=deleted"));
  // A snapshot older than the one applied is ignored altogether.
  ac::Snapshot old = taken_before;
  old.rev = 1;
  ASSERT_EQ(test_core->send_snapshot(old), 0);
  EXPECT_TRUE(broker->wait_for_log("control.stale_ignored"));
  EXPECT_NE(Mqtt(broker->port(), charger(A, ta.password())).connack(), 0);
  // The core's current snapshot agrees.
  ASSERT_EQ(test_core->send_snapshot(), 0);
  EXPECT_NE(Mqtt(broker->port(), charger(A, ta.password())).connack(), 0);
}

TEST_F(CredentialsFlow, SighupAsksForASnapshotAgainAndTakesEvenAnOlderOne) {
  auto ta = add_charger(A);
  start_broker();
  ASSERT_EQ(::kill(broker->pid(), SIGHUP), 0);
  ASSERT_TRUE(wait_for_snapshot(2)) << broker->log_text();
  auto reqs = test_core->requests();
  ASSERT_FALSE(reqs.empty());
  EXPECT_EQ(reqs.back().reason, "reload");
  EXPECT_EQ(reqs.back().have_rev, db.rev());
  // The core's database was restored from a backup: lower revision, A not in it. After SIGHUP the
  // plugin takes it.
  ASSERT_EQ(::kill(broker->pid(), SIGHUP), 0);
  CoreDb restored;
  test_core.reset();
  test_core = std::make_unique<TestCore>(broker->port(), secrets["core"], restored, /*announce=*/false);
  ASSERT_TRUE(wait_for_snapshot(3)) << broker->log_text();
  EXPECT_NE(Mqtt(broker->port(), charger(A, ta.password())).connack(), 0);
}

TEST_F(CredentialsFlow, WithSharedSubscriptionsOneCoreAnswersEachRequest) {
  auto ta = add_charger(A);
  start_broker("", /*with_core=*/false);
  TestCore c1(broker->port(), secrets["core"], db, false, "auth", "core-auth-1");
  TestCore c2(broker->port(), secrets["core"], db, false, "auth", "core-auth-2");
  ASSERT_TRUE(wait_for_snapshot()) << broker->log_text();
  EXPECT_EQ(Mqtt(broker->port(), charger(A, ta.password())).connack(), 0);
  std::this_thread::sleep_for(300ms);
  // Every request reached one core (not both): as many answers as requests the broker sent them.
  auto answered = c1.requests_answered() + c2.requests_answered();
  EXPECT_GE(answered, 1u);
  std::string s;
  ASSERT_TRUE(wait_until([&] { return (s = status()).find("snapshots: 1\n") != std::string::npos; }, 3s)) << s;
  auto at = s.find("snapshot_requests: ");
  ASSERT_NE(at, std::string::npos) << s;
  EXPECT_LE(answered, static_cast<std::size_t>(std::stoll(s.substr(at + 19))));
}

TEST_F(CredentialsFlow, ABigSnapshotIsParsedOffTheBrokerThreadAndApplied) {
  // 3,000 devices: about 700 KB of JSON, above control.hpp's background_parse_bytes.
  for (int i = 0; i < 3000; ++i)
    db.put({std::to_string(862000000000000LL + i), std::string(64, 'a'), std::nullopt, 0, std::nullopt, true});
  auto ta = add_charger(A);
  start_broker();
  EXPECT_TRUE(broker->wait_for_log("devices"));
  EXPECT_TRUE(broker->wait_for_log(": 3001 devices"));
  EXPECT_EQ(Mqtt(broker->port(), charger(A, ta.password())).connack(), 0);
  // Pushes still apply at once next to it.
  auto a = connect(charger(A, ta.password()));
  ASSERT_EQ(a->connack(), 0);
  disable_device(A);
  EXPECT_TRUE(a->wait_disconnect(1s));
}
