// Agents, stations and where devices stand (issue 17, docs/agents.md) on a real database, each test on
// SQLite and on PostgreSQL: signing two levels deep with an admin account, shares within the parent's,
// freezing (logins refused, charging goes on), stations and their checks, scope (another agent's ids are
// not found), batch assignment, and what moving a station does and does not move.
#include <gtest/gtest.h>
#include <sodium.h>

#include "app/app.hpp"
#include "chargehub/permissions.hpp"
#include "db/db.hpp"
#include "pg.hpp"
#include "testsupport.hpp"

using namespace chargehub;
using namespace chargehub::core;
using chargehub::testing::TempDir;

namespace {
constexpr int64_t T0 = 1795500000;

AccountSettings cheap() {
  AccountSettings s;
  s.hash_opslimit = crypto_pwhash_OPSLIMIT_MIN;
  s.hash_memlimit = crypto_pwhash_MEMLIMIT_MIN;
  return s;
}

struct AgentsTest : ::testing::TestWithParam<sql::Dialect> {
  TempDir dir{"core-agents"};
  std::unique_ptr<sql::Db> db;
  std::unique_ptr<App> app;
  uint64_t reading_commits = sql::commits_while_reading();

  void SetUp() override {
    std::string url = GetParam() == sql::Dialect::Sqlite ? "sqlite://" + (dir / "core.db").string() : chargehub::testing::fresh_database_url();
    db = sql::open(url);
    app = std::make_unique<App>(*db, cheap());
  }
  void TearDown() override { EXPECT_EQ(sql::commits_while_reading(), reading_commits); }

  // The platform's administrator (no agent, every permission).
  static Caller platform() {
    Caller c;
    c.name = "admin";
    c.permissions = permissions::all_keys();
    return c;
  }
  // Signs an agent as `by`; the admin logs in with its initial password and changes it.
  struct Signed {
    AgentRow agent;
    Caller admin;   // logged in, password changed
  };
  Signed sign(const Caller& by, const std::string& name, int64_t share_bp, const std::string& login) {
    auto a = app->agents.create(by, NewAgent{name, share_bp, "王经理", "13900000000", "招商银行 6225 8800 0000 0000", login, std::nullopt}, T0);
    EXPECT_TRUE(a) << a.refusal.code << " " << a.refusal.message;
    if (!a) return {};
    auto t = app->accounts.login(login, a->initial_password, "10.0.0.1", T0);
    EXPECT_TRUE(t) << t.refusal.code;
    EXPECT_TRUE(t->caller.must_change_password);
    EXPECT_TRUE(app->accounts.change_password(t->caller, a->initial_password, "新密码-" + login, T0));
    auto t2 = app->accounts.login(login, "新密码-" + login, "10.0.0.1", T0);
    EXPECT_TRUE(t2) << t2.refusal.code;
    return Signed{a->agent, t2->caller};
  }
  static Scope scope_of(const Caller& c) { return c.agent_id ? Scope::agent(*c.agent_id) : Scope::platform(); }

  // A new device is the platform's until the platform gives it to an agent (`to`).
  std::string device(const std::string& id, std::optional<int64_t> to = std::nullopt) {
    EXPECT_TRUE(app->devices.create(NewDevice{id, "西湖文化广场 " + id.substr(id.size() - 2) + "号桩", 10, 1, std::string(64, 'a'), {}}, T0));
    app->devices.online(id, true, T0);
    if (to) EXPECT_TRUE(app->stations.assign(Scope::platform(), {id}, Target{std::nullopt, to}, T0));
    return id;
  }
  StationRow station(const Scope& s, const std::string& name, std::optional<int64_t> agent = std::nullopt) {
    auto r = app->stations.create(s, NewStation{name, "浙江省杭州市下城区武林广场 1 号", 30274000, 120155000, "00:00-24:00",
                                                {"https://img.example.cn/station/1.jpg"}, agent},
                                  T0);
    EXPECT_TRUE(r) << r.refusal.code << " " << r.refusal.message;
    return r ? *r.value : StationRow{};
  }
  std::optional<int64_t> device_agent(const std::string& id) {
    auto st = db->prepare("SELECT agent_id FROM device WHERE id = ?");
    st.args(id);
    st.step();
    return st.opt_i64(0);
  }
  std::optional<int64_t> device_station(const std::string& id) {
    auto st = db->prepare("SELECT station_id FROM device WHERE id = ?");
    st.args(id);
    st.step();
    return st.opt_i64(0);
  }
};

std::string backend_name(const ::testing::TestParamInfo<sql::Dialect>& i) { return i.param == sql::Dialect::Sqlite ? "Sqlite" : "Postgres"; }
}  // namespace

TEST_P(AgentsTest, ThePlatformSignsFirstLevelAgentsWhoSignSecondLevelOnesNeverDeeper) {
  auto a = sign(platform(), "杭州电驴运营有限公司", 6000, "hz-admin");
  EXPECT_EQ(a.agent.level, 1);
  EXPECT_FALSE(a.agent.parent_id);
  ASSERT_EQ(a.admin.agent_id, a.agent.id);   // the admin account is the agent's
  EXPECT_TRUE(a.admin.can("agents.manage"));
  auto bal = app->repos.agent_ledger.balance(a.agent.id);
  ASSERT_TRUE(bal);
  EXPECT_EQ(bal->balance_fen, 0);

  auto b = sign(a.admin, "西湖区代理点", 5000, "xh-admin");
  EXPECT_EQ(b.agent.level, 2);
  EXPECT_EQ(b.agent.parent_id, a.agent.id);
  EXPECT_EQ(b.admin.agent_id, b.agent.id);

  auto c = app->agents.create(b.admin, NewAgent{"三级代理", 1000, "", "", "", "third-admin", std::nullopt}, T0);
  EXPECT_EQ(c.refusal.code, "too_deep");

  // An agent admin's staff belong to its agent.
  auto staff = app->accounts.create(a.admin, NewAccount{"hz-staff", "李四", "", {"agent_staff"}, "初始密码-staff"}, T0);
  ASSERT_TRUE(staff) << staff.refusal.code;
  EXPECT_EQ(staff->agent_id, a.agent.id);

  // The admin account's refusal takes the agent's row back with it.
  auto before = app->agents.list(Scope::platform(), {}, {}).total;
  auto dup = app->agents.create(platform(), NewAgent{"重名运营商", 3000, "", "", "", "hz-admin", std::string("初始密码-0001")}, T0);
  EXPECT_EQ(dup.refusal.code, "name_taken");
  EXPECT_EQ(app->agents.list(Scope::platform(), {}, {}).total, before);

  // Scope: the platform sees all three levels' agents; A itself and B; B only itself.
  EXPECT_EQ(app->agents.list(Scope::platform(), {}, {}).total, 2);
  EXPECT_EQ(app->agents.list(scope_of(a.admin), {}, {}).total, 2);
  EXPECT_EQ(app->agents.list(scope_of(b.admin), {}, {}).total, 1);
  EXPECT_FALSE(app->agents.get(scope_of(b.admin), a.agent.id));
  auto other = sign(platform(), "宁波骑电运营", 4000, "nb-admin");
  EXPECT_FALSE(app->agents.get(scope_of(a.admin), other.agent.id));
  EXPECT_EQ(app->agents.set_frozen(scope_of(a.admin), other.agent.id, true, T0).refusal.code, "agent_not_found");
}

TEST_P(AgentsTest, ASubAgentsShareNeverExceedsItsParents) {
  auto a = sign(platform(), "杭州电驴运营有限公司", 6000, "hz-admin");
  EXPECT_EQ(app->agents.create(a.admin, NewAgent{"西湖区代理点", 7000, "", "", "", "xh-admin", std::nullopt}, T0).refusal.code,
            "share_above_parent");
  auto b = sign(a.admin, "西湖区代理点", 5000, "xh-admin");
  AgentChange up;
  up.share_bp = 6500;
  EXPECT_EQ(app->agents.update(scope_of(a.admin), b.agent.id, up, T0).refusal.code, "share_above_parent");
  AgentChange down;
  down.share_bp = 4000;
  EXPECT_EQ(app->agents.update(Scope::platform(), a.agent.id, down, T0).refusal.code, "share_below_sub_agent");
  AgentChange equal;
  equal.share_bp = 5000;
  EXPECT_TRUE(app->agents.update(Scope::platform(), a.agent.id, equal, T0));
  for (int64_t bad : {-1, 10001}) {
    AgentChange c;
    c.share_bp = bad;
    EXPECT_EQ(app->agents.update(Scope::platform(), a.agent.id, c, T0).refusal.code, "bad_share");
  }
  EXPECT_EQ(app->agents.create(platform(), NewAgent{"", 0, "", "", "", "empty-name", std::nullopt}, T0).refusal.code, "bad_agent_name");
  // An agent does not set its own terms; its parent sets them.
  AgentChange mine;
  mine.share_bp = 10000;
  EXPECT_EQ(app->agents.update(scope_of(a.admin), a.agent.id, mine, T0).refusal.code, "agent_is_own");
  AgentChange contact;
  contact.contact_name = "赵六";
  contact.settlement_account = "支付宝 xh@example.cn";
  auto changed = app->agents.update(scope_of(a.admin), b.agent.id, contact, T0 + 5);
  ASSERT_TRUE(changed) << changed.refusal.code;
  EXPECT_EQ(changed->contact_name, "赵六");
  EXPECT_EQ(changed->share_bp, 5000);
  EXPECT_EQ(changed->updated_at, T0 + 5);
}

TEST_P(AgentsTest, AFrozenAgentsAccountsAndItsSubAgentsCannotLogInButItsChargersCharge) {
  auto a = sign(platform(), "杭州电驴运营有限公司", 6000, "hz-admin");
  auto b = sign(a.admin, "西湖区代理点", 5000, "xh-admin");
  auto s = station(scope_of(a.admin), "武林广场站");
  auto dev = device("861234567890101", a.agent.id);
  ASSERT_TRUE(app->stations.assign(scope_of(a.admin), {dev}, Target{s.id, std::nullopt}, T0));
  auto token = app->accounts.login("xh-admin", "新密码-xh-admin", "10.0.0.1", T0);
  ASSERT_TRUE(token);
  auto key = app->accounts.create_key(b.admin, "xh-script", {"agent_staff"}, T0);
  ASSERT_TRUE(key) << key.refusal.code;
  ASSERT_TRUE(app->accounts.authenticate(key->secret, "10.0.0.1", T0));

  EXPECT_EQ(app->agents.set_frozen(scope_of(a.admin), a.agent.id, true, T0).refusal.code, "agent_is_own");
  ASSERT_TRUE(app->agents.set_frozen(Scope::platform(), a.agent.id, true, T0));
  EXPECT_EQ(app->accounts.login("hz-admin", "新密码-hz-admin", "10.0.0.1", T0).refusal.code, "account_frozen");
  EXPECT_EQ(app->accounts.login("xh-admin", "新密码-xh-admin", "10.0.0.1", T0).refusal.code, "account_frozen");
  // Its tokens are revoked; a service key of the sub-agent's (not revocable that way) is refused too.
  EXPECT_EQ(app->accounts.authenticate(token->access_token, "10.0.0.1", T0).refusal.code, "unauthorized");
  EXPECT_EQ(app->accounts.refresh(token->refresh_token, "10.0.0.1", T0).refusal.code, "unauthorized");
  EXPECT_EQ(app->accounts.authenticate(key->secret, "10.0.0.1", T0).refusal.code, "account_frozen");
  EXPECT_EQ(app->accounts.login("hz-admin", "错误的密码-000", "10.0.0.1", T0).refusal.code, "bad_credentials");   // only once the password is right

  // Riders keep charging at the frozen agent's chargers.
  auto rider = app->wallets.create_rider(Scope::platform(), "张三", "13800000000", T0);
  ASSERT_TRUE(app->wallets.topup(Scope::platform(), rider.id, 1000, 0, "", T0));
  auto t = app->sessions.open(Scope::platform(), OpenRequest{dev, 1, rider.id, 500, false, 0, Origin{"test", "operator"}}, T0);
  EXPECT_TRUE(t) << t.refusal.code;

  ASSERT_TRUE(app->agents.set_frozen(Scope::platform(), a.agent.id, false, T0));
  EXPECT_TRUE(app->accounts.login("hz-admin", "新密码-hz-admin", "10.0.0.1", T0));
  EXPECT_EQ(app->accounts.authenticate(token->access_token, "10.0.0.1", T0).refusal.code, "unauthorized");   // revoked by the freeze
  EXPECT_TRUE(app->accounts.authenticate(key->secret, "10.0.0.1", T0));
  // Freezing the sub-agent leaves its parent's accounts alone.
  ASSERT_TRUE(app->agents.set_frozen(scope_of(a.admin), b.agent.id, true, T0));
  EXPECT_EQ(app->accounts.login("xh-admin", "新密码-xh-admin", "10.0.0.1", T0).refusal.code, "account_frozen");
  EXPECT_TRUE(app->accounts.login("hz-admin", "新密码-hz-admin", "10.0.0.1", T0));
}

TEST_P(AgentsTest, StationsAreCheckedScopedAndNotDeletedWhileDevicesStandThere) {
  auto a = sign(platform(), "杭州电驴运营有限公司", 6000, "hz-admin");
  auto b = sign(a.admin, "西湖区代理点", 5000, "xh-admin");
  auto bad = [&](NewStation n) { return app->stations.create(scope_of(a.admin), n, T0).refusal.code; };
  EXPECT_EQ(bad(NewStation{"", "", {}, {}, "", {}, {}}), "bad_station");
  EXPECT_EQ(bad(NewStation{"北极站", "", 80000000, 120000000, "", {}, {}}), "bad_station");     // not in China
  EXPECT_EQ(bad(NewStation{"颠倒站", "", 120155000, 30274000, "", {}, {}}), "bad_station");    // swapped
  EXPECT_EQ(bad(NewStation{"半个坐标", "", 30274000, {}, "", {}, {}}), "bad_station");
  EXPECT_EQ(bad(NewStation{"照片太多", "", {}, {}, "", std::vector<std::string>(10, "https://img.example.cn/a.jpg"), {}}), "bad_station");
  EXPECT_EQ(bad(NewStation{"照片地址", "", {}, {}, "", {"ftp://img.example.cn/a.jpg"}, {}}), "bad_station");
  EXPECT_EQ(bad(NewStation{"照片地址", "", {}, {}, "", {"https://img.example.cn/a b.jpg"}, {}}), "bad_station");

  // An agent's station is its own unless it names a sub-agent; nobody else's.
  auto own = station(scope_of(a.admin), "武林广场站");
  EXPECT_EQ(own.agent_id, a.agent.id);
  EXPECT_EQ(own.photos, std::vector<std::string>{"https://img.example.cn/station/1.jpg"});
  auto sub = station(scope_of(a.admin), "文三路站", b.agent.id);
  EXPECT_EQ(sub.agent_id, b.agent.id);
  auto other = sign(platform(), "宁波骑电运营", 4000, "nb-admin");
  EXPECT_EQ(app->stations.create(scope_of(a.admin), NewStation{"别人的站", "", {}, {}, "", {}, other.agent.id}, T0).refusal.code, "agent_not_found");
  auto platform_station = station(Scope::platform(), "平台自营站");
  EXPECT_FALSE(platform_station.agent_id);

  EXPECT_EQ(app->stations.list(Scope::platform(), {}, {}).total, 3);
  EXPECT_EQ(app->stations.list(scope_of(a.admin), {}, {}).total, 2);
  EXPECT_EQ(app->stations.list(scope_of(b.admin), {}, {}).total, 1);
  EXPECT_EQ(app->stations.list(scope_of(a.admin), StationQuery{std::string("文三路"), {}}, {}).total, 1);
  EXPECT_FALSE(app->stations.get(scope_of(b.admin), own.id));
  EXPECT_EQ(app->stations.update(scope_of(b.admin), own.id, StationChange{}, T0).refusal.code, "station_not_found");
  EXPECT_EQ(app->stations.remove(scope_of(b.admin), own.id).refusal.code, "station_not_found");

  StationChange ch;
  ch.name = "武林广场东站";
  ch.open_hours = "07:00-22:00";
  ch.photos = std::vector<std::string>{"https://img.example.cn/1.jpg", "http://img.example.cn/2.jpg"};
  auto edited = app->stations.update(scope_of(a.admin), own.id, ch, T0 + 1);
  ASSERT_TRUE(edited) << edited.refusal.message;
  EXPECT_EQ(edited->name, "武林广场东站");
  EXPECT_EQ(edited->photos.size(), 2u);
  EXPECT_EQ(edited->lat_e6, 30274000);
  StationChange far;
  far.lat_e6 = 1000000;
  far.lng_e6 = 120000000;
  EXPECT_EQ(app->stations.update(scope_of(a.admin), own.id, far, T0).refusal.code, "bad_station");

  EXPECT_EQ(app->stations.assign(scope_of(a.admin), {"861234567890102"}, Target{own.id, std::nullopt}, T0).refusal.code,
            "device_not_found");   // unknown yet
  auto dev = device("861234567890102");
  // The platform's device is not A's to place until the platform gives it.
  EXPECT_EQ(app->stations.assign(scope_of(a.admin), {dev}, Target{own.id, std::nullopt}, T0).refusal.code, "device_not_found");
  ASSERT_TRUE(app->stations.assign(Scope::platform(), {dev}, Target{std::nullopt, a.agent.id}, T0));
  ASSERT_TRUE(app->stations.assign(scope_of(a.admin), {dev}, Target{own.id, std::nullopt}, T0));
  EXPECT_EQ(app->stations.remove(scope_of(a.admin), own.id).refusal.code, "station_in_use");
  ASSERT_TRUE(app->stations.assign(scope_of(a.admin), {dev}, Target{sub.id, std::nullopt}, T0));
  auto gone = app->stations.remove(scope_of(a.admin), own.id);
  ASSERT_TRUE(gone) << gone.refusal.code;
  EXPECT_FALSE(app->stations.get(Scope::platform(), own.id));
}

TEST_P(AgentsTest, AssigningDevicesIsAllOrNoneWithinTheScope) {
  auto a = sign(platform(), "杭州电驴运营有限公司", 6000, "hz-admin");
  auto b = sign(a.admin, "西湖区代理点", 5000, "xh-admin");
  auto other = sign(platform(), "宁波骑电运营", 4000, "nb-admin");
  auto d1 = device("861234567890111"), d2 = device("861234567890112"), d3 = device("861234567890113");
  // The platform hands two devices to A, and one to the other agent.
  ASSERT_TRUE(app->stations.assign(Scope::platform(), {d1, d2}, Target{std::nullopt, a.agent.id}, T0));
  ASSERT_TRUE(app->stations.assign(Scope::platform(), {d3}, Target{std::nullopt, other.agent.id}, T0));
  EXPECT_EQ(device_agent(d1), a.agent.id);

  // At a station, a device takes the station's agent.
  auto sb = station(scope_of(a.admin), "文三路站", b.agent.id);
  auto placed = app->stations.assign(scope_of(a.admin), {d1}, Target{sb.id, std::nullopt}, T0);
  ASSERT_TRUE(placed) << placed.refusal.code;
  EXPECT_EQ(placed->at(0).agent_id, b.agent.id);
  EXPECT_EQ(device_station(d1), sb.id);

  // Another agent's device in the batch: refused as unknown, and nothing moved.
  auto mixed = app->stations.assign(scope_of(a.admin), {d2, d3}, Target{sb.id, std::nullopt}, T0);
  EXPECT_EQ(mixed.refusal.code, "device_not_found");
  EXPECT_EQ(device_agent(d2), a.agent.id);
  EXPECT_FALSE(device_station(d2));
  EXPECT_EQ(app->stations.assign(scope_of(a.admin), {"999999999999999"}, Target{sb.id, std::nullopt}, T0).refusal.code, "device_not_found");
  // B sees its own device, not its parent's ones, nor its parent's stations or the parent itself.
  EXPECT_EQ(app->stations.assign(scope_of(b.admin), {d2}, Target{sb.id, std::nullopt}, T0).refusal.code, "device_not_found");
  auto sa = station(scope_of(a.admin), "武林广场站");
  EXPECT_EQ(app->stations.assign(scope_of(b.admin), {d1}, Target{sa.id, std::nullopt}, T0).refusal.code, "station_not_found");
  EXPECT_EQ(app->stations.assign(scope_of(b.admin), {d1}, Target{std::nullopt, a.agent.id}, T0).refusal.code, "agent_not_found");
  EXPECT_EQ(app->stations.assign(scope_of(a.admin), {d1}, Target{std::nullopt, std::nullopt}, T0).refusal.code, "bad_target");
  EXPECT_EQ(app->stations.assign(scope_of(a.admin), {d1}, Target{sa.id, a.agent.id}, T0).refusal.code, "bad_target");
  EXPECT_EQ(app->stations.assign(scope_of(a.admin), {}, Target{sa.id, std::nullopt}, T0).refusal.code, "bad_target");

  // Given to an agent, a device leaves a station that is not that agent's.
  ASSERT_TRUE(app->stations.assign(scope_of(a.admin), {d1}, Target{std::nullopt, a.agent.id}, T0));
  EXPECT_EQ(device_agent(d1), a.agent.id);
  EXPECT_FALSE(device_station(d1));
  ASSERT_TRUE(app->stations.assign(scope_of(a.admin), {d1}, Target{sa.id, std::nullopt}, T0));
  ASSERT_TRUE(app->stations.assign(scope_of(a.admin), {d1}, Target{std::nullopt, a.agent.id}, T0));
  EXPECT_EQ(device_station(d1), sa.id);   // its station is the agent's: it stays
}

// docs/agents.md, "Moving things": a station's devices follow it; a session already running keeps the
// agent it started under (and settles to it); the agent ledger is not touched.
TEST_P(AgentsTest, MovingAStationMovesItsDevicesButNotRunningSessionsOrPastIncome) {
  auto a = sign(platform(), "杭州电驴运营有限公司", 6000, "hz-admin");
  auto b = sign(a.admin, "西湖区代理点", 5000, "xh-admin");
  auto other = sign(platform(), "宁波骑电运营", 4000, "nb-admin");
  auto s = station(scope_of(a.admin), "武林广场站");
  auto d1 = device("861234567890121", a.agent.id), d2 = device("861234567890122", a.agent.id);
  ASSERT_TRUE(app->stations.assign(scope_of(a.admin), {d1, d2}, Target{s.id, std::nullopt}, T0));

  auto rider = app->wallets.create_rider(Scope::platform(), "张三", "13800000000", T0);
  ASSERT_TRUE(app->wallets.topup(Scope::platform(), rider.id, 1000, 0, "", T0));
  auto t = app->sessions.open(Scope::platform(), OpenRequest{d1, 1, rider.id, 500, false, 0, Origin{"test", "operator"}}, T0);
  ASSERT_TRUE(t) << t.refusal.code;
  auto session_agent = [&] {
    auto st = db->prepare("SELECT agent_id FROM session WHERE id = ?");
    st.args(t->session.id);
    st.step();
    return st.opt_i64(0);
  };
  // Sessions::open records the device's agent (the income split's part of issue 17); until that lands
  // on this branch the row is set here the way it will be, so the move is tested against it.
  if (!session_agent()) db->prepare("UPDATE session SET agent_id = ? WHERE id = ?").args(a.agent.id, t->session.id).run();
  ASSERT_EQ(session_agent(), a.agent.id);
  int64_t ledger_rows = [&] {
    auto st = db->prepare("SELECT count(*) FROM agent_ledger");
    st.step();
    return st.i64(0);
  }();

  // Within A's scope it may go to B, not to the other agent, nor to the platform.
  EXPECT_EQ(app->stations.move(scope_of(a.admin), s.id, other.agent.id, T0).refusal.code, "agent_not_found");
  EXPECT_EQ(app->stations.move(scope_of(a.admin), s.id, std::nullopt, T0).refusal.code, "bad_target");
  EXPECT_EQ(app->stations.move(scope_of(b.admin), s.id, b.agent.id, T0).refusal.code, "station_not_found");
  auto moved = app->stations.move(scope_of(a.admin), s.id, b.agent.id, T0 + 10);
  ASSERT_TRUE(moved) << moved.refusal.code;
  EXPECT_EQ(moved->agent_id, b.agent.id);
  EXPECT_EQ(device_agent(d1), b.agent.id);
  EXPECT_EQ(device_agent(d2), b.agent.id);
  EXPECT_EQ(session_agent(), a.agent.id);   // the running session stays A's

  // The platform moves it on to another first-level agent, and then takes it over itself.
  ASSERT_TRUE(app->stations.move(Scope::platform(), s.id, other.agent.id, T0 + 20));
  EXPECT_EQ(device_agent(d1), other.agent.id);
  EXPECT_FALSE(app->stations.get(scope_of(a.admin), s.id));   // gone from A's scope: 404 from now on
  ASSERT_TRUE(app->stations.move(Scope::platform(), s.id, std::nullopt, T0 + 30));
  EXPECT_FALSE(device_agent(d2));
  EXPECT_EQ(session_agent(), a.agent.id);
  auto st = db->prepare("SELECT count(*) FROM agent_ledger");
  st.step();
  EXPECT_EQ(st.i64(0), ledger_rows);   // past income stays where it was booked
}

INSTANTIATE_TEST_SUITE_P(Backends, AgentsTest, ::testing::Values(sql::Dialect::Sqlite, sql::Dialect::Postgres), backend_name);
