#include "chargehub/permissions.hpp"

#include <algorithm>
#include <set>

namespace chargehub::permissions {

namespace {

const std::vector<Permission> kCatalogue = {
    {"devices.view", "devices", "查看设备"},
    {"devices.create", "devices", "添加设备"},
    {"devices.edit", "devices", "编辑设备（名称、方案、站点、启用停用）"},
    {"devices.control", "devices", "远程控制（启停端口、查询、重启）"},
    {"devices.credentials", "devices", "设备凭据（令牌、公钥）"},
    {"devices.delete", "devices", "删除设备"},
    {"firmware.view", "firmware", "查看固件"},
    {"firmware.upload", "firmware", "上传固件"},
    {"rollouts.view", "rollouts", "查看升级任务"},
    {"rollouts.manage", "rollouts", "管理升级任务（创建、暂停、继续、取消）"},
    {"stations.view", "stations", "查看充电站"},
    {"stations.manage", "stations", "管理充电站"},
    {"sessions.view", "sessions", "查看订单"},
    {"sessions.start", "sessions", "远程启动充电"},
    {"sessions.stop", "sessions", "结束订单"},
    {"sessions.refund", "sessions", "订单退款"},
    {"orphans.view", "orphans", "查看异常结算记录"},
    {"orphans.resolve", "orphans", "处理异常结算记录"},
    {"plans.view", "plans", "查看收费方案"},
    {"plans.edit", "plans", "编辑收费方案"},
    {"offers.view", "offers", "查看充值套餐"},
    {"offers.edit", "offers", "编辑充值套餐"},
    {"riders.view", "riders", "查看用户"},
    {"riders.create", "riders", "添加用户"},
    {"riders.recharge", "riders", "后台充值"},
    {"cards.view", "cards", "查看充电卡"},
    {"cards.edit", "cards", "管理充电卡（添加、挂失、停用）"},
    {"finance.view", "finance", "查看财务"},
    {"finance.withdrawals.request", "finance", "申请提现"},
    {"finance.withdrawals.approve", "finance", "审批提现"},
    {"reports.view", "reports", "查看报表"},
    {"agents.view", "agents", "查看运营商"},
    {"agents.manage", "agents", "管理运营商（开户、分成、冻结）"},
    {"accounts.view", "accounts", "查看管理员"},
    {"accounts.manage", "accounts", "管理管理员（创建、修改、冻结、重置密码）"},
    {"roles.view", "roles", "查看角色"},
    {"roles.manage", "roles", "管理角色"},
    {"keys.manage", "keys", "管理 API 密钥"},
    {"audit.view", "audit", "查看操作日志"},
    {"system.status", "system", "查看系统状态"},
    {"system.metrics", "system", "读取监控指标（Prometheus /metrics）"},
    {"system.config", "settings", "系统配置（提现限额、报表时区）"},
};

Menu leaf(std::string key, std::string title, std::string path, std::string permission) {
  return Menu{std::move(key), std::move(title), std::move(path), std::move(permission), {}};
}
Menu group(std::string key, std::string title, std::vector<Menu> children) {
  return Menu{std::move(key), std::move(title), "", "", std::move(children)};
}

const std::vector<Menu> kMenus = {
    group("device_mgmt", "设备管理",
          {leaf("devices", "设备列表", "/devices", "devices.view"), leaf("firmware", "升级软件列表", "/firmware", "firmware.view"),
           leaf("rollouts", "升级任务", "/rollouts", "rollouts.view")}),
    group("station_mgmt", "充电站管理", {leaf("stations", "充电站列表", "/stations", "stations.view")}),
    group("order_mgmt", "订单管理",
          {leaf("sessions", "订单列表", "/sessions", "sessions.view"), leaf("orphans", "异常结算记录", "/orphans", "orphans.view")}),
    group("plan_mgmt", "收费方案",
          {leaf("plans", "收费方案列表", "/plans", "plans.view"), leaf("offers", "充值套餐方案", "/recharge-offers", "offers.view")}),
    group("rider_mgmt", "用户管理",
          {leaf("riders", "用户列表", "/riders", "riders.view"), leaf("cards", "充电卡列表", "/cards", "cards.view")}),
    group("finance_mgmt", "财务管理",
          {leaf("finance", "提现管理", "/finance/withdrawals", "finance.view"), leaf("reports", "报表统计", "/reports", "reports.view")}),
    group("agent_mgmt", "运营商管理", {leaf("agents", "运营商列表", "/agents", "agents.view")}),
    group("access_mgmt", "权限管理",
          {leaf("accounts", "管理员", "/accounts", "accounts.view"), leaf("roles", "角色管理", "/roles", "roles.view"),
           leaf("keys", "API 密钥", "/keys", "keys.manage"), leaf("audit", "操作日志", "/audit", "audit.view")}),
    group("system_mgmt", "系统",
          {leaf("system", "系统状态", "/system", "system.status"), leaf("settings", "系统配置", "/settings", "system.config")}),
};

std::vector<std::string> keys(std::initializer_list<const char*> ks) {
  std::vector<std::string> v(ks.begin(), ks.end());
  return normalized(std::move(v));
}
// Every key of the catalogue whose area (what precedes the first '.') is one of `areas`.
std::vector<std::string> areas(std::initializer_list<std::string_view> as) {
  std::vector<std::string> v;
  for (const auto& p : kCatalogue) {
    auto area = p.key.substr(0, p.key.find('.'));
    if (std::find(as.begin(), as.end(), area) != as.end()) v.emplace_back(p.key);
  }
  return normalized(std::move(v));
}

const std::vector<BuiltinRole>& roles() {
  static const std::vector<BuiltinRole> r = {
      {"platform_admin", "平台管理员", all_keys()},
      {"customer_service", "客服",
       keys({"devices.view", "stations.view", "sessions.view", "sessions.start", "sessions.stop", "sessions.refund", "orphans.view",
             "riders.view", "riders.create", "cards.view", "cards.edit", "plans.view", "offers.view"})},
      {"finance", "财务",
       keys({"finance.view", "finance.withdrawals.approve", "reports.view", "riders.view", "riders.recharge", "sessions.view",
             "sessions.refund", "orphans.view", "orphans.resolve", "plans.view", "offers.view", "audit.view"})},
      {"agent_admin", "代理商管理员",
       keys({"devices.view", "devices.edit", "devices.control", "stations.view", "stations.manage", "sessions.view", "sessions.stop",
             // 代人充值 and IC卡充值 in the agents' app: an agent registers riders, issues cards and tops up
             // their wallets (cash it collected; audited, in its scope).
             "riders.view", "riders.create", "riders.recharge", "cards.view", "cards.edit", "plans.view", "offers.view", "finance.view", "finance.withdrawals.request", "reports.view",
             "agents.view", "agents.manage",
             "accounts.view", "accounts.manage", "roles.view", "roles.manage", "audit.view"})},
      {"agent_staff", "代理商员工",
       keys({"devices.view", "stations.view", "sessions.view", "riders.view", "cards.view", "plans.view", "reports.view"})},
      {"installer", "安装人员",
       keys({"devices.view", "devices.create", "devices.edit", "devices.control", "devices.credentials", "stations.view",
             "firmware.view", "system.status"})},
      {"service_ota", "OTA 服务", [] {
         auto v = areas({"firmware", "rollouts"});
         v.push_back("devices.view");
         return normalized(std::move(v));
       }()},
      // Prometheus's key (docs/metrics.md): GET /metrics and nothing else.
      {"service_metrics", "监控服务", keys({"system.metrics"})},
  };
  return r;
}

}  // namespace

const std::vector<Permission>& catalogue() { return kCatalogue; }

const Permission* find(std::string_view key) {
  for (const auto& p : kCatalogue)
    if (p.key == key) return &p;
  return nullptr;
}

bool known(std::string_view key) { return find(key) != nullptr; }

std::vector<std::string> all_keys() {
  std::vector<std::string> v;
  for (const auto& p : kCatalogue) v.emplace_back(p.key);
  return normalized(std::move(v));
}

const std::vector<Menu>& menu_tree() { return kMenus; }

namespace {
std::vector<Menu> visible(const std::vector<Menu>& menus, const std::set<std::string, std::less<>>& held) {
  std::vector<Menu> out;
  for (const auto& m : menus) {
    if (m.children.empty()) {
      if (!m.permission.empty() && held.count(m.permission)) out.push_back(m);
      continue;
    }
    auto kids = visible(m.children, held);
    if (kids.empty()) continue;
    Menu g = m;
    g.children = std::move(kids);
    out.push_back(std::move(g));
  }
  return out;
}
}  // namespace

std::vector<Menu> visible_menus(const std::vector<std::string>& held) {
  return visible(kMenus, std::set<std::string, std::less<>>(held.begin(), held.end()));
}

const std::vector<BuiltinRole>& builtin_roles() { return roles(); }

const BuiltinRole* builtin_role(std::string_view key) {
  for (const auto& r : roles())
    if (r.key == key) return &r;
  return nullptr;
}

std::vector<std::string> normalized(std::vector<std::string> keys) {
  std::sort(keys.begin(), keys.end());
  keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
  return keys;
}

std::vector<std::string> missing(const std::vector<std::string>& held, const std::vector<std::string>& wanted) {
  std::set<std::string, std::less<>> h(held.begin(), held.end());
  std::vector<std::string> out;
  for (const auto& w : wanted)
    if (!h.count(w)) out.push_back(w);
  return normalized(std::move(out));
}

std::vector<std::string> unknown(const std::vector<std::string>& ks) {
  std::vector<std::string> out;
  for (const auto& k : ks)
    if (!known(k)) out.push_back(k);
  return normalized(std::move(out));
}

}  // namespace chargehub::permissions
