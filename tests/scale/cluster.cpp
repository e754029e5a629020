#include "cluster.hpp"

#include <httplib.h>

#include <stdexcept>

#include "pg.hpp"

namespace chargehub::testing {

namespace json = boost::json;

Cluster::Cluster(const TempDir& dir, int cores, std::vector<std::string> core_args, std::vector<std::string> broker_log_types,
                 std::string db_url)
    : dir_(dir), core_args_(std::move(core_args)), db_url_(db_url.empty() ? fresh_database_url() : std::move(db_url)) {
  auto secrets = make_services_file(dir_.path() / "services", {{"core", "core"}});
  write_file(dir_.path() / "core.secret", secrets.at("core") + "\n");
  run_capture(bin("chargehub-core").string() + " migrate --db '" + db_url_ + "'");
  api_key_ = run_capture(bin("chargehub-core").string() + " api-key --name test --db '" + db_url_ + "'");
  broker_ = std::make_unique<Broker>(dir_, BrokerOptions{dir_.path() / "services", "plugin_opt_poll_ms 100\nmax_queued_messages 100000\n", {},
                                                        std::move(broker_log_types)});
  for (int i = 0; i < cores; ++i) ports_.push_back(free_port());
  cores_.resize(static_cast<size_t>(cores));
  runs_.assign(static_cast<size_t>(cores), 0);
  for (int i = 0; i < cores; ++i) start(i);
}

Cluster::~Cluster() {
  for (auto& c : cores_) c.reset();
  broker_.reset();
}

void Cluster::start(int i) {
  auto k = static_cast<size_t>(i);
  if (cores_[k]) throw std::logic_error("instance " + name(i) + " runs already");
  std::vector<std::string> argv{bin("chargehub-core").string(),
                                "serve",
                                "--db", db_url_,
                                "--broker", "tcp://127.0.0.1:" + std::to_string(broker_->port()),
                                "--name", name(i),
                                "--share-group", "cores",
                                "--secret-file", (dir_.path() / "core.secret").string(),
                                "--http", "127.0.0.1:" + std::to_string(ports_[k])};
  argv.insert(argv.end(), core_args_.begin(), core_args_.end());
  // Each run its own log file: log(i) concatenates them.
  cores_[k] = std::make_unique<Process>(argv, dir_.path() / (name(i) + "." + std::to_string(runs_[k]++) + ".log"));
  if (!wait_until([&] { return !cores_[k]->running() || wait_for_port(ports_[k], std::chrono::milliseconds(50)); }, std::chrono::seconds(15)) ||
      !cores_[k]->running())
    throw std::runtime_error("core " + name(i) + " did not start:\n" + log(i));
  bool up = wait_until([&] {
    auto r = api(i, "GET", "/status");
    return r.status == 200 && r.obj().at("mqtt_connected").as_bool();
  }, std::chrono::seconds(15));
  if (!up) throw std::runtime_error("core " + name(i) + " did not connect to the broker:\n" + log(i));
}

void Cluster::kill(int i) {
  auto& c = cores_[static_cast<size_t>(i)];
  if (!c) return;
  c->kill9();
  c.reset();
}

void Cluster::stop(int i, int sig) {
  auto& c = cores_[static_cast<size_t>(i)];
  if (!c) return;
  c->stop(sig);
  c.reset();
}

int Cluster::pid(int i) const {
  auto& c = cores_[static_cast<size_t>(i)];
  return c ? c->pid() : -1;
}

std::string Cluster::log(int i) const {
  std::string out;
  for (int r = 0; r < runs_[static_cast<size_t>(i)]; ++r) out += read_file(dir_.path() / (name(i) + "." + std::to_string(r) + ".log"));
  return out;
}

ApiReply Cluster::api(int i, const std::string& method, const std::string& path, const json::value& body) const {
  httplib::Client cli("127.0.0.1", ports_[static_cast<size_t>(i)]);
  cli.set_connection_timeout(5);
  cli.set_read_timeout(10);
  httplib::Headers h{{"Authorization", "Bearer " + api_key_}};
  std::string p = "/api/v1" + path, b = body.is_null() ? "{}" : json::serialize(body);
  auto r = method == "GET" ? cli.Get(p.c_str(), h) : method == "POST" ? cli.Post(p.c_str(), h, b, "application/json")
                                                                        : throw std::invalid_argument("method " + method);
  ApiReply out;
  if (!r) return out;
  out.status = r->status;
  boost::system::error_code ec;
  auto v = json::parse(r->body, ec);
  if (!ec) out.body = std::move(v);
  return out;
}

int Cluster::leader() const {
  int found = -1;
  for (int i = 0; i < size(); ++i) {
    if (!running(i)) continue;
    auto r = api(i, "GET", "/status");
    if (r.status != 200) continue;
    auto* inst = r.obj().if_contains("instance");
    if (inst && inst->is_object() && inst->as_object().at("leading").as_bool()) found = found == -1 ? i : -2;
  }
  return found;
}

}  // namespace chargehub::testing
