#include <gtest/gtest.h>

#include "acl.hpp"

using namespace chargehub::auth;

namespace {
const Identity charger{Role::charger, "861234567890123"};
const Identity other_charger{Role::charger, "861234567890124"};
const Identity core{Role::core, "core"};
const Identity bridge{Role::bridge, "bridge-a"};
const Identity monitor{Role::monitor, "grafana"};
const Identity nobody{Role::none, "x"};
}  // namespace

TEST(AclCharger, MayPublishBelowOwnUpAndOwnStatus) {
  EXPECT_TRUE(acl_allows(charger, Access::write, "chg/v1/861234567890123/up/meter"));
  EXPECT_TRUE(acl_allows(charger, Access::write, "chg/v1/861234567890123/up/session_end"));
  EXPECT_TRUE(acl_allows(charger, Access::write, "chg/v1/861234567890123/status"));
}

TEST(AclCharger, MayNotPublishElsewhere) {
  EXPECT_FALSE(acl_allows(charger, Access::write, "chg/v1/861234567890124/up/meter"));
  EXPECT_FALSE(acl_allows(charger, Access::write, "chg/v1/861234567890123/down/cmd"));
  EXPECT_FALSE(acl_allows(charger, Access::write, "chg/v1/861234567890123/up"));
  EXPECT_FALSE(acl_allows(charger, Access::write, "chg/v1/861234567890123/status/x"));
  EXPECT_FALSE(acl_allows(charger, Access::write, "svc/v1/x"));
  EXPECT_FALSE(acl_allows(charger, Access::write, "$CONTROL/chargehub-auth/v1"));
  EXPECT_FALSE(acl_allows(charger, Access::write, "$SYS/broker/x"));
}

TEST(AclCharger, MaySubscribeOnlyInsideOwnDown) {
  EXPECT_TRUE(acl_allows(charger, Access::subscribe, "chg/v1/861234567890123/down/#"));
  EXPECT_TRUE(acl_allows(charger, Access::subscribe, "chg/v1/861234567890123/down/cmd"));
  EXPECT_TRUE(acl_allows(charger, Access::subscribe, "chg/v1/861234567890123/down/+"));
  EXPECT_FALSE(acl_allows(charger, Access::subscribe, "chg/v1/+/down/#"));
  EXPECT_FALSE(acl_allows(charger, Access::subscribe, "chg/v1/861234567890124/down/#"));
  EXPECT_FALSE(acl_allows(charger, Access::subscribe, "chg/v1/861234567890123/up/#"));
  EXPECT_FALSE(acl_allows(charger, Access::subscribe, "#"));
  EXPECT_FALSE(acl_allows(charger, Access::subscribe, "$SYS/#"));
  EXPECT_FALSE(acl_allows(charger, Access::subscribe, "$CONTROL/chargehub-auth/v1/response"));
}

TEST(AclCharger, ReadsOnlyOwnDown) {
  EXPECT_TRUE(acl_allows(charger, Access::read, "chg/v1/861234567890123/down/cmd"));
  EXPECT_FALSE(acl_allows(charger, Access::read, "chg/v1/861234567890124/down/cmd"));
  EXPECT_FALSE(acl_allows(charger, Access::read, "chg/v1/861234567890123/up/meter"));
}

TEST(AclCharger, SharePrefixGrantsNothingMore) {
  EXPECT_TRUE(acl_allows(charger, Access::subscribe, "$share/g/chg/v1/861234567890123/down/#"));
  EXPECT_FALSE(acl_allows(charger, Access::subscribe, "$share/g/chg/v1/+/down/#"));
  EXPECT_FALSE(acl_allows(charger, Access::subscribe, "$share/chg/v1/861234567890123/down/#"));
  EXPECT_FALSE(acl_allows(charger, Access::subscribe, "$share/g"));
}

TEST(AclCore, SubscribesToUpStatusAndSvcAlsoShared) {
  for (auto f : {"chg/v1/+/up/#", "chg/v1/+/status", "svc/v1/#", "$share/core/chg/v1/+/up/#",
                 "$share/core/chg/v1/+/status", "$share/core/svc/v1/#", "chg/v1/7/up/meter",
                 "$CONTROL/chargehub-auth/v1/response"})
    EXPECT_TRUE(acl_allows(core, Access::subscribe, f)) << f;
  for (auto f : {"#", "chg/v1/#", "chg/v1/+/down/#", "$SYS/#", "$share/core/#", "chg/#",
                 "$CONTROL/chargehub-auth/v1", "$CONTROL/#"})
    EXPECT_FALSE(acl_allows(core, Access::subscribe, f)) << f;
}

TEST(AclCore, PublishesDownForAnyChargerAndControl) {
  EXPECT_TRUE(acl_allows(core, Access::write, "chg/v1/7/down/cmd"));
  EXPECT_TRUE(acl_allows(core, Access::write, "chg/v1/861234567890123/down/ota"));
  EXPECT_TRUE(acl_allows(core, Access::write, "$CONTROL/chargehub-auth/v1"));
  EXPECT_FALSE(acl_allows(core, Access::write, "chg/v1/7/up/meter"));
  EXPECT_FALSE(acl_allows(core, Access::write, "chg/v1/7/status"));
  EXPECT_FALSE(acl_allows(core, Access::write, "$CONTROL/dynamic-security/v1"));
  EXPECT_TRUE(acl_allows(core, Access::read, "$CONTROL/chargehub-auth/v1/response"));
  EXPECT_TRUE(acl_allows(core, Access::read, "chg/v1/7/up/meter"));
  EXPECT_FALSE(acl_allows(core, Access::read, "chg/v1/7/down/cmd"));
}

TEST(AclBridge, OnlyItsOwnSvcSubtree) {
  EXPECT_TRUE(acl_allows(bridge, Access::write, "svc/v1/bridge-a/status"));
  EXPECT_TRUE(acl_allows(bridge, Access::read, "svc/v1/bridge-a/counters"));
  EXPECT_TRUE(acl_allows(bridge, Access::subscribe, "svc/v1/bridge-a/#"));
  EXPECT_FALSE(acl_allows(bridge, Access::write, "svc/v1/bridge-b/status"));
  EXPECT_FALSE(acl_allows(bridge, Access::subscribe, "svc/v1/#"));
  EXPECT_FALSE(acl_allows(bridge, Access::write, "chg/v1/7/up/meter"));
  EXPECT_FALSE(acl_allows(bridge, Access::write, "chg/v1/7/status"));
  EXPECT_FALSE(acl_allows(bridge, Access::subscribe, "chg/v1/7/down/#"));
}

TEST(AclMonitor, ReadsStatusUpAndSvcOnly) {
  EXPECT_TRUE(acl_allows(monitor, Access::subscribe, "chg/v1/+/status"));
  EXPECT_TRUE(acl_allows(monitor, Access::subscribe, "chg/v1/+/up/#"));
  EXPECT_TRUE(acl_allows(monitor, Access::subscribe, "svc/v1/#"));
  EXPECT_TRUE(acl_allows(monitor, Access::read, "chg/v1/7/up/meter"));
  EXPECT_FALSE(acl_allows(monitor, Access::write, "chg/v1/7/down/cmd"));
  EXPECT_FALSE(acl_allows(monitor, Access::write, "svc/v1/grafana/x"));
  EXPECT_FALSE(acl_allows(monitor, Access::subscribe, "chg/v1/+/down/#"));
  EXPECT_FALSE(acl_allows(monitor, Access::subscribe, "$CONTROL/chargehub-auth/v1/response"));
  EXPECT_FALSE(acl_allows(monitor, Access::write, "$CONTROL/chargehub-auth/v1"));
}

TEST(AclNobody, GetsNothing) {
  EXPECT_FALSE(acl_allows(nobody, Access::write, "chg/v1/7/up/meter"));
  EXPECT_FALSE(acl_allows(nobody, Access::read, "svc/v1/x"));
  EXPECT_FALSE(acl_allows(nobody, Access::subscribe, "svc/v1/#"));
  EXPECT_FALSE(acl_allows(nobody, Access::unsubscribe, "svc/v1/#"));
  EXPECT_FALSE(acl_allows(Identity{Role::charger, ""}, Access::write, "chg/v1//up/x"));
}

TEST(AclAnyone, MayUnsubscribe) {
  EXPECT_TRUE(acl_allows(charger, Access::unsubscribe, "#"));
}
