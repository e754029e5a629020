// The text the bridge and the plugin write from their counters (no registry: snapshots through
// metrics::TextWriter): sums over worker blocks, bounded per-device series, the plugin file's end line,
// and the strict reader accepts them.
#include <gtest/gtest.h>

#include "chargehub/metrics.hpp"
#include "counters.hpp"
#include "stats.hpp"

using chargehub::metrics::check_text;
using chargehub::metrics::find_value;

TEST(BridgeMetricsText, SumsTheWorkersBlocksAndNamesFramesByKind) {
  auto* blocks = chargehub::bridge::make_shared_counters(2);
  blocks[0].links = 3;
  blocks[1].links = 4;
  blocks[0].logins_ok = 5;
  blocks[1].logins_refused = 2;
  blocks[0].frames_in[0x01] = 5;   // LOGIN
  blocks[1].frames_in[0x03] = 7;   // METER
  blocks[1].frames_in[0xEE] = 1;   // not a known command
  blocks[0].queue_records = 9;
  blocks[1].queue_bytes = 1234;
  auto text = chargehub::bridge::counters_prometheus(blocks, 2, 2);
  EXPECT_EQ(check_text(text), std::nullopt) << text;
  EXPECT_EQ(find_value(text, "chargehub_bridge_links"), 7);
  EXPECT_EQ(find_value(text, "chargehub_bridge_workers"), 2);
  EXPECT_EQ(find_value(text, R"(chargehub_bridge_logins_total{result="ok"})"), 5);
  EXPECT_EQ(find_value(text, R"(chargehub_bridge_logins_total{result="refused"})"), 2);
  EXPECT_EQ(find_value(text, R"(chargehub_bridge_frames_in_total{kind="login"})"), 5);
  EXPECT_EQ(find_value(text, R"(chargehub_bridge_frames_in_total{kind="meter"})"), 7);
  EXPECT_EQ(find_value(text, R"(chargehub_bridge_frames_in_total{kind="cmd238"})"), 1);
  EXPECT_EQ(find_value(text, R"(chargehub_bridge_frames_in_total{kind="heartbeat"})"), std::nullopt);   // kinds that occurred
  EXPECT_EQ(find_value(text, "chargehub_bridge_disk_queue_records"), 9);
  EXPECT_EQ(find_value(text, "chargehub_bridge_disk_queue_bytes"), 1234);
  EXPECT_GT(find_value(text, "process_resident_memory_bytes").value_or(0), 0);
}

TEST(PluginMetricsText, CountersByResultTopOffendersAndTheEndLine) {
  chargehub::auth::Stats stats;
  stats.logins_ok = 10;
  stats.refused[static_cast<int>(chargehub::auth::Refusal::bad_token)] = 3;
  stats.refused[static_cast<int>(chargehub::auth::Refusal::throttled)] = 4;
  stats.acl_denied[static_cast<int>(chargehub::auth::Role::charger)] = 2;
  stats.dropped_rate = 50;
  stats.devices = 12;
  stats.credentials_source = static_cast<int>(chargehub::auth::CredentialsSource::snapshot);
  chargehub::auth::Stats::TopDropped top;
  for (int i = 0; i < 10; ++i) top.push_back({"86123456789012" + std::to_string(i), chargehub::auth::DeviceDrops{uint64_t(50 - i), 1, 0}});
  stats.set_top_dropped(top);
  auto s = chargehub::auth::snapshot(stats);
  auto text = chargehub::auth::stats_prometheus(s);
  EXPECT_EQ(check_text(text, "chargehub_plugin_"), std::nullopt) << text;
  EXPECT_TRUE(text.ends_with(chargehub::auth::kMetricsEnd));
  EXPECT_EQ(find_value(text, R"(chargehub_plugin_logins_total{result="ok"})"), 10);
  EXPECT_EQ(find_value(text, R"(chargehub_plugin_logins_total{result="bad_token"})"), 3);
  EXPECT_EQ(find_value(text, R"(chargehub_plugin_logins_total{result="throttled"})"), 4);
  EXPECT_EQ(find_value(text, R"(chargehub_plugin_acl_denied_total{role="charger"})"), 2);
  EXPECT_EQ(find_value(text, R"(chargehub_plugin_dropped_messages_total{reason="rate"})"), 50);
  EXPECT_EQ(find_value(text, R"(chargehub_plugin_top_dropped_messages{device="861234567890120",reason="rate"})"), 50);
  EXPECT_EQ(find_value(text, R"(chargehub_plugin_credentials_source{source="snapshot"})"), 1);
  EXPECT_EQ(find_value(text, R"(chargehub_plugin_credentials_source{source="cache"})"), 0);
  EXPECT_EQ(find_value(text, "chargehub_plugin_devices"), 12);
  // The status file's lines are as before.
  EXPECT_NE(chargehub::auth::stats_text(s).find("top_dropped.1: 861234567890120 rate=50 size=1\n"), std::string::npos);
}
