#include "stack.hpp"

#include "pg.hpp"

#include <httplib.h>

#include <cstdio>
#include <stdexcept>

namespace chargehub::testing {

namespace json = boost::json;

const json::object& ApiReply::obj() const { return body.as_object(); }
std::string ApiReply::code() const {
  return body.is_object() && obj().contains("error") ? std::string(obj().at("error").as_string()) : "";
}

std::string database_name(Database d) { return d == Database::Sqlite ? "sqlite" : "postgresql"; }

Stack::Stack(const TempDir& dir, std::vector<std::string> core_args, std::vector<std::string> broker_log_types,
             Database database)
    : dir_(dir), core_args_(std::move(core_args)), database_(database) {
  db_url_ = database == Database::Sqlite ? db().string() : fresh_database_url();
  secrets_ = make_services_file(dir_.path() / "services", {{"core", "core"}, {"bridge-test", "bridge"}});
  write_file(dir_.path() / "core.secret", secrets_.at("core") + "\n");
  write_file(dir_.path() / "bridge.secret", secrets_.at("bridge-test") + "\n");
  run_capture(bin("chargehub-core").string() + " migrate --db '" + db_url_ + "'");
  // A service key with every permission (platform_admin): the tests' own credential.
  api_key_ = run_capture(bin("chargehub-core").string() + " api-key --name test --db '" + db_url_ + "'");
  broker_ = std::make_unique<Broker>(dir_, BrokerOptions{dir_.path() / "services", "plugin_opt_poll_ms 100\n", {},
                                                               std::move(broker_log_types)});
  http_port_ = free_port();
  start_core();
}

Stack::~Stack() {
  sims_.clear();
  bridge_.reset();
  core_.reset();
  broker_.reset();
}

void Stack::start_core() {
  std::vector<std::string> argv{bin("chargehub-core").string(),
                                "serve",
                                "--db", db_url_,
                                "--broker", "tcp://127.0.0.1:" + std::to_string(broker_->port()),
                                "--name", "test",
                                "--secret-file", (dir_.path() / "core.secret").string(),
                                "--http", "127.0.0.1:" + std::to_string(http_port_)};
  argv.insert(argv.end(), core_args_.begin(), core_args_.end());
  core_ = std::make_unique<Process>(argv, dir_.path() / "core.log");
  if (!wait_for_port(http_port_, std::chrono::seconds(15))) throw std::runtime_error("the core did not start:\n" + core_log());
  bool mqtt = wait_until([&] {
    auto r = api("GET", "/status");
    return r.status == 200 && r.obj().at("mqtt_connected").as_bool();
  }, std::chrono::seconds(15));
  if (!mqtt) throw std::runtime_error("the core did not connect to the broker:\n" + core_log() + broker_->log_text());
}

void Stack::stop_core(int sig) {
  if (!core_) return;
  if (sig == 9) core_->kill9();
  else core_->stop(sig);
  core_.reset();
}

void Stack::start_bridge(std::vector<std::string> extra) {
  if (!bridge_port_) bridge_port_ = free_port();
  fs::create_directories(dir_.path() / "queue");
  std::vector<std::string> argv{bin("chargehub-bridge").string(),
                                "--listen", "127.0.0.1:" + std::to_string(bridge_port_),
                                "--broker", "tcp://127.0.0.1:" + std::to_string(broker_->port()),
                                "--name", "test",
                                "--secret-file", (dir_.path() / "bridge.secret").string(),
                                "--queue-dir", (dir_.path() / "queue").string()};
  argv.insert(argv.end(), extra.begin(), extra.end());
  bridge_ = std::make_unique<Process>(argv, dir_.path() / "bridge.log");
  if (!wait_for_port(bridge_port_, std::chrono::seconds(15))) throw std::runtime_error("the bridge did not start:\n" + bridge_log());
}

void Stack::stop_bridge() { bridge_.reset(); }

Process& Stack::start_sim(const std::string& device, const std::string& token_hex, std::vector<std::string> extra) {
  std::vector<std::string> argv{bin("chargehub-sim").string(), "--bridge", "127.0.0.1:" + std::to_string(bridge_port_),
                                "--device", device, "--token-hex", token_hex, "--model", "1"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  auto log = dir_.path() / ("sim" + std::to_string(sims_.size()) + ".log");
  sims_.push_back(std::make_unique<Process>(argv, log));
  return *sims_.back();
}

ApiReply Stack::api(const std::string& method, const std::string& path, const json::value& body, const std::string& key) const {
  return api_raw(method, path, body.is_null() ? "" : json::serialize(body), "application/json", key.empty() ? api_key_ : key);
}

ApiReply Stack::call(const std::string& method, const std::string& path, const std::string& bearer, const json::value& body,
                      const std::string& forwarded_for) const {
  return request(method, path, body.is_null() ? "{}" : json::serialize(body), "application/json", bearer, forwarded_for);
}

ApiReply Stack::api_raw(const std::string& method, const std::string& path, const std::string& body,
                        const std::string& content_type, const std::string& key) const {
  return request(method, path, body, content_type, key, "");
}

ApiReply Stack::request(const std::string& method, const std::string& path, const std::string& body, const std::string& content_type,
                        const std::string& key, const std::string& forwarded_for) const {
  httplib::Client cli("127.0.0.1", http_port_);
  cli.set_connection_timeout(5);
  cli.set_read_timeout(10);
  httplib::Headers h;
  if (!key.empty()) h.emplace("Authorization", "Bearer " + key);
  if (!forwarded_for.empty()) h.emplace("X-Forwarded-For", forwarded_for);
  std::string p = "/api/v1" + path;
  auto r = method == "GET"    ? cli.Get(p.c_str(), h)
            : method == "POST" ? (body.empty() ? cli.Post(p.c_str(), h, "{}", content_type.c_str())
                                               : cli.Post(p.c_str(), h, body, content_type.c_str()))
            : method == "PUT"  ? cli.Put(p.c_str(), h, body, content_type.c_str())
            : method == "PATCH" ? cli.Patch(p.c_str(), h, body, content_type.c_str())
            : method == "DELETE" ? cli.Delete(p.c_str(), h)
                               : throw std::invalid_argument("method " + method);
  ApiReply out;
  if (!r) return out;
  out.status = r->status;
  out.retry_after = r->get_header_value("Retry-After");
  boost::system::error_code ec;
  auto v = json::parse(r->body, ec);
  if (!ec) out.body = std::move(v);
  return out;
}

}  // namespace chargehub::testing
