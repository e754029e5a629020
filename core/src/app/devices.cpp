#include "devices.hpp"

namespace chargehub::core {

namespace {
Result<Device> not_found() { return Result<Device>::no("device_not_found", "no device with this id"); }
}  // namespace

Result<Device> Devices::reload(const std::string& id) {
  auto d = r_.devices.get(Scope::platform(), id);   // after a scoped check
  return d ? Result<Device>::ok(*d) : not_found();
}

Result<Device> Devices::create(const NewDevice& d, int64_t now) {
  sql::Tx tx(r_.db);
  if (r_.devices.exists_even_deleted(d.id)) return Result<Device>::no("device_exists", "a device with this id exists already");
  r_.devices.insert(d, now);
  r_.devices.bump_credentials_rev();
  auto out = reload(d.id);
  tx.commit();
  return out;
}

std::optional<Device> Devices::get(const Scope& scope, const std::string& id) {
  sql::Lock lock(r_.db);
  return r_.devices.get(scope, id);
}

Page<Device> Devices::page(const Scope& scope, const DeviceFilter& f, const PageRequest& p) {
  sql::Lock lock(r_.db);
  return r_.devices.page(scope, f, p);
}

std::vector<Device> Devices::list(const Scope& scope, int64_t limit, const std::string& after_id) {
  sql::Lock lock(r_.db);
  return r_.devices.list(scope, limit, after_id);
}

Result<Device> Devices::assign_plan(const Scope& scope, const std::string& id, int64_t plan_id) {
  sql::Tx tx(r_.db);
  if (!r_.devices.get(scope, id)) return not_found();
  if (!r_.plans.exists(plan_id)) return Result<Device>::no("plan_not_found", "no price plan with this id");
  if (!r_.devices.set_plan(id, plan_id)) return not_found();
  auto out = reload(id);
  tx.commit();
  return out;
}

Result<Device> Devices::set_enabled(const Scope& scope, const std::string& id, bool enabled) {
  sql::Tx tx(r_.db);
  if (!r_.devices.get(scope, id)) return not_found();
  if (!r_.devices.set_enabled(id, enabled)) return not_found();
  r_.devices.bump_credentials_rev();
  auto out = reload(id);
  tx.commit();
  return out;
}

Result<Device> Devices::set_lifecycle(const Scope& scope, const std::string& id, const std::string& lifecycle) {
  auto l = parse_lifecycle(lifecycle);
  if (!l) return Result<Device>::no("bad_lifecycle", "lifecycle must be not_produced, in_stock, not_installed or installed");
  sql::Tx tx(r_.db);
  if (!r_.devices.get(scope, id)) return not_found();
  if (!r_.devices.set_lifecycle(id, *l)) return not_found();
  auto out = reload(id);
  tx.commit();
  return out;
}

Result<Device> Devices::remove(const Scope& scope, const std::string& id, int64_t now) {
  sql::Tx tx(r_.db);
  auto d = r_.devices.get(scope, id);
  if (!d || !r_.devices.mark_deleted(id, now)) return not_found();
  r_.devices.bump_credentials_rev();
  tx.commit();
  return Result<Device>::ok(*d);
}

Result<Device> Devices::rotate_token(const Scope& scope, const std::string& id, const std::string& token_hash, int64_t grace_s,
                                     int64_t now) {
  sql::Tx tx(r_.db);
  if (!r_.devices.get(scope, id)) return not_found();
  if (!r_.devices.set_token(id, token_hash, grace_s, now)) return not_found();
  r_.devices.bump_credentials_rev();
  auto out = reload(id);
  tx.commit();
  return out;
}

bool Devices::booted(const std::string& id, const proto::Login& boot, int64_t now) {
  sql::Tx tx(r_.db);
  bool known = r_.devices.update_boot(id, boot, now);   // unknown: the broker should not have let it in
  tx.commit();
  return known;
}

void Devices::heartbeat(const std::string& id, const proto::Heartbeat& hb, int64_t now) {
  sql::Tx tx(r_.db);
  r_.devices.update_heartbeat(id, hb, now);
  tx.commit();
}

void Devices::online(const std::string& id, bool online, int64_t now) {
  sql::Tx tx(r_.db);
  r_.devices.set_online(id, online, now);
  tx.commit();
}

std::vector<std::string> Devices::mark_silent_offline(int64_t before) {
  sql::Tx tx(r_.db);
  auto ids = r_.devices.mark_silent_offline(before);
  tx.commit();
  return ids;
}

std::vector<std::string> Devices::online_ids() {
  sql::Lock lock(r_.db);
  return r_.devices.online_ids();
}

Devices::Credentials Devices::credentials() {
  sql::Tx tx(r_.db);   // the revision and the rows agree
  Credentials c{r_.devices.credentials_rev(), r_.devices.credentials()};
  tx.commit();
  return c;
}

std::pair<int64_t, std::optional<DeviceCredential>> Devices::credential_at_rev(const std::string& id) {
  sql::Lock lock(r_.db);
  return r_.devices.credential_at_rev(id);
}

int64_t Devices::credentials_rev() {
  sql::Lock lock(r_.db);
  return r_.devices.credentials_rev();
}

}  // namespace chargehub::core
