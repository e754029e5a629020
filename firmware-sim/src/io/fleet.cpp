// Fleet mode: every charger of a scenario on one event loop, riders plugging in, faults on a schedule,
// a progress line while it runs and a summary at the end.
#include "fleet.hpp"

#include "chargehub/log.hpp"

#include <sys/resource.h>

#include <boost/json.hpp>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <map>
#include <random>
#include <sstream>

#include "chargehub/sim/scenario.hpp"
#include "host.hpp"

namespace chargehub::sim {
using namespace chargehub::proto;

CLI::App* add_fleet_command(CLI::App& app, FleetCli& o) {
  auto* f = app.add_subcommand("fleet", "Run a fleet of chargers from a scenario file (JSON; docs/firmware-sim.md)");
  f->add_option("--scenario", o.scenario, "Scenario file")->required()->check(CLI::ExistingFile);
  f->add_option("--bridge", o.bridge, "Override the scenario's transport: TCP to this HOST:PORT");
  f->add_option("--duration", o.duration, "Override the run time, real seconds (0: until SIGINT/SIGTERM)");
  f->add_option("--time-scale", o.time_scale, "Override the time compression");
  f->add_option("--count", o.count, "Override the number of chargers (groups scaled in proportion)");
  f->add_option("--summary-json", o.summary_json, "Also write the summary as JSON to this file");
  f->add_flag("--verbose,-v", o.verbose, "Print every charger's event lines");
  return f;
}

namespace {
struct Member {
  io::Station* station = nullptr;
  io::Link* link = nullptr;
  std::vector<PortPlan> plans;
};

struct Totals {
  uint64_t chargers = 0, online = 0, charging = 0;
  Counters c;
  uint64_t bad_frames = 0, connects = 0, dropped_writes = 0;
};

std::string read_text(const std::string& path) {
  std::ifstream f(path);
  if (!f) throw std::runtime_error("cannot read " + path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

std::string fmt(double v, int prec = 1) {
  char b[64];
  std::snprintf(b, sizeof b, "%.*f", prec, v);
  return b;
}
}  // namespace

int run_fleet(const FleetCli& o) {
  Scenario sc = parse_scenario(read_text(o.scenario));
  if (!o.bridge.empty()) {
    sc.transport = "tcp";
    sc.bridge = o.bridge;
  }
  if (o.duration >= 0) sc.duration_s = o.duration;
  if (o.time_scale > 0) sc.time_scale = o.time_scale;
  if (o.count > 0) {
    int total = sc.total(), left = o.count;
    for (size_t i = 0; i < sc.chargers.size(); ++i) {
      int n = i + 1 == sc.chargers.size() ? left
                                          : static_cast<int>(std::lround(1.0 * sc.chargers[i].count * o.count / total));
      sc.chargers[i].count = std::min(n, left);
      left -= sc.chargers[i].count;
    }
  }
  std::signal(SIGPIPE, SIG_IGN);
  long fds = io::raise_fd_limit();
  if (sc.total() + 64 > fds)
    chargehub::log::warn("fleet.fd_limit", {{"chargers", sc.total()}, {"files_needed", sc.total() + 64}, {"files_limit", fds}});

  std::map<DeviceId, Bytes> token_file;
  if (sc.tokens.kind == TokenSource::File) {
    std::istringstream in(read_text(sc.tokens.file));
    std::string id, hex;
    while (in >> id >> hex)
      if (auto d = parse_device_id(id)) token_file[*d] = from_hex(hex);
  }
  auto colon = sc.bridge.rfind(':');
  if (sc.transport == "tcp" && colon == std::string::npos) throw std::invalid_argument("bridge: expected HOST:PORT");

  io::LogSink log;
  log.print = o.verbose;
  io::Host host(sc.time_scale, sc.tick_ms);
  host.link_start_spacing_us = static_cast<int64_t>(1e6 / sc.connect_rate);
  auto out_faults = parse_fault_rates(sc.faults.frames);
  auto in_faults = parse_fault_rates(sc.faults.frames_in);
  std::mt19937_64 rng(sc.seed);
  std::uniform_real_distribution<double> skew(-sc.faults.clock_skew_s, sc.faults.clock_skew_s);

  std::array<uint64_t, 8> alarms{};
  uint64_t refusals = 0, timeouts = 0, cuts = 0, reboots = 0, power_losses = 0;
  std::vector<Member> members;
  members.reserve(static_cast<size_t>(sc.total()));
  DeviceId next_id = sc.device_base;
  int ports_total = 0;
  for (auto& g : sc.chargers) {
    for (int k = 0; k < g.count; ++k) {
      ChargerConfig cfg;
      cfg.device = next_id++;
      cfg.model = g.model;
      cfg.fw = g.fw;
      cfg.retry_ms = sc.retry_ms;
      cfg.ambient_c = sc.ambient_c;
      cfg.seed = sc.seed * 1000003 + cfg.device;
      if (sc.faults.clock_skew_s > 0) cfg.clock_skew_ms = static_cast<int64_t>(skew(rng) * 1000);
      switch (sc.tokens.kind) {
        case TokenSource::Derive: cfg.token = derive_token(sc.tokens.secret, cfg.device, sc.tokens.bytes); break;
        case TokenSource::Fixed: cfg.token = from_hex(sc.tokens.hex); break;
        case TokenSource::File: {
          auto it = token_file.find(cfg.device);
          if (it == token_file.end())
            throw std::runtime_error("no token for " + device_id_text(cfg.device) + " in " + sc.tokens.file);
          cfg.token = it->second;
          break;
        }
      }
      std::unique_ptr<Journal> j;
      if (!sc.journal_dir.empty()) j = std::make_unique<io::FileJournal>(sc.journal_dir, cfg.device);
      else j = std::make_unique<MemoryJournal>();
      auto& st = host.add_station(std::make_unique<io::Station>(cfg, std::move(j), &log, out_faults, in_faults));
      st.on_event = [&](const Event& e) {
        if (e.kind == Event::Alarm && e.reason >= 1 && e.reason <= 7) ++alarms[static_cast<size_t>(e.reason)];
        else if (e.kind == Event::LoginRefused) ++refusals;
        else if (e.kind == Event::Timeout) ++timeouts;
      };
      std::unique_ptr<io::Link> link;
      if (sc.transport == "tcp") {
        io::TcpOptions t;
        t.host = sc.bridge.substr(0, colon);
        t.port = static_cast<uint16_t>(std::stoi(sc.bridge.substr(colon + 1)));
        if (!sc.local_ips.empty()) t.local_ip = sc.local_ips[members.size() % sc.local_ips.size()];
        link = io::make_tcp_link(host.io(), host.clock(), st, t);
      } else {
        io::MqttOptions m;
        m.uri = sc.mqtt_uri;
        link = io::make_mqtt_link(host.io(), host.clock(), st, m);
      }
      members.push_back(Member{&st, link.get(), {}});
      host.add_link(std::move(link));
      ports_total += st.charger().ports();
    }
  }

  Riders riders(sc.riders, sc.batteries, sc.faults, sc.seed ^ 0x5eed);
  auto totals = [&] {
    Totals t;
    t.chargers = members.size();
    for (auto& m : members) {
      auto& c = m.station->charger();
      auto& k = c.counters();
      t.online += c.logged_in();
      for (int p = 1; p <= c.ports(); ++p) t.charging += c.port(p).state == PortState::Charging;
      t.c.frames_sent += k.frames_sent;
      t.c.frames_received += k.frames_received;
      t.c.retries += k.retries;
      t.c.duplicates += k.duplicates;
      t.c.sessions_started += k.sessions_started;
      t.c.sessions_ended += k.sessions_ended;
      t.c.alarms += k.alarms;
      t.c.logins += k.logins;
      t.c.energy_wh += k.energy_wh;
      for (size_t r = 0; r < k.ended_by_reason.size(); ++r) t.c.ended_by_reason[r] += k.ended_by_reason[r];
      t.bad_frames += m.link->bad_frames;
      t.connects += m.link->connects;
      t.dropped_writes += m.link->dropped_writes;
    }
    return t;
  };

  auto t_start = std::chrono::steady_clock::now();
  int64_t last_rider_real = 0, last_rider_sim = -1, last_progress = 0;
  uint64_t last_frames = 0;
  host.on_tick = [&](const Now& now) {
    if (now.real_ms - last_rider_real >= sc.rider_tick_ms) {
      last_rider_real = now.real_ms;
      if (last_rider_sim < 0) last_rider_sim = now.sim_ms;
      double dt = static_cast<double>(now.sim_ms - last_rider_sim) / 1000.0;
      last_rider_sim = now.sim_ms;
      auto p = [&](double per_hour) { return per_hour > 0 ? 1.0 - std::exp(-per_hour * dt / 3600.0) : 0.0; };
      double p_cut = p(sc.faults.link_cuts_per_hour), p_reboot = p(sc.faults.reboots_per_hour),
             p_loss = p(sc.faults.power_losses_per_hour);
      std::uniform_real_distribution<double> u(0, 1);
      for (auto& m : members) {
        auto& c = m.station->charger();
        riders.tick(c, m.plans, now, dt);
        if (p_cut > 0 && u(rng) < p_cut) { ++cuts; m.link->cut(now, 1000 + static_cast<int64_t>(u(rng) * 4000)); }
        if (p_reboot > 0 && u(rng) < p_reboot) { ++reboots; c.reboot(now); }
        if (p_loss > 0 && u(rng) < p_loss) { ++power_losses; c.power_loss(now); }
      }
    }
    if (now.real_ms - last_progress >= 5000) {
      double secs = static_cast<double>(now.real_ms - last_progress) / 1000.0;
      last_progress = now.real_ms;
      auto t = totals();
      uint64_t frames = t.c.frames_sent + t.c.frames_received;
      chargehub::log::info("fleet.progress", {{"real_s", static_cast<double>(now.real_ms) / 1000.0}, {"sim_h", now.real_ms * sc.time_scale / 3.6e6},
                                   {"online", t.online}, {"chargers", t.chargers}, {"charging", t.charging},
                                   {"sessions_started", t.c.sessions_started}, {"sessions_ended", t.c.sessions_ended},
                                   {"kwh", t.c.energy_wh / 1000.0}, {"frames_per_s", static_cast<double>(frames - last_frames) / secs},
                                   {"alarms", t.c.alarms}, {"refused", refusals}, {"timeouts", timeouts}});
      last_frames = frames;
    }
  };

  chargehub::log::info("fleet.starting", {{"scenario", sc.name}, {"chargers", members.size()}, {"ports", ports_total}, {"transport", sc.transport},
                               {"target", sc.transport == "tcp" ? sc.bridge : sc.mqtt_uri}, {"time_scale", sc.time_scale},
                               {"duration_s", sc.duration_s}});   // duration 0: until SIGINT/SIGTERM
  int sig = host.run(sc.duration_s);
  double real_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count();
  auto t = totals();
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  double cpu = ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
  static const char* reasons[] = {"", "full", "limit", "remote_stop", "port_overload", "unit_overload",
                                  "over_temperature", "unplugged", "power_loss", "fault", "card"};
  static const char* alarm_names[] = {"", "temp_warning", "temp_cutoff", "port_overload", "unit_overload",
                                      "relay_fault", "leakage", "fuse_blown"};
  boost::json::object by_reason, by_alarm;
  std::string reason_text, alarm_text;
  for (size_t r = 1; r <= 10; ++r) {
    by_reason[reasons[r]] = t.c.ended_by_reason[r];
    if (t.c.ended_by_reason[r]) reason_text += std::string(reason_text.empty() ? "" : ", ") + reasons[r] + " " + std::to_string(t.c.ended_by_reason[r]);
  }
  for (size_t a = 1; a <= 7; ++a) {
    by_alarm[alarm_names[a]] = alarms[a];
    if (alarms[a]) alarm_text += std::string(alarm_text.empty() ? "" : ", ") + alarm_names[a] + " " + std::to_string(alarms[a]);
  }
  boost::json::object sum{
      {"scenario", sc.name}, {"chargers", t.chargers}, {"ports", ports_total}, {"real_s", real_s},
      {"simulated_h", real_s * sc.time_scale / 3600.0}, {"time_scale", sc.time_scale}, {"online_at_end", t.online},
      {"sessions_started", t.c.sessions_started}, {"sessions_ended", t.c.sessions_ended}, {"ended_by_reason", by_reason},
      {"energy_kwh", t.c.energy_wh / 1000.0}, {"alarms", by_alarm}, {"frames_sent", t.c.frames_sent},
      {"frames_received", t.c.frames_received}, {"retries", t.c.retries}, {"duplicates", t.c.duplicates},
      {"logins", t.c.logins}, {"login_refusals", refusals}, {"timeouts", timeouts}, {"bad_frames", t.bad_frames},
      {"connects", t.connects}, {"shed_frames", t.dropped_writes}, {"link_cuts", cuts}, {"reboots", reboots}, {"power_losses", power_losses},
      {"rider_arrivals", riders.arrivals()}, {"card_swipes", riders.swipes()}, {"cpu_s", cpu},
      {"max_rss_mb", ru.ru_maxrss / 1024.0}};
  std::printf(
      "fleet \"%s\" %s after %.1f s real (%.2f h simulated, x%g): %llu chargers, %d ports, %llu online at the end\n"
      "sessions: started %llu, ended %llu (%s)\n"
      "energy: %.1f kWh; alarms: %llu (%s)\n"
      "frames: sent %llu, received %llu (%.0f/s); retries %llu, duplicates %llu\n"
      "errors: login refusals %llu, timeouts %llu, bad frames %llu, shed (send queue full) %llu; connects %llu; injected: cuts %llu, reboots %llu, "
      "power losses %llu\n"
      "riders: %llu arrivals, %llu card swipes; process: %.1f s CPU (%.0f %% of one core), max RSS %.0f MB (%.1f KB per charger)\n",
      sc.name.c_str(), sig ? "stopped by signal" : "done", real_s, real_s * sc.time_scale / 3600.0, sc.time_scale,
      (unsigned long long)t.chargers, ports_total, (unsigned long long)t.online, (unsigned long long)t.c.sessions_started,
      (unsigned long long)t.c.sessions_ended, reason_text.empty() ? "none" : reason_text.c_str(), t.c.energy_wh / 1000.0,
      (unsigned long long)t.c.alarms, alarm_text.empty() ? "none" : alarm_text.c_str(),
      (unsigned long long)t.c.frames_sent, (unsigned long long)t.c.frames_received,
      static_cast<double>(t.c.frames_sent + t.c.frames_received) / std::max(real_s, 0.001),
      (unsigned long long)t.c.retries, (unsigned long long)t.c.duplicates, (unsigned long long)refusals,
      (unsigned long long)timeouts, (unsigned long long)t.bad_frames, (unsigned long long)t.dropped_writes,
      (unsigned long long)t.connects,
      (unsigned long long)cuts, (unsigned long long)reboots, (unsigned long long)power_losses,
      (unsigned long long)riders.arrivals(), (unsigned long long)riders.swipes(), cpu, 100.0 * cpu / std::max(real_s, 0.001),
      ru.ru_maxrss / 1024.0, ru.ru_maxrss / std::max<double>(1, static_cast<double>(t.chargers)));
  std::fflush(stdout);
  if (!o.summary_json.empty()) {
    std::ofstream f(o.summary_json);
    f << boost::json::serialize(sum) << "\n";
  }
  return 0;
}

}  // namespace chargehub::sim
