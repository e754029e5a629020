// Rollouts through the real stack: the core offers signed firmware over MQTT, the bridge turns it into
// frames, simulated chargers pull, verify, install and reboot. One rule per test.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>
#include <thread>

#include "db/db.hpp"
#include "fixture.hpp"

using namespace chargehub;
using namespace chargehub::otatest;

namespace {
int64_t count(const json::object& r, const char* state) { return r.at("counts").as_object().at(state).as_int64(); }
const char* kFleetEnv = "CHARGEHUB_OTA_FLEET";
}  // namespace

// ---- the registry ----

TEST(OtaRegistry, UploadsAreCheckedAgainstThePlatformKey) {
  Site site("ota-registry");
  auto good = site.package(image(5000));
  auto r = site.upload(good);
  ASSERT_EQ(r.status, 201) << json::serialize(r.body);
  EXPECT_EQ(r.obj().at("version").as_string(), "1.1.0");
  EXPECT_EQ(r.obj().at("sha256").as_string(), firmware::hex(good.manifest.sha256));
  // The same model and version again.
  EXPECT_EQ(site.upload(good).status, 409);
  // An image that does not match its hash.
  auto bad_hash = site.package(image(5000), {1, 2, 0});
  bad_hash.image[10] ^= 1;
  r = site.upload(bad_hash);
  EXPECT_EQ(r.status, 422);
  EXPECT_EQ(r.obj().at("error").as_string(), "hash_mismatch");
  // Signed with another key.
  auto other = firmware::generate_key();
  auto forged = firmware::make_package(image(5000), {1, {1, 3, 0}, {1, 0, 0}, "", 0}, other.priv);
  r = site.upload(forged);
  EXPECT_EQ(r.status, 422);
  EXPECT_EQ(r.obj().at("error").as_string(), "bad_signature");
  // Not a package; no API key.
  EXPECT_EQ(site.stack->api_raw("POST", "/firmware", "{\"manifest\":{}}", "application/json", site.stack->api_key()).status, 400);
  EXPECT_EQ(site.stack->api_raw("POST", "/firmware", firmware::package_to_json(good), "application/json", "wrong").status, 401);
  auto list = site.stack->api("GET", "/firmware").obj().at("items").as_array();
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0].as_object().at("version").as_string(), "1.1.0");
}

TEST(OtaRegistry, AFourMebibyteImageIsTheLimit) {
  Site site("ota-limit");
  auto big = site.package(image(firmware::kMaxImage));
  EXPECT_EQ(site.upload(big).status, 201);
  // One byte more is refused before it is parsed (the body is over the route's limit or the package's).
  auto p = site.package(image(100), {1, 4, 0});
  std::string body = firmware::package_to_json(p);
  body.insert(body.size() - 2, std::string(6 << 20, 'A'));
  auto r = site.stack->api_raw("POST", "/firmware", body, "application/json", site.stack->api_key());
  EXPECT_EQ(r.status, 413) << json::serialize(r.body);
}

TEST(OtaRegistry, OtherRoutesKeepTheir64KiBBodyLimit) {
  Site site("ota-body-limit");
  auto huge = site.stack->api_raw("POST", "/riders", std::string(2 * 1024 * 1024, 'x'), "application/json", site.stack->api_key());
  EXPECT_EQ(huge.status, 413);
  EXPECT_EQ(huge.obj().at("error").as_string(), "body_too_large");
  auto ok = site.stack->api("POST", "/riders", json::object{{"name", "张三"}});
  EXPECT_EQ(ok.status, 201);
}

TEST(OtaRegistry, RolloutsCheckTheirTargetStagesAndFirmware) {
  Site site("ota-rollout-args");
  site.add_devices(2);
  int64_t fw = site.upload_ok(site.package(image(3000)));
  auto bad = [&](json::object b, int status, const char* code) {
    auto r = site.create_rollout(std::move(b));
    EXPECT_EQ(r.status, status) << json::serialize(r.body);
    if (r.body.is_object()) {
      EXPECT_EQ(r.obj().at("error").as_string(), code);
    }
  };
  bad({{"firmware_id", 99}, {"target", {{"model", 1}}}}, 404, "firmware_not_found");
  bad({{"firmware_id", fw}, {"target", {{"model", 2}}}}, 422, "model_mismatch");
  bad({{"firmware_id", fw}, {"target", {{"model", 1}}}, {"stages", {10, 50}}}, 400, "bad_stages");
  bad({{"firmware_id", fw}, {"target", {{"devices", {"999"}}}}}, 404, "device_not_found");
  bad({{"firmware_id", fw}, {"target", {{"planet", "mars"}}}}, 400, "bad_target");
  // Station and agent targets take the devices placed there; an agent's include its sub-agents'. The
  // agents and the station are inserted by SQL (their use cases are elsewhere): agent 7 (first level)
  // with agent 8 under it; device 1 at station 5, run by agent 8.
  {
    auto db = core::sql::open(site.stack->db_url());
    db->exec("INSERT INTO agent (id, parent_id, level, name, created_at, updated_at) VALUES (7, NULL, 1, 'A', 0, 0), "
             "(8, 7, 2, 'B', 0, 0), (9, NULL, 1, 'C', 0, 0)");
    db->exec("INSERT INTO station (id, agent_id, name, created_at, updated_at) VALUES (5, 8, '东门车棚', 0, 0)");
    db->prepare("UPDATE device SET station_id = 5, agent_id = 8 WHERE id = ?").args(site.devices[1]).run();
  }
  auto shown = site.stack->api("GET", "/devices/" + site.devices[1]);
  ASSERT_EQ(shown.status, 200);
  EXPECT_EQ(shown.obj().at("station_id").as_int64(), 5) << json::serialize(shown.body);
  bad({{"firmware_id", fw}, {"target", {{"station", "东门车棚"}}}}, 400, "bad_target");
  auto st = site.create_rollout({{"firmware_id", fw}, {"target", {{"station", 5}}}});
  ASSERT_EQ(st.status, 201) << json::serialize(st.body);
  EXPECT_EQ(st.obj().at("state").as_string(), "running");
  EXPECT_EQ(st.obj().at("total").as_int64(), 1);
  auto devs = site.stack->api("GET", "/rollouts/" + std::to_string(st.obj().at("id").as_int64()) + "/devices");
  EXPECT_NE(json::serialize(devs.body).find(site.devices[1]), std::string::npos) << json::serialize(devs.body);
  auto ag = site.create_rollout({{"firmware_id", fw}, {"target", {{"agent", 7}}}});
  ASSERT_EQ(ag.status, 201) << json::serialize(ag.body);
  EXPECT_EQ(ag.obj().at("total").as_int64(), 1);
  auto none = site.create_rollout({{"firmware_id", fw}, {"target", {{"agent", 9}}}});
  ASSERT_EQ(none.status, 201) << json::serialize(none.body);
  EXPECT_EQ(none.obj().at("total").as_int64(), 0);
}

// ---- rollouts to simulated chargers ----

// 100 simulated chargers (one chargehub-sim process each; the simulator's fleet mode has no platform key
// option yet), about 25 s on 2 cores. CHARGEHUB_OTA_FLEET=N runs another size.
TEST(OtaRollout, AHundredChargersAreUpgradedInStagesThroughBridgeAndBroker) {
  int n = 100;
  if (const char* e = std::getenv(kFleetEnv)) n = std::max(3, std::atoi(e));
  Site site("ota-fleet");
  site.add_devices(n);
  site.start_bridge();
  for (int i = 0; i < n; ++i) site.start_sim(static_cast<size_t>(i), {"-q"});
  ASSERT_TRUE(site.wait_online(static_cast<size_t>(n), std::chrono::seconds(60))) << site.logs();
  auto pkg = site.package(image(24 * 1024));
  int64_t fw = site.upload_ok(pkg);
  auto c = site.create_rollout({{"firmware_id", fw}, {"target", {{"model", 1}}}, {"stages", {5, 25, 100}},
                                {"max_failure_pct", 10}, {"max_concurrent", 8}});
  ASSERT_EQ(c.status, 201) << json::serialize(c.body);
  int64_t id = c.obj().at("id").as_int64();
  EXPECT_EQ(c.obj().at("total").as_int64(), n);
  // Never more than max_concurrent in flight, and stages in order.
  int64_t peak = 0;
  bool done = wait_until([&] {
    auto r = site.rollout(id);
    peak = std::max(peak, count(r, "offered") + count(r, "downloading") + count(r, "verified"));
    return r.at("state").as_string() == "completed";
  }, std::chrono::seconds(120));
  auto r = site.rollout(id);
  ASSERT_TRUE(done) << json::serialize(r) << site.logs();
  EXPECT_EQ(count(r, "installed"), n) << json::serialize(r);
  EXPECT_EQ(r.at("failures").as_int64(), 0);
  EXPECT_LE(peak, 8);
  // Stage sizes: 5 % then 25 % of the fleet (at least one each), then the rest.
  std::map<int64_t, int> per_stage;
  for (auto& d : site.rollout_devices(id)) {
    auto& o = d.as_object();
    per_stage[o.at("stage").as_int64()]++;
    EXPECT_EQ(o.at("from_fw").as_string(), "1.0.0");
    EXPECT_EQ(o.at("bytes").as_int64(), 24 * 1024);
  }
  int64_t s1 = std::max<int64_t>(1, (n * 5 + 99) / 100), s2 = std::max<int64_t>(s1 + 1, (n * 25 + 99) / 100) - s1;
  EXPECT_EQ(per_stage[1], s1);
  EXPECT_EQ(per_stage[2], s2);
  EXPECT_EQ(per_stage[3], n - s1 - s2);
  // The chargers run the new version now (their boot reports).
  for (auto& d : site.devices) EXPECT_EQ(site.stack->api("GET", "/devices/" + d).obj().at("fw").as_string(), "1.1.0");
  auto stats = site.stack->api("GET", "/ota/stats").obj();
  EXPECT_GE(stats.at("chunks_served").as_int64(), n * 25);
}

TEST(OtaRollout, ABrokenDownloadResumesFromTheLastGoodOffset) {
  Site site("ota-resume");
  site.add_devices(1);
  site.start_bridge();
  auto journal = site.dir / "journal";
  fs::create_directories(journal);
  auto& sim = site.start_sim(0, {"--journal-dir", journal.string()});
  ASSERT_TRUE(site.wait_online(1)) << site.logs();
  const int size = 200 * 1000;
  int64_t fw = site.upload_ok(site.package(image(size)));
  int64_t id = site.create_rollout({{"firmware_id", fw}, {"target", {{"devices", {site.devices[0]}}}}, {"stages", {100}}})
                   .obj().at("id").as_int64();
  // A power cut in the middle of the download.
  ASSERT_TRUE(wait_until([&] { return site.stack->api("GET", "/ota/stats").obj().at("chunks_served").as_int64() >= 60; },
                         std::chrono::seconds(30))) << site.logs();
  sim.kill9();
  int64_t served_before = site.stack->api("GET", "/ota/stats").obj().at("chunks_served").as_int64();
  ASSERT_LT(served_before, size / 1000) << "the download finished before the cut; make the image bigger";
  std::this_thread::sleep_for(std::chrono::seconds(1));
  site.start_sim(0, {"--journal-dir", journal.string()});
  auto r = site.wait_rollout(id, "completed", std::chrono::seconds(60));
  ASSERT_EQ(r.at("state").as_string(), "completed") << json::serialize(r) << site.logs(2);
  EXPECT_EQ(count(r, "installed"), 1);
  // Resumed, not restarted: about size/1000 chunks in all (a few re-requested around the cut).
  int64_t served = site.stack->api("GET", "/ota/stats").obj().at("chunks_served").as_int64();
  EXPECT_LE(served, size / 1000 + 5) << "served " << served << " chunks, " << served_before << " before the cut";
  EXPECT_EQ(site.stack->api("GET", "/devices/" + site.devices[0]).obj().at("fw").as_string(), "1.1.0");
}

TEST(OtaRollout, ACorruptedChunkIsCaughtByTheChargersHash) {
  Site site("ota-corrupt");
  site.add_devices(1);
  site.start_bridge();
  int64_t fw = site.upload_ok(site.package(image(30000)));
  int64_t id = site.create_rollout({{"firmware_id", fw}, {"target", {{"devices", {site.devices[0]}}}}, {"stages", {100}}})
                   .obj().at("id").as_int64();
  // Bit rot in the registry's copy after the upload was checked: the core serves what is on disk.
  auto file = site.stack->db().string() + ".firmware/" +
              std::string(site.stack->api("GET", "/firmware/" + std::to_string(fw)).obj().at("sha256").as_string()) + ".bin";
  {
    std::fstream f(file, std::ios::in | std::ios::out | std::ios::binary);
    ASSERT_TRUE(f) << file;
    f.seekp(12345);
    char c = 0;
    f.seekg(12345);
    f.get(c);
    f.seekp(12345);
    f.put(static_cast<char>(c ^ 0x40));
  }
  site.start_sim(0);
  ASSERT_TRUE(wait_until([&] { return site.rollout(id).at("failures").as_int64() == 1; }, std::chrono::seconds(30)))
      << json::serialize(site.rollout(id)) << site.logs();
  auto d = site.rollout_devices(id).at(0).as_object();
  EXPECT_EQ(d.at("state").as_string(), "failed");
  EXPECT_EQ(d.at("error").as_string(), "verify_failed");
  EXPECT_EQ(site.stack->api("GET", "/devices/" + site.devices[0]).obj().at("fw").as_string(), "1.0.0");
  EXPECT_NE(site.stack->sim_log(0).find("failed verification"), std::string::npos) << site.logs();
}

TEST(OtaRollout, ABadSignatureIsRefusedByTheCharger) {
  Site site("ota-badsig");
  site.add_devices(1);
  site.start_bridge();
  // This charger was provisioned with another platform key: the core's signature does not verify there.
  auto other = site.dir / "other.pub";
  write_file(other, firmware::public_to_pem(firmware::generate_key().pub));
  site.start_sim(0, {"--firmware-key", other.string()}, false);
  ASSERT_TRUE(site.wait_online(1)) << site.logs();
  int64_t fw = site.upload_ok(site.package(image(8000)));
  int64_t id = site.create_rollout({{"firmware_id", fw}, {"target", {{"model", 1}}}, {"stages", {100}}}).obj().at("id").as_int64();
  auto r = site.wait_rollout(id, "paused", std::chrono::seconds(30));
  ASSERT_EQ(r.at("state").as_string(), "paused") << json::serialize(r) << site.logs();
  auto d = site.rollout_devices(id).at(0).as_object();
  EXPECT_EQ(d.at("state").as_string(), "failed");
  EXPECT_EQ(d.at("error").as_string(), "rejected");
  EXPECT_EQ(d.at("offer_result").as_int64(), 3);
  EXPECT_EQ(site.stack->api("GET", "/ota/stats").obj().at("chunks_served").as_int64(), 0);
  EXPECT_NE(site.stack->sim_log(0).find("bad signature"), std::string::npos);
}

TEST(OtaRollout, AnImageThatFailsToBootRollsBackAndTheGatePausesTheRollout) {
  Site site("ota-rollback");
  site.add_devices(4);
  site.start_bridge();
  // The canary (first in the list) cannot boot the new image.
  site.start_sim(0, {"--ota-boot-fails"});
  for (size_t i = 1; i < 4; ++i) site.start_sim(i);
  ASSERT_TRUE(site.wait_online(4)) << site.logs();
  int64_t fw = site.upload_ok(site.package(image(10000)));
  json::array list;
  for (auto& d : site.devices) list.push_back(json::value(d));
  int64_t id = site.create_rollout({{"firmware_id", fw}, {"target", {{"devices", list}}}, {"stages", {25, 100}},
                                    {"max_failure_pct", 0}})
                   .obj().at("id").as_int64();
  auto r = site.wait_rollout(id, "paused", std::chrono::seconds(40));
  ASSERT_EQ(r.at("state").as_string(), "paused") << json::serialize(r) << site.logs();
  EXPECT_NE(r.at("pause_reason").as_string().find("health gate"), std::string::npos) << json::serialize(r);
  EXPECT_EQ(count(r, "rolled_back"), 1);
  EXPECT_EQ(count(r, "pending"), 3);   // the rest of the fleet was never offered
  auto d = site.rollout_devices(id, "rolled_back").at(0).as_object();
  EXPECT_EQ(d.at("device_id").as_string(), site.devices[0]);
  EXPECT_EQ(d.at("error").as_string(), "boot_failed");
  EXPECT_EQ(site.stack->api("GET", "/devices/" + site.devices[0]).obj().at("fw").as_string(), "1.0.0");
  // The operator looks, accepts the failure and resumes: the others are upgraded.
  ASSERT_EQ(site.stack->api("POST", "/rollouts/" + std::to_string(id) + "/resume").status, 200);
  r = site.wait_rollout(id, "completed", std::chrono::seconds(60));
  ASSERT_EQ(r.at("state").as_string(), "completed") << json::serialize(r) << site.logs(4);
  EXPECT_EQ(count(r, "installed"), 3);
  EXPECT_EQ(count(r, "rolled_back"), 1);
}

TEST(OtaRollout, PauseStopsNewOffersAndCancelLeavesTheRestAlone) {
  Site site("ota-pause");
  site.add_devices(3);
  int64_t fw = site.upload_ok(site.package(image(4000)));
  int64_t id = site.create_rollout({{"firmware_id", fw}, {"target", {{"model", 1}}}, {"stages", {100}}}).obj().at("id").as_int64();
  ASSERT_EQ(site.stack->api("POST", "/rollouts/" + std::to_string(id) + "/pause").status, 200);
  EXPECT_EQ(site.stack->api("POST", "/rollouts/" + std::to_string(id) + "/pause").status, 409);
  site.start_bridge();
  site.start_sim(0);
  ASSERT_TRUE(site.wait_online(1)) << site.logs();
  std::this_thread::sleep_for(std::chrono::seconds(2));
  EXPECT_EQ(count(site.rollout(id), "pending"), 3);   // paused: nobody is offered
  auto c = site.stack->api("POST", "/rollouts/" + std::to_string(id) + "/cancel");
  ASSERT_EQ(c.status, 200);
  EXPECT_EQ(c.obj().at("state").as_string(), "cancelled");
  EXPECT_EQ(count(c.obj(), "cancelled"), 3);
  EXPECT_EQ(site.stack->api("POST", "/rollouts/" + std::to_string(id) + "/resume").status, 409);
}

// ---- the CLI against the real core ----

TEST(OtaCli, UploadAndRolloutCommandsDriveTheApiWithClearExitCodes) {
  Site site("ota-cli");
  site.add_devices(2);
  auto pkg_file = site.dir / "fw.chfw";
  write_file(pkg_file, firmware::package_to_json(site.package(image(6000))));
  write_file(site.dir / "api.key", site.stack->api_key() + "\n");
  std::string api = "http://127.0.0.1:" + std::to_string(site.stack->http_port());
  int n = 0;
  auto ota = [&](std::vector<std::string> args) {
    std::vector<std::string> argv{bin("chargehub-ota").string()};
    argv.insert(argv.end(), args.begin(), args.end());
    if (args[0] == "upload" || args[0] == "rollout") {
      argv.insert(argv.end(), {"--api", api, "--api-key-file", (site.dir / "api.key").string()});
    }
    Process p(argv, site.dir / ("cli" + std::to_string(++n) + ".log"));
    return p.wait();
  };
  auto out = [&] { return read_file(site.dir / ("cli" + std::to_string(n) + ".log")); };
  EXPECT_EQ(ota({"upload", pkg_file.string()}), 0) << out();
  EXPECT_NE(out().find("uploaded: firmware 1"), std::string::npos) << out();
  EXPECT_EQ(ota({"upload", pkg_file.string()}), 8) << out();   // the same version again: refused by the core
  EXPECT_NE(out().find("firmware_exists"), std::string::npos) << out();
  EXPECT_EQ(ota({"rollout", "create", "--firmware", "1", "--devices", site.devices[0] + "," + site.devices[1], "--stages", "50,100"}), 0)
      << out();
  EXPECT_NE(out().find("rollout 1"), std::string::npos) << out();
  EXPECT_EQ(ota({"rollout", "pause", "1"}), 0) << out();
  EXPECT_EQ(ota({"rollout", "show", "1", "--devices"}), 0) << out();
  EXPECT_NE(out().find("paused"), std::string::npos) << out();
  EXPECT_NE(out().find(site.devices[1]), std::string::npos) << out();
  EXPECT_EQ(ota({"rollout", "resume", "1"}), 0) << out();
  EXPECT_EQ(ota({"rollout", "cancel", "1"}), 0) << out();
  EXPECT_EQ(ota({"rollout", "cancel", "1"}), 8) << out();
  EXPECT_EQ(ota({"rollout", "create", "--firmware", "1"}), 1) << out();   // no target
  // Nobody listening there.
  Process p({bin("chargehub-ota").string(), "rollout", "show", "1", "--api", "http://127.0.0.1:1", "--api-key-file",
             (site.dir / "api.key").string()},
            site.dir / "unreachable.log");
  EXPECT_EQ(p.wait(), 9);
}
