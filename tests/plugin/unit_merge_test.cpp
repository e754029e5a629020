// How snapshots and pushes merge into the plugin's device table by revision (devices.hpp): whatever
// order they arrive in from however many cores, the newest change of each device wins.
#include <gtest/gtest.h>

#include "devices.hpp"

using namespace chargehub::auth;
namespace ac = chargehub::auth_control;

namespace {
const std::string H1(64, 'a'), H2(64, 'b');

ac::DeviceCredentials dev(const std::string& id, const std::string& hash, bool enabled = true) {
  return {id, hash, std::nullopt, 0, std::nullopt, enabled};
}
ac::SetDevice set(const std::string& id, const std::string& hash, std::optional<std::int64_t> rev) {
  ac::SetDevice s;
  s.id = id;
  s.token_hash = ac::Field<std::string>::set(hash);
  s.enabled = true;
  s.rev = rev;
  return s;
}
}  // namespace

TEST(Merge, SnapshotReplacesTheTable) {
  DeviceTable t;
  auto r = apply_snapshot(t, {5, {dev("1", H1), dev("2", H1, false)}});
  EXPECT_TRUE(r.applied);
  EXPECT_EQ(t.rev, 5);
  EXPECT_EQ(t.live(), 2u);
  EXPECT_FALSE(t.find("2")->enabled);
  r = apply_snapshot(t, {6, {dev("2", H1, false)}});  // 1 deleted
  EXPECT_TRUE(r.applied);
  EXPECT_EQ(t.find("1"), nullptr);
  EXPECT_EQ(t.find("2")->rev, 6);
}

TEST(Merge, PreparedSnapshotInstallsLikeApply) {
  DeviceTable t;
  apply_snapshot(t, {2, {dev("1", H1)}});
  apply_delete_device(t, {"1", 5});
  auto prepared = table_from_snapshot({4, {dev("1", H1), dev("2", H1)}});  // off the broker thread
  EXPECT_TRUE(install_snapshot(*prepared, t));
  EXPECT_TRUE(prepared->find("1")->deleted);  // the newer tombstone survives
  EXPECT_TRUE(prepared->find("2")->usable());
  auto old = table_from_snapshot({1, {}});
  EXPECT_FALSE(install_snapshot(*old, *prepared));
}

TEST(Merge, SnapshotOlderThanTheTableIsIgnored) {
  DeviceTable t;
  apply_snapshot(t, {9, {dev("1", H1)}});
  auto r = apply_snapshot(t, {8, {dev("1", H1), dev("3", H1)}});
  EXPECT_FALSE(r.applied);
  EXPECT_EQ(t.find("3"), nullptr);
  EXPECT_EQ(t.rev, 9);
  r = apply_snapshot(t, {8, {dev("1", H1), dev("3", H1)}}, /*force=*/true);  // after SIGHUP: a restored DB
  EXPECT_TRUE(r.applied);
  EXPECT_TRUE(t.find("3"));
}

TEST(Merge, StaleSnapshotDoesNotResurrectADeviceDeletedByANewerPush) {
  DeviceTable t;
  apply_snapshot(t, {2, {dev("1", H1)}});
  EXPECT_TRUE(apply_delete_device(t, {"1", 5}).applied);
  // A core took this snapshot at rev 4 (before the deletion) and it arrives after the push.
  auto r = apply_snapshot(t, {4, {dev("1", H1)}});
  EXPECT_TRUE(r.applied);
  ASSERT_TRUE(t.find("1"));
  EXPECT_TRUE(t.find("1")->deleted);
  // A snapshot taken after the deletion removes the tombstone.
  apply_snapshot(t, {5, {}});
  EXPECT_EQ(t.find("1"), nullptr);
}

TEST(Merge, SnapshotKeepsNewerPushesAndDropsOlderOnes) {
  DeviceTable t;
  apply_snapshot(t, {2, {dev("1", H1)}});
  apply_set_device(t, set("7", H1, 6));  // created after the snapshot below was taken
  apply_set_device(t, set("1", H2, 6));  // token replaced after it
  apply_snapshot(t, {5, {dev("1", H1)}});
  ASSERT_TRUE(t.find("7"));
  EXPECT_EQ(*t.find("1")->token_hash, *parse_hex32(H2));
  apply_snapshot(t, {6, {dev("1", H2)}});  // a snapshot at rev >= 6 without 7: 7 was deleted since
  EXPECT_EQ(t.find("7"), nullptr);
}

TEST(Merge, PushOlderThanTheRecordIsIgnored) {
  DeviceTable t;
  apply_snapshot(t, {2, {}});
  EXPECT_TRUE(apply_set_device(t, set("1", H1, 8)).applied);
  EXPECT_FALSE(apply_disable_device(t, {"1", 7}).applied);
  EXPECT_TRUE(t.find("1")->enabled);
  EXPECT_FALSE(apply_set_device(t, set("1", H2, 3)).applied);
  EXPECT_TRUE(apply_disable_device(t, {"1", 9}).applied);
  EXPECT_FALSE(t.find("1")->enabled);
}

TEST(Merge, SetDeviceCreatesUnknownDevicesAndRecreatesDeletedOnes) {
  DeviceTable t;
  apply_snapshot(t, {1, {}});
  EXPECT_TRUE(apply_set_device(t, set("1", H1, 2)).applied);
  EXPECT_TRUE(t.find("1")->usable());
  apply_delete_device(t, {"1", 3});
  EXPECT_FALSE(t.find("1")->usable());
  EXPECT_TRUE(apply_set_device(t, set("1", H2, 4)).applied);
  EXPECT_TRUE(t.find("1")->usable());
}

TEST(Merge, RevocationOfAnUnknownDevice) {
  DeviceTable t;
  apply_snapshot(t, {1, {}});
  EXPECT_EQ(apply_disable_device(t, {"1", std::nullopt}).error, "unknown device");
  EXPECT_EQ(apply_delete_device(t, {"1", std::nullopt}).error, "unknown device");
  // With a rev it is remembered, so an older snapshot listing it cannot admit it.
  EXPECT_TRUE(apply_delete_device(t, {"1", 4}).applied);
  apply_snapshot(t, {3, {dev("1", H1)}});
  EXPECT_FALSE(t.find("1")->usable());
}

TEST(Merge, PushWithoutRevAppliesAndTheNextSnapshotDecides) {
  DeviceTable t;
  apply_snapshot(t, {4, {dev("1", H1)}});
  EXPECT_TRUE(apply_disable_device(t, {"1", std::nullopt}).applied);
  EXPECT_FALSE(t.find("1")->enabled);
  apply_snapshot(t, {4, {dev("1", H1)}});
  EXPECT_TRUE(t.find("1")->enabled);
}
