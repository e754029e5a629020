// chargehub-core: the fleet's brain. Subscribes to the chargers' topics, runs sessions and money, and
// serves the admin HTTP API. `chargehub-core --help` for the commands.
#include <httplib.h>
#include <signal.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <fstream>
#include <iostream>
#include <thread>

#include "chargehub/admin_api.hpp"
#include "chargehub/ota_api.hpp"   // OTA (issue 9)
#include "log.hpp"
#include "mqtt_link.hpp"
#include "app/ota.hpp"   // OTA (issue 9)
#include "service.hpp"
#include "app/app.hpp"
#include "db/db.hpp"

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
              keys_file, share_group;
  core::ServiceConfig scfg;
  auto* serve = app.add_subcommand("serve", "run the core: MQTT, sessions and the HTTP API (foreground)");
  serve->add_option("--db", db, "database: sqlite:///path (or a file name) or postgresql://… (created and migrated if needed)")->capture_default_str();
  serve->add_option("--broker", broker, "MQTT broker URI")->capture_default_str();
  serve->add_option("--name", name, "instance name; the MQTT client id is core-<name>")->capture_default_str();
  serve->add_option("--username", user, "MQTT service account")->capture_default_str();
  serve->add_option("--secret-file", secret_file, "file holding the service account's secret")->required();
  serve->add_option("--http", http, "HTTP API listen address")->capture_default_str();
  serve->add_option("--api-keys", keys_file, "API keys file (lines from `chargehub-core api-key`)")->required();
  serve->add_option("--share-group", share_group, "subscribe through $share/<group>/ (several core instances)");
  serve->add_option("--start-timeout", scfg.start_timeout_s, "seconds to wait for a START reply")->capture_default_str();
  serve->add_option("--offline-after", scfg.offline_after_s, "seconds of silence before a device is offline")->capture_default_str();
  serve->add_option("--card-prepay", scfg.cards.prepay_fen, "fen a card swipe prepays")->capture_default_str();
  serve->add_option("--card-min", scfg.cards.min_fen, "least available fen for a card swipe to start")->capture_default_str();
  serve->add_option("--full-resolution", scfg.full_resolution_s, "seconds meter samples keep full resolution")->capture_default_str();
  serve->add_option("--downsample", scfg.downsample_interval_s, "one meter sample per this many seconds after that")->capture_default_str();
  serve->add_option("--charger-time-scale", scfg.charger_time_scale,
                    "charger seconds per server second, for simulated fleets (firmware-sim --time-scale); the meter check's window")
      ->capture_default_str()->check(CLI::Range(1, 100000));
  // OTA (issue 9, docs/ota.md): the platform's firmware public key and where images are kept.
  std::string fw_pubkey, fw_dir;
  serve->add_option("--firmware-pubkey", fw_pubkey, "platform firmware public key PEM (`chargehub-ota keygen`); without it uploads are refused");
  serve->add_option("--firmware-dir", fw_dir, "directory of firmware images (default: <sqlite file>.firmware, or ./firmware with PostgreSQL)");

  std::string key_name = "admin", key_out;
  auto* apikey = app.add_subcommand("api-key", "make a new API key: prints the key once, appends its hash to --file");
  apikey->add_option("--name", key_name, "who the key is for")->capture_default_str();
  apikey->add_option("--file", keys_file, "API keys file to append to")->required();

  auto* migrate = app.add_subcommand("migrate", "create or migrate the database and exit");
  migrate->add_option("--db", db, "database URL, as for serve")->capture_default_str();

  CLI11_PARSE(app, argc, argv);

  try {
    if (*apikey) {
      auto [key, line] = api::make_api_key(key_name);
      std::ofstream out(keys_file, std::ios::app);
      if (!out) throw std::runtime_error("cannot write " + keys_file);
      out << line << "\n";
      std::cout << key << "\n";
      return 0;
    }
    if (*migrate) {
      auto conn = core::sql::open(db);
      core::App app(*conn);
      std::cout << "database (" << core::sql::dialect_name(conn->dialect()) << ") at schema version " << app.schema_version() << "\n";
      return 0;
    }

    signal(SIGPIPE, SIG_IGN);
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);

    auto keys = api::load_api_keys(keys_file);
    if (keys.empty()) throw std::runtime_error("no API keys in " + keys_file + " (make one with `chargehub-core api-key`)");
    auto conn = core::sql::open(db);
    core::App app(*conn);
    core::log::info("database (", core::sql::dialect_name(conn->dialect()), ") at schema version ", app.schema_version());

    core::MqttConfig mcfg{broker, "core-" + name, user, read_secret(secret_file), share_group};
    core::Service* svc_ptr = nullptr;
    core::MqttLink link(
        mcfg, [&](const core::MqttLink::Batch& b) { svc_ptr->on_messages(b); },
        [&] { svc_ptr->on_connected(); });
    core::Service svc(app, link, scfg);
    svc_ptr = &svc;

    httplib::Server srv;
    srv.set_tcp_nodelay(true);
    srv.set_payload_max_length(64 * 1024);
    srv.set_keep_alive_max_count(100);
    srv.set_read_timeout(10);
    srv.new_task_queue = [] { return new httplib::ThreadPool(16); };
    api::mount(srv, svc, api::ApiConfig{keys, [&link] { return link.connected(); },
                                    [&link] { return std::pair<uint64_t, uint64_t>{link.waiting(), link.shed()}; }});
    // ---- wiring of optional modules (OTA: issue 9) ----
    core::OtaConfig ocfg{fw_dir.empty() ? default_firmware_dir(db) : fw_dir, std::nullopt};
    if (!fw_pubkey.empty()) {
      std::ifstream kin(fw_pubkey);
      std::string pem((std::istreambuf_iterator<char>(kin)), std::istreambuf_iterator<char>());
      ocfg.pubkey = firmware::public_from_pem(pem);
      if (!ocfg.pubkey) throw std::runtime_error(fw_pubkey + ": not an Ed25519 public key (PEM)");
    } else {
      core::log::warn("no --firmware-pubkey: firmware uploads are refused");
    }
    core::Ota ota(svc, link, ocfg);
    svc.set_ota(&ota);
    // Firmware uploads are up to 4 MiB of image in base64; the route checks its own limit, the other
    // routes still parse at most 64 KiB of JSON.
    srv.set_payload_max_length(api::kFirmwareUploadMax);
    api::mount_ota(srv, ota, keys);
    // ---- end of wiring ----
    link.start();   // after every module is wired: messages may arrive at once
    auto [host, port] = split_host_port(http);
    if (!srv.bind_to_port(host.c_str(), port)) throw std::runtime_error("cannot listen on " + http);
    std::thread http_thread([&] { srv.listen_after_bind(); });
    core::log::info("HTTP API on http://", http, "/api/v1/");

    while (!g_stop) {
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      static int n = 0;
      if (++n % 5 == 0) {
        try {
          svc.tick();
        } catch (const std::exception& e) {
          core::log::error("housekeeping failed: ", e.what());
        }
      }
    }
    core::log::info("stopping");
    srv.stop();
    http_thread.join();
    link.stop();
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "chargehub-core: " << e.what() << "\n";
    return 1;
  }
}
