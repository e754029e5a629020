// Billing rules of docs/billing-rules.md: the meter check, the lost START reply, orphan records.
// One test per rule, plain unit tests on the pure functions of domain/rules.
#include <gtest/gtest.h>

#include "chargehub/pricing.hpp"
#include "chargehub/rules/command_retry.hpp"
#include "chargehub/rules/meter_check.hpp"
#include "chargehub/rules/start_outcome.hpp"

using namespace chargehub::rules;
using chargehub::pricing::Plan;
using chargehub::pricing::Usage;
using chargehub::proto::PortState;
using chargehub::proto::PortStatus;
using chargehub::proto::QueryPortsResp;

namespace {
constexpr int64_t T0 = 1795500000;   // the session was created (server clock)

bool same(const Usage& a, const Usage& b) {
  return a.energy_wh == b.energy_wh && a.duration_s == b.duration_s && a.max_power_w == b.max_power_w;
}
#define EXPECT_USAGE(u, e, d, p) EXPECT_TRUE(same((u), Usage{(e), (d), (p)})) \
  << "got " << (u).energy_wh << " Wh, " << (u).duration_s << " s, " << (u).max_power_w << " W"

SessionFacts facts(std::optional<MeterPoint> last = std::nullopt, uint32_t port_w = kStandardPortW) {
  return SessionFacts{port_w, T0, last};
}
}  // namespace

// ---- the port's physics -----------------------------------------------------------------------

TEST(PortLimit, TenAmpPortsAt220VoltsAndTheTwoHighPowerPortsOfModel4) {
  for (uint8_t model : {1, 2, 3, 5})
    for (uint8_t port = 1; port <= model_port_count(model); ++port) EXPECT_EQ(port_limit_w(model, port), 2200u);
  for (uint8_t port = 1; port <= 10; ++port)
    EXPECT_EQ(port_limit_w(4, port), port == 5 || port == 6 ? 3500u : 2200u) << int(port);
  EXPECT_EQ(model_port_count(1), 10);
  EXPECT_EQ(model_port_count(4), 10);
  EXPECT_EQ(model_port_count(5), 20);
  EXPECT_EQ(port_limit_w(5, 20), 2200u);
}

TEST(PortLimit, UnknownModelOrPortGetsTheLoosestBound) {
  EXPECT_EQ(model_port_count(0), 0);
  EXPECT_EQ(model_port_count(9), 0);
  EXPECT_EQ(port_limit_w(9, 1), kHighPowerPortW);
  EXPECT_EQ(port_limit_w(1, 11), kHighPowerPortW);
  EXPECT_EQ(port_limit_w(1, 0), kHighPowerPortW);
}

TEST(PortLimit, MaxEnergyIsPowerWithHeadroomOverTimePlusRounding) {
  // 2200 W + 10 % = 2420 W; one hour: 2420 Wh + 10 Wh rounding.
  EXPECT_EQ(max_energy_wh(2200, 3600), 2430u);
  EXPECT_EQ(max_energy_wh(2200, 0), 10u);
  EXPECT_EQ(max_energy_wh(3500, 7200), 7710u);
  MeterTolerance strict{0, 0, 0, 0};
  EXPECT_EQ(max_energy_wh(200, 3600, strict), 200u);
}

TEST(MeterFlagNames, RoundTripAndSnakeCase) {
  for (auto f : {MeterFlag::None, MeterFlag::PowerExceedsPortLimit, MeterFlag::DurationExceedsElapsed,
                 MeterFlag::DurationWentBackwards, MeterFlag::EnergyWentBackwards, MeterFlag::EnergyExceedsPowerLimit,
                 MeterFlag::EnergyExceedsReportedPower})
    EXPECT_EQ(parse_meter_flag(meter_flag_name(f)), f);
  EXPECT_EQ(meter_flag_name(MeterFlag::EnergyExceedsPowerLimit), "energy_exceeds_power_limit");
  EXPECT_EQ(meter_flag_name(MeterFlag::EnergyWentBackwards), "energy_went_backwards");
  EXPECT_EQ(meter_flag_name(MeterFlag::DurationExceedsElapsed), "duration_exceeds_elapsed");
  EXPECT_FALSE(parse_meter_flag("Energy"));
}

// ---- stop records ------------------------------------------------------------------------------

TEST(EndRecord, APlausibleRecordIsBilledAsReported) {
  // frames.md's vector: 14400 s, 812 Wh, peak 236 W, four hours after the session was created.
  auto v = judge_end(facts(MeterPoint{800, 14340, 236, T0 + 14350}), {812, 14400, 236}, T0 + 14410);
  EXPECT_FALSE(v.implausible);
  EXPECT_EQ(v.flag, MeterFlag::None);
  EXPECT_TRUE(v.flags.empty());
  EXPECT_USAGE(v.bill, 812u, 14400u, 236u);
  ASSERT_TRUE(v.last);
  EXPECT_EQ(v.last->at, T0 + 14410);
}

TEST(EndRecord, HundredsOfKwhForAFewMinutesAt200WBillsTheLastPlausibleReading) {
  // Five minutes at about 200 W; the charger rebooted and claims 400 kWh.
  MeterPoint last{13, 240, 205, T0 + 250};
  auto v = judge_end(facts(last), {400000, 300, 205}, T0 + 310);
  EXPECT_TRUE(v.implausible);
  EXPECT_EQ(v.flag, MeterFlag::EnergyExceedsPowerLimit);
  EXPECT_USAGE(v.bill, 13u, 240u, 205u);
  EXPECT_EQ(v.last, last);
  // On every plan kind the rider pays for the 13 Wh and 4 minutes, not the claim.
  EXPECT_EQ(chargehub::pricing::charge_fen(Plan::energy(100, 20), v.bill, 500), 1);
  EXPECT_EQ(chargehub::pricing::charge_fen(Plan::time(100, 60), v.bill, 500), 100);
  EXPECT_EQ(chargehub::pricing::charge_fen(Plan::free(), v.bill, 500), 0);
}

TEST(EndRecord, TheOcppCase910KwhFor83WhDelivered) {
  // 0.083 kWh delivered over 25 minutes; the record says 910 kWh.
  MeterPoint last{83, 1500, 230, T0 + 1510};
  auto v = judge_end(facts(last), {910000, 1520, 230}, T0 + 1530);
  EXPECT_TRUE(v.implausible);
  EXPECT_EQ(v.flag, MeterFlag::EnergyExceedsPowerLimit);
  EXPECT_USAGE(v.bill, 83u, 1500u, 230u);
  EXPECT_EQ(chargehub::pricing::charge_fen(Plan::energy(100), v.bill, 10000), 8);
}

TEST(EndRecord, ACounterResetIsEnergyGoingBackwards) {
  // 640 Wh seen, then a reboot: the record restarts from a counter that had only 12 Wh.
  MeterPoint last{640, 10800, 240, T0 + 10810};
  auto v = judge_end(facts(last), {12, 11000, 240}, T0 + 11010);
  EXPECT_TRUE(v.implausible);
  EXPECT_EQ(v.flag, MeterFlag::EnergyWentBackwards);
  EXPECT_USAGE(v.bill, 640u, 10800u, 240u);
}

TEST(EndRecord, AFreshMeterReportingZeroAfterReadingsIsBilledOnTheReadings) {
  MeterPoint last{300, 5400, 220, T0 + 5410};
  auto v = judge_end(facts(last), {0, 0, 0}, T0 + 5500);
  EXPECT_TRUE(v.implausible);
  EXPECT_EQ(v.flag, MeterFlag::DurationWentBackwards);
  EXPECT_EQ(v.flags, (std::vector<MeterFlag>{MeterFlag::DurationWentBackwards, MeterFlag::EnergyWentBackwards}));
  EXPECT_USAGE(v.bill, 300u, 5400u, 220u);
}

TEST(EndRecord, ZeroWithNoReadingsIsPlausibleAndFree) {
  auto v = judge_end(facts(), {0, 0, 0}, T0 + 20);
  EXPECT_FALSE(v.implausible);
  EXPECT_USAGE(v.bill, 0u, 0u, 0u);
  EXPECT_EQ(chargehub::pricing::charge_fen(Plan::time(100, 60, 50), v.bill, 500), 0);
}

TEST(EndRecord, U32WrapIsAbsurdEverywhere) {
  auto v = judge_end(facts(MeterPoint{50, 900, 210, T0 + 910}), {0xFFFFFFFFu, 0xFFFFFFFFu, 0xFFFF}, T0 + 960);
  EXPECT_TRUE(v.implausible);
  EXPECT_EQ(v.flag, MeterFlag::PowerExceedsPortLimit);
  EXPECT_EQ(v.flags, (std::vector<MeterFlag>{MeterFlag::PowerExceedsPortLimit, MeterFlag::DurationExceedsElapsed,
                                             MeterFlag::EnergyExceedsPowerLimit}));
  EXPECT_USAGE(v.bill, 50u, 900u, 210u);
  // Energy just below the wrap after a reading of 100 Wh: a negative delta read as unsigned.
  auto w = judge_end(facts(MeterPoint{100, 600, 200, T0 + 610}), {0xFFFFFFFFu - 5, 620, 200}, T0 + 630);
  EXPECT_EQ(w.flag, MeterFlag::EnergyExceedsPowerLimit);
  EXPECT_USAGE(w.bill, 100u, 600u, 200u);
}

TEST(EndRecord, AbsurdRecordWithNoReadingsBillsNothing) {
  // A session of two minutes ends before its first meter reading with a garbage record.
  auto v = judge_end(facts(), {250000, 110, 190}, T0 + 125);
  EXPECT_TRUE(v.implausible);
  EXPECT_EQ(v.flag, MeterFlag::EnergyExceedsPowerLimit);
  EXPECT_USAGE(v.bill, 0u, 0u, 0u);
  EXPECT_FALSE(v.last);
  EXPECT_EQ(chargehub::pricing::charge_fen(Plan::energy(100), v.bill, 500), 0);
}

TEST(EndRecord, ADurationLongerThanTheSessionExistedIsTheTimePlanRisk) {
  // On a time plan the risk is the duration: 30 minutes of session, a record of 40 hours.
  MeterPoint last{90, 1700, 200, T0 + 1710};
  Plan hourly = Plan::time(100, 60);
  auto v = judge_end(facts(last), {100, 40 * 3600, 200}, T0 + 1800);
  EXPECT_TRUE(v.implausible);
  EXPECT_EQ(v.flag, MeterFlag::DurationExceedsElapsed);
  EXPECT_USAGE(v.bill, 90u, 1700u, 200u);
  EXPECT_EQ(chargehub::pricing::charge_fen(hourly, v.bill, 5000), 100);   // one block, not 40
}

TEST(EndRecord, DurationWithinSkewAndDriftIsPlausible) {
  // Created at T0, record at T0 + 3600: the charger may claim up to 3600 + 60 + 36 s.
  EXPECT_FALSE(judge_end(facts(), {100, 3696, 200}, T0 + 3600).implausible);
  auto v = judge_end(facts(), {100, 3697, 200}, T0 + 3600);
  EXPECT_TRUE(v.implausible);
  EXPECT_EQ(v.flag, MeterFlag::DurationExceedsElapsed);
}

TEST(EndRecord, EnergyAtThePortLimitIsPlausibleAndJustAboveIsNot) {
  // One hour at a full 2200 W port (+10 % headroom) is possible; ten times more is not.
  uint32_t limit = static_cast<uint32_t>(max_energy_wh(2200, 3600 + 60 + 36));
  EXPECT_FALSE(judge_end(facts(), {limit, 3600, 2400}, T0 + 3600).implausible);
  auto v = judge_end(facts(), {limit + 1, 3600, 2400}, T0 + 3600);
  EXPECT_TRUE(v.implausible);
  EXPECT_EQ(v.flag, MeterFlag::EnergyExceedsPowerLimit);
}

TEST(EndRecord, HighPowerPortsAllowTheirRating) {
  // 3000 W for an hour: possible on port 5 of model 4, not on a standard port.
  auto on_high = judge_end(facts(std::nullopt, port_limit_w(4, 5)), {3000, 3600, 3100}, T0 + 3600);
  EXPECT_FALSE(on_high.implausible);
  auto on_std = judge_end(facts(std::nullopt, port_limit_w(4, 4)), {3000, 3600, 3100}, T0 + 3600);
  EXPECT_TRUE(on_std.implausible);
  EXPECT_EQ(on_std.flag, MeterFlag::PowerExceedsPortLimit);
}

TEST(EndRecord, APeakAbovePortRatingWouldBillTheTopPowerBand) {
  // A power tier plan bills the peak's band: a garbage peak of 60 kW must not reach the bill.
  Plan tiers = Plan::power_tier({{200, 100}, {400, 150}, {2200, 400}}, 60);
  MeterPoint last{150, 3000, 180, T0 + 3010};
  auto v = judge_end(facts(last), {160, 3300, 60000}, T0 + 3320);
  EXPECT_TRUE(v.implausible);
  EXPECT_EQ(v.flag, MeterFlag::PowerExceedsPortLimit);
  EXPECT_USAGE(v.bill, 150u, 3000u, 180u);
  EXPECT_EQ(chargehub::pricing::charge_fen(tiers, v.bill, 5000), 100);
}

TEST(EndRecord, EnergyBeyondItsOwnPeakPowerIsInconsistent) {
  // 200 W peak for an hour cannot deliver 1,500 Wh (the port could, the record's own peak cannot).
  auto v = judge_end(facts(), {1500, 3600, 200}, T0 + 3650);
  EXPECT_TRUE(v.implausible);
  EXPECT_EQ(v.flag, MeterFlag::EnergyExceedsReportedPower);
  // The peak the platform saw in the readings counts too.
  auto w = judge_end(facts(MeterPoint{1400, 3500, 1800, T0 + 3510}), {1500, 3600, 200}, T0 + 3650);
  EXPECT_FALSE(w.implausible);
  EXPECT_USAGE(w.bill, 1500u, 3600u, 1800u);
}

TEST(EndRecord, ASmallDropWithinMeterRoundingIsBilledAsTheRecordSays) {
  auto v = judge_end(facts(MeterPoint{120, 3600, 180, T0 + 3610}), {115, 3640, 180}, T0 + 3650);
  EXPECT_FALSE(v.implausible);
  EXPECT_USAGE(v.bill, 115u, 3640u, 180u);
}

TEST(EndRecord, AJumpSinceTheLastReadingFasterThanThePortIsImplausible) {
  // 100 Wh at T0+600, 10 minutes later a record of 1,000 Wh: 900 Wh in 10 minutes needs 5.4 kW.
  MeterPoint last{100, 590, 400, T0 + 600};
  auto v = judge_end(facts(last), {1000, 1190, 2200}, T0 + 1200);
  EXPECT_TRUE(v.implausible);
  EXPECT_EQ(v.flag, MeterFlag::EnergyExceedsPowerLimit);
  EXPECT_USAGE(v.bill, 100u, 590u, 400u);
  // 300 Wh in those 10 minutes is possible at 2.2 kW (1.8 kW needed).
  auto w = judge_end(facts(last), {400, 1190, 2000}, T0 + 1200);
  EXPECT_FALSE(w.implausible);
}

TEST(EndRecord, ALateCopyOfARecordIsJudgedOnTheWiderWindow) {
  // The charger was offline for a day and resends its record: the duration fits the window, still plausible.
  auto v = judge_end(facts(MeterPoint{500, 7000, 240, T0 + 7010}), {560, 7600, 240}, T0 + 86400);
  EXPECT_FALSE(v.implausible);
  EXPECT_USAGE(v.bill, 560u, 7600u, 240u);
}

TEST(EndRecord, StrictToleranceFlagsWhatTheDefaultForgives) {
  MeterTolerance strict{0, 0, 0, 0};
  // 2 Wh less than the last reading: within the default 10 Wh rounding, not within zero.
  MeterPoint last{120, 3600, 180, T0 + 3610};
  EXPECT_FALSE(judge_end(facts(last), {118, 3620, 180}, T0 + 3630).implausible);
  auto v = judge_end(facts(last), {118, 3620, 180}, T0 + 3630, strict);
  EXPECT_EQ(v.flag, MeterFlag::EnergyWentBackwards);
}

TEST(EndRecord, FreePlanStillFlagsForTheOperator) {
  auto v = judge_end(facts(MeterPoint{20, 600, 200, T0 + 610}), {900000, 660, 200}, T0 + 670);
  EXPECT_TRUE(v.implausible);
  EXPECT_EQ(chargehub::pricing::charge_fen(Plan::free(), v.bill, 0), 0);
}

// ---- properties over many generated sessions ------------------------------------------------------

namespace {
struct Lcg {   // deterministic, so a failure reproduces
  uint64_t s;
  uint32_t next() { return static_cast<uint32_t>((s = s * 6364136223846793005ULL + 1442695040888963407ULL) >> 33); }
  uint32_t in(uint32_t lo, uint32_t hi) { return lo + next() % (hi - lo + 1); }
};
}  // namespace

TEST(MeterProperty, AnHonestChargeIsNeverFlagged) {
  // Constant-then-tapering power up to the port's rating, readings every 60 s, START latency up to 5 s,
  // the record up to 30 s after the end: nothing is flagged, and the record is billed as reported.
  Lcg rng{42};
  for (int i = 0; i < 2000; ++i) {
    bool high = rng.in(0, 3) == 0;
    uint32_t port_w = high ? kHighPowerPortW : kStandardPortW;
    uint32_t peak = rng.in(20, port_w);
    uint32_t duration = rng.in(1, 12 * 3600);
    int64_t begin = T0 + rng.in(0, 5);
    SessionFacts s{port_w, T0, std::nullopt};
    uint64_t ws = 0;
    uint32_t seen_peak = 0;
    for (uint32_t t = 1; t <= duration; ++t) {
      uint32_t w = t < duration / 2 ? peak : peak / 2;   // tapering
      ws += w;
      seen_peak = std::max(seen_peak, w);
      if (t % 60 == 0 && t < duration) {
        auto v = judge_reading(s, {static_cast<uint32_t>(ws / 3600), t, w}, begin + t + rng.in(0, 2));
        ASSERT_FALSE(v.implausible) << i << " at " << t << ": " << meter_flag_name(v.flag);
        s.last = v.last;
      }
    }
    Reported end{static_cast<uint32_t>(ws / 3600), duration, seen_peak};
    auto v = judge_end(s, end, begin + duration + rng.in(0, 30));
    ASSERT_FALSE(v.implausible) << i << ": " << meter_flag_name(v.flag) << " peak " << peak << " duration " << duration;
    EXPECT_EQ(v.bill.energy_wh, end.energy_wh);
    EXPECT_EQ(v.bill.duration_s, duration);
  }
}

TEST(MeterProperty, WhateverIsReportedTheBillStaysWithinPhysics) {
  // Arbitrary u32 reports after a plausible history: the bill never exceeds what the port can deliver
  // over the session's window, nor the window itself, nor the port's power.
  Lcg rng{7};
  MeterTolerance tol;
  for (int i = 0; i < 20000; ++i) {
    uint32_t port_w = rng.in(0, 1) ? kHighPowerPortW : kStandardPortW;
    uint32_t window = rng.in(0, 13 * 3600);
    std::optional<MeterPoint> last;
    if (rng.in(0, 1) && window > 60) {
      uint32_t d = rng.in(1, window - 30);
      last = MeterPoint{rng.in(0, static_cast<uint32_t>(uint64_t{port_w} * d / 3600)), d, rng.in(0, port_w), T0 + d + 30};
    }
    Reported r{rng.next() % 4 == 0 ? 0xFFFFFFFFu : rng.next(), rng.next() % 3 == 0 ? rng.in(0, window) : rng.next(),
               rng.in(0, 65535)};
    auto v = (i % 2) ? judge_end({port_w, T0, last}, r, T0 + window) : judge_reading({port_w, T0, last}, r, T0 + window);
    uint64_t slack = window + tol.skew_s + uint64_t{window} * tol.drift_permille / 1000;
    EXPECT_LE(v.bill.energy_wh, max_energy_wh(port_w, slack)) << i;
    EXPECT_LE(v.bill.duration_s, slack) << i;
    EXPECT_LE(v.bill.max_power_w, port_w * 11 / 10) << i;
    EXPECT_EQ(v.implausible, !v.flags.empty());
  }
}

// ---- readings during a session -------------------------------------------------------------------

TEST(Reading, PlausibleReadingsMoveTheSessionForward) {
  auto first = judge_reading(facts(), {3, 60, 180}, T0 + 65);
  EXPECT_FALSE(first.implausible);
  EXPECT_USAGE(first.bill, 3u, 60u, 180u);
  ASSERT_TRUE(first.last);
  auto second = judge_reading(facts(first.last), {6, 120, 175}, T0 + 125);
  EXPECT_FALSE(second.implausible);
  EXPECT_USAGE(second.bill, 6u, 120u, 180u);   // the peak seen is kept
  EXPECT_EQ(second.last->at, T0 + 125);
}

TEST(Reading, AReadingSlightlyBehindDoesNotMoveUsageBackwards) {
  MeterPoint last{120, 3600, 180, T0 + 3610};
  auto v = judge_reading(facts(last), {118, 3590, 170}, T0 + 3670);
  EXPECT_FALSE(v.implausible);
  EXPECT_USAGE(v.bill, 120u, 3600u, 180u);
}

TEST(Reading, ACounterResetMidSessionKeepsTheLastPlausibleReading) {
  MeterPoint last{400, 7200, 230, T0 + 7210};
  auto v = judge_reading(facts(last), {2, 60, 200}, T0 + 7270);
  EXPECT_TRUE(v.implausible);
  EXPECT_EQ(v.flag, MeterFlag::DurationWentBackwards);
  EXPECT_USAGE(v.bill, 400u, 7200u, 230u);
  EXPECT_EQ(v.last, last);   // the next reading is judged against 400 Wh again
  auto next = judge_reading(facts(v.last), {420, 7320, 200}, T0 + 7330);
  EXPECT_FALSE(next.implausible);
}

TEST(Reading, AbsurdEnergyInAReading) {
  auto v = judge_reading(facts(MeterPoint{10, 180, 200, T0 + 185}), {500000, 240, 200}, T0 + 245);
  EXPECT_TRUE(v.implausible);
  EXPECT_EQ(v.flag, MeterFlag::EnergyExceedsPowerLimit);
  EXPECT_USAGE(v.bill, 10u, 180u, 200u);
}

TEST(Reading, AbsurdPowerInAReading) {
  auto v = judge_reading(facts(), {5, 60, 65535}, T0 + 62);
  EXPECT_TRUE(v.implausible);
  EXPECT_EQ(v.flag, MeterFlag::PowerExceedsPortLimit);
  EXPECT_USAGE(v.bill, 0u, 0u, 0u);
}

TEST(Reading, AbsurdElapsedInAReading) {
  auto v = judge_reading(facts(), {5, 99999, 200}, T0 + 120);
  EXPECT_TRUE(v.implausible);
  EXPECT_EQ(v.flag, MeterFlag::DurationExceedsElapsed);
}

TEST(Reading, TheReportedPeakOfAReadingIsNotAConsistencyCheck) {
  // Readings carry the power of one moment; energy above it over the elapsed time is normal (tapering).
  auto v = judge_reading(facts(), {300, 3600, 40}, T0 + 3610);
  EXPECT_FALSE(v.implausible);
}

// ---- orphan records ----------------------------------------------------------------------------

TEST(Orphan, QuoteUnderAPlanWithTheMeterCheck) {
  // A record for a session the platform never knew: 2 h, 420 Wh, started at its started_at.
  int64_t received = T0 + 7300;
  auto q = quote_orphan(Plan::energy(100, 20), {420, 7200, 240}, 2200, T0 + 60, received, 10000);
  EXPECT_FALSE(q.verdict.implausible);
  EXPECT_USAGE(q.verdict.bill, 420u, 7200u, 240u);
  EXPECT_EQ(q.amount_fen, 50);   // 420 * 120 / 1000
  // Capped by what the rider has available.
  EXPECT_EQ(quote_orphan(Plan::energy(100, 20), {420, 7200, 240}, 2200, T0 + 60, received, 30).amount_fen, 30);
}

TEST(Orphan, AbsurdOrphanQuotesNothing) {
  auto q = quote_orphan(Plan::energy(100), {910000, 1500, 230}, 2200, T0, T0 + 1600, 10000);
  EXPECT_TRUE(q.verdict.implausible);
  EXPECT_EQ(q.verdict.flag, MeterFlag::EnergyExceedsPowerLimit);
  EXPECT_EQ(q.amount_fen, 0);
}

TEST(Orphan, DurationBeyondItsOwnStartOrThePlanMaximum) {
  // started_at says 10 minutes ago, duration says 5 hours.
  auto q = quote_orphan(Plan::time(100, 60), {100, 5 * 3600, 200}, 2200, T0, T0 + 600, 10000);
  EXPECT_EQ(q.verdict.flag, MeterFlag::DurationExceedsElapsed);
  EXPECT_EQ(q.amount_fen, 0);
  // No usable started_at (charger clock lost): the plan's 12 h maximum bounds the duration.
  auto r = quote_orphan(Plan::time(100, 60), {100, 30 * 3600, 200}, 2200, 0, T0, 10000);
  EXPECT_EQ(r.verdict.flag, MeterFlag::DurationExceedsElapsed);
  auto ok = quote_orphan(Plan::time(100, 60), {400, 2 * 3600, 200}, 2200, 0, T0, 10000);
  EXPECT_FALSE(ok.verdict.implausible);
  EXPECT_EQ(ok.amount_fen, 200);
  // A started_at in the future of the arrival is ignored the same way.
  auto fut = quote_orphan(Plan::time(100, 60), {400, 2 * 3600, 200}, 2200, T0 + 999, T0, 10000);
  EXPECT_FALSE(fut.verdict.implausible);
}

// ---- the lost START reply: the retry policy -----------------------------------------------------

TEST(RetryPolicy, DefaultTimelineResendsThenQueriesThenGivesUpWithin30s) {
  RetryPolicy p;
  EXPECT_EQ(p.invalid_reason(), "");
  CommandAttempts a{T0, T0, 1, 0};
  std::vector<std::pair<int64_t, RetryAction>> seen;
  // A housekeeping tick every second, acting on each step as the core would.
  for (int64_t t = T0; t <= T0 + 40; ++t) {
    auto s = next_retry_step(a, t, p);
    if (s.action == RetryAction::Wait) {
      EXPECT_GT(s.at, t);
      continue;
    }
    seen.emplace_back(t - T0, s.action);
    if (s.action == RetryAction::Resend) ++a.sends, a.last_sent_at = t;
    if (s.action == RetryAction::QueryPorts) ++a.queries, a.last_sent_at = t;
    if (s.action == RetryAction::GiveUp) break;
  }
  using A = RetryAction;
  EXPECT_EQ(seen, (std::vector<std::pair<int64_t, RetryAction>>{
                      {5, A::Resend}, {10, A::Resend}, {15, A::QueryPorts}, {20, A::QueryPorts}, {25, A::GiveUp}}));
  EXPECT_LE(seen.back().first, int64_t{kRiderWaitS});
}

TEST(RetryPolicy, WaitTellsWhenToAskAgain) {
  CommandAttempts a{T0, T0, 1, 0};
  EXPECT_EQ(next_retry_step(a, T0 + 2), (RetryStep{RetryAction::Wait, T0 + 5}));
  a = {T0, T0 + 20, 3, 2};
  EXPECT_EQ(next_retry_step(a, T0 + 21), (RetryStep{RetryAction::Wait, T0 + 25}));
  EXPECT_EQ(next_retry_step(a, T0 + 25), (RetryStep{RetryAction::GiveUp, T0 + 25}));
}

TEST(RetryPolicy, ALateTickNeverSendsTwiceInARow) {
  // The core was busy: first tick at +12 s. It resends once, then waits a full interval.
  CommandAttempts a{T0, T0, 1, 0};
  EXPECT_EQ(next_retry_step(a, T0 + 12).action, RetryAction::Resend);
  a = {T0, T0 + 12, 2, 0};
  EXPECT_EQ(next_retry_step(a, T0 + 13), (RetryStep{RetryAction::Wait, T0 + 17}));
  a = {T0, T0 + 17, 3, 0};
  EXPECT_EQ(next_retry_step(a, T0 + 22).action, RetryAction::QueryPorts);
  a = {T0, T0 + 22, 3, 1};
  // The next query would be due at 27 s: past the give-up time, so wait until 25 and give up.
  EXPECT_EQ(next_retry_step(a, T0 + 23), (RetryStep{RetryAction::Wait, T0 + 25}));
  EXPECT_EQ(next_retry_step(a, T0 + 25).action, RetryAction::GiveUp);
}

TEST(RetryPolicy, ACoreDownForLongGivesUpAtOnce) {
  EXPECT_EQ(next_retry_step({T0, T0, 1, 0}, T0 + 600).action, RetryAction::GiveUp);
}

TEST(RetryPolicy, ValidationNamesTheProblem) {
  EXPECT_NE((RetryPolicy{0, 3, 2, 25}).invalid_reason(), "");
  EXPECT_NE((RetryPolicy{5, 0, 2, 25}).invalid_reason(), "");
  EXPECT_NE((RetryPolicy{5, 3, 2, 31}).invalid_reason(), "");
  EXPECT_NE((RetryPolicy{5, 3, 2, 20}).invalid_reason(), "");   // query at 20 s would be the give-up time
  EXPECT_EQ((RetryPolicy{3, 4, 2, 30}).invalid_reason(), "");
  EXPECT_EQ(retry_action_name(RetryAction::QueryPorts), "query_ports");
  EXPECT_EQ(retry_action_name(RetryAction::GiveUp), "give_up");
}

TEST(RetryPolicy, NoQueriesMeansGiveUpAfterTheSends) {
  RetryPolicy p{5, 3, 0, 20};
  EXPECT_EQ(p.invalid_reason(), "");
  EXPECT_EQ(next_retry_step({T0, T0 + 10, 3, 0}, T0 + 15, p), (RetryStep{RetryAction::Wait, T0 + 20}));
  EXPECT_EQ(next_retry_step({T0, T0 + 10, 3, 0}, T0 + 20, p).action, RetryAction::GiveUp);
}

// ---- the lost START reply: what the charger says ---------------------------------------------------

namespace {
QueryPortsResp ten_idle() {
  QueryPortsResp q;
  q.ports.assign(10, PortStatus{});
  return q;
}
}  // namespace

TEST(StartOutcome, PortChargingOurSessionMeansCharging) {
  auto q = ten_idle();
  q.ports[2] = PortStatus{uint8_t(PortState::Charging), 1001, 180, 2, 15};
  EXPECT_EQ(start_outcome(q, 3, 1001), StartOutcome::Charging);
}

TEST(StartOutcome, PortIdleMeansNotStarted) {
  EXPECT_EQ(start_outcome(ten_idle(), 3, 1001), StartOutcome::NotStarted);
}

TEST(StartOutcome, PortChargingAnotherSessionMeansNotStarted) {
  auto q = ten_idle();
  q.ports[2] = PortStatus{uint8_t(PortState::Charging), 999, 180, 200, 3000};
  EXPECT_EQ(start_outcome(q, 3, 1001), StartOutcome::NotStarted);
}

TEST(StartOutcome, FaultOrDisabledPortMeansNotStarted) {
  auto q = ten_idle();
  q.ports[2].state = uint8_t(PortState::Fault);
  q.ports[3].state = uint8_t(PortState::Disabled);
  EXPECT_EQ(start_outcome(q, 3, 1001), StartOutcome::NotStarted);
  EXPECT_EQ(start_outcome(q, 4, 1001), StartOutcome::NotStarted);
}

TEST(StartOutcome, FinishedWithOurSessionMeansItRan) {
  // Full within seconds: the session did start; its SESSION_END settles it.
  auto q = ten_idle();
  q.ports[2] = PortStatus{uint8_t(PortState::Finished), 1001, 0, 1, 12};
  EXPECT_EQ(start_outcome(q, 3, 1001), StartOutcome::Charging);
  q.ports[2].session = 77;
  EXPECT_EQ(start_outcome(q, 3, 1001), StartOutcome::NotStarted);
}

TEST(StartOutcome, AnAnswerThatDoesNotCoverThePortIsUnknown) {
  EXPECT_EQ(start_outcome(ten_idle(), 11, 1001), StartOutcome::Unknown);
  EXPECT_EQ(start_outcome(ten_idle(), 0, 1001), StartOutcome::Unknown);
  EXPECT_EQ(start_outcome(QueryPortsResp{}, 1, 1001), StartOutcome::Unknown);
  auto q = ten_idle();
  q.ports[2].state = 9;
  EXPECT_EQ(start_outcome(q, 3, 1001), StartOutcome::Unknown);
  EXPECT_EQ(start_outcome(ten_idle(), 3, 0), StartOutcome::Unknown);   // session 0 is the commissioning test
  EXPECT_EQ(start_outcome_name(StartOutcome::NotStarted), "not_started");
}

TEST(StartReply, ResultOrError) {
  EXPECT_EQ(classify_start_reply(0, std::nullopt), StartReply::Started);
  for (int r = 1; r <= 5; ++r) EXPECT_EQ(classify_start_reply(r, std::nullopt), StartReply::Refused);
  // The bridge's frame retries ran out: the charger may be charging. Not a refusal: ask.
  EXPECT_EQ(classify_start_reply(std::nullopt, "timeout"), StartReply::Unanswered);
  EXPECT_EQ(classify_start_reply(std::nullopt, "expired"), StartReply::Unanswered);
  EXPECT_EQ(classify_start_reply(std::nullopt, "busy"), StartReply::Unanswered);
  EXPECT_EQ(classify_start_reply(std::nullopt, std::nullopt), StartReply::Unanswered);
  EXPECT_EQ(classify_start_reply(0, "timeout"), StartReply::Unanswered);
  EXPECT_EQ(classify_start_reply(-1, std::nullopt), StartReply::Unanswered);
  EXPECT_EQ(start_reply_name(StartReply::Refused), "refused");
}
