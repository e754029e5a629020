// ota_bench: a 256 KiB firmware to 1,000 chargers through the edge bridge and Mosquitto, with the
// rollout's concurrency limit as the knob. Starts the real stack in a temp dir — Mosquitto with our
// plugin (configured like examples/mosquitto/mosquitto.conf, or with --test-broker like the integration
// tests: log_type all, default max_inflight_messages 20), chargehub-core, chargehub-bridge — and an
// in-process fleet of framed chargers (ota_fleet), then one rollout per knob value (versions 1.1.0,
// 1.2.0, ...), and prints total time, chunks/s and the CPU of the core, the bridge and the broker.
// docs/ota.md "Performance" has figures and the command.
#include <sys/resource.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <thread>

#include "chargehub/ota/firmware.hpp"
#include "ota_fleet.hpp"
#include <httplib.h>

#include "broker.hpp"
#include "stack.hpp"

using namespace chargehub;
using namespace chargehub::testing;
namespace json = boost::json;

namespace {

// CPU seconds (user + system) of the process whose command line has `name` and `marker`.
struct Cpu {
  int pid = -1;
  double seconds() const {
    std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
    std::string s((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    auto p = s.rfind(')');
    if (p == std::string::npos) return 0;
    std::istringstream ss(s.substr(p + 2));
    std::string f;
    unsigned long long ut = 0, st = 0;
    for (int i = 3; i <= 15; ++i) {
      ss >> f;
      if (i == 14) ut = std::stoull(f);
      if (i == 15) st = std::stoull(f);
    }
    return double(ut + st) / sysconf(_SC_CLK_TCK);
  }
  long rss_kb() const {
    std::ifstream in("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(in, line))
      if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
    return 0;
  }
};
Cpu find_process(const std::string& name, const std::string& marker) {
  for (auto& e : fs::directory_iterator("/proc")) {
    auto n = e.path().filename().string();
    if (n.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream in(e.path() / "cmdline");
    std::string c((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::replace(c.begin(), c.end(), '\0', ' ');
    if (c.find(name) != std::string::npos && c.find(marker) != std::string::npos) return Cpu{std::stoi(n)};
  }
  return Cpu{};
}

firmware::Bytes image(size_t n, uint32_t seed) {
  firmware::Bytes b(n);
  uint32_t x = 2463534242u + seed;
  for (auto& c : b) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    c = static_cast<uint8_t>(x);
  }
  return b;
}



// LD_PRELOAD for a child from an environment variable (diagnostics, e.g. build/lib/tcp_nodelay_preload.so).
std::map<std::string, std::string> preload(const char* var) {
  if (const char* v = std::getenv(var)) return {{"LD_PRELOAD", v}};
  return {};
}

// The core, the bridge and a broker configured like production (examples/mosquitto/mosquitto.conf).
struct ProdStack {
  const TempDir& dir;
  int mqtt = free_port(), http = free_port(), bridge = free_port();
  std::string key;
  std::unique_ptr<Process> broker, core, bridge_p;
  ProdStack(const TempDir& d, const fs::path& pub) : dir(d) {
    auto secrets = make_services_file(dir / "services", {{"core", "core"}, {"bridge-bench", "bridge"}});
    write_file(dir / "core.secret", secrets.at("core") + "\n");
    write_file(dir / "bridge.secret", secrets.at("bridge-bench") + "\n");
    run_capture(bin("chargehub-core").string() + " migrate --db " + (dir / "core.db").string());
    key = run_capture(bin("chargehub-core").string() + " api-key --name bench --db " + (dir / "core.db").string());
    std::string conf =
        "per_listener_settings false\nset_tcp_nodelay true\nallow_anonymous false\npersistence false\n"
        "max_queued_messages 100000\nmax_inflight_messages 1000\nmax_queued_bytes 67108864\n"
        "log_dest file " + (dir / "mosquitto.log").string() + "\nlog_type error\nlog_type warning\nlog_type notice\n"
        "listener " + std::to_string(mqtt) + " 127.0.0.1\n"
        "plugin " + Broker::plugin_path().string() + "\nplugin_opt_auth_cache_file " + (dir / "chargehub-auth.cache").string() +
        "\nplugin_opt_services " + (dir / "services").string() + "\nplugin_opt_poll_ms 250\n"
        "plugin_opt_throttle_addr_exempt 127.0.0.1\n";
    if (::getuid() == 0) conf += "user root\n";
    write_file(dir / "mosquitto.conf", conf);
    broker = std::make_unique<Process>(std::vector<std::string>{"/usr/sbin/mosquitto", "-c", (dir / "mosquitto.conf").string()},
                                       dir / "mosquitto.out");
    if (!wait_for_port(mqtt)) throw std::runtime_error("mosquitto did not start");
    core = std::make_unique<Process>(
        std::vector<std::string>{bin("chargehub-core").string(), "serve", "--db", (dir / "core.db").string(), "--broker",
                                 "tcp://127.0.0.1:" + std::to_string(mqtt), "--name", "bench", "--secret-file",
                                 (dir / "core.secret").string(), "--http",
                                 "127.0.0.1:" + std::to_string(http), "--firmware-pubkey", pub.string()},
        dir / "core.log", preload("CHARGEHUB_BENCH_CORE_PRELOAD"));
    if (!wait_for_port(http)) throw std::runtime_error("the core did not start");
    fs::create_directories(dir / "queue");
    bridge_p = std::make_unique<Process>(
        std::vector<std::string>{bin("chargehub-bridge").string(), "--listen", "127.0.0.1:" + std::to_string(bridge), "--broker",
                                 "tcp://127.0.0.1:" + std::to_string(mqtt), "--name", "bench", "--secret-file",
                                 (dir / "bridge.secret").string(), "--queue-dir", (dir / "queue").string(), "--heartbeat-s",
                                 "60", "--max-frames-per-s", "5000"},
        dir / "bridge.log", preload("CHARGEHUB_BENCH_BRIDGE_PRELOAD"));
    if (!wait_for_port(bridge)) throw std::runtime_error("the bridge did not start");
    std::this_thread::sleep_for(std::chrono::seconds(1));
  }
  ~ProdStack() {
    bridge_p.reset();
    core.reset();
    broker.reset();
  }
};

// The API of whichever stack runs.
struct Api {
  int port;
  std::string key;
  ApiReply call(const std::string& method, const std::string& path, const std::string& body = "") const {
    httplib::Client cli("127.0.0.1", port);
    cli.set_read_timeout(30);
    httplib::Headers h{{"Authorization", "Bearer " + key}};
    std::string p = "/api/v1" + path;
    auto r = method == "GET" ? cli.Get(p.c_str(), h) : cli.Post(p.c_str(), h, body.empty() ? "{}" : body, "application/json");
    ApiReply out;
    if (!r) return out;
    out.status = r->status;
    boost::system::error_code ec;
    auto v = json::parse(r->body, ec);
    if (!ec) out.body = std::move(v);
    return out;
  }
  ApiReply call(const std::string& method, const std::string& path, const json::value& body) const {
    return call(method, path, json::serialize(body));
  }
};
}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"ota_bench: one firmware to a fleet through bridge and broker; the rollout's concurrency limit is the knob"};
  int chargers = 1000, size = 256 * 1024, timeout_s = 900;
  std::string knobs = "50,100,200", stages = "100";
  bool test_broker = false;
  app.add_flag("--test-broker", test_broker, "use the integration tests' broker config (log_type all, max_inflight_messages 20)");
  app.add_option("--chargers", chargers, "chargers in the fleet")->capture_default_str();
  app.add_option("--size", size, "image size, bytes")->capture_default_str();
  app.add_option("--concurrency", knobs, "max_concurrent of each rollout, comma separated (one rollout each)")->capture_default_str();
  app.add_option("--stages", stages, "rollout stages, comma separated percentages")->capture_default_str();
  app.add_option("--timeout", timeout_s, "give up a rollout after this many seconds")->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  rlimit rl{};
  getrlimit(RLIMIT_NOFILE, &rl);
  rl.rlim_cur = rl.rlim_max;
  setrlimit(RLIMIT_NOFILE, &rl);

  TempDir dir("ota-bench");
  auto key = firmware::generate_key();
  write_file(dir / "firmware.pub", firmware::public_to_pem(key.pub));
  std::unique_ptr<Stack> stack;
  std::unique_ptr<ProdStack> prod;
  Api api{};
  int bridge_port = 0;
  if (test_broker) {
    stack = std::make_unique<Stack>(dir, std::vector<std::string>{"--firmware-pubkey", (dir / "firmware.pub").string()});
    api = Api{stack->http_port(), stack->api_key()};
  } else {
    prod = std::make_unique<ProdStack>(dir, dir / "firmware.pub");
    api = Api{prod->http, prod->key};
    bridge_port = prod->bridge;
  }
  std::fprintf(stderr, "stack up in %s (%s broker config); creating %d devices\n", dir.path().c_str(),
               test_broker ? "test" : "production", chargers);

  otabench::FleetConfig fc;
  fc.key = key.pub;
  for (int i = 0; i < chargers; ++i) {
    std::string id = std::to_string(862000000000001ULL + static_cast<uint64_t>(i));
    auto d = api.call("POST", "/devices", json::object{{"id", id}, {"model", 1}});
    if (d.status != 201) {
      std::fprintf(stderr, "cannot create %s: %s\n", id.c_str(), json::serialize(d.body).c_str());
      return 1;
    }
    fc.chargers.emplace_back(id, std::string(d.obj().at("token_hex").as_string()));
  }
  if (stack) {
    // The bridge's per-charger frame limit (20/s by default) would pace each download at 20 KB/s.
    stack->start_bridge({"--heartbeat-s", "60", "--max-frames-per-s", "5000"});
    bridge_port = stack->bridge_port();
  }
  fc.port = bridge_port;
  otabench::Fleet fleet(fc);
  auto t_start = std::chrono::steady_clock::now();
  fleet.start();
  if (!wait_until([&] { return fleet.stats().logged_in.load() >= static_cast<uint64_t>(chargers); }, std::chrono::seconds(120))) {
    std::fprintf(stderr, "only %llu of %d chargers logged in\n", (unsigned long long)fleet.stats().logged_in.load(), chargers);
    return 1;
  }
  std::this_thread::sleep_for(std::chrono::seconds(3));   // their status and first heartbeats reach the core
  std::fprintf(stderr, "%d chargers logged in in %.1f s\n", chargers,
               std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count());

  auto core = find_process("chargehub-core", dir.path().string());
  auto bridge = find_process("chargehub-bridge", dir.path().string());
  auto broker = find_process("mosquitto", dir.path().string());
  json::array stage_list;
  {
    std::stringstream ss(stages);
    std::string s;
    while (std::getline(ss, s, ',')) stage_list.push_back(std::stoi(s));
  }

  std::printf("| chargers | image | max_concurrent | stages | total s | chunks | chunks/s | MB/s | core CPU s | core CPU %% | bridge CPU %% | broker CPU %% | core RSS MiB | failed |\n");
  std::printf("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
  std::stringstream ks(knobs);
  std::string k;
  int minor = 1;
  while (std::getline(ks, k, ',')) {
    int conc = std::stoi(k);
    auto pkg = firmware::make_package(image(static_cast<size_t>(size), static_cast<uint32_t>(minor)),
                                      {1, {1, static_cast<uint8_t>(minor), 0}, {1, 0, 0}, "bench", 0}, key.priv);
    ++minor;
    auto up = api.call("POST", "/firmware", firmware::package_to_json(pkg));
    if (up.status != 201) {
      std::fprintf(stderr, "upload failed: %s\n", json::serialize(up.body).c_str());
      return 1;
    }
    int64_t fw = up.obj().at("id").as_int64();
    uint64_t chunks0 = static_cast<uint64_t>(api.call("GET", "/ota/stats").obj().at("chunks_served").as_int64());
    double c0 = core.seconds(), b0 = bridge.seconds(), m0 = broker.seconds();
    auto t0 = std::chrono::steady_clock::now();
    auto r = api.call("POST", "/rollouts", json::object{{"firmware_id", fw}, {"target", {{"model", 1}}}, {"stages", stage_list},
                                                        {"max_failure_pct", 10}, {"max_concurrent", conc}});
    if (r.status != 201) {
      std::fprintf(stderr, "rollout refused: %s\n", json::serialize(r.body).c_str());
      return 1;
    }
    int64_t id = r.obj().at("id").as_int64();
    json::object view;
    bool done = wait_until([&] {
      auto v = api.call("GET", "/rollouts/" + std::to_string(id));
      if (v.status != 200) return false;
      view = v.obj();
      auto s = view.at("state").as_string();
      return s == "completed" || s == "paused" || s == "cancelled";
    }, std::chrono::seconds(timeout_s));
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    uint64_t chunks = static_cast<uint64_t>(api.call("GET", "/ota/stats").obj().at("chunks_served").as_int64()) - chunks0;
    double cc = core.seconds() - c0, bc = bridge.seconds() - b0, mc = broker.seconds() - m0;
    std::printf("| %d | %d KiB | %d | %s | %.1f%s | %llu | %.0f | %.2f | %.1f | %.0f %% | %.0f %% | %.0f %% | %.0f | %lld |\n", chargers,
                size / 1024, conc, stages.c_str(), secs, done ? "" : " (timeout)", (unsigned long long)chunks, chunks / secs,
                chunks * 1000.0 / secs / 1e6, cc, 100 * cc / secs, 100 * bc / secs, 100 * mc / secs, core.rss_kb() / 1024.0,
                (long long)view.at("failures").as_int64());
    std::fflush(stdout);
    std::fprintf(stderr, "rollout %lld: %s; installed %lld; fleet chunk retries %llu\n", (long long)id,
                 json::serialize(view.at("state")).c_str(), (long long)view.at("installed").as_int64(),
                 (unsigned long long)fleet.stats().retries.load());
  }
  fleet.stop();
  return 0;
}
