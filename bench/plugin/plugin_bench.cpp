// Benchmark: chargehub_auth.so against Mosquitto's built-in password_file + acl_file, on the same
// mosquitto binary, in one run. Prints:
//   - connect rate of N distinct chargers (MQTT 3.1.1 CONNECT with the charger's token; source
//     addresses 127.0.0.2-127.0.0.254, 256 connects in flight), and broker CPU per connect;
//   - message rate of M chargers publishing meter data (QoS 0) to one core subscriber on
//     chg/v1/+/up/# (the ACL is checked on every publish and every delivery), and broker CPU per message.
//
//   plugin_bench [--chargers 10000] [--publishers 1000] [--messages 100]
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "auth.hpp"
#include "cache.hpp"
#include "chargehub/encoding.hpp"
#include "crypto.hpp"
#include "services.hpp"

namespace fs = std::filesystem;
using namespace chargehub::auth;
using chargehub::encoding::base64_decode;
using chargehub::encoding::base64_encode;
using chargehub::encoding::to_hex;
using clk = std::chrono::steady_clock;

namespace {

struct Charger {
  std::string id, password;
};

void check(bool ok, const std::string& what) {
  if (!ok) throw std::runtime_error(what);
}

int free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

pid_t spawn(const std::vector<std::string>& argv, const std::string& out) {
  pid_t pid = ::fork();
  if (pid == 0) {
    int fd = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(fd, 1);
    ::dup2(fd, 2);
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  return pid;
}

int run(const std::vector<std::string>& argv, const std::string& out) {
  int st = 0;
  ::waitpid(spawn(argv, out), &st, 0);
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

// Broker CPU time (user + system) in microseconds.
double cpu_us(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string s((std::istreambuf_iterator<char>(in)), {});
  auto p = s.rfind(')');
  std::istringstream rest(s.substr(p + 2));
  std::string f;
  unsigned long utime = 0, stime = 0;
  for (int i = 3; i <= 15; ++i) {
    rest >> f;
    if (i == 14) utime = std::stoul(f);
    if (i == 15) stime = std::stoul(f);
  }
  return (utime + stime) * 1e6 / static_cast<double>(sysconf(_SC_CLK_TCK));
}

std::string mqtt_str(const std::string& s) {
  std::string o;
  o += static_cast<char>(s.size() >> 8);
  o += static_cast<char>(s.size() & 0xff);
  return o + s;
}

std::string packet(char type, const std::string& body) {
  std::string p(1, type);
  std::size_t len = body.size();
  do {
    char b = static_cast<char>(len % 128);
    len /= 128;
    if (len) b |= static_cast<char>(0x80);
    p += b;
  } while (len);
  return p + body;
}

std::string connect_packet(const std::string& id, const std::string& user, const std::string& pw) {
  return packet(0x10, mqtt_str("MQTT") + std::string("\x04\xc2\x00\x3c", 4) + mqtt_str(id) + mqtt_str(user) + mqtt_str(pw));
}

void send_all(int fd, const std::string& data) {
  std::size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::send(fd, data.data() + off, data.size() - off, MSG_NOSIGNAL);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
    check(n > 0, "send failed");
    off += static_cast<std::size_t>(n);
  }
}

struct ConnectResult {
  std::vector<int> fds;
  int ok = 0, refused = 0, failed = 0;
  double seconds = 0;
};

// Connects every charger (256 in flight), keeping the connections open.
ConnectResult connect_all(int port, const std::vector<Charger>& chargers) {
  ConnectResult r;
  int ep = ::epoll_create1(0);
  std::size_t next = 0, done = 0;
  int inflight = 0;
  struct State {
    std::string pkt;
    bool sent = false;
  };
  std::vector<State> st(chargers.size());
  std::vector<int> fds(chargers.size(), -1);
  auto t0 = clk::now();
  while (done < chargers.size()) {
    while (inflight < 256 && next < chargers.size()) {
      std::size_t i = next++;
      int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
      check(fd >= 0, "socket (raise ulimit -n)");
      int one = 1;
      ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      sockaddr_in src{};
      src.sin_family = AF_INET;
      src.sin_addr.s_addr = htonl((127u << 24) | (2 + i % 253));
      check(::bind(fd, reinterpret_cast<sockaddr*>(&src), sizeof src) == 0, "bind source address");
      sockaddr_in a{};
      a.sin_family = AF_INET;
      a.sin_port = htons(static_cast<uint16_t>(port));
      a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
      st[i].pkt = connect_packet(chargers[i].id, chargers[i].id, chargers[i].password);
      fds[i] = fd;
      epoll_event ev{};
      ev.events = EPOLLOUT;
      ev.data.u64 = i;
      ::epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
      ++inflight;
    }
    epoll_event evs[256];
    int n = ::epoll_wait(ep, evs, 256, 5000);
    check(n > 0, "connect phase stalled");
    for (int k = 0; k < n; ++k) {
      std::size_t i = evs[k].data.u64;
      int fd = fds[i];
      if (!st[i].sent) {
        int err = 0;
        socklen_t len = sizeof err;
        ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err || (evs[k].events & (EPOLLERR | EPOLLHUP))) {
          ++r.failed, ++done, --inflight;
          ::epoll_ctl(ep, EPOLL_CTL_DEL, fd, nullptr);
          ::close(fd);
          fds[i] = -1;
          continue;
        }
        send_all(fd, st[i].pkt);
        st[i].sent = true;
        epoll_event ev{};
        ev.events = EPOLLIN;
        ev.data.u64 = i;
        ::epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ev);
        continue;
      }
      unsigned char ack[4];
      ssize_t got = ::recv(fd, ack, 4, MSG_WAITALL);
      ::epoll_ctl(ep, EPOLL_CTL_DEL, fd, nullptr);
      ++done, --inflight;
      if (got == 4 && ack[0] == 0x20 && ack[3] == 0) {
        ++r.ok;
      } else {
        ++(got == 4 ? r.refused : r.failed);
        ::close(fd);
        fds[i] = -1;
      }
    }
  }
  r.seconds = std::chrono::duration<double>(clk::now() - t0).count();
  ::close(ep);
  for (int fd : fds)
    if (fd >= 0) r.fds.push_back(fd);
  return r;
}

struct Broker {
  pid_t pid = -1;
  int port = 0;
  ~Broker() {
    if (pid > 0) {
      ::kill(pid, SIGTERM);
      ::waitpid(pid, nullptr, 0);
    }
  }
};

void wait_port(int port) {
  for (int i = 0; i < 500; ++i) {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    ::close(fd);
    if (ok) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  throw std::runtime_error("broker did not start");
}

struct Figures {
  double connect_rate = 0, connect_cpu_us = 0, msg_rate = 0, msg_cpu_us = 0;
  int connect_ok = 0, connect_refused = 0;
  long delivered = 0, sent = 0;
};

Figures measure(const std::string& name, const std::string& conf, const fs::path& dir,
                const std::vector<Charger>& chargers, int publishers, int messages, const std::string& core_pw) {
  Figures f;
  Broker b;
  b.port = free_port();
  fs::path conf_path = dir / (name + ".conf");
  std::ofstream(conf_path) << conf << "listener " << b.port << " 127.0.0.1\n";
  b.pid = spawn({"/usr/sbin/mosquitto", "-c", conf_path.string()}, (dir / (name + ".out")).string());
  wait_port(b.port);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));

  // 1. Connect rate.
  double c0 = cpu_us(b.pid);
  auto cr = connect_all(b.port, chargers);
  double c1 = cpu_us(b.pid);
  f.connect_ok = cr.ok;
  f.connect_refused = cr.refused + cr.failed;
  f.connect_rate = cr.ok / cr.seconds;
  f.connect_cpu_us = (c1 - c0) / std::max(1, cr.ok);
  for (int fd : cr.fds) ::close(fd);
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));

  // 2. Message rate: `publishers` chargers publish `messages` meter readings each to one core subscriber.
  std::vector<Charger> pubs(chargers.begin(), chargers.begin() + publishers);
  auto pc = connect_all(b.port, pubs);
  check(pc.ok == publishers, name + ": publishers could not connect: ok=" + std::to_string(pc.ok) + " refused=" +
                                 std::to_string(pc.refused) + " failed=" + std::to_string(pc.failed));
  int sub = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(b.port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  check(::connect(sub, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0, "subscriber connect");
  send_all(sub, connect_packet("core-bench", "core", core_pw));
  unsigned char ack[4];
  check(::recv(sub, ack, 4, MSG_WAITALL) == 4 && ack[3] == 0, name + ": core subscriber refused");
  send_all(sub, packet(static_cast<char>(0x82), std::string("\x00\x01", 2) + mqtt_str("chg/v1/+/up/#") + std::string(1, '\0')));
  unsigned char suback[5];
  check(::recv(sub, suback, 5, MSG_WAITALL) == 5 && suback[4] == 0, name + ": subscribe refused");

  const long total = static_cast<long>(publishers) * messages;
  std::atomic<long> received{0};
  std::atomic<bool> stop{false};
  clk::time_point last_rx;
  std::thread reader([&] {
    std::vector<unsigned char> buf(1 << 20);
    std::size_t have = 0;
    timeval tv{0, 200000};
    ::setsockopt(sub, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    while (!stop) {
      ssize_t n = ::recv(sub, buf.data() + have, buf.size() - have, 0);
      if (n <= 0) continue;
      have += static_cast<std::size_t>(n);
      std::size_t off = 0;
      while (true) {
        if (have - off < 2) break;
        std::size_t len = 0, mult = 1, p = off + 1;
        bool complete = false;
        while (p < have) {
          len += (buf[p] & 127) * mult;
          mult *= 128;
          if (!(buf[p++] & 128)) { complete = true; break; }
        }
        if (!complete || have - p < len) break;
        if ((buf[off] & 0xf0) == 0x30) {
          received.fetch_add(1, std::memory_order_relaxed);
          last_rx = clk::now();
        }
        off = p + len;
      }
      std::memmove(buf.data(), buf.data() + off, have - off);
      have -= off;
    }
  });
  std::vector<std::string> pkts;
  for (auto& c : pubs) {
    std::string topic = "chg/v1/" + c.id + "/up/meter";
    std::string payload = R"({"ports":[{"port":3,"session":1001,"power_w":180,"energy_wh":120,"elapsed_s":3600,"voltage_dv":540,"current_ma":3300}]})";
    pkts.push_back(packet(0x30, mqtt_str(topic) + payload));
  }
  for (int fd : pc.fds) {
    int flags = ::fcntl(fd, F_GETFL);
    ::fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
  }
  double m0 = cpu_us(b.pid);
  auto t0 = clk::now();
  for (int m = 0; m < messages; ++m)
    for (std::size_t i = 0; i < pc.fds.size(); ++i) send_all(pc.fds[i], pkts[i]);
  long seen = -1;
  auto idle_since = clk::now();
  while (received < total) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    long now = received;
    if (now != seen) {
      seen = now;
      idle_since = clk::now();
    } else if (clk::now() - idle_since > std::chrono::seconds(3)) {
      break;
    }
  }
  stop = true;
  reader.join();
  double m1 = cpu_us(b.pid);
  f.sent = total;
  f.delivered = received;
  f.msg_rate = received / std::chrono::duration<double>(last_rx - t0).count();
  f.msg_cpu_us = (m1 - m0) / std::max<long>(1, received);
  for (int fd : pc.fds) ::close(fd);
  ::close(sub);
  return f;
}

}  // namespace

int main(int argc, char** argv) {
  int n = 10000, publishers = 1000, messages = 100;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i];
    int v = std::atoi(argv[i + 1]);
    if (k == "--chargers") n = v;
    else if (k == "--publishers") publishers = v;
    else if (k == "--messages") messages = v;
  }
  publishers = std::min(publishers, n);
  ::signal(SIGPIPE, SIG_IGN);
  fs::path dir = fs::temp_directory_path() / ("plugin-bench-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  try {
    std::cout << "preparing " << n << " chargers..." << std::endl;
    std::vector<Charger> chargers;
    for (int i = 0; i < n; ++i) {
      Bytes tok = random_bytes(16);
      chargers.push_back({std::to_string(861000000000000LL + i), "tok:" + base64_encode(tok)});
    }
    std::string core_pw = to_hex(random_bytes(32));
    // Our plugin: the device table as the core's snapshot leaves it (the plugin's auth cache file, read
    // at start) and a services file.
    {
      DeviceTable table;
      table.rev = 1;
      for (auto& c : chargers) {
        DeviceRecord d;
        d.token_hash = sha256(*base64_decode(c.password.substr(4)));
        d.rev = 1;
        table.devices[c.id] = d;
      }
      std::string error;
      check(write_file_atomically((dir / "auth.cache").string(), cache_json(table), error), "auth cache: " + error);
    }
    std::ofstream(dir / "services") << format_service_line(make_service_account("core", Role::core, core_pw)) << "\n";
    // Built-in: password_file (hashed by mosquitto_passwd -U) and acl_file with the same rules.
    {
      std::ofstream pw(dir / "passwd");
      // mosquitto_passwd -U cannot take a ':' in a password: the built-in gets the token's base64 alone.
      for (auto& c : chargers) pw << c.id << ":" << c.password.substr(4) << "\n";
      pw << "core:" << core_pw << "\n";
    }
    check(run({"/usr/bin/mosquitto_passwd", "-U", (dir / "passwd").string()}, (dir / "passwd.out").string()) == 0,
          "mosquitto_passwd -U");
    std::ofstream(dir / "acl") << "pattern write chg/v1/%u/up/#\npattern write chg/v1/%u/status\n"
                                  "pattern read chg/v1/%u/down/#\n"
                                  "user core\ntopic read chg/v1/+/up/#\ntopic read chg/v1/+/status\n"
                                  "topic write chg/v1/+/down/#\n";
    std::string common = "per_listener_settings false\nallow_anonymous false\npersistence false\nuser root\n"
                         "log_dest none\nmax_queued_messages 1000000\nmax_connections -1\n";
    std::string ours = common + "plugin " + std::string(CHARGEHUB_PLUGIN) + "\nplugin_opt_auth_cache_file " +
                       (dir / "auth.cache").string() + "\nplugin_opt_services " + (dir / "services").string() + "\n";
    std::string builtin = common + "password_file " + (dir / "passwd").string() + "\nacl_file " + (dir / "acl").string() + "\n";

    // The token check alone, as the broker thread runs it (check_login over the in-memory table).
    double check_us = 0;
    {
      DeviceTable table;
      for (auto& c : chargers) {
        DeviceRecord d;
        d.token_hash = sha256(*base64_decode(c.password.substr(4)));
        table.devices[c.id] = d;
      }
      ServiceTable services;
      ReplayGuard replay;
      const int rounds = 200000;
      int ok = 0;
      auto t0 = clk::now();
      for (int i = 0; i < rounds; ++i) {
        const Charger& c = chargers[static_cast<std::size_t>(i) % chargers.size()];
        ok += check_login({c.id.c_str(), c.password.c_str(), c.id.c_str()}, table, services, replay, {}, 0).ok();
      }
      check_us = std::chrono::duration<double, std::micro>(clk::now() - t0).count() / rounds;
      check(ok == rounds, "check_login refused a valid token");
    }
    std::cout << "measuring built-in password_file + acl_file..." << std::endl;
    std::vector<Charger> builtin_chargers = chargers;
    for (auto& c : builtin_chargers) c.password = c.password.substr(4);
    Figures fb = measure("builtin", builtin, dir, builtin_chargers, publishers, messages, core_pw);
    std::cout << "measuring chargehub_auth plugin..." << std::endl;
    Figures fp = measure("plugin", ours, dir, chargers, publishers, messages, core_pw);

    std::printf("\n%-34s %16s %16s %8s\n", "", "built-in", "chargehub_auth", "ratio");
    std::printf("%-34s %16.0f %16.0f %7.0f%%\n", ("connects/s (" + std::to_string(n) + " chargers)").c_str(),
                fb.connect_rate, fp.connect_rate, 100 * fp.connect_rate / fb.connect_rate);
    std::printf("%-34s %16d %16d\n", "  accepted", fb.connect_ok, fp.connect_ok);
    std::printf("%-34s %16.1f %16.1f\n", "  broker CPU per connect (us)", fb.connect_cpu_us, fp.connect_cpu_us);
    std::printf("%-34s %16s %16.2f\n", "  token check alone (us)", "-", check_us);
    std::printf("%-34s %16.0f %16.0f %7.0f%%\n",
                ("msgs/s (" + std::to_string(publishers) + " chargers, QoS 0)").c_str(), fb.msg_rate, fp.msg_rate,
                100 * fp.msg_rate / fb.msg_rate);
    std::printf("%-34s %8ld/%-7ld %8ld/%-7ld\n", "  delivered/sent", fb.delivered, fb.sent, fp.delivered, fp.sent);
    std::printf("%-34s %16.2f %16.2f\n", "  broker CPU per message (us)", fb.msg_cpu_us, fp.msg_cpu_us);
  } catch (const std::exception& e) {
    std::cerr << "plugin_bench: " << e.what() << "\n";
    fs::remove_all(dir);
    return 1;
  }
  fs::remove_all(dir);
  return 0;
}
