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

struct SetSettingBody {
  string value;   // as text: "2000", "Asia/Shanghai"
};
BOOST_DESCRIBE_STRUCT(SetSettingBody, (), (value))

SettingView setting_view(const core::SettingValue& s) {
  return SettingView{s.key, s.type, s.value, s.default_value, s.description, s.min, s.max, s.updated_at};
}

std::optional<json::value> setting_snapshot(Ctx& c, const std::string& key) {
  auto s = c.app.settings.get(key);
  if (!s) return std::nullopt;
  return json::value_from(setting_view(*s));
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
  r.push_back(Route{"PUT", "/api/v1/settings/{key}", "system.config", Scope::Platform, "Set one configuration key (platform only)",
                    [](Ctx& c) {
                      auto b = c.body<SetSettingBody>();
                      need(b.value.size() <= 200, "bad_setting", "value", "value must be at most 200 bytes");
                      return result(c.app.settings.set(c.scope(), c.param("key"), b.value, c.now), 200, setting_view);
                    }}
                  .with_request<SetSettingBody>()
                  .with_response<SettingView>()
                  .may_refuse({"unknown_setting", "bad_setting", "platform_only"})
                  .audited("setting.update", "setting", "key", setting_snapshot));
  return r;
}

}  // namespace chargehub::api
