#include "metrics.hpp"

#include <sys/stat.h>

#include <cctype>
#include <ctime>
#include <fstream>
#include <map>

#include "mqtt_link.hpp"
#include "service.hpp"

namespace chargehub::core {

namespace m = chargehub::metrics;

namespace {
// The end line of the broker plugin's file (broker-plugin/src/stats.cpp writes it last).
constexpr std::string_view kPluginEnd = "# chargehub-auth metrics end\n";
constexpr size_t kPluginMaxBytes = 4 * 1024 * 1024;

const std::string_view kKinds[] = {"boot", "heartbeat", "meter", "session_end", "reply", "alarm", "card", "ota", "status",
                                   "snapshot_request", "unknown"};

m::Samples one(double v) { return m::Samples{{{}, v}}; }
}  // namespace

CoreMetrics::CoreMetrics()
    : messages_(reg_.counter("chargehub_ingest_messages_total", "Messages from the fleet handled, by kind (the topic's last level)",
                             {"kind"}, 32)),
      settled_(reg_.counter("chargehub_settlements_total",
                            "Sessions settled and billed, by cause: stop_record (SESSION_END) or charger_lost (settled at the last reading)",
                            {"cause"}, 8)),
      settlement_errors_(reg_.counter("chargehub_settlement_errors_total",
                                      "Stop records that did not settle cleanly: orphan (no such session), implausible (meter check "
                                      "failed, billed on the last plausible reading), not_settleable (session not in a state to settle)",
                                      {"outcome"}, 8)),
      command_outcomes_(reg_.counter("chargehub_command_outcomes_total",
                                     "Commands to chargers finished, by outcome: replied, failed (a reply with an error), unanswered",
                                     {"outcome"}, 8)),
      round_trip_(reg_.histogram("chargehub_command_round_trip_seconds", "From publishing a command to its reply, by command op",
                                 {"op"}, m::exponential_buckets(0.01, 2, 12), 64)),
      payments_(reg_.counter("chargehub_payments_total", "Wallet ledger entries, by kind (topup, bonus, charge, refund, adjustment)",
                             {"kind"}, 16)),
      payments_fen_(reg_.counter("chargehub_payments_fen_total", "Money moved by wallet ledger entries, in fen (absolute), by kind",
                                 {"kind"}, 16)),
      http_requests_(reg_.counter("chargehub_http_requests_total",
                                  "HTTP requests answered by the admin API, by route pattern (unmatched: no route), method and status",
                                  {"route", "method", "status"}, 2000)),
      http_seconds_(reg_.histogram("chargehub_http_request_seconds", "Time to answer an HTTP request, by route pattern", {"route"},
                                   m::default_seconds_buckets(), 400)) {
  for (auto k : kKinds) message_kinds_.emplace_back(k, &messages_.with({std::string(k)}));
  other_kind_ = &messages_.with({"other"});
  for (auto o : {"replied", "failed", "unanswered"}) command_outcomes_.with({o});
  for (auto c : {"stop_record", "charger_lost"}) settled_.with({c});
  for (auto o : {"orphan", "implausible", "not_settleable"}) settlement_errors_.with({o});
  auto& stmt = reg_.histogram("chargehub_db_statement_seconds", "Time in database statements (their steps), by kind", {"kind"},
                              m::exponential_buckets(0.00005, 4, 9));
  const char* kinds[] = {"select", "insert", "update", "delete", "other"};
  for (int i = 0; i < 5; ++i) statement_[i] = &stmt.with({kinds[i]});
  auto& tx = reg_.histogram("chargehub_db_transaction_seconds", "Time of outermost database transactions, BEGIN to the end, by outcome",
                            {"outcome"}, m::exponential_buckets(0.0001, 4, 9));
  tx_commit_ = &tx.with({"commit"});
  tx_rollback_ = &tx.with({"rollback"});

  // ---- scrape-time families ----
  // Open sessions only: the final states (settled, rejected, ...) grow for ever and would make every
  // scrape a scan of the table (about 0.1 s at a million sessions, with the connection held); their
  // flow is in chargehub_settlements_total.
  reg_.gauge_fn("chargehub_sessions", "Open charging sessions by state: requested, starting, charging, stopping, ended (from the database)",
                {"state"}, [this] {
                  std::lock_guard lock(src_mu_);
                  if (!db_) return m::Samples{};
                  std::map<std::string, double> by{{"requested", 0}, {"starting", 0}, {"charging", 0}, {"stopping", 0}, {"ended", 0}};
                  sql::Lock db_lock(*db_);
                  auto st = db_->prepare(
                      "SELECT state, count(*) FROM session WHERE state IN ('requested', 'starting', 'charging', 'stopping', 'ended') "
                      "GROUP BY state");
                  while (st.step()) by[st.text(0)] = static_cast<double>(st.i64(1));
                  m::Samples out;
                  for (auto& [k, v] : by) out.push_back({{k}, v});
                  return out;
                });
  reg_.gauge_fn("chargehub_devices", "Devices not deleted, by state: online, offline, disabled (from the database)", {"state"}, [this] {
    std::lock_guard lock(src_mu_);
    if (!db_) return m::Samples{};
    double online = 0, offline = 0, disabled = 0;
    sql::Lock db_lock(*db_);
    auto st = db_->prepare("SELECT enabled, online, count(*) FROM device WHERE deleted_at IS NULL GROUP BY enabled, online");
    while (st.step()) (!st.boolean(0) ? disabled : st.boolean(1) ? online : offline) += static_cast<double>(st.i64(2));
    return m::Samples{{{"online"}, online}, {{"offline"}, offline}, {{"disabled"}, disabled}};
  });
  auto svc_counter = [this](const char* name, const char* help, std::atomic<uint64_t> Counters::*field) {
    reg_.counter_fn(name, help, {}, [this, field] {
      std::lock_guard lock(src_mu_);
      return svc_ ? one(static_cast<double>((svc_->counters().*field).load())) : m::Samples{};
    });
  };
  svc_counter("chargehub_ingest_bad_messages_total", "Messages dropped as malformed (bad JSON, a payload that does not parse)",
              &Counters::bad_messages);
  svc_counter("chargehub_ingest_unknown_topics_total", "Messages on topics the core does not handle", &Counters::unknown_topics);
  svc_counter("chargehub_ingest_duplicate_reports_total", "Reports (stop records, cards, alarms) received again and acknowledged once more",
              &Counters::duplicate_reports);
  svc_counter("chargehub_commands_published_total", "Commands published to chargers (resends included)", &Counters::commands_published);
  svc_counter("chargehub_publish_failures_total", "Publishes refused because the broker connection was down (commands stay queued)",
              &Counters::publish_failures);
  reg_.counter_fn("chargehub_api_failed_credentials_total", "Refused credentials at the API, by kind: login (password), bearer (key or token), throttled",
                  {"kind"}, [this] {
                    std::lock_guard lock(src_mu_);
                    if (!svc_) return m::Samples{};
                    auto& a = svc_->app().accounts;
                    return m::Samples{{{"login"}, double(a.failed_logins())}, {{"bearer"}, double(a.failed_keys())}, {{"throttled"}, double(a.throttled())}};
                  });
  auto link_value = [this](auto f) {
    return [this, f] {
      std::lock_guard lock(src_mu_);
      return link_ ? one(f(*link_)) : m::Samples{};
    };
  };
  reg_.gauge_fn("chargehub_mqtt_connected", "1 while the core's MQTT connection to the broker is up", {},
                link_value([](MqttLink& l) { return l.connected() ? 1.0 : 0.0; }));
  reg_.counter_fn("chargehub_mqtt_received_total", "PUBLISH packets received from the broker", {},
                  link_value([](MqttLink& l) { return double(l.received()); }));
  reg_.gauge_fn("chargehub_ingest_queue_depth", "Messages received and waiting for the worker (the ingest queue)", {},
                link_value([](MqttLink& l) { return double(l.waiting()); }));
  reg_.counter_fn("chargehub_ingest_shed_total", "QoS 0 telemetry dropped because the ingest queue was full or a device exceeded its rate", {},
                  link_value([](MqttLink& l) { return double(l.shed()); }));
  reg_.gauge_fn("chargehub_ingest_shed_top_devices", "The 10 devices that lost most telemetry to shedding, with their count", {"device"}, [this] {
    std::lock_guard lock(src_mu_);
    m::Samples out;
    if (link_)
      for (auto& d : link_->top_shed(10)) out.push_back({{d.device.empty() ? "none" : d.device}, double(d.shed)});
    return out;
  });
  reg_.counter_fn("chargehub_mqtt_thread_cpu_seconds_total", "CPU time of the MQTT link's threads: receive (network) and worker (applying batches)",
                  {"thread"}, [this] {
                    std::lock_guard lock(src_mu_);
                    if (!link_) return m::Samples{};
                    auto c = link_->thread_cpu();
                    return m::Samples{{{"receive"}, c.receive_s}, {{"worker"}, c.worker_s}};
                  });
  reg_.counter_fn("chargehub_http_server_events_total",
                  "The HTTP server's events: accepted connections, refused connections, shed (503), head/body timeouts, too large, bad requests",
                  {"event"}, [this] {
                    std::lock_guard lock(src_mu_);
                    m::Samples out;
                    if (http_counters_)
                      for (auto& [k, v] : http_counters_()) out.push_back({{k}, v});
                    return out;
                  });
  reg_.gauge_fn("chargehub_http_server_connections", "The HTTP server's open connections and queued requests", {"what"}, [this] {
    std::lock_guard lock(src_mu_);
    m::Samples out;
    if (http_gauges_)
      for (auto& [k, v] : http_gauges_()) out.push_back({{k}, v});
    return out;
  });
  reg_.gauge_fn("chargehub_core_plugin_file_age_seconds", "Age of the broker plugin's metrics file (--plugin-metrics); absent when there is none",
                {}, [this] {
                  auto f = read_plugin_file();
                  return f.age_s < 0 ? m::Samples{} : one(f.age_s);
                });
  reg_.gauge_fn("chargehub_core_plugin_file_ok", "1 when the broker plugin's metrics file was appended to this scrape (fresh, complete, valid)",
                {}, [this] {
                  {
                    std::lock_guard lock(src_mu_);
                    if (plugin_file_.empty()) return m::Samples{};
                  }
                  return one(read_plugin_file().ok ? 1 : 0);
                });
  m::add_process_metrics(reg_);
}

void CoreMetrics::message(std::string_view kind) {
  for (auto& [k, c] : message_kinds_)
    if (k == kind) return c->inc();
  other_kind_->inc();
}

void CoreMetrics::settled(std::string_view cause, uint64_t n) {
  if (n) settled_.with({cause}).inc(n);
}
void CoreMetrics::settlement_error(std::string_view outcome) { settlement_errors_.with({outcome}).inc(); }

void CoreMetrics::command_sent(const std::string& id) {
  std::lock_guard lock(inflight_mu_);
  auto now = std::chrono::steady_clock::now();
  if (inflight_.size() >= 100000)   // commands never answered: forget those older than 10 minutes
    std::erase_if(inflight_, [&](auto& e) { return now - e.second > std::chrono::minutes(10); });
  if (inflight_.size() < 100000) inflight_[id] = now;
}

void CoreMetrics::command_done(const std::string& id, const std::string& op, std::string_view outcome) {
  command_outcomes_.with({outcome}).inc();
  std::chrono::steady_clock::time_point sent;
  {
    std::lock_guard lock(inflight_mu_);
    auto it = inflight_.find(id);
    if (it == inflight_.end()) return;   // published by another core instance, or before a restart
    sent = it->second;
    inflight_.erase(it);
  }
  round_trip_.with({op}).observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - sent).count());
}

void CoreMetrics::commands_unanswered(uint64_t n) {
  if (n) command_outcomes_.with({"unanswered"}).inc(n);
}

void CoreMetrics::payment(std::string_view kind, int64_t fen) {
  payments_.with({kind}).inc();
  payments_fen_.with({kind}).inc(static_cast<uint64_t>(fen < 0 ? -fen : fen));
}

void CoreMetrics::http(const std::string& route, const std::string& method, int status, double seconds) {
  http_requests_.with({route, method, std::to_string(status)}).inc();
  http_seconds_.with({route}).observe(seconds);
}

void CoreMetrics::statement(std::string_view sql, double seconds) {
  size_t i = 0;
  while (i < sql.size() && std::isspace(static_cast<unsigned char>(sql[i]))) ++i;
  auto word = [&](std::string_view w) {
    if (sql.size() - i < w.size()) return false;
    for (size_t k = 0; k < w.size(); ++k)
      if (std::toupper(static_cast<unsigned char>(sql[i + k])) != w[k]) return false;
    return true;
  };
  int kind = word("SELECT") || word("WITH") ? 0 : word("INSERT") ? 1 : word("UPDATE") ? 2 : word("DELETE") ? 3 : 4;
  statement_[kind]->observe(seconds);
}

void CoreMetrics::transaction(bool committed, double seconds) { (committed ? tx_commit_ : tx_rollback_)->observe(seconds); }

void CoreMetrics::watch(sql::Db& db, Service& svc, MqttLink* link) {
  {
    std::lock_guard lock(src_mu_);
    db_ = &db;
    svc_ = &svc;
    link_ = link;
  }
  sql::set_observer(this);
}

void CoreMetrics::watch_http(std::function<std::vector<std::pair<std::string, double>>()> counters,
                             std::function<std::vector<std::pair<std::string, double>>()> gauges) {
  std::lock_guard lock(src_mu_);
  http_counters_ = std::move(counters);
  http_gauges_ = std::move(gauges);
}

CoreMetrics::PluginFile CoreMetrics::read_plugin_file() const {
  PluginFile f;
  std::string path;
  int64_t max_age;
  {
    std::lock_guard lock(src_mu_);
    path = plugin_file_;
    max_age = plugin_max_age_s_;
  }
  if (path.empty()) return f;
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return f;
  timespec now{};
  clock_gettime(CLOCK_REALTIME, &now);
  f.age_s = std::max(0.0, double(now.tv_sec - st.st_mtim.tv_sec) + double(now.tv_nsec - st.st_mtim.tv_nsec) / 1e9);
  if (f.age_s > double(max_age) || st.st_size > static_cast<off_t>(kPluginMaxBytes)) return f;
  std::ifstream in(path, std::ios::binary);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (!text.ends_with(kPluginEnd)) return f;   // torn or not ours
  if (m::check_text(text, "chargehub_plugin_")) return f;
  f.ok = true;
  text.resize(text.size() - kPluginEnd.size());   // the end line is ours to check, not to pass on
  f.text = std::move(text);
  return f;
}

void CoreMetrics::append_plugin_file(std::string path, int64_t max_age_s) {
  bool first;
  {
    std::lock_guard lock(src_mu_);
    first = plugin_file_.empty();
    plugin_file_ = std::move(path);
    plugin_max_age_s_ = max_age_s;
  }
  if (first) reg_.append([this] {
    auto f = read_plugin_file();
    return f.ok ? f.text : std::string();
  });
}

CoreMetrics& core_metrics() {
  static CoreMetrics* m = new CoreMetrics();   // never destroyed: hooks may run during exit
  return *m;
}

}  // namespace chargehub::core
