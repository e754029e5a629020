// Fleet ingest into the core: N chargers connect to a real Mosquitto with our plugin (each with its own
// credentials, as mqtt.md requires) and publish heartbeat and meter messages at a total target rate;
// the core (a real process on a real SQLite file) applies them. Prints the rate the core kept up
// with, its lag when the publishers stop, and the core's CPU and memory.
//   build/bin/core_ingest_bench --chargers 10000 --rate 20000 --seconds 30
#include <mosquitto.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <thread>

#include "stack.hpp"

using namespace chargehub::testing;
namespace json = boost::json;
using Clock = std::chrono::steady_clock;

namespace {
struct Cpu {
  double seconds = 0;
  long rss_kb = 0;
};
Cpu cpu_of(int pid) {
  Cpu c;
  std::ifstream st("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  std::getline(st, line);
  auto rp = line.rfind(')');
  std::istringstream rest(line.substr(rp + 2));
  std::string f;
  long utime = 0, stime = 0;
  for (int i = 3; i <= 15 && rest >> f; ++i) {
    if (i == 14) utime = std::stol(f);
    if (i == 15) stime = std::stol(f);
  }
  c.seconds = double(utime + stime) / sysconf(_SC_CLK_TCK);
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  while (std::getline(status, line))
    if (line.rfind("VmRSS:", 0) == 0) c.rss_kb = std::stol(line.substr(6));
  return c;
}

uint64_t core_messages(Stack& s) {
  auto r = s.api("GET", "/health");
  return r.status == 200 ? r.obj().at("counters").at("messages").to_number<uint64_t>() : 0;
}

struct Charger {
  std::string id, password;
  mosquitto* m = nullptr;
  bool connected = false;
  int64_t session = 0;
};
}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Fleet ingest through Mosquitto and the plugin into the core"};
  int n = 2000, rate = 20000, seconds = 20;
  app.add_option("--chargers", n, "simulated chargers (one MQTT connection each)")->capture_default_str();
  app.add_option("--rate", rate, "messages per second in all (half heartbeat, half meter)")->capture_default_str();
  app.add_option("--seconds", seconds, "how long to publish")->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  mosquitto_lib_init();
  TempDir dir("ingest-bench");
  Stack stack(dir);
  std::printf("stack up: broker :%d, core pid %d\n", stack.broker().port(), stack.core_pid());
  auto rider = stack.api("POST", "/riders", json::object{{"name", "bench"}}).obj().at("id").as_int64();
  stack.api("POST", "/riders/" + std::to_string(rider) + "/topups", json::object{{"amount_fen", 10'000'000}});

  std::vector<Charger> chargers(n);
  auto t_setup = Clock::now();
  for (int i = 0; i < n; ++i) {
    auto& c = chargers[i];
    c.id = std::to_string(861000000000000LL + i);
    auto d = stack.api("POST", "/devices", json::object{{"id", c.id}, {"ports", 20}, {"model", 5}});
    c.password = std::string(d.obj().at("mqtt_password").as_string());
    c.m = mosquitto_new(c.id.c_str(), true, &c);
    mosquitto_username_pw_set(c.m, c.id.c_str(), c.password.c_str());
    mosquitto_connect_callback_set(c.m, [](mosquitto*, void* ud, int rc) { static_cast<Charger*>(ud)->connected = rc == 0; });
    std::string bind = "127.0.0." + std::to_string(2 + i % 250);
    if (mosquitto_connect_bind(c.m, "127.0.0.1", stack.broker().port(), 600, bind.c_str()) != MOSQ_ERR_SUCCESS) {
      std::fprintf(stderr, "connect %d failed\n", i);
      return 1;
    }
  }
  int up = 0;
  for (int round = 0; round < 3000 && up < n; ++round) {
    up = 0;
    for (auto& c : chargers) {
      if (!c.connected) mosquitto_loop(c.m, 0, 1);
      up += c.connected;
    }
  }
  std::printf("%d of %d chargers connected in %.1f s\n", up, n, std::chrono::duration<double>(Clock::now() - t_setup).count());
  // Online, and one session per charger so meter readings land on a real session.
  for (auto& c : chargers) {
    std::string st = R"({"online":true,"ts":1})";
    mosquitto_publish(c.m, nullptr, ("chg/v1/" + c.id + "/status").c_str(), int(st.size()), st.data(), 1, true);
    mosquitto_loop(c.m, 0, 1);
  }
  std::this_thread::sleep_for(std::chrono::seconds(2));
  for (auto& c : chargers) {
    auto s = stack.api("POST", "/sessions", json::object{{"device_id", c.id}, {"port", 1}, {"rider_id", rider}, {"amount_fen", 500}});
    if (s.status == 201) c.session = s.obj().at("id").as_int64();
  }
  std::printf("setup done in %.1f s\n", std::chrono::duration<double>(Clock::now() - t_setup).count());

  std::string hb = R"({"csq":20,"temp_dc":285,"mains_dv":2205,"power_w":200,"ports":[1,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0]})";
  uint64_t before = core_messages(stack);
  Cpu cpu0 = cpu_of(stack.core_pid());
  auto start = Clock::now();
  uint64_t sent = 0;
  size_t next = 0;
  const auto tick = std::chrono::milliseconds(10);
  auto due = start;
  while (Clock::now() - start < std::chrono::seconds(seconds)) {
    due += tick;
    int batch = rate / 100;
    for (int k = 0; k < batch; ++k) {
      auto& c = chargers[next++ % chargers.size()];
      std::string topic, payload;
      if (sent % 2 == 0) {
        topic = "chg/v1/" + c.id + "/up/heartbeat";
        payload = hb;
      } else {
        topic = "chg/v1/" + c.id + "/up/meter";
        payload = R"({"ports":[{"port":1,"session":)" + std::to_string(c.session) + R"(,"power_w":200,"energy_wh":)" +
                  std::to_string(sent / 1000) + R"(,"elapsed_s":)" + std::to_string(sent / 100) +
                  R"(,"voltage_dv":540,"current_ma":3700}]})";
      }
      mosquitto_publish(c.m, nullptr, topic.c_str(), int(payload.size()), payload.data(), 0, false);
      if (mosquitto_want_write(c.m)) mosquitto_loop_write(c.m, 1);
      ++sent;
    }
    std::this_thread::sleep_until(due);
  }
  double pub_secs = std::chrono::duration<double>(Clock::now() - start).count();
  uint64_t at_stop = core_messages(stack) - before;
  // Drain: how long until the core has applied everything that was sent.
  auto drain_start = Clock::now();
  uint64_t done = at_stop;
  while (done < sent && Clock::now() - drain_start < std::chrono::seconds(60)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    done = core_messages(stack) - before;
  }
  double drain = std::chrono::duration<double>(Clock::now() - drain_start).count();
  double total = std::chrono::duration<double>(Clock::now() - start).count();
  Cpu cpu1 = cpu_of(stack.core_pid());
  std::printf("published %llu messages in %.1f s (%.0f msg/s offered)\n", (unsigned long long)sent, pub_secs, sent / pub_secs);
  std::printf("core applied %llu by the end of publishing (%.0f msg/s), %llu in all after %.1f s more (lag)\n",
              (unsigned long long)at_stop, at_stop / pub_secs, (unsigned long long)done, drain);
  std::printf("core sustained %.0f msg/s overall; CPU %.1f s (%.0f %% of one core); RSS %ld MiB\n", done / total,
              cpu1.seconds - cpu0.seconds, 100.0 * (cpu1.seconds - cpu0.seconds) / total, cpu1.rss_kb / 1024);
  for (auto& c : chargers) mosquitto_destroy(c.m);
  mosquitto_lib_cleanup();
  return 0;
}
