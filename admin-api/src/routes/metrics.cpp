// GET /api/v1/metrics: the core's metrics in the Prometheus text format (docs/metrics.md), for a Prometheus
// service key (role service_metrics, permission system.metrics; Prometheus: metrics_path /api/v1/metrics and
// authorization credentials_file). Under /api/v1 like every route: one prefix for proxies and tools.
#include "chargehub/metrics.hpp"
#include "http/server.hpp"
#include "metrics.hpp"
#include "routes/routes.hpp"

namespace chargehub::api {

std::vector<Route> metrics_routes() {
  std::vector<Route> r;
  Route scrape{"GET", "/api/v1/metrics", "system.metrics", Scope::Platform,
               "The core's metrics in the Prometheus text format 0.0.4 (text/plain; docs/metrics.md)", [](Ctx&) {
                 Reply out;
                 out.text = core::core_metrics().registry().expose();
                 out.content_type = std::string(metrics::kContentType);
                 out.headers.emplace_back("Cache-Control", "no-store");
                 return out;
               }};
  scrape.response_schema = json::object{{"type", "string"}, {"description", "Prometheus text format 0.0.4"}};
  r.push_back(std::move(scrape));
  return r;
}

void watch_http_server(const http::ServerStats& s) {
  using Values = std::vector<std::pair<std::string, double>>;
  core::core_metrics().watch_http(
      [&s] {
        return Values{{"accepted", double(s.accepted.load())},          {"refused_connection", double(s.refused_connections.load())},
                      {"shed", double(s.shed.load())},                  {"body_budget_shed", double(s.body_budget_shed.load())},
                      {"head_timeout", double(s.head_timeouts.load())}, {"body_timeout", double(s.body_timeouts.load())},
                      {"idle_closed", double(s.idle_closed.load())},    {"too_large", double(s.too_large.load())},
                      {"bad_request", double(s.bad_requests.load())},   {"handler_error", double(s.handler_errors.load())}};
      },
      [&s] {
        return Values{{"open_connections", double(s.open_connections.load())}, {"queued_requests", double(s.queued.load())}};
      });
}

}  // namespace chargehub::api
