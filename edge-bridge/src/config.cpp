#include "config.hpp"

#include <CLI/CLI.hpp>

#include "chargehub/config.hpp"
#include <filesystem>
#include <fstream>
#include <sstream>
#include <tuple>
#include <unistd.h>

namespace chargehub::bridge {

namespace fs = std::filesystem;

std::optional<Config> parse_config(int argc, char** argv, int& exit_code) {
  Config c;
  CLI::App app{"chargehub-bridge: chargers' binary frames (TCP, serial) <-> MQTT, one MQTT identity per charger"};
  app.add_option("--listen", c.listen, "TCP listen address host:port for 4G chargers (\"\" to disable)")->capture_default_str();
  app.add_option("--serial", c.serial, "Serial line /dev/ttyX[:baud] (8N1), repeatable");
  app.add_option("--workers", c.workers, "Worker processes sharing the TCP port (SO_REUSEPORT)")->capture_default_str();
  app.add_option("--broker", c.broker, "MQTT broker URL tcp://host:port")->capture_default_str();
  app.add_option("--name", c.name, "Bridge name; its service identity is bridge-<name>")->capture_default_str();
  app.add_option("--secret-file", c.secret_file, "File holding the bridge's service secret");
  app.add_option("--mqtt-keepalive-s", c.mqtt_keepalive_s, "MQTT keepalive")->capture_default_str();
  app.add_option("--heartbeat-s", c.heartbeat_s, "Heartbeat interval told to chargers; 3 silent intervals close a charger")->capture_default_str();
  app.add_option("--cmd-retry-ms", c.cmd_retry_ms, "Retry interval of commands sent to chargers")->capture_default_str();
  app.add_option("--cmd-retries", c.cmd_retries, "Retries of a command before error timeout")->capture_default_str();
  app.add_option("--login-timeout-ms", c.login_timeout_ms, "Wait for the broker's CONNACK before LOGIN result 4")->capture_default_str();
  app.add_option("--refuse-close-ms", c.refuse_close_ms, "Delay before a refused charger's link is closed")->capture_default_str();
  app.add_option("--report-republish-s", c.report_republish_s, "Re-publish an unacknowledged report when a copy arrives after this")->capture_default_str();
  app.add_option("--status-s", c.status_s, "Period of the service status publish")->capture_default_str();
  app.add_option("--queue-dir", c.queue_dir, "Directory of the on-disk queue of undelivered frames")->capture_default_str();
  app.add_option("--queue-max-mb", c.queue_max_mb, "Bound of the on-disk queue")->capture_default_str();
  app.add_option("--max-chargers", c.max_chargers, "Chargers per worker process")->capture_default_str();
  app.add_option("--max-frames-per-s", c.max_frames_per_s, "Frames per second per charger on a link (burst 2x)")->capture_default_str();
  app.add_option("--max-out-kb", c.max_out_kb, "Unsent bytes per link before it is closed")->capture_default_str();
  app.add_option("--max-chargers-per-link", c.max_chargers_per_link, "Chargers on one serial bus or TCP link")->capture_default_str();
  app.add_option("--link-idle-s", c.link_idle_s, "A link without a logged-in charger is closed after this")->capture_default_str();
  app.add_option("--login-free-device", c.login_free_device, "Refused logins per (device, peer address) before LOGIN result 4 back-off")->capture_default_str();
  app.add_option("--login-free-peer", c.login_free_peer, "Refused logins per peer address before back-off")->capture_default_str();
  app.add_option("--login-backoff-ms", c.login_backoff_ms, "First login back-off; doubles per further refusal")->capture_default_str();
  app.add_option("--login-backoff-max-ms", c.login_backoff_max_ms, "Longest login back-off")->capture_default_str();
  app.add_option("--log-level", c.log_level, "debug, info, warn or error")->capture_default_str();
  app.add_option("--log-format", c.log_format, "kv (logfmt) or json: one line per event on stderr")->capture_default_str();
  app.add_option("--metrics", c.metrics, "HOST:PORT serving GET /metrics (Prometheus text format; plain HTTP, a trusted network)");
  chargehub::config::add_config_option(app);   // --config FILE: every flag above (docs/packages.md)
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    exit_code = app.exit(e);
    return std::nullopt;
  } catch (const CLI::ParseError& e) {
    throw ConfigError(e.what());
  }
  return c;
}

namespace {

template <class T>
void in_range(const char* name, T v, T lo, T hi) {
  if (v < lo || v > hi) {
    std::ostringstream o;
    o << "--" << name << " must be between " << lo << " and " << hi << " (got " << v << ")";
    throw ConfigError(o.str());
  }
}

std::pair<std::string, uint16_t> host_port(const std::string& what, const std::string& s) {
  auto colon = s.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == s.size())
    throw ConfigError(what + " must be host:port (got \"" + s + "\")");
  std::string host = s.substr(0, colon), port = s.substr(colon + 1);
  if (port.find_first_not_of("0123456789") != std::string::npos || port.size() > 5 || std::stoul(port) == 0 ||
      std::stoul(port) > 65535)
    throw ConfigError(what + ": bad port \"" + port + "\"");
  return {host, static_cast<uint16_t>(std::stoul(port))};
}

}  // namespace

void validate(Config& c) {
  if (!c.listen.empty() && c.listen != "none") {
    auto [h, p] = host_port("--listen", c.listen);
    c.listen_host = h;
    c.listen_port = p;
  }
  if (!c.metrics.empty()) std::tie(c.metrics_host, c.metrics_port) = host_port("--metrics", c.metrics);
  if (c.listen_port == 0 && c.serial.empty()) throw ConfigError("nothing to serve: give --listen and/or --serial");
  static const unsigned kBauds[] = {1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200, 230400, 460800, 921600};
  for (auto& s : c.serial) {
    SerialPortConfig sp;
    auto colon = s.rfind(':');
    sp.path = s;
    if (colon != std::string::npos) {
      std::string b = s.substr(colon + 1);
      if (b.empty() || b.find_first_not_of("0123456789") != std::string::npos || b.size() > 7)
        throw ConfigError("--serial " + s + ": bad baud rate \"" + b + "\"");
      sp.baud = static_cast<unsigned>(std::stoul(b));
      sp.path = s.substr(0, colon);
      if (std::find(std::begin(kBauds), std::end(kBauds), sp.baud) == std::end(kBauds))
        throw ConfigError("--serial " + s + ": unsupported baud rate " + b);
    }
    if (!fs::exists(sp.path)) throw ConfigError("--serial " + sp.path + ": no such device");
    c.serial_ports.push_back(sp);
  }
  const std::string scheme = "tcp://";
  if (c.broker.rfind(scheme, 0) != 0) throw ConfigError("--broker must be tcp://host:port (got \"" + c.broker + "\")");
  auto [bh, bp] = host_port("--broker", c.broker.substr(scheme.size()));
  c.broker_host = bh;
  c.broker_port = bp;
  if (c.name.empty() || c.name.size() > 64 || c.name.find_first_of("/+#$ ") != std::string::npos)
    throw ConfigError("--name must be 1-64 characters without / + # $ or spaces");
  if (!c.secret_file.empty()) {
    std::ifstream f(c.secret_file);
    if (!f) throw ConfigError("--secret-file " + c.secret_file + ": cannot read");
    std::getline(f, c.secret);
    while (!c.secret.empty() && (c.secret.back() == '\r' || c.secret.back() == ' ')) c.secret.pop_back();
    if (c.secret.empty()) throw ConfigError("--secret-file " + c.secret_file + ": empty");
  }
  in_range("workers", c.workers, 1, 64);
  in_range("mqtt-keepalive-s", c.mqtt_keepalive_s, 5, 3600);
  in_range("heartbeat-s", c.heartbeat_s, 1, 3600);
  in_range("cmd-retry-ms", c.cmd_retry_ms, 10, 600000);
  in_range("cmd-retries", c.cmd_retries, 0, 10);
  in_range("login-timeout-ms", c.login_timeout_ms, 100, 120000);
  in_range("login-free-device", c.login_free_device, 0, 1000000);
  in_range("login-free-peer", c.login_free_peer, 0, 1000000);
  in_range("login-backoff-ms", c.login_backoff_ms, 1, 3600000);
  in_range("login-backoff-max-ms", c.login_backoff_max_ms, c.login_backoff_ms, 86400000);
  in_range("refuse-close-ms", c.refuse_close_ms, 0, 60000);
  in_range("report-republish-s", c.report_republish_s, 1, 3600);
  in_range("status-s", c.status_s, 1, 3600);
  in_range("queue-max-mb", c.queue_max_mb, 1, 1 << 20);
  in_range("max-chargers", c.max_chargers, 1, 100000);
  in_range("max-frames-per-s", c.max_frames_per_s, 1, 100000);
  in_range("max-out-kb", c.max_out_kb, 4, 1 << 20);
  in_range("max-chargers-per-link", c.max_chargers_per_link, 1, 250);
  in_range("link-idle-s", c.link_idle_s, 1, 3600);
  if (c.log_level != "debug" && c.log_level != "info" && c.log_level != "warn" && c.log_level != "error")
    throw ConfigError("--log-level must be debug, info, warn or error");
  if (c.log_format != "kv" && c.log_format != "json") throw ConfigError("--log-format must be kv or json");
  if (c.queue_dir.empty()) throw ConfigError("--queue-dir must not be empty");
  std::error_code ec;
  fs::create_directories(c.queue_dir, ec);
  if (ec || !fs::is_directory(c.queue_dir)) throw ConfigError("--queue-dir " + c.queue_dir + ": cannot create");
  if (::access(c.queue_dir.c_str(), W_OK) != 0) throw ConfigError("--queue-dir " + c.queue_dir + ": not writable");
}

}  // namespace chargehub::bridge
