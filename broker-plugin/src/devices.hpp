// The in-memory device credentials: an immutable table read by the broker thread, replaced
// copy-on-write when the core sends a snapshot or a push ($CONTROL, control.hpp), and loaded from the
// cache file at start (cache.hpp). How a change merges in is decided here, by revision:
//
//   - every record remembers the core's credential revision of the change that made it (rev);
//   - a snapshot with rev S replaces every record whose rev <= S and drops those not in it (deleted),
//     but keeps a record a push with rev > S made (the snapshot was taken before that push);
//   - a push with rev P applies unless the record already has rev > P (it is older than what we have);
//   - a deletion leaves a tombstone (deleted = true) with its rev, so an older snapshot that still lists
//     the device does not bring it back; a snapshot newer than the tombstone removes it;
//   - a snapshot older than the last snapshot applied is ignored as a whole (it may list devices deleted
//     in between, whose tombstones that newer snapshot already removed).
// A push without rev applies at once and is replaced by the next snapshot.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "chargehub/auth_control.hpp"
#include "crypto.hpp"

namespace chargehub::auth {

struct DeviceRecord {
  std::optional<Digest> token_hash;       // SHA-256 of the raw token bytes
  std::optional<Digest> prev_token_hash;  // the token before a rotation ...
  std::int64_t prev_token_until = 0;      // ... accepted while now (unix s) < this
  std::optional<PublicKey> pubkey;        // raw Ed25519 public key
  bool enabled = true;
  bool deleted = false;                   // a tombstone (see above)
  std::int64_t rev = 0;                   // the core's credential revision of the last change applied
  bool usable() const { return enabled && !deleted; }
  bool operator==(const DeviceRecord&) const = default;
};

struct StringHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

struct DeviceTable {
  std::int64_t rev = -1;  // revision of the last snapshot applied (-1: none yet)
  std::unordered_map<std::string, DeviceRecord, StringHash, std::equal_to<>> devices;
  std::size_t bad_fields = 0;  // snapshot entries skipped or fields ignored because malformed

  const DeviceRecord* find(std::string_view id) const {
    auto it = devices.find(id);
    return it == devices.end() ? nullptr : &it->second;
  }
  std::size_t live() const;  // devices that are not tombstones
};

// Parses the wire's text form: 64 lowercase hex characters -> 32 bytes; anything else nullopt.
std::optional<Digest> parse_hex32(std::string_view text);

// What a merge did.
struct MergeResult {
  bool applied = false;            // false: older than what the table has (ignored)
  std::string error;               // a refusal (e.g. disable of an unknown device without rev)
  std::vector<std::string> changed;  // ids whose record changed (their connections are re-checked)
};

// Each function changes `t` in place (the caller works on its own copy).
// `force` (after SIGHUP): apply a snapshot even if older than the last one (a restored database).
// A snapshot's `changed` is empty: it may change any device, so every connection is re-checked.
MergeResult apply_snapshot(DeviceTable& t, const auth_control::Snapshot& s, bool force = false);
// apply_snapshot in two steps, so the expensive one can run off the broker thread:
// the table the snapshot describes (parsing hex, building the map) ...
std::shared_ptr<DeviceTable> table_from_snapshot(const auth_control::Snapshot& s, std::size_t bad_fields = 0);
// ... and installing it over `current` (keeps records newer than the snapshot; cheap). False: older
// than `current`, not applied (`prepared` is then unchanged).
bool install_snapshot(DeviceTable& prepared, const DeviceTable& current, bool force = false);
MergeResult apply_set_device(DeviceTable& t, const auth_control::SetDevice& c);
MergeResult apply_disable_device(DeviceTable& t, const auth_control::DisableDevice& c);
MergeResult apply_delete_device(DeviceTable& t, const auth_control::DeleteDevice& c);

// A record from a snapshot entry (the hex fields are already validated by the parser).
DeviceRecord record_from(const auth_control::DeviceCredentials& d, std::int64_t rev);
auth_control::DeviceCredentials credentials_of(std::string_view id, const DeviceRecord& r);

}  // namespace chargehub::auth
