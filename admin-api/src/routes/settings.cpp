// System configuration (系统配置): the catalogue of keys with their values and defaults, and setting one
// (docs/agents.md "System configuration").
#include "routes/routes.hpp"
#include "routes/views.hpp"

namespace chargehub::api {

namespace {

struct SettingView {
  string key, type, value, default_value, description;
  optional<int64_t> min, max, updated_at;
};
BOOST_DESCRIBE_STRUCT(SettingView, (), (key, type, value, default_value, description, min, max, updated_at))

// What PUT answers and the audit records: the kernel snapshots "before" by a path parameter only, so the
// value replaced is part of the answer.
struct SettingChangeView {
  string key, value, previous_value, default_value;
  int64_t updated_at;
};
BOOST_DESCRIBE_STRUCT(SettingChangeView, (), (key, value, previous_value, default_value, updated_at))

struct SetSettingBody {
  string key;     // "withdrawal.min_fen"
  string value;   // as text: "2000", "Asia/Shanghai"
};
BOOST_DESCRIBE_STRUCT(SetSettingBody, (), (key, value))

SettingView setting_view(const core::SettingValue& s) {
  return SettingView{s.key, s.type, s.value, s.default_value, s.description, s.min, s.max, s.updated_at};
}


}  // namespace

std::vector<Route> settings_routes() {
  std::vector<Route> r;
  r.push_back(Route{"GET", "/api/v1/settings", "system.config", Scope::Platform, "System configuration: every key, its value and default",
                    [](Ctx& c) {
                      auto p = c.page({});
                      return ok(page_json(page_of(c.app.settings.all(), p), p, setting_view));
                    }}
                  .with_page<SettingView>());
  // The key is in the body (path parameters are typed by name in the kernel, and a key is none of them).
  r.push_back(Route{"PUT", "/api/v1/settings", "system.config", Scope::Platform, "Set one configuration key (platform only)",
                    [](Ctx& c) {
                      auto b = c.body<SetSettingBody>();
                      need(!b.key.empty() && b.key.size() <= 64, "unknown_setting", "key", "no setting with this key");
                      need(b.value.size() <= 200, "bad_setting", "value", "value must be at most 200 bytes");
                      c.audit_target = b.key;
                      auto before = c.app.settings.get(b.key);
                      auto r = c.app.settings.set(c.scope(), b.key, b.value, c.now);
                      if (!r) return refuse(r.refusal);
                      return ok(json::value_from(SettingChangeView{r->key, r->value, before->value, r->default_value, c.now}));
                    }}
                  .with_request<SetSettingBody>()
                  .with_response<SettingChangeView>()
                  .may_refuse({"unknown_setting", "bad_setting", "platform_only"})
                  .audited("setting.update", "setting"));
  return r;
}

}  // namespace chargehub::api
