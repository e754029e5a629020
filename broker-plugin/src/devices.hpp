// The in-memory device credentials: an immutable snapshot, loaded from the core's DB by the background
// thread (db_loader) or changed copy-on-write by a control command, read by the broker thread.
#pragma once
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "crypto.hpp"

namespace chargehub::auth {

struct DeviceRecord {
  std::optional<Digest> token_hash;       // SHA-256 of the raw token bytes
  std::optional<Digest> prev_token_hash;  // the token before a rotation ...
  std::int64_t prev_token_until = 0;      // ... accepted while now (unix s) < this
  std::optional<PublicKey> pubkey;        // raw Ed25519 public key
  bool enabled = true;
  bool deleted = false;
  bool usable() const { return enabled && !deleted; }
};

struct StringHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

struct DeviceTable {
  std::int64_t rev = -1;  // auth_state.rev it was loaded at (-1: never loaded)
  std::unordered_map<std::string, DeviceRecord, StringHash, std::equal_to<>> devices;
  std::size_t bad_rows = 0;  // rows skipped or fields ignored because malformed

  const DeviceRecord* find(std::string_view id) const {
    auto it = devices.find(id);
    return it == devices.end() ? nullptr : &it->second;
  }
};

// Parses the DB's text forms: 64 lowercase hex characters -> 32 bytes; anything else nullopt.
std::optional<Digest> parse_hex32(std::string_view text);

}  // namespace chargehub::auth
