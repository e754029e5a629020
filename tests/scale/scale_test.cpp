// Several core instances on one PostgreSQL (issue 18, docs/scale-out.md): three cores in one share group
// on one Mosquitto with our plugin, the fleet simulator charging, the leader killed with SIGKILL in the
// middle and started again; then nothing lost, nothing billed twice, nothing stuck, the money adds up,
// the housekeeping ran once with the leader dead and after it, and every instance answers the API.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <random>
#include <set>
#include <thread>

#include "cluster.hpp"
#include "db/db.hpp"
#include "pg.hpp"

using namespace chargehub::testing;
namespace sql = chargehub::core::sql;
namespace json = boost::json;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

// One number from the test's own connection to the cores' database.
int64_t one(sql::Db& db, const std::string& q) {
  auto st = db.prepare(q);
  return st.step() ? st.i64(0) : -1;
}

int64_t id_of(const ApiReply& r) { return r.obj().at("id").to_number<int64_t>(); }

const char* kNonTerminal = "('requested', 'starting', 'charging', 'stopping', 'ended')";

}  // namespace

TEST(Scale, ThreeCoresShareTheFleetAndSurviveAKilledLeader) {
  TempDir dir("scale");
  // Server time is not compressed; the STARTs' retry policy is (1 s between sends, given up after 6 s).
  Cluster c(dir, 3, {"--charger-time-scale", "600", "--start-retry-every", "1", "--start-give-up", "6", "--offline-after", "600"});
  ASSERT_TRUE(wait_until([&] { return c.leader() >= 0; }, 5s)) << c.log(0);
  int first_leader = c.leader();

  // An agent with a 60 % share owns the fleet, so every settlement also splits income.
  auto agent = c.api(0, "POST", "/agents", json::object{{"name", "杭州电驴运营有限公司"}, {"share_bp", 6000}, {"admin_name", "hz-admin"}});
  ASSERT_EQ(agent.status, 201) << json::serialize(agent.body);
  const int kChargers = 12;
  std::vector<std::string> devices;
  std::string tokens;
  for (int i = 0; i < kChargers; ++i) {
    std::string id = "8610000000000" + std::string(i < 10 ? "0" : "") + std::to_string(i);
    auto d = c.api(i % 3, "POST", "/devices", json::object{{"id", id}, {"ports", 10}});
    ASSERT_EQ(d.status, 201) << json::serialize(d.body);
    tokens += id + " " + std::string(d.obj().at("token_hex").as_string()) + "\n";
    devices.push_back(id);
  }
  json::array ids;
  for (auto& d : devices) ids.push_back(json::value(d));
  ASSERT_EQ(c.api(1, "POST", "/devices/assign", json::object{{"device_ids", ids}, {"agent_id", id_of(agent)}}).status, 200);
  std::vector<int64_t> riders;
  for (int i = 0; i < 6; ++i) {
    auto r = c.api(i % 3, "POST", "/riders", json::object{{"name", "骑手" + std::to_string(i)}});
    ASSERT_EQ(r.status, 201) << json::serialize(r.body);
    riders.push_back(id_of(r));
    ASSERT_EQ(c.api((i + 1) % 3, "POST", "/riders/" + std::to_string(riders.back()) + "/topups", json::object{{"amount_fen", 100000}}).status, 200);
  }

  // A charger that stops answering (SIGSTOP): its STARTs are chased and given up by the housekeeping.
  const std::string mute = "862000000000000";
  auto m = c.api(2, "POST", "/devices", json::object{{"id", mute}, {"ports", 10}});
  ASSERT_EQ(m.status, 201);
  std::string uri = "tcp://127.0.0.1:" + std::to_string(c.broker().port());
  Process mute_sim({bin("chargehub-sim").string(), "--mqtt", uri, "--device", mute, "--token-hex",
                    std::string(m.obj().at("token_hex").as_string()), "--model", "1", "--time-scale", "600"},
                   dir / "mute.log");
  ASSERT_TRUE(wait_until([&] { return c.api(0, "GET", "/devices/" + mute).obj().at("online").as_bool(); }, 10s)) << read_file(dir / "mute.log");
  ::kill(mute_sim.pid(), SIGSTOP);

  // The fleet: riders plug in at random; the cores start sessions on request (no self-starts).
  write_file(dir / "tokens.txt", tokens);
  json::object scenario{
      {"name", "scale"}, {"seed", 18}, {"time_scale", 600}, {"duration_s", 0},
      {"transport", json::object{{"kind", "mqtt"}, {"uri", uri}}},
      {"device_base", "861000000000000"},
      {"chargers", json::array{json::object{{"model", 1}, {"count", kChargers}}}},
      {"tokens", json::object{{"file", (dir / "tokens.txt").string()}}},
      {"riders", json::object{{"arrivals_per_port_per_hour", 6}, {"self_start", false}, {"card_share", 0}, {"unplug_early_share", 0},
                              {"soc", json::array{0.6, 0.85}}, {"dwell_s", json::array{60, 120}}, {"give_up_s", 36000}}},
      {"retry_ms", 500}};
  write_file(dir / "scenario.json", json::serialize(scenario));
  Process fleet({bin("chargehub-sim").string(), "fleet", "--scenario", (dir / "scenario.json").string(), "--summary-json",
                 (dir / "summary.json").string()},
                dir / "fleet.log");
  ASSERT_TRUE(wait_until([&] { return one(*sql::open(c.db_url()), "SELECT count(*) FROM device WHERE online = 1 AND id LIKE '861%'") == kChargers; },
                         15s))
      << read_file(dir / "fleet.log");

  auto db = sql::open(c.db_url());
  std::mt19937 rng(18);
  std::vector<int64_t> sessions;
  int next = 0;
  auto live = [&] {
    for (int k = 0; k < 3; ++k, ++next)
      if (c.running(next % 3)) return next++ % 3;
    return 0;
  };
  auto start_some = [&](int n) {
    for (int k = 0; k < n; ++k) {
      auto& dev = devices[rng() % devices.size()];
      int port = 1 + static_cast<int>(rng() % 10);
      auto r = c.api(live(), "POST", "/sessions",
                     json::object{{"device_id", dev}, {"port", port}, {"rider_id", riders[rng() % riders.size()]},
                                  {"amount_fen", 100 + static_cast<int>(rng() % 200)}});
      if (r.status == 201 || r.status == 202) sessions.push_back(r.obj().at("id").to_number<int64_t>());
    }
  };
  auto give_up_of = [&](int via, int port) {
    auto r = c.api(via, "POST", "/sessions", json::object{{"device_id", mute}, {"port", port}, {"rider_id", riders[0]}, {"amount_fen", 200}});
    EXPECT_TRUE(r.status == 201 || r.status == 202) << json::serialize(r.body);
    return r.status == 201 || r.status == 202 ? r.obj().at("id").to_number<int64_t>() : -1;
  };
  auto state_of = [&](int64_t sid) {
    auto st = db->prepare("SELECT state FROM session WHERE id = ?");
    st.args(sid);
    return st.step() ? st.text(0) : std::string();
  };

  // Load, and a START given up by the first leader.
  int64_t mute1 = give_up_of(first_leader, 1);
  auto t0 = Clock::now();
  while (Clock::now() - t0 < 5s) {
    start_some(3);
    std::this_thread::sleep_for(100ms);
  }
  EXPECT_TRUE(wait_until([&] { return state_of(mute1) == "start_timed_out"; }, 10s)) << state_of(mute1);

  // The leader dies mid-load.
  c.kill(first_leader);
  auto killed_at = Clock::now();
  int second_leader = -1;
  while (Clock::now() - killed_at < 10s) {
    start_some(2);
    second_leader = c.leader();
    if (second_leader >= 0) break;
    std::this_thread::sleep_for(50ms);
  }
  auto failover = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - killed_at);
  ASSERT_GE(second_leader, 0) << "no instance took over";
  EXPECT_NE(second_leader, first_leader);
  EXPECT_LT(failover, 5s);
  std::printf("[ scale    ] leader n%d killed; n%d led %lld ms later\n", first_leader, second_leader, (long long)failover.count());

  // Housekeeping while the old leader is dead: a START given up by the new one.
  int64_t mute2 = give_up_of(second_leader, 2);
  auto t1 = Clock::now();
  while (Clock::now() - t1 < 4s) {
    start_some(3);
    std::this_thread::sleep_for(100ms);
  }
  EXPECT_TRUE(wait_until([&] { return state_of(mute2) == "start_timed_out"; }, 10s)) << state_of(mute2);

  // The killed core comes back (a follower now) while the load goes on.
  c.start(first_leader);
  auto t2 = Clock::now();
  while (Clock::now() - t2 < 4s) {
    start_some(3);
    std::this_thread::sleep_for(100ms);
  }
  int64_t mute3 = give_up_of(first_leader, 3);   // asked of the restarted core, given up by the leader
  EXPECT_TRUE(wait_until([&] { return state_of(mute3) == "start_timed_out"; }, 10s)) << state_of(mute3);
  EXPECT_EQ(c.leader(), second_leader);

  // Commands answered whichever instance sent them: sent through one core, completed by the core the
  // reply reached, seen from a third.
  std::vector<std::string> commands;
  for (auto& dev : devices) {
    auto r = c.api(0, "POST", "/devices/" + dev + "/commands", json::object{{"op", "query_ports"}, {"args", json::object{}}});
    ASSERT_TRUE(r.status == 201 || r.status == 202) << json::serialize(r.body);
    commands.push_back(std::string(r.obj().at("id").as_string()));
  }
  for (auto& id : commands) {
    EXPECT_TRUE(wait_until([&] {
      auto st = db->prepare("SELECT state FROM command WHERE id = ?");
      st.args(id);
      return st.step() && st.text(0) == "replied";
    }, 10s)) << id;
  }
  std::set<int> answered_by;
  for (auto& id : commands)
    for (int i = 0; i < 3; ++i)
      if (c.log(i).find("command=" + id + " op=query_ports") != std::string::npos) answered_by.insert(i);
  EXPECT_TRUE(answered_by.count(1) || answered_by.count(2)) << "every reply reached the core that sent the command";
  auto seen = c.api(2, "GET", "/devices/" + devices[0] + "/commands");
  ASSERT_EQ(seen.status, 200);

  // Stop what still charges, and wait until every session is in a final state.
  auto pending = [&] { return one(*db, std::string("SELECT count(*) FROM session WHERE state IN ") + kNonTerminal); };
  for (int64_t sid : sessions)
    if (state_of(sid) == "charging") c.api(live(), "POST", "/sessions/" + std::to_string(sid) + "/stop");
  EXPECT_TRUE(wait_until([&] { return pending() == 0; }, 20s)) << pending() << " sessions not final";
  // The stop records of the last seconds are acknowledged before the fleet stops.
  std::this_thread::sleep_for(1500ms);
  fleet.stop(SIGTERM);
  auto summary = json::parse(read_file(dir / "summary.json")).as_object();
  int64_t ended = summary.at("sessions_ended").to_number<int64_t>();
  std::printf("[ scale    ] %zu sessions asked for, %lld ended by the chargers\n", sessions.size(), (long long)ended);
  EXPECT_GT(ended, 20);

  // Every stop record the chargers sent was applied exactly once: one processed report each, one
  // settlement from a stop record each, never two charges for one session.
  EXPECT_EQ(one(*db, "SELECT count(*) FROM processed_msg WHERE kind = 'session_end' AND device_id LIKE '861%'"), ended);
  EXPECT_EQ(one(*db, "SELECT count(*) FROM session WHERE device_id LIKE '861%' AND reported_energy_wh IS NOT NULL AND state = 'settled'"), ended);
  EXPECT_EQ(one(*db, "SELECT count(*) FROM orphan_record"), 0);
  EXPECT_EQ(one(*db, "SELECT count(*) FROM (SELECT session_id FROM ledger WHERE kind = 'charge' GROUP BY session_id HAVING count(*) > 1) x"), 0);
  EXPECT_EQ(one(*db, "SELECT count(*) FROM (SELECT session_id, agent_id FROM agent_ledger WHERE kind = 'income' "
                     "GROUP BY session_id, agent_id HAVING count(*) > 1) x"), 0);
  EXPECT_EQ(one(*db, "SELECT coalesce(sum(amount_fen), 0) FROM session WHERE state = 'settled'"),
            -one(*db, "SELECT coalesce(sum(amount_fen), 0) FROM ledger WHERE kind = 'charge'"));
  EXPECT_GT(one(*db, "SELECT coalesce(sum(amount_fen), 0) FROM agent_ledger WHERE kind = 'income'"), 0);
  // Nothing stuck, the money adds up.
  EXPECT_EQ(pending(), 0);
  EXPECT_EQ(one(*db, "SELECT count(*) FROM wallet w WHERE balance_fen <> (SELECT coalesce(sum(amount_fen), 0) FROM ledger l "
                     "WHERE l.rider_id = w.rider_id)"), 0);
  EXPECT_EQ(one(*db, "SELECT coalesce(sum(held_fen), 0) FROM wallet"), 0);
  EXPECT_EQ(one(*db, "SELECT count(*) FROM agent_balance b WHERE balance_fen <> (SELECT coalesce(sum(amount_fen), 0) FROM agent_ledger l "
                     "WHERE l.agent_id = b.agent_id)"), 0);
  // Each START of the mute charger given up exactly once: one STOP for it, its hold released once.
  for (int64_t sid : {mute1, mute2, mute3}) {
    EXPECT_EQ(state_of(sid), "start_timed_out") << sid;
    EXPECT_EQ(one(*db, "SELECT count(*) FROM command WHERE op = 'stop' AND reason = 'start_not_taken' AND session_id = " + std::to_string(sid)), 1);
  }
  // Every instance answers the API and agrees on who leads.
  for (int i = 0; i < 3; ++i) {
    auto s = c.api(i, "GET", "/status");
    ASSERT_EQ(s.status, 200) << i;
    EXPECT_EQ(std::string(s.obj().at("instance").as_object().at("leader").as_string()), "core-" + Cluster::name(second_leader));
    EXPECT_EQ(c.api(i, "GET", "/sessions?size=5").status, 200);
  }
  EXPECT_NE(c.log(second_leader).find("event=housekeeping.leads"), std::string::npos);
  ::kill(mute_sim.pid(), SIGCONT);
}

// Several processes cannot share one SQLite file: --share-group on SQLite is refused at start.
TEST(Scale, AShareGroupOnSqliteIsRefused) {
  TempDir dir("scale-sqlite");
  write_file(dir / "core.secret", "x\n");
  Process core({bin("chargehub-core").string(), "serve", "--db", (dir / "core.db").string(), "--share-group", "cores", "--secret-file",
                (dir / "core.secret").string(), "--http", "127.0.0.1:" + std::to_string(free_port())},
               dir / "core.log");
  EXPECT_EQ(core.wait(), 1);
  EXPECT_NE(read_file(dir / "core.log").find("--share-group needs PostgreSQL"), std::string::npos) << read_file(dir / "core.log");
}
