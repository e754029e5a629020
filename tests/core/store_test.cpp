// The core's store on a real SQLite file: sessions, holds, settlement exactly once, the ledger.
#include <gtest/gtest.h>

#include <random>

#include "chargehub/payloads.hpp"
#include "migrations.hpp"
#include "store.hpp"
#include "testsupport.hpp"

using namespace chargehub;
using namespace chargehub::core;
using chargehub::testing::TempDir;
namespace fs = std::filesystem;

namespace {
constexpr int64_t T0 = 1795500000;

struct StoreTest : ::testing::Test {
  TempDir dir{"core-store"};
  std::string path = (dir / "core.db").string();
  std::unique_ptr<Store> store = std::make_unique<Store>(path);
  uint64_t reading_commits = sql::commits_while_reading();
  // No operation may commit while one of its lookups is still stepping (the WAL would stop checkpointing).
  void TearDown() override { EXPECT_EQ(sql::commits_while_reading(), reading_commits); }

  std::string device(const std::string& id = "861234567890123", bool online = true) {
    EXPECT_TRUE(store->create_device(NewDevice{id, "东门充电站 1号桩", 10, 1, std::string(64, 'a'), {}}, T0));
    if (online) store->device_online(id, true, T0);
    return id;
  }
  int64_t rider(int64_t fen) {
    auto r = store->create_rider("张三", "13800000000", T0);
    if (fen) EXPECT_TRUE(store->topup(r.id, fen, 0, "", T0));
    return r.id;
  }
  StartTicket open(const std::string& dev, int64_t port, int64_t rider_id, int64_t fen) {
    auto t = store->open_session(OpenRequest{dev, port, rider_id, fen, false, 0, "test"}, T0);
    EXPECT_TRUE(t) << t.refusal.code;
    return *t.value;
  }
  proto::SessionEnd end_of(const SessionRow& s, uint32_t wh, uint8_t reason = 1) {
    return proto::SessionEnd{static_cast<uint8_t>(s.port), static_cast<uint32_t>(s.id), reason, T0, 3600, wh, 200};
  }
};
}  // namespace

TEST_F(StoreTest, MigratesOnceAndReopens) {
  int latest = migrations().back().version;
  EXPECT_GE(latest, 2);
  EXPECT_EQ(store->schema_version(), latest);
  store.reset();
  store = std::make_unique<Store>(path);
  EXPECT_EQ(store->schema_version(), latest);
}

TEST_F(StoreTest, DeviceCreationBumpsTheAuthRevisionAndKeepsChineseNames) {
  auto id = device();
  auto d = store->device(id);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->name, "东门充电站 1号桩");
  EXPECT_EQ(d->port_states.size(), 10u);
  EXPECT_FALSE(store->create_device(NewDevice{id, "", 10, 1, {}, {}}, T0));
  sql::Db raw(path, true);
  auto st = raw.prepare("SELECT rev FROM auth_state");
  ASSERT_TRUE(st.step());
  EXPECT_EQ(st.i64(0), 2);
}

TEST_F(StoreTest, TopupWritesTheLedger) {
  int64_t r = rider(0);
  auto after = store->topup(r, 1000, 100, "充值套餐", T0);
  ASSERT_TRUE(after);
  EXPECT_EQ(after.value->balance_fen, 1100);
  EXPECT_EQ(store->ledger_sum(r), 1100);
  EXPECT_EQ(store->ledger(r, 10).size(), 2u);
  EXPECT_FALSE(store->topup(r, 0, 0, "", T0));
  EXPECT_FALSE(store->topup(r, -5, 0, "", T0));
  EXPECT_EQ(store->topup(999, 10, 0, "", T0).refusal.code, "rider_not_found");
}

TEST_F(StoreTest, OpeningASessionHoldsFundsAndQueuesStart) {
  auto dev = device();
  int64_t r = rider(1000);
  auto t = open(dev, 3, r, 500);
  EXPECT_EQ(t.session.state, session::State::Requested);
  EXPECT_EQ(t.session.prepaid_fen, 500);
  EXPECT_EQ(t.session.mode, 2);                 // energy limit under the default plan
  EXPECT_EQ(t.session.limit_value, 5000);       // 500 fen at 100 fen/kWh
  EXPECT_EQ(t.command.op, "start");
  EXPECT_EQ(t.command.args.at("session").to_number<int64_t>(), t.session.id);
  auto rd = store->rider(r);
  EXPECT_EQ(rd->held_fen, 500);
  EXPECT_EQ(rd->available_fen(), 500);
  store->command_sent(t.command.id, T0);
  EXPECT_EQ(store->session(t.session.id)->state, session::State::Starting);
}

TEST_F(StoreTest, RefusalsNameTheReason) {
  auto dev = device();
  auto off = device("861234567890124", false);
  int64_t r = rider(300);
  auto try_open = [&](std::string d, int64_t port, int64_t rid, int64_t fen) {
    return store->open_session(OpenRequest{d, port, rid, fen, false, 0, "t"}, T0).refusal.code;
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

TEST_F(StoreTest, SettlementHappensExactlyOncePerMsg) {
  auto dev = device();
  int64_t r = rider(1000);
  auto t = open(dev, 3, r, 500);
  store->command_sent(t.command.id, T0);
  store->apply_reply(dev, boost::json::object{{"id", t.command.id}, {"result", 0}}, T0 + 1);
  EXPECT_EQ(store->session(t.session.id)->state, session::State::Charging);
  auto e = end_of(t.session, 812);
  std::string msg = payloads::make_msg(861234567890123ULL, proto::Cmd::SessionEnd, t.session.id);
  for (int copy = 0; copy < 3; ++copy) {
    Effect eff;
    auto ack = store->settle_end(dev, msg, e, T0 + 100, &eff);
    EXPECT_EQ(ack.at("re").as_string(), msg);
    EXPECT_EQ(ack.at("result").to_number<int>(), 0);
    EXPECT_EQ(eff.duplicate, copy > 0);
  }
  auto s = store->session(t.session.id);
  EXPECT_EQ(s->state, session::State::Settled);
  EXPECT_EQ(s->energy_wh, 812);
  EXPECT_EQ(s->amount_fen, 81);   // 812 Wh at 1.00 yuan/kWh, rounded down
  auto rd = store->rider(r);
  EXPECT_EQ(rd->balance_fen, 1000 - 81);
  EXPECT_EQ(rd->held_fen, 0);
  EXPECT_EQ(store->ledger_sum(r), rd->balance_fen);
}

TEST_F(StoreTest, DeduplicationSurvivesARestart) {
  auto dev = device();
  int64_t r = rider(1000);
  auto t = open(dev, 1, r, 500);
  auto e = end_of(t.session, 300);
  store->settle_end(dev, "m-1", e, T0);
  store.reset();   // the core "crashes" after committing, before acking
  store = std::make_unique<Store>(path);
  Effect eff;
  store->settle_end(dev, "m-1", e, T0 + 5, &eff);
  EXPECT_TRUE(eff.duplicate);
  EXPECT_EQ(store->rider(r)->balance_fen, 1000 - 30);
}

TEST_F(StoreTest, RefusedStartReleasesTheHold) {
  auto dev = device();
  int64_t r = rider(1000);
  auto t = open(dev, 2, r, 400);
  store->command_sent(t.command.id, T0);
  auto eff = store->apply_reply(dev, boost::json::object{{"id", t.command.id}, {"result", 2}}, T0 + 1);
  ASSERT_TRUE(eff.session);
  EXPECT_EQ(eff.session->state, session::State::Rejected);
  EXPECT_EQ(store->rider(r)->held_fen, 0);
  EXPECT_TRUE(store->apply_reply(dev, boost::json::object{{"id", t.command.id}, {"result", 0}}, T0 + 2).duplicate);
  EXPECT_EQ(store->command(t.command.id)->state, "replied");
  open(dev, 2, r, 400);   // the port is free again
}

TEST_F(StoreTest, UnansweredStartTimesOutAndALateEndStillBills) {
  auto dev = device();
  int64_t r = rider(1000);
  auto t = open(dev, 4, r, 300);
  store->command_sent(t.command.id, T0);
  auto expired = store->expire_starts(T0 + 1, T0 + 100);
  ASSERT_EQ(expired.size(), 1u);
  EXPECT_EQ(store->rider(r)->held_fen, 0);
  EXPECT_EQ(store->session(t.session.id)->state, session::State::StartTimedOut);
  store->settle_end(dev, "late", end_of(t.session, 2000), T0 + 200);
  auto s = store->session(t.session.id);
  EXPECT_EQ(s->state, session::State::Settled);
  EXPECT_EQ(s->amount_fen, 200);
  EXPECT_EQ(store->rider(r)->balance_fen, 800);
}

TEST_F(StoreTest, MeterReadingsConfirmTheStartAndFollowEnergy) {
  auto dev = device();
  int64_t r = rider(1000);
  auto t = open(dev, 3, r, 500);
  store->command_sent(t.command.id, T0);
  proto::Meter m{{proto::MeterPort{3, static_cast<uint32_t>(t.session.id), 180, 120, 600, 540, 3300},
                  proto::MeterPort{5, 424242, 100, 10, 60, 540, 1000}}};
  store->record_meter(dev, m, T0 + 600);
  auto s = store->session(t.session.id);
  EXPECT_EQ(s->state, session::State::Charging);
  EXPECT_EQ(s->energy_wh, 120);
  EXPECT_EQ(s->power_w, 180);
  EXPECT_EQ(store->meter_samples(t.session.id, 10).size(), 1u);
  // An older reading arriving late never moves energy backwards.
  store->record_meter(dev, proto::Meter{{proto::MeterPort{3, static_cast<uint32_t>(t.session.id), 150, 100, 500, 540, 3000}}}, T0 + 601);
  EXPECT_EQ(store->session(t.session.id)->energy_wh, 120);
}

TEST_F(StoreTest, UnknownSessionEndIsAckedAndRecordedOnce) {
  auto dev = device();
  Effect eff;
  auto ack = store->settle_end(dev, "x-1", proto::SessionEnd{1, 0, 1, T0, 10, 5, 50}, T0, &eff);
  EXPECT_EQ(ack.at("result").to_number<int>(), 0);
  EXPECT_EQ(eff.note, "unknown session");
}

TEST_F(StoreTest, LedgerIsAppendOnly) {
  int64_t r = rider(100);
  sql::Db raw(path);
  EXPECT_THROW(raw.exec("UPDATE ledger SET amount_fen = 1"), sql::Error);
  EXPECT_THROW(raw.exec("DELETE FROM ledger"), sql::Error);
  EXPECT_EQ(store->ledger_sum(r), 100);
}

// Property: whatever the mix of top-ups, sessions, refusals and duplicate ends, every wallet's balance
// equals its ledger's sum, holds equal the open sessions' prepayments, and nobody goes negative.
TEST_F(StoreTest, WalletInvariantsHoldUnderRandomOperations) {
  std::mt19937 rng(42);
  auto dev = device();
  std::vector<int64_t> riders{rider(500), rider(2000), rider(0)};
  std::vector<StartTicket> open_sessions;
  for (int step = 0; step < 400; ++step) {
    int op = rng() % 5;
    int64_t r = riders[rng() % riders.size()];
    if (op == 0) {
      store->topup(r, 1 + rng() % 500, rng() % 2 ? 0 : 10, "", T0);
    } else if (op == 1) {
      auto t = store->open_session(OpenRequest{dev, int64_t(1 + rng() % 10), r, int64_t(1 + rng() % 600), false, 0, "p"}, T0);
      if (t) {
        store->command_sent(t.value->command.id, T0);
        open_sessions.push_back(*t.value);
      }
    } else if (op == 2 && !open_sessions.empty()) {
      auto& t = open_sessions[rng() % open_sessions.size()];
      std::string msg = "end-" + std::to_string(t.session.id);
      store->settle_end(dev, msg, end_of(t.session, rng() % 8000), T0);
      store->settle_end(dev, msg, end_of(t.session, rng() % 8000), T0);   // a copy with other numbers changes nothing
    } else if (op == 3 && !open_sessions.empty()) {
      auto& t = open_sessions[rng() % open_sessions.size()];
      store->apply_reply(dev, boost::json::object{{"id", t.command.id}, {"result", int(rng() % 3)}}, T0);
    } else if (op == 4) {
      store->expire_starts(T0 - (rng() % 2), T0);
    }
    for (int64_t id : riders) {
      auto rd = store->rider(id);
      ASSERT_EQ(rd->balance_fen, store->ledger_sum(id)) << "step " << step;
      ASSERT_GE(rd->balance_fen, 0);
      ASSERT_GE(rd->available_fen(), 0);
      int64_t held = 0;
      for (auto& s : store->sessions(SessionFilter{id, std::nullopt, std::nullopt, 500, std::nullopt}))
        if (session::holds_port(s.state)) held += s.prepaid_fen;
      ASSERT_EQ(rd->held_fen, held) << "step " << step;
    }
  }
}

TEST_F(StoreTest, ReconcileStopsUnknownPortsAndSettlesLostSessions) {
  auto dev = device();
  int64_t r = rider(1000);
  auto t = open(dev, 2, r, 500);
  store->command_sent(t.command.id, T0);
  store->record_meter(dev, proto::Meter{{proto::MeterPort{2, static_cast<uint32_t>(t.session.id), 200, 250, 4000, 540, 3700}}}, T0 + 60);
  // The charger rebooted: port 2 is idle, and port 7 charges a session nobody knows.
  json::array ports;
  for (int p = 1; p <= 10; ++p)
    ports.push_back(json::object{{"port", p}, {"state", p == 7 ? 1 : 0}, {"session", p == 7 ? 987654 : 0}, {"power_w", 0}, {"energy_wh", 0}, {"elapsed_s", 0}});
  auto f = store->reconcile(dev, ports, T0 + 120);
  ASSERT_EQ(f.settled.size(), 1u);
  EXPECT_EQ(f.settled[0].state, session::State::Settled);
  EXPECT_EQ(f.settled[0].energy_wh, 250);
  EXPECT_EQ(f.settled[0].amount_fen, 25);
  ASSERT_EQ(f.commands.size(), 1u);
  EXPECT_EQ(f.commands[0].op, "stop");
  EXPECT_EQ(f.commands[0].args.at("port").to_number<int>(), 7);
  auto rd = store->rider(r);
  EXPECT_EQ(rd->balance_fen, 975);
  EXPECT_EQ(rd->held_fen, 0);
  // A late SESSION_END for the lost session changes nothing.
  Effect eff;
  store->settle_end(dev, "late", end_of(t.session, 400), T0 + 130, &eff);
  EXPECT_FALSE(eff.session);
  EXPECT_EQ(store->rider(r)->balance_fen, 975);
}

TEST_F(StoreTest, ReconcileLeavesSessionsTheChargerRunsAndYoungStarts) {
  auto dev = device();
  int64_t r = rider(1000);
  auto running = open(dev, 1, r, 100);
  store->record_meter(dev, proto::Meter{{proto::MeterPort{1, static_cast<uint32_t>(running.session.id), 200, 5, 60, 540, 3700}}}, T0);
  auto young = open(dev, 2, r, 100);
  json::array ports{json::object{{"port", 1}, {"state", 1}, {"session", running.session.id}, {"power_w", 200}, {"energy_wh", 5}, {"elapsed_s", 60}}};
  auto f = store->reconcile(dev, ports, T0 + 10);
  EXPECT_TRUE(f.settled.empty());
  EXPECT_TRUE(f.commands.empty());
  EXPECT_EQ(store->session(young.session.id)->state, session::State::Requested);
}

TEST_F(StoreTest, CardSwipesStartStopAndRefuse) {
  auto dev = device();
  auto own = store->create_card("04A1B2C3", std::nullopt, T0);
  ASSERT_TRUE(own);
  EXPECT_FALSE(store->create_card("04A1B2C3", std::nullopt, T0));
  EXPECT_FALSE(store->create_card("zz", std::nullopt, T0));
  CardRules rules{300, 50};
  auto swipe = [&](std::string msg, std::string uid, uint8_t port, FollowUp* f) {
    proto::Card c{proto::from_hex(uid), port};
    return store->card_swipe(dev, msg, c, T0, rules, 60, f);
  };
  FollowUp f;
  EXPECT_EQ(swipe("m1", "04A1B2C3", 2, &f).at("result").to_number<int>(), 1);   // no money on it yet
  store->topup(own.value->rider_id, 1000, 0, "", T0);
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
  auto other = store->create_card("11223344", rider(500), T0);
  EXPECT_EQ(swipe("m4", "11223344", 2, &f).at("result").to_number<int>(), 4);    // port busy
  store->set_card_state("11223344", "lost");
  EXPECT_EQ(swipe("m5", "11223344", 3, &f).at("result").to_number<int>(), 3);    // reported lost
  FollowUp stop;
  EXPECT_EQ(swipe("m6", "04A1B2C3", 2, &stop).at("result").to_number<int>(), 0); // swipe again to stop
  ASSERT_EQ(stop.commands.size(), 1u);
  EXPECT_EQ(stop.commands[0].op, "stop");
}

TEST_F(StoreTest, TimePlanStopsWhenPrepaidFundsRunOut) {
  auto dev = device();
  int64_t plan = store->create_plan("按时", pricing::Plan::time(100, 60), T0);
  ASSERT_TRUE(store->assign_plan(dev, plan));
  int64_t r = rider(1000);
  auto t = open(dev, 1, r, 200);
  EXPECT_EQ(t.session.mode, 1);
  EXPECT_EQ(t.session.limit_value, 7200);
  store->command_sent(t.command.id, T0);
  auto f = store->record_meter_and_check(dev, proto::Meter{{proto::MeterPort{1, static_cast<uint32_t>(t.session.id), 200, 10, 600, 540, 3700}}}, T0, {});
  EXPECT_TRUE(f.commands.empty());
  f = store->record_meter_and_check(dev, proto::Meter{{proto::MeterPort{1, static_cast<uint32_t>(t.session.id), 200, 300, 3700, 540, 3700}}}, T0, {});
  ASSERT_EQ(f.commands.size(), 1u);
  EXPECT_EQ(f.commands[0].op, "stop");
  EXPECT_EQ(store->session(t.session.id)->state, session::State::Stopping);
}

TEST_F(StoreTest, PowerTierShortensTheLimitWhenTheBandRises) {
  auto dev = device();
  int64_t plan = store->create_plan("功率段", pricing::Plan::power_tier({{200, 100}, {400, 200}, {600, 300}}), T0);
  store->assign_plan(dev, plan);
  int64_t r = rider(1000);
  auto t = open(dev, 1, r, 600);
  EXPECT_EQ(t.session.limit_value, 6 * 3600);
  store->command_sent(t.command.id, T0);
  auto f = store->record_meter_and_check(dev, proto::Meter{{proto::MeterPort{1, static_cast<uint32_t>(t.session.id), 350, 10, 60, 540, 3700}}}, T0, {});
  ASSERT_EQ(f.commands.size(), 1u);
  EXPECT_EQ(f.commands[0].op, "adjust");
  EXPECT_EQ(f.commands[0].args.at("limit").to_number<int64_t>(), 3 * 3600);
  EXPECT_EQ(store->session(t.session.id)->limit_value, 3 * 3600);
}

TEST_F(StoreTest, DangerousCurvesAreFlagged) {
  auto dev = device();
  int64_t r = rider(5000);
  auto t = open(dev, 1, r, 3000);
  store->command_sent(t.command.id, T0);
  auto id = static_cast<uint32_t>(t.session.id);
  store->record_meter_and_check(dev, proto::Meter{{proto::MeterPort{1, id, 240, 1000, 4 * 3600, 540, 4400}}}, T0, {});
  EXPECT_FALSE(store->session(t.session.id)->flag);
  store->record_meter_and_check(dev, proto::Meter{{proto::MeterPort{1, id, 235, 1300, 6 * 3600, 540, 4300}}}, T0, {});
  EXPECT_EQ(store->session(t.session.id)->flag, "power_not_tapering");
}

TEST_F(StoreTest, OverloadAlarmStopsThatPort) {
  auto dev = device();
  int64_t r = rider(1000);
  auto a = open(dev, 1, r, 100), b = open(dev, 2, r, 100);
  store->command_sent(a.command.id, T0);
  store->command_sent(b.command.id, T0);
  auto f = store->stop_for_alarm(dev, proto::Alarm{3, 2, 720}, T0);
  ASSERT_EQ(f.commands.size(), 1u);
  EXPECT_EQ(f.commands[0].args.at("port").to_number<int>(), 2);
  EXPECT_TRUE(store->stop_for_alarm(dev, proto::Alarm{1, 0, 655}, T0).commands.empty());   // a warning stops nothing
  EXPECT_EQ(store->stop_for_alarm(dev, proto::Alarm{2, 0, 805}, T0).commands.size(), 1u);    // cut-off: the rest
}

TEST_F(StoreTest, OldMeterSamplesAreDownsampled) {
  auto dev = device();
  int64_t r = rider(1000);
  auto t = open(dev, 1, r, 500);
  for (int i = 0; i < 60; ++i)
    store->record_meter(dev, proto::Meter{{proto::MeterPort{1, static_cast<uint32_t>(t.session.id), 200, uint32_t(i), uint32_t(i * 60), 540, 3700}}}, T0 + i * 60);
  EXPECT_EQ(store->meter_samples(t.session.id, 1000).size(), 60u);
  store->downsample_meter(T0 + 30 * 60, 600);   // the first half thinned to one per 10 minutes
  EXPECT_EQ(store->meter_samples(t.session.id, 1000).size(), 30u + 3u);
}

TEST_F(StoreTest, RefundsGoBackToTheWalletOnce) {
  auto dev = device();
  int64_t r = rider(1000);
  auto t = open(dev, 1, r, 500);
  store->settle_end(dev, "e", end_of(t.session, 3000), T0);
  EXPECT_EQ(store->rider(r)->balance_fen, 700);
  EXPECT_FALSE(store->refund_session(t.session.id, 301, "", T0));
  ASSERT_TRUE(store->refund_session(t.session.id, 200, "充电异常退款", T0));
  EXPECT_EQ(store->refund_session(t.session.id, 101, "", T0).refusal.code, "bad_amount");
  EXPECT_TRUE(store->refund_session(t.session.id, 100, "", T0));
  EXPECT_EQ(store->rider(r)->balance_fen, 1000);
  EXPECT_EQ(store->ledger_sum(r), 1000);
}

TEST_F(StoreTest, ARiderCanBuyADurationOnTimePlans) {
  auto dev = device();
  int64_t r = rider(1000);
  auto refused = store->open_session(OpenRequest{dev, 1, r, 0, false, 3600, "t"}, T0);
  EXPECT_EQ(refused.refusal.code, "duration_not_offered");   // the default plan sells energy
  store->assign_plan(dev, store->create_plan("按时", pricing::Plan::time(50, 30), T0));
  auto t = store->open_session(OpenRequest{dev, 1, r, 0, false, 5400, "t"}, T0);
  ASSERT_TRUE(t) << t.refusal.code;
  EXPECT_EQ(t.value->session.prepaid_fen, 150);   // three half-hour blocks
  EXPECT_EQ(t.value->session.mode, 1);
  EXPECT_EQ(t.value->session.limit_value, 5400);
}

// The WAL stays bounded under a steady stream of write transactions (the writer's checkpoints let it
// restart), whatever the total written: ingest would otherwise slow down as it grows.
TEST(StoreWal, StaysBoundedUnderAStreamOfTransactions) {
  TempDir dir{"core-wal"};
  const auto db = dir / "core.db";
  const std::string filler(400, 'x');
  uint64_t largest = 0;
  {
    Store store(db.string());
    for (int b = 0; b < 300; ++b) {
      store.batch([&] {
        for (int i = 0; i < 500; ++i)
          store.create_rider("骑手 " + std::to_string(b) + "-" + std::to_string(i) + " " + filler, "", 1);
      });
      largest = std::max<uint64_t>(largest, fs::file_size(db.string() + "-wal"));
    }
  }
  // 150,000 riders are about 80 MiB of WAL frames in all; the WAL never held much more than one
  // checkpoint interval (8,192 pages = 32 MiB).
  EXPECT_LT(largest, 40u << 20) << largest;
  Store again(db.string());
  EXPECT_EQ(again.rider(150'000)->name, "骑手 299-499 " + filler);
}
