// chargehub-hostile: attacks an HTTP server the way issue 19 describes (slow headers, idle connections,
// slow bodies, header floods, never-ending chunked bodies) while a well-behaved client probes it at a
// fixed rate, and reports per phase the probes' latency and failures, what the attackers saw, and the
// target's resident memory (--pid). See docs/http-server.md.
//
//   chargehub-hostile --target 127.0.0.1:8080 --spread --pid 1234
//       --phases baseline,slow,header-flood,chunked-flood,after --phase-seconds 5 --json out.json
#include <sys/resource.h>

#include <csignal>
#include <cstdio>
#include <fstream>
#include <sstream>

#include <CLI/CLI.hpp>
#include <boost/json.hpp>

#include "attack.hpp"
#include "probe.hpp"

namespace json = boost::json;
using namespace chargehub::hostile;
using namespace std::chrono_literals;

namespace {

// VmRSS of a process in KiB, 0 when unknown.
long rss_kib(int pid) {
  if (pid <= 0) return 0;
  std::ifstream f("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(f, line))
    if (line.starts_with("VmRSS:")) return std::strtol(line.c_str() + 6, nullptr, 10);
  return 0;
}

struct PhaseReport {
  std::string name;
  ProbeResult probes;
  long rss_start = 0, rss_max = 0, rss_end = 0;
  int64_t attack_open_max = 0;
  uint64_t connects = 0, connect_failures = 0, closed_by_server = 0, bytes_sent = 0;
  std::map<int, uint64_t> attack_statuses;
};

json::object to_json(const PhaseReport& r) {
  json::object statuses, attack_statuses, errors;
  for (auto [s, n] : r.probes.statuses) statuses[std::to_string(s)] = n;
  for (auto [s, n] : r.attack_statuses) attack_statuses[std::to_string(s)] = n;
  for (auto& [e, n] : r.probes.errors) errors[e] = n;
  return {{"phase", r.name},
          {"probes", {{"sent", r.probes.sent},
                      {"ok", r.probes.ok},
                      {"failed", r.probes.failed},
                      {"p50_ms", r.probes.percentile(50)},
                      {"p99_ms", r.probes.percentile(99)},
                      {"max_ms", r.probes.max()},
                      {"statuses", statuses},
                      {"errors", errors}}},
          {"rss_kib", {{"start", r.rss_start}, {"max", r.rss_max}, {"end", r.rss_end}}},
          {"attack", {{"open_max", r.attack_open_max},
                      {"connects", r.connects},
                      {"connect_failures", r.connect_failures},
                      {"closed_by_server", r.closed_by_server},
                      {"bytes_sent", r.bytes_sent},
                      {"statuses", attack_statuses}}}};
}

std::string statuses_text(const std::map<int, uint64_t>& m) {
  std::ostringstream o;
  for (auto [s, n] : m) o << (o.tellp() > 0 ? " " : "") << s << ":" << n;
  return o.str().empty() ? "-" : o.str();
}

}  // namespace

int main(int argc, char** argv) {
  std::string target, phases_arg = "baseline,slow,big-bodies,header-flood,chunked-flood,after", json_path;
  AttackConfig attack_config;
  ProbeConfig probe;
  double phase_seconds = 5, settle_seconds = 3;
  size_t slow_headers = 1000, idle = 1000, slow_bodies = 1000, big_bodies = 100, flood_connections = 20;
  int interval_ms = 1000, pid = 0;

  CLI::App app("Hostile clients against an HTTP server, with latency probes (issue 19)");
  app.add_option("--target", target, "host:port (IPv4) of the server or of the proxy in front")->required();
  app.add_option("--phases", phases_arg,
                 "comma-separated, run in order: baseline, slow (slow headers + idle + slow bodies), "
                 "big-bodies, header-flood, chunked-flood, after (the attack gone)");
  app.add_option("--phase-seconds", phase_seconds, "probing time per phase");
  app.add_option("--settle-seconds", settle_seconds, "longest wait for the attack's connections to open");
  app.add_option("--slow-headers", slow_headers, "connections sending their head one byte at a time");
  app.add_option("--idle", idle, "connections that send nothing");
  app.add_option("--slow-bodies", slow_bodies, "connections sending a large body one byte at a time");
  app.add_option("--big-bodies", big_bodies, "connections sending all of a large body but its last KiB, then trickling");
  app.add_option("--big-body-bytes", attack_config.big_body_length);
  app.add_option("--interval-ms", interval_ms, "trickle: one byte every this many ms per connection");
  app.add_option("--flood-connections", flood_connections, "connections of each flood");
  app.add_flag("--spread", attack_config.spread_sources, "attack from 127.0.0.2-127.0.0.254 in turn");
  app.add_option("--slow-header-path", attack_config.slow_header_path);
  app.add_option("--slow-body-path", attack_config.slow_body_path, "a route that accepts the body length");
  app.add_option("--slow-body-bytes", attack_config.slow_body_length);
  app.add_option("--chunked-path", attack_config.chunked_path);
  app.add_option("--host-header", attack_config.host_header);
  app.add_option("--probe-path", probe.path);
  app.add_option("--probe-rate", probe.rate, "probes per second");
  app.add_option("--probe-source", probe.source, "local address of the probes");
  app.add_option("--header", probe.headers, "extra header of the probes, 'Name: value' (repeatable)");
  int probe_timeout_ms = 2000;
  app.add_option("--probe-timeout-ms", probe_timeout_ms);
  app.add_option("--pid", pid, "the target's process id, for its VmRSS");
  app.add_option("--json", json_path, "also write the report as JSON here");
  CLI11_PARSE(app, argc, argv);

  auto colon = target.rfind(':');
  if (colon == std::string::npos) {
    std::fprintf(stderr, "--target must be host:port\n");
    return 2;
  }
  probe.address = target.substr(0, colon);
  probe.port = static_cast<uint16_t>(std::stoi(target.substr(colon + 1)));
  probe.host_header = attack_config.host_header;
  probe.timeout = std::chrono::milliseconds(probe_timeout_ms);
  attack_config.target = tcp::endpoint(asio::ip::make_address(probe.address), probe.port);
  attack_config.trickle_interval = std::chrono::milliseconds(interval_ms);

  // Thousands of sockets: take the whole hard limit of open files (soft is often 1024).
  rlimit lim{};
  if (::getrlimit(RLIMIT_NOFILE, &lim) == 0) {
    lim.rlim_cur = lim.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &lim);
  }
  std::signal(SIGPIPE, SIG_IGN);

  std::vector<std::string> phases;
  for (std::string_view rest = phases_arg; !rest.empty();) {
    auto comma = rest.find(',');
    phases.emplace_back(rest.substr(0, comma));
    rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
  }

  std::vector<PhaseReport> reports;
  for (const auto& name : phases) {
    PhaseReport report;
    report.name = name;
    report.rss_start = rss_kib(pid);
    AttackCounters counters;
    Attack attack(attack_config, counters);
    size_t expected_open = 0;
    if (name == "slow") {
      attack.add(Kind::SlowHeader, slow_headers);
      attack.add(Kind::Idle, idle);
      attack.add(Kind::SlowBody, slow_bodies);
      expected_open = slow_headers + idle + slow_bodies;
    } else if (name == "big-bodies") {
      attack.add(Kind::BigBody, big_bodies);
    } else if (name == "header-flood") {
      attack.add(Kind::HeaderFlood, flood_connections);
    } else if (name == "chunked-flood") {
      attack.add(Kind::ChunkedFlood, flood_connections);
    } else if (name != "baseline" && name != "after") {
      std::fprintf(stderr, "unknown phase '%s'\n", name.c_str());
      return 2;
    }
    attack.run();
    // Probe once the attack is in place, not while its connections are still being opened.
    auto settle_until = std::chrono::steady_clock::now() + std::chrono::duration<double>(settle_seconds);
    while (expected_open > 0 && static_cast<size_t>(attack.open()) < expected_open * 95 / 100 &&
           std::chrono::steady_clock::now() < settle_until)
      std::this_thread::sleep_for(20ms);

    Prober prober(probe);
    prober.start();
    auto until = std::chrono::steady_clock::now() + std::chrono::duration<double>(phase_seconds);
    while (std::chrono::steady_clock::now() < until) {
      report.rss_max = std::max(report.rss_max, rss_kib(pid));
      report.attack_open_max = std::max(report.attack_open_max, attack.open());
      std::this_thread::sleep_for(100ms);
    }
    report.probes = prober.stop();
    report.rss_end = rss_kib(pid);
    report.rss_max = std::max({report.rss_max, report.rss_end, report.rss_start});
    attack.stop();
    report.connects = counters.connects;
    report.connect_failures = counters.connect_failures;
    report.closed_by_server = counters.closed_by_server;
    report.bytes_sent = counters.bytes_sent;
    report.attack_statuses = counters.status_counts();
    reports.push_back(std::move(report));
  }

  std::printf("%-14s %6s %6s %6s %8s %8s %8s %10s %10s %10s %7s %7s %9s  %s\n", "phase", "probes", "ok", "failed",
              "p50_ms", "p99_ms", "max_ms", "rss0_kib", "rssmax_kib", "rss1_kib", "open", "connects",
              "srv_close", "attack statuses / probe errors");
  for (const auto& r : reports) {
    std::string errors;
    for (auto& [e, n] : r.probes.errors) errors += " " + e + ":" + std::to_string(n);
    std::printf("%-14s %6llu %6llu %6llu %8.2f %8.2f %8.2f %10ld %10ld %10ld %7lld %7llu %9llu  %s%s\n", r.name.c_str(),
                (unsigned long long)r.probes.sent, (unsigned long long)r.probes.ok,
                (unsigned long long)r.probes.failed, r.probes.percentile(50), r.probes.percentile(99), r.probes.max(),
                r.rss_start, r.rss_max, r.rss_end, (long long)r.attack_open_max, (unsigned long long)r.connects,
                (unsigned long long)r.closed_by_server, statuses_text(r.attack_statuses).c_str(), errors.c_str());
  }
  if (!json_path.empty()) {
    json::array all;
    for (const auto& r : reports) all.push_back(to_json(r));
    std::ofstream(json_path) << json::serialize(json::object{{"target", target}, {"phases", all}}) << "\n";
  }
  return 0;
}
