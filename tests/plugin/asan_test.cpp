// The plugin built with AddressSanitizer (lib/asan/chargehub_auth.so) loaded by a real mosquitto run
// with LD_PRELOAD=libasan.so, driven through every path (logins of both kinds, refusals, hostile
// bytes, ACL denials, control commands, snapshots asked for and answered, pushes and kicks, the cache
// file written and read back after a restart, SIGHUP, services reload), then stopped cleanly: ASan and
// LeakSanitizer must report nothing.
#include <signal.h>

#include <boost/json.hpp>

#include "fixture.hpp"

using namespace chargehub::plugintest;
using chargehub::testkeys::Ed25519Key;
using chargehub::testkeys::now_ms;
using chargehub::testkeys::Token;

namespace {
const std::string A = "861234567890123";
const std::string B = "861234567890124";
}  // namespace

class PluginAsan : public PluginTest {};

TEST_F(PluginAsan, EveryPathUnderAddressSanitizerReportsNothing) {
  ASSERT_TRUE(std::filesystem::exists(CHARGEHUB_LIBASAN)) << CHARGEHUB_LIBASAN;
  const std::string asan_log = (*dir / "asan").string();
  broker_env = {{"LD_PRELOAD", CHARGEHUB_LIBASAN},
                {"ASAN_OPTIONS", "detect_leaks=1:log_path=" + asan_log + ":exitcode=66"},
                {"LSAN_OPTIONS", "suppressions=" + chargehub::testing::source("tests/plugin/lsan.supp").string()}};
  auto ta = add_charger(A);
  Ed25519Key key;
  put_device(B, std::nullopt, key.pub_hex());
  plugin = std::filesystem::path(CHARGEHUB_BIN_DIR).parent_path() / "lib/asan/chargehub_auth.so";
  chargehub::testing::write_file(auth_cache, "{corrupt");  // logged and ignored
  start_broker("plugin_opt_stats_log_s 1\n", /*with_core=*/false);
  for (int i = 0; i < 500; ++i)  // a snapshot over 64 KiB: parsed on the plugin's background thread
    db.put({std::to_string(862000000000000LL + i), std::string(64, 'a'), std::nullopt, 0, std::nullopt, true});
  start_core(/*announce=*/false);  // the plugin asks; the core answers
  ASSERT_TRUE(wait_for_snapshot());
  // The sanitizer runtime and the ASan build of the plugin are really in the broker process.
  std::string maps = chargehub::testing::read_file("/proc/" + std::to_string(broker->pid()) + "/maps");
  ASSERT_NE(maps.find("libasan"), std::string::npos);
  ASSERT_NE(maps.find("lib/asan/chargehub_auth.so"), std::string::npos);

  auto a = connect(charger(A, ta.password()));
  ASSERT_EQ(a->connack(), 0);
  EXPECT_EQ(a->subscribe("chg/v1/" + A + "/down/#"), 1);
  EXPECT_EQ(a->subscribe("$share/x/#"), 0x87);
  EXPECT_EQ(a->publish("chg/v1/" + B + "/up/meter", "x"), 0x87);
  auto b = connect(charger(B, key.password(B, now_ms())));
  ASSERT_EQ(b->connack(), 0);
  EXPECT_NE(Mqtt(broker->port(), charger(B, key.password(B, now_ms() - 1000))).connack(), 0);
  Token wrong;
  for (int i = 0; i < 8; ++i) EXPECT_NE(Mqtt(broker->port(), charger(A, wrong.password(), 4)).connack(), 0);
  for (auto user : {std::string(60000, 'x'), std::string("\xff\xfe"), std::string("a\0b", 3), std::string("")})
    EXPECT_NE(raw_connect(broker->port(), "x", user, std::string(70000, 'p')), 0);

  auto c = connect(core());
  ASSERT_EQ(c->connack(), 0);
  ASSERT_EQ(c->subscribe("$CONTROL/chargehub-auth/v1/response"), 1);
  Token tc;
  EXPECT_EQ(c->publish("$CONTROL/chargehub-auth/v1",
                       R"({"commands":[{"command":"get_stats"},{"command":"set_device","id":"5","token_hash":")" +
                           tc.hash_hex() + R"("},{"command":"disable_device","id":")" + B + R"("},{"command":"x"}]})"),
            0);
  EXPECT_EQ(c->publish("$CONTROL/chargehub-auth/v1", std::string(5000, '{')), 0);
  EXPECT_TRUE(b->wait_disconnect());
  EXPECT_EQ(Mqtt(broker->port(), charger("5", tc.password())).connack(), 0);
  disable_device(A);
  EXPECT_TRUE(a->wait_disconnect());
  Token td;
  put_device("6", td.hash_hex());
  delete_device("6");
  ASSERT_EQ(test_core->send_snapshot(), 0);
  ASSERT_EQ(::kill(broker->pid(), SIGHUP), 0);
  ASSERT_TRUE(wait_for_snapshot(3)) << broker->log_text();
  EXPECT_TRUE(chargehub::testing::wait_until(
      [&] { return chargehub::testing::read_file(auth_cache).find("\"enabled\":false") != std::string::npos; }, 3s));
  chargehub::testing::make_services_file(services, {{"monitor2", "monitor"}});
  EXPECT_TRUE(broker->wait_for_log("chargehub-auth stats:"));
  EXPECT_TRUE(c->wait_message("$CONTROL/chargehub-auth/v1/response"));
  a.reset();
  b.reset();
  c.reset();

  test_core.reset();
  EXPECT_EQ(broker->stop(), 0);
  // Restarted with no core: the cache file is read back.
  start_broker("", /*with_core=*/false);
  EXPECT_TRUE(broker->wait_for_log("from the auth cache file"));
  EXPECT_EQ(Mqtt(broker->port(), charger(B, key.password(B, now_ms()))).connack(), 0);  // the core's truth
  EXPECT_NE(Mqtt(broker->port(), charger(A, ta.password())).connack(), 0);            // disabled
  EXPECT_EQ(broker->stop(), 0);
  std::string reports;
  for (auto& e : std::filesystem::directory_iterator(dir->path()))
    if (e.path().filename().string().rfind("asan", 0) == 0) reports += chargehub::testing::read_file(e.path());
  EXPECT_EQ(reports, "");
  EXPECT_EQ(broker->log_text().find("ERROR: AddressSanitizer"), std::string::npos);
}
