// Price plans: one test per rule of docs/pricing.md.
#include <gtest/gtest.h>

#include "chargehub/pricing.hpp"

using namespace chargehub::pricing;

TEST(EnergyPlan, BillsWholeWattHoursRoundedDown) {
  Plan p = Plan::energy(100, 20);   // 1.20 yuan per kWh in all
  EXPECT_EQ(price_fen(p, {812, 14400, 236}), 97);   // 812 Wh * 120 / 1000 = 97.44
  EXPECT_EQ(price_fen(p, {1000, 1, 1}), 120);
  EXPECT_EQ(price_fen(p, {0, 0, 0}), 0);
}

TEST(EnergyPlan, PrepaymentBecomesAnEnergyLimit) {
  Plan p = Plan::energy(100, 20);
  EXPECT_EQ(limit_for_amount(p, 500), (Limit{2, 4166}));
  // Charging exactly to the limit never costs more than the prepayment.
  EXPECT_LE(price_fen(p, {4166, 0, 0}), 500);
}

TEST(TimePlan, BillsEveryStartedBlockWithMinimumAndCap) {
  Plan p = Plan::time(100, 60, 50, 250);
  EXPECT_EQ(price_fen(p, {0, 1, 0}), 100);
  EXPECT_EQ(price_fen(p, {0, 3600, 0}), 100);
  EXPECT_EQ(price_fen(p, {0, 3601, 0}), 200);
  EXPECT_EQ(price_fen(p, {0, 10 * 3600, 0}), 250);   // cap
  Plan cheap = Plan::time(10, 30, 50);
  EXPECT_EQ(price_fen(cheap, {5, 60, 100}), 50);      // minimum
  EXPECT_EQ(price_fen(cheap, {0, 0, 0}), 0);          // nothing delivered: no minimum
}

TEST(TimePlan, PrepaymentBecomesATimeLimit) {
  EXPECT_EQ(limit_for_amount(Plan::time(100, 60), 250), (Limit{1, 7200}));
}

TEST(PowerTierPlan, RateFollowsThePeakBand) {
  Plan p = Plan::power_tier({{200, 100}, {400, 150}, {600, 200}}, 60);
  EXPECT_EQ(tier_rate(p, 0), 100);
  EXPECT_EQ(tier_rate(p, 200), 100);
  EXPECT_EQ(tier_rate(p, 201), 150);
  EXPECT_EQ(tier_rate(p, 5000), 200);
  EXPECT_EQ(price_fen(p, {500, 7200, 180}), 200);
  EXPECT_EQ(price_fen(p, {500, 7200, 350}), 300);
  // A higher band shortens the time a prepayment buys.
  EXPECT_EQ(limit_for_amount(p, 300, 100), (Limit{1, 3 * 3600}));
  EXPECT_EQ(limit_for_amount(p, 300, 350), (Limit{1, 2 * 3600}));
}

TEST(PowerTierPlan, HalfHourBlocks) {
  Plan p = Plan::power_tier({{600, 100}}, 30);
  EXPECT_EQ(price_fen(p, {0, 1800, 100}), 50);
  EXPECT_EQ(price_fen(p, {0, 1801, 100}), 100);
}

TEST(FreePlan, CostsNothingAndRunsToTheTimeCap) {
  Plan p = Plan::free();
  EXPECT_EQ(price_fen(p, {5000, 36000, 500}), 0);
  EXPECT_EQ(limit_for_amount(p, 0), (Limit{1, 12 * 3600}));
}

TEST(Charge, NeverMoreThanPrepaid) {
  Plan p = Plan::energy(100);
  EXPECT_EQ(charge_fen(p, {10000, 0, 0}, 300), 300);
  EXPECT_EQ(charge_fen(p, {1000, 0, 0}, 300), 100);
  EXPECT_EQ(charge_fen(p, {1000, 0, 0}, -5), 0);
}

TEST(Validation, NamesTheProblem) {
  EXPECT_EQ(Plan::energy(100).invalid_reason(), "");
  EXPECT_NE(Plan::energy(0).invalid_reason(), "");
  EXPECT_NE(Plan::time(0, 60).invalid_reason(), "");
  EXPECT_NE(Plan::power_tier({}).invalid_reason(), "");
  EXPECT_NE(Plan::power_tier({{400, 1}, {200, 2}}).invalid_reason(), "");
  EXPECT_NE(Plan::time(100, 60, 300, 200).invalid_reason(), "");
  EXPECT_EQ(parse_plan_kind("power_tier"), PlanKind::PowerTier);
  EXPECT_FALSE(parse_plan_kind("bogus"));
}

// Property: for every energy price and prepayment, charging to the limit stays within the prepayment
// and one more Wh would not fit (the limit is the largest that fits).
TEST(EnergyPlan, LimitIsTheLargestThatFitsForManyPrices) {
  for (int64_t price = 1; price <= 500; price += 7)
    for (int64_t amount = 0; amount <= 2000; amount += 37) {
      Plan p = Plan::energy(price);
      auto l = limit_for_amount(p, amount);
      ASSERT_LE(price_fen(p, {l.limit, 1, 0}), amount) << price << " " << amount;
      ASSERT_GT(int64_t{l.limit + 1} * price, amount * 1000) << price << " " << amount;
    }
}
