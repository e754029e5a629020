// Runs the test server and chargehub-hostile (bench/hostile) as real processes and reads the tool's JSON
// report: shared by the hostile test (the server alone) and the nginx test (nginx in front).
#pragma once
#include <boost/json.hpp>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "raw_client.hpp"
#include "testsupport.hpp"

namespace chargehub::testing {

// chargehub-http-testserver on a free port with the core's default Settings plus `args`.
struct TestServer {
  TempDir dir{"http-testserver"};
  std::unique_ptr<Process> process;
  uint16_t port = 0;

  explicit TestServer(std::vector<std::string> args = {}) {
    std::vector<std::string> argv{bin("chargehub-http-testserver").string(), "--port", "0", "--port-file",
                                  (dir / "port").string()};
    argv.insert(argv.end(), args.begin(), args.end());
    process = std::make_unique<Process>(argv, dir / "log");
    if (!wait_until([&] { return fs::exists(dir / "port"); }, std::chrono::seconds(10)))
      throw std::runtime_error("test server did not start: " + read_file(dir / "log"));
    port = static_cast<uint16_t>(std::stoi(read_file(dir / "port")));
  }

  // Its counters (GET /stats), straight to the server.
  boost::json::object stats() const {
    RawClient c(port);
    c.send("GET /stats HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    auto r = c.read_response();
    if (!r || r->status != 200) throw std::runtime_error("GET /stats failed");
    return boost::json::parse(r->body).as_object();
  }
};

// Runs the tool to its end and returns its report's phases by name.
inline std::map<std::string, boost::json::object> run_hostile(const TempDir& dir, std::vector<std::string> args) {
  auto json_path = dir / "hostile.json";
  std::vector<std::string> argv{bin("chargehub-hostile").string(), "--json", json_path.string()};
  argv.insert(argv.end(), args.begin(), args.end());
  Process tool(argv, dir / "hostile.log");
  int status = tool.wait();
  std::string log = read_file(dir / "hostile.log");
  std::printf("%s", log.c_str());   // the table, in the test's output
  if (status != 0) throw std::runtime_error("chargehub-hostile failed: " + log);
  std::map<std::string, boost::json::object> phases;
  auto report = boost::json::parse(read_file(json_path));
  for (auto& p : report.at("phases").as_array())
    phases[std::string(p.at("phase").as_string())] = p.as_object();
  return phases;
}

// Seconds of probing per phase: 4 in the tests; HTTP_HOSTILE_PHASE_SECONDS=10 for the figures of
// docs/http-server.md.
inline std::string phase_seconds() {
  const char* env = std::getenv("HTTP_HOSTILE_PHASE_SECONDS");
  return env ? env : "4";
}

inline double num(const boost::json::value& v) { return v.is_double() ? v.as_double() : static_cast<double>(v.to_number<int64_t>()); }

}  // namespace chargehub::testing
