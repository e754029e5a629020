// Firmware over the air in the core (issue 9, docs/ota.md): the firmware registry (signed images,
// checked against the platform's public key) and rollouts in stages with a health gate.
//
//   core::Ota ota(svc, link, {.dir = "core.db.firmware", .pubkey = key});
//   svc.set_ota(&ota);     // the service hands it up/ota, boots, heartbeats, online changes, ticks
//   api::mount_ota(srv, ota);
//
// Three layers, as the other use cases: the decisions (stage sizes, the gate, how many to offer, whom to
// skip) are the pure functions of `rollout::` below; the class Ota is the use case, one transaction per
// operation on the core's connection (SQLite or PostgreSQL); rows go through FirmwareRepo
// (repo/firmware.hpp), RolloutRepo (repo/rollouts.hpp) and the DeviceRepo. Images are files on disk, one
// per image named by its SHA-256.
#pragma once
#include <boost/json.hpp>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "chargehub/ota/firmware.hpp"
#include "db/db.hpp"
#include "repo/firmware.hpp"
#include "repo/rollouts.hpp"
#include "service.hpp"

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

// Why a device is not offered the firmware (its known model and version, as its device row says):
// "model_mismatch", "already_on_version", "below_min_from"; nothing when it may be offered. Unknown
// model or version: offered (the charger itself checks).
std::optional<std::string> skip_reason(std::optional<int64_t> model, const std::optional<std::string>& fw,
                                       const firmware::Manifest& m);

// How a device's row moves on a report from its charger (OTA_STATUS on up/ota, docs/ota.md "Progress"),
// given where it stands: the new state, error and bytes, or nothing when the report changes nothing
// (a report about another version, a finished device, a late "downloading" after "verified").
struct Progress {
  RolloutDeviceState state = RolloutDeviceState::Pending;
  std::optional<std::string> error;
  std::optional<int64_t> bytes;
};
std::optional<Progress> progress(RolloutDeviceState cur, const proto::OtaStatus& st, const firmware::Manifest& m);
// ... a boot reporting version `fw` (the new version is success; OTA_STATUS 3 may follow).
std::optional<Progress> progress_on_boot(RolloutDeviceState cur, const std::string& fw, const firmware::Manifest& m);
// ... chunk requests from a device offered the firmware (it accepted; its reply may be late or lost).
std::optional<Progress> progress_on_pull(RolloutDeviceState cur);
// ... the charger's reply to the offer (frames.md OTA_OFFER: 0 accepted, 1 busy, 2 already on it, 3
// rejected). Busy: nothing (it pulls once no port charges).
std::optional<Progress> progress_on_offer_reply(int64_t result);
// A device whose state is final: installed, failed, rolled back, skipped or cancelled.
bool finished(RolloutDeviceState s);

}  // namespace rollout

// ---- the registry and rollouts ----------------------------------------------------------------
struct OtaConfig {
  std::string dir;                      // image files
  std::optional<firmware::PublicKey> pubkey;   // uploads refused without it
  int64_t max_offer_attempts = 3;       // then the device fails with "no_answer"
  int64_t stall_timeout_s = 600;        // offline mid-download this long: pending again (failed "stalled" after max attempts)
};

struct RolloutRequest {
  int64_t firmware_id = 0;
  std::string target_kind;
  boost::json::value target;            // {"model":1} | {"devices":[...]} | {"station":<id>} | {"agent":<id>} (its sub-agents' too)
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
  // Devices of a rollout with their progress, in rollout order, after the device `after` (empty: from
  // the first); state filter optional.
  std::vector<RolloutDeviceRow> rollout_devices(int64_t id, std::optional<RolloutDeviceState> state, int64_t limit,
                                                const std::string& after);
  bool has_key() const { return cfg_.pubkey.has_value(); }

  // ---- OtaHooks (called by the service's threads) ----
  void on_ota_message(const std::string& device, const boost::json::value& v) override;
  void on_boot(const std::string& device, const std::string& fw) override;
  void on_heartbeat(const std::string& device, const std::vector<uint8_t>& port_states) override;
  void on_online(const std::string& device, bool online) override;
  void tick(bool housekeeping) override;   // the planner runs only when `housekeeping` (the leading instance)

  struct Stats {
    uint64_t chunks_served = 0, bytes_served = 0, chunk_requests_unknown = 0, offers_sent = 0, statuses = 0;
  };
  Stats stats();

 private:
  struct Active {   // a device with a download in flight: what to serve it
    int64_t rollout_id = 0, firmware_id = 0;
    RolloutDeviceState state = RolloutDeviceState::Pending;
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
  void apply(const Event& e);
  void set_device_state(int64_t rollout_id, const std::string& device, const rollout::Progress& p);
  void check_offers(int64_t id);
  void step_rollout(int64_t id);
  int fd_of(const FirmwareRow& f);
  int64_t now() const { return svc_.now(); }

  // Locking (docs/ota.md, "In the core", threads and locks): the service calls the hooks on its worker thread inside its
  // transaction, i.e. holding the connection's (recursive) mutex, so the hooks never take mu_; the
  // planner and the API take mu_ first, then the connection's mutex (sql::Tx, sql::Lock). Ota never calls
  // the service while it holds mu_, and mem_mu_ is a leaf (nothing else is taken or called while it is
  // held).
  Service& svc_;
  Publisher& pub_;
  OtaConfig cfg_;
  std::recursive_mutex mu_;   // the planner and the API's changes
  sql::Db& db_;               // the core's connection, shared with the other use cases
  FirmwareRepo firmware_;
  RolloutRepo rollouts_;
  DeviceRepo& devices_;
  std::mutex mem_mu_;         // the in-memory state below
  std::map<std::string, Active> active_;
  std::map<int64_t, int> fds_;
  std::map<int64_t, FirmwareRow> fw_cache_;
  std::vector<Event> events_;
  Stats stats_;
};

}  // namespace chargehub::core
