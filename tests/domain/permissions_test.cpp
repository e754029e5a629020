// The permission catalogue, the menu tree and the built-in roles (permissions.hpp).
#include <gtest/gtest.h>

#include <functional>
#include <set>

#include "chargehub/permissions.hpp"

using namespace chargehub;

namespace {
void each_leaf(const std::vector<permissions::Menu>& ms, const std::function<void(const permissions::Menu&)>& f) {
  for (const auto& m : ms) {
    if (m.children.empty()) f(m);
    else each_leaf(m.children, f);
  }
}
}  // namespace

TEST(Permissions, CatalogueHoldsTheIssuesKeysOnce) {
  std::set<std::string_view> seen;
  for (const auto& p : permissions::catalogue()) {
    EXPECT_TRUE(seen.insert(p.key).second) << p.key;
    EXPECT_FALSE(p.title.empty());
  }
  for (auto k : {"devices.view", "devices.create", "devices.edit", "devices.control", "devices.credentials", "devices.delete", "plans.view",
                 "plans.edit", "offers.view", "offers.edit", "riders.view", "riders.create", "riders.recharge", "cards.view", "cards.edit",
                 "sessions.view", "sessions.start", "sessions.stop", "sessions.refund", "orphans.view", "orphans.resolve", "firmware.view",
                 "firmware.upload", "rollouts.view", "rollouts.manage", "system.status", "accounts.view", "accounts.manage", "roles.view",
                 "roles.manage", "keys.manage", "audit.view", "finance.view", "finance.withdrawals.approve", "agents.view", "agents.manage",
                 "stations.view", "stations.manage", "reports.view"})
    EXPECT_TRUE(permissions::known(k)) << k;
  EXPECT_FALSE(permissions::known("devices.fly"));
}

TEST(Permissions, EveryPermissionBelongsToALeafAndEveryLeafIsShownByAKnownPermission) {
  std::set<std::string> leaves;
  each_leaf(permissions::menu_tree(), [&](const permissions::Menu& m) {
    leaves.insert(m.key);
    EXPECT_TRUE(permissions::known(m.permission)) << m.key;
    EXPECT_FALSE(m.path.empty());
  });
  for (const auto& p : permissions::catalogue()) EXPECT_TRUE(leaves.count(std::string(p.menu))) << p.key;
}

TEST(Permissions, BuiltinRoles) {
  for (auto k : {"platform_admin", "customer_service", "finance", "agent_admin", "agent_staff", "installer", "service_ota"})
    ASSERT_TRUE(permissions::builtin_role(k)) << k;
  EXPECT_EQ(permissions::builtin_role("platform_admin")->permissions, permissions::all_keys());
  EXPECT_EQ(permissions::builtin_role("service_ota")->permissions,
            (std::vector<std::string>{"devices.view", "firmware.upload", "firmware.view", "rollouts.manage", "rollouts.view"}));
  for (const auto& r : permissions::builtin_roles()) {
    EXPECT_TRUE(permissions::unknown(r.permissions).empty()) << r.key;
    EXPECT_EQ(permissions::normalized(r.permissions), r.permissions) << r.key;
  }
  EXPECT_FALSE(permissions::builtin_role("agent_admin")->permissions.empty());
  EXPECT_TRUE(permissions::missing(permissions::builtin_role("agent_admin")->permissions, {"keys.manage"}).size() == 1);
}

TEST(Permissions, VisibleMenusKeepOnlyHeldLeavesAndTheirGroups) {
  auto v = permissions::visible_menus({"sessions.view", "riders.recharge"});
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].key, "order_mgmt");
  ASSERT_EQ(v[0].children.size(), 1u);
  EXPECT_EQ(v[0].children[0].key, "sessions");
  EXPECT_EQ(v[0].children[0].path, "/sessions");
  EXPECT_TRUE(permissions::visible_menus({}).empty());
  EXPECT_EQ(permissions::visible_menus(permissions::all_keys()).size(), permissions::menu_tree().size());
}

TEST(Permissions, MissingIsWhatTheHolderLacks) {
  EXPECT_TRUE(permissions::missing({"a", "b"}, {"b", "a", "a"}).empty());
  EXPECT_EQ(permissions::missing({"a"}, {"c", "b", "a", "c"}), (std::vector<std::string>{"b", "c"}));
}
