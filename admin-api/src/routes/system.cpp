// Liveness, the detailed status (a permission), and the OpenAPI document.
#include "routes/routes.hpp"
#include "routes/views.hpp"

namespace chargehub::api {

std::vector<Route> system_routes(StatusSources src) {
  std::vector<Route> r;
  // Liveness only: load balancers and probes ask it without credentials; it tells nothing else.
  r.push_back(Route{"GET", "/api/v1/health", "", Scope::Public, "Liveness (no credentials; nothing else shown)",
                    [](Ctx&) { return ok(json::object{{"ok", true}}); }});
  r.back().response_schema = json::object{{"type", "object"}, {"properties", json::object{{"ok", json::object{{"type", "boolean"}}}}}};
  Route status{"GET", "/api/v1/status", "system.status", Scope::Platform, "The core's counters: MQTT, messages, HTTP, credentials",
               [src](Ctx& c) {
                 auto& k = c.svc.counters();
                 auto [waiting, shed] = src.mqtt_queue ? src.mqtt_queue() : std::pair<uint64_t, uint64_t>{0, 0};
                 auto& acc = c.app.accounts;
                 return ok(json::object{
                     {"ok", true},
                     {"mqtt_connected", src.mqtt_connected ? src.mqtt_connected() : false},
                     {"mqtt_queue", json::object{{"waiting", waiting}, {"shed", shed}}},
                     {"counters", json::object{{"messages", k.messages.load()},
                                               {"bad_messages", k.bad_messages.load()},
                                               {"unknown_topics", k.unknown_topics.load()},
                                               {"sessions_settled", k.sessions_settled.load()},
                                               {"duplicate_reports", k.duplicate_reports.load()},
                                               {"commands_published", k.commands_published.load()},
                                               {"publish_failures", k.publish_failures.load()}}},
                     {"credentials", json::object{{"failed_logins", acc.failed_logins()},
                                                  {"failed_keys", acc.failed_keys()},
                                                  {"throttled", acc.throttled()}}},
                     {"http", src.http_stats ? src.http_stats() : json::object{}},
                     {"instance", src.instance ? src.instance() : json::object{}}});
               }};
  status.response_schema = json::object{{"type", "object"}};
  r.push_back(std::move(status));
  Route doc{"GET", "/api/v1/openapi.json", "", Scope::Public, "This API as an OpenAPI 3 document",
            [](Ctx& c) { return ok(c.kernel.openapi()); }};
  doc.response_schema = json::object{{"type", "object"}};
  r.push_back(std::move(doc));
  return r;
}

void mount_all(Kernel& k, StatusSources sources, core::Ota& ota) {
  k.add(system_routes(std::move(sources)));
  k.add(account_routes());
  k.add(device_routes());
  k.add(money_routes());
  k.add(session_routes());
  k.add(ota_routes(ota));
  k.add(settings_routes());
  k.add(withdrawal_routes());
  k.add(agent_routes());
  k.add(income_routes());
  k.add(metrics_routes());
}

}  // namespace chargehub::api
