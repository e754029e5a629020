// Devices and their ports: rows in, rows out. No decisions here (core/src/app/devices.cpp decides).
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "chargehub/messages.hpp"
#include "chargehub/states.hpp"
#include "db/db.hpp"
#include "repo/page.hpp"
#include "repo/scope.hpp"

namespace chargehub::core {

struct Device {
  std::string id, name;
  std::optional<int64_t> model;
  int64_t ports = 10;
  std::optional<int64_t> hw;
  std::optional<std::string> fw, iccid;
  bool enabled = true;
  Lifecycle lifecycle = Lifecycle::Installed;
  std::optional<int64_t> plan_id;
  bool online = false;
  std::optional<int64_t> last_seen_at, csq, temp_dc, mains_dv, power_w;
  bool has_token = false, has_pubkey = false;
  int64_t created_at = 0;
  std::vector<int64_t> port_states;   // index 0 = port 1 (frames.md port states)
  std::optional<int64_t> station_id, agent_id;   // where it stands, who runs it (null: the platform)
};

struct NewDevice {
  std::string id, name;
  int64_t ports = 10;
  std::optional<int64_t> model;
  std::optional<std::string> token_hash, pubkey;
  Lifecycle lifecycle = Lifecycle::Installed;
};

// What the broker plugin needs to admit a charger (hashes and public keys only).
struct DeviceCredential {
  std::string id;
  std::optional<std::string> token_hash, prev_token_hash, pubkey;
  std::optional<int64_t> prev_token_until;
  bool enabled = true;
};

struct DeviceFilter {
  std::optional<std::string> q;   // part of the id or name
  std::optional<bool> online, enabled;
  std::optional<std::string> lifecycle;
  std::optional<int64_t> station_id, agent_id;
};

class DeviceRepo {
 public:
  explicit DeviceRepo(sql::Db& db) : db_(db) {}

  bool exists_even_deleted(const std::string& id);
  void insert(const NewDevice& d, int64_t now);   // with its ports, all idle
  // Business reads take the caller's scope (device.agent_id within it); the fleet passes Scope::platform().
  std::optional<Device> get(const Scope& scope, const std::string& id);   // not deleted; with port states
  std::vector<Device> list(const Scope& scope, int64_t limit, const std::string& after_id);
  // Sort keys: id (default), created_at, last_seen_at, name. Port states are not loaded.
  Page<Device> page(const Scope& scope, const DeviceFilter& f, const PageRequest& p);
  std::vector<std::string> online_ids();
  // Ids of live devices with this model / at this station / of this agent or its sub-agents, in id order.
  std::vector<std::string> ids_with_model(int64_t model);
  std::vector<std::string> ids_at_station(int64_t station_id);
  std::vector<std::string> ids_of_agent(int64_t agent_id);
  std::optional<proto::PortState> port_state(const std::string& id, int64_t port);
  std::optional<int64_t> model(const std::string& id);   // as the device last reported it

  // Each returns false when no live device has this id.
  bool update_boot(const std::string& id, const proto::Login& b, int64_t now);   // and adds missing ports
  void update_heartbeat(const std::string& id, const proto::Heartbeat& hb, int64_t now);
  void set_online(const std::string& id, bool online, int64_t now);
  std::vector<std::string> mark_silent_offline(int64_t before);
  bool set_plan(const std::string& id, int64_t plan_id);
  bool set_enabled(const std::string& id, bool enabled);
  bool set_lifecycle(const std::string& id, Lifecycle l);
  bool mark_deleted(const std::string& id, int64_t now);   // credentials cleared
  bool set_token(const std::string& id, const std::string& token_hash, int64_t grace_s, int64_t now);

  // Credentials for the broker plugin, and their revision (bumped by every change, in its transaction).
  std::vector<DeviceCredential> credentials();
  std::optional<DeviceCredential> credential(const std::string& id);   // deleted devices: nothing
  // The device's credentials (nothing when deleted or unknown) and the revision they are at, read by
  // one statement so that the two agree.
  std::pair<int64_t, std::optional<DeviceCredential>> credential_at_rev(const std::string& id);
  int64_t bump_credentials_rev();
  int64_t credentials_rev();

 private:
  sql::Db& db_;
};

}  // namespace chargehub::core
