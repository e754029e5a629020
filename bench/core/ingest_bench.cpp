// Fleet ingest into the core: N chargers connect to a real Mosquitto with our plugin (each with its own
// credentials, as mqtt.md requires) and publish heartbeat and meter messages at a total target rate;
// the core (a real process on a real SQLite file) applies them. Prints the rate the core kept up
// with, its lag when the publishers stop, and the core's CPU and memory.
//   build/bin/core_ingest_bench --chargers 10000 --rate 20000 --seconds 30
#include <mosquitto.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <csignal>
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
  uint64_t sent = 0;   // this charger's messages: heartbeat and meter in turn
};
}  // namespace

namespace {
// One publisher process: connects chargers [from, to), marks them online, waits for "go", publishes at
// `rate` msg/s for `seconds`, then reports how many it sent on the pipe.
int publisher(int port, std::vector<Charger> chargers, int rate, int seconds, int ready_fd, int go_fd) {
  mosquitto_lib_init();
  for (size_t i = 0; i < chargers.size(); ++i) {
    auto& c = chargers[i];
    c.m = mosquitto_new(c.id.c_str(), true, &c);
    mosquitto_username_pw_set(c.m, c.id.c_str(), c.password.c_str());
    mosquitto_connect_callback_set(c.m, [](mosquitto*, void* ud, int rc) { static_cast<Charger*>(ud)->connected = rc == 0; });
    std::string bind = "127.0.0." + std::to_string(2 + i % 250);
    if (mosquitto_connect_bind(c.m, "127.0.0.1", port, 600, bind.c_str()) != MOSQ_ERR_SUCCESS) {
      std::fprintf(stderr, "connect %zu failed\n", i);
      return 1;
    }
  }
  // libmosquitto's own loop uses select(), which breaks past fd 1024: poll the sockets ourselves.
  auto pump = [&](int timeout_ms) {
    std::vector<pollfd> fds;
    std::vector<Charger*> who;
    for (auto& c : chargers) {
      int fd = mosquitto_socket(c.m);
      if (fd < 0) continue;
      fds.push_back(pollfd{fd, short(POLLIN | (mosquitto_want_write(c.m) ? POLLOUT : 0)), 0});
      who.push_back(&c);
    }
    ::poll(fds.data(), fds.size(), timeout_ms);
    for (size_t i = 0; i < fds.size(); ++i) {
      if (fds[i].revents & POLLIN) mosquitto_loop_read(who[i]->m, 1);
      if (fds[i].revents & POLLOUT) mosquitto_loop_write(who[i]->m, 1);
    }
  };
  size_t up = 0;
  auto deadline = Clock::now() + std::chrono::seconds(120);
  while (up < chargers.size() && Clock::now() < deadline) {
    pump(50);
    up = 0;
    for (auto& c : chargers) up += c.connected;
  }
  for (auto& c : chargers) {
    std::string st = R"({"online":true,"ts":1})";
    mosquitto_publish(c.m, nullptr, ("chg/v1/" + c.id + "/status").c_str(), int(st.size()), st.data(), 1, true);
  }
  for (int i = 0; i < 20; ++i) pump(50);
  uint64_t up64 = up;
  if (::write(ready_fd, &up64, sizeof up64) != sizeof up64) return 1;
  char go;
  if (::read(go_fd, &go, 1) != 1) return 1;

  std::string hb = R"({"csq":20,"temp_dc":285,"mains_dv":2205,"power_w":200,"ports":[1,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0]})";
  auto start = Clock::now();
  uint64_t sent = 0;
  size_t next = 0;
  const auto tick = std::chrono::milliseconds(10);
  auto due = start;
  while (Clock::now() - start < std::chrono::seconds(seconds)) {
    due += tick;
    for (int k = 0; k < rate / 100; ++k) {
      auto& c = chargers[next++ % chargers.size()];
      if (!c.connected) continue;
      std::string topic, payload;
      if (c.sent++ % 2 == 0) {
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
    // Nothing arrives for QoS 0 publishers but keepalive answers: poll the sockets once a second, not
    // every tick (a poll over 5,000 sockets each 10 ms cost this generator a fifth of a core).
    if ((due - start) % std::chrono::seconds(1) < tick) pump(0);
    std::this_thread::sleep_until(due);
  }
  if (::write(ready_fd, &sent, sizeof sent) != sizeof sent) return 1;
  for (auto& c : chargers) mosquitto_destroy(c.m);
  mosquitto_lib_cleanup();
  return 0;
}
}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Fleet ingest through Mosquitto and the plugin into the core"};
  int n = 2000, rate = 20000, seconds = 20, procs = 2;
  app.add_option("--chargers", n, "simulated chargers (one MQTT connection each)")->capture_default_str();
  app.add_option("--rate", rate, "messages per second in all (half heartbeat, half meter)")->capture_default_str();
  app.add_option("--seconds", seconds, "how long to publish")->capture_default_str();
  app.add_option("--procs", procs, "publisher processes (each holds 3 fds per charger; 20,000 fds per process)")->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  TempDir dir("ingest-bench");
  // The broker logs as in production (examples/mosquitto/mosquitto.conf), not every packet as tests do.
  Stack stack(dir, {}, {"error", "warning", "notice", "information"});
  std::printf("stack up: broker :%d (pid %d), core pid %d\n", stack.broker().port(), stack.broker().pid(),
              stack.core_pid());
  auto rider = stack.api("POST", "/riders", json::object{{"name", "bench"}}).obj().at("id").as_int64();
  stack.api("POST", "/riders/" + std::to_string(rider) + "/topups", json::object{{"amount_fen", 10'000'000}});

  std::vector<Charger> chargers(n);
  auto t_setup = Clock::now();
  for (int i = 0; i < n; ++i) {
    auto& c = chargers[i];
    c.id = std::to_string(861000000000000LL + i);
    auto d = stack.api("POST", "/devices", json::object{{"id", c.id}, {"ports", 20}, {"model", 5}});
    c.password = std::string(d.obj().at("mqtt_password").as_string());
    c.session = i + 1;   // the sessions below are opened in this order
  }
  // The plugin picks new devices up from the database within its poll interval.
  std::this_thread::sleep_for(std::chrono::seconds(2));
  std::vector<std::pair<int, int>> pipes;   // (read results, write go)
  std::vector<pid_t> kids;
  for (int p = 0; p < procs; ++p) {
    int up[2], go[2];
    if (::pipe(up) || ::pipe(go)) return 1;
    std::vector<Charger> slice(chargers.begin() + n * p / procs, chargers.begin() + n * (p + 1) / procs);
    pid_t pid = ::fork();
    if (pid == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGTERM);   // never outlive the bench
      ::_exit(publisher(stack.broker().port(), slice, rate / procs, seconds, up[1], go[0]));
    }
    kids.push_back(pid);
    pipes.emplace_back(up[0], go[1]);
  }
  uint64_t connected = 0;
  for (auto& [r, w] : pipes) {
    uint64_t k = 0;
    if (::read(r, &k, sizeof k) == sizeof k) connected += k;
  }
  std::printf("%llu of %d chargers connected and online in %.1f s\n", (unsigned long long)connected, n,
              std::chrono::duration<double>(Clock::now() - t_setup).count());
  for (auto& c : chargers) {
    ApiReply s;
    // A device's online status may still be on its way to the core: retry a refused start a few times.
    for (int attempt = 0; attempt < 50; ++attempt) {
      s = stack.api("POST", "/sessions", json::object{{"device_id", c.id}, {"port", 1}, {"rider_id", rider}, {"amount_fen", 500}});
      if (s.status != 409) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    if (s.status != 201 || s.obj().at("id").as_int64() != c.session) {
      std::fprintf(stderr, "session for %s: %d\n", c.id.c_str(), s.status);
      return 1;
    }
  }
  std::printf("setup done in %.1f s\n", std::chrono::duration<double>(Clock::now() - t_setup).count());

  uint64_t before = core_messages(stack);
  Cpu cpu0 = cpu_of(stack.core_pid()), broker0 = cpu_of(stack.broker().pid());
  auto start = Clock::now();
  for (auto& [r, w] : pipes)
    if (::write(w, "g", 1) != 1) return 1;
  // Sample the core's progress while the publishers run: the lag (offered so far minus applied) must
  // stay bounded, not grow with time.
  uint64_t sent = 0;
  std::vector<pollfd> results;
  for (auto& [r, w] : pipes) results.push_back(pollfd{r, POLLIN, 0});
  size_t reported = 0;
  int64_t max_lag = 0;
  uint64_t max_wal = 0;   // the SQLite WAL must stay bounded (checkpoints keep up)
  std::string lags;
  for (int tick = 1; reported < results.size(); ++tick) {
    ::poll(results.data(), results.size(), 1000);
    for (auto& p : results) {
      if (p.fd < 0 || !(p.revents & (POLLIN | POLLHUP))) continue;
      uint64_t k = 0;
      if (::read(p.fd, &k, sizeof k) == sizeof k) sent += k;
      p.fd = -1;
      ++reported;
    }
    if (reported < results.size()) {
      double t = std::chrono::duration<double>(Clock::now() - start).count();
      int64_t lag = int64_t(rate * std::min<double>(t, seconds)) - int64_t(core_messages(stack) - before);
      max_lag = std::max(max_lag, lag);
      if (tick % 5 == 0) lags += " " + std::to_string(int(t)) + "s:" + std::to_string(std::max<int64_t>(lag, 0));
      std::error_code ec;
      auto wal = fs::file_size(fs::path(stack.db().string() + "-wal"), ec);
      if (!ec) max_wal = std::max<uint64_t>(max_wal, wal);
    }
  }
  double pub_secs = std::chrono::duration<double>(Clock::now() - start).count();
  uint64_t at_stop = core_messages(stack) - before;
  auto drain_start = Clock::now();
  uint64_t done = at_stop;
  while (done < sent && Clock::now() - drain_start < std::chrono::seconds(60)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    done = core_messages(stack) - before;
  }
  double drain = std::chrono::duration<double>(Clock::now() - drain_start).count();
  double total = std::chrono::duration<double>(Clock::now() - start).count();
  Cpu cpu1 = cpu_of(stack.core_pid()), broker1 = cpu_of(stack.broker().pid());
  double gen_cpu = 0;
  for (pid_t k : kids) {
    rusage ru{};
    ::wait4(k, nullptr, 0, &ru);
    gen_cpu += ru.ru_utime.tv_sec + ru.ru_stime.tv_sec + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
  }
  std::printf("published %llu messages in %.1f s (%.0f msg/s offered)\n", (unsigned long long)sent, pub_secs, sent / pub_secs);
  std::printf("core applied %llu while they were published (%.0f msg/s); all %llu applied %.1f s after the last was sent\n",
              (unsigned long long)at_stop, at_stop / pub_secs, (unsigned long long)done, drain);
  std::printf("lag (offered minus applied) while publishing, every 5 s:%s; largest %lld\n", lags.c_str(),
              (long long)max_lag);
  std::printf("core: %.0f msg/s overall, CPU %.1f s (%.0f %% of one core), RSS %ld MiB; lost %lld\n", done / total,
              cpu1.seconds - cpu0.seconds, 100.0 * (cpu1.seconds - cpu0.seconds) / total, cpu1.rss_kb / 1024,
              (long long)sent - (long long)done);
  std::printf("SQLite WAL at most %.1f MiB while publishing\n", max_wal / 1048576.0);
  std::printf("broker: CPU %.1f s (%.0f %% of one core), RSS %ld MiB; load generator: CPU %.1f s in all (incl. connecting)\n",
              broker1.seconds - broker0.seconds, 100.0 * (broker1.seconds - broker0.seconds) / total,
              broker1.rss_kb / 1024, gen_cpu);
  return 0;
}
