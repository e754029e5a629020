// Withdrawals and system configuration (docs/agents.md "Withdrawals", "System configuration"), each test
// on SQLite and on PostgreSQL: limits from the settings, the daily count at the report time zone's
// midnight, the hold while pending or approved, release on rejection, the ledger row when paid, the
// states, the data scope; an agent's balance always equals the sum of its ledger rows.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "app/app.hpp"
#include "db/db.hpp"
#include "pg.hpp"
#include "testsupport.hpp"

using namespace chargehub;
using namespace chargehub::core;
using chargehub::testing::TempDir;

namespace {
// 2026-11-24 06:00:00 UTC = 14:00 in Shanghai.
constexpr int64_t T0 = 1795500000;
// Midnight in Shanghai that ends T0's day: 16:00 UTC.
constexpr int64_t ShanghaiMidnight = 1795536000;
constexpr int64_t A = 11, B = 12, C = 21;   // A first level, B under A, C another first-level agent

struct WithdrawalsTest : ::testing::TestWithParam<sql::Dialect> {
  TempDir dir{"core-withdrawals"};
  std::string url;
  std::unique_ptr<sql::Db> db;
  std::unique_ptr<App> app;
  const std::string fin = "account:fin";

  void SetUp() override {
    url = GetParam() == sql::Dialect::Sqlite ? "sqlite://" + (dir / "core.db").string() : chargehub::testing::fresh_database_url();
    db = sql::open(url);
    app = std::make_unique<App>(*db);
    agent(A, std::nullopt);
    agent(B, A);
    agent(C, std::nullopt);
  }
  void TearDown() override {
    for (int64_t id : {A, B, C}) expect_balance_is_ledger_sum(id);
  }

  void agent(int64_t id, std::optional<int64_t> parent) {
    db->prepare("INSERT INTO agent (id, parent_id, level, name, share_bp, created_at, updated_at) VALUES (?, ?, ?, ?, 3000, ?, ?)")
        .args(id, parent, parent ? 2 : 1, "代理商" + std::to_string(id), T0, T0)
        .run();
    db->prepare("INSERT INTO agent_balance (agent_id) VALUES (?)").args(id).run();
  }
  void give(int64_t agent_id, int64_t fen) {
    sql::Tx tx(*db);
    app->repos.agent_ledger.post(AgentLedgerEntry{0, agent_id, "adjustment", fen, std::nullopt, std::nullopt, "test", T0});
    tx.commit();
  }
  AgentBalance balance(int64_t agent_id) { return *app->repos.agent_ledger.balance(agent_id); }
  void expect_balance_is_ledger_sum(int64_t agent_id) {
    EXPECT_EQ(balance(agent_id).balance_fen, app->repos.agent_ledger.ledger_sum(agent_id)) << "agent " << agent_id;
  }
  int64_t pending_sum(int64_t agent_id) {
    auto st = db->prepare("SELECT coalesce(sum(amount_fen), 0) FROM withdrawal WHERE agent_id = ? AND state IN ('pending', 'approved')");
    st.args(agent_id);
    st.step();
    int64_t n = st.i64(0);
    st.run();
    return n;
  }
  Result<WithdrawalRow> request(int64_t agent_id, int64_t fen, int64_t at = T0) {
    return app->withdrawals.request(Scope::agent(agent_id), fen, "", "account:a" + std::to_string(agent_id), at);
  }
  void set(const std::string& key, const std::string& value) {
    auto r = app->settings.set(Scope::platform(), key, value, T0);
    ASSERT_TRUE(r) << key << ": " << r.refusal.code;
  }
};

std::string backend_name(const ::testing::TestParamInfo<sql::Dialect>& i) { return i.param == sql::Dialect::Sqlite ? "Sqlite" : "Postgres"; }
}  // namespace

// ---- system configuration ----

TEST(ReportTimeZone, ShanghaiDaysStartAtSixteenUtc) {
  ASSERT_EQ(time_zone_offset("Asia/Shanghai"), 8 * 3600);
  EXPECT_FALSE(time_zone_offset("Mars/Olympus"));
  EXPECT_EQ(local_day_start(T0, 8 * 3600), ShanghaiMidnight - 86400);
  EXPECT_EQ(local_day_start(ShanghaiMidnight - 1, 8 * 3600), ShanghaiMidnight - 86400);
  EXPECT_EQ(local_day_start(ShanghaiMidnight, 8 * 3600), ShanghaiMidnight);
  EXPECT_EQ(local_day_start(T0, 0), 1795478400);
  EXPECT_EQ(local_day_start(0, 8 * 3600), -8 * 3600);
}

TEST_P(WithdrawalsTest, SettingsShowEveryKeyWithItsDefault) {
  auto all = app->settings.all();
  std::map<std::string, SettingValue> by;
  for (auto& s : all) by[s.key] = s;
  ASSERT_EQ(by.count("withdrawal.min_fen"), 1u);
  EXPECT_EQ(by["withdrawal.min_fen"].value, "1000");
  EXPECT_EQ(by["withdrawal.max_fen"].value, "5000000");
  EXPECT_EQ(by["withdrawal.daily_count"].value, "3");
  EXPECT_EQ(by["report.time_zone"].value, "Asia/Shanghai");
  for (auto& s : all) {
    EXPECT_EQ(s.value, s.default_value) << s.key;
    EXPECT_FALSE(s.updated_at) << s.key;
    EXPECT_FALSE(s.description.empty()) << s.key;
  }
  EXPECT_EQ(app->settings.integer("withdrawal.daily_count"), 3);
}

TEST_P(WithdrawalsTest, SettingAKeyIsValidatedAndKept) {
  auto code = [&](const std::string& k, const std::string& v) {
    auto r = app->settings.set(Scope::platform(), k, v, T0);
    return r ? std::string("ok") : r.refusal.code;
  };
  EXPECT_EQ(code("withdrawal.nothing", "1"), "unknown_setting");
  EXPECT_EQ(code("withdrawal.min_fen", "abc"), "bad_setting");
  EXPECT_EQ(code("withdrawal.min_fen", "12x"), "bad_setting");
  EXPECT_EQ(code("withdrawal.min_fen", ""), "bad_setting");
  EXPECT_EQ(code("withdrawal.min_fen", "0"), "bad_setting");
  EXPECT_EQ(code("withdrawal.daily_count", "101"), "bad_setting");
  EXPECT_EQ(code("withdrawal.min_fen", "5000001"), "bad_setting");   // above max_fen
  EXPECT_EQ(code("withdrawal.max_fen", "999"), "bad_setting");       // below min_fen
  EXPECT_EQ(code("report.time_zone", "Europe/Nowhere"), "bad_setting");
  auto agent_try = app->settings.set(Scope::agent(A), "withdrawal.daily_count", "5", T0);
  EXPECT_EQ(agent_try.refusal.code, "platform_only");
  EXPECT_EQ(code("withdrawal.daily_count", "5"), "ok");
  EXPECT_EQ(code("report.time_zone", "UTC"), "ok");
  // A new connection (the core restarted) reads what was set.
  app.reset();
  db = sql::open(url);
  app = std::make_unique<App>(*db);
  EXPECT_EQ(app->settings.integer("withdrawal.daily_count"), 5);
  EXPECT_EQ(app->settings.report_utc_offset(), 0);
  EXPECT_EQ(app->settings.get("withdrawal.daily_count")->updated_at, T0);
}

// ---- requests ----

TEST_P(WithdrawalsTest, OnlyAnAgentRequestsAndOnlyForItself) {
  give(A, 100'000);
  auto r = app->withdrawals.request(Scope::platform(), 5000, "", fin, T0);
  EXPECT_EQ(r.refusal.code, "agent_only");
  auto w = request(A, 5000);
  ASSERT_TRUE(w) << w.refusal.code;
  EXPECT_EQ(w->agent_id, A);
  EXPECT_EQ(w->state, "pending");
  EXPECT_EQ(w->requested_by, "account:a11");
  EXPECT_EQ(balance(B).held_fen, 0);
}

TEST_P(WithdrawalsTest, AmountWithinTheConfiguredMinimumAndMaximum) {
  give(A, 10'000'000);
  EXPECT_EQ(request(A, 0).refusal.code, "bad_amount");
  EXPECT_EQ(request(A, -5).refusal.code, "bad_amount");
  EXPECT_EQ(request(A, 999).refusal.code, "amount_too_small");
  EXPECT_EQ(request(A, 5'000'001).refusal.code, "amount_too_large");
  EXPECT_TRUE(request(A, 1000));
  set("withdrawal.min_fen", "2000");
  set("withdrawal.max_fen", "3000");
  EXPECT_EQ(request(A, 1999).refusal.code, "amount_too_small");
  EXPECT_EQ(request(A, 3001).refusal.code, "amount_too_large");
  EXPECT_TRUE(request(A, 3000));
  EXPECT_EQ(balance(A).held_fen, 4000);
}

TEST_P(WithdrawalsTest, RequestIsHeldFromTheAvailableBalance) {
  give(A, 10'000);
  auto w = request(A, 6000);
  ASSERT_TRUE(w);
  EXPECT_EQ(balance(A).balance_fen, 10'000);
  EXPECT_EQ(balance(A).held_fen, 6000);
  EXPECT_EQ(request(A, 4001).refusal.code, "insufficient_funds");   // 4,000 available
  EXPECT_EQ(balance(A).held_fen, 6000);
  EXPECT_TRUE(request(A, 4000));
  EXPECT_EQ(balance(A).available_fen(), 0);
  EXPECT_EQ(request(C, 1000).refusal.code, "insufficient_funds");   // no money at all
  EXPECT_EQ(balance(A).held_fen, pending_sum(A));
}

TEST_P(WithdrawalsTest, DailyCountCountsRequestsOfTheShanghaiDay) {
  give(A, 1'000'000);
  // 14:00, 20:00 and 23:59:59 in Shanghai: one day.
  EXPECT_TRUE(request(A, 1000, T0));
  EXPECT_TRUE(request(A, 1000, T0 + 6 * 3600));
  ASSERT_TRUE(request(A, 1000, ShanghaiMidnight - 1));
  EXPECT_EQ(request(A, 1000, ShanghaiMidnight - 1).refusal.code, "too_many_today");
  // 00:00 in Shanghai (16:00 UTC): a new day, although UTC's day has not changed.
  EXPECT_TRUE(request(A, 1000, ShanghaiMidnight));
  EXPECT_TRUE(request(A, 1000, ShanghaiMidnight + 4 * 3600));
  // UTC midnight (08:00 in Shanghai) starts nothing: still the same Shanghai day.
  ASSERT_TRUE(request(A, 1000, ShanghaiMidnight + 8 * 3600));
  EXPECT_EQ(request(A, 1000, ShanghaiMidnight + 8 * 3600 + 1).refusal.code, "too_many_today");
  // Another agent has its own count; a larger count from the settings applies at once.
  give(B, 10'000);
  EXPECT_TRUE(request(B, 1000, ShanghaiMidnight + 9 * 3600));
  set("withdrawal.daily_count", "4");
  EXPECT_TRUE(request(A, 1000, ShanghaiMidnight + 9 * 3600));
  EXPECT_EQ(request(A, 1000, ShanghaiMidnight + 9 * 3600).refusal.code, "too_many_today");
}

TEST_P(WithdrawalsTest, RejectedRequestsStillCountForTheDay) {
  give(A, 1'000'000);
  set("withdrawal.daily_count", "1");
  auto w = request(A, 1000);
  ASSERT_TRUE(w);
  ASSERT_TRUE(app->withdrawals.reject(Scope::platform(), w->id, "资料不全", fin, T0 + 60));
  EXPECT_EQ(request(A, 1000, T0 + 120).refusal.code, "too_many_today");
}

TEST_P(WithdrawalsTest, TheDayFollowsTheReportTimeZone) {
  give(A, 1'000'000);
  set("withdrawal.daily_count", "1");
  set("report.time_zone", "UTC");
  ASSERT_TRUE(request(A, 1000, ShanghaiMidnight - 60));                           // 15:59 UTC
  EXPECT_EQ(request(A, 1000, ShanghaiMidnight + 60).refusal.code, "too_many_today");   // 16:01 UTC: same UTC day
  EXPECT_TRUE(request(A, 1000, ShanghaiMidnight + 8 * 3600));                     // 00:00 UTC
}

// ---- decisions and the money ----

TEST_P(WithdrawalsTest, ApprovedStaysHeldAndPaidLeavesTheLedger) {
  give(A, 50'000);
  auto w = request(A, 20'000);
  ASSERT_TRUE(w);
  auto ap = app->withdrawals.approve(Scope::platform(), w->id, fin, T0 + 60);
  ASSERT_TRUE(ap) << ap.refusal.code;
  EXPECT_EQ(ap->state, "approved");
  EXPECT_EQ(ap->decided_by, fin);
  EXPECT_EQ(ap->decided_at, T0 + 60);
  EXPECT_EQ(balance(A).held_fen, 20'000);
  EXPECT_EQ(balance(A).balance_fen, 50'000);
  auto paid = app->withdrawals.pay(Scope::platform(), w->id, "ALIPAY-20261124-0001", "account:fin2", T0 + 120);
  ASSERT_TRUE(paid) << paid.refusal.code;
  EXPECT_EQ(paid->state, "paid");
  EXPECT_EQ(paid->reference, "ALIPAY-20261124-0001");
  EXPECT_EQ(paid->paid_at, T0 + 120);
  EXPECT_EQ(paid->decided_by, fin);   // who approved it
  EXPECT_EQ(balance(A).held_fen, 0);
  EXPECT_EQ(balance(A).balance_fen, 30'000);
  auto rows = app->repos.agent_ledger.page(Scope::platform(), A, PageRequest{});
  ASSERT_EQ(rows.total, 2);
  EXPECT_EQ(rows.items[0].kind, "withdrawal");
  EXPECT_EQ(rows.items[0].amount_fen, -20'000);
  EXPECT_EQ(rows.items[0].withdrawal_id, w->id);
  EXPECT_EQ(rows.items[0].created_at, T0 + 120);
  EXPECT_EQ(app->withdrawals.get(Scope::agent(A), w->id)->state, "paid");
}

TEST_P(WithdrawalsTest, RejectionReleasesTheHoldWithANote) {
  give(A, 50'000);
  auto w1 = request(A, 20'000), w2 = request(A, 10'000);
  ASSERT_TRUE(w1 && w2);
  EXPECT_EQ(app->withdrawals.reject(Scope::platform(), w1->id, "", fin, T0).refusal.code, "bad_note");
  auto r1 = app->withdrawals.reject(Scope::platform(), w1->id, "收款账户有误", fin, T0 + 60);
  ASSERT_TRUE(r1);
  EXPECT_EQ(r1->state, "rejected");
  EXPECT_EQ(r1->note, "收款账户有误");
  EXPECT_EQ(balance(A).held_fen, 10'000);
  ASSERT_TRUE(app->withdrawals.approve(Scope::platform(), w2->id, fin, T0 + 60));
  ASSERT_TRUE(app->withdrawals.reject(Scope::platform(), w2->id, "暂停打款", fin, T0 + 120));   // approved, not yet paid
  EXPECT_EQ(balance(A).held_fen, 0);
  EXPECT_EQ(balance(A).balance_fen, 50'000);
  EXPECT_EQ(app->repos.agent_ledger.page(Scope::platform(), A, PageRequest{}).total, 1);   // no ledger row: nothing left
}

TEST_P(WithdrawalsTest, EachStepStartsFromItsStates) {
  give(A, 50'000);
  auto w = request(A, 5000);
  ASSERT_TRUE(w);
  auto P = Scope::platform();
  EXPECT_EQ(app->withdrawals.pay(P, w->id, "REF", fin, T0).refusal.code, "withdrawal_state");   // pending: approve first
  EXPECT_EQ(app->withdrawals.pay(P, w->id, "", fin, T0).refusal.code, "bad_reference");
  ASSERT_TRUE(app->withdrawals.approve(P, w->id, fin, T0));
  EXPECT_EQ(app->withdrawals.approve(P, w->id, fin, T0).refusal.code, "withdrawal_state");
  ASSERT_TRUE(app->withdrawals.pay(P, w->id, "REF", fin, T0));
  EXPECT_EQ(app->withdrawals.pay(P, w->id, "REF", fin, T0).refusal.code, "withdrawal_state");   // never paid twice
  EXPECT_EQ(app->withdrawals.reject(P, w->id, "晚了", fin, T0).refusal.code, "withdrawal_state");
  EXPECT_EQ(app->withdrawals.approve(P, w->id, fin, T0).refusal.code, "withdrawal_state");
  auto r = request(A, 5000);
  ASSERT_TRUE(app->withdrawals.reject(P, r->id, "不予受理", fin, T0));
  EXPECT_EQ(app->withdrawals.approve(P, r->id, fin, T0).refusal.code, "withdrawal_state");
  EXPECT_EQ(app->withdrawals.pay(P, r->id, "REF", fin, T0).refusal.code, "withdrawal_state");
  EXPECT_EQ(app->withdrawals.reject(P, r->id, "再拒", fin, T0).refusal.code, "withdrawal_state");
  EXPECT_EQ(app->withdrawals.approve(P, 999'999, fin, T0).refusal.code, "withdrawal_not_found");
  EXPECT_EQ(balance(A).balance_fen, 45'000);
  EXPECT_EQ(balance(A).held_fen, 0);
}

TEST_P(WithdrawalsTest, OnlyThePlatformDecides) {
  give(B, 50'000);
  auto w = request(B, 5000);
  ASSERT_TRUE(w);
  // Not even the first-level agent above it.
  EXPECT_EQ(app->withdrawals.approve(Scope::agent(A), w->id, "account:a11", T0).refusal.code, "platform_only");
  EXPECT_EQ(app->withdrawals.reject(Scope::agent(B), w->id, "不要了", "account:a12", T0).refusal.code, "platform_only");
  EXPECT_EQ(app->withdrawals.pay(Scope::agent(B), w->id, "REF", "account:a12", T0).refusal.code, "platform_only");
  EXPECT_EQ(app->withdrawals.get(Scope::platform(), w->id)->state, "pending");
}

TEST_P(WithdrawalsTest, BalancesEqualLedgerSumsThroughAMix) {
  give(A, 100'000);
  give(B, 40'000);
  give(C, 7'000);
  auto P = Scope::platform();
  std::vector<int64_t> ids;
  for (auto [agent, fen] : {std::pair<int64_t, int64_t>{A, 10'000}, {A, 25'000}, {B, 15'000}, {C, 7'000}, {B, 20'000}}) {
    auto w = request(agent, fen);
    ASSERT_TRUE(w) << w.refusal.code;
    ids.push_back(w->id);
  }
  ASSERT_TRUE(app->withdrawals.approve(P, ids[0], fin, T0));
  ASSERT_TRUE(app->withdrawals.pay(P, ids[0], "R0", fin, T0));
  ASSERT_TRUE(app->withdrawals.reject(P, ids[1], "否", fin, T0));
  ASSERT_TRUE(app->withdrawals.approve(P, ids[2], fin, T0));
  ASSERT_TRUE(app->withdrawals.approve(P, ids[3], fin, T0));
  ASSERT_TRUE(app->withdrawals.pay(P, ids[3], "R3", fin, T0));
  give(A, -5'000);
  for (int64_t id : {A, B, C}) {
    expect_balance_is_ledger_sum(id);
    EXPECT_EQ(balance(id).held_fen, pending_sum(id)) << id;
  }
  EXPECT_EQ(balance(A).balance_fen, 85'000);
  EXPECT_EQ(balance(B).available_fen(), 5'000);
  EXPECT_EQ(balance(C).balance_fen, 0);
}

// Two connections (two core processes, say) asking for the same agent at once: the daily count and the
// balance hold for the sum of both, and a withdrawal is paid once.
TEST_P(WithdrawalsTest, ConcurrentRequestsAndPaymentsDoNotOverrun) {
  give(A, 4'500);
  std::atomic<int> made{0}, paid{0};
  auto worker = [&](int n) {
    auto conn = sql::open(url);
    App other(*conn);
    for (int i = 0; i < n; ++i)
      if (other.withdrawals.request(Scope::agent(A), 1000, "", "account:a11", T0)) ++made;
  };
  std::thread t1(worker, 4), t2(worker, 4);
  t1.join();
  t2.join();
  EXPECT_EQ(made.load(), 3);   // the daily count; 4,500 would have allowed four
  EXPECT_EQ(balance(A).held_fen, 3000);
  auto first = app->withdrawals.page(Scope::platform(), {}, {}).items.back();
  ASSERT_TRUE(app->withdrawals.approve(Scope::platform(), first.id, fin, T0));
  auto payer = [&] {
    auto conn = sql::open(url);
    App other(*conn);
    if (other.withdrawals.pay(Scope::platform(), first.id, "REF", fin, T0)) ++paid;
  };
  std::thread p1(payer), p2(payer);
  p1.join();
  p2.join();
  EXPECT_EQ(paid.load(), 1);
  EXPECT_EQ(balance(A).balance_fen, 3'500);
  EXPECT_EQ(balance(A).held_fen, 2000);
}

// ---- lists and scope ----

TEST_P(WithdrawalsTest, AnAgentSeesItsOwnAndItsSubAgentsOnly) {
  give(A, 100'000);
  give(B, 100'000);
  give(C, 100'000);
  auto wa = request(A, 1000), wb = request(B, 2000), wc = request(C, 3000);
  ASSERT_TRUE(wa && wb && wc);
  PageRequest p;
  EXPECT_EQ(app->withdrawals.page(Scope::platform(), {}, p).total, 3);
  auto of_a = app->withdrawals.page(Scope::agent(A), {}, p);
  ASSERT_EQ(of_a.total, 2);
  EXPECT_EQ(of_a.items[0].id, wb->id);   // newest first
  EXPECT_EQ(of_a.items[1].id, wa->id);
  EXPECT_EQ(app->withdrawals.page(Scope::agent(B), {}, p).total, 1);
  EXPECT_TRUE(app->withdrawals.get(Scope::agent(A), wb->id));
  EXPECT_FALSE(app->withdrawals.get(Scope::agent(B), wa->id));   // the parent's: as if it did not exist
  EXPECT_FALSE(app->withdrawals.get(Scope::agent(A), wc->id));
  EXPECT_FALSE(app->withdrawals.get(Scope::agent(C), wb->id));
  // A filter for a foreign agent finds nothing rather than widening the scope.
  EXPECT_EQ(app->withdrawals.page(Scope::agent(A), WithdrawalFilter{std::nullopt, C}, p).total, 0);
}

TEST_P(WithdrawalsTest, ListsFilterByStateAndAgentAndPage) {
  give(A, 100'000);
  give(B, 100'000);
  set("withdrawal.daily_count", "10");
  std::vector<int64_t> ids;
  for (int i = 0; i < 5; ++i) ids.push_back(request(A, 1000 + i)->id);
  ids.push_back(request(B, 9000)->id);
  ASSERT_TRUE(app->withdrawals.approve(Scope::platform(), ids[1], fin, T0));
  ASSERT_TRUE(app->withdrawals.approve(Scope::platform(), ids[5], fin, T0));
  auto P = Scope::platform();
  EXPECT_EQ(app->withdrawals.page(P, WithdrawalFilter{std::string("approved"), std::nullopt}, {}).total, 2);
  EXPECT_EQ(app->withdrawals.page(P, WithdrawalFilter{std::string("approved"), A}, {}).total, 1);
  EXPECT_EQ(app->withdrawals.page(P, WithdrawalFilter{std::string("pending"), A}, {}).total, 4);
  EXPECT_EQ(app->withdrawals.page(P, WithdrawalFilter{std::nullopt, B}, {}).total, 1);
  PageRequest second{2, 2, "amount_fen", false};
  auto pg = app->withdrawals.page(P, WithdrawalFilter{std::nullopt, A}, second);
  EXPECT_EQ(pg.total, 5);
  ASSERT_EQ(pg.items.size(), 2u);
  EXPECT_EQ(pg.items[0].amount_fen, 1002);
  EXPECT_EQ(pg.items[1].amount_fen, 1003);
}

INSTANTIATE_TEST_SUITE_P(Backends, WithdrawalsTest, ::testing::Values(sql::Dialect::Sqlite, sql::Dialect::Postgres), backend_name);
