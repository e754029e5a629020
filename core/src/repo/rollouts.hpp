// Rollouts and their devices (migration 003, `rollout` and `rollout_device`): rows in, rows out, the
// device counts per state, and the two reads that join the device table (offer candidates, stalled
// downloads). No decisions here: core/src/app/ota.cpp and its pure `rollout::` rules decide.
#pragma once
#include <boost/json.hpp>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "chargehub/states.hpp"
#include "db/db.hpp"

namespace chargehub::core {

struct RolloutRow {
  int64_t id = 0, firmware_id = 0;
  std::string target_kind;              // model | devices | station | agent
  boost::json::value target;
  std::vector<int> stages;              // cumulative percentages
  int stage = 0;                        // index into stages
  int max_failure_pct = 10, max_concurrent = 10;
  int64_t failed_accepted = 0;
  RolloutState state = RolloutState::Running;
  std::optional<std::string> pause_reason;
  std::string created_by;
  int64_t created_at = 0, updated_at = 0;
  std::optional<int64_t> finished_at;
  // Its devices: how many in all and in each state (every state present, 0 when none).
  int64_t total = 0;
  std::map<RolloutDeviceState, int64_t> counts;
  int64_t count(RolloutDeviceState s) const {
    auto it = counts.find(s);
    return it == counts.end() ? 0 : it->second;
  }
};

struct NewRollout {
  int64_t firmware_id = 0;
  std::string target_kind;
  boost::json::value target;
  std::vector<int> stages;
  int max_failure_pct = 10, max_concurrent = 10;
  RolloutState state = RolloutState::Running;
  std::string created_by;
};

struct RolloutDeviceRow {
  int64_t rollout_id = 0;
  std::string device_id;
  int64_t seq = 0;
  std::optional<int64_t> stage;         // index of the stage that started it; none while never offered
  RolloutDeviceState state = RolloutDeviceState::Pending;
  std::optional<std::string> from_fw;
  int64_t bytes = 0;
  std::optional<std::string> command_id;
  std::optional<int64_t> offer_result;
  int64_t attempts = 0;
  std::optional<std::string> error;
  std::optional<int64_t> offered_at;
  int64_t updated_at = 0;
  std::optional<int64_t> finished_at;
};

// A device's latest offer: the rollout and firmware to serve it.
struct LatestOffer {
  int64_t rollout_id = 0, firmware_id = 0;
  RolloutDeviceState state = RolloutDeviceState::Pending;
};

// A pending device that may be offered now, with what its device row says it runs.
struct OfferCandidate {
  std::string device_id;
  std::optional<int64_t> model;
  std::optional<std::string> fw;
};

class RolloutRepo {
 public:
  explicit RolloutRepo(sql::Db& db) : db_(db) {}

  // ---- rollouts ----
  int64_t next_id();   // the id the next rollout will most likely get (max + 1)
  int64_t insert(const NewRollout& r, int64_t now);   // returns its id
  std::optional<RolloutRow> get(int64_t id);          // with its counts
  std::vector<int64_t> newest_ids(int64_t limit);
  // Rollouts in `state`, and those in one of `waiting` that still have a device in one of `devices`.
  std::vector<int64_t> ids_to_watch(RolloutState state, const std::vector<RolloutState>& waiting,
                                    const std::vector<RolloutDeviceState>& devices);
  void pause(int64_t id, const std::string& reason, int64_t now);
  void resume(int64_t id, int64_t failed_accepted, int64_t now);   // pause_reason cleared
  void cancel(int64_t id, const std::string& reason, int64_t now);
  void complete(int64_t id, int64_t now);
  void next_stage(int64_t id, int64_t now);   // failed_accepted back to 0

  // ---- its devices ----
  void insert_device(const RolloutDeviceRow& d);
  std::optional<RolloutDeviceState> device_state(int64_t rollout_id, const std::string& device_id);
  std::optional<int64_t> seq_of(int64_t rollout_id, const std::string& device_id);
  // In rollout order, after `after_seq`, optionally only those in one state.
  std::vector<RolloutDeviceRow> devices(int64_t rollout_id, std::optional<RolloutDeviceState> state, int64_t after_seq,
                                        int64_t limit);
  // Devices the given stage started, per state.
  std::map<RolloutDeviceState, int64_t> stage_counts(int64_t rollout_id, int64_t stage);
  // Devices in `state` that already have a stage (started, then set back).
  int64_t count_with_stage(int64_t rollout_id, RolloutDeviceState state);
  // Devices in `state` with an offer sent (a command id) and no reply recorded yet.
  std::vector<RolloutDeviceRow> awaiting_reply(int64_t rollout_id, RolloutDeviceState state);
  bool has_command(int64_t rollout_id, const std::string& device_id, RolloutDeviceState state, const std::string& command_id);
  // The device's most recently offered row (of any rollout) in one of `states`, or pending with an
  // offer made before (set back; it may still be pulling).
  std::optional<LatestOffer> latest_offer(const std::string& device_id, const std::vector<RolloutDeviceState>& states);

  // error, bytes and finished_at are kept when not given.
  void set_state(int64_t rollout_id, const std::string& device_id, RolloutDeviceState state, const std::optional<std::string>& error,
                 std::optional<int64_t> bytes, std::optional<int64_t> finished_at, int64_t now);
  // As set_state, and the offer's command is forgotten (the device gives its place back).
  void release(int64_t rollout_id, const std::string& device_id, RolloutDeviceState state, const std::optional<std::string>& error,
               std::optional<int64_t> finished_at, int64_t now);
  void set_offer_result(int64_t rollout_id, const std::string& device_id, int64_t result, int64_t now);
  void set_offer_result_if_none(int64_t rollout_id, const std::string& device_id, int64_t result);
  // An offer goes out: state, stage (kept once set), attempts + 1, offered_at; command id and result cleared.
  void mark_offered(int64_t rollout_id, const std::string& device_id, RolloutDeviceState state, int64_t stage,
                    const std::optional<std::string>& from_fw, int64_t now);
  void set_command(int64_t rollout_id, const std::string& device_id, const std::string& command_id);
  // Every device in state `from` moves to `to` (finished at now).
  void finish_all(int64_t rollout_id, RolloutDeviceState from, RolloutDeviceState to, int64_t now);

  // ---- reads that join the device and port tables (DeviceRepo answers one device at a time) ----
  // Up to `limit` devices in state `pending` of this rollout whose device is live, online and enabled,
  // with no port in `busy` port state, and not in one of `elsewhere` in another rollout; those with a
  // stage first (set back for another offer), then in rollout order.
  std::vector<OfferCandidate> offer_candidates(int64_t rollout_id, RolloutDeviceState pending, int64_t busy,
                                               const std::vector<RolloutDeviceState>& elsewhere, int64_t limit);
  // Devices in one of `states` not updated since `before` whose device is offline.
  std::vector<RolloutDeviceRow> offline_since(int64_t rollout_id, const std::vector<RolloutDeviceState>& states, int64_t before);

 private:
  sql::Db& db_;
};

}  // namespace chargehub::core
