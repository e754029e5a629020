// The admin API's route tables, one per area (docs/admin-api.md). Each returns its routes; the
// program adds them to the kernel (api::mount_all).
#pragma once
#include <functional>
#include <vector>

#include "kernel/kernel.hpp"

namespace chargehub::core {
class Ota;
}

namespace chargehub::api {

// What the detailed status shows beside the service's counters (the MQTT adapter's state).
struct StatusSources {
  std::function<bool()> mqtt_connected;
  std::function<std::pair<uint64_t, uint64_t>()> mqtt_queue;   // waiting, shed
  std::function<json::object()> http_stats;                     // the HTTP server's counters
  std::function<json::object()> instance;                       // this core instance and who leads (docs/scale-out.md)
};

std::vector<Route> system_routes(StatusSources sources);   // health, status, openapi.json
std::vector<Route> device_routes();                        // devices, their commands and alarms
std::vector<Route> money_routes();                         // plans, recharge offers, riders, wallets, IC cards
std::vector<Route> session_routes();                       // sessions and orphan stop records
std::vector<Route> ota_routes(core::Ota& ota);             // firmware and rollouts
std::vector<Route> account_routes();                       // login, tokens, accounts, roles, service keys, audit
std::vector<Route> settings_routes();                      // system configuration (系统配置)
std::vector<Route> withdrawal_routes();                    // agents' withdrawals
std::vector<Route> agent_routes();                         // agents, stations, device assignment
std::vector<Route> income_routes();                        // agents' balances and ledgers, sessions' income split
std::vector<Route> metrics_routes();                       // GET /metrics (Prometheus, docs/metrics.md)
// The HTTP server's counters in the core's metrics (read at scrape time; `s` outlives the scrapes).
void watch_http_server(const http::ServerStats& s);

// Every table above on one kernel.
void mount_all(Kernel& k, StatusSources sources, core::Ota& ota);

}  // namespace chargehub::api
