#include "auth.hpp"

#include <cstring>

#include "chargehub/credentials.hpp"

namespace chargehub::auth {
namespace {

LoginResult refuse(Refusal r, Role role = Role::none) { return {r, role, {}}; }

LoginResult check_token(const credentials::TokenPassword& p, const DeviceRecord& d, std::int64_t now_ms) {
  if (!d.token_hash && !d.prev_token_hash) return refuse(Refusal::no_credential, Role::charger);
  Digest h = sha256(p.token);
  // Compare against both (when present) so the time taken does not tell which one matched.
  bool cur = d.token_hash && digest_equal(h, *d.token_hash);
  bool prev = d.prev_token_hash && now_ms / 1000 < d.prev_token_until && digest_equal(h, *d.prev_token_hash);
  if (cur) return {Refusal::none, Role::charger, {CredentialKind::token, h, 0}};
  if (prev) return {Refusal::none, Role::charger, {CredentialKind::prev_token, h, 0}};
  return refuse(Refusal::bad_token, Role::charger);
}

LoginResult check_ed25519(const credentials::Ed25519Password& p, std::string_view id, const DeviceRecord& d,
                          const ReplayGuard& replay, const LoginSettings& s, std::int64_t now_ms) {
  if (!d.pubkey) return refuse(Refusal::no_credential, Role::charger);
  std::int64_t window_ms = s.ed25519_window_s * 1000;
  if (p.unix_ms < now_ms - window_ms || p.unix_ms > now_ms + window_ms)
    return refuse(Refusal::stale_timestamp, Role::charger);
  if (!replay.fresh(id, p.unix_ms)) return refuse(Refusal::replay, Role::charger);
  if (!ed25519_verify(*d.pubkey, p.signature, credentials::ed25519_login_message(id, p.unix_ms)))
    return refuse(Refusal::bad_signature, Role::charger);
  return {Refusal::none, Role::charger, {CredentialKind::ed25519, *d.pubkey, p.unix_ms}};
}

}  // namespace

std::string_view refusal_name(Refusal r) {
  switch (r) {
    case Refusal::none: return "ok";
    case Refusal::bad_username: return "bad_username";
    case Refusal::bad_password_format: return "bad_password_format";
    case Refusal::unknown_user: return "unknown_user";
    case Refusal::deleted: return "deleted";
    case Refusal::disabled: return "disabled";
    case Refusal::client_id_mismatch: return "client_id_mismatch";
    case Refusal::no_credential: return "no_credential";
    case Refusal::bad_token: return "bad_token";
    case Refusal::bad_signature: return "bad_signature";
    case Refusal::stale_timestamp: return "stale_timestamp";
    case Refusal::replay: return "replay";
    case Refusal::bad_secret: return "bad_secret";
    case Refusal::throttled: return "throttled";
  }
  return "unknown";
}

bool ReplayGuard::fresh(std::string_view device, std::int64_t ts_ms) const {
  auto it = last_.find(device);
  return it == last_.end() || ts_ms > it->second;
}

void ReplayGuard::accept(std::string_view device, std::int64_t ts_ms) {
  auto it = last_.find(device);
  if (it == last_.end())
    last_.emplace(std::string(device), ts_ms);
  else if (ts_ms > it->second)
    it->second = ts_ms;
}

LoginResult check_login(const LoginRequest& req, const DeviceTable& devices, const ServiceTable& services,
                        const ReplayGuard& replay, const LoginSettings& settings, std::int64_t now_ms) {
  if (!req.username || !*req.username) return refuse(Refusal::bad_username);
  std::string_view user = req.username;
  std::string_view password = req.password ? req.password : "";
  std::string_view client_id = req.client_id ? req.client_id : "";

  if (is_device_id(user)) {
    const DeviceRecord* d = devices.find(user);
    if (!d) return refuse(Refusal::unknown_user, Role::charger);
    if (d->deleted) return refuse(Refusal::deleted, Role::charger);
    if (!d->enabled) return refuse(Refusal::disabled, Role::charger);
    if (client_id != user) return refuse(Refusal::client_id_mismatch, Role::charger);
    auto parsed = credentials::parse_password(password);
    if (!parsed) return refuse(Refusal::bad_password_format, Role::charger);
    if (auto* t = std::get_if<credentials::TokenPassword>(&*parsed)) return check_token(*t, *d, now_ms);
    return check_ed25519(std::get<credentials::Ed25519Password>(*parsed), user, *d, replay, settings, now_ms);
  }

  const ServiceAccount* a = services.find(user);
  if (!a) {
    bool plausible = user.size() <= 64 && valid_service_username(user, Role::core);
    return refuse(plausible ? Refusal::unknown_user : Refusal::bad_username);
  }
  if (!service_client_id_ok(*a, client_id)) return refuse(Refusal::client_id_mismatch, a->role);
  if (password.empty()) return refuse(Refusal::bad_password_format, a->role);
  if (!verify_service_secret(*a, password)) return refuse(Refusal::bad_secret, a->role);
  return {Refusal::none, a->role, {CredentialKind::service, a->hash, 0}};
}

bool still_valid(std::string_view username, const Credential& cred, const DeviceTable& devices,
                 const ServiceTable& services, std::int64_t now_s) {
  if (cred.kind == CredentialKind::service) {
    const ServiceAccount* a = services.find(username);
    return a && digest_equal(a->hash, cred.fingerprint);
  }
  const DeviceRecord* d = devices.find(username);
  if (!d || !d->usable()) return false;
  switch (cred.kind) {
    case CredentialKind::token:
    case CredentialKind::prev_token:
      if (d->token_hash && digest_equal(*d->token_hash, cred.fingerprint)) return true;
      return d->prev_token_hash && now_s < d->prev_token_until &&
             digest_equal(*d->prev_token_hash, cred.fingerprint);
    case CredentialKind::ed25519:
      return d->pubkey && *d->pubkey == cred.fingerprint;
    default:
      return false;
  }
}

Identity identity_of(std::string_view username, const ServiceTable& services) {
  if (is_device_id(username)) return {Role::charger, username};
  if (const ServiceAccount* a = services.find(username)) return {a->role, a->username};
  return {};
}

}  // namespace chargehub::auth
