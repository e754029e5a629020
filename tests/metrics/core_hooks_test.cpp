// The core's metric hooks in process (the service with a recording publisher on a real SQLite file):
// what the integration test cannot provoke cheaply — orphan stop records, unknown kinds, unanswered
// commands, a rolled-back payment, database time once watched. Values are read as deltas of the
// process's registry.
#include <gtest/gtest.h>

#include "chargehub/metrics.hpp"
#include "chargehub/payloads.hpp"
#include "chargehub/topics.hpp"
#include "db/db.hpp"
#include "metrics.hpp"
#include "service.hpp"
#include "testsupport.hpp"

using namespace chargehub;
using namespace chargehub::core;
namespace json = boost::json;

namespace {
struct Recorder : Publisher {
  bool publish(const std::string&, const std::string&, int, bool) override { return true; }
};

double now_value(const std::string& series) {
  return chargehub::metrics::find_value(core_metrics().registry().expose(), series).value_or(0);
}

struct CoreHooks : ::testing::Test {
  chargehub::testing::TempDir dir{"metrics-hooks"};
  std::unique_ptr<sql::Db> db = sql::open((dir / "core.db").string());
  App app{*db};
  Recorder pub;
  int64_t now = 1795500000;
  Service svc{app, pub, ServiceConfig{}, [this] { return now; }};
  std::string dev = "861234567890123";
  void SetUp() override {
    app.devices.create(NewDevice{dev, "", 10, 1, std::string(64, 'b'), {}}, now);
    svc.on_message(topics::status(dev), R"({"online":true,"ts":1})");
  }
};
}  // namespace

TEST_F(CoreHooks, AStopRecordForNoSessionIsAnOrphanSettlementError) {
  double before = now_value(R"(chargehub_settlement_errors_total{outcome="orphan"})");
  double settled = now_value(R"(chargehub_settlements_total{cause="stop_record"})");
  proto::SessionEnd e{3, 777, 1, static_cast<uint32_t>(now), 60, 10, 200};
  std::string msg = payloads::make_msg(861234567890123ULL, proto::Cmd::SessionEnd, e.session);
  svc.on_message(topics::up_topic(dev, "session_end"), json::serialize(payloads::session_end(e, msg)));
  svc.on_message(topics::up_topic(dev, "session_end"), json::serialize(payloads::session_end(e, msg)));   // a copy: not again
  EXPECT_EQ(now_value(R"(chargehub_settlement_errors_total{outcome="orphan"})"), before + 1);
  EXPECT_EQ(now_value(R"(chargehub_settlements_total{cause="stop_record"})"), settled);
}

TEST_F(CoreHooks, MessagesAreCountedByKindWithTopicsTheCoreDoesNotHandleInOneLabel) {
  double hb = now_value(R"(chargehub_ingest_messages_total{kind="heartbeat"})");
  double other = now_value(R"(chargehub_ingest_messages_total{kind="other"})");
  double unknown = now_value(R"(chargehub_ingest_messages_total{kind="unknown"})");
  svc.on_message(topics::up_topic(dev, "heartbeat"), R"({"csq":18,"temp_dc":285,"mains_dv":2205,"power_w":0,"ports":[0,0,0,0,0,0,0,0,0,0]})");
  svc.on_message(topics::up_topic(dev, "made_up_kind_1"), "{}");
  svc.on_message(topics::up_topic(dev, "made_up_kind_2"), "{}");
  svc.on_message("not/a/fleet/topic", "{}");
  svc.on_message(topics::down_topic(dev, "cmd"), "{}");
  EXPECT_EQ(now_value(R"(chargehub_ingest_messages_total{kind="heartbeat"})"), hb + 1);
  EXPECT_EQ(now_value(R"(chargehub_ingest_messages_total{kind="unknown"})"), unknown + 4);
  EXPECT_EQ(now_value(R"(chargehub_ingest_messages_total{kind="other"})"), other);   // a kind the topic parser knows and the list not
  EXPECT_EQ(core_metrics().registry().expose().find("made_up_kind"), std::string::npos);
}

TEST_F(CoreHooks, ACommandWithoutAReplyIsCountedUnansweredOnceItExpires) {
  double unanswered = now_value(R"(chargehub_command_outcomes_total{outcome="unanswered"})");
  ASSERT_TRUE(svc.send_command(Scope::platform(), dev, "query_ports", {}, Origin{"test", "metrics"}));
  now += 3600;
  svc.tick();
  EXPECT_EQ(now_value(R"(chargehub_command_outcomes_total{outcome="unanswered"})"), unanswered + 1);
}

TEST_F(CoreHooks, APaymentCountsOnlyOnceCommitted) {
  auto rider = app.wallets.create_rider(Scope::platform(), "张三", "", now);
  double topups = now_value(R"(chargehub_payments_fen_total{kind="topup"})");
  {
    sql::Tx tx(*db);   // rolled back: the top-up never happened
    ASSERT_TRUE(app.wallets.topup(Scope::platform(), rider.id, 500, 0, "", now));
  }
  EXPECT_EQ(now_value(R"(chargehub_payments_fen_total{kind="topup"})"), topups);
  ASSERT_TRUE(app.wallets.topup(Scope::platform(), rider.id, 700, 0, "", now));
  EXPECT_EQ(now_value(R"(chargehub_payments_fen_total{kind="topup"})"), topups + 700);
}

TEST_F(CoreHooks, DatabaseTimeIsObservedOnceWatched) {
  core_metrics().watch(*db, svc, nullptr);
  double selects = now_value(R"(chargehub_db_statement_seconds_count{kind="select"})");
  double commits = now_value(R"(chargehub_db_transaction_seconds_count{outcome="commit"})");
  double rollbacks = now_value(R"(chargehub_db_transaction_seconds_count{outcome="rollback"})");
  app.wallets.create_rider(Scope::platform(), "李四", "", now);
  { sql::Tx tx(*db); }
  auto text = core_metrics().registry().expose();
  EXPECT_GT(chargehub::metrics::find_value(text, R"(chargehub_db_statement_seconds_count{kind="select"})").value_or(0), selects);
  EXPECT_GT(chargehub::metrics::find_value(text, R"(chargehub_db_transaction_seconds_count{outcome="commit"})").value_or(0), commits);
  EXPECT_EQ(chargehub::metrics::find_value(text, R"(chargehub_db_transaction_seconds_count{outcome="rollback"})").value_or(0), rollbacks + 1);
  EXPECT_EQ(chargehub::metrics::find_value(text, R"(chargehub_devices{state="online"})"), 1);
  EXPECT_EQ(chargehub::metrics::check_text(text), std::nullopt);
  sql::set_observer(nullptr);
  core_metrics().watch(*db, svc, nullptr);   // again: replaces, never registers twice
  sql::set_observer(nullptr);
}
