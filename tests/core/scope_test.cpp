// The data scope (docs/agents.md, "Data scope") on both databases: agents A (first level), B (second
// level, under A) and C (another first level), inserted by SQL, each with a device, a session, riders,
// a card and an orphan stop record; the platform has its own. For every scoped method: B sees only B's,
// A sees A's and B's, C sees only C's, the platform sees all; a foreign id loads nothing and a change to
// it answers *_not_found.
#include <gtest/gtest.h>

#include <map>

#include "app/app.hpp"
#include "db/db.hpp"
#include "pg.hpp"
#include "testsupport.hpp"

using namespace chargehub;
using namespace chargehub::core;
using chargehub::testing::TempDir;

namespace {
constexpr int64_t T0 = 1795500000;
constexpr int64_t TLate = T0 + 12 * 3600;

// Who owns a row: an agent, or the platform (0).
enum Owner : int64_t { P = 0, A = 1, B = 2, C = 3 };
const Owner kOwners[] = {P, A, B, C};

Scope scope_of(Owner o) { return o == P ? Scope::platform() : Scope::agent(o); }
// Whether the caller of `viewer` sees what `owner` owns.
bool sees(Owner viewer, Owner owner) { return viewer == P || viewer == owner || (viewer == A && owner == B); }
std::string name(Owner o) { return o == P ? "platform" : o == A ? "A" : o == B ? "B" : "C"; }

struct ScopeTest : ::testing::TestWithParam<sql::Dialect> {
  TempDir dir{"core-scope"};
  std::unique_ptr<sql::Db> db;
  std::unique_ptr<App> app;
  // Per owner: its device, the session on it (by a platform-registered rider, who thereby comes into
  // the owner's scope), that rider, a rider the owner registered, a card it issued, an orphan record.
  std::map<Owner, std::string> device, card;
  std::map<Owner, int64_t> session, charging_rider, registered_rider, orphan;

  void SetUp() override {
    std::string url = GetParam() == sql::Dialect::Sqlite ? "sqlite://" + (dir / "core.db").string() : chargehub::testing::fresh_database_url();
    db = sql::open(url);
    app = std::make_unique<App>(*db);
    db->exec("INSERT INTO agent (id, parent_id, level, name, created_at, updated_at) VALUES "
             "(1, NULL, 1, 'A', 0, 0), (2, 1, 2, 'B', 0, 0), (3, NULL, 1, 'C', 0, 0)");
    db->exec("INSERT INTO station (id, agent_id, name, created_at, updated_at) VALUES (1, 1, 'A站', 0, 0), (2, 2, 'B站', 0, 0), "
             "(3, 3, 'C站', 0, 0), (4, NULL, '平台站', 0, 0)");
    for (Owner o : kOwners) {
      std::string id = "86123456789000" + std::to_string(o);
      ASSERT_TRUE(app->devices.create(NewDevice{id, "桩 " + name(o), 10, 1, std::string(64, 'a'), {}}, T0));
      app->devices.online(id, true, T0);
      db->prepare("UPDATE device SET agent_id = ?, station_id = ? WHERE id = ?")
          .args(o == P ? std::optional<int64_t>() : std::optional<int64_t>(o), int64_t{o == P ? 4 : o}, id)
          .run();
      device[o] = id;
      auto r = app->wallets.create_rider(Scope::platform(), "骑手 " + name(o), "", T0);
      ASSERT_TRUE(app->wallets.topup(Scope::platform(), r.id, 1000, 0, "", T0));
      charging_rider[o] = r.id;
      auto t = app->sessions.open(Scope::platform(), OpenRequest{id, 1, r.id, 200, false, 0, Origin{"test", "operator"}}, T0);
      ASSERT_TRUE(t) << t.refusal.code;
      session[o] = t->session.id;
      registered_rider[o] = app->wallets.create_rider(scope_of(o), "登记 " + name(o), "", T0).id;
      card[o] = "AABBCC0" + std::to_string(o);
      ASSERT_TRUE(app->cards.create(scope_of(o), card[o], std::nullopt, T0));
      proto::SessionEnd e{5, static_cast<uint32_t>(900000 + o), 1, static_cast<uint32_t>(T0), 3600, 500, 600};
      auto out = app->sessions.end_reported(id, "orphan-" + std::to_string(o), e, TLate, "{}");
      ASSERT_TRUE(out.orphan_id);
      orphan[o] = *out.orphan_id;
      app->commands.queue_system(id, "query_ports", "test", T0, 60);
    }
  }
};

std::string backend_name(const ::testing::TestParamInfo<sql::Dialect>& i) {
  return i.param == sql::Dialect::Sqlite ? "Sqlite" : "Postgres";
}
}  // namespace

TEST_P(ScopeTest, NewRowsCarryTheirOwner) {
  for (Owner o : kOwners) {
    auto expect = [&](const std::string& sql, auto key) {
      auto st = db->prepare(sql);
      st.args(key);
      ASSERT_TRUE(st.step()) << sql;
      if (o == P) EXPECT_TRUE(st.is_null(0)) << sql;
      else EXPECT_EQ(st.i64(0), int64_t{o}) << sql;
    };
    expect("SELECT agent_id FROM session WHERE id = ?", session[o]);
    expect("SELECT agent_id FROM card WHERE uid = ?", card[o]);
    expect("SELECT agent_id FROM rider WHERE id = ?", registered_rider[o]);
  }
}

TEST_P(ScopeTest, DevicesCommandsAndAlarms) {
  for (Owner v : kOwners) {
    Scope s = scope_of(v);
    auto page = app->devices.page(s, DeviceFilter{}, PageRequest{1, 200, ""});
    auto list = app->devices.list(s, 100, "");
    int64_t n = 0;
    for (Owner o : kOwners) {
      SCOPED_TRACE(name(v) + " looks at " + name(o) + "'s");
      bool in = sees(v, o);
      n += in;
      EXPECT_EQ(app->devices.get(s, device[o]).has_value(), in);
      EXPECT_EQ(app->commands.for_device(s, device[o], 10).size(), in ? 2u : 0u);   // the START and a QUERY_PORTS
      EXPECT_EQ(app->commands.page_for_device(s, device[o], PageRequest{}).total, in ? 2 : 0);
      EXPECT_TRUE(app->alarms.list(s, device[o], 10).empty());
      bool listed = false;
      for (auto& d : page.items) listed = listed || d.id == device[o];
      EXPECT_EQ(listed, in);
      if (!in) {
        EXPECT_EQ(app->devices.set_enabled(s, device[o], false).refusal.code, "device_not_found");
        EXPECT_EQ(app->devices.set_lifecycle(s, device[o], "in_stock").refusal.code, "device_not_found");
        EXPECT_EQ(app->devices.assign_plan(s, device[o], 1).refusal.code, "device_not_found");
        EXPECT_EQ(app->devices.rotate_token(s, device[o], std::string(64, 'b'), 0, T0).refusal.code, "device_not_found");
        EXPECT_EQ(app->devices.remove(s, device[o], T0).refusal.code, "device_not_found");
        EXPECT_EQ(app->commands.queue(s, device[o], "query_ports", {}, Origin{"test", "operator"}, T0, 60).refusal.code,
                  "device_not_found");
      }
    }
    EXPECT_EQ(page.total, n) << name(v);
    EXPECT_EQ(static_cast<int64_t>(list.size()), n) << name(v);
    // Filters by the new ids, within the scope.
    DeviceFilter at_b;
    at_b.agent_id = B;
    EXPECT_EQ(app->devices.page(s, at_b, PageRequest{}).total, sees(v, B) ? 1 : 0) << name(v);
    DeviceFilter station_b;
    station_b.station_id = B;
    EXPECT_EQ(app->devices.page(s, station_b, PageRequest{}).total, sees(v, B) ? 1 : 0) << name(v);
  }
  // Changes inside the scope work: A disables B's device.
  EXPECT_TRUE(app->devices.set_enabled(Scope::agent(A), device[B], false));
}

TEST_P(ScopeTest, Sessions) {
  for (Owner v : kOwners) {
    Scope s = scope_of(v);
    auto page = app->sessions.page(s, SessionFilter{}, PageRequest{1, 200, ""});
    auto list = app->sessions.list(s, SessionFilter{});
    int64_t n = 0;
    for (Owner o : kOwners) {
      SCOPED_TRACE(name(v) + " looks at " + name(o) + "'s");
      bool in = sees(v, o);
      n += in;
      EXPECT_EQ(app->sessions.get(s, session[o]).has_value(), in);
      if (!in) {
        EXPECT_TRUE(app->sessions.samples(s, session[o], 100).empty());
        EXPECT_EQ(app->sessions.request_stop(s, session[o], Origin{"test", "operator"}, T0).refusal.code, "session_not_found");
        EXPECT_EQ(app->sessions.refund(s, session[o], 1, "", T0).refusal.code, "session_not_found");
        // Nor can a session be opened on a foreign device.
        EXPECT_EQ(app->sessions.open(s, OpenRequest{device[o], 2, registered_rider[v], 100, false, 0, Origin{"test", "operator"}}, T0)
                      .refusal.code,
                  "device_not_found");
      }
    }
    EXPECT_EQ(page.total, n) << name(v);
    EXPECT_EQ(static_cast<int64_t>(list.size()), n) << name(v);
  }
}

TEST_P(ScopeTest, RidersAndTheirLedgers) {
  for (Owner v : kOwners) {
    Scope s = scope_of(v);
    auto page = app->wallets.riders(s, std::nullopt, PageRequest{1, 200, ""});
    int64_t n = 0;
    for (Owner o : kOwners) {
      // The rider who charged with o and the rider o registered (cards' riders are o's too: counted below).
      for (int64_t rid : {charging_rider[o], registered_rider[o]}) {
        SCOPED_TRACE(name(v) + " looks at " + name(o) + "'s rider " + std::to_string(rid));
        bool in = sees(v, o);
        n += in;
        EXPECT_EQ(app->wallets.rider(s, rid).has_value(), in);
        EXPECT_EQ(app->wallets.ledger(s, rid, 10).empty(), !in || rid == registered_rider[o]);
        EXPECT_EQ(app->wallets.ledger_page(s, rid, PageRequest{}).total > 0, in && rid == charging_rider[o]);
        if (!in) EXPECT_EQ(app->wallets.topup(s, rid, 100, 0, "", T0).refusal.code, "rider_not_found");
      }
      if (sees(v, o)) ++n;   // the rider made for o's card
    }
    EXPECT_EQ(page.total, n) << name(v);
  }
}

TEST_P(ScopeTest, CardsAndOrphans) {
  for (Owner v : kOwners) {
    Scope s = scope_of(v);
    auto page = app->inbox.page(s, OrphanFilter{}, PageRequest{1, 200, ""});
    auto list = app->inbox.list(s, OrphanFilter{});
    int64_t n = 0;
    for (Owner o : kOwners) {
      SCOPED_TRACE(name(v) + " looks at " + name(o) + "'s");
      bool in = sees(v, o);
      n += in;
      EXPECT_EQ(app->cards.get(s, card[o]).has_value(), in);
      EXPECT_EQ(app->inbox.get(s, orphan[o]).has_value(), in);
      if (!in) {
        EXPECT_EQ(app->cards.set_state(s, card[o], "lost").refusal.code, "card_not_found");
        EXPECT_EQ(app->inbox.close(s, orphan[o], "test", "api:test", T0).refusal.code, "orphan_not_found");
        EXPECT_EQ(app->inbox.settle(s, orphan[o], registered_rider[v], "api:test", T0).refusal.code, "orphan_not_found");
        // A card for a rider outside the scope is refused too.
        EXPECT_EQ(app->cards.create(s, "DDEEFF0" + std::to_string(o), registered_rider[o], T0).refusal.code, "rider_not_found");
      }
    }
    EXPECT_EQ(page.total, n) << name(v);
    EXPECT_EQ(static_cast<int64_t>(list.size()), n) << name(v);
  }
  // Inside the scope: A blocks B's card and closes B's orphan record.
  EXPECT_TRUE(app->cards.set_state(Scope::agent(A), card[B], "lost"));
  EXPECT_TRUE(app->inbox.close(Scope::agent(A), orphan[B], "test", "api:test", T0));
}

INSTANTIATE_TEST_SUITE_P(Backends, ScopeTest, ::testing::Values(sql::Dialect::Sqlite, sql::Dialect::Postgres), backend_name);
