// Configuration of chargehub-bridge: every option, its default, and the checks run at start.
// Options come from flags and/or one config file (CLI11 `--config`, TOML/INI `key = value`).
#pragma once
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace chargehub::bridge {

struct SerialPortConfig {
  std::string path;
  unsigned baud = 115200;
};

struct Config {
  // Transports
  std::string listen = "127.0.0.1:9000";   // "" = no TCP listener
  std::string listen_host;                  // parsed from listen
  uint16_t listen_port = 0;
  std::vector<std::string> serial;          // "/dev/ttyX[:baud]"
  std::vector<SerialPortConfig> serial_ports;
  int workers = 1;                          // processes sharing the listener (SO_REUSEPORT)

  // Broker and identity
  std::string broker = "tcp://127.0.0.1:1883";
  std::string broker_host;
  uint16_t broker_port = 1883;
  std::string name = "edge";                // service identity bridge-<name>
  std::string secret_file;                  // the service secret ("" = connect without password)
  std::string secret;                       // read from secret_file; never logged
  int mqtt_keepalive_s = 60;

  // Protocol timing
  int heartbeat_s = 60;                     // told to chargers at LOGIN; silence limit is 3x
  int cmd_retry_ms = 5000;                  // down/cmd frame retry interval
  int cmd_retries = 3;                      // retries after the first send
  int login_timeout_ms = 10000;             // CONNACK wait before LOGIN result 4
  int refuse_close_ms = 1000;               // delay before closing a link whose LOGIN was refused
  int report_republish_s = 30;              // re-publish an unacked report when a copy arrives after this
  int status_s = 10;                        // service status period

  // Durability
  std::string queue_dir = "bridge-queue";
  int queue_max_mb = 64;

  // Limits
  int max_chargers = 10000;                 // per worker process
  int max_frames_per_s = 20;                // per link (token bucket, burst 2x; serial: x chargers)
  int max_out_kb = 64;                      // per link: unsent bytes before the link is closed
  int max_chargers_per_link = 32;           // serial multi-drop bus size
  int link_idle_s = 30;                     // a link with no logged-in charger is closed after this
  // Failed logins per charger peer address (login_throttle.hpp): LOGIN result 4 while deferred.
  int login_free_device = 3;                // refusals per (device, peer address) before back-off
  int login_free_peer = 50;                 // refusals per peer address before back-off
  int login_backoff_ms = 1000;              // first back-off; doubles per further refusal
  int login_backoff_max_ms = 60000;

  std::string log_level = "info";
  std::string log_format = "kv";   // kv (logfmt) | json (docs/operations.md, "Logs")

  // GET /metrics in the Prometheus text format (metrics_http.hpp); "" = not served
  std::string metrics;
  std::string metrics_host;
  uint16_t metrics_port = 0;
};

// Parses argv (and the --config file). Returns the config or throws ConfigError with a clear message;
// `exit_code` is set (and nothing returned) for --help.
struct ConfigError : std::runtime_error {
  using std::runtime_error::runtime_error;
};
std::optional<Config> parse_config(int argc, char** argv, int& exit_code);
// Checks values and reads files (secret, queue dir); throws ConfigError.
void validate(Config& c);

}  // namespace chargehub::bridge
