// bridge_bench: 10,000 simulated chargers on one chargehub-bridge, heartbeat and meter (30 % of ports
// charging) every 60 s compressed by --time-scale, while a core-side client sends START commands and
// measures the round trip (down/cmd -> frame -> charger's response -> up/reply).
//
//   build-bridge/bin/bridge_bench --chargers 10000 --workers 2 --time-scale 10 --duration 60
//
// Starts its own mosquitto (anonymous, no plugin) and bridge on free loopback ports; the load client runs
// in this process on one asio thread, connecting from 127.0.0.2-254 to stay clear of port exhaustion.
// Prints frames/s, the bridge's CPU and resident memory per charger, and START p50/p99.
#include <mosquitto.h>
#include <sys/resource.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <asio.hpp>
#include <atomic>
#include <cstdio>
#include <fstream>
#include <map>
#include <mutex>
#include <random>
#include <sstream>
#include <thread>

#include "chargehub/frame.hpp"
#include "chargehub/messages.hpp"
#include "testsupport.hpp"

using namespace chargehub::proto;
using namespace chargehub::testing;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

struct Stats {
  std::atomic<uint64_t> logged_in{0}, login_failed{0}, frames_sent{0}, frames_recv{0}, starts_answered{0}, closed{0};
};

class SimCharger : public std::enable_shared_from_this<SimCharger> {
 public:
  SimCharger(asio::io_context& io, DeviceId id, Stats& st, double period_s, std::string src)
      : io_(io), sock_(io), timer_(io), id_(id), st_(st), period_ms_(static_cast<int>(period_s * 1000)), src_(std::move(src)) {}

  void start(const asio::ip::tcp::endpoint& ep) {
    asio::error_code ec;
    sock_.open(asio::ip::tcp::v4(), ec);
    sock_.bind(asio::ip::tcp::endpoint(asio::ip::make_address(src_), 0), ec);
    sock_.async_connect(ep, [self = shared_from_this()](const asio::error_code& e) {
      if (e) {
        ++self->st_.login_failed;
        return;
      }
      self->sock_.set_option(asio::ip::tcp::no_delay(true));
      Login l;
      l.model = 1;
      l.ports = 10;
      l.fw = Version{1, 0, 0};
      l.iccid = "89860000000000000001";
      l.csq = 20;
      l.auth = std::vector<uint8_t>(16, 0x42);
      self->send(Cmd::Login, l.encode());
      self->read();
    });
  }

 private:
  void send(Cmd cmd, std::vector<uint8_t> body, bool resp = false, uint16_t seq = 0) {
    Frame f{id_, resp ? seq : seq_++, cmd, static_cast<uint8_t>(resp ? kFlagResp : 0), std::move(body)};
    auto w = std::make_shared<std::vector<uint8_t>>(encode_frame(f));
    ++st_.frames_sent;
    asio::async_write(sock_, asio::buffer(*w), [w, self = shared_from_this()](const asio::error_code&, size_t) {});
  }
  void read() {
    sock_.async_read_some(asio::buffer(buf_), [self = shared_from_this()](const asio::error_code& e, size_t n) {
      if (e) {
        ++self->st_.closed;
        return;
      }
      self->dec_.feed(std::span(self->buf_.data(), n));
      while (auto f = self->dec_.next()) self->on_frame(*f);
      self->read();
    });
  }
  void on_frame(const Frame& f) {
    ++st_.frames_recv;
    if (f.cmd == Cmd::Login && f.is_response()) {
      auto r = LoginResp::decode(f.body);
      if (r && r->result == LoginResult::Ok) {
        ++st_.logged_in;
        static std::mt19937 rng(1);
        schedule(std::uniform_int_distribution<int>(0, period_ms_)(rng));
      } else {
        ++st_.login_failed;
      }
    } else if ((f.cmd == Cmd::Start || f.cmd == Cmd::Stop) && !f.is_response()) {
      send(f.cmd, Result{0}.encode(), true, f.seq);
      ++st_.starts_answered;
    }
  }
  void schedule(int ms) {
    timer_.expires_after(std::chrono::milliseconds(ms));
    timer_.async_wait([self = shared_from_this()](const asio::error_code& e) {
      if (e) return;
      self->send(Cmd::Heartbeat, Heartbeat{20, 285, 2205, 540, {1, 1, 1, 0, 0, 0, 0, 0, 0, 0}}.encode());
      Meter m;
      for (uint8_t p = 1; p <= 3; ++p) m.ports.push_back(MeterPort{p, 1000u + p, 180, 120, 3600, 540, 3300});
      self->send(Cmd::Meter, m.encode());
      self->schedule(self->period_ms_);
    });
  }

  asio::io_context& io_;
  asio::ip::tcp::socket sock_;
  asio::steady_timer timer_;
  DeviceId id_;
  Stats& st_;
  int period_ms_;
  std::string src_;
  uint16_t seq_ = 1;
  FrameDecoder dec_{2048};
  std::array<uint8_t, 512> buf_{};
};

// Core side: START commands and their replies.
struct Core {
  mosquitto* m;
  std::mutex mu;
  std::map<std::string, Clock::time_point> sent;
  std::vector<double> rtt_ms;
  std::atomic<uint64_t> up_msgs{0}, replies{0}, errors{0};
};

void on_msg(mosquitto*, void* ud, const mosquitto_message* msg) {
  auto* c = static_cast<Core*>(ud);
  ++c->up_msgs;
  std::string_view t(msg->topic);
  if (t.size() < 9 || t.substr(t.size() - 9) != "/up/reply") return;
  std::string p(static_cast<const char*>(msg->payload), static_cast<size_t>(msg->payloadlen));
  auto a = p.find("\"id\":\"");
  if (a == std::string::npos) return;
  auto b = p.find('"', a + 6);
  std::string id = p.substr(a + 6, b - a - 6);
  ++c->replies;
  if (p.find("error") != std::string::npos) ++c->errors;
  std::lock_guard lk(c->mu);
  auto it = c->sent.find(id);
  if (it == c->sent.end()) return;
  c->rtt_ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - it->second).count());
  c->sent.erase(it);
}

struct ProcUsage {
  double cpu_s = 0;
  long rss_kb = 0;
};
ProcUsage usage(int pid) {
  ProcUsage u;
  std::ifstream st("/proc/" + std::to_string(pid) + "/stat");
  std::string s((std::istreambuf_iterator<char>(st)), {});
  auto r = s.rfind(')');
  if (r == std::string::npos) return u;
  std::istringstream in(s.substr(r + 2));
  std::string f;
  std::vector<std::string> v;
  while (in >> f) v.push_back(f);
  if (v.size() > 13) u.cpu_s = (std::stod(v[11]) + std::stod(v[12])) / static_cast<double>(sysconf(_SC_CLK_TCK));
  std::ifstream sf("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(sf, line))
    if (line.rfind("VmRSS:", 0) == 0) u.rss_kb = std::stol(line.substr(6));
  return u;
}
std::vector<int> children(int pid) {
  std::vector<int> out;
  std::ifstream f("/proc/" + std::to_string(pid) + "/task/" + std::to_string(pid) + "/children");
  int c;
  while (f >> c) out.push_back(c);
  return out;
}
ProcUsage tree_usage(int pid) {
  ProcUsage u = usage(pid);
  for (int c : children(pid)) {
    auto cu = usage(c);
    u.cpu_s += cu.cpu_s;
    u.rss_kb += cu.rss_kb;
  }
  return u;
}

double pct(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())))];
}

}  // namespace

int main(int argc, char** argv) {
  int chargers = 10000, workers = 2, duration = 60, start_rate = 50, ramp = 2000;
  double time_scale = 10;
  bool nodelay = true;
  CLI::App app{"bridge_bench"};
  app.add_option("--chargers", chargers)->capture_default_str();
  app.add_option("--workers", workers)->capture_default_str();
  app.add_option("--time-scale", time_scale, "60 s intervals divided by this")->capture_default_str();
  app.add_option("--duration", duration, "Measured seconds after all logged in")->capture_default_str();
  app.add_option("--start-rate", start_rate, "START commands per second from the core side")->capture_default_str();
  app.add_option("--ramp", ramp, "New charger connections per second")->capture_default_str();
  app.add_option("--broker-nodelay", nodelay, "set_tcp_nodelay in the broker's config")->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  signal(SIGPIPE, SIG_IGN);

  TempDir dir("bridge-bench");
  int mport = free_port(), bport = free_port();
  write_file(dir / "mosquitto.conf", "listener " + std::to_string(mport) +
                                         " 127.0.0.1\nallow_anonymous true\npersistence false\nmax_queued_messages 100000\n"
                                         "log_dest stderr\nlog_type error\n" + (nodelay ? "set_tcp_nodelay true\n" : ""));
  Process broker({"/usr/sbin/mosquitto", "-c", (dir / "mosquitto.conf").string()}, dir / "mosquitto.log");
  if (!wait_for_port(mport)) return 1;
  Process bridge({bin("chargehub-bridge").string(), "--listen", "127.0.0.1:" + std::to_string(bport), "--broker",
                  "tcp://127.0.0.1:" + std::to_string(mport), "--workers", std::to_string(workers), "--queue-dir",
                  (dir / "q").string(), "--heartbeat-s", "60", "--max-chargers", "10000", "--log-level", "warn"},
                 dir / "bridge.log");
  if (!wait_for_port(bport)) return 1;
  std::this_thread::sleep_for(500ms);
  auto base = tree_usage(bridge.pid());

  mosquitto_lib_init();
  Core core;
  core.m = mosquitto_new("core-bench", true, &core);
  mosquitto_message_callback_set(core.m, on_msg);
  mosquitto_int_option(core.m, MOSQ_OPT_TCP_NODELAY, 1);
  mosquitto_connect(core.m, "127.0.0.1", mport, 60);
  mosquitto_subscribe(core.m, nullptr, "chg/v1/+/up/#", 0);
  mosquitto_subscribe(core.m, nullptr, "chg/v1/+/up/reply", 1);
  mosquitto_loop_start(core.m);

  asio::io_context io(1);
  Stats st;
  asio::ip::tcp::endpoint ep(asio::ip::make_address("127.0.0.1"), static_cast<uint16_t>(bport));
  std::vector<std::shared_ptr<SimCharger>> sims;
  double period = 60.0 / time_scale;
  const DeviceId base_id = 860000000000000ULL;
  for (int i = 0; i < chargers; ++i)
    sims.push_back(std::make_shared<SimCharger>(io, base_id + i, st, period, "127.0.0." + std::to_string(2 + i % 253)));
  asio::steady_timer ramp_timer(io);
  int next = 0;
  std::function<void()> ramp_step = [&] {
    int n = std::max(1, ramp / 100);
    for (int k = 0; k < n && next < chargers; ++k) sims[static_cast<size_t>(next++)]->start(ep);
    if (next < chargers) {
      ramp_timer.expires_after(10ms);
      ramp_timer.async_wait([&](const asio::error_code&) { ramp_step(); });
    }
  };
  ramp_step();
  std::thread io_thread([&] { io.run(); });

  auto t0 = Clock::now();
  while (st.logged_in + st.login_failed < static_cast<uint64_t>(chargers) && Clock::now() - t0 < 120s)
    std::this_thread::sleep_for(100ms);
  double login_s = std::chrono::duration<double>(Clock::now() - t0).count();
  std::printf("logged in: %llu of %d in %.1f s (failed %llu)\n", (unsigned long long)st.logged_in.load(), chargers, login_s,
              (unsigned long long)st.login_failed.load());
  std::this_thread::sleep_for(std::chrono::milliseconds(static_cast<int>(period * 1000)));   // reach steady state

  auto u0 = tree_usage(bridge.pid());
  uint64_t f0 = st.frames_sent, r0 = st.frames_recv, m0 = core.up_msgs;
  auto m_start = Clock::now();
  std::mt19937 rng(3);
  int cmd_no = 0;
  auto next_cmd = Clock::now();
  while (Clock::now() - m_start < std::chrono::seconds(duration)) {
    next_cmd += std::chrono::microseconds(1000000 / std::max(1, start_rate));
    std::this_thread::sleep_until(next_cmd);
    DeviceId d = base_id + std::uniform_int_distribution<int>(0, chargers - 1)(rng);
    std::string id = "b" + std::to_string(++cmd_no);
    std::string payload = R"({"id":")" + id + R"(","op":"start","args":{"port":5,"session":)" + std::to_string(cmd_no) +
                          R"(,"mode":0,"limit":0,"max_power_w":0}})";
    std::string t = "chg/v1/" + device_id_text(d) + "/down/cmd";
    {
      std::lock_guard lk(core.mu);
      core.sent[id] = Clock::now();
    }
    mosquitto_publish(core.m, nullptr, t.c_str(), static_cast<int>(payload.size()), payload.data(), 1, false);
  }
  double secs = std::chrono::duration<double>(Clock::now() - m_start).count();
  std::this_thread::sleep_for(1s);
  auto u1 = tree_usage(bridge.pid());
  uint64_t f1 = st.frames_sent, r1 = st.frames_recv, m1 = core.up_msgs;
  std::vector<double> rtts;
  {
    std::lock_guard lk(core.mu);
    rtts = core.rtt_ms;
  }
  double cpu = (u1.cpu_s - u0.cpu_s) / (secs + 1.0);
  std::printf("chargers online: %llu, links closed by the bridge: %llu\n", (unsigned long long)st.logged_in.load(),
              (unsigned long long)st.closed.load());
  std::printf("frames to the bridge: %.0f /s, frames from the bridge: %.0f /s, MQTT up messages at the core: %.0f /s\n",
              static_cast<double>(f1 - f0) / secs, static_cast<double>(r1 - r0) / secs, static_cast<double>(m1 - m0) / secs);
  std::printf("bridge CPU: %.1f %% of one core (all processes)\n", cpu * 100);
  std::printf("bridge RSS: %.1f MiB total, %.0f KiB before chargers; %.2f KiB per charger (total / chargers), %.2f KiB "
              "per charger (growth)\n",
              static_cast<double>(u1.rss_kb) / 1024.0, static_cast<double>(base.rss_kb),
              static_cast<double>(u1.rss_kb) / chargers, static_cast<double>(u1.rss_kb - base.rss_kb) / chargers);
  std::printf("START round trip: %zu samples of %d, p50 %.2f ms, p99 %.2f ms, max %.2f ms (errors %llu)\n", rtts.size(),
              cmd_no, pct(rtts, 0.5), pct(rtts, 0.99), pct(rtts, 1.0), (unsigned long long)core.errors.load());
  io.stop();
  io_thread.join();
  mosquitto_loop_stop(core.m, true);
  return 0;
}
