// Firmware over the air in the core (issue 9, docs/ota.md): the firmware registry (signed images,
// checked against the platform's public key) and rollouts in stages with a health gate.
//
//   core::Ota ota(svc, link, {.db = "core.db", .dir = "core.db.firmware", .pubkey = key});
//   svc.set_ota(&ota);     // the service hands it up/ota, boots, heartbeats, online changes, ticks
//   api::mount_ota(srv, ota);
//
// The decisions (stage sizes, the gate, how many to offer) are the pure functions of `rollout::`;
// the class around them keeps state in its own SQLite connection (tables of migration 003) and images
// on disk, one file per image named by its SHA-256.
#pragma once
#include <boost/json.hpp>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "chargehub/ota/firmware.hpp"
#include "service.hpp"
#include "db/db.hpp"

namespace chargehub::core {

// ---- the pure rollout rules -------------------------------------------------------------------
namespace rollout {

// Stages are cumulative percentages of the target, strictly increasing, the last one 100.
bool valid_stages(const std::vector<int>& pct);
// How many devices each stage starts (new ones, not cumulative); sums to n. A stage gets at least one
// device while devices remain, so "1 %" of 20 chargers is one charger, not none.
std::vector<int64_t> stage_quotas(int64_t n, const std::vector<int>& pct);

// Where one stage stands.
struct StageView {
  int stage = 0, stages = 1;        // index of the current stage, number of stages
  int64_t quota = 0;                // devices this stage starts
  int64_t started = 0;              // devices started in this stage so far
  int64_t in_flight = 0;            // offered, downloading or verified (any stage)
  int64_t retry = 0;                // started, waiting to be offered again (a lost or refused offer)
  int64_t failed = 0;               // failed or rolled back in this stage
  int64_t failed_accepted = 0;      // failures an operator accepted by resuming (not counted again)
  int64_t pending = 0;              // devices never started
  int max_failure_pct = 10;         // the gate: pause when failures pass this share of the quota
  int max_concurrent = 10;          // at most this many in flight
};

enum class Verdict { Offer, Wait, Advance, Pause, Complete };
struct Decision {
  Verdict verdict = Verdict::Wait;
  int64_t offers = 0;               // how many more devices to start now (Verdict::Offer)
  std::string reason;               // why it paused
};
// The gate trips when failures (less those accepted) exceed max_failure_pct % of the stage's quota.
bool gate_tripped(const StageView& s);
Decision decide(const StageView& s);

}  // namespace rollout

// ---- the registry and rollouts ----------------------------------------------------------------
struct OtaConfig {
  std::string dir;                      // image files
  std::optional<firmware::PublicKey> pubkey;   // uploads refused without it
  int64_t max_offer_attempts = 3;       // then the device fails with "no_answer"
  int64_t stall_timeout_s = 600;        // offline mid-download this long: pending again (failed "stalled" after max attempts)
};

struct FirmwareRow {
  int64_t id = 0;
  firmware::Manifest manifest;
  std::string file, created_by;
  int64_t created_at = 0;
};

struct RolloutRow {
  int64_t id = 0, firmware_id = 0;
  std::string target_kind;              // model | devices | station | agent
  boost::json::value target;
  std::vector<int> stages;
  int stage = 0;
  int max_failure_pct = 10, max_concurrent = 10;
  int64_t failed_accepted = 0;
  std::string state;                    // running | paused | cancelled | completed
  std::optional<std::string> pause_reason;
  std::string created_by;
  int64_t created_at = 0, updated_at = 0;
  std::optional<int64_t> finished_at;
  int64_t total = 0;
  std::map<std::string, int64_t> counts;   // devices per state
};

struct RolloutRequest {
  int64_t firmware_id = 0;
  std::string target_kind;
  boost::json::value target;            // {"model":1} | {"devices":[...]} | {"station":"…"} | {"agent":"…"}
  std::vector<int> stages{1, 10, 100};
  int max_failure_pct = 10;
  int max_concurrent = 10;
  std::string created_by;
};

class Ota : public OtaHooks {
 public:
  Ota(Service& svc, Publisher& pub, OtaConfig cfg);
  ~Ota() override;

  // ---- registry ----
  // Checks the image against its manifest and the platform key, then stores it.
  Result<FirmwareRow> add_firmware(const firmware::Package& p, const std::string& by);
  std::vector<FirmwareRow> firmware_list();
  std::optional<FirmwareRow> firmware(int64_t id);

  // ---- rollouts ----
  Result<RolloutRow> create_rollout(const RolloutRequest& r);
  std::optional<RolloutRow> rollout(int64_t id);
  std::vector<RolloutRow> rollouts(int64_t limit);
  Result<RolloutRow> pause(int64_t id, const std::string& by);
  Result<RolloutRow> resume(int64_t id, const std::string& by);
  Result<RolloutRow> cancel(int64_t id, const std::string& by);
  // Devices of a rollout with their progress; state filter optional.
  boost::json::array rollout_devices(int64_t id, const std::string& state, int64_t limit, const std::string& after);
  bool has_key() const { return cfg_.pubkey.has_value(); }

  // ---- OtaHooks (called by the service's threads) ----
  void on_ota_message(const std::string& device, const boost::json::value& v) override;
  void on_boot(const std::string& device, const std::string& fw) override;
  void on_heartbeat(const std::string& device, const std::vector<uint8_t>& port_states) override;
  void on_online(const std::string& device, bool online) override;
  void tick() override;

  struct Stats {
    uint64_t chunks_served = 0, bytes_served = 0, chunk_requests_unknown = 0, offers_sent = 0, statuses = 0;
  };
  Stats stats();

 private:
  struct Active {   // a device with a download in flight: what to serve it
    int64_t rollout_id = 0, firmware_id = 0;
    std::string state;
  };
  // What the hooks saw, applied to the tables by tick(): the hooks run inside the fleet adapter's transaction
  // on the service's worker thread, so they never write to the database themselves.
  struct Event {
    enum Kind { Pulling, Status, Boot } kind;
    std::string device;
    Active active;
    proto::OtaStatus status;
    std::string fw;
  };
  void serve_chunk(const std::string& device, uint32_t offset, uint32_t length);
  std::optional<Active> active_for(const std::string& device);
  std::optional<FirmwareRow> load_firmware(int64_t id);
  void apply(const Event& e);
  void set_device_state(int64_t rollout_id, const std::string& device, const std::string& state,
                        std::optional<std::string> error, std::optional<int64_t> bytes);
  void check_offers(int64_t id);
  void step_rollout(int64_t id);
  int fd_of(const FirmwareRow& f);
  std::optional<RolloutRow> load_rollout(int64_t id);
  int64_t now() const { return svc_.now(); }

  // Locking (docs/ota.md "Threads"): the service calls the hooks while holding the connection's lock, and
  // the connection is used from tick() and the API; so Ota never calls the service while it
  // holds mu_ or rd_mu_, and mem_mu_ is a leaf (nothing else is taken or called while it is held).
  Service& svc_;
  Publisher& pub_;
  OtaConfig cfg_;
  std::recursive_mutex mu_;   // the planner and the API
  sql::Db& db_;               // the core's connection (its own mutex; hooks run inside the service's transactions)
  std::mutex mem_mu_;         // the in-memory state below
  std::map<std::string, Active> active_;
  std::map<int64_t, int> fds_;
  std::map<int64_t, FirmwareRow> fw_cache_;
  std::vector<Event> events_;
  Stats stats_;
};

}  // namespace chargehub::core
