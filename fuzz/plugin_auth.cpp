// The broker plugin's decisions (broker-plugin/src: auth.hpp, acl.hpp), against mqtt.md's Identities:
//  - a login is admitted only with the exact credential: the device's token in its one base64 form
//    (`tok:` + standard base64 with its padding), a fresh Ed25519 signature written the one way, or
//    the service account's secret; a charger only under its own id as client id;
//  - a charger publishes only under chg/v1/<its id>/up/... and chg/v1/<its id>/status, and reads and
//    subscribes only under chg/v1/<its id>/down/; a bridge's own identity grants nothing on chg/;
//    a monitor publishes nothing; nobody without a role gets anything.
// This harness calls the plugin's public functions as they are in this tree; the plugin is being
// changed alongside (one canonical base64), so it lives in its own file for the merge.
//
// Input: a mode byte, then
//   0: username \n password \n client id (a missing line: the broker passes no value)
//   1: edits (position, byte pairs) applied to the valid token password
//   2: 8 bytes of timestamp offset, then edits applied to a valid Ed25519 password
//   3: role byte, access byte, name \n topic
#include <openssl/evp.h>

#include <cstdint>
#include <string>
#include <vector>

#include "acl.hpp"
#include "auth.hpp"
#include "services.hpp"
#include "check.hpp"
#include "chargehub/credentials.hpp"
#include "chargehub/frame.hpp"

using namespace chargehub::auth;

namespace {

constexpr std::string_view kDevice = "861234567890123";
constexpr std::string_view kDisabled = "861234567890124";
constexpr std::string_view kCoreSecret = "0123456789abcdef0123456789abcdef";
constexpr int64_t kNowMs = 1795500000000;

// The harness's own encoder, independent of the plugin's: standard base64 with padding.
std::string b64(const std::vector<uint8_t>& b) {
  static const char* a = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  for (size_t i = 0; i < b.size(); i += 3) {
    uint32_t n = b[i] << 16 | (i + 1 < b.size() ? b[i + 1] << 8 : 0) | (i + 2 < b.size() ? b[i + 2] : 0);
    out += a[n >> 18 & 63];
    out += a[n >> 12 & 63];
    out += i + 1 < b.size() ? a[n >> 6 & 63] : '=';
    out += i + 2 < b.size() ? a[n & 63] : '=';
  }
  return out;
}

struct World {
  std::vector<uint8_t> token;
  EVP_PKEY* key = nullptr;
  DeviceTable devices;
  ServiceTable services;
  ReplayGuard replay;
  LoginSettings settings;

  World() {
    for (uint8_t i = 0; i < 16; ++i) token.push_back(i);
    uint8_t seed[32];
    for (int i = 0; i < 32; ++i) seed[i] = static_cast<uint8_t>(7 * i + 1);
    key = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr, seed, 32);
    PublicKey pub{};
    size_t n = pub.size();
    EVP_PKEY_get_raw_public_key(key, pub.data(), &n);
    DeviceRecord d;
    d.token_hash = sha256(token);
    d.pubkey = pub;
    devices.devices[std::string(kDevice)] = d;
    DeviceRecord off = d;
    off.enabled = false;
    devices.devices[std::string(kDisabled)] = off;
    devices.rev = 1;
    services.accounts["core"] = make_service_account("core", Role::core, kCoreSecret);
    services.accounts["bridge-a"] = make_service_account("bridge-a", Role::bridge, kCoreSecret);
  }

  std::string signature_password(int64_t ts) const {
    std::string msg = chargehub::credentials::ed25519_login_message(kDevice, ts);
    std::vector<uint8_t> sig(64);
    size_t n = sig.size();
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    EVP_DigestSignInit(ctx, nullptr, nullptr, nullptr, key);
    EVP_DigestSign(ctx, sig.data(), &n, reinterpret_cast<const uint8_t*>(msg.data()), msg.size());
    EVP_MD_CTX_free(ctx);
    return "ed25519:" + std::to_string(ts) + ":" + b64(sig);
  }
};

const World& world() {
  static World w;
  return w;
}

// What may be admitted: only the exact credentials.
void login(const char* user, const char* password, const char* client) {
  auto& w = world();
  LoginRequest req{user, password, client};
  auto r = check_login(req, w.devices, w.services, w.replay, w.settings, kNowMs);
  if (!r.ok()) return;
  std::string_view u = user, p = password, c = client ? client : "";
  switch (r.credential.kind) {
    case CredentialKind::token:
    case CredentialKind::prev_token:
      FUZZ_CHECK(u == kDevice && c == u);
      FUZZ_CHECK(p == "tok:" + b64(w.token));
      break;
    case CredentialKind::ed25519: {
      FUZZ_CHECK(u == kDevice && c == u);
      FUZZ_CHECK(r.credential.ts_ms > kNowMs - 300000 - 1 && r.credential.ts_ms < kNowMs + 300000 + 1);
      FUZZ_CHECK(p == w.signature_password(r.credential.ts_ms));
      break;
    }
    case CredentialKind::service:
      FUZZ_CHECK(u == "core" || u == "bridge-a");
      FUZZ_CHECK(p == kCoreSecret);
      break;
    case CredentialKind::none:
      FUZZ_CHECK(false);
  }
}

std::string edited(std::string s, std::string_view edits) {
  for (size_t i = 0; i + 1 < edits.size(); i += 2) {
    size_t at = static_cast<uint8_t>(edits[i]) % (s.size() + 1);
    if (at == s.size()) s.push_back(edits[i + 1]);
    else if (edits[i + 1] == '\x7f') s.erase(at, 1);
    else s[at] = edits[i + 1];
  }
  return s;
}

bool starts(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }
// Within the namespace `dir` ("…/down/"): under it, or the level itself, which a filter "…/down/#" also
// matches (MQTT: '#' includes the parent level).
bool within(std::string_view s, std::string_view dir) { return starts(s, dir) || s == dir.substr(0, dir.size() - 1); }

std::string_view level(std::string_view topic, int n) {
  for (int i = 0; i < n; ++i) {
    auto slash = topic.find('/');
    if (slash == std::string_view::npos) return {};
    topic.remove_prefix(slash + 1);
  }
  return topic.substr(0, topic.find('/'));
}

void acl(Role role, Access access, std::string_view name, std::string_view topic) {
  // Names as logins make them: a device id for a charger, a service account name for the others.
  if (role == Role::charger && !chargehub::proto::parse_device_id(name)) return;
  if (role != Role::charger && role != Role::none && !valid_service_username(name, role)) return;
  bool ok = acl_allows(Identity{role, name}, access, topic);
  if (!ok) return;
  if (access == Access::unsubscribe) return;
  FUZZ_CHECK(role != Role::none && !name.empty());
  std::string own = "chg/v1/" + std::string(name) + "/";
  std::string_view filter = topic;
  if (access == Access::subscribe && starts(filter, "$share/")) {
    auto slash = filter.find('/', 7);
    FUZZ_CHECK(slash != std::string_view::npos);
    filter.remove_prefix(slash + 1);
  }
  switch (role) {
    case Role::charger:
      if (access == Access::write) FUZZ_CHECK(starts(topic, own + "up/") || topic == own + "status");
      else FUZZ_CHECK(within(filter, own + "down/"));
      break;
    case Role::bridge:
      FUZZ_CHECK(within(filter, "svc/v1/" + std::string(name) + "/"));
      break;
    case Role::monitor:
      FUZZ_CHECK(access != Access::write);
      break;
    case Role::core:
      // The core never writes a charger's uplink or status: that would speak for a charger.
      if (access == Access::write && starts(topic, "chg/")) {
        auto dir = level(topic, 3);
        FUZZ_CHECK(dir != "up" && dir != "status" && dir != "+" && dir != "#");
      }
      break;
    case Role::none:
      FUZZ_CHECK(false);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  std::string_view in(reinterpret_cast<const char*>(data + 1), size - 1);
  switch (data[0] % 4) {
    case 0: {
      std::vector<std::string> parts;
      size_t start = 0;
      while (parts.size() < 3) {
        auto nl = in.find('\n', start);
        parts.emplace_back(in.substr(start, nl == std::string_view::npos ? std::string_view::npos : nl - start));
        if (nl == std::string_view::npos) break;
        start = nl + 1;
      }
      auto at = [&](size_t i) { return i < parts.size() ? parts[i].c_str() : nullptr; };
      if (!at(0) || !at(1)) return 0;   // the plugin is only asked with a username and password
      login(at(0), at(1), at(2));
      return 0;
    }
    case 1: {
      std::string pw = edited("tok:" + b64(world().token), in);
      login(std::string(kDevice).c_str(), pw.c_str(), std::string(kDevice).c_str());
      return 0;
    }
    case 2: {
      if (in.size() < 8) return 0;
      uint64_t off = 0;
      for (int i = 0; i < 8; ++i) off = off << 8 | static_cast<uint8_t>(in[i]);
      int64_t ts = kNowMs - 400000 + static_cast<int64_t>(off % 800000);
      std::string pw = edited(world().signature_password(ts), in.substr(8));
      login(std::string(kDevice).c_str(), pw.c_str(), std::string(kDevice).c_str());
      return 0;
    }
    default: {
      if (in.size() < 2) return 0;
      auto role = static_cast<Role>(static_cast<uint8_t>(in[0]) % role_count);
      auto access = static_cast<Access>(static_cast<uint8_t>(in[1]) % 4);
      auto rest = in.substr(2);
      auto nl = rest.find('\n');
      if (nl == std::string_view::npos) return 0;
      acl(role, access, rest.substr(0, nl), rest.substr(nl + 1));
      return 0;
    }
  }
}
