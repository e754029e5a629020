// Issue 19's acceptance on the core itself (not only the server under a trivial handler): a real
// chargehub-core with its broker and database, probed at GET /api/v1/devices with a service key (so every
// probe authenticates and reads the database) while chargehub-hostile opens 1,000 slow-header, 1,000 idle
// and 1,000 slow-body connections (the bodies aimed at the firmware upload, the one route that takes
// large and chunked bodies), then floods heads and chunked bodies. Same bounds as the server's test
// (hostile_test.cpp explains the floods' 250 ms).
#include <gtest/gtest.h>

#include "hostile_run.hpp"
#include "stack.hpp"

namespace chargehub::testing {
namespace {

TEST(CoreHostile, TheApiAnswersAndMemoryStaysBoundedUnderSlowIdleAndFloodingClients) {
  TempDir dir{"core-hostile"};
  Stack stack(dir);
  ASSERT_EQ(stack.api("POST", "/devices", boost::json::object{{"id", "861234567890123"}, {"name", "东门车棚 1号桩"}}).status, 201);
  auto phases = run_hostile(dir, {"--target", "127.0.0.1:" + std::to_string(stack.http_port()), "--spread", "--pid",
                                  std::to_string(stack.core_pid()), "--phases", "baseline,slow,header-flood,chunked-flood,after",
                                  "--phase-seconds", phase_seconds(), "--settle-seconds", "8", "--slow-headers", "1000", "--idle",
                                  "1000", "--slow-bodies", "1000", "--interval-ms", "500", "--probe-rate", "50", "--probe-path",
                                  "/api/v1/devices", "--header", "Authorization: Bearer " + stack.api_key(), "--slow-body-path",
                                  "/api/v1/firmware", "--chunked-path", "/api/v1/firmware"});
  ASSERT_EQ(phases.size(), 5u);
  double baseline_rss = num(phases["baseline"].at("rss_kib").at("start"));
  for (auto& [name, p] : phases) {
    SCOPED_TRACE(name);
    const auto& probes = p.at("probes");
    EXPECT_GE(num(probes.at("sent")), 100);
    EXPECT_EQ(num(probes.at("failed")), 0) << boost::json::serialize(probes);
    EXPECT_LT(num(probes.at("p99_ms")), name.ends_with("flood") ? 250.0 : 100.0);
    EXPECT_LT(num(p.at("rss_kib").at("max")) - baseline_rss, 100 * 1024);
  }
  EXPECT_GE(num(phases["slow"].at("attack").at("open_max")), 2850);
  // The core is whole afterwards: its own counters through the API.
  auto st = stack.api("GET", "/status");
  ASSERT_EQ(st.status, 200);
  auto& http = st.obj().at("http").as_object();
  EXPECT_GT(num(http.at("too_large")), 0);
  EXPECT_EQ(num(http.at("handler_errors")), 0);
  EXPECT_EQ(stack.api("GET", "/devices/861234567890123").status, 200);
}

}  // namespace
}  // namespace chargehub::testing
