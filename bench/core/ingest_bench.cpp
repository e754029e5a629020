// Fleet ingest into the core: N chargers connect to a real Mosquitto with our plugin (each with its own
// credentials, as mqtt.md requires) and publish heartbeat and meter messages at a total target rate;
// the core (a real process on a real SQLite file) applies them. Prints the rate the core kept up
// with, its lag when the publishers stop, and where the time went while publishing, so that a figure
// can be judged: CPU of the broker, of the core per thread (mqtt-rx: receiving, mqtt-worker: applying,
// the rest), of the load generator, and the machine's user, system, softirq, steal and idle time
// (/proc/stat) with its load average. It says "none lost" only when every message was applied, the
// core shed none and the broker logged no dropping.
//   build/bin/core_ingest_bench --chargers 10000 --rate 20000 --seconds 60
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
#include <map>
#include <sstream>
#include <thread>

#include "pg.hpp"
#include "stack.hpp"

using namespace chargehub::testing;
namespace json = boost::json;
using Clock = std::chrono::steady_clock;

namespace {
struct Cpu {
  double seconds = 0;
  long rss_kb = 0;
};
Cpu cpu_of(int pid, const fs::path& dir = {}) {
  Cpu c;
  std::ifstream st(dir.empty() ? "/proc/" + std::to_string(pid) + "/stat" : (dir / "stat").string());
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
  if (!dir.empty()) return c;
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  while (std::getline(status, line))
    if (line.rfind("VmRSS:", 0) == 0) c.rss_kb = std::stol(line.substr(6));
  return c;
}

// Per-thread CPU seconds of a process by thread name (/proc/<pid>/task/*/comm): the core names its
// MQTT threads mqtt-rx and mqtt-worker; the rest (main, HTTP) is "other".
std::map<std::string, double> threads_of(int pid) {
  std::map<std::string, double> out;
  std::error_code ec;
  for (auto& t : fs::directory_iterator("/proc/" + std::to_string(pid) + "/task", ec)) {
    std::ifstream comm(t.path() / "comm");
    std::string name;
    std::getline(comm, name);
    if (name.rfind("mqtt-", 0) != 0) name = "other";
    out[name] += cpu_of(pid, t.path()).seconds;
  }
  return out;
}

// The machine's CPU time by kind (/proc/stat, first line), in clock ticks.
struct Machine {
  std::vector<uint64_t> t;   // user nice system idle iowait irq softirq steal
  static Machine now() {
    Machine m;
    std::ifstream st("/proc/stat");
    std::string cpu;
    st >> cpu;
    uint64_t v;
    for (int i = 0; i < 8 && st >> v; ++i) m.t.push_back(v);
    m.t.resize(8);
    return m;
  }
};
std::string machine_share(const Machine& a, const Machine& b) {
  static const char* names[] = {"user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal"};
  uint64_t total = 0;
  for (int i = 0; i < 8; ++i) total += b.t[i] - a.t[i];
  std::string s;
  char buf[64];
  for (int i : {0, 1, 2, 6, 7, 4, 3}) {
    std::snprintf(buf, sizeof buf, "%s%s %.0f %%", s.empty() ? "" : ", ", names[i],
                  total ? 100.0 * double(b.t[i] - a.t[i]) / double(total) : 0.0);
    s += buf;
  }
  return s;
}
std::string loadavg() {
  std::ifstream f("/proc/loadavg");
  std::string a, b, c;
  f >> a >> b >> c;
  return a + " " + b + " " + c;
}

uint64_t core_messages(Stack& s) {
  auto r = s.api("GET", "/status");
  return r.status == 200 ? r.obj().at("counters").at("messages").to_number<uint64_t>() : 0;
}
uint64_t core_shed(Stack& s) {
  auto r = s.api("GET", "/status");
  return r.status == 200 ? r.obj().at("mqtt_queue").at("shed").to_number<uint64_t>() : 0;
}
// Mosquitto 2.0.11 counts the messages it drops for a subscriber whose queue is full in
// $SYS/broker/publish/messages/dropped, but our plugin lets no account read $SYS. It also logs
// "Outgoing messages are being dropped for client <id>." (notice) where it counts them, each time a
// client starts dropping: the bench counts those lines.
size_t broker_drop_notices(Stack& s) {
  std::string log = s.broker().log_text();
  size_t n = 0;
  for (size_t at = log.find("Outgoing messages are being dropped"); at != std::string::npos;
       at = log.find("Outgoing messages are being dropped", at + 1))
    ++n;
  return n;
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
  std::string database = "sqlite";
  app.add_option("--db", database, "the core's database: sqlite (a file) or postgresql (a throwaway PostgreSQL 15, fsync on)")
      ->check(CLI::IsMember({"sqlite", "postgresql"}))
      ->capture_default_str();
  app.add_option("--procs", procs, "publisher processes (each holds 3 fds per charger; 20,000 fds per process)")->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  TempDir dir("ingest-bench");
  // The broker logs as in production (examples/mosquitto/mosquitto.conf), not every packet as tests do.
  // PostgreSQL as in production: a cluster of the bench's own with fsync and synchronous_commit on.
  std::unique_ptr<PgCluster> pg;
  if (database == "postgresql") {
    pg = std::make_unique<PgCluster>(PgCluster::Mode::Durable);
    ::setenv("CHARGEHUB_TEST_PG", pg->conninfo().c_str(), 1);
  }
  Stack stack(dir, {}, {"error", "warning", "notice", "information"},
              database == "sqlite" ? Database::Sqlite : Database::Postgres);
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
  uint64_t shed0 = core_shed(stack);
  size_t drops0 = broker_drop_notices(stack);
  std::string load0 = loadavg();
  Cpu cpu0 = cpu_of(stack.core_pid()), broker0 = cpu_of(stack.broker().pid());
  auto threads0 = threads_of(stack.core_pid());
  double gen0 = 0;
  for (pid_t k : kids) gen0 += cpu_of(k).seconds;
  Machine m0 = Machine::now();
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
  // Where the time went while publishing.
  Machine m1 = Machine::now();
  auto threads1 = threads_of(stack.core_pid());
  Cpu broker_pub = cpu_of(stack.broker().pid());
  std::string load1 = loadavg();
  auto drain_start = Clock::now();
  // Until every message is applied or shed, or nothing has moved for 5 s (the broker may have dropped
  // some), at most 60 s.
  uint64_t done = at_stop;
  auto last_progress = Clock::now(), last_done_at = Clock::now();
  while (done + (core_shed(stack) - shed0) < sent && Clock::now() - drain_start < std::chrono::seconds(60) &&
         Clock::now() - last_progress < std::chrono::seconds(5)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    uint64_t now_done = core_messages(stack) - before;
    if (now_done != done) last_progress = last_done_at = Clock::now();
    done = now_done;
  }
  double drain = std::chrono::duration<double>((done > at_stop ? last_done_at : drain_start) - drain_start).count();
  double total = std::chrono::duration<double>(Clock::now() - start).count();
  Cpu cpu1 = cpu_of(stack.core_pid()), broker1 = cpu_of(stack.broker().pid());
  double gen_cpu = 0;
  for (pid_t k : kids) {
    rusage ru{};
    ::wait4(k, nullptr, 0, &ru);
    gen_cpu += ru.ru_utime.tv_sec + ru.ru_stime.tv_sec + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
  }
  uint64_t shed = core_shed(stack) - shed0;
  size_t drops = broker_drop_notices(stack) - drops0;
  int64_t lost = int64_t(sent) - int64_t(done);
  std::printf("published %llu messages in %.1f s (%.0f msg/s offered of %d asked)\n", (unsigned long long)sent, pub_secs,
              sent / pub_secs, rate);
  std::printf("core applied %llu while they were published (%.0f msg/s, %.1f %% of those published); %llu in all, the last %.1f s after the last was sent\n",
              (unsigned long long)at_stop, at_stop / pub_secs, sent ? 100.0 * double(at_stop) / double(sent) : 0.0,
              (unsigned long long)done, drain);
  std::printf("lag (offered minus applied) while publishing, every 5 s:%s; largest %lld\n", lags.c_str(),
              (long long)max_lag);
  std::printf("core: %.0f msg/s overall, CPU %.1f s (%.0f %% of one core), RSS %ld MiB\n", done / total,
              cpu1.seconds - cpu0.seconds, 100.0 * (cpu1.seconds - cpu0.seconds) / total, cpu1.rss_kb / 1024);
  if (database == "sqlite") std::printf("SQLite WAL at most %.1f MiB while publishing\n", max_wal / 1048576.0);
  std::printf("broker: CPU %.1f s (%.0f %% of one core), RSS %ld MiB\n", broker1.seconds - broker0.seconds,
              100.0 * (broker1.seconds - broker0.seconds) / total, broker1.rss_kb / 1024);
  // CPU while publishing, in % of one core (the machine's cores are shared by all): where the time went.
  std::string per_thread;
  for (auto& [name, secs] : threads1) {
    double d = secs - (threads0.count(name) ? threads0[name] : 0.0);
    char buf[96];
    std::snprintf(buf, sizeof buf, "%s%s %.0f %% (%.1f us/msg)", per_thread.empty() ? "" : ", ", name.c_str(),
                  100.0 * d / pub_secs, sent ? 1e6 * d / double(sent) : 0.0);
    per_thread += buf;
  }
  std::printf("while publishing, %% of one core: core threads %s; broker %.0f %%; load generator %.0f %%\n",
              per_thread.c_str(), 100.0 * (broker_pub.seconds - broker0.seconds) / pub_secs,
              100.0 * (gen_cpu - gen0) / pub_secs);
  std::printf("machine while publishing (%ld cores): %s; load average %s before, %s at the end\n",
              sysconf(_SC_NPROCESSORS_ONLN), machine_share(m0, m1).c_str(), load0.c_str(), load1.c_str());
  std::printf("losses: %lld not applied; core shed %llu QoS 0 messages; broker logged dropping %zu times\n",
              (long long)lost, (unsigned long long)shed, drops);
  if (lost == 0 && shed == 0 && drops == 0) std::printf("none lost\n");
  else std::printf("LOST: %lld of %llu (%.2f %%)\n", (long long)std::max<int64_t>(lost, 0), (unsigned long long)sent,
                   sent ? 100.0 * double(std::max<int64_t>(lost, 0)) / double(sent) : 0.0);
  bool met = sent && double(at_stop) >= 0.95 * double(sent) && double(std::max<int64_t>(lost, 0)) < 0.01 * double(sent) &&
             double(sent) >= 0.99 * double(rate) * seconds;
  std::printf("target (>= 95 %% applied while published, < 1 %% lost, the asked rate offered): %s\n", met ? "met" : "NOT met");
  return 0;
}
