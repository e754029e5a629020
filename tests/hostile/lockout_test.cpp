// Issue 19.4: a charger cannot be locked out by anyone who knows its IMEI. Wrong logins under its
// username at well over 20 a second, straight to the broker and through the bridge, while the real
// charger logs in again and again: every real login gets in, quickly; the attacker through the bridge
// is answered "busy" (LOGIN result 4) once deferred. Many chargers behind one address all log in,
// even with one of them failing all the time.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <fstream>
#include <thread>

#include "fixture.hpp"
#include "harness.hpp"

using namespace chargehub::plugintest;
using chargehub::testkeys::Token;
namespace bt = chargehub::bridgetest;
namespace proto = chargehub::proto;

namespace {

const std::string kVictim = "861234567890123";

struct Latencies {
  std::vector<double> ms;
  void add(std::chrono::steady_clock::duration d) { ms.push_back(std::chrono::duration<double, std::milli>(d).count()); }
  double pct(double p) {
    if (ms.empty()) return 0;
    std::sort(ms.begin(), ms.end());
    return ms[std::min(ms.size() - 1, static_cast<std::size_t>(p * static_cast<double>(ms.size())))];
  }
};

// Wrong logins in a loop from `bind` until stopped; counts them.
struct Attacker {
  std::atomic<bool> stop{false};
  std::atomic<int> attempts{0};
  std::thread t;
  template <class F>
  explicit Attacker(F one) : t([this, one] {
    while (!stop) {
      one();
      ++attempts;
    }
  }) {}
  ~Attacker() { halt(); }
  void halt() {
    stop = true;
    if (t.joinable()) t.join();
  }
};

class Lockout : public PluginTest {};

}  // namespace

TEST_F(Lockout, WrongLoginsStraightToTheBrokerNeverKeepTheRealChargerOut) {
  auto real = add_charger(kVictim);
  // Small back-off so the whole range (free failures, blocks, doubling) is crossed within the test.
  start_broker("plugin_opt_throttle_user_free 3\nplugin_opt_throttle_addr_free 10\nplugin_opt_throttle_base_ms 200\n"
               "plugin_opt_throttle_max_ms 2000\n");
  Token wrong;
  // Two attackers: one at its own address, one at the real charger's own address (a shared carrier NAT).
  Attacker away([&] { raw_connect(broker->port(), kVictim, kVictim, wrong.password(), "127.0.0.2"); });
  Attacker same([&] { raw_connect(broker->port(), kVictim, kVictim, wrong.password(), "127.0.0.3"); });
  ASSERT_TRUE(chargehub::testing::wait_until([&] { return away.attempts + same.attempts >= 40; }, 5s));
  Latencies lat;
  int ok = 0, tries = 40;
  int attacks_before = away.attempts + same.attempts;
  auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < tries; ++i) {  // the real charger logs in every 50 ms for 2 s
    auto o = charger(kVictim, real.password(), i % 2 ? 5 : 4);
    o.bind_address = "127.0.0.3";
    auto s = std::chrono::steady_clock::now();
    ok += Mqtt(broker->port(), o).connack() == 0;
    lat.add(std::chrono::steady_clock::now() - s);
    std::this_thread::sleep_until(t0 + (i + 1) * 50ms);
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  int attacks = away.attempts + same.attempts - attacks_before;
  away.halt();
  same.halt();
  double rate = attacks / secs;
  EXPECT_EQ(ok, tries);
  EXPECT_GT(rate, 20.0);
  EXPECT_LT(lat.pct(0.99), 1000.0);
  EXPECT_TRUE(chargehub::testing::wait_until(
      [&] { auto s = status(); return s.find("\nthrottled: ") != std::string::npos && s.find("\nthrottled: 0\n") == std::string::npos; }, 5s))
      << status();
  std::printf("FIGURE broker-direct: %d of %d real logins admitted during %d wrong logins (%.0f/s) from two addresses; "
              "login latency p50 %.1f ms, p99 %.1f ms, max %.1f ms\n",
              ok, tries, attacks, rate, lat.pct(0.5), lat.pct(0.99), lat.pct(1.0));
}

TEST_F(Lockout, ForgedEd25519LoginsNeverKeepTheRealChargerOut) {
  chargehub::testkeys::Ed25519Key real, forger;
  put_device(kVictim, std::nullopt, real.pub_hex());
  start_broker("plugin_opt_throttle_user_free 3\nplugin_opt_throttle_addr_free 10\nplugin_opt_throttle_base_ms 200\n");
  // Fresh timestamps, signatures by another key: each one costs the broker a verification.
  Attacker away([&] {
    raw_connect(broker->port(), kVictim, kVictim, forger.password(kVictim, chargehub::testkeys::now_ms()), "127.0.0.2");
  });
  Attacker same([&] {
    raw_connect(broker->port(), kVictim, kVictim, forger.password(kVictim, chargehub::testkeys::now_ms()), "127.0.0.3");
  });
  ASSERT_TRUE(chargehub::testing::wait_until([&] { return away.attempts + same.attempts >= 40; }, 5s));
  Latencies lat;
  int ok = 0, tries = 20;
  int attacks_before = away.attempts + same.attempts;
  auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < tries; ++i) {
    auto o = charger(kVictim, real.password(kVictim, chargehub::testkeys::now_ms()));
    o.bind_address = "127.0.0.3";
    auto s = std::chrono::steady_clock::now();
    ok += Mqtt(broker->port(), o).connack() == 0;
    lat.add(std::chrono::steady_clock::now() - s);
    std::this_thread::sleep_until(t0 + (i + 1) * 50ms);
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  int attacks = away.attempts + same.attempts - attacks_before;
  away.halt();
  same.halt();
  EXPECT_EQ(ok, tries);
  EXPECT_LT(lat.pct(0.99), 1000.0);
  std::printf("FIGURE broker-ed25519: %d of %d real Ed25519 logins admitted during %d forged ones (%.0f/s) from two "
              "addresses; login latency p50 %.1f ms, p99 %.1f ms\n",
              ok, tries, attacks, attacks / secs, lat.pct(0.5), lat.pct(0.99));
}

TEST_F(Lockout, WrongLoginsThroughTheBridgeNeverKeepTheRealChargerOutAndTheAttackerIsToldBusy) {
  auto real = add_charger(kVictim);
  // The bridge connects from 127.0.0.1: its address is not a source (only username + address counts).
  start_broker("plugin_opt_throttle_addr_exempt 127.0.0.1\n");
  auto secret_file = dir->path() / "bridge-a.secret";
  std::ofstream(secret_file) << secrets["bridge-a"] << "\n";
  bt::BridgeProcess bridge(*dir, broker->port(),
                           {"--name", "a", "--secret-file", secret_file.string(), "--login-free-device", "3",
                            "--login-backoff-ms", "500", "--login-backoff-max-ms", "4000", "--refuse-close-ms", "100",
                            "--max-frames-per-s", "1000"});
  proto::DeviceId victim = std::stoull(kVictim);
  std::atomic<int> told_bad{0}, told_busy{0};
  // The attacker: one link from 127.0.0.2, LOGINs with a wrong token under the victim's IMEI, 40 a second.
  Attacker attacker([&] {
    auto link = bt::FakeLink::tcp(bridge.port(), "127.0.0.2");  // a new TCP connection per attempt
    bt::FakeCharger ch{*link, victim};
    ch.token = std::vector<uint8_t>(16, 0x66);
    auto r = ch.login(2s);
    if (r && r->result == proto::LoginResult::BadCredentials) ++told_bad;
    if (r && r->result == proto::LoginResult::Busy) ++told_busy;
    std::this_thread::sleep_for(20ms);
  });
  ASSERT_TRUE(chargehub::testing::wait_until([&] { return told_busy >= 1; }, 10s)) << bridge.log();
  Latencies lat;
  int ok = 0, tries = 20;
  int attacks_before = attacker.attempts, bad_before = told_bad, busy_before = told_busy;
  auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < tries; ++i) {  // the real charger logs in every 100 ms for 2 s
    std::this_thread::sleep_until(t0 + i * 100ms);
    auto link = bt::FakeLink::tcp(bridge.port(), "127.0.0.3");
    bt::FakeCharger ch{*link, victim};
    ch.token = real.raw;
    auto s = std::chrono::steady_clock::now();
    auto r = ch.login(5s);
    lat.add(std::chrono::steady_clock::now() - s);
    ok += r && r->result == proto::LoginResult::Ok;
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  int attacks = attacker.attempts - attacks_before, bad = told_bad - bad_before, busy = told_busy - busy_before;
  attacker.halt();
  EXPECT_EQ(ok, tries);
  EXPECT_LT(lat.pct(0.99), 1000.0);
  EXPECT_GT(attacks / secs, 20.0);
  EXPECT_GT(busy, bad);
  EXPECT_LE(bad, 3);  // after the free refusals, one per back-off (0.5, 1, 2, 4 s) at most
  std::printf("FIGURE bridge: %d of %d real logins through the bridge admitted in %.1f s while an attacker at another "
              "address sent %d wrong LOGINs meanwhile (answered 2: %d, 4 busy: %d); login latency p50 %.1f ms, p99 %.1f ms, "
              "max %.1f ms\n",
              ok, tries, secs, attacks, bad, busy, lat.pct(0.5), lat.pct(0.99),
              lat.pct(1.0));
}

TEST_F(Lockout, ManyChargersFromOneAddressAllLogInWhileOneOfThemKeepsFailing) {
  constexpr int n = 200;
  std::vector<Token> tokens;
  for (int i = 0; i < n; ++i) tokens.push_back(add_charger(std::to_string(861000000000000ULL + i)));
  start_broker("plugin_opt_throttle_user_free 2\nplugin_opt_throttle_addr_free 5\nplugin_opt_throttle_base_ms 5000\n");
  Token wrong;
  // One misconfigured charger behind the same NAT address, far past the per-address free failures.
  for (int i = 0; i < 30; ++i)
    EXPECT_NE(raw_connect(broker->port(), "861000000099999", std::string("861000000099999"), wrong.password(), "127.0.0.4"), 0);
  int ok = 0;
  auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < n; ++i) {
    std::string id = std::to_string(861000000000000ULL + i);
    ok += raw_connect(broker->port(), id, id, tokens[static_cast<std::size_t>(i)].password(), "127.0.0.4") == 0;
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_EQ(ok, n);
  std::printf("FIGURE nat-direct: %d of %d chargers from one address logged in (%.2f s) after 30 wrong logins from it\n",
              ok, n, secs);
}

TEST_F(Lockout, ManyChargersBehindOneAddressAllLogInThroughTheBridge) {
  constexpr int n = 50;
  std::vector<Token> tokens;
  for (int i = 0; i < n; ++i) tokens.push_back(add_charger(std::to_string(862000000000000ULL + i)));
  start_broker("plugin_opt_throttle_addr_exempt 127.0.0.1\n");
  bt::BridgeProcess bridge(*dir, broker->port(),
                           {"--login-free-device", "1", "--login-free-peer", "3", "--login-backoff-ms", "5000",
                            "--refuse-close-ms", "100"});
  // One charger with a wrong token behind the NAT address keeps trying (deferred after its first refusals).
  for (int i = 0; i < 8; ++i) {
    auto link = bt::FakeLink::tcp(bridge.port(), "127.0.0.5");
    bt::FakeCharger bad{*link, 862000000099999ULL};
    bad.token = std::vector<uint8_t>(16, 0x13);
    auto r = bad.login(3s);
    ASSERT_TRUE(r);
    EXPECT_NE(r->result, proto::LoginResult::Ok);
  }
  std::vector<std::unique_ptr<bt::FakeLink>> links;
  int ok = 0;
  for (int i = 0; i < n; ++i) {
    links.push_back(bt::FakeLink::tcp(bridge.port(), "127.0.0.5"));
    bt::FakeCharger ch{*links.back(), 862000000000000ULL + static_cast<proto::DeviceId>(i)};
    ch.token = tokens[static_cast<std::size_t>(i)].raw;
    auto r = ch.login(5s);
    ok += r && r->result == proto::LoginResult::Ok;
  }
  EXPECT_EQ(ok, n);
  std::printf("FIGURE nat-bridge: %d of %d chargers behind one address logged in through the bridge\n", ok, n);
}
