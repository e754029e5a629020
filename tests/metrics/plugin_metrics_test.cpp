// The broker plugin's counters reach Prometheus through the core: the plugin writes them as a text file
// (plugin_opt_metrics_file, atomically, on its status interval) and the core, given --plugin-metrics,
// appends that file to its own GET /metrics while it is fresh, complete and valid, with its age and
// whether it was appended as gauges of their own.
#include <gtest/gtest.h>

#include "broker.hpp"
#include "scrape.hpp"

using namespace chargehub::testing;

namespace {
double refused_logins(const std::string& text) {
  double sum = 0;
  size_t pos = 0;
  const std::string prefix = "chargehub_plugin_logins_total{result=\"";
  while ((pos = text.find("\n" + prefix, pos)) != std::string::npos) {
    pos += 1;
    auto line = text.substr(pos, text.find('\n', pos) - pos);
    if (line.starts_with(prefix + "ok\"")) continue;
    sum += std::stod(line.substr(line.rfind(' ') + 1));
  }
  return sum;
}
}  // namespace

TEST(PluginMetrics, ThePluginsFileReachesTheCoresMetricsUntilItIsStaleTornOrForeign) {
  TempDir dir{"metrics-plugin"};
  const fs::path file = dir.path() / "plugin.prom";
  auto secrets = make_services_file(dir.path() / "services", {{"core", "core"}});
  write_file(dir.path() / "core.secret", secrets.at("core") + "\n");
  auto broker = std::make_unique<Broker>(
      dir, BrokerOptions{dir.path() / "services", "plugin_opt_poll_ms 100\nplugin_opt_metrics_file " + file.string() + "\n"});
  const std::string core = bin("chargehub-core").string(), db = (dir.path() / "core.db").string();
  run_capture(core + " migrate --db '" + db + "'");
  const std::string key = run_capture(core + " api-key --name prometheus --role service_metrics --db '" + db + "'");
  int http = free_port();
  Process p({core, "serve", "--db", db, "--broker", "tcp://127.0.0.1:" + std::to_string(broker->port()), "--name", "test",
             "--secret-file", (dir.path() / "core.secret").string(), "--http", "127.0.0.1:" + std::to_string(http),
             "--plugin-metrics", file.string(), "--plugin-metrics-max-age", "3"},
            dir.path() / "core.log");
  ASSERT_TRUE(wait_for_port(http, std::chrono::seconds(15))) << read_file(dir.path() / "core.log");

  // A login the plugin refuses: a device it does not know.
  std::system(("mosquitto_pub -h 127.0.0.1 -p " + std::to_string(broker->port()) +
               " -i 861234567890199 -u 861234567890199 -P 00112233445566778899aabbccddeeff -t x -m y -q 0 >/dev/null 2>&1")
                  .c_str());
  std::string text;
  ASSERT_TRUE(wait_until([&] {
    text = scrape(http, "/api/v1/metrics", key).body;
    auto ok = chargehub::metrics::find_value(text, R"(chargehub_plugin_logins_total{result="ok"})");
    return ok && *ok >= 1 && refused_logins(text) >= 1;   // the core's own login, and the refusal
  }, std::chrono::seconds(10))) << text << "\n--- broker\n" << broker->log_text();
  expect_valid(text, dir.path());
  expect_documented(text);
  EXPECT_EQ(value(text, "chargehub_core_plugin_file_ok"), 1);
  EXPECT_LE(value(text, "chargehub_core_plugin_file_age_seconds"), 3);
  EXPECT_EQ(value(text, R"(chargehub_plugin_credentials_source{source="snapshot"})"), 1);
  EXPECT_GE(value(text, "chargehub_plugin_connections"), 1);
  EXPECT_EQ(text.find("# chargehub-auth metrics end"), std::string::npos);   // the end line is the core's to check, not to pass on
  // The file alone is what node_exporter's textfile collector reads: valid on its own.
  expect_valid(read_file(file), dir.path());

  // The broker stops; its last file grows old: left out, its age shown.
  broker.reset();
  fs::last_write_time(file, fs::file_time_type::clock::now() - std::chrono::hours(1));
  text = scrape(http, "/api/v1/metrics", key).body;
  expect_valid(text, dir.path());
  EXPECT_EQ(value(text, "chargehub_core_plugin_file_ok"), 0);
  EXPECT_GT(value(text, "chargehub_core_plugin_file_age_seconds"), 3000);
  EXPECT_EQ(text.find("chargehub_plugin_logins_total"), std::string::npos);

  // A torn file (no end line) and one naming the core's own families are left out too.
  auto whole = "# TYPE chargehub_plugin_devices gauge\nchargehub_plugin_devices 3\n# chargehub-auth metrics end\n";
  write_file(file, "# TYPE chargehub_plugin_devices gauge\nchargehub_plugin_devi");
  EXPECT_EQ(value(scrape(http, "/api/v1/metrics", key).body, "chargehub_core_plugin_file_ok"), 0);
  write_file(file, "# TYPE process_open_fds gauge\nprocess_open_fds 1\n# chargehub-auth metrics end\n");
  text = scrape(http, "/api/v1/metrics", key).body;
  EXPECT_EQ(value(text, "chargehub_core_plugin_file_ok"), 0);
  expect_valid(text, dir.path());
  write_file(file, whole);
  text = scrape(http, "/api/v1/metrics", key).body;
  EXPECT_EQ(value(text, "chargehub_core_plugin_file_ok"), 1);
  EXPECT_EQ(value(text, "chargehub_plugin_devices"), 3);
  // No file: no age, not appended.
  fs::remove(file);
  text = scrape(http, "/api/v1/metrics", key).body;
  EXPECT_EQ(value(text, "chargehub_core_plugin_file_ok"), 0);
  EXPECT_EQ(chargehub::metrics::find_value(text, "chargehub_core_plugin_file_age_seconds"), std::nullopt);
}
