// chargehub-core: the fleet's brain. Subscribes to the chargers' topics, runs sessions and money, and
// serves the admin HTTP API. `chargehub-core --help` for the commands.
#include <signal.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <fstream>
#include <iostream>
#include <thread>

#include "chargehub/admin_api.hpp"
#include "chargehub/config.hpp"
#include "chargehub/ota_api.hpp"
#include "http/server.hpp"
#include "log.hpp"
#include "mqtt_link.hpp"
#include "app/ota.hpp"   // OTA (issue 9)
#include "app/housekeeping.hpp"   // several core instances (issue 18)
#include "service.hpp"
#include "app/app.hpp"
#include "db/db.hpp"
#include "db/backup.hpp"
#include "metrics.hpp"
#include "routes/routes.hpp"

using namespace chargehub;

namespace {
std::atomic<bool> g_stop{false};
void on_signal(int) { g_stop = true; }

std::string read_secret(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot read secret file " + path);
  std::string s;
  std::getline(in, s);
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  if (s.empty()) throw std::runtime_error("secret file " + path + " is empty");
  return s;
}

// Firmware images beside an SQLite file (<file>.firmware); for PostgreSQL, ./firmware.
std::string default_firmware_dir(const std::string& db) {
  if (db.rfind("postgres", 0) == 0) return "firmware";
  std::string path = db.rfind("sqlite://", 0) == 0 ? db.substr(9) : db.rfind("sqlite:", 0) == 0 ? db.substr(7) : db;
  return path + ".firmware";
}

// Downlinks nowhere: `chargehub-core openapi` builds the routes without a broker.
class NullPublisher : public core::Publisher {
 public:
  bool publish(const std::string&, const std::string&, int, bool) override { return false; }
};

// The roles a CLI-made account or key gets ("platform_admin" unless --role is given).
std::vector<std::string> roles_or_admin(std::vector<std::string> roles) {
  if (roles.empty()) roles.push_back("platform_admin");
  return roles;
}

boost::json::object http_stats_json(const http::ServerStats& s) {
  return {{"accepted", s.accepted.load()},           {"requests", s.requests.load()},
          {"refused_connections", s.refused_connections.load()}, {"shed", s.shed.load()},
          {"head_timeouts", s.head_timeouts.load()}, {"body_timeouts", s.body_timeouts.load()},
          {"idle_closed", s.idle_closed.load()},     {"too_large", s.too_large.load()},
          {"bad_requests", s.bad_requests.load()},   {"handler_errors", s.handler_errors.load()},
          {"open_connections", s.open_connections.load()}, {"queued", s.queued.load()}};
}

std::pair<std::string, int> split_host_port(const std::string& s) {
  auto c = s.rfind(':');
  if (c == std::string::npos) throw std::runtime_error("expected HOST:PORT, got " + s);
  return {s.substr(0, c), std::stoi(s.substr(c + 1))};
}
}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"ChargeHub core: charging sessions, money and devices, with the admin HTTP API"};
  app.require_subcommand(1);

  std::string db = "chargehub.db", broker = "tcp://127.0.0.1:1883", name = "main", user = "core", secret_file, http = "127.0.0.1:8080",
              share_group;
  core::ServiceConfig scfg;
  core::AccountSettings acfg;
  http::Settings hcfg;
  std::vector<std::string> trusted_proxies;
  auto* serve = app.add_subcommand("serve", "run the core: MQTT, sessions and the HTTP API (foreground)");
  serve->add_option("--db", db, "database: sqlite:///path (or a file name) or postgresql://… (created and migrated if needed)")->capture_default_str();
  serve->add_option("--broker", broker, "MQTT broker URI")->capture_default_str();
  serve->add_option("--name", name, "instance name; the MQTT client id is core-<name>")->capture_default_str();
  serve->add_option("--username", user, "MQTT service account")->capture_default_str();
  serve->add_option("--secret-file", secret_file, "file holding the service account's secret")->required();
  serve->add_option("--http", http, "HTTP API listen address")->capture_default_str();
  serve->add_option("--share-group", share_group, "subscribe through $share/<group>/ (several core instances)");
  serve->add_option("--start-timeout", scfg.start_timeout_s, "seconds to wait for a START reply")->capture_default_str();
  serve->add_option("--start-retry-every", scfg.start_retry.resend_every_s, "seconds between resends of an unanswered START")->capture_default_str();
  serve->add_option("--start-give-up", scfg.start_retry.give_up_after_s, "seconds after its first send an unanswered START is given up")->capture_default_str();
  serve->add_option("--offline-after", scfg.offline_after_s, "seconds of silence before a device is offline")->capture_default_str();
  serve->add_option("--card-prepay", scfg.cards.prepay_fen, "fen a card swipe prepays")->capture_default_str();
  serve->add_option("--card-min", scfg.cards.min_fen, "least available fen for a card swipe to start")->capture_default_str();
  serve->add_option("--full-resolution", scfg.full_resolution_s, "seconds meter samples keep full resolution")->capture_default_str();
  serve->add_option("--downsample", scfg.downsample_interval_s, "one meter sample per this many seconds after that")->capture_default_str();
  serve->add_option("--charger-time-scale", scfg.charger_time_scale,
                    "charger seconds per server second, for simulated fleets (firmware-sim --time-scale); the meter check's window")
      ->capture_default_str()->check(CLI::Range(1, 100000));
  // Accounts (docs/accounts.md).
  serve->add_option("--access-ttl", acfg.access_ttl_s, "seconds an access token lives")->capture_default_str()->check(CLI::Range(1, 86400 * 30));
  serve->add_option("--refresh-ttl", acfg.refresh_ttl_s, "seconds a refresh token lives")->capture_default_str()->check(CLI::Range(1, 86400 * 365));
  // The HTTP server (docs/http-server.md): limits and deadlines that hostile clients cannot stretch.
  serve->add_option("--http-workers", hcfg.workers, "threads running requests")->capture_default_str()->check(CLI::Range(1, 256));
  serve->add_option("--http-queue", hcfg.max_queue, "requests waiting for a worker before 503")->capture_default_str();
  serve->add_option("--http-max-connections", hcfg.max_connections, "open connections")->capture_default_str();
  serve->add_option("--http-max-per-address", hcfg.max_connections_per_address, "open connections per client address")->capture_default_str();
  int64_t head_ms = hcfg.head_deadline.count(), idle_ms = hcfg.idle_timeout.count(), body_ms = hcfg.body_deadline.count();
  serve->add_option("--http-head-deadline-ms", head_ms, "the whole request head must arrive within this")->capture_default_str();
  serve->add_option("--http-body-deadline-ms", body_ms, "the whole body must arrive within this")->capture_default_str();
  serve->add_option("--http-idle-ms", idle_ms, "an idle keep-alive connection is closed after this")->capture_default_str();
  serve->add_option("--trusted-proxy", trusted_proxies, "address of a reverse proxy whose X-Forwarded-For is believed (repeatable)");
  // OTA (issue 9, docs/ota.md): the platform's firmware public key and where images are kept.
  std::string fw_pubkey, fw_dir;
  serve->add_option("--firmware-pubkey", fw_pubkey, "platform firmware public key PEM (`chargehub-ota keygen`); without it uploads are refused");
  serve->add_option("--firmware-dir", fw_dir, "directory of firmware images (default: <sqlite file>.firmware, or ./firmware with PostgreSQL)");
  // Metrics (issue 18, docs/metrics.md): GET /metrics; the broker plugin's file appended to it.
  std::string plugin_metrics;
  int64_t plugin_metrics_max_age = 60;
  serve->add_option("--plugin-metrics", plugin_metrics, "the broker plugin's Prometheus file (plugin_opt_metrics_file), appended to GET /metrics");
  serve->add_option("--plugin-metrics-max-age", plugin_metrics_max_age, "seconds after which that file is stale and left out")
      ->capture_default_str()->check(CLI::Range(1, 86400));

  // Bootstrap: the first operator account and service keys, straight into the database.
  std::string acct_name = "admin", acct_display, acct_password_file;
  std::vector<std::string> acct_roles;
  auto* account = app.add_subcommand("account", "create an operator account: prints its initial password once (to be changed at first login)");
  account->add_option("--db", db, "database URL, as for serve")->capture_default_str();
  account->add_option("--name", acct_name, "login name")->capture_default_str();
  account->add_option("--display-name", acct_display, "name shown in the console");
  account->add_option("--role", acct_roles, "role key (repeatable; default platform_admin)");
  account->add_option("--password-file", acct_password_file, "take the initial password from this file instead of generating one");
  std::string key_name = "admin";
  std::vector<std::string> key_roles;
  auto* apikey = app.add_subcommand("api-key", "create a service key (a service account with roles): prints the key once");
  apikey->add_option("--db", db, "database URL, as for serve")->capture_default_str();
  apikey->add_option("--name", key_name, "who the key is for")->capture_default_str();
  apikey->add_option("--role", key_roles, "role key (repeatable; default platform_admin)");

  auto* migrate = app.add_subcommand("migrate", "create or migrate the database and exit");
  migrate->add_option("--db", db, "database URL, as for serve")->capture_default_str();
  // Backups (docs/operations.md): SQLite's online backup while a core serves; restore with the core stopped.
  std::string backup_to, restore_from;
  auto* backup = app.add_subcommand("backup", "copy the SQLite database online (the core may keep serving) to a file; PostgreSQL: pg_dump");
  backup->add_option("--db", db, "database URL, as for serve")->capture_default_str();
  backup->add_option("--to", backup_to, "the backup file (written as FILE.tmp, renamed when complete and checked)")->required();
  core::sql::BackupOptions bopt;
  backup->add_option("--pages-per-step", bopt.pages_per_step, "pages (4 KiB) copied per slice; the core's writes go on between slices")
      ->capture_default_str()->check(CLI::Range(1, 1 << 20));
  auto* restore = app.add_subcommand("restore", "replace the SQLite database with a backup and migrate it (stop the core first)");
  restore->add_option("--from", restore_from, "the backup file")->required();
  restore->add_option("--db", db, "database URL, as for serve")->capture_default_str();
  int64_t session_gap = core::sql::kDefaultSessionGap;
  restore->add_option("--session-gap", session_gap, "new session numbers begin this far above the backup's (numbers given out after it)")
      ->capture_default_str()->check(CLI::Range(int64_t{1}, int64_t{1} << 30));
  auto* after_restore = app.add_subcommand(
      "after-restore", "after pg_restore (or any restore): new session numbers begin above those the chargers were told since the backup");
  after_restore->add_option("--db", db, "database URL, as for serve")->capture_default_str();
  after_restore->add_option("--session-gap", session_gap, "how far above the database's highest session number")
      ->capture_default_str()->check(CLI::Range(int64_t{1}, int64_t{1} << 30));
  auto* openapi = app.add_subcommand("openapi", "print the admin API's OpenAPI 3 document (docs/openapi.json)");

  // Logs (docs/operations.md, "Logs"): --log-level, --log-format, before or after the subcommand.
  log::set_program("core");
  log::add_cli_flags(app);
  for (auto* sub : app.get_subcommands({})) log::add_cli_flags(*sub);

  chargehub::config::add_config_option(app);   // --config FILE: every flag above (docs/packages.md)
  CLI11_PARSE(app, argc, argv);

  try {
    if (*openapi) {
      auto conn = core::sql::open(":memory:");
      core::App app(*conn);
      NullPublisher pub;
      core::Service svc(app, pub, scfg);
      core::Ota ota(svc, pub, core::OtaConfig{"/nonexistent", std::nullopt});
      api::Kernel kernel(svc, {});
      api::mount_all(kernel, {}, ota);
      std::cout << boost::json::serialize(kernel.openapi()) << "\n";
      return 0;
    }
    if (*account) {
      auto conn = core::sql::open(db);
      core::App app(*conn);
      std::string password;
      if (!acct_password_file.empty()) password = read_secret(acct_password_file);
      else password = core::random_secret("").substr(0, 16);
      auto r = app.accounts.bootstrap_account(
          core::NewAccount{acct_name, acct_display.empty() ? acct_name : acct_display, "", roles_or_admin(acct_roles), password},
          std::time(nullptr));
      if (!r) throw std::runtime_error(r.refusal.code + ": " + r.refusal.message);
      if (acct_password_file.empty()) std::cout << password << "\n";   // shown once; to be changed at first login
      return 0;
    }
    if (*apikey) {
      auto conn = core::sql::open(db);
      core::App app(*conn);
      auto r = app.accounts.bootstrap_key(key_name, roles_or_admin(key_roles), std::time(nullptr));
      if (!r) throw std::runtime_error(r.refusal.code + ": " + r.refusal.message);
      std::cout << r.value->secret << "\n";
      return 0;
    }
    if (*backup) {
      auto r = core::sql::backup_sqlite(db, backup_to, bopt);
      std::cout << "backup of " << db << " to " << backup_to << ": " << r.pages << " pages, " << r.bytes << " bytes in " << r.seconds
                << " s (" << r.steps << " steps, " << r.restarts << " restarts), check " << r.check << "\n";
      return 0;
    }
    if (*restore) {
      auto r = core::sql::restore_sqlite(restore_from, db, session_gap);
      std::cout << "restored " << restore_from << " into " << db << ": " << r.pages << " pages, " << r.bytes << " bytes in "
                << r.seconds << " s; schema version " << r.schema_before << " -> " << r.schema_after << "; new sessions from number "
                << r.floor.next_id << " (the backup's highest: " << r.floor.max_id << ")\n";
      return 0;
    }
    if (*after_restore) {
      auto conn = core::sql::open(db);
      core::sql::migrate(*conn);
      auto f = core::sql::raise_session_floor(*conn, session_gap, std::time(nullptr));
      std::cout << "new sessions from number " << f.next_id << " (the database's highest: " << f.max_id << ")\n";
      return 0;
    }
    if (*migrate) {
      auto conn = core::sql::open(db);
      core::App app(*conn);
      std::cout << "database (" << core::sql::dialect_name(conn->dialect()) << ") at schema version " << app.schema_version() << "\n";
      return 0;
    }

    if (auto why = scfg.start_retry.invalid_reason(); !why.empty()) throw std::runtime_error("START retries: " + std::string(why));
    signal(SIGPIPE, SIG_IGN);
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);

    auto conn = core::sql::open(db);
    core::App app(*conn, acfg);
    log::info("core.database", {{"dialect", core::sql::dialect_name(conn->dialect())}, {"schema", app.schema_version()}});
    // ---- several core instances (issue 18, docs/scale-out.md): one runs the housekeeping ----
    bool on_pg = conn->dialect() == core::sql::Dialect::Postgres;
    if (!share_group.empty() && !on_pg)
      throw std::runtime_error("--share-group needs PostgreSQL: several cores cannot share one SQLite file (docs/scale-out.md)");
    core::Leadership leader("core-" + name, on_pg ? core::sql::open(db) : nullptr);   // PostgreSQL: the lease's own connection
    leader.poll();

    core::MqttConfig mcfg{broker, "core-" + name, user, read_secret(secret_file), share_group};
    core::Service* svc_ptr = nullptr;
    core::MqttLink link(
        mcfg, [&](const core::MqttLink::Batch& b) { svc_ptr->on_messages(b); },
        [&] { svc_ptr->on_connected(); });
    core::Service svc(app, link, scfg);
    svc_ptr = &svc;
    svc.set_housekeeping(leader.leading());   // a follower does not catch up on connecting (issue 18)

    // ---- wiring of optional modules (OTA: issue 9) ----
    core::OtaConfig ocfg{fw_dir.empty() ? default_firmware_dir(db) : fw_dir, std::nullopt};
    if (!fw_pubkey.empty()) {
      std::ifstream kin(fw_pubkey);
      std::string pem((std::istreambuf_iterator<char>(kin)), std::istreambuf_iterator<char>());
      ocfg.pubkey = firmware::public_from_pem(pem);
      if (!ocfg.pubkey) throw std::runtime_error(fw_pubkey + ": not an Ed25519 public key (PEM)");
    } else {
      log::warn("ota.no_pubkey");   // no --firmware-pubkey: firmware uploads are refused
    }
    core::Ota ota(svc, link, ocfg);
    svc.set_ota(&ota);
    // ---- end of wiring ----

    // The admin API: the kernel with every route table, on the HTTP server.
    api::Kernel kernel(svc, api::KernelSettings{trusted_proxies, {}});
    std::unique_ptr<http::Server> server;
    api::StatusSources sources{[&link] { return link.connected(); },
                               [&link] { return std::pair<uint64_t, uint64_t>{link.waiting(), link.shed()}; },
                               [&server] { return server ? http_stats_json(server->stats()) : boost::json::object{}; },
                               [&leader, &share_group, &svc] {
                                 return boost::json::object{{"name", leader.name()}, {"leading", leader.leading()},
                                                            {"leader", leader.leader_name()}, {"share_group", share_group},
                                                            {"bursts_split", svc.counters().bursts_split.load()},
                                                            {"messages_retried", svc.counters().retried.load()}};
                               }};
    api::mount_all(kernel, sources, ota);
    auto [host, port] = split_host_port(http);
    hcfg.host = host;
    hcfg.port = static_cast<uint16_t>(port);
    hcfg.head_deadline = std::chrono::milliseconds(head_ms);
    hcfg.body_deadline = std::chrono::milliseconds(body_ms);
    hcfg.idle_timeout = std::chrono::milliseconds(idle_ms);
    hcfg.default_body = http::BodyPolicy{api::kApiBodyMax, false};
    server = std::make_unique<http::Server>(
        hcfg, [&kernel](http::Request& r) { return kernel.handle(r); },
        [&kernel](std::string_view m, std::string_view p) { return kernel.body_policy(m, p); });

    // ---- metrics (docs/metrics.md): what GET /metrics reads at scrape time ----
    core::core_metrics().watch(*conn, svc, &link);
    api::watch_http_server(server->stats());
    if (!plugin_metrics.empty()) core::core_metrics().append_plugin_file(plugin_metrics, plugin_metrics_max_age);
    // ---- end of metrics ----

    link.start();   // after every module is wired: messages may arrive at once
    server->start();
    log::info("http.listening", {{"url", "http://" + http + "/api/v1/"}});

    while (!g_stop) {
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      static int n = 0;
      if (++n % 5 == 0) {
        try {
          svc.tick(leader.poll());
        } catch (const std::exception& e) {
          log::error("core.housekeeping_failed", {{"error", e.what()}});
        }
      }
    }
    log::info("core.stopping");
    server->stop();
    link.stop();
    leader.release();
    return 0;
  } catch (const std::exception& e) {
    log::error("core.failed", {{"error", e.what()}});
    return 1;
  }
}
