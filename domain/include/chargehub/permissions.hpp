// Who may do what in the back office: the permission catalogue (one key per menu action), the console's
// menu tree (which permission shows each entry) and the built-in roles. Pure data and set arithmetic, no
// I/O. docs/accounts.md has the table.
//
//   permissions::known("devices.control")                       // true
//   permissions::visible_menus(caller.permissions)             // the tree a console draws
//   permissions::missing(by.permissions, wanted)               // what `by` may not grant
//
// A permission key is "<area>.<action>" (finance.withdrawals.approve has two levels of area). Adding a
// permission here reaches platform_admin at the next start (Accounts::ensure_builtin_roles), no migration.
#pragma once
#include <string>
#include <string_view>
#include <vector>

namespace chargehub::permissions {

struct Permission {
  std::string_view key;     // "devices.control"
  std::string_view menu;    // the menu entry it belongs to ("devices")
  std::string_view title;   // Chinese, for the role editor ("远程控制")
};

struct Menu {
  std::string key;          // "devices"
  std::string title;        // "设备列表"
  std::string path;         // console route, "/devices"; "" for a group
  std::string permission;   // the permission that shows a leaf; "" for a group (shown when a child is)
  std::vector<Menu> children;
};

struct BuiltinRole {
  std::string_view key;     // "platform_admin"
  std::string_view name;    // "平台管理员"
  std::vector<std::string> permissions;   // sorted, unique
};

// Every permission, in menu order.
const std::vector<Permission>& catalogue();
bool known(std::string_view key);
const Permission* find(std::string_view key);
// Every key of the catalogue, sorted.
std::vector<std::string> all_keys();

// The whole menu tree, groups with leaves.
const std::vector<Menu>& menu_tree();
// The tree as a holder of `held` sees it: leaves whose permission is held, groups with at least one
// such leaf. `held` need not be sorted.
std::vector<Menu> visible_menus(const std::vector<std::string>& held);

// platform_admin (every permission), customer_service, finance, agent_admin, agent_staff, installer,
// service_ota (for the OTA command-line tool's service key), service_metrics (Prometheus's key: system.metrics).
const std::vector<BuiltinRole>& builtin_roles();
const BuiltinRole* builtin_role(std::string_view key);

// Sorted and without duplicates.
std::vector<std::string> normalized(std::vector<std::string> keys);
// The keys of `wanted` that `held` lacks (sorted, unique). Empty: `held` may grant all of `wanted`.
std::vector<std::string> missing(const std::vector<std::string>& held, const std::vector<std::string>& wanted);
// The keys of `keys` not in the catalogue.
std::vector<std::string> unknown(const std::vector<std::string>& keys);

}  // namespace chargehub::permissions
