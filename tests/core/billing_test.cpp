// Bills riders can trust when chargers misbehave (docs/billing-rules.md), on the use cases over a real
// database, each test on SQLite and on PostgreSQL: the meter check in settlement and telemetry on every
// plan kind, unanswered STARTs chased by the retry policy, orphan stop records in the inbox.
#include <gtest/gtest.h>

#include "app/app.hpp"
#include "chargehub/topics.hpp"
#include "service.hpp"
#include "chargehub/payloads.hpp"
#include "db/db.hpp"
#include "pg.hpp"
#include "testsupport.hpp"

using namespace chargehub;
using namespace chargehub::core;
using chargehub::testing::TempDir;
namespace json = boost::json;

namespace {
constexpr int64_t T0 = 1795500000;
const std::string kDev = "861234567890123";

struct BillingTest : ::testing::TestWithParam<sql::Dialect> {
  TempDir dir{"core-billing"};
  std::string url;
  std::unique_ptr<sql::Db> db;
  std::unique_ptr<App> app;
  uint64_t reading_commits = sql::commits_while_reading();
  std::vector<int64_t> riders;

  void SetUp() override {
    url = GetParam() == sql::Dialect::Sqlite ? "sqlite://" + (dir / "core.db").string() : chargehub::testing::fresh_database_url();
    db = sql::open(url);
    app = std::make_unique<App>(*db);
    ASSERT_TRUE(app->devices.create(NewDevice{kDev, "", 10, 1, std::string(64, 'a'), {}}, T0));
    app->devices.online(kDev, true, T0);
  }
  void TearDown() override {
    EXPECT_EQ(sql::commits_while_reading(), reading_commits);
    invariants();
  }

  // Every wallet: balance = the ledger's sum, held = the prepayments of sessions holding a port, nothing negative.
  void invariants() {
    for (int64_t r : riders) {
      auto w = app->wallets.rider(chargehub::core::Scope::platform(), r);
      ASSERT_TRUE(w);
      EXPECT_EQ(w->balance_fen, app->wallets.ledger_sum(r)) << "rider " << r;
      int64_t held = 0;
      SessionFilter f;
      f.rider_id = r;
      f.limit = 500;
      for (auto& s : app->sessions.list(chargehub::core::Scope::platform(), f))
        if (session::holds_port(s.state)) held += s.prepaid_fen;
      EXPECT_EQ(w->held_fen, held) << "rider " << r;
      EXPECT_GE(w->balance_fen, 0);
      EXPECT_GE(w->held_fen, 0);
      EXPECT_GE(w->available_fen(), 0);
    }
  }

  int64_t rider(int64_t fen) {
    auto r = app->wallets.create_rider(chargehub::core::Scope::platform(), "张三", "13800000000", T0);
    if (fen) EXPECT_TRUE(app->wallets.topup(chargehub::core::Scope::platform(), r.id, fen, 0, "", T0));
    riders.push_back(r.id);
    return r.id;
  }
  void plan(const pricing::Plan& p) { ASSERT_TRUE(app->devices.assign_plan(chargehub::core::Scope::platform(), kDev, app->plans.create("plan", p, T0)->id)); }
  StartTicket open(int64_t port, int64_t rider_id, int64_t fen, int64_t duration_s = 0) {
    auto t = app->sessions.open(chargehub::core::Scope::platform(), OpenRequest{kDev, port, rider_id, fen, false, duration_s, Origin{"test", "operator"}}, T0);
    EXPECT_TRUE(t) << t.refusal.code;
    return *t.value;
  }
  void reading(const SessionRow& s, uint32_t wh, uint32_t elapsed, uint16_t w, int64_t at) {
    app->telemetry.meter(kDev, proto::Meter{{proto::MeterPort{static_cast<uint8_t>(s.port), static_cast<uint32_t>(s.id), w, wh, elapsed, 2200, 1000}}},
                         at, {});
  }
  EndOutcome end(const SessionRow& s, uint32_t wh, uint32_t duration, uint16_t peak, int64_t at, std::string msg = "") {
    if (msg.empty()) msg = "end-" + std::to_string(s.id);
    return app->sessions.end_reported(kDev, msg, proto::SessionEnd{static_cast<uint8_t>(s.port), static_cast<uint32_t>(s.id), 1, T0, duration, wh, peak},
                                      at, "{}");
  }
  ReplyEffect reply(json::object r, int64_t t) { return app->commands.replied(kDev, r, t); }
  json::array ports_with(int64_t port, int64_t state, int64_t session, uint32_t wh = 0, uint32_t elapsed = 0) {
    json::array a;
    for (int p = 1; p <= 10; ++p)
      a.push_back(json::object{{"port", p}, {"state", p == port ? state : 0}, {"session", p == port ? session : 0}, {"power_w", p == port && state == 1 ? 200 : 0},
                               {"energy_wh", p == port ? wh : 0}, {"elapsed_s", p == port ? elapsed : 0}});
    return a;
  }
};

// A broker that takes everything and remembers it.
struct RecordingPublisher : Publisher {
  std::vector<std::pair<std::string, std::string>> sent;
  bool publish(const std::string& topic, const std::string& payload, int, bool) override {
    sent.emplace_back(topic, payload);
    return true;
  }
  std::vector<std::string> ops() const {
    std::vector<std::string> out;
    for (auto& [t, p] : sent)
      if (t.ends_with("/down/cmd")) out.push_back(std::string(json::parse(p).at("op").as_string()));
    return out;
  }
};

std::string backend_name(const ::testing::TestParamInfo<sql::Dialect>& i) { return i.param == sql::Dialect::Sqlite ? "Sqlite" : "Postgres"; }
}  // namespace

// ---- 1. the meter check ---------------------------------------------------------------------------

TEST_P(BillingTest, EnergyPlanAbsurdStopRecordIsBilledOnTheLastPlausibleReading) {
  int64_t r = rider(1000);
  auto t = open(3, r, 500);
  reading(t.session, 33, 600, 200, T0 + 600);
  auto out = end(t.session, 400000, 650, 200, T0 + 700);   // 400 kWh in 11 minutes at 200 W
  ASSERT_TRUE(out.settled);
  ASSERT_TRUE(out.meter_flag);
  auto s = *app->sessions.get(chargehub::core::Scope::platform(), t.session.id);
  EXPECT_EQ(s.state, session::State::Settled);
  EXPECT_EQ(s.energy_wh, 33);
  EXPECT_EQ(s.amount_fen, 3);
  EXPECT_EQ(s.meter_flag, "energy_exceeds_power_limit");
  EXPECT_EQ(s.reported_energy_wh, 400000);
  EXPECT_EQ(s.reported_duration_s, 650);
  EXPECT_EQ(s.reported_max_power_w, 200);
  EXPECT_EQ(app->wallets.rider(chargehub::core::Scope::platform(), r)->balance_fen, 997);
  auto c = app->inbox.counts(kDev);
  EXPECT_EQ(c.meter.implausible_ends, 1);
  EXPECT_EQ(c.meter.implausible_readings, 0);
  EXPECT_EQ(c.meter.last_implausible_at, T0 + 700);
}

TEST_P(BillingTest, APlausibleStopRecordIsBilledAsReportedAndKeepsItsRawFigures) {
  int64_t r = rider(1000);
  auto t = open(3, r, 500);
  auto out = end(t.session, 400, 3600, 420, T0 + 3650);
  ASSERT_TRUE(out.settled);
  EXPECT_FALSE(out.meter_flag);
  auto s = *app->sessions.get(chargehub::core::Scope::platform(), t.session.id);
  EXPECT_EQ(s.energy_wh, 400);
  EXPECT_EQ(s.amount_fen, 40);
  EXPECT_FALSE(s.meter_flag);
  EXPECT_EQ(s.reported_energy_wh, 400);
  EXPECT_EQ(app->inbox.counts(kDev).meter.implausible_ends, 0);
}

TEST_P(BillingTest, AGarbageRecordBeforeAnyReadingCostsNothing) {
  int64_t r = rider(1000);
  auto t = open(2, r, 500);
  auto out = end(t.session, 0xFFFFFFFF, 120, 200, T0 + 130);   // a u32 wrap
  ASSERT_TRUE(out.settled);
  auto s = *app->sessions.get(chargehub::core::Scope::platform(), t.session.id);
  EXPECT_EQ(s.energy_wh, 0);
  EXPECT_EQ(s.amount_fen, 0);
  EXPECT_TRUE(s.meter_flag);
  EXPECT_EQ(s.reported_energy_wh, 0xFFFFFFFFLL);
  EXPECT_EQ(app->wallets.rider(chargehub::core::Scope::platform(), r)->balance_fen, 1000);
}

TEST_P(BillingTest, TimePlanAbsurdDurationIsBilledOnTheLastPlausibleDuration) {
  plan(pricing::Plan::time(100, 60));
  int64_t r = rider(5000);
  auto t = open(1, r, 2000);
  reading(t.session, 100, 1800, 200, T0 + 1800);
  auto out = end(t.session, 110, 40 * 3600, 200, T0 + 1900);   // 40 h claimed for half an hour
  ASSERT_TRUE(out.settled);
  auto s = *app->sessions.get(chargehub::core::Scope::platform(), t.session.id);
  EXPECT_EQ(s.meter_flag, "duration_exceeds_elapsed");
  EXPECT_EQ(s.duration_s, 1800);
  EXPECT_EQ(s.amount_fen, pricing::charge_fen(s.plan, pricing::Usage{100, 1800, 200}, 2000));
  EXPECT_EQ(s.amount_fen, 100);   // one block, not 40
  EXPECT_EQ(s.reported_duration_s, 40 * 3600);
}

TEST_P(BillingTest, PowerTierAbsurdPeakIsBilledOnTheLastPlausiblePeak) {
  plan(pricing::Plan::power_tier({{200, 100}, {400, 200}, {600, 300}}));
  int64_t r = rider(5000);
  auto t = open(1, r, 600);
  reading(t.session, 100, 1800, 180, T0 + 1800);
  auto out = end(t.session, 110, 1850, 9000, T0 + 1900);   // a 9 kW peak on a 2.2 kW port
  ASSERT_TRUE(out.settled);
  auto s = *app->sessions.get(chargehub::core::Scope::platform(), t.session.id);
  EXPECT_EQ(s.meter_flag, "power_exceeds_port_limit");
  EXPECT_EQ(s.max_power_w, 180);
  EXPECT_EQ(s.amount_fen, pricing::charge_fen(s.plan, pricing::Usage{100, 1800, 180}, 600));
  EXPECT_EQ(s.reported_max_power_w, 9000);
}

TEST_P(BillingTest, FreePlanBillsNothingButTheFlagCounts) {
  plan(pricing::Plan::free());
  int64_t r = rider(1000);
  auto t = open(1, r, 0, 3600);
  auto out = end(t.session, 500000, 60, 200, T0 + 90);
  ASSERT_TRUE(out.settled);
  auto s = *app->sessions.get(chargehub::core::Scope::platform(), t.session.id);
  EXPECT_EQ(s.amount_fen, 0);
  EXPECT_TRUE(s.meter_flag);
  EXPECT_EQ(app->inbox.counts(kDev).meter.implausible_ends, 1);
}

TEST_P(BillingTest, AnImplausibleReadingLeavesTheUsageFlagsOnceAndIsCounted) {
  int64_t r = rider(1000);
  auto t = open(4, r, 500);
  reading(t.session, 30, 600, 200, T0 + 600);
  reading(t.session, 400000, 660, 200, T0 + 660);   // a fresh meter's garbage
  reading(t.session, 2, 720, 200, T0 + 720);        // a counter reset: went backwards
  auto s = *app->sessions.get(chargehub::core::Scope::platform(), t.session.id);
  EXPECT_EQ(s.state, session::State::Charging);
  EXPECT_EQ(s.energy_wh, 30);
  EXPECT_EQ(s.meter_flag, "energy_exceeds_power_limit");   // the first flag is kept
  EXPECT_EQ(app->sessions.samples(chargehub::core::Scope::platform(), t.session.id, 10).size(), 3u);   // raw samples kept
  EXPECT_EQ(app->inbox.counts(kDev).meter.implausible_readings, 2);
  // A plausible reading later moves it on; the stop record is judged against it.
  reading(t.session, 60, 1200, 200, T0 + 1200);
  auto out = end(t.session, 62, 1210, 200, T0 + 1260);
  EXPECT_FALSE(out.meter_flag);
  EXPECT_EQ(app->sessions.get(chargehub::core::Scope::platform(), t.session.id)->energy_wh, 62);
  EXPECT_EQ(app->sessions.get(chargehub::core::Scope::platform(), t.session.id)->meter_flag, "energy_exceeds_power_limit");   // from the reading
}

TEST_P(BillingTest, AbsurdDurationsInReadingsAreRefusedOnEveryPlanKind) {
  for (auto p : {pricing::Plan::energy(100), pricing::Plan::time(100, 60), pricing::Plan::power_tier({{1000, 100}, {2500, 200}}),
                 pricing::Plan::free()}) {
    plan(p);
    int64_t r = rider(1000);
    auto t = open(1, r, p.kind == pricing::PlanKind::Free ? 0 : 300, p.kind == pricing::PlanKind::Free ? 3600 : 0);
    reading(t.session, 20, 600, 200, T0 + 600);
    reading(t.session, 21, 40 * 3600, 200, T0 + 660);   // 40 h after eleven minutes
    reading(t.session, 22, 5, 200, T0 + 720);           // a reboot: back to 5 s
    auto s = *app->sessions.get(chargehub::core::Scope::platform(), t.session.id);
    EXPECT_EQ(s.duration_s, 600) << pricing::plan_kind_name(p.kind);
    EXPECT_EQ(s.meter_flag, "duration_exceeds_elapsed");
    auto out = end(t.session, 25, 50 * 3600, 200, T0 + 780);
    ASSERT_TRUE(out.settled);
    s = *app->sessions.get(chargehub::core::Scope::platform(), t.session.id);
    EXPECT_EQ(s.duration_s, 600);
    EXPECT_EQ(s.amount_fen, pricing::charge_fen(s.plan, pricing::Usage{20, 600, 200}, s.prepaid_fen));
    EXPECT_EQ(s.reported_duration_s, 50 * 3600);
  }
  auto c = app->inbox.counts(kDev);
  EXPECT_EQ(c.meter.implausible_readings, 8);
  EXPECT_EQ(c.meter.implausible_ends, 4);
}

TEST_P(BillingTest, ASimulatedFleetsWindowIsCountedInChargerSeconds) {
  app->sessions.set_charger_time_scale(600);   // firmware-sim --time-scale 600: ten charger minutes a second
  int64_t r = rider(1000);
  auto t = open(2, r, 500);
  reading(t.session, 200, 600, 1200, T0 + 1);   // ten minutes at 1.2 kW after one real second
  auto s = *app->sessions.get(chargehub::core::Scope::platform(), t.session.id);
  EXPECT_FALSE(s.meter_flag);
  EXPECT_EQ(s.energy_wh, 200);
  auto out = end(t.session, 400, 1200, 1300, T0 + 2);
  EXPECT_FALSE(out.meter_flag);
  EXPECT_EQ(app->sessions.get(chargehub::core::Scope::platform(), t.session.id)->amount_fen, 40);
  // Physics still holds in charger seconds: 400 kWh in 20 charger minutes is absurd at any scale.
  auto u = open(3, r, 500);
  EXPECT_TRUE(end(u.session, 400000, 1200, 1300, T0 + 2).meter_flag);
}

// ---- 2. unanswered STARTs ---------------------------------------------------------------------------

TEST_P(BillingTest, AnUnansweredStartIsResentThenQueriedAndChargingSettlesIt) {
  int64_t r = rider(1000);
  auto t = open(3, r, 500);
  app->commands.sent(t.command.id, T0);
  EXPECT_TRUE(app->commands.chase_starts(T0 + 4).commands.empty());
  auto f = app->commands.chase_starts(T0 + 5);
  ASSERT_EQ(f.commands.size(), 1u);
  EXPECT_EQ(f.commands[0].id, t.command.id);   // the same command, same id and expires
  EXPECT_EQ(f.commands[0].expires_at, t.command.expires_at);
  EXPECT_EQ(app->commands.chase_starts(T0 + 10).commands.at(0).id, t.command.id);
  f = app->commands.chase_starts(T0 + 15);
  ASSERT_EQ(f.commands.size(), 1u);
  EXPECT_EQ(f.commands[0].op, "query_ports");
  EXPECT_EQ(f.commands[0].query_for, t.command.id);
  auto start = *app->commands.get(t.command.id);
  EXPECT_EQ(start.sends, 3);
  EXPECT_EQ(start.queries, 1);
  EXPECT_EQ(start.last_sent_at, T0 + 15);
  app->commands.sent(f.commands[0].id, T0 + 15);
  auto eff = reply(json::object{{"id", f.commands[0].id}, {"result", 0}, {"ports", ports_with(3, 1, t.session.id, 1, 14)}}, T0 + 16);
  ASSERT_TRUE(eff.session);
  EXPECT_EQ(eff.session->state, session::State::Charging);
  EXPECT_EQ(eff.session->duration_s, 14);   // its port status is a reading
  EXPECT_EQ(eff.session->energy_wh, 1);
  ASSERT_TRUE(eff.session->last);
  EXPECT_EQ(eff.session->last->at, T0 + 16);
  EXPECT_EQ(app->commands.get(t.command.id)->state, CommandState::Replied);
  EXPECT_TRUE(app->commands.chase_starts(T0 + 20).commands.empty());
  EXPECT_EQ(app->wallets.rider(chargehub::core::Scope::platform(), r)->held_fen, 500);
}

TEST_P(BillingTest, AQueryShowingThePortIdleReleasesTheFundsAndStopsALateCopy) {
  int64_t r = rider(1000);
  auto t = open(3, r, 500);
  app->commands.sent(t.command.id, T0);
  app->commands.chase_starts(T0 + 5);
  app->commands.chase_starts(T0 + 10);
  auto q = app->commands.chase_starts(T0 + 15).commands.at(0);
  app->commands.sent(q.id, T0 + 15);
  auto eff = reply(json::object{{"id", q.id}, {"result", 0}, {"ports", ports_with(3, 0, 0)}}, T0 + 16);
  ASSERT_TRUE(eff.session);
  EXPECT_EQ(eff.session->state, session::State::StartTimedOut);
  ASSERT_TRUE(eff.session->error);
  EXPECT_NE(eff.session->error->find("state 0"), std::string::npos);
  ASSERT_EQ(eff.follow.commands.size(), 1u);
  EXPECT_EQ(eff.follow.commands[0].op, "stop");
  EXPECT_EQ(eff.follow.commands[0].args.at("session").to_number<int64_t>(), t.session.id);
  EXPECT_EQ(app->wallets.rider(chargehub::core::Scope::platform(), r)->held_fen, 0);
  EXPECT_EQ(app->commands.get(t.command.id)->state, CommandState::Failed);
  // A late START reply changes nothing; a stop record after all is billed up to the available balance.
  EXPECT_TRUE(reply(json::object{{"id", t.command.id}, {"result", 0}}, T0 + 17).duplicate);
  EXPECT_EQ(app->sessions.get(chargehub::core::Scope::platform(), t.session.id)->state, session::State::StartTimedOut);
}

TEST_P(BillingTest, NoAnswerAtAllGivesUpWithin30Seconds) {
  int64_t r = rider(1000);
  auto t = open(3, r, 500);
  app->commands.sent(t.command.id, T0);
  std::vector<std::string> ops;
  for (int64_t s = 1; s <= 30; ++s)
    for (auto& c : app->commands.chase_starts(T0 + s).commands) {
      ops.push_back(c.op);
      if (c.op == "query_ports") app->commands.sent(c.id, T0 + s);
    }
  EXPECT_EQ(ops, (std::vector<std::string>{"start", "start", "query_ports", "query_ports", "stop"}));
  auto s = *app->sessions.get(chargehub::core::Scope::platform(), t.session.id);
  EXPECT_EQ(s.state, session::State::StartTimedOut);
  ASSERT_TRUE(s.ended_at);
  EXPECT_LE(*s.ended_at - T0, 30);
  EXPECT_EQ(app->wallets.rider(chargehub::core::Scope::platform(), r)->held_fen, 0);
}

TEST_P(BillingTest, AnErrorInsteadOfAResultKeepsToThePolicy) {
  int64_t r = rider(1000);
  auto t = open(3, r, 500);
  app->commands.sent(t.command.id, T0);
  auto eff = reply(json::object{{"id", t.command.id}, {"error", "timeout"}}, T0 + 3);
  EXPECT_FALSE(eff.session);
  EXPECT_EQ(app->sessions.get(chargehub::core::Scope::platform(), t.session.id)->state, session::State::Starting);
  EXPECT_EQ(app->commands.get(t.command.id)->state, CommandState::Sent);
  EXPECT_EQ(app->wallets.rider(chargehub::core::Scope::platform(), r)->held_fen, 500);
  // The resend is answered: started.
  ASSERT_EQ(app->commands.chase_starts(T0 + 5).commands.size(), 1u);
  eff = reply(json::object{{"id", t.command.id}, {"result", 0}}, T0 + 6);
  ASSERT_TRUE(eff.session);
  EXPECT_EQ(eff.session->state, session::State::Charging);
}

TEST_P(BillingTest, TheHousekeepingTickChasesAnUnansweredStartOnTheServiceClock) {
  int64_t r = rider(1000);
  RecordingPublisher pub;
  int64_t now = T0;
  Service svc{*app, pub, ServiceConfig{}, [&] { return now; }};
  auto t = svc.start_session(chargehub::core::Scope::platform(), OpenRequest{kDev, 3, r, 500, false, 0, Origin{"test", "operator"}});
  ASSERT_TRUE(t);
  std::string query_id;
  for (; now <= T0 + 15; ++now) svc.tick();
  EXPECT_EQ(pub.ops(), (std::vector<std::string>{"start", "start", "start", "query_ports"}));
  auto q = json::parse(pub.sent.back().second).as_object();
  // The charger answers the query: the port charges our session.
  json::object answer{{"id", q.at("id")}, {"result", 0}, {"ports", ports_with(3, 1, t->session.id, 2, 14)}};
  svc.on_message(topics::up_topic(kDev, "reply"), json::serialize(answer));
  EXPECT_EQ(app->sessions.get(chargehub::core::Scope::platform(), t->session.id)->state, session::State::Charging);
  for (; now <= T0 + 40; ++now) svc.tick();
  EXPECT_EQ(pub.ops().size(), 4u);   // nothing more
  EXPECT_EQ(app->wallets.rider(chargehub::core::Scope::platform(), r)->held_fen, 500);
}

// ---- 3. orphan stop records ---------------------------------------------------------------------------

TEST_P(BillingTest, AnOrphanRecordIsKeptWholeOncePerMsgAndCounted) {
  proto::SessionEnd e{5, 777777, 1, static_cast<uint32_t>(T0), 3600, 500, 600};
  auto out = app->sessions.end_reported(kDev, "orphan-1", e, T0 + 3700, R"({"msg":"orphan-1"})");
  EXPECT_EQ(out.ack.result, 0);
  ASSERT_TRUE(out.orphan_id);
  EXPECT_TRUE(app->sessions.end_reported(kDev, "orphan-1", e, T0 + 3710, "{}").duplicate);
  auto o = *app->inbox.get(chargehub::core::Scope::platform(), *out.orphan_id);
  EXPECT_EQ(o.device_id, kDev);
  EXPECT_EQ(o.port, 5);
  EXPECT_EQ(o.session, 777777);
  EXPECT_EQ(o.energy_wh, 500);
  EXPECT_EQ(o.duration_s, 3600);
  EXPECT_EQ(o.max_power_w, 600);
  EXPECT_EQ(o.started_at, T0);
  EXPECT_EQ(o.payload, R"({"msg":"orphan-1"})");
  EXPECT_EQ(o.copies, 2);
  EXPECT_EQ(o.first_seen_at, T0 + 3700);
  EXPECT_EQ(o.last_seen_at, T0 + 3710);
  EXPECT_EQ(o.state, OrphanState::Open);
  EXPECT_FALSE(o.meter_flag);
  auto c = app->inbox.counts(kDev);
  EXPECT_EQ(c.orphans.open, 1);
  EXPECT_EQ(c.orphans.total, 1);
  OrphanFilter f;
  f.device_id = kDev;
  f.state = OrphanState::Open;
  EXPECT_EQ(app->inbox.list(chargehub::core::Scope::platform(), f).size(), 1u);
  f.device_id = "1";
  EXPECT_TRUE(app->inbox.list(chargehub::core::Scope::platform(), f).empty());
}

TEST_P(BillingTest, SettlingAnOrphanMakesASettledSessionWithItsLedgerRowOnce) {
  int64_t r = rider(1000);
  auto busy = open(5, r, 200);   // the port is in use now: the settled session does not take it
  proto::SessionEnd e{5, 777777, 1, static_cast<uint32_t>(T0 - 4000), 3600, 500, 600};
  auto id = *app->sessions.end_reported(kDev, "orphan-2", e, T0, "{}").orphan_id;
  auto s1 = app->inbox.settle(chargehub::core::Scope::platform(), id, r, "api:ops", T0 + 10);
  ASSERT_TRUE(s1) << s1.refusal.code;
  EXPECT_EQ(s1.value->state, OrphanState::Settled);
  EXPECT_EQ(s1.value->actor, "api:ops");
  ASSERT_TRUE(s1.value->session_id);
  auto s = *app->sessions.get(chargehub::core::Scope::platform(), *s1.value->session_id);
  EXPECT_EQ(s.state, session::State::Settled);
  EXPECT_EQ(s.rider_id, r);
  EXPECT_EQ(s.energy_wh, 500);
  EXPECT_EQ(s.amount_fen, 50);
  EXPECT_EQ(s.created_at, T0 - 4000);
  EXPECT_EQ(s.reported_energy_wh, 500);
  EXPECT_EQ(app->wallets.rider(chargehub::core::Scope::platform(), r)->balance_fen, 950);
  EXPECT_EQ(app->wallets.ledger(chargehub::core::Scope::platform(), r, 1).at(0).session_id, s.id);
  EXPECT_EQ(app->inbox.settle(chargehub::core::Scope::platform(), id, r, "api:ops", T0 + 11).refusal.code, "orphan_resolved");
  EXPECT_EQ(app->inbox.close(chargehub::core::Scope::platform(), id, "oops", "api:ops", T0 + 11).refusal.code, "orphan_resolved");
  EXPECT_EQ(app->wallets.rider(chargehub::core::Scope::platform(), r)->balance_fen, 950);
  EXPECT_EQ(app->sessions.get(chargehub::core::Scope::platform(), busy.session.id)->state, session::State::Requested);
}

TEST_P(BillingTest, SettlingAnOrphanNeverTakesMoreThanTheAvailableBalance) {
  int64_t r = rider(100);
  open(1, r, 80);   // 80 of 100 held: 20 available
  proto::SessionEnd e{5, 42, 1, static_cast<uint32_t>(T0 - 4000), 3600, 2000, 2100};
  auto id = *app->sessions.end_reported(kDev, "orphan-3", e, T0, "{}").orphan_id;
  auto s1 = app->inbox.settle(chargehub::core::Scope::platform(), id, r, "api:ops", T0);
  ASSERT_TRUE(s1);
  EXPECT_EQ(app->sessions.get(chargehub::core::Scope::platform(), *s1.value->session_id)->amount_fen, 20);
  EXPECT_EQ(app->wallets.rider(chargehub::core::Scope::platform(), r)->available_fen(), 0);
}

TEST_P(BillingTest, AnAbsurdOrphanIsFlaggedAndSettledOnPhysics) {
  int64_t r = rider(1000);
  proto::SessionEnd e{5, 43, 1, static_cast<uint32_t>(T0 - 600), 600, 400000, 200};
  auto id = *app->sessions.end_reported(kDev, "orphan-4", e, T0, "{}").orphan_id;
  EXPECT_TRUE(app->inbox.get(chargehub::core::Scope::platform(), id)->meter_flag);
  auto s1 = app->inbox.settle(chargehub::core::Scope::platform(), id, r, "api:ops", T0);
  ASSERT_TRUE(s1);
  auto s = *app->sessions.get(chargehub::core::Scope::platform(), *s1.value->session_id);
  EXPECT_TRUE(s.meter_flag);
  EXPECT_EQ(s.amount_fen, 0);   // nothing plausible to bill
  EXPECT_EQ(s.reported_energy_wh, 400000);
}

TEST_P(BillingTest, ClosingAnOrphanBillsNothingAndHappensOnce) {
  int64_t r = rider(1000);
  proto::SessionEnd e{5, 44, 1, static_cast<uint32_t>(T0 - 4000), 3600, 500, 600};
  auto id = *app->sessions.end_reported(kDev, "orphan-5", e, T0, "{}").orphan_id;
  EXPECT_EQ(app->inbox.close(chargehub::core::Scope::platform(), id, "", "api:ops", T0).refusal.code, "bad_reason");
  auto c = app->inbox.close(chargehub::core::Scope::platform(), id, "test charge", "api:ops", T0 + 5);
  ASSERT_TRUE(c);
  EXPECT_EQ(c.value->state, OrphanState::Closed);
  EXPECT_EQ(c.value->closed_reason, "test charge");
  EXPECT_EQ(c.value->resolved_at, T0 + 5);
  EXPECT_EQ(app->inbox.close(chargehub::core::Scope::platform(), id, "again", "api:ops", T0).refusal.code, "orphan_resolved");
  EXPECT_EQ(app->inbox.settle(chargehub::core::Scope::platform(), id, r, "api:ops", T0).refusal.code, "orphan_resolved");
  EXPECT_EQ(app->inbox.settle(chargehub::core::Scope::platform(), 9999, r, "api:ops", T0).refusal.code, "orphan_not_found");
  EXPECT_EQ(app->wallets.rider(chargehub::core::Scope::platform(), r)->balance_fen, 1000);
  EXPECT_EQ(app->inbox.counts(kDev).orphans.open, 0);
  EXPECT_EQ(app->inbox.counts(kDev).orphans.total, 1);
}

INSTANTIATE_TEST_SUITE_P(Backends, BillingTest, ::testing::Values(sql::Dialect::Sqlite, sql::Dialect::Postgres), backend_name);
