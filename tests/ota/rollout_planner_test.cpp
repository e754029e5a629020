// The rollout planner through the OTA use case on both databases (a fresh SQLite file and a fresh
// database on a real PostgreSQL 15, tests/support/pg.hpp): the core's service with a recording publisher
// in place of the broker, chargers played by the messages they send (boot, heartbeat, status, reply,
// up/ota). Creating a rollout, offers as heartbeats show chargers idle, progress from status messages,
// the gate pausing, resume and cancel.
#include <gtest/gtest.h>

#include "app/ota.hpp"
#include "chargehub/ota/firmware.hpp"
#include "chargehub/payloads.hpp"
#include "chargehub/topics.hpp"
#include "db/db.hpp"
#include "pg.hpp"
#include "service.hpp"
#include "testsupport.hpp"

using namespace chargehub;
using namespace chargehub::core;
namespace json = boost::json;
using S = RolloutDeviceState;

namespace {

struct Recorder : Publisher {
  std::vector<std::pair<std::string, std::string>> sent;
  bool publish(const std::string& t, const std::string& p, int, bool) override {
    sent.emplace_back(t, p);
    return true;
  }
};

firmware::Bytes image(size_t n) {
  firmware::Bytes b(n);
  for (size_t i = 0; i < n; ++i) b[i] = static_cast<uint8_t>(i * 7 + 3);
  return b;
}

class RolloutPlanner : public ::testing::TestWithParam<sql::Dialect> {
 protected:
  chargehub::testing::TempDir dir{"ota-planner"};
  std::unique_ptr<sql::Db> db = sql::open(GetParam() == sql::Dialect::Sqlite ? "sqlite://" + (dir / "core.db").string()
                                                                             : chargehub::testing::fresh_database_url());
  App app{*db};
  Recorder pub;
  int64_t now = 1795500000;
  Service svc{app, pub, ServiceConfig{}, [this] { return now; }};
  firmware::KeyPair key = firmware::generate_key();
  firmware::Package pkg = firmware::make_package(image(2500), {1, {1, 1, 0}, {1, 0, 0}, "planner test", now}, key.priv);
  Ota ota{svc, pub, OtaConfig{(dir / "firmware").string(), key.pub}};
  int64_t fw_id = 0;
  std::vector<std::string> devs;
  size_t seen = 0;   // pub.sent already looked at by offers()
  uint64_t reading_commits = sql::commits_while_reading();

  void SetUp() override {
    ASSERT_EQ(db->dialect(), GetParam());
    svc.set_ota(&ota);
    auto f = ota.add_firmware(pkg, "key:test");
    ASSERT_TRUE(f) << f.refusal.code;
    fw_id = f->id;
    for (int i = 0; i < 10; ++i) {
      std::string id = "86123456789010" + std::to_string(i);
      devs.push_back(id);
      ASSERT_TRUE(app.devices.create(NewDevice{id, "", 10, 1, std::string(64, 'b'), {}}, now));
      online(i, true);
      boot(i, i == 9 ? "1.1.0" : "1.0.0");   // the last one already runs the new version
      heartbeat(i, {0, 0, 0, 0, 0, 0, 0, 0, 0, 0});
    }
  }
  // No operation may commit while one of its lookups is still stepping (SQLite would stop checkpointing).
  void TearDown() override { EXPECT_EQ(sql::commits_while_reading(), reading_commits); }

  // ---- the chargers' side ----
  void online(int i, bool on) { svc.on_message(topics::status(devs[i]), on ? R"({"online":true,"ts":1})" : R"({"online":false})"); }
  void boot(int i, const std::string& fw) {
    svc.on_message(topics::up_topic(devs[i], "boot"),
                   json::serialize(json::object{{"model", 1}, {"ports", 10}, {"hw", 1}, {"fw", fw}, {"iccid", "8986"}, {"csq", 20}}));
  }
  void heartbeat(int i, std::vector<int> ports) {
    json::array a(ports.begin(), ports.end());
    svc.on_message(topics::up_topic(devs[i], "heartbeat"),
                   json::serialize(json::object{{"csq", 18}, {"temp_dc", 285}, {"mains_dv", 2205}, {"power_w", 0}, {"ports", a}}));
  }
  void reply(const std::pair<int, payloads::Command>& offer, int result) {
    svc.on_message(topics::up_topic(devs[offer.first], "reply"),
                   json::serialize(json::object{{"id", offer.second.id}, {"result", result}}));
  }
  void status(int i, int st, uint32_t bytes) {
    svc.on_message(topics::up_topic(devs[i], "ota"), json::serialize(json::object{{"version", "1.1.0"}, {"status", st}, {"bytes", bytes}}));
  }
  // A chunk request; returns the chunk's bytes as served on down/ota (nothing when none was served).
  std::optional<std::string> pull(int i, uint32_t offset) {
    size_t before = pub.sent.size();
    svc.on_message(topics::up_topic(devs[i], "ota"), json::serialize(json::object{{"msg", "m"}, {"offset", offset}, {"length", 1000}}));
    for (size_t k = before; k < pub.sent.size(); ++k)
      if (pub.sent[k].first == topics::down_topic(devs[i], topics::down::kOta)) return pub.sent[k].second;
    return std::nullopt;
  }

  // ---- what the core did ----
  void tick() {
    ++now;
    svc.tick();
  }
  // The ota_offer commands published since the last call, as (device index, command).
  std::vector<std::pair<int, payloads::Command>> offers() {
    std::vector<std::pair<int, payloads::Command>> out;
    for (; seen < pub.sent.size(); ++seen) {
      for (int i = 0; i < static_cast<int>(devs.size()); ++i) {
        if (pub.sent[seen].first != topics::down_topic(devs[i], topics::down::kCmd)) continue;
        auto c = payloads::parse_command(json::parse(pub.sent[seen].second));
        if (c && c->op == "ota_offer") out.emplace_back(i, *c);
      }
    }
    return out;
  }
  std::vector<int> offered_to(const std::vector<std::pair<int, payloads::Command>>& o) {
    std::vector<int> out;
    for (auto& [i, c] : o) out.push_back(i);
    return out;
  }
  RolloutDeviceRow device(int64_t rollout, int i) {
    for (auto& d : ota.rollout_devices(rollout, std::nullopt, 100, ""))
      if (d.device_id == devs[i]) return d;
    ADD_FAILURE() << "device " << i << " is not in rollout " << rollout;
    return {};
  }
  int64_t create(int max_concurrent) {
    RolloutRequest rq;
    rq.firmware_id = fw_id;
    rq.target_kind = "devices";
    json::array a(devs.begin(), devs.end());
    rq.target = json::object{{"devices", a}};
    rq.stages = {10, 50, 100};
    rq.max_failure_pct = 10;
    rq.max_concurrent = max_concurrent;
    rq.created_by = "key:test";
    auto r = ota.create_rollout(rq);
    EXPECT_TRUE(r) << r.refusal.code;
    return r ? r->id : 0;
  }
};

std::string db_name(const ::testing::TestParamInfo<sql::Dialect>& p) { return std::string(sql::dialect_name(p.param)); }

}  // namespace

TEST_P(RolloutPlanner, ARolloutSnapshotsItsTargetAndSkipsDevicesAlreadyOnTheVersion) {
  int64_t id = create(2);
  auto r = ota.rollout(id);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->state, RolloutState::Running);
  EXPECT_EQ(r->stage, 0);
  EXPECT_EQ(r->total, 10);
  EXPECT_EQ(r->count(S::Pending), 9);
  EXPECT_EQ(r->count(S::Skipped), 1);
  EXPECT_EQ(r->counts.size(), 9u);   // every state, 0 when none
  auto d9 = device(id, 9);
  EXPECT_EQ(d9.state, S::Skipped);
  EXPECT_EQ(d9.error, "already_on_version");
  EXPECT_EQ(d9.finished_at, now);
  auto d0 = device(id, 0);
  EXPECT_EQ(d0.seq, 0);
  EXPECT_EQ(d0.from_fw, "1.0.0");
  EXPECT_FALSE(d0.stage);
  // Unknown devices and a wrong model are refused, and nothing is stored.
  RolloutRequest rq;
  rq.firmware_id = fw_id;
  rq.target_kind = "devices";
  rq.target = json::object{{"devices", json::array{devs[0], "nope"}}};
  EXPECT_EQ(ota.create_rollout(rq).refusal.code, "device_not_found");
  rq.target_kind = "model";
  rq.target = json::object{{"model", 2}};
  EXPECT_EQ(ota.create_rollout(rq).refusal.code, "model_mismatch");
  rq.target = json::object{{"model", 1}};
  auto m = ota.create_rollout(rq);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->total, 10);
  EXPECT_EQ(ota.rollouts(10).size(), 2u);
}

TEST_P(RolloutPlanner, OffersGoToOnlineIdleDevicesStageByStageAndProgressFollowsTheirReports) {
  int64_t id = create(2);
  heartbeat(1, {0, 1, 0, 0, 0, 0, 0, 0, 0, 0});   // port 2 charging: not offered now
  online(2, false);                                 // offline: not offered now
  tick();
  // Stage 1 is 10 % of the 9 eligible devices: one.
  auto o = offers();
  ASSERT_EQ(offered_to(o), std::vector<int>{0});
  auto& args = o[0].second.args;
  EXPECT_EQ(args.at("version"), json::value("1.1.0"));
  EXPECT_EQ(args.at("size"), json::value(2500));
  EXPECT_EQ(args.at("sha256"), json::value(firmware::hex(pkg.manifest.sha256)));
  EXPECT_EQ(args.at("signature"), json::value(firmware::hex(pkg.manifest.signature)));
  EXPECT_EQ(args.at("chunk"), json::value(1000));
  EXPECT_EQ(device(id, 0).state, S::Offered);
  EXPECT_EQ(device(id, 0).stage, 0);
  EXPECT_EQ(device(id, 0).attempts, 1);
  EXPECT_EQ(device(id, 0).command_id, o[0].second.id);

  reply(o[0], 0);   // accepted
  tick();
  EXPECT_EQ(device(id, 0).state, S::Downloading);
  EXPECT_EQ(device(id, 0).offer_result, 0);
  EXPECT_TRUE(offers().empty());   // the stage's one device is in flight

  // Chunks are served from the image: offset u32 LE, then the bytes.
  auto c = pull(0, 1000);
  ASSERT_TRUE(c);
  ASSERT_EQ(c->size(), 4u + 1000u);
  EXPECT_EQ(std::string(c->data(), 4), std::string("\xE8\x03\x00\x00", 4));
  EXPECT_EQ(firmware::Bytes(c->begin() + 4, c->end()), firmware::Bytes(pkg.image.begin() + 1000, pkg.image.begin() + 2000));
  EXPECT_EQ(pull(0, 2000)->size(), 4u + 500u);   // the last, short chunk
  EXPECT_FALSE(pull(3, 0));                       // nothing in flight for that one
  EXPECT_EQ(ota.stats().chunk_requests_unknown, 1u);

  status(0, 1, 2000);
  tick();
  EXPECT_EQ(device(id, 0).bytes, 2000);
  status(0, 2, 2500);
  tick();
  EXPECT_EQ(device(id, 0).state, S::Verified);
  status(0, 3, 2500);
  tick();
  // Installed: stage 1 passed, stage 2 starts (4 devices) with two at a time, the busy and the offline
  // ones left for later.
  auto d0 = device(id, 0);
  EXPECT_EQ(d0.state, S::Installed);
  EXPECT_EQ(d0.bytes, 2500);
  EXPECT_TRUE(d0.finished_at);
  EXPECT_EQ(ota.rollout(id)->stage, 1);
  o = offers();
  ASSERT_EQ(offered_to(o), (std::vector<int>{3, 4}));
  EXPECT_EQ(device(id, 3).stage, 1);

  // The busy charger's heartbeat shows it idle, the offline one comes back.
  heartbeat(1, {0, 0, 0, 0, 0, 0, 0, 0, 0, 0});
  online(2, true);
  reply(o[0], 0);
  reply(o[1], 2);   // already on that version
  tick();
  EXPECT_EQ(device(id, 3).state, S::Downloading);
  EXPECT_EQ(device(id, 4).state, S::Installed);
  EXPECT_EQ(device(id, 4).error, "already_on_version");
  EXPECT_EQ(offered_to(offers()), std::vector<int>{1});   // one place free: the first pending in order
  EXPECT_EQ(device(id, 1).from_fw, "1.0.0");

  // A boot on the new version is success too.
  boot(3, "1.1.0");
  tick();
  EXPECT_EQ(device(id, 3).state, S::Installed);
  EXPECT_EQ(offered_to(offers()), std::vector<int>{2});
  auto r = ota.rollout(id);
  EXPECT_EQ(r->count(S::Installed), 3);
  EXPECT_EQ(r->count(S::Offered), 2);
  EXPECT_EQ(r->count(S::Pending), 4);
  EXPECT_EQ(ota.stats().offers_sent, 5u);
}

TEST_P(RolloutPlanner, TheGatePausesResumeAcceptsTheFailuresAndCancelLeavesDevicesInFlightAlone) {
  int64_t id = create(2);
  tick();
  ASSERT_EQ(offered_to(offers()), std::vector<int>{0});
  ASSERT_TRUE(pull(0, 0));   // pulling without a reply: it accepted
  tick();
  EXPECT_EQ(device(id, 0).state, S::Downloading);
  EXPECT_EQ(device(id, 0).offer_result, 0);
  status(0, 3, 2500);
  tick();
  ASSERT_EQ(offered_to(offers()), (std::vector<int>{1, 2}));

  // One of stage 2's four fails to boot the image: 1 of 4 is more than 10 %.
  status(1, 5, 0);
  tick();
  auto r = ota.rollout(id);
  EXPECT_EQ(device(id, 1).state, S::RolledBack);
  EXPECT_EQ(device(id, 1).error, "boot_failed");
  EXPECT_EQ(r->state, RolloutState::Paused);
  EXPECT_EQ(r->pause_reason, "health gate: 1 of 4 devices failed in stage 2 (more than 10 %)");
  tick();
  EXPECT_TRUE(offers().empty());   // nothing new while paused, though there is room
  EXPECT_EQ(ota.pause(id, "key:test").refusal.code, "not_running");

  auto res = ota.resume(id, "key:test");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->state, RolloutState::Running);
  EXPECT_FALSE(res->pause_reason);
  EXPECT_EQ(res->failed_accepted, 1);
  EXPECT_EQ(ota.resume(id, "key:test").refusal.code, "not_paused");
  tick();
  EXPECT_EQ(offered_to(offers()), std::vector<int>{3});   // device 2 still in flight: one place
  EXPECT_EQ(ota.rollout(id)->state, RolloutState::Running);   // the accepted failure does not trip it again

  // A verify failure is a new failure: 2 of 4.
  status(2, 4, 2500);
  tick();
  EXPECT_EQ(device(id, 2).error, "verify_failed");
  EXPECT_EQ(ota.rollout(id)->state, RolloutState::Paused);

  auto c = ota.cancel(id, "key:test");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->state, RolloutState::Cancelled);
  EXPECT_EQ(c->pause_reason, "cancelled by key:test");
  EXPECT_TRUE(c->finished_at);
  EXPECT_EQ(c->count(S::Cancelled), 5);   // devices 4..8
  EXPECT_EQ(c->count(S::Offered), 1);     // device 3 keeps its offer
  EXPECT_EQ(ota.cancel(id, "key:test").refusal.code, "finished");
  EXPECT_EQ(ota.resume(id, "key:test").refusal.code, "not_paused");
  auto cancelled = ota.rollout_devices(id, S::Cancelled, 100, "");
  ASSERT_EQ(cancelled.size(), 5u);
  EXPECT_EQ(cancelled[0].device_id, devs[4]);
  EXPECT_EQ(ota.rollout_devices(id, S::Cancelled, 2, devs[5]).at(0).device_id, devs[6]);   // paging by device id

  // The charger that was offered before the cancel still gets its chunks and its outcome is recorded.
  EXPECT_TRUE(pull(3, 0));
  status(3, 3, 2500);
  tick();
  EXPECT_EQ(device(id, 3).state, S::Installed);
  EXPECT_TRUE(offers().empty());
  EXPECT_EQ(ota.rollout(id)->state, RolloutState::Cancelled);
}

TEST_P(RolloutPlanner, AnUnansweredOfferIsMadeAgainThenTheDeviceFails) {
  int64_t id = create(1);
  for (int attempt = 1; attempt <= 3; ++attempt) {
    tick();
    ASSERT_EQ(offered_to(offers()), std::vector<int>{0}) << "attempt " << attempt;
    EXPECT_EQ(device(id, 0).attempts, attempt);
    now += 100;   // no reply: the command fails 30 s after it expires
    heartbeat(0, {0, 0, 0, 0, 0, 0, 0, 0, 0, 0});
    tick();
  }
  auto d = device(id, 0);
  EXPECT_EQ(d.state, S::Failed);
  EXPECT_EQ(d.error, "no_answer (no reply)");
  // The gate: 1 failure of stage 1's one device.
  EXPECT_EQ(ota.rollout(id)->state, RolloutState::Paused);
}

INSTANTIATE_TEST_SUITE_P(Databases, RolloutPlanner, ::testing::Values(sql::Dialect::Sqlite, sql::Dialect::Postgres), db_name);
