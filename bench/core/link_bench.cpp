// The core's MQTT receive path alone: CPU per message of the core's MQTT link and, for comparison, of
// the Paho link it replaced (issue 20), each receiving the same QoS 0 telemetry through a real
// Mosquitto with our plugin from chargers with their own credentials. The handler only counts, so
// what is measured is the link: network reads, parsing, queueing, handing batches to the worker.
//   build/bin/core_link_bench --impl link --messages 400000 --rate 20000
//   build/bin/core_link_bench --impl paho --messages 400000 --rate 20000
// CPU is this process's user and system time while the messages arrive. Under
// `valgrind --tool=callgrind` run two message counts: the difference gives instructions per message
// (user space only; system calls count as one instruction each there, their cost is in "system").
#include <mosquitto.h>
#include <openssl/evp.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <thread>

#include "broker.hpp"
#include "chargehub/frame.hpp"
#include "mqtt_link.hpp"
#include "paho_link.hpp"
#include "app/app.hpp"
#include "chargehub/auth_control.hpp"
#include "db/db.hpp"
#include "testsupport.hpp"

using namespace chargehub;
using namespace chargehub::core;
using namespace chargehub::testing;
using Clock = std::chrono::steady_clock;

namespace {

struct Creds {
  std::string password, hash;
};
Creds charger_creds() {
  unsigned char tok[24];
  for (int i = 0; i < 24; ++i) tok[i] = static_cast<unsigned char>(i * 7 + 3);
  unsigned char md[32];
  unsigned int len = 0;
  EVP_Digest(tok, sizeof tok, md, &len, EVP_sha256(), nullptr);
  std::string b64(33, '\0');
  b64.resize(static_cast<size_t>(EVP_EncodeBlock(reinterpret_cast<unsigned char*>(b64.data()), tok, sizeof tok)));
  return {"tok:" + b64, proto::to_hex(std::span<const uint8_t>(md, len))};
}

double cpu_now(double* user = nullptr, double* sys = nullptr) {
  rusage ru{};
  ::getrusage(RUSAGE_SELF, &ru);
  double u = ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6, s = ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
  if (user) *user = u;
  if (sys) *sys = s;
  return u + s;
}

struct Pub {
  std::string id;
  mosquitto* m = nullptr;
  bool connected = false;
};

// The load generator (a child process): `devices` chargers publish `messages` meter messages at QoS 0
// in turn at `rate` msg/s once told to go; reports how many it sent.
int publisher(int port, const std::vector<std::string>& ids, const std::string& password, uint64_t messages, int rate,
              int ready_fd, int go_fd) {
  mosquitto_lib_init();
  std::vector<Pub> pubs(ids.size());
  for (size_t i = 0; i < ids.size(); ++i) {
    auto& p = pubs[i];
    p.id = ids[i];
    p.m = mosquitto_new(p.id.c_str(), true, &p);
    mosquitto_username_pw_set(p.m, p.id.c_str(), password.c_str());
    mosquitto_connect_callback_set(p.m, [](mosquitto*, void* ud, int rc) { static_cast<Pub*>(ud)->connected = rc == 0; });
    if (mosquitto_connect(p.m, "127.0.0.1", port, 600) != MOSQ_ERR_SUCCESS) return 1;
  }
  auto pump = [&](int timeout_ms) {
    std::vector<pollfd> fds;
    for (auto& p : pubs) fds.push_back(pollfd{mosquitto_socket(p.m), short(POLLIN | (mosquitto_want_write(p.m) ? POLLOUT : 0)), 0});
    ::poll(fds.data(), fds.size(), timeout_ms);
    for (size_t i = 0; i < fds.size(); ++i) {
      if (fds[i].revents & POLLIN) mosquitto_loop_read(pubs[i].m, 1);
      if (fds[i].revents & POLLOUT) mosquitto_loop_write(pubs[i].m, 1);
    }
  };
  auto deadline = Clock::now() + std::chrono::seconds(30);
  while (Clock::now() < deadline && !std::all_of(pubs.begin(), pubs.end(), [](auto& p) { return p.connected; })) pump(50);
  uint64_t up = std::count_if(pubs.begin(), pubs.end(), [](auto& p) { return p.connected; });
  // A QoS 1 probe until the link has subscribed (the parent says go once it has seen one).
  if (::write(ready_fd, &up, sizeof up) != sizeof up) return 1;
  char go = 0;
  while (true) {
    pollfd g{go_fd, POLLIN, 0};
    if (::poll(&g, 1, 200) > 0) break;
    std::string t = "chg/v1/" + pubs[0].id + "/up/alarm";
    mosquitto_publish(pubs[0].m, nullptr, t.c_str(), 5, "probe", 1, false);
    pump(0);
  }
  if (::read(go_fd, &go, 1) != 1) return 1;
  std::vector<std::string> topics;
  for (auto& p : pubs) topics.push_back("chg/v1/" + p.id + "/up/meter");
  uint64_t sent = 0;
  auto start = Clock::now(), due = start;
  const auto tick = std::chrono::milliseconds(10);
  while (sent < messages) {
    due += tick;
    for (int k = 0; k < rate / 100 && sent < messages; ++k, ++sent) {
      size_t i = sent % pubs.size();
      std::string payload = R"({"ports":[{"port":1,"session":)" + std::to_string(i + 1) + R"(,"power_w":200,"energy_wh":)" +
                            std::to_string(sent / 1000) + R"(,"elapsed_s":)" + std::to_string(sent / 100) +
                            R"(,"voltage_dv":540,"current_ma":3700}]})";
      mosquitto_publish(pubs[i].m, nullptr, topics[i].c_str(), int(payload.size()), payload.data(), 0, false);
      if (mosquitto_want_write(pubs[i].m)) mosquitto_loop_write(pubs[i].m, 1);
    }
    if ((due - start) % std::chrono::seconds(1) < tick) pump(0);
    std::this_thread::sleep_until(due);
  }
  for (int i = 0; i < 10; ++i) pump(20);
  if (::write(ready_fd, &sent, sizeof sent) != sizeof sent) return 1;
  for (auto& p : pubs) mosquitto_destroy(p.m);
  mosquitto_lib_cleanup();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"CPU per message of the core's MQTT receive path (the link, or the Paho link it replaced)"};
  std::string impl = "link";
  uint64_t messages = 400000;
  int rate = 20000, devices = 100;
  app.add_option("--impl", impl, "link (the core's) or paho (the one it replaced)")->check(CLI::IsMember({"link", "paho"}))->capture_default_str();
  app.add_option("--messages", messages, "QoS 0 meter messages to receive")->capture_default_str();
  app.add_option("--rate", rate, "messages per second")->capture_default_str();
  app.add_option("--devices", devices, "chargers publishing them, in turn")->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  std::signal(SIGPIPE, SIG_IGN);

  TempDir dir("link-bench");
  Creds creds = charger_creds();
  std::vector<std::string> ids;
  auth_control::Snapshot snap{1, {}};
  {
    auto db = sql::open((dir / "core.db").string());
    App store(*db);
    for (int i = 0; i < devices; ++i) {
      ids.push_back(std::to_string(862000000000000LL + i));
      store.devices.create(NewDevice{ids.back(), "", 10, 1, creds.hash, {}}, 1);
    }
    auto c = store.devices.credentials();
    snap.rev = c.rev;
    for (auto& d : c.devices) snap.devices.push_back({d.id, d.token_hash, std::nullopt, 0, std::nullopt, d.enabled});
  }
  auto secrets = make_services_file(dir / "services", {{"core", "core"}});
  Broker broker(dir, BrokerOptions{dir / "services", "plugin_opt_poll_ms 100\n", {}, {"error", "warning", "notice", "information"}});
  // The chargers' credentials reach the plugin as a core sends them: a snapshot over $CONTROL.
  broker.publish_as("core", secrets.at("core"), std::string(auth_control::kControlTopic), auth_control::snapshot_json(snap));

  int up[2], go[2];
  if (::pipe(up) || ::pipe(go)) return 1;
  pid_t kid = ::fork();
  if (kid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);
    ::_exit(publisher(broker.port(), ids, creds.password, messages, rate, up[1], go[0]));
  }

  std::atomic<uint64_t> got{0};
  auto on_batch = [&](const MqttLink::Batch& b) { got += b.size(); };
  MqttConfig cfg;
  cfg.uri = "tcp://127.0.0.1:" + std::to_string(broker.port());
  cfg.client_id = "core-bench";
  cfg.password = secrets.at("core");
  cfg.max_queue = 10'000'000;   // measure the path, not shedding
  std::unique_ptr<MqttLink> link;
  std::unique_ptr<reference::PahoLink> paho;
  if (impl == "link") {
    link = std::make_unique<MqttLink>(cfg, on_batch, [] {});
    link->start();
  } else {
    paho = std::make_unique<reference::PahoLink>(cfg, on_batch, [] {});
    paho->start();
  }
  uint64_t connected = 0;
  if (::read(up[0], &connected, sizeof connected) != sizeof connected) return 1;
  if (!wait_until([&] { return got > 0; }, std::chrono::seconds(30))) {
    std::fprintf(stderr, "the link received nothing\n");
    return 1;
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(500));   // the last probes
  uint64_t got0 = got;
  double u0, s0;
  cpu_now(&u0, &s0);
  auto t0 = link ? link->thread_cpu() : MqttLink::ThreadCpu{};
  auto start = Clock::now();
  if (::write(go[1], "g", 1) != 1) return 1;
  uint64_t sent = 0;
  if (::read(up[0], &sent, sizeof sent) != sizeof sent) return 1;
  wait_until([&] { return got - got0 >= sent; }, std::chrono::seconds(30));
  double secs = std::chrono::duration<double>(Clock::now() - start).count();
  double u1, s1;
  cpu_now(&u1, &s1);
  auto t1 = link ? link->thread_cpu() : MqttLink::ThreadCpu{};
  uint64_t n = got - got0;
  ::waitpid(kid, nullptr, 0);
  std::printf("%s: %d chargers sent %llu QoS 0 messages at %d msg/s; received %llu in %.1f s\n", impl.c_str(),
              int(connected), (unsigned long long)sent, rate, (unsigned long long)n, secs);
  std::printf("%s: process CPU %.2f s (user %.2f, system %.2f) = %.2f us per message (user %.2f, system %.2f)\n",
              impl.c_str(), (u1 - u0) + (s1 - s0), u1 - u0, s1 - s0, 1e6 * ((u1 - u0) + (s1 - s0)) / double(n ? n : 1),
              1e6 * (u1 - u0) / double(n ? n : 1), 1e6 * (s1 - s0) / double(n ? n : 1));
  if (link)
    std::printf("%s: thread mqtt-rx %.2f us per message, mqtt-worker %.2f us per message\n", impl.c_str(),
                1e6 * (t1.receive_s - t0.receive_s) / double(n ? n : 1), 1e6 * (t1.worker_s - t0.worker_s) / double(n ? n : 1));
  if (link) link->stop();
  if (paho) paho->stop();
  return n >= sent ? 0 : 1;
}
