// Issue 18 item 4: a backup taken online while the real core serves, restored after more happened, and
// the chargers' stop records arriving again: nothing billed twice, nothing lost (docs/operations.md,
// "What happens to the records after a restore"). Real Mosquitto with our plugin, the real core, a raw
// charger (tests/charger) and, for PostgreSQL, pg_dump / pg_restore against the test run's cluster.
//
//   A settled before the backup, B charging during it, C started and ended after it.
//   Restored: A's record again -> a duplicate (acked, not billed); B's -> settled exactly once; C's ->
//   an orphan record an operator settles to the rider (no money lost). Every balance is its ledger's sum.
#include <gtest/gtest.h>

#include <sys/wait.h>

#include <atomic>
#include <iostream>
#include <thread>

#include "chargehub/payloads.hpp"
#include "db/backup.hpp"
#include "db/db.hpp"
#include "raw_charger.hpp"
#include "stack.hpp"

using namespace chargehub;
using namespace chargehub::testing;
namespace json = boost::json;

namespace {
const std::string kDevice = "861234567890124";
const std::string kPgBin = "/usr/lib/postgresql/15/bin/";

int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string quoted(const std::string& s) { return "'" + s + "'"; }   // paths and conninfos of the test: no quotes in them

// libpq conninfo of a "postgresql:<keywords>" or postgresql:// URL, for pg_dump / pg_restore.
std::string pg_conninfo(const std::string& url) {
  if (url.rfind("postgresql://", 0) == 0 || url.rfind("postgres://", 0) == 0) return url;
  return url.substr(url.find(':') + 1);
}

struct Restore : ::testing::TestWithParam<Database> {
  TempDir dir{"backup-restore"};
  Stack stack{dir, {"--charger-time-scale", "1000"}, {"all"}, GetParam()};
  std::unique_ptr<RawCharger> charger;
  int64_t rider = 0, agent = 0;

  void SetUp() override {
    auto d = stack.api("POST", "/devices", json::object{{"id", kDevice}, {"ports", 10}, {"model", 1}});
    ASSERT_EQ(d.status, 201) << json::serialize(d.body);
    auto r = stack.api("POST", "/riders", json::object{{"name", "李四"}, {"phone", "13800000001"}});
    ASSERT_EQ(r.status, 201) << json::serialize(r.body);
    rider = r.obj().at("id").as_int64();
    ASSERT_EQ(stack.api("POST", "/riders/" + std::to_string(rider) + "/topups", json::object{{"amount_fen", 5000}}).status, 200);
    // An agent who takes 60 % of the device's income: its balance must survive the restore too.
    auto a = stack.api("POST", "/agents", json::object{{"name", "杭州电驴"}, {"share_bp", 6000}, {"admin_name", "hz-admin"}});
    ASSERT_EQ(a.status, 201) << json::serialize(a.body);
    agent = a.obj().at("id").as_int64();
    ASSERT_EQ(stack.api("POST", "/devices/assign", json::object{{"device_ids", json::array{kDevice}}, {"agent_id", agent}}).status, 200);

    RawCharger::Options o;
    o.port = stack.broker().port();
    o.device = kDevice;
    o.password = std::string(d.obj().at("mqtt_password").as_string());
    o.boot.model = 1;
    o.boot.ports = 10;
    o.start_power_w = 2000;
    charger = std::make_unique<RawCharger>(o);
    ASSERT_TRUE(wait_until([&] { return charger->connect(1s); }, 10s)) << logs();
    ASSERT_TRUE(wait_until([&] { return device().at("online").as_bool(); }, 10s)) << logs();
  }

  std::string logs() { return "\n--- core\n" + stack.core_log(); }
  json::object device() { return stack.api("GET", "/devices/" + kDevice).obj(); }
  json::object session(int64_t id) { return stack.api("GET", "/sessions/" + std::to_string(id)).obj(); }
  std::string state(int64_t id) {
    auto r = stack.api("GET", "/sessions/" + std::to_string(id));
    return r.status == 200 ? std::string(r.obj().at("state").as_string()) : "http " + std::to_string(r.status);
  }
  int64_t balance() { return stack.api("GET", "/riders/" + std::to_string(rider)).obj().at("balance_fen").as_int64(); }

  // A session on `port` that charges for `seconds`; returns its id.
  int64_t charge(uint8_t port, uint32_t seconds) {
    auto s = stack.api("POST", "/sessions", json::object{{"device_id", kDevice}, {"port", port}, {"rider_id", rider}, {"amount_fen", 800}});
    EXPECT_EQ(s.status, 201) << json::serialize(s.body);
    if (s.status != 201) return 0;
    int64_t id = s.obj().at("id").as_int64();
    EXPECT_TRUE(wait_until([&] { return state(id) == "charging"; }, 10s)) << logs();
    charger->advance(seconds);
    charger->meter();
    return id;
  }
  // The charger's stop record of the session on `port` (it then shows the port idle).
  proto::SessionEnd record(uint8_t port, int64_t id) {
    auto p = charger->port(port);
    proto::SessionEnd e{port, static_cast<uint32_t>(id), 1, static_cast<uint32_t>(unix_now() - p.elapsed_s), p.elapsed_s, p.energy_wh, p.power_w};
    charger->set_port(port, proto::PortStatus{});
    return e;
  }
  void end(const proto::SessionEnd& e) {
    auto ack = charger->session_end_until_acked(e, "", 500ms, 10s);
    ASSERT_TRUE(ack) << logs();
    EXPECT_EQ(ack->result, 0);
    ASSERT_TRUE(wait_until([&] { return state(e.session) == "settled"; }, 10s)) << logs();
  }

  // The backup, taken while the core serves and meter readings keep arriving (and being written).
  void backup(const fs::path& file) {
    std::atomic<bool> done{false};
    std::thread writer([&] {
      while (!done) {
        charger->advance(1);
        charger->meter();
        std::this_thread::sleep_for(2ms);
      }
    });
    std::string out;
    try {
      if (stack.database() == Database::Sqlite)
        out = run_capture(quoted(bin("chargehub-core").string()) + " backup --db " + quoted(stack.db_url()) + " --to " +
                          quoted(file.string()) + " --pages-per-step 4 2>&1");
      else
        out = run_capture(kPgBin + "pg_dump -Fc -f " + quoted(file.string()) + " -d " + quoted(pg_conninfo(stack.db_url())) + " 2>&1");
    } catch (const std::exception& e) {
      out = std::string("FAILED: ") + e.what();
    }
    done = true;
    writer.join();
    ASSERT_EQ(out.find("FAILED"), std::string::npos) << out;
    std::cout << "backup: " << (out.empty() ? "pg_dump -Fc done" : out) << "\n";
    if (stack.database() == Database::Sqlite) {
      EXPECT_NE(out.find("check ok"), std::string::npos) << out;
      EXPECT_FALSE(fs::exists(file.string() + ".tmp"));
    }
    ASSERT_TRUE(fs::exists(file));
  }
  void restore(const fs::path& file) {
    if (stack.database() == Database::Sqlite) {
      auto out = run_capture(quoted(bin("chargehub-core").string()) + " restore --from " + quoted(file.string()) + " --db " +
                             quoted(stack.db_url()) + " 2>&1");
      EXPECT_NE(out.find("restored"), std::string::npos) << out;
      EXPECT_NE(out.find("new sessions from number"), std::string::npos) << out;
    } else {
      run_capture(kPgBin + "pg_restore --clean --if-exists --single-transaction --no-owner -d " + quoted(pg_conninfo(stack.db_url())) +
                  " " + quoted(file.string()) + " 2>&1");
      // As documented: after pg_restore, session numbers move past those given out since the dump.
      auto out = run_capture(quoted(bin("chargehub-core").string()) + " after-restore --db " + quoted(stack.db_url()) + " 2>&1");
      EXPECT_NE(out.find("new sessions from number"), std::string::npos) << out;
    }
  }

  // Straight from the database: every balance is its ledger's sum; no session charged or shared twice.
  void invariants() {
    auto db = core::sql::open(stack.db_url());
    auto count = [&](const std::string& sql) {
      auto st = db->prepare(sql);
      EXPECT_TRUE(st.step()) << sql;
      return st.i64(0);
    };
    EXPECT_EQ(count("SELECT count(*) FROM wallet w WHERE w.balance_fen <> (SELECT coalesce(sum(amount_fen), 0) FROM ledger l "
                    "WHERE l.rider_id = w.rider_id)"), 0);
    EXPECT_EQ(count("SELECT count(*) FROM agent_balance b WHERE b.balance_fen <> (SELECT coalesce(sum(amount_fen), 0) FROM agent_ledger l "
                    "WHERE l.agent_id = b.agent_id)"), 0);
    EXPECT_EQ(count("SELECT count(*) FROM (SELECT session_id FROM ledger WHERE kind = 'charge' GROUP BY session_id HAVING count(*) > 1) x"), 0);
    EXPECT_EQ(count("SELECT count(*) FROM (SELECT session_id, agent_id FROM agent_ledger WHERE kind = 'income' "
                    "GROUP BY session_id, agent_id HAVING count(*) > 1) x"), 0);
    EXPECT_GT(count("SELECT count(*) FROM agent_ledger WHERE agent_id = " + std::to_string(agent)), 0);
  }
  int64_t charges(int64_t session_id) {
    auto db = core::sql::open(stack.db_url());
    auto st = db->prepare("SELECT count(*) FROM ledger WHERE kind = 'charge' AND session_id = ?");
    st.args(session_id);
    st.step();
    return st.i64(0);
  }
};

}  // namespace

TEST_P(Restore, StopRecordsAfterARestoreAreSettledOnceAndNothingIsLost) {
  auto t0 = std::chrono::steady_clock::now();
  // A: charged and settled before the backup. B: charging while it is taken.
  int64_t a = charge(1, 600);
  ASSERT_TRUE(a);
  // The session shows whose income it is: the device's agent when it started.
  EXPECT_EQ(session(a).at("agent_id").as_int64(), agent);
  auto rec_a = record(1, a);
  end(rec_a);
  int64_t b = charge(2, 300);
  ASSERT_TRUE(b);

  fs::path file = dir.path() / (stack.database() == Database::Sqlite ? "core-backup.db" : "core-backup.dump");
  backup(file);

  // After the backup: B ends and settles; C starts and ends.
  auto rec_b = record(2, b);
  end(rec_b);
  int64_t c = charge(3, 900);
  ASSERT_TRUE(c);
  auto rec_c = record(3, c);
  end(rec_c);
  int64_t balance_before = balance();
  int64_t billed_b = session(b).at("amount_fen").as_int64(), billed_c = session(c).at("amount_fen").as_int64();
  ASSERT_GT(billed_b, 0);
  ASSERT_GT(billed_c, 0);
  invariants();

  // The database is lost; the backup comes back.
  stack.stop_core();
  restore(file);
  // The charger answers nothing while the records come back, so the core's QUERY_PORTS after its restart
  // cannot settle B as "lost" first: B must be settled by its record.
  charger->set_silent(true);
  stack.start_core();
  EXPECT_EQ(state(a), "settled");
  EXPECT_EQ(state(b), "charging") << "the backup was taken while B charged";
  EXPECT_EQ(state(c), "http 404") << "C began after the backup";

  // The chargers' stop records arrive again (resent, or replayed by the operator).
  end(rec_a);
  auto ack_b = charger->session_end_until_acked(rec_b, "", 500ms, 10s);
  ASSERT_TRUE(ack_b) << logs();
  EXPECT_EQ(ack_b->result, 0);
  auto ack_c = charger->session_end_until_acked(rec_c, "", 500ms, 10s);
  ASSERT_TRUE(ack_c) << logs();
  EXPECT_EQ(ack_c->result, 0);
  ASSERT_TRUE(wait_until([&] { return state(b) == "settled"; }, 10s)) << logs();

  // A: a duplicate, billed once. B: settled once, for what the charger reported. C: an orphan record.
  EXPECT_EQ(charges(a), 1);
  EXPECT_EQ(charges(b), 1);
  EXPECT_EQ(session(b).at("energy_wh").as_int64(), rec_b.energy_wh);
  EXPECT_EQ(session(b).at("amount_fen").as_int64(), billed_b);
  auto orphans = stack.api("GET", "/orphans?device_id=" + kDevice + "&state=open").obj().at("items").as_array();
  ASSERT_EQ(orphans.size(), 1u) << logs();
  auto& o = orphans[0].as_object();
  EXPECT_EQ(o.at("session").as_int64(), c);
  EXPECT_EQ(o.at("energy_wh").as_int64(), rec_c.energy_wh);
  // The operator settles it to the rider: the balance is what it was before the database was lost.
  auto settled = stack.api("POST", "/orphans/" + std::to_string(o.at("id").as_int64()) + "/settle", json::object{{"rider_id", rider}});
  ASSERT_EQ(settled.status, 200) << json::serialize(settled.body);
  EXPECT_EQ(settled.obj().at("settled_session").as_object().at("amount_fen").as_int64(), billed_c);
  EXPECT_EQ(balance(), balance_before);

  // A new session on C's port: its number is not C's again (the restore moved new numbers past the ones
  // given out after the backup), so C's record, still arriving, cannot end or bill it.
  charger->set_silent(false);
  int64_t d = charge(3, 120);
  ASSERT_TRUE(d);
  EXPECT_GT(d, c) << "a restored database gave a session number out again";
  EXPECT_GE(d, b + core::sql::kDefaultSessionGap);
  // Copies keep coming (a charger that missed the ack): acked, nothing billed again.
  end(rec_a);
  auto again = charger->session_end_until_acked(rec_c, "", 500ms, 10s);
  ASSERT_TRUE(again);
  EXPECT_EQ(balance(), balance_before);
  EXPECT_EQ(state(d), "charging");
  auto rec_d = record(3, d);
  end(rec_d);
  EXPECT_EQ(charges(d), 1);
  EXPECT_EQ(balance(), balance_before - session(d).at("amount_fen").as_int64());
  invariants();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 30s);
}

INSTANTIATE_TEST_SUITE_P(Databases, Restore, ::testing::Values(Database::Sqlite, Database::Postgres),
                         [](const auto& info) { return database_name(info.param); });

namespace {
// Runs a shell command; its exit status and what it printed (stdout and stderr).
std::pair<int, std::string> run_status(const std::string& cmd, const fs::path& out) {
  int rc = std::system((cmd + " >" + quoted(out.string()) + " 2>&1").c_str());
  return {WIFEXITED(rc) ? WEXITSTATUS(rc) : -1, read_file(out)};
}
}  // namespace

TEST(RestoreRefusals, ARunningCoresDatabaseIsNotOverwrittenAndPostgresqlPointsToTheProcedure) {
  TempDir dir{"backup-refusals"};
  Stack stack(dir);
  std::string core = quoted(bin("chargehub-core").string());
  fs::path file = dir.path() / "b.db";
  auto [rc_b, out_b] = run_status(core + " backup --db " + quoted(stack.db_url()) + " --to " + quoted(file.string()), dir.path() / "o1");
  ASSERT_EQ(rc_b, 0) << out_b;
  ASSERT_TRUE(stack.api("POST", "/riders", json::object{{"name", "王五"}, {"phone", "13800000002"}}).status == 201);
  // The core still runs on the file: refused, and the rider made after the backup is still there.
  auto [rc_r, out_r] = run_status(core + " restore --from " + quoted(file.string()) + " --db " + quoted(stack.db_url()), dir.path() / "o2");
  EXPECT_NE(rc_r, 0);
  EXPECT_NE(out_r.find("stop the core before restoring"), std::string::npos) << out_r;
  EXPECT_EQ(stack.api("GET", "/riders").obj().at("total").as_int64(), 1);
  // Not a ChargeHub database: refused before anything is touched.
  write_file(dir.path() / "junk.db", "not a database");
  stack.stop_core();
  auto [rc_j, out_j] = run_status(core + " restore --from " + quoted((dir.path() / "junk.db").string()) + " --db " + quoted(stack.db_url()),
                                  dir.path() / "o3");
  EXPECT_NE(rc_j, 0) << out_j;
  // PostgreSQL: pg_dump, as documented.
  auto [rc_p, out_p] = run_status(core + " backup --db 'postgresql://chargehub@127.0.0.1/x' --to " + quoted(file.string()), dir.path() / "o4");
  EXPECT_NE(rc_p, 0);
  EXPECT_NE(out_p.find("pg_dump"), std::string::npos) << out_p;
  EXPECT_NE(out_p.find("docs/operations.md"), std::string::npos) << out_p;
  // With the core stopped the restore goes through, and the rider made after the backup is gone.
  auto [rc_ok, out_ok] = run_status(core + " restore --from " + quoted(file.string()) + " --db " + quoted(stack.db_url()), dir.path() / "o5");
  EXPECT_EQ(rc_ok, 0) << out_ok;
  stack.start_core();
  EXPECT_EQ(stack.api("GET", "/riders").obj().at("total").as_int64(), 0);
}

TEST(SessionFloor, EachRestoreMovesNewNumbersFurtherAndNeverPastTheChargersU32) {
  TempDir dir{"backup-floor"};
  auto db = core::sql::open("sqlite:///" + (dir.path() / "f.db").string());
  core::sql::migrate(*db);
  auto f1 = core::sql::raise_session_floor(*db, 1000, 1);
  EXPECT_EQ(f1.max_id, 0);
  EXPECT_EQ(f1.next_id, 1001);
  // A second restore of the same backup (no session since): further still, never back.
  auto f2 = core::sql::raise_session_floor(*db, 1000, 2);
  EXPECT_EQ(f2.next_id, 2001);
  EXPECT_THROW(core::sql::raise_session_floor(*db, int64_t{1} << 31, 3), core::sql::Error);
  auto st = db->prepare("SELECT next_id FROM id_floor WHERE name = 'session'");
  ASSERT_TRUE(st.step());
  EXPECT_EQ(st.i64(0), 2001) << "a refused floor changes nothing";
}
