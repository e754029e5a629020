// The core's metrics (docs/metrics.md): one registry for the process, served as GET /metrics by the
// admin API (admin-api/src/routes/metrics.cpp). Three kinds of sources:
//   - hooks, one line where a thing happens: a message by kind, a settlement, a command's round trip, a
//     payment, an HTTP request, a database statement or transaction (sql::Observer);
//   - counters the adapters keep anyway (Service::counters, MqttLink, the HTTP server, accounts), read at
//     scrape time through watch();
//   - the database, asked at scrape time (sessions by state, devices online/offline: one GROUP BY each).
// Every name starts with chargehub_ and says its unit (_seconds, _fen, _total).
//
//   auto& m = core::core_metrics();
//   m.watch(db, svc, &link);                        // main, once the adapters exist
//   m.message("meter");                             // hot paths: an array lookup and an atomic add
//   std::string text = m.registry().expose();
#pragma once
#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "chargehub/metrics.hpp"
#include "db/db.hpp"

namespace chargehub::core {

class Service;
class MqttLink;

class CoreMetrics : public sql::Observer {
 public:
  CoreMetrics();
  chargehub::metrics::Registry& registry() { return reg_; }

  // ---- hooks ----
  void message(std::string_view kind);                      // an uplink message by kind (boot, meter, ...)
  void settled(std::string_view cause, uint64_t n = 1);     // sessions settled: stop_record | charger_lost
  void settlement_error(std::string_view outcome);          // orphan | implausible | not_settleable
  void command_sent(const std::string& id);                 // published to the broker
  void command_done(const std::string& id, const std::string& op, std::string_view outcome);   // replied | failed
  void commands_unanswered(uint64_t n);                     // given up without a reply
  void payment(std::string_view kind, int64_t fen);         // a wallet ledger entry (topup, charge, refund, ...)
  // An HTTP request: its route pattern ("unmatched" for none), method, status and time.
  void http(const std::string& route, const std::string& method, int status, double seconds);
  // sql::Observer: statement time by kind (select, insert, update, delete, other), transactions by outcome.
  void statement(std::string_view sql, double seconds) override;
  void transaction(bool committed, double seconds) override;

  // ---- scrape-time sources (set again to replace; what is not set shows no series) ----
  void watch(sql::Db& db, Service& svc, MqttLink* link);
  void watch_http(std::function<std::vector<std::pair<std::string, double>>()> server_counters,
                  std::function<std::vector<std::pair<std::string, double>>()> server_gauges);
  // The broker plugin's Prometheus file (plugin_opt_metrics_file), appended to /metrics when it is
  // complete (its end line), checked by the format's rules, only chargehub_plugin_* names, and newer than
  // max_age_s; its age and whether it was appended are gauges of their own.
  void append_plugin_file(std::string path, int64_t max_age_s);

 private:
  using Counter = chargehub::metrics::Counter;
  using Histogram = chargehub::metrics::Histogram;
  struct PluginFile {
    bool ok = false;
    double age_s = -1;
    std::string text;
  };
  PluginFile read_plugin_file() const;

  chargehub::metrics::Registry reg_;
  chargehub::metrics::Family<Counter>& messages_;
  std::vector<std::pair<std::string_view, Counter*>> message_kinds_;
  Counter* other_kind_;
  chargehub::metrics::Family<Counter>& settled_;
  chargehub::metrics::Family<Counter>& settlement_errors_;
  chargehub::metrics::Family<Counter>& command_outcomes_;
  chargehub::metrics::Family<Histogram>& round_trip_;
  chargehub::metrics::Family<Counter>& payments_;
  chargehub::metrics::Family<Counter>& payments_fen_;
  chargehub::metrics::Family<Counter>& http_requests_;
  chargehub::metrics::Family<Histogram>& http_seconds_;
  Histogram* statement_[5];   // select insert update delete other
  Histogram* tx_commit_;
  Histogram* tx_rollback_;

  std::mutex inflight_mu_;
  std::unordered_map<std::string, std::chrono::steady_clock::time_point> inflight_;   // command id → published

  mutable std::mutex src_mu_;
  sql::Db* db_ = nullptr;
  Service* svc_ = nullptr;
  MqttLink* link_ = nullptr;
  std::function<std::vector<std::pair<std::string, double>>()> http_counters_, http_gauges_;
  std::string plugin_file_;
  int64_t plugin_max_age_s_ = 60;
};

// The process's metrics (also the database observer once watch() ran).
CoreMetrics& core_metrics();

}  // namespace chargehub::core
