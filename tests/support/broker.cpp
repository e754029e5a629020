#include "broker.hpp"

#include <pwd.h>
#include <unistd.h>

#include <stdexcept>
#include <thread>

namespace chargehub::testing {
namespace {

std::string current_user() {
  if (passwd* pw = ::getpwuid(::geteuid())) return pw->pw_name;
  return "root";
}

}  // namespace

fs::path Broker::plugin_path() { return fs::path(CHARGEHUB_BIN_DIR).parent_path() / "lib" / "chargehub_auth.so"; }

Broker::Broker(const TempDir& dir, BrokerOptions opts, std::map<std::string, std::string> env) {
  const fs::path plugin = opts.plugin.empty() ? plugin_path() : opts.plugin;
  if (!fs::exists(plugin)) throw std::runtime_error("plugin not built: " + plugin.string());
  for (int attempt = 0; attempt < 3; ++attempt) {
    port_ = free_port();
    std::string tag = "mosquitto-" + std::to_string(port_);
    conf_ = dir / (tag + ".conf");
    log_ = dir / (tag + ".log");
    status_ = dir / (tag + ".status");
    std::string conf;
    conf += "# written by chargehub::testing::Broker\n";
    conf += "per_listener_settings false\n";
    conf += "allow_anonymous false\n";
    conf += "persistence false\n";
    // mosquitto started as root drops to the user "mosquitto" unless told otherwise; keep ours so it
    // can read the test's files.
    conf += "user " + current_user() + "\n";
    conf += "log_dest file " + log_.string() + "\n";
    for (const auto& t : opts.log_types) conf += "log_type " + t + "\n";
    conf += "connection_messages true\n";
    conf += "listener " + std::to_string(port_) + " 127.0.0.1\n";
    conf += "max_queued_messages 10000\n";
    // As in examples/mosquitto/mosquitto.conf: the largest legitimate packet is the core's credential
    // snapshot on $CONTROL (about 250 bytes a device); chargers' own limit is the plugin's (8 KiB).
    conf += "max_packet_size 16777216\n";
    conf += "set_tcp_nodelay true\n";
    conf += "plugin " + plugin.string() + "\n";
    auth_cache_ = opts.auth_cache_file.empty() ? dir / "chargehub-auth.cache" : opts.auth_cache_file;
    conf += "plugin_opt_auth_cache_file " + auth_cache_.string() + "\n";
    if (!opts.services.empty()) conf += "plugin_opt_services " + opts.services.string() + "\n";
    conf += "plugin_opt_status_file " + status_.string() + "\n";
    conf += "plugin_opt_status_interval_s 1\n";
    // Tests and benches compress time (simulated chargers, load generators at hundreds of messages a
    // second per device): no per-device rate limit unless a test sets one in extra_conf (a later
    // plugin_opt line wins). The size limit stays at the production default (8 KiB).
    conf += "plugin_opt_limit_rate_per_s 0\n";
    conf += opts.extra_conf;
    if (!conf.empty() && conf.back() != '\n') conf += '\n';
    write_file(conf_, conf);
    process_ = std::make_unique<Process>(std::vector<std::string>{"/usr/sbin/mosquitto", "-c", conf_.string()},
                                         dir / (tag + ".out"), env);
    bool up = wait_until([&] { return !process_->running() || wait_for_port(port_, std::chrono::milliseconds(0)); },
                         std::chrono::seconds(20));
    if (up && process_->running()) return;
    process_->stop();
    // Port taken between free_port() and bind: try another; otherwise report why it did not start.
    std::string out = read_file(log_) + read_file(dir / (tag + ".out"));
    if (out.find("Address already in use") == std::string::npos)
      throw std::runtime_error("mosquitto did not start:\n" + out);
  }
  throw std::runtime_error("mosquitto did not start: no free port");
}

Broker::~Broker() { stop(); }

void Broker::publish_as(const std::string& username, const std::string& secret, const std::string& topic,
                        const std::string& payload) const {
  auto file = conf_.parent_path() / ("publish-" + std::to_string(port_) + ".msg");
  write_file(file, payload);
  std::string cmd = "mosquitto_pub -h 127.0.0.1 -p " + std::to_string(port_) + " -i " + username + "-seed -u " + username +
                    " -P '" + secret + "' -q 1 -t '" + topic + "' -f " + file.string() + " 2>&1";
  if (std::system(cmd.c_str()) != 0) throw std::runtime_error("publishing to " + topic + " as " + username + " failed");
}

int Broker::stop() { return process_ ? process_->stop() : -1; }

bool Broker::wait_for_log(const std::string& needle, std::chrono::milliseconds timeout) const {
  return wait_until([&] { return read_file(log_).find(needle) != std::string::npos; }, timeout);
}

std::map<std::string, std::string> make_services_file(
    const fs::path& path, const std::vector<std::pair<std::string, std::string>>& accounts) {
  std::map<std::string, std::string> secrets;
  for (const auto& [user, role] : accounts) {
    fs::path secret_file = path.string() + "." + user + ".secret";
    fs::path out = path.string() + ".passwd.log";
    Process p({bin("chargehub-passwd").string(), "--services", path.string(), "--user", user, "--role", role,
               "--secret-file", secret_file.string()},
              out);
    if (p.wait() != 0) throw std::runtime_error("chargehub-passwd failed: " + read_file(out));
    std::string s = read_file(secret_file);
    while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
    secrets[user] = s;
  }
  return secrets;
}

}  // namespace chargehub::testing
