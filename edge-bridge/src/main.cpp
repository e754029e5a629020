// chargehub-bridge: chargers' binary frames (TCP for 4G modules, serial lines) <-> MQTT, one MQTT
// identity per charger. See docs/edge-bridge.md.
//
// One process by default. With --workers N the first process is a supervisor: it forks N workers that
// share the TCP port (SO_REUSEPORT) and each hold their own chargers (each charger costs two file
// descriptors, and one process may hold at most 20,000), sums their counters from shared memory, and
// publishes them on the service connection. Worker 0 also serves the serial lines.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <asio.hpp>
#include <cstdio>
#include <iostream>
#include <vector>

#include "bridge.hpp"
#include "config.hpp"
#include "counters.hpp"
#include "metrics_http.hpp"
#include "mqtt_client.hpp"
#include "util.hpp"

using namespace chargehub::bridge;

namespace {

Level parse_level(const std::string& s) {
  if (s == "debug") return Level::Debug;
  if (s == "warn") return Level::Warn;
  if (s == "error") return Level::Error;
  return Level::Info;
}

// A worker: the bridge itself, until SIGTERM/SIGINT. `status` is set in a single-process bridge.
int run_worker(const Config& cfg, Counters* blocks, int n, int index, bool with_status) {
  asio::io_context io(1);
  Bridge bridge(io, cfg, blocks[index], index);
  std::unique_ptr<StatusPublisher> status;
  if (with_status) status = std::make_unique<StatusPublisher>(io, cfg, blocks, n, [] { return 1; });
  // GET /metrics (docs/metrics.md): served by the single process, or by the supervisor of several.
  std::unique_ptr<MetricsHttp> metrics;
  if (with_status && cfg.metrics_port)
    metrics = std::make_unique<MetricsHttp>(io, cfg.metrics_host, cfg.metrics_port, [blocks] { return counters_prometheus(blocks, 1, 1); });
  asio::signal_set stop_signals(io, SIGTERM, SIGINT);
  asio::signal_set usr1(io, SIGUSR1);
  std::function<void()> wait_usr1 = [&] {
    usr1.async_wait([&](const asio::error_code& ec, int) {
      if (ec) return;
      log(Level::Info, "counters", "json", counters_json(blocks, with_status ? n : 1, 1));
      wait_usr1();
    });
  };
  if (with_status) wait_usr1();   // in a worker of several, the supervisor prints the sum
  stop_signals.async_wait([&](const asio::error_code& ec, int sig) {
    if (ec) return;
    log(Level::Info, "stopping", "signal", sig);
    if (status) status->stop();
    if (metrics) metrics->stop();
    bridge.shutdown([&] {
      usr1.cancel();
      io.stop();
    });
  });
  try {
    bridge.start();
    if (metrics) metrics->start();
  } catch (const std::exception& e) {
    log(Level::Error, "start_failed", "error", e.what());
    return 1;
  }
  if (status) status->start();
  io.run();
  log(Level::Info, "stopped");
  return 0;
}

int run_supervisor(const Config& cfg) {
  Counters* blocks = make_shared_counters(cfg.workers);
  std::vector<pid_t> pids;
  for (int i = 0; i < cfg.workers; ++i) {
    pid_t pid = ::fork();
    if (pid < 0) {
      log(Level::Error, "fork_failed", "errno", errno);
      for (auto p : pids) ::kill(p, SIGTERM);
      return 1;
    }
    if (pid == 0) {
      set_log_prefix("w" + std::to_string(i) + " ");
      ::_exit(run_worker(cfg, blocks, cfg.workers, i, false));
    }
    pids.push_back(pid);
  }
  asio::io_context io(1);
  int alive = cfg.workers;
  StatusPublisher status(io, cfg, blocks, cfg.workers, [&] { return alive; });
  std::unique_ptr<MetricsHttp> metrics;
  if (cfg.metrics_port) {
    metrics = std::make_unique<MetricsHttp>(io, cfg.metrics_host, cfg.metrics_port,
                                            [&] { return counters_prometheus(blocks, cfg.workers, alive); });
    try {
      metrics->start();
    } catch (const std::exception& e) {
      log(Level::Error, "start_failed", "error", e.what());
      for (auto p : pids) ::kill(p, SIGTERM);
      return 1;
    }
  }
  asio::signal_set stop_signals(io, SIGTERM, SIGINT);
  asio::signal_set other(io, SIGUSR1, SIGCHLD);
  bool stopping = false;
  int exit_code = 0;
  std::function<void()> wait_other = [&] {
    other.async_wait([&](const asio::error_code& ec, int sig) {
      if (ec) return;
      if (sig == SIGUSR1) log(Level::Info, "counters", "json", status.snapshot());
      if (sig == SIGCHLD) {
        int st;
        pid_t p;
        while ((p = ::waitpid(-1, &st, WNOHANG)) > 0) {
          --alive;
          if (!stopping) {
            // A worker died: its chargers reconnect to the others only after a restart of the whole
            // bridge (the service manager restarts it); stop cleanly rather than run half-blind.
            log(Level::Error, "worker_died", "pid", p, "status", st);
            exit_code = 1;
            stopping = true;
            for (auto q : pids) ::kill(q, SIGTERM);
          }
        }
        if (alive <= 0) {
          status.stop();
          auto t = std::make_shared<asio::steady_timer>(io, std::chrono::milliseconds(200));
          t->async_wait([&io, t](const asio::error_code&) { io.stop(); });
          return;
        }
      }
      wait_other();
    });
  };
  wait_other();
  stop_signals.async_wait([&](const asio::error_code& ec, int sig) {
    if (ec) return;
    log(Level::Info, "stopping", "signal", sig);
    stopping = true;
    if (metrics) metrics->stop();
    for (auto p : pids) ::kill(p, SIGTERM);
  });
  status.start();
  io.run();
  log(Level::Info, "stopped");
  return exit_code;
}

}  // namespace

int main(int argc, char** argv) {
  ::signal(SIGPIPE, SIG_IGN);
  chargehub::log::set_program("bridge");
  Config cfg;
  try {
    int code = 0;
    auto parsed = parse_config(argc, argv, code);
    if (!parsed) return code;
    cfg = std::move(*parsed);
    validate(cfg);
  } catch (const ConfigError& e) {
    log(Level::Error, "config_error", "error", e.what());
    return 2;
  }
  set_log_level(parse_level(cfg.log_level));
  chargehub::log::set_format(cfg.log_format == "json" ? chargehub::log::Format::Json : chargehub::log::Format::Kv);
  mqtt_global_init();
  log(Level::Info, "starting", "name", "bridge-" + cfg.name, "listen", cfg.listen_port ? cfg.listen : "-",
      "serial", cfg.serial_ports.size(), "broker", cfg.broker, "workers", cfg.workers, "queue_dir", cfg.queue_dir);
  if (cfg.workers == 1) {
    Counters* blocks = make_shared_counters(1);
    return run_worker(cfg, blocks, 1, 0, true);
  }
  return run_supervisor(cfg);
}
