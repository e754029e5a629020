// The charger model against frames.md, one rule per test, on simulated time advanced by hand.
#include <gtest/gtest.h>

#include "chargehub/sim/crypto.hpp"
#include "rig.hpp"

using namespace chargehub::sim;
using namespace chargehub::sim::testing;
using namespace chargehub::proto;

namespace {
Bytes start(uint8_t port, uint32_t session, uint8_t mode = 0, uint32_t limit = 0, uint16_t max_w = 0) {
  return StartCmd{port, session, mode, limit, max_w}.encode();
}
Params params_of(Rig& r) { return *Params::decode(*r.command(Cmd::GetParams, {})); }
}  // namespace

// ---- physics -------------------------------------------------------------------------------------

TEST(Battery, PowerRisesToAbout200WThenTapers) {
  Load l = li48(0.3);
  l.advance(5, true);
  EXPECT_LT(l.power_w(), 100);            // soft start
  l.advance(60, true);
  EXPECT_GT(l.power_w(), 150);
  EXPECT_LT(l.power_w(), 250);
  double peak = 0;
  while (!l.terminated()) {
    l.advance(10, true);
    peak = std::max(peak, l.power_w());
  }
  EXPECT_LT(peak, 250);
  EXPECT_LT(l.power_w(), 5);              // the brick idles under the full-stop threshold
  EXPECT_GT(l.soc(), 0.98);
}

TEST(Battery, LeadAcidFloatsAndStillStaysUnderFullStop) {
  auto p = packs::lead_acid(60, 20);
  Load l{p, bricks::for_pack(p, 3.0), 0.5};
  while (!l.terminated()) l.advance(10, true);
  EXPECT_GT(l.power_w(), 1);
  EXPECT_LT(l.power_w(), 5);
}

TEST(Physics, FullChargeEndsWithReasonFullAndTheEnergyTheBatteryModelImplies) {
  for (auto name : {"li48", "li72", "pb48", "pb60"}) {
    Rig r;
    auto pack = packs::by_name(name);
    auto brick = bricks::for_pack(pack, 3.0);
    r.c->plug(1, Load{pack, brick, 0.35});
    ASSERT_EQ(r.result(Cmd::Start, start(1, 42)), 0);
    r.run(14 * 3600);
    auto e = r.last_end_frame();
    ASSERT_TRUE(e) << name;
    EXPECT_EQ(e->reason, 1) << name;
    double expected = Load::expected_energy_wh(pack, brick, 0.35);
    EXPECT_NEAR(e->energy_wh, expected, expected * 0.02 + 1) << name;
    EXPECT_EQ(r.c->port(1).state, PortState::Finished) << name;
  }
}

TEST(Physics, FullStopNeedsTheDelayUnderTheThreshold) {
  Rig r;
  r.c->plug(1, li48(0.999));   // practically full: the brick terminates at once
  ASSERT_EQ(r.result(Cmd::Start, start(1, 1)), 0);
  r.run(50);
  EXPECT_TRUE(r.sent_of(Cmd::SessionEnd).empty());
  r.run(40);
  ASSERT_TRUE(r.last_end_frame());
  EXPECT_EQ(r.last_end_frame()->reason, 1);
  EXPECT_GE(r.last_end_frame()->duration_s, 60u);
}

TEST(Physics, FaultyBrickNeverDropsUnderFullStopAndRunsToItsTimeLimit) {
  Rig r;
  r.c->plug(1, li48(0.8, LoadFaults{.stuck_w = 8}));
  ASSERT_EQ(r.result(Cmd::Start, start(1, 9, 1, 6 * 3600)), 0);
  r.run(7 * 3600);
  auto e = r.last_end_frame();
  ASSERT_TRUE(e);
  EXPECT_EQ(e->reason, 2);
  EXPECT_GE(e->duration_s, 6u * 3600);
}

// ---- START / STOP / ADJUST ------------------------------------------------------------------------

TEST(Start, Results) {
  Rig r;
  r.c->plug(1, li48());
  EXPECT_EQ(r.result(Cmd::Start, start(2, 1)), 2);     // no load
  EXPECT_EQ(r.result(Cmd::Start, start(11, 1)), 4);    // no such port
  EXPECT_EQ(r.result(Cmd::Start, start(0, 1)), 4);
  EXPECT_EQ(r.result(Cmd::Start, start(1, 1)), 0);
  EXPECT_EQ(r.result(Cmd::Start, start(1, 2)), 1);     // busy with another session
}

TEST(Start, RepeatedWithTheSameSessionAnswersZeroAndChangesNothing) {
  Rig r;
  r.c->plug(1, li48());
  ASSERT_EQ(r.result(Cmd::Start, start(1, 1001)), 0);
  r.run(600);
  double e = r.c->port(1).energy_wh;
  EXPECT_EQ(r.result(Cmd::Start, start(1, 1001)), 0);   // new seq, same session
  EXPECT_EQ(r.c->counters().sessions_started, 1u);
  EXPECT_DOUBLE_EQ(r.c->port(1).energy_wh, e);
  EXPECT_EQ(r.c->port(1).elapsed_s, 600);
}

TEST(Commands, ADuplicateFrameIsAnsweredAgainButActedOnOnce) {
  Rig r;
  r.c->plug(1, li48());
  ASSERT_EQ(r.result(Cmd::Start, start(1, 5)), 0);
  auto a = r.command(Cmd::Stop, StopCmd{1, 5}.encode(), uint16_t{900});
  auto b = r.command(Cmd::Stop, StopCmd{1, 5}.encode(), uint16_t{900});   // the server's retry
  ASSERT_TRUE(a && b);
  EXPECT_EQ(*a, *b);
  EXPECT_EQ(Result::decode(*b)->result, 0);
  EXPECT_EQ(r.sent_of(Cmd::SessionEnd).size(), 1u);
  EXPECT_EQ(r.c->counters().duplicates, 1u);
}

TEST(Stop, RemoteStopAnswersThenSendsSessionEndReason3) {
  Rig r;
  r.c->plug(4, li48());
  ASSERT_EQ(r.result(Cmd::Start, start(4, 77)), 0);
  r.run(300);
  EXPECT_EQ(r.result(Cmd::Stop, StopCmd{4, 78}.encode()), 1);   // not that session
  size_t before = r.sent.size();
  EXPECT_EQ(r.result(Cmd::Stop, StopCmd{4, 77}.encode()), 0);
  // The response goes out first, then the SESSION_END.
  ASSERT_GE(r.sent.size(), before + 2);
  EXPECT_EQ(r.sent[before].cmd, Cmd::Stop);
  EXPECT_EQ(r.sent[before + 1].cmd, Cmd::SessionEnd);
  auto e = r.last_end_frame();
  EXPECT_EQ(e->reason, 3);
  EXPECT_EQ(e->duration_s, 300u);
  EXPECT_GT(e->energy_wh, 5u);
}

TEST(Limits, TimeLimitEndsWithReason2) {
  Rig r;
  r.c->plug(1, li48(0.2));
  ASSERT_EQ(r.result(Cmd::Start, start(1, 1, 1, 1800)), 0);
  r.run(3600);
  auto e = r.last_end_frame();
  ASSERT_TRUE(e);
  EXPECT_EQ(e->reason, 2);
  EXPECT_GE(e->duration_s, 1800u);
  EXPECT_LE(e->duration_s, 1810u);
}

TEST(Limits, EnergyLimitEndsWithReason2) {
  Rig r;
  r.c->plug(1, li48(0.2));
  ASSERT_EQ(r.result(Cmd::Start, start(1, 1, 2, 50)), 0);
  r.run(3 * 3600);
  auto e = r.last_end_frame();
  ASSERT_TRUE(e);
  EXPECT_EQ(e->reason, 2);
  EXPECT_GE(e->energy_wh, 50u);
  EXPECT_LE(e->energy_wh, 51u);
}

TEST(Adjust, ExtendsAShortensAndRangeChecks) {
  Rig r;
  r.c->plug(1, li48(0.1));
  r.c->plug(2, li48(0.1));
  ASSERT_EQ(r.result(Cmd::Start, start(1, 1, 1, 600)), 0);
  ASSERT_EQ(r.result(Cmd::Start, start(2, 2, 1, 3600)), 0);
  r.run(300);
  EXPECT_EQ(r.result(Cmd::Adjust, AdjustCmd{1, 1, 1, 1200}.encode()), 0);   // rider added money
  EXPECT_EQ(r.result(Cmd::Adjust, AdjustCmd{1, 9, 1, 1200}.encode()), 1);   // wrong session
  EXPECT_EQ(r.result(Cmd::Adjust, AdjustCmd{1, 1, 7, 1200}.encode()), 2);   // no such mode
  EXPECT_EQ(r.result(Cmd::Adjust, AdjustCmd{1, 1, 2, 0}.encode()), 2);      // zero energy
  EXPECT_EQ(r.result(Cmd::Adjust, AdjustCmd{2, 2, 1, 100}.encode()), 0);    // already passed: stops now
  auto e2 = r.last_end_frame();
  ASSERT_TRUE(e2);
  EXPECT_EQ(e2->session, 2u);
  EXPECT_EQ(e2->reason, 2);
  r.run(1000);
  auto e1 = r.last_end_frame();
  EXPECT_EQ(e1->session, 1u);
  EXPECT_GE(e1->duration_s, 1200u);
  EXPECT_LE(e1->duration_s, 1210u);
}

TEST(Unplug, RiderUnpluggingEarlyEndsWithReason7) {
  Rig r;
  r.c->plug(3, li48(0.2));
  ASSERT_EQ(r.result(Cmd::Start, start(3, 3)), 0);
  r.run(900);
  r.c->unplug(3, r.now);
  r.pump();
  EXPECT_EQ(r.last_end_frame()->reason, 7);
  EXPECT_EQ(r.c->port(3).state, PortState::Idle);
}

// ---- protection ----------------------------------------------------------------------------------

TEST(Overload, PortOverloadStopsWithReason4AndAlarm3) {
  Rig r;
  r.c->plug(1, li48(0.3, LoadFaults{.overload_w = 720, .overload_after_s = 120}));
  ASSERT_EQ(r.result(Cmd::Start, start(1, 1)), 0);
  r.run(300);
  auto e = r.last_end_frame();
  ASSERT_TRUE(e);
  EXPECT_EQ(e->reason, 4);
  auto al = r.alarms();
  ASSERT_EQ(al.size(), 1u);
  EXPECT_EQ(al[0].code, 3);
  EXPECT_EQ(al[0].port, 1);
  EXPECT_NEAR(al[0].value, 720, 1);
}

TEST(Overload, SessionMaxPowerIsItsOwnOverloadThreshold) {
  Rig r;
  r.c->plug(1, li48(0.3));
  ASSERT_EQ(r.result(Cmd::Start, start(1, 1, 0, 0, 120)), 0);   // the pack draws ~190 W
  r.run(120);
  EXPECT_EQ(r.last_end_frame()->reason, 4);
}

TEST(Overload, UnitOverloadStopsTheNewestPortFirstWithReason5AndAlarm4) {
  Rig r;
  for (int p = 1; p <= 4; ++p) r.c->plug(p, li48(0.3));
  auto prm = params_of(r);
  prm.unit_max_w = 500;
  ASSERT_EQ(r.result(Cmd::SetParams, prm.encode()), 0);
  ASSERT_EQ(r.result(Cmd::Start, start(1, 1)), 0);
  ASSERT_EQ(r.result(Cmd::Start, start(2, 2)), 0);
  r.run(120);
  ASSERT_EQ(r.result(Cmd::Start, start(3, 3)), 0);   // 2 x ~190 W + margin still fits
  r.run(120);
  auto e = r.last_end_frame();
  ASSERT_TRUE(e);
  EXPECT_EQ(e->session, 3u);
  EXPECT_EQ(e->reason, 5);
  EXPECT_EQ(r.c->port(1).state, PortState::Charging);
  EXPECT_EQ(r.c->port(2).state, PortState::Charging);
  auto al = r.alarms();
  ASSERT_FALSE(al.empty());
  EXPECT_EQ(al.back().code, 4);
  EXPECT_GT(al.back().value, 500);
  prm.unit_max_w = 400;
  ASSERT_EQ(r.result(Cmd::SetParams, prm.encode()), 0);
  EXPECT_EQ(r.result(Cmd::Start, start(4, 4)), 5);   // unit power budget exceeded
}

TEST(Temperature, WarningThenCutOffStopsEveryPortWithReason6) {
  ChargerConfig cfg;
  cfg.ambient_c = 55;
  Rig r(cfg);
  for (int p = 1; p <= 10; ++p) {
    r.c->plug(p, li48(0.05));
    ASSERT_EQ(r.result(Cmd::Start, start(static_cast<uint8_t>(p), static_cast<uint32_t>(p))), 0);
  }
  r.run(1800);   // ~1.9 kW: steady state about 70 C
  auto al = r.alarms();
  ASSERT_EQ(al.size(), 1u);
  EXPECT_EQ(al[0].code, 1);
  EXPECT_GE(al[0].value, 650);
  EXPECT_TRUE(r.sent_of(Cmd::SessionEnd).empty());
  r.c->set_ambient_c(70);   // a hot afternoon
  r.run(1800);
  al = r.alarms();
  ASSERT_EQ(al.size(), 2u);
  EXPECT_EQ(al[1].code, 2);
  EXPECT_GE(al[1].value, 800);
  auto ends = r.sent_of(Cmd::SessionEnd);
  ASSERT_EQ(ends.size(), 10u);
  for (auto& f : ends) EXPECT_EQ(SessionEnd::decode(f.body)->reason, 6);
  EXPECT_EQ(r.result(Cmd::Start, start(1, 99)), 3);   // refused while too hot
}

// ---- parameters, query, locate, commissioning ------------------------------------------------------

TEST(Params, SetAndGetWithRangeChecks) {
  Rig r;
  Params def;
  EXPECT_EQ(params_of(r), def);
  Params p = def;
  p.port_max_w = 700;   // over 600 on a normal port
  EXPECT_EQ(r.result(Cmd::SetParams, p.encode()), 1);
  p = def;
  p.unit_max_w = 6001;
  EXPECT_EQ(r.result(Cmd::SetParams, p.encode()), 1);
  p = def;
  p.temp_warn_dc = 900;   // warning above cut-off
  EXPECT_EQ(r.result(Cmd::SetParams, p.encode()), 1);
  p = def;
  p.full_stop_w = 0;
  EXPECT_EQ(r.result(Cmd::SetParams, p.encode()), 1);
  EXPECT_EQ(params_of(r), def);   // nothing applied
  p = def;
  p.full_stop_w = 10;
  p.full_stop_delay_s = 120;
  p.meter_s = 30;
  EXPECT_EQ(r.result(Cmd::SetParams, p.encode()), 0);
  EXPECT_EQ(params_of(r), p);
  EXPECT_EQ(r.result(Cmd::SetParams, Bytes{1, 2, 3}), 1);   // malformed
}

TEST(Params, HighPowerModelAcceptsUpTo3500W) {
  ChargerConfig cfg;
  cfg.model = Model::HighPower8p2;
  Rig r(cfg);
  Params p;
  p.port_max_w = 3500;
  EXPECT_EQ(r.result(Cmd::SetParams, p.encode()), 0);
  p.port_max_w = 3501;
  EXPECT_EQ(r.result(Cmd::SetParams, p.encode()), 1);
  EXPECT_TRUE(r.c->high_power_port(5));
  EXPECT_FALSE(r.c->high_power_port(4));
  Params d;
  ASSERT_EQ(r.result(Cmd::SetParams, d.encode()), 0);
  EXPECT_EQ(r.c->port_limit_w(5), 3500);
  EXPECT_EQ(r.c->port_limit_w(1), 600);
}

TEST(Params, SurviveAReboot) {
  Rig r;
  Params p;
  p.full_stop_w = 9;
  ASSERT_EQ(r.result(Cmd::SetParams, p.encode()), 0);
  r.c->reboot(r.now);
  EXPECT_EQ(r.c->params().full_stop_w, 9);
}

TEST(QueryPorts, ReportsEveryPort) {
  Rig r;
  r.c->plug(2, li48());
  ASSERT_EQ(r.result(Cmd::Start, start(2, 20)), 0);
  r.run(600);
  auto q = QueryPortsResp::decode(*r.command(Cmd::QueryPorts, {}));
  ASSERT_TRUE(q);
  ASSERT_EQ(q->ports.size(), 10u);
  EXPECT_EQ(q->ports[0].state, 0);
  EXPECT_EQ(q->ports[1].state, 1);
  EXPECT_EQ(q->ports[1].session, 20u);
  EXPECT_EQ(q->ports[1].elapsed_s, 600u);
  EXPECT_GT(q->ports[1].power_w, 150);
  EXPECT_GT(q->ports[1].energy_wh, 20u);
}

TEST(Models, PortCounts) {
  for (auto [m, n] : {std::pair{Model::Scan10, 10}, {Model::TouchCard10, 10}, {Model::KeyCard10, 10},
                      {Model::HighPower8p2, 10}, {Model::Port20, 20}}) {
    ChargerConfig cfg;
    cfg.model = m;
    Rig r(cfg);
    EXPECT_EQ(r.c->ports(), n);
    EXPECT_EQ(Login::decode(r.sent_of(Cmd::Login)[0].body)->ports, n);
  }
}

TEST(Locate, RangeChecked) {
  Rig r;
  EXPECT_EQ(r.result(Cmd::Locate, LocateCmd{10}.encode()), 0);
  EXPECT_EQ(r.result(Cmd::Locate, LocateCmd{0}.encode()), 1);
  EXPECT_EQ(r.result(Cmd::Locate, LocateCmd{61}.encode()), 1);
}

TEST(Commissioning, Port0xFFSwitchesEveryPortOnWithoutBilling) {
  Rig r;
  r.c->plug(1, li48());
  EXPECT_EQ(r.result(Cmd::Start, start(0xFF, 1)), 4);   // session must be 0
  ASSERT_EQ(r.result(Cmd::Start, start(0xFF, 0)), 0);
  for (int p = 1; p <= 10; ++p) EXPECT_EQ(r.c->port(p).state, PortState::Charging);
  r.run(30);
  EXPECT_GT(r.c->port(1).power_w, 0);
  r.run(40);
  for (int p = 1; p <= 10; ++p) EXPECT_EQ(r.c->port(p).state, PortState::Idle);
  EXPECT_TRUE(r.sent_of(Cmd::SessionEnd).empty());
  EXPECT_TRUE(r.sent_of(Cmd::Meter).empty());
  ASSERT_EQ(r.result(Cmd::Start, start(1, 1)), 0);
  EXPECT_EQ(r.result(Cmd::Start, start(0xFF, 0)), 1);   // a port is busy
  EXPECT_EQ(r.result(Cmd::Stop, StopCmd{0xFF, 0}.encode()), 0);
  EXPECT_EQ(r.last_end_frame()->reason, 3);
}

// ---- cards ----------------------------------------------------------------------------------------

TEST(Card, SwipeSendsCardAndSwipingAgainStopsWithReason10) {
  ChargerConfig cfg;
  cfg.model = Model::TouchCard10;
  Rig r(cfg);
  r.c->plug(2, li48(0.2));
  Bytes uid = from_hex("04A1B2C3");
  r.c->swipe(2, uid, r.now);
  r.pump();
  auto cards = r.sent_of(Cmd::Card);
  ASSERT_EQ(cards.size(), 1u);
  auto c = Card::decode(cards[0].body);
  EXPECT_EQ(c->uid, uid);
  EXPECT_EQ(c->port, 2);
  bool shown = false;
  for (auto& e : r.events) shown |= e.kind == Event::CardAnswer && e.value == 500;
  EXPECT_TRUE(shown);   // balance on the display
  ASSERT_EQ(r.result(Cmd::Start, start(2, 66)), 0);   // the server's START after the accepted card
  r.run(600);
  r.c->swipe(2, from_hex("DEADBEEF"), r.now);   // another card does not stop it
  r.pump();
  EXPECT_EQ(r.c->port(2).state, PortState::Charging);
  r.c->swipe(2, uid, r.now);
  r.pump();
  auto e = r.last_end_frame();
  ASSERT_TRUE(e);
  EXPECT_EQ(e->reason, 10);
  EXPECT_EQ(e->session, 66u);
}

TEST(Card, ModelOneHasNoCardReader) {
  Rig r;
  r.c->swipe(1, from_hex("04A1B2C3"), r.now);
  r.pump();
  EXPECT_TRUE(r.sent_of(Cmd::Card).empty());
}

// ---- link: login, heartbeat, meter, retries ---------------------------------------------------------

TEST(Link, HeartbeatAndMeterRunOnSimulatedTime) {
  Rig r;
  r.c->plug(1, li48(0.1));
  ASSERT_EQ(r.result(Cmd::Start, start(1, 1)), 0);
  size_t hb0 = r.sent_of(Cmd::Heartbeat).size();
  r.run(600, 5);
  EXPECT_NEAR(static_cast<double>(r.sent_of(Cmd::Heartbeat).size() - hb0), 10, 1);
  auto meters = r.sent_of(Cmd::Meter);
  EXPECT_NEAR(static_cast<double>(meters.size()), 10, 1);
  auto m = Meter::decode(meters.back().body);
  ASSERT_EQ(m->ports.size(), 1u);
  EXPECT_GT(m->ports[0].voltage_dv, 400);
  EXPECT_GT(m->ports[0].current_ma, 3000);
  auto h = Heartbeat::decode(r.sent_of(Cmd::Heartbeat).back().body);
  EXPECT_EQ(h->ports[0], 1);
  EXPECT_GT(h->power_w, 150);
}

TEST(Link, UnansweredFramesAreRetriedWithTheSameSeqAtMostThreeTimes) {
  Rig r({}, false);
  r.answer = false;
  r.c->link_up(r.now);
  for (int i = 0; i < 10; ++i) r.real(1000);
  auto logins = r.sent_of(Cmd::Login);
  ASSERT_EQ(logins.size(), 4u);   // the first and three retries
  for (auto& f : logins) EXPECT_EQ(f.seq, logins[0].seq);
  auto req = r.c->take_link_request();   // then the charger gives up on this link
  ASSERT_TRUE(req);
}

TEST(Link, LoginRefusedBusyBacksOff) {
  Rig r({}, false);
  r.login_result = 4;
  r.c->link_up(r.now);
  r.pump();
  EXPECT_FALSE(r.c->logged_in());
  auto a = r.c->take_link_request();
  ASSERT_TRUE(a);
  EXPECT_GE(a->reconnect_after_ms, 1000);
  r.c->link_up(r.now);
  r.pump();
  auto b = r.c->take_link_request();
  ASSERT_TRUE(b);
  EXPECT_GE(b->reconnect_after_ms, 2000);   // growing
}

TEST(Link, Ed25519LoginSignsTheSpecText) {
  ChargerConfig cfg;
  cfg.auth_kind = AuthKind::Ed25519;
  for (int i = 0; i < 32; ++i) cfg.private_key[i] = static_cast<uint8_t>(i * 7 + 1);
  Rig r(cfg, false);
  r.now.unix_ms = 1795500000123;
  r.c->link_up(r.now);
  auto l = Login::decode(r.sent_of(Cmd::Login)[0].body);
  ASSERT_TRUE(l);
  EXPECT_EQ(l->auth_kind, AuthKind::Ed25519);
  ASSERT_EQ(l->auth.size(), 72u);
  uint64_t ms = 0;
  for (int i = 7; i >= 0; --i) ms = ms << 8 | l->auth[i];
  EXPECT_EQ(ms, 1795500000123u);
  std::string text = "chargehub-login:861234567890123:1795500000123";
  auto pub = crypto::ed25519_public(cfg.private_key);
  EXPECT_TRUE(crypto::ed25519_verify(pub, {reinterpret_cast<const uint8_t*>(text.data()), text.size()},
                                     {l->auth.data() + 8, 64}));
}

// ---- the journal -----------------------------------------------------------------------------------

TEST(Journal, UnansweredSessionEndSurvivesARebootAndIsResentWithNewSeqs) {
  Rig r;
  r.ack_session_end = false;
  r.c->plug(1, li48());
  r.c->plug(2, li48());
  ASSERT_EQ(r.result(Cmd::Start, start(1, 11)), 0);
  ASSERT_EQ(r.result(Cmd::Start, start(2, 12)), 0);
  r.run(600);
  ASSERT_EQ(r.result(Cmd::Stop, StopCmd{1, 11}.encode()), 0);
  r.real(1000);
  r.real(1000);
  auto copies = r.sent_of(Cmd::SessionEnd);
  ASSERT_GE(copies.size(), 3u);
  EXPECT_NE(copies[0].seq, copies[1].seq);   // a new seq each time
  EXPECT_EQ(copies[0].body, copies[1].body);
  r.c->reboot(r.now);                        // port 2 was charging: reason 8 now
  ASSERT_TRUE(r.c->take_link_request());
  EXPECT_EQ(r.c->nv().unacked.size(), 2u);
  r.sent.clear();
  r.ack_session_end = true;
  r.connect();
  auto resent = r.sent_of(Cmd::SessionEnd);
  ASSERT_EQ(resent.size(), 2u);
  EXPECT_EQ(SessionEnd::decode(resent[0].body)->session, 11u);
  EXPECT_EQ(SessionEnd::decode(resent[1].body)->session, 12u);
  EXPECT_EQ(SessionEnd::decode(resent[1].body)->reason, 8);
  EXPECT_TRUE(r.c->nv().unacked.empty());
  r.real(5000);
  EXPECT_EQ(r.sent_of(Cmd::SessionEnd).size(), 2u);   // answered: no more copies
}

TEST(Journal, PowerLossClosesTheSessionFromItsLastCheckpoint) {
  Rig r;
  r.c->plug(1, li48(0.2));
  ASSERT_EQ(r.result(Cmd::Start, start(1, 31)), 0);
  r.run(1830);
  double energy_now = r.c->port(1).energy_wh;
  r.c->power_loss(r.now);
  ASSERT_TRUE(r.c->take_link_request());
  EXPECT_EQ(r.c->port(1).state, PortState::Idle);
  ASSERT_EQ(r.c->nv().unacked.size(), 1u);
  auto e = r.c->nv().unacked[0].end;
  EXPECT_EQ(e.reason, 8);
  EXPECT_GE(e.duration_s, 1830u - 60);   // checkpoints are a meter interval apart
  EXPECT_LT(e.duration_s, 1830u);
  EXPECT_LE(e.energy_wh, energy_now + 0.5);
  EXPECT_GT(e.energy_wh, energy_now - 5);
  r.connect();
  EXPECT_EQ(SessionEnd::decode(r.sent_of(Cmd::SessionEnd).back().body)->session, 31u);
  EXPECT_TRUE(r.c->nv().unacked.empty());
}

TEST(Journal, JsonRoundTrip) {
  NvState s;
  s.fw = {1, 2, 3};
  s.params.full_stop_w = 7;
  s.unacked.push_back({5, SessionEnd{3, 1001, 1, 1795500000, 14400, 812, 236}});
  s.active.push_back(SessionEnd{4, 9, 0, 1795500001, 60, 3, 180});
  s.ota = OtaNv{OtaOffer{{1, 3, 0}, 10, {}, {}, 512}, {1, 2, 3}, true, false};
  s.ota_report = OtaStatus{{1, 3, 0}, 5, 10};
  auto t = nv_from_json(to_json(s));
  ASSERT_TRUE(t);
  EXPECT_EQ(t->fw, s.fw);
  EXPECT_EQ(t->params, s.params);
  ASSERT_EQ(t->unacked.size(), 1u);
  EXPECT_EQ(t->unacked[0].end, s.unacked[0].end);
  EXPECT_EQ(t->active[0], s.active[0]);
  EXPECT_EQ(t->ota->image, s.ota->image);
  EXPECT_EQ(t->ota_report->status, 5);
  EXPECT_FALSE(nv_from_json("{not json"));
}

TEST(Clock, SkewShiftsStartedAt) {
  ChargerConfig cfg;
  cfg.clock_skew_ms = -3600 * 1000;
  Rig r(cfg);
  r.c->plug(1, li48());
  ASSERT_EQ(r.result(Cmd::Start, start(1, 1)), 0);
  r.run(60);
  ASSERT_EQ(r.result(Cmd::Stop, StopCmd{1, 1}.encode()), 0);
  EXPECT_EQ(r.last_end_frame()->started_at, static_cast<uint32_t>(kT0 / 1000 - 3600));
}
