// Several core instances on one PostgreSQL (issue 18, docs/scale-out.md): fleet ingest (heartbeat and
// meter messages through Mosquitto and the plugin into the database) and settlement (stop records
// settled), with 1, 2 and 3 chargehub-core instances in one share group. PostgreSQL is a throwaway
// cluster of the bench's own with PostgreSQL's durable defaults (fsync, synchronous_commit on).
//   build/bin/core_scale_bench --instances 1,2,3 --chargers 500 --rate 3000 --seconds 20 --sessions 2000
#include <mosquitto.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <thread>

#include "cluster.hpp"
#include "db/db.hpp"
#include "pg.hpp"

using namespace chargehub::testing;
namespace json = boost::json;
namespace sql = chargehub::core::sql;
using Clock = std::chrono::steady_clock;

namespace {

struct Charger {
  std::string id, password;
  mosquitto* m = nullptr;
  bool connected = false;
  int64_t session = 0;   // its port 1 session (meter messages)
  uint64_t sent = 0;
};

void put(int fd, const void* p, size_t n) {
  if (::write(fd, p, n) != static_cast<ssize_t>(n)) ::_exit(3);
}
void get(int fd, void* p, size_t n) {
  auto* b = static_cast<char*>(p);
  while (n) {
    ssize_t k = ::read(fd, b, n);
    if (k <= 0) ::_exit(4);
    b += k;
    n -= static_cast<size_t>(k);
  }
}

// The chargers, in one process: connect and go online; then on "go" publish heartbeat and meter at
// `rate` for `seconds`; then publish the stop records the parent sends (QoS 1, each from its charger).
int chargers_process(int port, std::vector<Charger> chargers, int rate, int seconds, int to_parent, int from_parent) {
  mosquitto_lib_init();
  for (size_t i = 0; i < chargers.size(); ++i) {
    auto& c = chargers[i];
    c.m = mosquitto_new(c.id.c_str(), true, &c);
    mosquitto_username_pw_set(c.m, c.id.c_str(), c.password.c_str());
    mosquitto_max_inflight_messages_set(c.m, 0);
    mosquitto_connect_callback_set(c.m, [](mosquitto*, void* ud, int rc) { static_cast<Charger*>(ud)->connected = rc == 0; });
    std::string bind = "127.0.0." + std::to_string(2 + i % 250);
    if (mosquitto_connect_bind(c.m, "127.0.0.1", port, 600, bind.c_str()) != MOSQ_ERR_SUCCESS) return 1;
  }
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
  for (auto deadline = Clock::now() + std::chrono::seconds(60); up < chargers.size() && Clock::now() < deadline;) {
    pump(50);
    up = 0;
    for (auto& c : chargers) up += c.connected;
  }
  for (auto& c : chargers) {
    std::string st = R"({"online":true,"ts":1})";
    mosquitto_publish(c.m, nullptr, ("chg/v1/" + c.id + "/status").c_str(), int(st.size()), st.data(), 1, true);
  }
  for (int i = 0; i < 20; ++i) pump(50);
  uint64_t n = up;
  put(to_parent, &n, sizeof n);

  // Phase 1: ingest. The port 1 sessions' ids come first.
  for (auto& c : chargers) get(from_parent, &c.session, sizeof c.session);
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
                  std::to_string(c.sent / 20) + R"(,"elapsed_s":)" + std::to_string(c.sent * 5) + R"(,"voltage_dv":540,"current_ma":3700}]})";
      }
      mosquitto_publish(c.m, nullptr, topic.c_str(), int(payload.size()), payload.data(), 0, false);
      if (mosquitto_want_write(c.m)) mosquitto_loop_write(c.m, 1);
      ++sent;
    }
    if ((due - start) % std::chrono::seconds(1) < tick) pump(0);
    std::this_thread::sleep_until(due);
  }
  for (int i = 0; i < 50; ++i) pump(20);   // what libmosquitto still holds goes out
  put(to_parent, &sent, sizeof sent);

  // Phase 2: stop records, as fast as the connections take them (QoS 1).
  uint64_t count = 0;
  get(from_parent, &count, sizeof count);
  std::vector<std::pair<uint32_t, int64_t>> ends(count);   // (charger, session); the port is in the session
  std::vector<uint32_t> ports(count);
  for (uint64_t i = 0; i < count; ++i) {
    get(from_parent, &ends[i].first, sizeof ends[i].first);
    get(from_parent, &ports[i], sizeof ports[i]);
    get(from_parent, &ends[i].second, sizeof ends[i].second);
  }
  int64_t started = static_cast<int64_t>(std::time(nullptr)) - 60;
  for (uint64_t i = 0; i < count; ++i) {
    auto& c = chargers[ends[i].first];
    std::string sid = std::to_string(ends[i].second);
    std::string payload = R"({"msg":")" + c.id + "-session_end-" + sid + R"(","port":)" + std::to_string(ports[i]) + R"(,"session":)" + sid +
                          R"(,"reason":1,"started_at":)" + std::to_string(started) + R"(,"duration_s":120,"energy_wh":5,"max_power_w":200})";
    mosquitto_publish(c.m, nullptr, ("chg/v1/" + c.id + "/up/session_end").c_str(), int(payload.size()), payload.data(), 1, false);
    if (mosquitto_want_write(c.m)) mosquitto_loop_write(c.m, 1);
    if (i % 200 == 0) pump(0);
  }
  for (int i = 0; i < 100; ++i) pump(20);
  put(to_parent, &count, sizeof count);
  // Keep the connections (and so the devices online) until the parent is done.
  char bye;
  get(from_parent, &bye, 1);
  for (auto& c : chargers) mosquitto_destroy(c.m);
  mosquitto_lib_cleanup();
  return 0;
}

// Sum of a counter over the running instances' /status (in "counters", or in another object).
uint64_t total(Cluster& c, const char* counter, const char* in = "counters") {
  uint64_t n = 0;
  for (int i = 0; i < c.size(); ++i) {
    auto r = c.api(i, "GET", "/status");
    if (r.status == 200) n += r.obj().at(in).at(counter).to_number<uint64_t>();
  }
  return n;
}

// The whole machine's busy share between two samples of /proc/stat (all but idle and iowait).
struct Stat {
  uint64_t busy = 0, all = 0;
  static Stat now() {
    std::ifstream f("/proc/stat");
    std::string cpu;
    f >> cpu;
    Stat s;
    uint64_t v;
    for (int i = 0; i < 8 && f >> v; ++i) {
      s.all += v;
      if (i != 3 && i != 4) s.busy += v;
    }
    return s;
  }
};
double busy_pct(const Stat& a, const Stat& b) { return b.all > a.all ? 100.0 * double(b.busy - a.busy) / double(b.all - a.all) : 0; }
std::string loadavg() {
  std::ifstream f("/proc/loadavg");
  std::string a;
  f >> a;
  return a;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Ingest and settlement with 1, 2 and 3 core instances on one PostgreSQL"};
  std::vector<int> instances{1, 2, 3};
  int n = 500, rate = 3000, seconds = 20, sessions = 2000;
  app.add_option("--instances", instances, "instance counts to measure, in turn")->delimiter(',')->capture_default_str();
  app.add_option("--chargers", n, "simulated chargers (twenty-port, one MQTT connection each)")->capture_default_str();
  app.add_option("--rate", rate, "ingest: messages per second offered (half heartbeat, half meter)")->capture_default_str();
  app.add_option("--seconds", seconds, "ingest: how long to publish")->capture_default_str();
  app.add_option("--sessions", sessions, "settlement: stop records (at most 19 per charger)")->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  sessions = std::min(sessions, n * 19);
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  std::signal(SIGPIPE, SIG_IGN);

  PgCluster pg(PgCluster::Mode::Durable);
  std::printf("machine: %u CPUs (nproc), PostgreSQL 15 durable (fsync, synchronous_commit on)\n", std::thread::hardware_concurrency());
  std::printf("| instances | ingest offered | applied while published | all applied after | machine busy | settlement | machine busy | bursts split |\n");
  std::printf("|---|---|---|---|---|---|---|---|\n");
  for (int k : instances) {
    TempDir dir("scale-bench");
    Cluster c(dir, k, {"--charger-time-scale", "1000"}, {"error", "warning", "notice"}, pg.fresh_database_url());
    // Riders as a fleet has them: many wallets (one wallet for every session would make its row the
    // one every settlement of every instance waits for).
    std::vector<int64_t> riders;
    for (int r = 0; r < 200; ++r) {
      riders.push_back(c.api(r % k, "POST", "/riders", json::object{{"name", "bench " + std::to_string(r)}}).obj().at("id").to_number<int64_t>());
      c.api(r % k, "POST", "/riders/" + std::to_string(riders.back()) + "/topups", json::object{{"amount_fen", 1'000'000}});
    }
    std::vector<Charger> chargers(static_cast<size_t>(n));
    for (int i = 0; i < n; ++i) {
      auto& ch = chargers[static_cast<size_t>(i)];
      ch.id = std::to_string(861000000000000LL + i);
      auto d = c.api(i % k, "POST", "/devices", json::object{{"id", ch.id}, {"ports", 20}, {"model", 5}});
      ch.password = std::string(d.obj().at("mqtt_password").as_string());
    }
    int up[2], go[2];
    if (::pipe(up) || ::pipe(go)) return 1;
    pid_t kid = ::fork();
    if (kid == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGTERM);
      ::_exit(chargers_process(c.broker().port(), chargers, rate, seconds, up[1], go[0]));
    }
    uint64_t online = 0;
    get(up[0], &online, sizeof online);
    // Sessions: port 1 of each charger for the meter messages, then the ones to settle on ports 2..20.
    auto open = [&](int i, int port) -> int64_t {
      for (int attempt = 0; attempt < 100; ++attempt) {
        auto s = c.api(attempt % k, "POST", "/sessions",
                       json::object{{"device_id", chargers[static_cast<size_t>(i)].id}, {"port", port},
                                    {"rider_id", riders[static_cast<size_t>(i * 20 + port) % riders.size()]}, {"amount_fen", 300}});
        if (s.status == 201) return s.obj().at("id").to_number<int64_t>();
        if (attempt == 99) std::fprintf(stderr, "session on %s port %d: %d %s\n", chargers[static_cast<size_t>(i)].id.c_str(), port, s.status,
                                        json::serialize(s.body).c_str());
        std::this_thread::sleep_for(std::chrono::milliseconds(50));   // its online status may be on the way
      }
      return -1;
    };
    for (int i = 0; i < n; ++i) chargers[static_cast<size_t>(i)].session = open(i, 1);
    for (auto& ch : chargers) put(go[1], &ch.session, sizeof ch.session);

    // Ingest.
    uint64_t m0 = total(c, "messages");
    auto s0 = Stat::now();
    auto t0 = Clock::now();
    uint64_t sent = 0;
    get(up[0], &sent, sizeof sent);
    double pub_s = std::chrono::duration<double>(Clock::now() - t0).count();
    uint64_t applied_during = total(c, "messages") - m0;
    auto s1 = Stat::now();
    // Until everything offered is applied, or nothing more arrives for 2 s (QoS 0 may be lost).
    double after = 0;
    uint64_t applied = 0;
    for (auto t = Clock::now(), last_change = Clock::now(); Clock::now() - last_change < std::chrono::seconds(2);) {
      uint64_t a = total(c, "messages") - m0;
      if (a != applied) {
        applied = a;
        last_change = Clock::now();
        after = std::chrono::duration<double>(last_change - t).count();
      }
      if (applied >= sent) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }

    // Settlement: open the sessions (not measured), then the stop records.
    std::vector<std::tuple<uint32_t, uint32_t, int64_t>> ends;
    for (int j = 0; j < sessions; ++j) {
      int i = j % n, port = 2 + j / n;
      ends.emplace_back(static_cast<uint32_t>(i), static_cast<uint32_t>(port), open(i, port));
    }
    uint64_t settled0 = total(c, "sessions_settled");
    uint64_t count = ends.size();
    put(go[1], &count, sizeof count);
    auto s2 = Stat::now();
    auto t2 = Clock::now();
    for (auto& [i, port, sid] : ends) {
      put(go[1], &i, sizeof i);
      put(go[1], &port, sizeof port);
      put(go[1], &sid, sizeof sid);
    }
    double settle_s = -1;
    for (; Clock::now() - t2 < std::chrono::seconds(300);) {
      if (total(c, "sessions_settled") - settled0 >= count) {
        settle_s = std::chrono::duration<double>(Clock::now() - t2).count();
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    auto s3 = Stat::now();
    uint64_t done = 0;
    get(up[0], &done, sizeof done);
    // The money still adds up, and each stop record was settled once.
    auto db = sql::open(c.db_url());
    auto one = [&](const std::string& q) {
      auto st = db->prepare(q);
      return st.step() ? st.i64(0) : -1;
    };
    int64_t twice = one("SELECT count(*) FROM (SELECT session_id FROM ledger WHERE kind = 'charge' GROUP BY session_id HAVING count(*) > 1) x");
    int64_t off = one("SELECT count(*) FROM wallet w WHERE balance_fen <> (SELECT coalesce(sum(amount_fen), 0) FROM ledger l WHERE l.rider_id = w.rider_id)");
    uint64_t split = total(c, "bursts_split", "instance"), shed = total(c, "shed", "mqtt_queue");
    size_t drops = 0;   // Mosquitto's notices that it dropped messages for a slow subscriber
    std::string blog = c.broker().log_text();
    for (size_t at = blog.find("Outgoing messages are being dropped"); at != std::string::npos;
         at = blog.find("Outgoing messages are being dropped", at + 1))
      ++drops;
    char cells[512];
    std::snprintf(cells, sizeof cells, "| %d | %d chargers, %.0f msg/s | %.0f msg/s (%.1f %%) | %s | %.0f %% | %llu in %.1f s: **%.0f sessions/s** | %.0f %% | %s |",
                  k, n, double(sent) / pub_s, double(applied_during) / pub_s, 100.0 * double(applied_during) / double(sent),
                  (applied >= sent ? "all, " + std::to_string(after).substr(0, 4) + " s"
                                   : std::to_string(sent - std::min(applied, sent)) + " not applied").c_str(),
                  busy_pct(s0, s1), (unsigned long long)count, settle_s, settle_s > 0 ? double(count) / settle_s : 0.0, busy_pct(s2, s3),
                  std::to_string(split).c_str());
    std::printf("%s\n", cells);
    if (twice != 0 || off != 0 || settle_s < 0)
      std::printf("  !! %lld sessions charged twice, %lld wallets off their ledger, settled in time: %s\n", (long long)twice, (long long)off,
                  settle_s < 0 ? "no" : "yes");
    std::printf("  (load average %s; online %llu of %d chargers; shed by the cores %llu; broker drop notices %zu)\n", loadavg().c_str(),
                (unsigned long long)online, n, (unsigned long long)shed, drops);
    char bye = 'x';
    put(go[1], &bye, 1);
    ::waitpid(kid, nullptr, 0);
    ::close(up[0]);
    ::close(up[1]);
    ::close(go[0]);
    ::close(go[1]);
  }
  return 0;
}
