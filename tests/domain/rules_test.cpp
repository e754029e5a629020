// The core's decisions as pure functions (domain/include/chargehub/rules/): one test per rule, no
// database, no broker.
#include <gtest/gtest.h>

#include "chargehub/rules/alarms.hpp"
#include "chargehub/rules/card_swipe.hpp"
#include "chargehub/rules/commands.hpp"
#include "chargehub/rules/reconcile.hpp"
#include "chargehub/rules/session_start.hpp"
#include "chargehub/rules/settlement.hpp"
#include "chargehub/rules/telemetry.hpp"
#include "chargehub/rules/wallet.hpp"
#include "chargehub/states.hpp"

using namespace chargehub;
using namespace chargehub::rules;
using session::Event;
using session::State;

namespace {
StartFacts ready(int64_t available = 1000, pricing::Plan plan = pricing::Plan::energy(100)) {
  StartFacts f;
  f.device_found = f.device_enabled = f.device_online = true;
  f.device_ports = 10;
  f.port_state = proto::PortState::Idle;
  f.rider_found = true;
  f.available_fen = available;
  f.plan_found = true;
  f.plan = plan;
  return f;
}
std::string refusal(const StartRequest& r, const StartFacts& f) { return decide_start(r, f).refusal.code; }
}  // namespace

TEST(StartRule, AStartOnAnIdlePortHoldsThePrepaymentAndBuysEnergy) {
  auto t = decide_start({3, 500, false, 0}, ready());
  ASSERT_TRUE(t);
  EXPECT_EQ(t->prepaid_fen, 500);
  EXPECT_EQ(t->limit, (pricing::Limit{2, 5000}));   // 5 kWh at 1.00 yuan/kWh
}

TEST(StartRule, RefusalsComeInTheOrderARiderCanActOn) {
  auto f = ready();
  f.device_found = false;
  EXPECT_EQ(refusal({1, 100}, f), "device_not_found");
  f = ready();
  f.device_enabled = false;
  f.device_online = false;
  EXPECT_EQ(refusal({1, 100}, f), "device_disabled");
  f = ready();
  f.device_online = false;
  EXPECT_EQ(refusal({1, 100}, f), "device_offline");
  EXPECT_EQ(refusal({11, 100}, ready()), "bad_port");
  EXPECT_EQ(refusal({0, 100}, ready()), "bad_port");
  f = ready();
  f.port_state = proto::PortState::Fault;
  EXPECT_EQ(refusal({1, 100}, f), "port_unavailable");
  f.port_state = proto::PortState::Disabled;
  EXPECT_EQ(refusal({1, 100}, f), "port_unavailable");
  f = ready();
  f.session_on_port = 42;
  auto busy = decide_start({1, 100}, f);
  EXPECT_EQ(busy.refusal.code, "port_busy");
  EXPECT_NE(busy.refusal.message.find("42"), std::string::npos);
  f = ready();
  f.rider_found = false;
  EXPECT_EQ(refusal({1, 100}, f), "rider_not_found");
  f = ready();
  f.plan_found = false;
  EXPECT_EQ(refusal({1, 100}, f), "plan_missing");
  f = ready();
  f.plan.reset();
  EXPECT_EQ(refusal({1, 100}, f), "plan_invalid");
}

TEST(StartRule, APortThatFinishedChargingCanStartAgain) {
  auto f = ready();
  f.port_state = proto::PortState::Finished;
  EXPECT_TRUE(decide_start({1, 100}, f));
  f.port_state.reset();   // never reported
  EXPECT_TRUE(decide_start({1, 100}, f));
}

TEST(StartRule, NoMoreThanTheAvailableBalanceIsHeld) {
  EXPECT_EQ(refusal({1, 1001}, ready(1000)), "insufficient_funds");
  EXPECT_EQ(refusal({1, 0}, ready(1000)), "bad_amount");
  EXPECT_EQ(refusal({1, 100}, ready(0)), "insufficient_funds");
  EXPECT_EQ(refusal({1, 0, true}, ready(0)), "insufficient_funds");
}

TEST(StartRule, UntilFullHoldsThePlansCapOrTheWholeBalance) {
  auto capped = pricing::Plan::energy(100);
  capped.cap_fen = 300;
  EXPECT_EQ(decide_start({1, 0, true}, ready(1000, capped))->prepaid_fen, 300);
  EXPECT_EQ(decide_start({1, 0, true}, ready(200, capped))->prepaid_fen, 200);
  EXPECT_EQ(decide_start({1, 0, true}, ready(700))->prepaid_fen, 700);
}

TEST(StartRule, ADurationIsSoldOnlyByTimeAndPowerTierPlans) {
  EXPECT_EQ(refusal({1, 0, false, 3600}, ready()), "duration_not_offered");
  auto time = pricing::Plan::time(50, 30);
  auto t = decide_start({1, 0, false, 5400}, ready(1000, time));
  ASSERT_TRUE(t);
  EXPECT_EQ(t->prepaid_fen, 150);
  EXPECT_EQ(t->limit, (pricing::Limit{1, 5400}));
  EXPECT_EQ(refusal({1, 0, false, 13 * 3600}, ready(100000, time)), "bad_duration");
}

TEST(StartRule, AFreePlanHoldsNothing) {
  auto t = decide_start({1, 500}, ready(0, pricing::Plan::free()));
  ASSERT_TRUE(t);
  EXPECT_EQ(t->prepaid_fen, 0);
}

TEST(StartRule, AnAmountThatBuysNothingIsRefused) {
  EXPECT_EQ(refusal({1, 99}, ready(1000, pricing::Plan::time(100, 60))), "amount_too_small");   // blocks are whole hours
  EXPECT_EQ(refusal({1, 100}, ready(1000, pricing::Plan::time(100, 60))), "");
  EXPECT_EQ(refusal({1, 1}, ready(1000, pricing::Plan::energy(1000))), "");                 // 1 Wh
  EXPECT_EQ(refusal({1, 1}, ready(1000, pricing::Plan::energy(100000))), "amount_too_small");
}

TEST(SettlementRule, AStopRecordChargesThePriceCappedByThePrepayment) {
  SettleFacts f{State::Charging, true, 500, pricing::Plan::energy(100), 0};
  auto s = settle(f, {812, 3600, 200}, Event::EndReported);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->passes_through, State::Ended);
  EXPECT_EQ(s->amount_fen, 81);
  EXPECT_EQ(s->release_fen, 500);
  EXPECT_EQ(settle(f, {9000, 3600, 200}, Event::EndReported)->amount_fen, 500);
}

TEST(SettlementRule, ALateStopRecordAfterTheHoldWasReleasedIsCappedByTheWallet) {
  SettleFacts f{State::StartTimedOut, true, 300, pricing::Plan::energy(100), 120};
  auto s = settle(f, {2000, 3600, 200}, Event::EndReported);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->amount_fen, 120);
  EXPECT_EQ(s->release_fen, 0);
  f.available_fen = -50;   // never charge a wallet below zero
  EXPECT_EQ(settle(f, {2000, 3600, 200}, Event::EndReported)->amount_fen, 0);
}

TEST(SettlementRule, ALostSessionSettlesThroughLost) {
  SettleFacts f{State::Stopping, true, 500, pricing::Plan::energy(100), 0};
  auto s = settle(f, {250, 600, 200}, Event::ChargerLost);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->passes_through, State::Lost);
  EXPECT_EQ(s->amount_fen, 25);
}

TEST(SettlementRule, ASessionSettlesOnlyOnce) {
  for (State st : {State::Settled, State::Rejected, State::Ended, State::Lost})
    EXPECT_FALSE(settle(SettleFacts{st, true, 500, pricing::Plan::energy(100), 1000}, {100, 60, 100}, Event::EndReported))
        << session::state_name(st);
  EXPECT_FALSE(settle(SettleFacts{State::StartTimedOut, true, 0, pricing::Plan::energy(100), 0}, {}, Event::ChargerLost));
}

TEST(SettlementRule, ASessionWithoutARiderCostsNothing) {
  auto s = settle(SettleFacts{State::Charging, false, 0, pricing::Plan::energy(100), 0}, {1000, 60, 100}, Event::EndReported);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->amount_fen, 0);
  EXPECT_EQ(s->release_fen, 0);
}

TEST(CardSwipeRule, AnUnknownOrBlockedCardIsRefused) {
  SwipeFacts f{"04A1B2C3", std::nullopt, std::nullopt, 1000};
  EXPECT_EQ(decide_swipe(f, {}).result, proto::CardResult::UnknownCard);
  for (auto st : {CardState::Lost, CardState::Blocked}) {
    f.card = st;
    auto d = decide_swipe(f, {});
    EXPECT_EQ(d.action, SwipeDecision::Action::Refuse);
    EXPECT_EQ(d.result, proto::CardResult::Blocked);
  }
}

TEST(CardSwipeRule, ACardStartsPrepayingTheRulesAmountOrWhatIsLeft) {
  SwipeFacts f{"04A1B2C3", CardState::Active, std::nullopt, 1000};
  auto d = decide_swipe(f, CardRules{300, 50});
  EXPECT_EQ(d.action, SwipeDecision::Action::Start);
  EXPECT_EQ(d.prepay_fen, 300);
  f.available_fen = 120;
  EXPECT_EQ(decide_swipe(f, CardRules{300, 50}).prepay_fen, 120);
  f.available_fen = 49;
  auto low = decide_swipe(f, CardRules{300, 50});
  EXPECT_EQ(low.result, proto::CardResult::InsufficientBalance);
  EXPECT_EQ(low.balance_fen, 49);
}

TEST(CardSwipeRule, SwipingAgainStopsTheCardsOwnSessionAndAnotherCardFindsThePortBusy) {
  SwipeFacts f{"04A1B2C3", CardState::Active, SessionOnPort{7, std::string("04A1B2C3"), 300}, 700};
  auto own = decide_swipe(f, {});
  EXPECT_EQ(own.action, SwipeDecision::Action::StopOwnSession);
  EXPECT_EQ(own.balance_fen, 1000);   // what the card will have once the hold is settled
  f.on_port->card_uid = "11223344";
  EXPECT_EQ(decide_swipe(f, {}).result, proto::CardResult::PortBusy);
  f.on_port->card_uid.reset();   // started from the app
  EXPECT_EQ(decide_swipe(f, {}).result, proto::CardResult::PortBusy);
}

TEST(CardSwipeRule, AStartRefusedAfterAllShowsAsTheChargerUnderstandsIt) {
  EXPECT_EQ(card_result_for({"port_busy", ""}), proto::CardResult::PortBusy);
  EXPECT_EQ(card_result_for({"insufficient_funds", ""}), proto::CardResult::InsufficientBalance);
  EXPECT_EQ(card_result_for({"amount_too_small", ""}), proto::CardResult::InsufficientBalance);
  EXPECT_EQ(card_result_for({"device_offline", ""}), proto::CardResult::Blocked);
}

TEST(TelemetryRule, TimePlansStopWhenThePrepaymentIsUsedUp) {
  MeterFacts f{pricing::Plan::time(100, 60), 200, {10, 600, 200}, 1, 7200, false};
  EXPECT_FALSE(check_meter(f, 200, {}).stop_for_funds);
  f.usage = {300, 3700, 200};   // the second hour started: 200 fen
  EXPECT_TRUE(check_meter(f, 200, {}).stop_for_funds);
  f.plan = pricing::Plan::energy(100);   // the charger enforces energy limits itself
  EXPECT_FALSE(check_meter(f, 200, {}).stop_for_funds);
}

TEST(TelemetryRule, AHigherPowerBandShortensTheTimeLimit) {
  auto plan = pricing::Plan::power_tier({{200, 100}, {400, 200}, {600, 300}});
  MeterFacts f{plan, 600, {10, 60, 350}, 1, 6 * 3600, false};
  auto v = check_meter(f, 350, {});
  ASSERT_TRUE(v.shorter_limit);
  EXPECT_EQ(v.shorter_limit->limit, 3u * 3600);
  f.limit = 3 * 3600;   // told already
  EXPECT_FALSE(check_meter(f, 350, {}).shorter_limit);
}

TEST(TelemetryRule, DangerousCurvesAreFlaggedOnce) {
  MeterFacts f{pricing::Plan::energy(100), 3000, {1300, 6 * 3600, 240}, 2, 30000, false};
  EXPECT_EQ(check_meter(f, 235, {}).flag, "power_not_tapering");
  EXPECT_FALSE(check_meter(f, 100, {}).flag);   // it tapered
  f.usage.energy_wh = 1600;
  EXPECT_EQ(check_meter(f, 100, {}).flag, "energy_over_pack");
  f.flagged = true;
  EXPECT_FALSE(check_meter(f, 235, {}).flag);
}

TEST(ReconcileRule, ASessionTheChargerNoLongerHasIsLostUnlessItIsYoung) {
  std::vector<RunningSession> ours{{1, 2, State::Charging, 0}, {2, 3, State::Starting, 100}, {3, 4, State::Starting, 0}};
  auto r = reconcile(ours, {}, 110);
  EXPECT_EQ(r.lost, (std::vector<int64_t>{1, 3}));   // session 2 was asked for 10 s ago
  EXPECT_TRUE(r.stop.empty());
}

TEST(ReconcileRule, APortChargingASessionTheCoreDoesNotRunIsStopped) {
  std::vector<RunningSession> ours{{1, 2, State::Charging, 0}};
  auto r = reconcile(ours, {{2, 1}, {7, 987654}, {3, 1}}, 1000);
  EXPECT_TRUE(r.lost.empty());
  EXPECT_EQ(r.stop, (std::vector<std::pair<int64_t, int64_t>>{{3, 1}, {7, 987654}}));   // ours, but on another port
}

TEST(AlarmRule, OnlyAlarmsThatCutPowerStopSessions) {
  using proto::AlarmCode;
  auto code = [](AlarmCode c) { return static_cast<uint8_t>(c); };
  EXPECT_FALSE(alarm_stops(code(AlarmCode::TempWarning), 0).stops);
  auto port = alarm_stops(code(AlarmCode::PortOverload), 2);
  EXPECT_TRUE(port.stops);
  EXPECT_EQ(port.port, 2);
  EXPECT_EQ(alarm_stops(code(AlarmCode::TempCutoff), 3).port, 0);   // a cut-off stops every port
  EXPECT_EQ(alarm_stops(code(AlarmCode::UnitOverload), 0).port, 0);
}

TEST(AlarmRule, RepeatsOfOneConditionWithinTheWindowMergeIntoItsRecord) {
  EXPECT_EQ(alarm_dedup(std::nullopt, "m1", 1000).action, AlarmAction::record);
  AlarmRecord latest{7, 1000, "m1", "m5"};
  auto d = alarm_dedup(latest, "m6", 1000 + kAlarmDedupWindowS - 1);
  EXPECT_EQ(d.action, AlarmAction::merge);
  EXPECT_EQ(d.into_id, 7);
  EXPECT_EQ(alarm_dedup(latest, "m6", 1000 + kAlarmDedupWindowS).action, AlarmAction::record);  // a new episode
  EXPECT_EQ(alarm_dedup(latest, "m6", 1000 - 10).action, AlarmAction::merge);  // clock stepped back a little
}

TEST(AlarmRule, ACopyOfTheFirstOrLastReportChangesNothing) {
  AlarmRecord latest{7, 1000, "m1", "m5"};
  EXPECT_EQ(alarm_dedup(latest, "m1", 1001).action, AlarmAction::copy);
  EXPECT_EQ(alarm_dedup(latest, "m5", 99999).action, AlarmAction::copy);
}

TEST(ReplyRule, AReplyIsARefusalAnAcceptanceOrAFailure) {
  auto ok = reply_outcome(0, std::nullopt);
  EXPECT_EQ(ok.state, CommandState::Replied);
  EXPECT_EQ(start_event(ok), Event::StartAccepted);
  auto no = reply_outcome(2, std::nullopt);
  EXPECT_EQ(start_event(no), Event::StartRefused);
  EXPECT_EQ(start_failure(no), "start refused by the charger, result 2");
  auto expired = reply_outcome(std::nullopt, std::string("expired"));
  EXPECT_EQ(expired.state, CommandState::Expired);
  EXPECT_EQ(start_event(expired), Event::StartTimeout);
  auto malformed = reply_outcome(std::nullopt, std::nullopt);
  EXPECT_EQ(malformed.state, CommandState::Failed);
  EXPECT_EQ(malformed.error, "malformed reply");
}

TEST(WalletRule, TopUpsAndRefundsStayInBounds) {
  EXPECT_FALSE(check_topup(1, 0));
  EXPECT_FALSE(check_topup(kMaxTopupFen, kMaxTopupFen));
  EXPECT_EQ(check_topup(0, 0)->code, "bad_amount");
  EXPECT_EQ(check_topup(kMaxTopupFen + 1, 0)->code, "bad_amount");
  EXPECT_EQ(check_topup(100, 101)->code, "bad_amount");
  EXPECT_EQ(check_refund(false, 10, 100, 0)->code, "not_settled");
  EXPECT_FALSE(check_refund(true, 100, 100, 0));
  EXPECT_EQ(check_refund(true, 51, 100, 50)->code, "bad_amount");
}

TEST(States, EveryNameParsesBackAndPortHoldingStatesComeFromOneDefinition) {
  for (int i = 0; i <= 4; ++i) EXPECT_EQ(parse_command_state(name(static_cast<CommandState>(i))), static_cast<CommandState>(i));
  for (int i = 0; i <= 8; ++i)
    EXPECT_EQ(parse_rollout_device_state(name(static_cast<RolloutDeviceState>(i))), static_cast<RolloutDeviceState>(i));
  EXPECT_EQ(sql_in_list(session::port_holding_state_names()), "'requested', 'starting', 'charging', 'stopping'");
}
