// chargehub-http-testserver: http::Server with the Settings the core uses and a trivial handler, as the
// target of the hostile-load tool (bench/hostile) and of the nginx test. Runs until SIGTERM or SIGINT,
// then prints its counters as JSON on stdout.
//
//   GET  /api/v1/health      {"status":"ok"}                      the probe
//   GET  /stats              the server's counters (ServerStats)
//   POST /api/v1/firmware    up to 8 MiB, Content-Length only     what slow bodies aim at
//   POST /api/v1/stream      up to 64 KiB, chunked allowed        what chunked floods aim at
//   *    anything else       {"method","path","body_length","x_forwarded_for"};  /slow?ms=N sleeps first
#include <sys/resource.h>

#include <csignal>
#include <cstdio>
#include <thread>

#include <CLI/CLI.hpp>
#include <boost/json.hpp>

#include "server.hpp"

namespace json = boost::json;
using namespace chargehub::http;

namespace {

json::object stats_json(const ServerStats& s) {
  return {{"accepted", s.accepted.load()},
          {"requests", s.requests.load()},
          {"refused_connections", s.refused_connections.load()},
          {"shed", s.shed.load()},
          {"head_timeouts", s.head_timeouts.load()},
          {"body_timeouts", s.body_timeouts.load()},
          {"idle_closed", s.idle_closed.load()},
          {"too_large", s.too_large.load()},
          {"bad_requests", s.bad_requests.load()},
          {"handler_errors", s.handler_errors.load()},
          {"open_connections", s.open_connections.load()},
          {"queued", s.queued.load()},
          {"body_budget_shed", s.body_budget_shed.load()},
          {"body_bytes", s.body_bytes.load()}};
}

}  // namespace

int main(int argc, char** argv) {
  Settings s;   // the defaults are what the core runs with
  s.port = 0;
  int head_ms = static_cast<int>(s.head_deadline.count()), body_ms = static_cast<int>(s.body_deadline.count()),
      idle_ms = static_cast<int>(s.idle_timeout.count());
  std::string port_file;
  CLI::App app("HTTP server under test (chargehub_http with a trivial handler)");
  app.add_option("--host", s.host);
  app.add_option("--port", s.port, "0: any free port (printed, and written to --port-file)");
  app.add_option("--port-file", port_file);
  app.add_option("--io-threads", s.io_threads);
  app.add_option("--workers", s.workers);
  app.add_option("--max-queue", s.max_queue);
  app.add_option("--max-connections", s.max_connections);
  app.add_option("--max-connections-per-address", s.max_connections_per_address);
  app.add_option("--head-deadline-ms", head_ms);
  app.add_option("--body-deadline-ms", body_ms);
  app.add_option("--idle-timeout-ms", idle_ms);
  CLI11_PARSE(app, argc, argv);
  s.head_deadline = std::chrono::milliseconds(head_ms);
  s.body_deadline = std::chrono::milliseconds(body_ms);
  s.idle_timeout = std::chrono::milliseconds(idle_ms);

  // Thousands of connections: take the whole hard limit of open files (the soft one is often 1024).
  rlimit lim{};
  if (::getrlimit(RLIMIT_NOFILE, &lim) == 0) {
    lim.rlim_cur = lim.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &lim);
  }

  // Block the stop signals before any thread starts, so only sigwait below sees them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  Server* self = nullptr;
  Server server(
      s,
      [&self](Request& r) {
        Response res;
        if (r.path == "/api/v1/health") {
          res.body = R"({"status":"ok"})";
        } else if (r.path == "/stats") {
          res.body = json::serialize(stats_json(self->stats()));
        } else {
          if (r.path == "/slow") std::this_thread::sleep_for(std::chrono::milliseconds(std::stoi(r.param("ms").value_or("100"))));
          res.body = json::serialize(json::object{{"method", r.method},
                                                  {"path", r.path},
                                                  {"body_length", r.body.size()},
                                                  {"x_forwarded_for", r.header("x-forwarded-for")}});
        }
        return res;
      },
      [](std::string_view method, std::string_view path) -> std::optional<BodyPolicy> {
        if (path == "/api/v1/firmware") return BodyPolicy{8 * 1024 * 1024, false};
        if (path == "/api/v1/stream") return BodyPolicy{64 * 1024, true};
        return std::nullopt;
      });
  self = &server;
  server.start();
  std::printf("listening on %s:%u\n", s.host.c_str(), server.port());
  std::fflush(stdout);
  if (!port_file.empty()) {
    std::string tmp = port_file + ".tmp";   // renamed into place: a reader never sees half a number
    if (FILE* f = std::fopen(tmp.c_str(), "w")) {
      std::fprintf(f, "%u\n", server.port());
      std::fclose(f);
      std::rename(tmp.c_str(), port_file.c_str());
    }
  }
  int sig = 0;
  sigwait(&stop_signals, &sig);
  server.stop();
  std::printf("%s\n", json::serialize(stats_json(server.stats())).c_str());
  return 0;
}
