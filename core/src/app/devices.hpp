// Devices through their life: registering one with its credentials and plan, enabling,
// deleting, new tokens; what boots, heartbeats and online changes record. Credential changes bump the
// credentials revision in the same transaction (the fleet adapter pushes them to the broker plugin).
#pragma once
#include "app/repos.hpp"
#include "chargehub/result.hpp"

namespace chargehub::core {

class Devices {
 public:
  explicit Devices(Repos& r) : r_(r) {}

  Result<Device> create(const NewDevice& d, int64_t now);
  // Reads and changes for the API take the caller's scope; a device outside it is device_not_found.
  std::optional<Device> get(const Scope& scope, const std::string& id);
  std::vector<Device> list(const Scope& scope, int64_t limit, const std::string& after_id);
  Page<Device> page(const Scope& scope, const DeviceFilter& f, const PageRequest& p);
  Result<Device> assign_plan(const Scope& scope, const std::string& id, int64_t plan_id);
  Result<Device> set_enabled(const Scope& scope, const std::string& id, bool enabled);
  Result<Device> set_lifecycle(const Scope& scope, const std::string& id, const std::string& lifecycle);
  // Marked deleted (kept for history); its credentials stop working.
  Result<Device> remove(const Scope& scope, const std::string& id, int64_t now);
  // A new token hash; the old one stays valid until now + grace_s (0: refused at once).
  Result<Device> rotate_token(const Scope& scope, const std::string& id, const std::string& token_hash, int64_t grace_s, int64_t now);

  // From the fleet.
  bool booted(const std::string& id, const proto::Login& boot, int64_t now);
  void heartbeat(const std::string& id, const proto::Heartbeat& hb, int64_t now);
  void online(const std::string& id, bool online, int64_t now);
  std::vector<std::string> mark_silent_offline(int64_t before);
  std::vector<std::string> online_ids();

  // For the broker plugin: every live device's credentials and the revision they are at.
  struct Credentials {
    int64_t rev = 0;
    std::vector<DeviceCredential> devices;
  };
  Credentials credentials();
  std::pair<int64_t, std::optional<DeviceCredential>> credential_at_rev(const std::string& id);
  int64_t credentials_rev();

 private:
  Result<Device> reload(const std::string& id);
  Repos& r_;
};

}  // namespace chargehub::core
