// The income split in settlement (docs/agents.md "The income split"), on the use cases over a real
// database, each test on SQLite and on PostgreSQL: every settlement's parts sum to its income and go to
// append-only ledgers whose sums are the balances; refunds take the parts back with the shares the session
// settled with; a share changed later affects later settlements only; a replayed stop record books once.
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

namespace {
constexpr int64_t T0 = 1795500000;
const std::string kDev = "861234567890124";

struct IncomeTest : ::testing::TestWithParam<sql::Dialect> {
  TempDir dir{"core-income"};
  std::unique_ptr<sql::Db> db;
  std::unique_ptr<App> app;
  std::vector<int64_t> agents;
  std::vector<int64_t> sessions;
  int64_t rider_id = 0;

  void SetUp() override {
    auto url = GetParam() == sql::Dialect::Sqlite ? "sqlite://" + (dir / "core.db").string() : chargehub::testing::fresh_database_url();
    db = sql::open(url);
    app = std::make_unique<App>(*db);
    ASSERT_TRUE(app->devices.create(NewDevice{kDev, "", 10, 1, std::string(64, 'a'), {}}, T0));
    app->devices.online(kDev, true, T0);
    ASSERT_TRUE(app->devices.assign_plan(Scope::platform(), kDev, app->plans.create("plan", pricing::Plan::energy(1000), T0)->id));   // 1 fen per Wh
    rider_id = app->wallets.create_rider(Scope::platform(), "张三", "13800000000", T0).id;
    ASSERT_TRUE(app->wallets.topup(Scope::platform(), rider_id, 1'000'000, 0, "", T0));
  }
  void TearDown() override { invariants(); }

  // Every agent's balance is its ledger's sum; every settled session's rows sum to what it kept.
  void invariants() {
    for (int64_t a : agents) {
      auto b = app->repos.agent_ledger.balance(a);
      ASSERT_TRUE(b);
      EXPECT_EQ(b->balance_fen, app->repos.agent_ledger.ledger_sum(a)) << "agent " << a;
    }
    for (int64_t s : sessions) {
      auto row = app->sessions.get(Scope::platform(), s);
      ASSERT_TRUE(row);
      EXPECT_EQ(booked(s), row->amount_fen.value_or(0) - row->refunded_fen) << "session " << s;
    }
  }

  int64_t agent(std::optional<int64_t> parent, int64_t share_bp) {
    auto st = db->prepare("INSERT INTO agent (parent_id, level, name, share_bp, created_at, updated_at) VALUES (?,?,?,?,?,?) RETURNING id");
    st.args(parent, parent ? 2 : 1, "agent", share_bp, T0, T0);
    EXPECT_TRUE(st.step());
    int64_t id = st.i64(0);
    st.run();
    db->prepare("INSERT INTO agent_balance (agent_id) VALUES (?)").args(id).run();
    agents.push_back(id);
    return id;
  }
  void set_share(int64_t agent_id, int64_t bp) { db->prepare("UPDATE agent SET share_bp = ? WHERE id = ?").args(bp, agent_id).run(); }

  // A session on the device (of `agent_id`, none: the platform's), settled at `wh` (amount = wh fen).
  SessionRow settled(std::optional<int64_t> agent_id, uint32_t wh, int port = 1) {
    db->prepare("UPDATE device SET agent_id = ? WHERE id = ?").args(agent_id, kDev).run();
    auto t = app->sessions.open(Scope::platform(), OpenRequest{kDev, port, rider_id, 10000, false, 0, Origin{"test", "operator"}}, T0);
    EXPECT_TRUE(t) << t.refusal.code;
    // Until sessions take their agent from the device at open, the test gives it.
    db->prepare("UPDATE session SET agent_id = ? WHERE id = ?").args(agent_id, t->session.id).run();
    auto out = end(t->session, wh);
    EXPECT_TRUE(out.settled);
    sessions.push_back(t->session.id);
    return *app->sessions.get(Scope::platform(), t->session.id);
  }
  EndOutcome end(const SessionRow& s, uint32_t wh, std::string msg = "") {
    if (msg.empty()) msg = "end-" + std::to_string(s.id);
    return app->sessions.end_reported(kDev, msg, proto::SessionEnd{static_cast<uint8_t>(s.port), static_cast<uint32_t>(s.id), 1, T0, 3600, wh, 2000},
                                      T0 + 3650, "{}");
  }
  int64_t booked(int64_t session_id) {
    auto st = db->prepare("SELECT coalesce(sum(amount_fen), 0) FROM agent_ledger WHERE session_id = ?");
    st.args(session_id);
    st.step();
    int64_t v = st.i64(0);
    st.run();
    return v;
  }
  // A party's rows of a session (agent none: the platform).
  int64_t part(int64_t session_id, std::optional<int64_t> agent_id, const std::string& kind = "") {
    auto st = db->prepare(
        "SELECT coalesce(sum(amount_fen), 0) FROM agent_ledger WHERE session_id = ?1 AND ((CAST(?2 AS BIGINT) IS NULL AND agent_id IS NULL) OR agent_id = ?2) "
        "AND (?3 = '' OR kind = ?3)");
    st.bind(1, session_id).bind(2, agent_id).bind(3, kind);
    st.step();
    int64_t v = st.i64(0);
    st.run();
    return v;
  }
  int64_t balance(int64_t agent_id) { return app->repos.agent_ledger.balance(agent_id)->balance_fen; }
};

std::string backend_name(const ::testing::TestParamInfo<sql::Dialect>& i) { return i.param == sql::Dialect::Sqlite ? "Sqlite" : "Postgres"; }

}  // namespace

TEST_P(IncomeTest, PlatformDeviceBooksEverythingToThePlatform) {
  auto s = settled(std::nullopt, 1900);
  ASSERT_EQ(s.amount_fen, 1900);
  EXPECT_EQ(part(s.id, std::nullopt, "income"), 1900);
  auto split = app->income.split(Scope::platform(), s.id);
  ASSERT_TRUE(split);
  ASSERT_EQ(split->parts.size(), 1u);
  EXPECT_EQ(split->parts[0].share_bp, 10000);
  EXPECT_EQ(split->parts[0].part_fen, 1900);
}

TEST_P(IncomeTest, SecondLevelDeviceSplitsBetweenTheAgentsAndThePlatform) {
  int64_t a = agent(std::nullopt, 3000), b = agent(a, 2000);
  auto s = settled(b, 2000);
  ASSERT_EQ(s.amount_fen, 2000);
  EXPECT_EQ(part(s.id, b, "income"), 400);
  EXPECT_EQ(part(s.id, a, "income"), 200);
  EXPECT_EQ(part(s.id, std::nullopt, "income"), 1400);
  EXPECT_EQ(balance(b), 400);
  EXPECT_EQ(balance(a), 200);
  auto rows = app->income.split(Scope::platform(), s.id);
  ASSERT_TRUE(rows);
  ASSERT_EQ(rows->parts.size(), 3u);
  EXPECT_EQ(rows->parts[1].agent_id, a);
  EXPECT_EQ(rows->parts[1].share_bp, 3000);
  EXPECT_EQ(rows->parts[2].agent_id, b);
  EXPECT_EQ(rows->parts[2].part_fen, 400);
}

TEST_P(IncomeTest, FirstLevelDeviceSplitsRoundingDownForTheAgent) {
  int64_t a = agent(std::nullopt, 3333);
  auto s = settled(a, 999);
  ASSERT_EQ(s.amount_fen, 999);
  EXPECT_EQ(part(s.id, a), 332);   // ⌊999 · 0.3333⌋ = ⌊332.97⌋
  EXPECT_EQ(part(s.id, std::nullopt), 667);
}

TEST_P(IncomeTest, RefundsTakeThePartsBack) {
  int64_t a = agent(std::nullopt, 3000), b = agent(a, 2000);
  auto s = settled(b, 2000);
  ASSERT_TRUE(app->sessions.refund(Scope::platform(), s.id, 1200, "", T0 + 4000));
  EXPECT_EQ(part(s.id, b, "refund"), -240);
  EXPECT_EQ(part(s.id, a, "refund"), -120);
  EXPECT_EQ(part(s.id, std::nullopt, "refund"), -840);
  EXPECT_EQ(balance(b), 160);
  ASSERT_TRUE(app->sessions.refund(Scope::platform(), s.id, 800, "", T0 + 4100));
  EXPECT_EQ(balance(a), 0);
  EXPECT_EQ(balance(b), 0);
  EXPECT_EQ(part(s.id, std::nullopt), 0);
  // Refused refunds move nothing.
  EXPECT_FALSE(app->sessions.refund(Scope::platform(), s.id, 1, "", T0 + 4200));
  EXPECT_EQ(booked(s.id), 0);
}

// A rider's refund is never refused for an agent's sake: with the agent's income held for a pending
// withdrawal, the refund still takes the agent's part back (its available balance goes below zero).
TEST_P(IncomeTest, ARefundIsNotRefusedBecauseTheAgentHoldsAWithdrawal) {
  int64_t a = agent(std::nullopt, 5000);
  auto s = settled(a, 2000);
  ASSERT_EQ(balance(a), 1000);
  app->repos.agent_ledger.hold(a, 1000);   // a withdrawal of everything, pending
  ASSERT_TRUE(app->sessions.refund(Scope::platform(), s.id, 2000, "退款", T0 + 4000));
  auto b = app->repos.agent_ledger.balance(a);
  EXPECT_EQ(b->balance_fen, 0);
  EXPECT_EQ(b->held_fen, 1000);
  EXPECT_EQ(b->available_fen(), -1000);
  app->repos.agent_ledger.release(a, 1000);
}

TEST_P(IncomeTest, AShareChangeAffectsOnlyLaterSettlements) {
  int64_t a = agent(std::nullopt, 3000), b = agent(a, 2000);
  auto before = settled(b, 1000);
  set_share(b, 1000);
  set_share(a, 5000);
  auto after = settled(b, 1000, 2);
  EXPECT_EQ(part(before.id, b), 200);
  EXPECT_EQ(part(before.id, a), 100);
  EXPECT_EQ(part(after.id, b), 100);
  EXPECT_EQ(part(after.id, a), 400);
  // The earlier session's refund takes back with the shares it settled with.
  ASSERT_TRUE(app->sessions.refund(Scope::platform(), before.id, 1000, "", T0 + 4000));
  EXPECT_EQ(part(before.id, b), 0);
  EXPECT_EQ(part(before.id, a), 0);
  EXPECT_EQ(balance(b), 100);
  EXPECT_EQ(balance(a), 400);
}

TEST_P(IncomeTest, AReplayedStopRecordDoesNotBookTwice) {
  int64_t a = agent(std::nullopt, 3000), b = agent(a, 2000);
  auto s = settled(b, 2000);
  auto again = end(s, 2000);   // the same msg: a copy
  EXPECT_TRUE(again.duplicate);
  auto other = end(s, 1500, "another-msg");   // a second record of a settled session
  EXPECT_FALSE(other.settled);
  EXPECT_EQ(booked(s.id), 2000);
  EXPECT_EQ(balance(b), 400);
  EXPECT_EQ(app->repos.agent_ledger.ledger_sum(b), 400);
}

TEST_P(IncomeTest, ScopeShowsAnAgentItsOwnAndItsSubAgentsOnly) {
  int64_t a = agent(std::nullopt, 3000), b = agent(a, 2000), other = agent(std::nullopt, 1000);
  auto s = settled(b, 2000);
  EXPECT_TRUE(app->income.balance(Scope::agent(a), b));
  EXPECT_TRUE(app->income.ledger(Scope::agent(a), b, PageRequest{}));
  EXPECT_TRUE(app->income.split(Scope::agent(a), s.id));
  EXPECT_FALSE(app->income.balance(Scope::agent(b), a));
  EXPECT_FALSE(app->income.balance(Scope::agent(other), b));
  EXPECT_FALSE(app->income.split(Scope::agent(other), s.id));
  auto page = app->income.ledger(Scope::platform(), b, PageRequest{});
  ASSERT_TRUE(page);
  EXPECT_EQ(page->total, 1);
}

TEST_P(IncomeTest, AnOrphanSettledAgainstARiderBooksItsIncomeToThePlatform) {
  auto rec = app->sessions.end_reported(kDev, "orphan-1", proto::SessionEnd{3, 999999, 1, static_cast<uint32_t>(T0), 3600, 1500, 2000}, T0 + 3650,
                                        "{}");
  ASSERT_TRUE(rec.orphan_id);
  auto o = app->inbox.settle(Scope::platform(), *rec.orphan_id, rider_id, "account:test", T0 + 4000);
  ASSERT_TRUE(o) << o.refusal.code;
  ASSERT_TRUE(o->session_id);
  sessions.push_back(*o->session_id);
  auto s = app->sessions.get(Scope::platform(), *o->session_id);
  EXPECT_GT(s->amount_fen.value_or(0), 0);
  EXPECT_EQ(part(s->id, std::nullopt, "income"), s->amount_fen.value_or(0));
}

// The property over the database: random trees, shares, amounts and refunds; the invariants (parts sum
// to what each session kept, balances = ledger sums) are checked after every test.
TEST_P(IncomeTest, RandomTreesSharesAndRefundsKeepTheBooks) {
  std::mt19937_64 rng(GetParam() == sql::Dialect::Sqlite ? 17 : 18);
  auto in = [&](int64_t lo, int64_t hi) { return std::uniform_int_distribution<int64_t>(lo, hi)(rng); };
  std::vector<std::optional<int64_t>> owners{std::nullopt};
  for (int i = 0; i < 4; ++i) {
    int64_t a = agent(std::nullopt, in(0, 10000));
    owners.push_back(a);
    auto st = db->prepare("SELECT share_bp FROM agent WHERE id = ?");
    st.args(a);
    st.step();
    int64_t share = st.i64(0);
    st.run();
    for (int j = 0; j < 2; ++j) owners.push_back(agent(a, in(0, share)));
  }
  for (int i = 0; i < 30; ++i) {
    auto owner = owners[in(0, owners.size() - 1)];
    auto s = settled(owner, static_cast<uint32_t>(in(0, 1900)), static_cast<int>(1 + i % 10));
    int64_t left = s.amount_fen.value_or(0);
    while (left > 0 && in(0, 2) > 0) {
      int64_t r = in(1, left);
      ASSERT_TRUE(app->sessions.refund(Scope::platform(), s.id, r, "", T0 + 4000));
      left -= r;
    }
    if (in(0, 3) == 0 && owner) set_share(*owner, in(0, 10000) / 2);   // later sessions only
    int64_t platform = 0;
    for (auto& p : app->income.split(Scope::platform(), s.id)->parts) {
      EXPECT_GE(p.part_fen, 0);
      if (!p.agent_id) platform = p.part_fen;
    }
    EXPECT_EQ(part(s.id, std::nullopt), platform);
  }
  int64_t total = 0;
  for (int64_t s : sessions) total += app->sessions.get(Scope::platform(), s)->amount_fen.value_or(0) - app->sessions.get(Scope::platform(), s)->refunded_fen;
  int64_t agents_sum = 0;
  for (int64_t a : agents) agents_sum += balance(a);
  EXPECT_EQ(agents_sum + app->repos.agent_ledger.ledger_sum(std::nullopt), total);
}

INSTANTIATE_TEST_SUITE_P(Backends, IncomeTest, ::testing::Values(sql::Dialect::Sqlite, sql::Dialect::Postgres), backend_name);
