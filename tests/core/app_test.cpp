// The core's use cases on a real database, each test on SQLite and on PostgreSQL: sessions, holds,
// settlement exactly once, the ledger, cards, telemetry rules, reconciliation.
#include <gtest/gtest.h>

#include <random>

#include "app/app.hpp"
#include "chargehub/payloads.hpp"
#include "db/db.hpp"
#include "pg.hpp"
#include "testsupport.hpp"

using namespace chargehub;
using namespace chargehub::core;
using chargehub::testing::TempDir;
namespace fs = std::filesystem;
namespace json = boost::json;

namespace {
constexpr int64_t T0 = 1795500000;
// Long enough after T0 for any stop record end_of() makes to be physically possible (the meter check).
constexpr int64_t TLate = T0 + 12 * 3600;

struct AppTest : ::testing::TestWithParam<sql::Dialect> {
  TempDir dir{"core-app"};
  std::string url;
  std::unique_ptr<sql::Db> db;
  std::unique_ptr<App> app;
  uint64_t reading_commits = sql::commits_while_reading();

  void SetUp() override {
    url = GetParam() == sql::Dialect::Sqlite ? "sqlite://" + (dir / "core.db").string() : chargehub::testing::fresh_database_url();
    reopen();
  }
  // The core "restarts": a new connection on the same database.
  void reopen() {
    app.reset();
    db.reset();
    db = sql::open(url);
    app = std::make_unique<App>(*db);
  }
  // No operation may commit while one of its lookups is still stepping (the WAL would stop checkpointing).
  void TearDown() override { EXPECT_EQ(sql::commits_while_reading(), reading_commits); }

  std::string device(const std::string& id = "861234567890123", bool online = true) {
    EXPECT_TRUE(app->devices.create(NewDevice{id, "东门充电站 1号桩", 10, 1, std::string(64, 'a'), {}}, T0));
    if (online) app->devices.online(id, true, T0);
    return id;
  }
  int64_t rider(int64_t fen) {
    auto r = app->wallets.create_rider(chargehub::core::Scope::platform(), "张三", "13800000000", T0);
    if (fen) EXPECT_TRUE(app->wallets.topup(chargehub::core::Scope::platform(), r.id, fen, 0, "", T0));
    return r.id;
  }
  StartTicket open(const std::string& dev, int64_t port, int64_t rider_id, int64_t fen) {
    auto t = app->sessions.open(chargehub::core::Scope::platform(), OpenRequest{dev, port, rider_id, fen, false, 0, Origin{"test", "operator"}}, T0);
    EXPECT_TRUE(t) << t.refusal.code;
    return *t.value;
  }
  // A plausible stop record for `wh`: at least an hour, at most 2,000 W on average (arrive at TLate).
  proto::SessionEnd end_of(const SessionRow& s, uint32_t wh, uint8_t reason = 1) {
    uint32_t duration = std::max<uint32_t>(3600, wh * 3600 / 2000);
    auto peak = static_cast<uint16_t>(std::clamp<uint32_t>(wh * 3600 / duration + 10, 200, 2200));
    return proto::SessionEnd{static_cast<uint8_t>(s.port), static_cast<uint32_t>(s.id), reason, T0, duration, wh, peak};
  }
  EndOutcome end(const std::string& dev, const std::string& msg, const proto::SessionEnd& e, int64_t t) {
    return app->sessions.end_reported(dev, msg, e, t);
  }
  ReplyEffect reply(const std::string& dev, json::object r, int64_t t) { return app->commands.replied(dev, r, t); }
  FollowUp meter(const std::string& dev, const proto::Meter& m, int64_t t) { return app->telemetry.meter(dev, m, t, {}); }
  // A QUERY_PORTS answer for the device, through the commands use case.
  FollowUp reconcile(const std::string& dev, json::array ports, int64_t t) {
    auto c = app->commands.queue_system(dev, "query_ports", "test", t, 60);
    app->commands.sent(c.id, t);
    return reply(dev, json::object{{"id", c.id}, {"result", 0}, {"ports", std::move(ports)}}, t).follow;
  }
  int alarm_n = 0;
  FollowUp alarm(const std::string& dev, const proto::Alarm& a, int64_t t) {
    return app->alarms.raised(dev, "alarm-" + std::to_string(++alarm_n), a, t).follow;
  }
};

std::string backend_name(const ::testing::TestParamInfo<sql::Dialect>& i) {
  return i.param == sql::Dialect::Sqlite ? "Sqlite" : "Postgres";
}
}  // namespace

TEST_P(AppTest, MigratesOnceAndReopens) {
  int latest = sql::migrations(GetParam()).back().version;
  EXPECT_GE(latest, 2);
  EXPECT_EQ(app->schema_version(), latest);
  reopen();
  EXPECT_EQ(app->schema_version(), latest);
}

TEST_P(AppTest, DeviceCreationBumpsTheAuthRevisionAndKeepsChineseNames) {
  auto id = device();
  auto d = app->devices.get(chargehub::core::Scope::platform(), id);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->name, "东门充电站 1号桩");
  EXPECT_EQ(d->port_states.size(), 10u);
  EXPECT_FALSE(app->devices.create(NewDevice{id, "", 10, 1, {}, {}}, T0));
  EXPECT_EQ(app->devices.credentials_rev(), 2);
}

TEST_P(AppTest, TopupWritesTheLedger) {
  int64_t r = rider(0);
  auto after = app->wallets.topup(chargehub::core::Scope::platform(), r, 1000, 100, "充值套餐", T0);
  ASSERT_TRUE(after);
  EXPECT_EQ(after.value->balance_fen, 1100);
  EXPECT_EQ(app->wallets.ledger_sum(r), 1100);
  EXPECT_EQ(app->wallets.ledger(chargehub::core::Scope::platform(), r, 10).size(), 2u);
  EXPECT_FALSE(app->wallets.topup(chargehub::core::Scope::platform(), r, 0, 0, "", T0));
  EXPECT_FALSE(app->wallets.topup(chargehub::core::Scope::platform(), r, -5, 0, "", T0));
  EXPECT_EQ(app->wallets.topup(chargehub::core::Scope::platform(), 999, 10, 0, "", T0).refusal.code, "rider_not_found");
}

TEST_P(AppTest, OpeningASessionHoldsFundsAndQueuesStart) {
  auto dev = device();
  int64_t r = rider(1000);
  auto t = open(dev, 3, r, 500);
  EXPECT_EQ(t.session.state, session::State::Requested);
  EXPECT_EQ(t.session.prepaid_fen, 500);
  EXPECT_EQ(t.session.mode, 2);                 // energy limit under the default plan
  EXPECT_EQ(t.session.limit_value, 5000);       // 500 fen at 100 fen/kWh
  EXPECT_EQ(t.command.op, "start");
  EXPECT_EQ(t.command.args.at("session").to_number<int64_t>(), t.session.id);
  auto rd = app->wallets.rider(chargehub::core::Scope::platform(), r);
  EXPECT_EQ(rd->held_fen, 500);
  EXPECT_EQ(rd->available_fen(), 500);
  app->commands.sent(t.command.id, T0);
  EXPECT_EQ(app->sessions.get(chargehub::core::Scope::platform(), t.session.id)->state, session::State::Starting);
}

TEST_P(AppTest, RefusalsNameTheReason) {
  auto dev = device();
  auto off = device("861234567890124", false);
  int64_t r = rider(300);
  auto try_open = [&](std::string d, int64_t port, int64_t rid, int64_t fen) {
    return app->sessions.open(chargehub::core::Scope::platform(), OpenRequest{d, port, rid, fen, false, 0, Origin{"test", "operator"}}, T0).refusal.code;
  };
  EXPECT_EQ(try_open(dev, 1, r, 500), "insufficient_funds");
  EXPECT_EQ(try_open(off, 1, r, 100), "device_offline");
  EXPECT_EQ(try_open("999", 1, r, 100), "device_not_found");
  EXPECT_EQ(try_open(dev, 11, r, 100), "bad_port");
  EXPECT_EQ(try_open(dev, 1, 77, 100), "rider_not_found");
  EXPECT_EQ(try_open(dev, 1, r, 0), "bad_amount");
  open(dev, 1, r, 100);
  EXPECT_EQ(try_open(dev, 1, r, 100), "port_busy");
  EXPECT_EQ(try_open(dev, 2, r, 201), "insufficient_funds");   // 100 of 300 held already
}

TEST_P(AppTest, SettlementHappensExactlyOncePerMsg) {
  auto dev = device();
  int64_t r = rider(1000);
  auto t = open(dev, 3, r, 500);
  app->commands.sent(t.command.id, T0);
  reply(dev, boost::json::object{{"id", t.command.id}, {"result", 0}}, T0 + 1);
  EXPECT_EQ(app->sessions.get(chargehub::core::Scope::platform(), t.session.id)->state, session::State::Charging);
  auto e = end_of(t.session, 812);
  std::string msg = payloads::make_msg(861234567890123ULL, proto::Cmd::SessionEnd, t.session.id);
  for (int copy = 0; copy < 3; ++copy) {
    auto out = end(dev, msg, e, TLate);
    EXPECT_EQ(out.ack.re, msg);
    EXPECT_EQ(out.ack.result, 0);
    EXPECT_EQ(out.duplicate, copy > 0);
  }
  auto s = app->sessions.get(chargehub::core::Scope::platform(), t.session.id);
  EXPECT_EQ(s->state, session::State::Settled);
  EXPECT_EQ(s->energy_wh, 812);
  EXPECT_EQ(s->amount_fen, 81);   // 812 Wh at 1.00 yuan/kWh, rounded down
  auto rd = app->wallets.rider(chargehub::core::Scope::platform(), r);
  EXPECT_EQ(rd->balance_fen, 1000 - 81);
  EXPECT_EQ(rd->held_fen, 0);
  EXPECT_EQ(app->wallets.ledger_sum(r), rd->balance_fen);
}

TEST_P(AppTest, DeduplicationSurvivesARestart) {
  auto dev = device();
  int64_t r = rider(1000);
  auto t = open(dev, 1, r, 500);
  auto e = end_of(t.session, 300);
  end(dev, "m-1", e, TLate);
  reopen();   // the core "crashes" after committing, before acking
  EXPECT_TRUE(end(dev, "m-1", e, TLate + 5).duplicate);
  EXPECT_EQ(app->wallets.rider(chargehub::core::Scope::platform(), r)->balance_fen, 1000 - 30);
}

TEST_P(AppTest, RefusedStartReleasesTheHold) {
  auto dev = device();
  int64_t r = rider(1000);
  auto t = open(dev, 2, r, 400);
  app->commands.sent(t.command.id, T0);
  auto eff = reply(dev, boost::json::object{{"id", t.command.id}, {"result", 2}}, T0 + 1);
  ASSERT_TRUE(eff.session);
  EXPECT_EQ(eff.session->state, session::State::Rejected);
  EXPECT_EQ(app->wallets.rider(chargehub::core::Scope::platform(), r)->held_fen, 0);
  EXPECT_TRUE(reply(dev, boost::json::object{{"id", t.command.id}, {"result", 0}}, T0 + 2).duplicate);
  EXPECT_EQ(app->commands.get(t.command.id)->state, CommandState::Replied);
  open(dev, 2, r, 400);   // the port is free again
}

TEST_P(AppTest, UnansweredStartTimesOutAndALateEndStillBills) {
  auto dev = device();
  int64_t r = rider(1000);
  auto t = open(dev, 4, r, 300);
  app->commands.sent(t.command.id, T0);
  auto expired = app->sessions.expire_starts(T0 + 1, T0 + 100);
  ASSERT_EQ(expired.size(), 1u);
  EXPECT_EQ(app->wallets.rider(chargehub::core::Scope::platform(), r)->held_fen, 0);
  EXPECT_EQ(app->sessions.get(chargehub::core::Scope::platform(), t.session.id)->state, session::State::StartTimedOut);
  end(dev, "late", end_of(t.session, 2000), TLate);
  auto s = app->sessions.get(chargehub::core::Scope::platform(), t.session.id);
  EXPECT_EQ(s->state, session::State::Settled);
  EXPECT_EQ(s->amount_fen, 200);
  EXPECT_EQ(app->wallets.rider(chargehub::core::Scope::platform(), r)->balance_fen, 800);
}

TEST_P(AppTest, MeterReadingsConfirmTheStartAndFollowEnergy) {
  auto dev = device();
  int64_t r = rider(1000);
  auto t = open(dev, 3, r, 500);
  app->commands.sent(t.command.id, T0);
  proto::Meter m{{proto::MeterPort{3, static_cast<uint32_t>(t.session.id), 180, 120, 600, 540, 3300},
                  proto::MeterPort{5, 424242, 100, 10, 60, 540, 1000}}};
  meter(dev, m, T0 + 600);
  auto s = app->sessions.get(chargehub::core::Scope::platform(), t.session.id);
  EXPECT_EQ(s->state, session::State::Charging);
  EXPECT_EQ(s->energy_wh, 120);
  EXPECT_EQ(s->power_w, 180);
  EXPECT_EQ(app->sessions.samples(chargehub::core::Scope::platform(), t.session.id, 10).size(), 1u);
  // An older reading arriving late never moves energy backwards.
  meter(dev, proto::Meter{{proto::MeterPort{3, static_cast<uint32_t>(t.session.id), 150, 100, 500, 540, 3000}}}, T0 + 601);
  EXPECT_EQ(app->sessions.get(chargehub::core::Scope::platform(), t.session.id)->energy_wh, 120);
}

TEST_P(AppTest, UnknownSessionEndIsAckedAndRecordedOnce) {
  auto dev = device();
  auto out = end(dev, "x-1", proto::SessionEnd{1, 0, 1, T0, 10, 5, 50}, T0);
  EXPECT_EQ(out.ack.result, 0);
  EXPECT_TRUE(out.orphan_id);
  EXPECT_EQ(out.note.rfind("unknown session", 0), 0u);
}

TEST_P(AppTest, LedgerIsAppendOnly) {
  int64_t r = rider(100);
  auto raw = sql::open(url);
  EXPECT_THROW(raw->exec("UPDATE ledger SET amount_fen = 1"), sql::Error);
  EXPECT_THROW(raw->exec("DELETE FROM ledger"), sql::Error);
  EXPECT_EQ(app->wallets.ledger_sum(r), 100);
}

// Property: whatever the mix of top-ups, sessions, refusals and duplicate ends, every wallet's balance
// equals its ledger's sum, holds equal the open sessions' prepayments, and nobody goes negative.
TEST_P(AppTest, WalletInvariantsHoldUnderRandomOperations) {
  std::mt19937 rng(42);
  auto dev = device();
  std::vector<int64_t> riders{rider(500), rider(2000), rider(0)};
  std::vector<StartTicket> open_sessions;
  for (int step = 0; step < 400; ++step) {
    int op = rng() % 5;
    int64_t r = riders[rng() % riders.size()];
    if (op == 0) {
      app->wallets.topup(chargehub::core::Scope::platform(), r, 1 + rng() % 500, rng() % 2 ? 0 : 10, "", T0);
    } else if (op == 1) {
      auto t = app->sessions.open(chargehub::core::Scope::platform(), OpenRequest{dev, int64_t(1 + rng() % 10), r, int64_t(1 + rng() % 600), false, 0, Origin{"test", "operator"}}, T0);
      if (t) {
        app->commands.sent(t.value->command.id, T0);
        open_sessions.push_back(*t.value);
      }
    } else if (op == 2 && !open_sessions.empty()) {
      auto& t = open_sessions[rng() % open_sessions.size()];
      std::string msg = "end-" + std::to_string(t.session.id);
      end(dev, msg, end_of(t.session, rng() % 8000), TLate);
      end(dev, msg, end_of(t.session, rng() % 8000), TLate);   // a copy with other numbers changes nothing
    } else if (op == 3 && !open_sessions.empty()) {
      auto& t = open_sessions[rng() % open_sessions.size()];
      reply(dev, boost::json::object{{"id", t.command.id}, {"result", int(rng() % 3)}}, T0);
    } else if (op == 4) {
      app->sessions.expire_starts(T0 - (rng() % 2), T0);
    }
    for (int64_t id : riders) {
      auto rd = app->wallets.rider(chargehub::core::Scope::platform(), id);
      ASSERT_EQ(rd->balance_fen, app->wallets.ledger_sum(id)) << "step " << step;
      ASSERT_GE(rd->balance_fen, 0);
      ASSERT_GE(rd->available_fen(), 0);
      int64_t held = 0;
      for (auto& s : app->sessions.list(chargehub::core::Scope::platform(), SessionFilter{id, std::nullopt, std::nullopt, 500, std::nullopt}))
        if (session::holds_port(s.state)) held += s.prepaid_fen;
      ASSERT_EQ(rd->held_fen, held) << "step " << step;
    }
  }
}

TEST_P(AppTest, ReconcileStopsUnknownPortsAndSettlesLostSessions) {
  auto dev = device();
  int64_t r = rider(1000);
  auto t = open(dev, 2, r, 500);
  app->commands.sent(t.command.id, T0);
  meter(dev, proto::Meter{{proto::MeterPort{2, static_cast<uint32_t>(t.session.id), 200, 250, 4000, 540, 3700}}}, T0 + 4060);
  // The charger rebooted: port 2 is idle, and port 7 charges a session nobody knows.
  json::array ports;
  for (int p = 1; p <= 10; ++p)
    ports.push_back(json::object{{"port", p}, {"state", p == 7 ? 1 : 0}, {"session", p == 7 ? 987654 : 0}, {"power_w", 0}, {"energy_wh", 0}, {"elapsed_s", 0}});
  auto f = reconcile(dev, ports, T0 + 4120);
  ASSERT_EQ(f.settled.size(), 1u);
  EXPECT_EQ(f.settled[0].state, session::State::Settled);
  EXPECT_EQ(f.settled[0].energy_wh, 250);
  EXPECT_EQ(f.settled[0].amount_fen, 25);
  ASSERT_EQ(f.commands.size(), 1u);
  EXPECT_EQ(f.commands[0].op, "stop");
  EXPECT_EQ(f.commands[0].args.at("port").to_number<int>(), 7);
  auto rd = app->wallets.rider(chargehub::core::Scope::platform(), r);
  EXPECT_EQ(rd->balance_fen, 975);
  EXPECT_EQ(rd->held_fen, 0);
  // A late SESSION_END for the lost session changes nothing.
  EXPECT_FALSE(end(dev, "late", end_of(t.session, 400), T0 + 4130).settled);
  EXPECT_EQ(app->wallets.rider(chargehub::core::Scope::platform(), r)->balance_fen, 975);
}

TEST_P(AppTest, ReconcileLeavesSessionsTheChargerRunsAndYoungStarts) {
  auto dev = device();
  int64_t r = rider(1000);
  auto running = open(dev, 1, r, 100);
  meter(dev, proto::Meter{{proto::MeterPort{1, static_cast<uint32_t>(running.session.id), 200, 5, 60, 540, 3700}}}, T0);
  auto young = open(dev, 2, r, 100);
  json::array ports{json::object{{"port", 1}, {"state", 1}, {"session", running.session.id}, {"power_w", 200}, {"energy_wh", 5}, {"elapsed_s", 60}}};
  auto f = reconcile(dev, ports, T0 + 10);
  EXPECT_TRUE(f.settled.empty());
  EXPECT_TRUE(f.commands.empty());
  EXPECT_EQ(app->sessions.get(chargehub::core::Scope::platform(), young.session.id)->state, session::State::Requested);
}

TEST_P(AppTest, CardSwipesStartStopAndRefuse) {
  auto dev = device();
  auto own = app->cards.create(chargehub::core::Scope::platform(), "04A1B2C3", std::nullopt, T0);
  ASSERT_TRUE(own);
  EXPECT_FALSE(app->cards.create(chargehub::core::Scope::platform(), "04A1B2C3", std::nullopt, T0));
  EXPECT_FALSE(app->cards.create(chargehub::core::Scope::platform(), "zz", std::nullopt, T0));
  rules::CardRules rules{300, 50};
  auto swipe = [&](std::string msg, std::string uid, uint8_t port, FollowUp* f) {
    proto::Card c{proto::from_hex(uid), port};
    auto out = app->cards.swipe(dev, msg, c, T0, rules, 60);
    f->add(std::move(out.follow));
    return payloads::ack(out.ack);
  };
  FollowUp f;
  EXPECT_EQ(swipe("m1", "04A1B2C3", 2, &f).at("result").to_number<int>(), 1);   // no money on it yet
  app->wallets.topup(chargehub::core::Scope::platform(), own.value->rider_id, 1000, 0, "", T0);
  auto a = swipe("m2", "04A1B2C3", 2, &f);
  EXPECT_EQ(a.at("result").to_number<int>(), 0);
  EXPECT_EQ(a.at("balance_fen").to_number<int>(), 700);
  ASSERT_EQ(f.commands.size(), 1u);
  EXPECT_EQ(f.commands[0].op, "start");
  // The same report again: the same answer, nothing new.
  FollowUp again;
  EXPECT_EQ(swipe("m2", "04A1B2C3", 2, &again), a);
  EXPECT_TRUE(again.commands.empty());
  EXPECT_EQ(swipe("m3", "DEADBEEF", 3, &f).at("result").to_number<int>(), 2);    // unknown card
  auto other = app->cards.create(chargehub::core::Scope::platform(), "11223344", rider(500), T0);
  EXPECT_EQ(swipe("m4", "11223344", 2, &f).at("result").to_number<int>(), 4);    // port busy
  app->cards.set_state(chargehub::core::Scope::platform(), "11223344", "lost");
  EXPECT_EQ(swipe("m5", "11223344", 3, &f).at("result").to_number<int>(), 3);    // reported lost
  FollowUp stop;
  EXPECT_EQ(swipe("m6", "04A1B2C3", 2, &stop).at("result").to_number<int>(), 0); // swipe again to stop
  ASSERT_EQ(stop.commands.size(), 1u);
  EXPECT_EQ(stop.commands[0].op, "stop");
}

TEST_P(AppTest, TimePlanStopsWhenPrepaidFundsRunOut) {
  auto dev = device();
  int64_t plan = app->plans.create("按时", pricing::Plan::time(100, 60), T0)->id;
  ASSERT_TRUE(app->devices.assign_plan(chargehub::core::Scope::platform(), dev, plan));
  int64_t r = rider(1000);
  auto t = open(dev, 1, r, 200);
  EXPECT_EQ(t.session.mode, 1);
  EXPECT_EQ(t.session.limit_value, 7200);
  app->commands.sent(t.command.id, T0);
  auto f = app->telemetry.meter(dev, proto::Meter{{proto::MeterPort{1, static_cast<uint32_t>(t.session.id), 200, 10, 600, 540, 3700}}}, T0 + 600, {});
  EXPECT_TRUE(f.commands.empty());
  f = app->telemetry.meter(dev, proto::Meter{{proto::MeterPort{1, static_cast<uint32_t>(t.session.id), 200, 300, 3700, 540, 3700}}}, T0 + 3700, {});
  ASSERT_EQ(f.commands.size(), 1u);
  EXPECT_EQ(f.commands[0].op, "stop");
  EXPECT_EQ(app->sessions.get(chargehub::core::Scope::platform(), t.session.id)->state, session::State::Stopping);
}

TEST_P(AppTest, PowerTierShortensTheLimitWhenTheBandRises) {
  auto dev = device();
  int64_t plan = app->plans.create("功率段", pricing::Plan::power_tier({{200, 100}, {400, 200}, {600, 300}}), T0)->id;
  app->devices.assign_plan(chargehub::core::Scope::platform(), dev, plan);
  int64_t r = rider(1000);
  auto t = open(dev, 1, r, 600);
  EXPECT_EQ(t.session.limit_value, 6 * 3600);
  app->commands.sent(t.command.id, T0);
  auto f = app->telemetry.meter(dev, proto::Meter{{proto::MeterPort{1, static_cast<uint32_t>(t.session.id), 350, 10, 60, 540, 3700}}}, T0, {});
  ASSERT_EQ(f.commands.size(), 1u);
  EXPECT_EQ(f.commands[0].op, "adjust");
  EXPECT_EQ(f.commands[0].args.at("limit").to_number<int64_t>(), 3 * 3600);
  EXPECT_EQ(app->sessions.get(chargehub::core::Scope::platform(), t.session.id)->limit_value, 3 * 3600);
}

TEST_P(AppTest, DangerousCurvesAreFlagged) {
  auto dev = device();
  int64_t r = rider(5000);
  auto t = open(dev, 1, r, 3000);
  app->commands.sent(t.command.id, T0);
  auto id = static_cast<uint32_t>(t.session.id);
  app->telemetry.meter(dev, proto::Meter{{proto::MeterPort{1, id, 240, 1000, 4 * 3600, 540, 4400}}}, T0 + 4 * 3600, {});
  EXPECT_FALSE(app->sessions.get(chargehub::core::Scope::platform(), t.session.id)->flag);
  app->telemetry.meter(dev, proto::Meter{{proto::MeterPort{1, id, 235, 1300, 6 * 3600, 540, 4300}}}, T0 + 6 * 3600, {});
  EXPECT_EQ(app->sessions.get(chargehub::core::Scope::platform(), t.session.id)->flag, "power_not_tapering");
}

TEST_P(AppTest, OverloadAlarmStopsThatPort) {
  auto dev = device();
  int64_t r = rider(1000);
  auto a = open(dev, 1, r, 100), b = open(dev, 2, r, 100);
  app->commands.sent(a.command.id, T0);
  app->commands.sent(b.command.id, T0);
  auto f = alarm(dev, proto::Alarm{3, 2, 720}, T0);
  ASSERT_EQ(f.commands.size(), 1u);
  EXPECT_EQ(f.commands[0].args.at("port").to_number<int>(), 2);
  EXPECT_TRUE(alarm(dev, proto::Alarm{1, 0, 655}, T0).commands.empty());   // a warning stops nothing
  EXPECT_EQ(alarm(dev, proto::Alarm{2, 0, 805}, T0).commands.size(), 1u);    // cut-off: the rest
}

TEST_P(AppTest, IdenticalAlarmsCollapseIntoOneRowWithACount) {
  auto dev = device();
  for (int i = 0; i < 3000; ++i) alarm(dev, proto::Alarm{1, 0, 650 + i % 7}, T0 + i / 100);  // 30 s of 100/s
  auto copy = app->alarms.raised(dev, "alarm-1", proto::Alarm{1, 0, 650}, T0 + 31);          // a copy: not counted
  EXPECT_EQ(copy.ack.result, 0);
  alarm(dev, proto::Alarm{3, 2, 720}, T0 + 40);                                               // another code: its own row
  alarm(dev, proto::Alarm{1, 0, 660}, T0 + 29 + rules::kAlarmDedupWindowS);                  // after a quiet window: new row
  auto rows = app->alarms.list(chargehub::core::Scope::platform(), dev, 100);
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[2].code, 1);
  EXPECT_EQ(rows[2].occurrences, 3000);
  EXPECT_EQ(rows[2].created_at, T0);
  EXPECT_EQ(rows[2].last_at, T0 + 29);
  EXPECT_EQ(rows[2].value, 650 + 2999 % 7);  // the latest value
  EXPECT_EQ(rows[1].code, 3);
  EXPECT_EQ(rows[1].occurrences, 1);
  EXPECT_EQ(rows[0].occurrences, 1);
}

TEST_P(AppTest, ARepeatedOverloadAlarmMergedIntoItsRowStillStopsASessionStartedSince) {
  auto dev = device();
  int64_t r = rider(1000);
  auto a = open(dev, 1, r, 100);
  app->commands.sent(a.command.id, T0);
  ASSERT_EQ(alarm(dev, proto::Alarm{4, 0, 6500}, T0).commands.size(), 1u);  // unit overload: stops port 1
  auto b = open(dev, 3, r, 100);
  app->commands.sent(b.command.id, T0 + 1);
  auto f = alarm(dev, proto::Alarm{4, 0, 6600}, T0 + 5);  // the same condition again: merged, and stops port 3
  ASSERT_EQ(f.commands.size(), 1u);
  EXPECT_EQ(f.commands[0].args.at("port").to_number<int>(), 3);
  auto rows = app->alarms.list(chargehub::core::Scope::platform(), dev, 10);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].occurrences, 2);
}

TEST_P(AppTest, OldMeterSamplesAreDownsampled) {
  auto dev = device();
  int64_t r = rider(1000);
  auto t = open(dev, 1, r, 500);
  for (int i = 0; i < 60; ++i)
    meter(dev, proto::Meter{{proto::MeterPort{1, static_cast<uint32_t>(t.session.id), 200, uint32_t(i), uint32_t(i * 60), 540, 3700}}}, T0 + i * 60);
  EXPECT_EQ(app->sessions.samples(chargehub::core::Scope::platform(), t.session.id, 1000).size(), 60u);
  app->telemetry.downsample(T0 + 30 * 60, 600);   // the first half thinned to one per 10 minutes
  EXPECT_EQ(app->sessions.samples(chargehub::core::Scope::platform(), t.session.id, 1000).size(), 30u + 3u);
}

TEST_P(AppTest, RefundsGoBackToTheWalletOnce) {
  auto dev = device();
  int64_t r = rider(1000);
  auto t = open(dev, 1, r, 500);
  end(dev, "e", end_of(t.session, 3000), TLate);
  EXPECT_EQ(app->wallets.rider(chargehub::core::Scope::platform(), r)->balance_fen, 700);
  EXPECT_FALSE(app->sessions.refund(chargehub::core::Scope::platform(), t.session.id, 301, "", T0));
  ASSERT_TRUE(app->sessions.refund(chargehub::core::Scope::platform(), t.session.id, 200, "充电异常退款", T0));
  EXPECT_EQ(app->sessions.refund(chargehub::core::Scope::platform(), t.session.id, 101, "", T0).refusal.code, "bad_amount");
  EXPECT_TRUE(app->sessions.refund(chargehub::core::Scope::platform(), t.session.id, 100, "", T0));
  EXPECT_EQ(app->wallets.rider(chargehub::core::Scope::platform(), r)->balance_fen, 1000);
  EXPECT_EQ(app->wallets.ledger_sum(r), 1000);
}

TEST_P(AppTest, ARiderCanBuyADurationOnTimePlans) {
  auto dev = device();
  int64_t r = rider(1000);
  auto refused = app->sessions.open(chargehub::core::Scope::platform(), OpenRequest{dev, 1, r, 0, false, 3600, Origin{"test", "operator"}}, T0);
  EXPECT_EQ(refused.refusal.code, "duration_not_offered");   // the default plan sells energy
  app->devices.assign_plan(chargehub::core::Scope::platform(), dev, app->plans.create("按时", pricing::Plan::time(50, 30), T0)->id);
  auto t = app->sessions.open(chargehub::core::Scope::platform(), OpenRequest{dev, 1, r, 0, false, 5400, Origin{"test", "operator"}}, T0);
  ASSERT_TRUE(t) << t.refusal.code;
  EXPECT_EQ(t.value->session.prepaid_fen, 150);   // three half-hour blocks
  EXPECT_EQ(t.value->session.mode, 1);
  EXPECT_EQ(t.value->session.limit_value, 5400);
}


INSTANTIATE_TEST_SUITE_P(Backends, AppTest, ::testing::Values(sql::Dialect::Sqlite, sql::Dialect::Postgres), backend_name);

// The WAL stays bounded under a steady stream of write transactions (the writer's checkpoints let it
// restart), whatever the total written: ingest would otherwise slow down as it grows.
TEST(SqliteWal, StaysBoundedUnderAStreamOfTransactions) {
  TempDir dir{"core-wal"};
  const auto db = dir / "core.db";
  const std::string filler(400, 'x');
  uint64_t largest = 0;
  {
    auto conn = sql::open(db.string());
    App app(*conn);
    for (int b = 0; b < 300; ++b) {
      app.batch([&] {
        for (int i = 0; i < 500; ++i)
          app.wallets.create_rider(chargehub::core::Scope::platform(), "骑手 " + std::to_string(b) + "-" + std::to_string(i) + " " + filler, "", 1);
      });
      largest = std::max<uint64_t>(largest, fs::file_size(db.string() + "-wal"));
    }
  }
  // 150,000 riders are about 80 MiB of WAL frames in all; the WAL never held much more than one
  // checkpoint interval (8,192 pages = 32 MiB).
  EXPECT_LT(largest, 40u << 20) << largest;
  auto conn = sql::open(db.string());
  App again(*conn);
  EXPECT_EQ(again.wallets.rider(chargehub::core::Scope::platform(), 150'000)->name, "骑手 299-499 " + filler);
}
