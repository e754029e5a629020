// Two core instances doing the same work at the same moment on one PostgreSQL database — what happens
// for a second when a lease changes hands (the old leader has not noticed yet), and all the time for
// messages, which every instance handles: the use cases on two connections, in two threads, on the
// same rows. Each state change must happen once (docs/scale-out.md, "Safe on every instance").
#include <gtest/gtest.h>

#include <atomic>
#include <barrier>
#include <thread>

#include "app/app.hpp"
#include "app/housekeeping.hpp"
#include "db/db.hpp"
#include "pg.hpp"

using namespace chargehub;
using namespace chargehub::core;
namespace json = boost::json;

namespace {
constexpr int64_t T0 = 1795500000;
constexpr int64_t TLate = T0 + 12 * 3600;
constexpr int kDevices = 6, kPorts = 10;

int64_t one(sql::Db& db, const std::string& q) {
  sql::Lock lock(db);
  auto st = db.prepare(q);
  return st.step() ? st.i64(0) : -1;
}

struct TwoInstances : ::testing::Test {
  std::string url = chargehub::testing::fresh_database_url();
  std::unique_ptr<sql::Db> db1 = sql::open(url), db2;
  std::unique_ptr<App> a1 = std::make_unique<App>(*db1), a2;
  int64_t rider = 0;
  std::vector<StartTicket> tickets;
  std::atomic<int> busy{0}, failures{0};
  std::vector<std::string> errors;
  std::mutex mu;

  void SetUp() override {
    db2 = sql::open(url);
    a2 = std::make_unique<App>(*db2);
    rider = a1->wallets.create_rider(Scope::platform(), "张三", "13800000000", T0).id;
    ASSERT_TRUE(a1->wallets.topup(Scope::platform(), rider, 1000000, 0, "", T0));
    for (int d = 0; d < kDevices; ++d) {
      std::string id = "86100000000000" + std::to_string(d);
      ASSERT_TRUE(a1->devices.create(NewDevice{id, "桩", kPorts, 1, std::string(64, 'a'), {}}, T0));
      a1->devices.online(id, true, T0);
      for (int p = 1; p <= kPorts; ++p) {
        auto t = a1->sessions.open(Scope::platform(), OpenRequest{id, p, rider, 500, false, 0, Origin{"test", "operator"}}, T0);
        ASSERT_TRUE(t) << t.refusal.code;
        tickets.push_back(*t.value);
      }
    }
  }

  // Runs fn(app) on both instances at once, `rounds` times each; a deadlock between the two (PostgreSQL
  // picks a victim) is what a housekeeping tick or a message burst sees and retries, anything else fails.
  void both(int rounds, const std::function<void(App&, int)>& fn) {
    std::barrier sync(2);
    auto run = [&](App& app, int who) {
      sync.arrive_and_wait();
      for (int r = 0; r < rounds; ++r) {
        for (int attempt = 0; attempt < 20; ++attempt) {
          try {
            fn(app, who);
            break;
          } catch (const sql::Error& e) {
            if (e.kind == sql::Error::Kind::Busy) {
              ++busy;
              continue;
            }
            std::lock_guard lock(mu);
            errors.push_back(e.what());
            ++failures;
            break;
          }
        }
      }
    };
    std::thread t1(run, std::ref(*a1), 1), t2(run, std::ref(*a2), 2);
    t1.join();
    t2.join();
  }

  void money_adds_up() {
    EXPECT_EQ(one(*db1, "SELECT count(*) FROM wallet w WHERE balance_fen <> (SELECT coalesce(sum(amount_fen), 0) FROM ledger l "
                        "WHERE l.rider_id = w.rider_id)"), 0);
    EXPECT_EQ(one(*db1, "SELECT count(*) FROM (SELECT session_id FROM ledger WHERE kind = 'charge' GROUP BY session_id HAVING count(*) > 1) x"), 0);
  }
};

}  // namespace

TEST_F(TwoInstances, TwoLeadersGivingUpTheSameStartsReleaseEachHoldOnce) {
  // Half the STARTs were sent (the retry policy chases them), half never were (the START timeout).
  for (size_t i = 0; i < tickets.size(); i += 2) a1->commands.sent(tickets[i].command.id, T0);
  ASSERT_EQ(one(*db1, "SELECT held_fen FROM wallet"), 500 * kDevices * kPorts);
  int64_t t = T0 + 120;
  both(3, [&](App& app, int) {
    app.commands.chase_starts(t, rules::RetryPolicy{});
    app.sessions.expire_starts(t - 90, t);
  });
  EXPECT_EQ(failures.load(), 0) << (errors.empty() ? "" : errors.front());
  std::printf("[ scale    ] %d deadlock(s) between the two instances, retried\n", busy.load());
  // Every hold released exactly once (a second release would have been refused by held_fen >= 0, or
  // hidden by a later hold), every session given up, at most one STOP per session.
  EXPECT_EQ(one(*db1, "SELECT held_fen FROM wallet"), 0);
  EXPECT_EQ(one(*db1, "SELECT balance_fen FROM wallet"), 1000000);
  EXPECT_EQ(one(*db1, "SELECT count(*) FROM session WHERE state = 'start_timed_out'"), kDevices * kPorts);
  EXPECT_EQ(one(*db1, "SELECT count(*) FROM (SELECT session_id FROM command WHERE op = 'stop' GROUP BY session_id HAVING count(*) > 1) x"), 0);
  EXPECT_EQ(one(*db1, "SELECT count(*) FROM command WHERE op = 'start' AND state NOT IN ('failed', 'replied')"), 0);
  money_adds_up();
}

TEST_F(TwoInstances, AStopRecordAndALostVerdictOnTwoInstancesSettleOnce) {
  // Every session charging; then one instance gets the stop records while the other concludes from a
  // QUERY_PORTS answer (no port charging) that the charger lost them all.
  for (auto& tk : tickets) {
    a1->commands.sent(tk.command.id, T0);
    a1->commands.replied(tk.session.device_id, json::object{{"id", tk.command.id}, {"result", 0}}, T0);
  }
  ASSERT_EQ(one(*db1, "SELECT count(*) FROM session WHERE state = 'charging'"), kDevices * kPorts);
  both(1, [&](App& app, int who) {
    for (int d = 0; d < kDevices; ++d) {
      std::string dev = "86100000000000" + std::to_string(d);
      if (who == 2) {
        app.sessions.reconcile(dev, {}, TLate);
        continue;
      }
      for (auto& tk : tickets) {
        if (tk.session.device_id != dev) continue;
        proto::SessionEnd e{static_cast<uint8_t>(tk.session.port), static_cast<uint32_t>(tk.session.id), 1, T0, 4 * 3600, 800, 400};
        app.sessions.end_reported(dev, dev + "-session_end-" + std::to_string(tk.session.id), e, TLate);
      }
    }
  });
  EXPECT_EQ(failures.load(), 0) << (errors.empty() ? "" : errors.front());
  EXPECT_EQ(one(*db1, "SELECT count(*) FROM session WHERE state = 'settled'"), kDevices * kPorts);
  EXPECT_EQ(one(*db1, "SELECT held_fen FROM wallet"), 0);
  money_adds_up();
}

TEST_F(TwoInstances, TheSameStopRecordOnTwoInstancesIsAppliedOnce) {
  for (auto& tk : tickets) {
    a1->commands.sent(tk.command.id, T0);
    a1->commands.replied(tk.session.device_id, json::object{{"id", tk.command.id}, {"result", 0}}, T0);
  }
  // A copy of each stop record reaches the other instance at the same time (the charger resent it).
  std::atomic<int> settled{0}, copies{0};
  both(1, [&](App& app, int) {
    for (auto& tk : tickets) {
      proto::SessionEnd e{static_cast<uint8_t>(tk.session.port), static_cast<uint32_t>(tk.session.id), 1, T0, 4 * 3600, 800, 400};
      std::string msg = tk.session.device_id + "-session_end-" + std::to_string(tk.session.id);
      try {
        auto out = app.sessions.end_reported(tk.session.device_id, msg, e, TLate);
        if (out.settled) ++settled;
        if (out.duplicate) ++copies;
      } catch (const sql::Error& err) {
        // Both recorded the msg at once: the one that lost is rolled back (the fleet adapter applies
        // it again after its burst, and then it is a copy).
        if (!err.constraint()) throw;
        ++copies;
      }
    }
  });
  EXPECT_EQ(failures.load(), 0) << (errors.empty() ? "" : errors.front());
  EXPECT_EQ(settled.load(), kDevices * kPorts);
  EXPECT_EQ(copies.load(), kDevices * kPorts);
  EXPECT_EQ(one(*db1, "SELECT count(*) FROM ledger WHERE kind = 'charge'"), one(*db1, "SELECT count(*) FROM session WHERE amount_fen > 0"));
  money_adds_up();
}

bool wait_until_true(const std::function<bool()>& f) {
  for (int i = 0; i < 200; ++i) {
    if (f()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

// The housekeeping lease (app/housekeeping.hpp): one holder at a time; when the holder's connection
// ends (a killed core), the next poll of another instance takes it; SQLite's single instance always leads.
TEST(Leadership, OneInstanceLeadsAndAnotherTakesOverWhenItsConnectionEnds) {
  std::string url = chargehub::testing::fresh_database_url();
  { auto db = sql::open(url); App app(*db); }   // migrated
  auto a = std::make_unique<Leadership>("core-a", sql::open(url));
  Leadership b("core-b", sql::open(url));
  EXPECT_TRUE(a->poll());
  EXPECT_FALSE(b.poll());
  EXPECT_TRUE(a->poll());   // still holds it
  EXPECT_FALSE(b.poll());
  EXPECT_EQ(b.leader_name(), "core-a");
  EXPECT_EQ(a->terms(), 1u);
  // Another ChargeHub database on the same server has a lease of its own.
  Leadership other("core-x", sql::open(chargehub::testing::fresh_database_url()));
  EXPECT_TRUE(other.poll());
  EXPECT_EQ(other.leader_name(), "core-x");
  EXPECT_EQ(b.leader_name(), "core-a");
  // core-a's connection ends without giving the lease up (what a SIGKILL or a lost network does): the
  // server drops the lock, core-b takes it at its next poll, core-a notices at its own.
  {
    auto admin = sql::open(url);
    admin->prepare("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'core-a'").run();
  }
  EXPECT_TRUE(wait_until_true([&] { return b.poll(); }));
  EXPECT_FALSE(a->poll());
  EXPECT_FALSE(a->leading());
  EXPECT_FALSE(a->poll());   // reconnected, and core-b holds it
  EXPECT_EQ(b.leader_name(), "core-b");
  a.reset();
  // A clean stop gives it up at once.
  Leadership c("core-c", sql::open(url));
  EXPECT_FALSE(c.poll());
  b.release();
  EXPECT_FALSE(b.leading());
  EXPECT_TRUE(c.poll());
  EXPECT_FALSE(b.poll());
}

TEST(Leadership, ASingleInstanceOnSqliteAlwaysLeads) {
  Leadership solo("core-main", nullptr);
  EXPECT_TRUE(solo.poll());
  EXPECT_TRUE(solo.poll());
  EXPECT_EQ(solo.leader_name(), "core-main");
  EXPECT_EQ(solo.terms(), 1u);
}
