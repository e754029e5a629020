// The login decision: who may connect, with which credential, under which client id.
// Pure: the caller supplies the tables, the replay memory and the clock.
//
// Charger passwords (mqtt.md, frames.md LOGIN) are parsed by domain's credentials.hpp:
//   tok:<standard base64 of the raw token, 16-64 bytes>
//   ed25519:<unix ms>:<standard base64 of the 64-byte signature of "chargehub-login:<id>:<unix ms>">
// Service accounts: the secret from the services file's account (see services.hpp).
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>

#include "devices.hpp"
#include "identity.hpp"
#include "services.hpp"

namespace chargehub::auth {

// Why a login was refused; `none` means admitted. Names are used in logs, stats and the status file.
enum class Refusal {
  none,
  bad_username,         // missing, not a device id nor a service account name
  bad_password_format,  // missing or not one of the accepted forms
  unknown_user,         // no such device or service account
  deleted,
  disabled,
  client_id_mismatch,   // client id not bound to this identity
  no_credential,        // the device has no token (or no public key) for the kind presented
  bad_token,
  bad_signature,
  stale_timestamp,      // Ed25519 timestamp outside the window
  replay,               // Ed25519 timestamp not newer than the last accepted one
  bad_secret,           // service account secret wrong
  throttled,            // too many failures for this username or address (see throttle.hpp)
};
inline constexpr int refusal_count = 14;
std::string_view refusal_name(Refusal r);

enum class CredentialKind { none, token, prev_token, ed25519, service };

// What a login was admitted with: enough to decide later whether a change revoked it.
struct Credential {
  CredentialKind kind = CredentialKind::none;
  Digest fingerprint{};    // token hash, public key, or service account hash
  std::int64_t ts_ms = 0;  // Ed25519 timestamp
};

struct LoginRequest {
  const char* username = nullptr;  // as the broker passes them: may be null
  const char* password = nullptr;
  const char* client_id = nullptr;
};

struct LoginResult {
  Refusal refusal = Refusal::none;
  Role role = Role::none;
  Credential credential;
  bool ok() const { return refusal == Refusal::none; }
};

// Last accepted Ed25519 timestamp per device (memory only: lost at broker restart).
class ReplayGuard {
 public:
  bool fresh(std::string_view device, std::int64_t ts_ms) const;
  void accept(std::string_view device, std::int64_t ts_ms);
  std::size_t size() const { return last_.size(); }

 private:
  std::unordered_map<std::string, std::int64_t, StringHash, std::equal_to<>> last_;
};

struct LoginSettings {
  std::int64_t ed25519_window_s = 300;
};

LoginResult check_login(const LoginRequest& req, const DeviceTable& devices, const ServiceTable& services,
                        const ReplayGuard& replay, const LoginSettings& settings, std::int64_t now_ms);

// Whether a credential admitted earlier is still good after a change of the tables (or the clock, for
// a rotation grace period that ran out). False means: kick that client.
bool still_valid(std::string_view username, const Credential& cred, const DeviceTable& devices,
                 const ServiceTable& services, std::int64_t now_s);

// Identity for topic rules from a username, by the current tables (no credential check).
Identity identity_of(std::string_view username, const ServiceTable& services);

}  // namespace chargehub::auth
