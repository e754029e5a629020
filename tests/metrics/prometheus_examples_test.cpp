// examples/prometheus/: the scrape configuration and the alert rules are what promtool accepts, the
// rules pass their unit tests, and every metric they name is documented in docs/metrics.md.
#include <gtest/gtest.h>

#include <regex>
#include <set>

#include "scrape.hpp"

using namespace chargehub::testing;

TEST(PrometheusExamples, TheScrapeConfigurationIsValid) {
  TempDir dir{"metrics-prom"};
  std::string conf = read_file(source("examples/prometheus/prometheus.yml"));
  const std::string key_path = "/etc/prometheus/chargehub-core.key";
  auto at = conf.find("credentials_file: " + key_path);
  ASSERT_NE(at, std::string::npos) << "the core's job reads its key from " << key_path;
  // promtool checks that the key file exists: point it at one of the test's.
  conf.replace(at + 18, key_path.size(), (dir.path() / "core.key").string());
  write_file(dir.path() / "core.key", "cha_not_a_real_key\n");
  write_file(dir.path() / "prometheus.yml", conf);
  write_file(dir.path() / "alerts.yml", read_file(source("examples/prometheus/alerts.yml")));
  EXPECT_TRUE(promtool("check config prometheus.yml", dir.path()));
  EXPECT_NE(conf.find("metrics_path: /api/v1/metrics"), std::string::npos);
}

TEST(PrometheusExamples, TheAlertRulesAreValidAndPassTheirUnitTests) {
  auto examples = source("examples/prometheus");
  EXPECT_TRUE(promtool("check rules alerts.yml", examples));
  EXPECT_TRUE(promtool("test rules alerts_test.yml", examples));
}

TEST(PrometheusExamples, EveryMetricTheAlertsUseIsDocumented) {
  std::string alerts = read_file(source("examples/prometheus/alerts.yml"));
  std::string docs = read_file(source("docs/metrics.md"));
  std::regex name(R"(chargehub_[a-z_]+)");
  std::set<std::string> used;
  for (auto it = std::sregex_iterator(alerts.begin(), alerts.end(), name); it != std::sregex_iterator(); ++it) used.insert(it->str());
  EXPECT_GE(used.size(), 6u);
  for (auto& n : used) EXPECT_NE(docs.find("`" + n + "`"), std::string::npos) << n << " is not in docs/metrics.md";
  for (auto alert : {"ChargeHubTargetDown", "ChargeHubDevicesOffline", "ChargeHubIngestQueueGrowing", "ChargeHubIngestShedding",
                     "ChargeHubSettlementErrors", "ChargeHubBridgeDiskQueueGrowing"})
    EXPECT_NE(docs.find(alert), std::string::npos) << alert << " is not explained in docs/metrics.md";
}
