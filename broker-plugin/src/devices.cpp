#include "devices.hpp"

#include <algorithm>

#include "chargehub/encoding.hpp"

namespace chargehub::auth {

std::optional<Digest> parse_hex32(std::string_view text) { return encoding::hex_decode_fixed<32>(text); }

std::size_t DeviceTable::live() const {
  std::size_t n = 0;
  for (const auto& [id, r] : devices) n += r.deleted ? 0 : 1;
  return n;
}

DeviceRecord record_from(const auth_control::DeviceCredentials& d, std::int64_t rev) {
  DeviceRecord r;
  if (d.token_hash) r.token_hash = parse_hex32(*d.token_hash);
  if (d.prev_token_hash) r.prev_token_hash = parse_hex32(*d.prev_token_hash);
  r.prev_token_until = d.prev_token_until;
  if (d.pubkey) r.pubkey = parse_hex32(*d.pubkey);
  r.enabled = d.enabled;
  r.rev = rev;
  return r;
}

auth_control::DeviceCredentials credentials_of(std::string_view id, const DeviceRecord& r) {
  auth_control::DeviceCredentials d;
  d.id = std::string(id);
  if (r.token_hash) d.token_hash = encoding::to_hex(*r.token_hash);
  if (r.prev_token_hash) d.prev_token_hash = encoding::to_hex(*r.prev_token_hash);
  d.prev_token_until = r.prev_token_until;
  if (r.pubkey) d.pubkey = encoding::to_hex(*r.pubkey);
  d.enabled = r.enabled;
  return d;
}

MergeResult apply_snapshot(DeviceTable& t, const auth_control::Snapshot& s, bool force) {
  MergeResult out;
  if (s.rev < t.rev && !force) return out;  // older than the last snapshot applied
  out.applied = true;
  decltype(t.devices) next;
  next.reserve(s.devices.size() + 16);
  for (const auto& d : s.devices) {
    auto old = t.devices.find(d.id);
    if (old != t.devices.end() && old->second.rev > s.rev && !force) continue;  // a newer push: below
    DeviceRecord r = record_from(d, s.rev);
    if (old == t.devices.end() || !(old->second == r)) {
      // Same credentials at a new revision is no change for the connections.
      bool same = old != t.devices.end() && [&] {
        DeviceRecord o = old->second;
        o.rev = r.rev;
        return o == r;
      }();
      if (!same) out.changed.push_back(d.id);
    }
    next[d.id] = r;
  }
  // Records newer than the snapshot survive it (pushes it has not seen); the rest not in it are gone.
  for (auto& [id, r] : t.devices) {
    if (!force && r.rev > s.rev) {
      next[id] = r;
      continue;
    }
    if (!next.count(id)) out.changed.push_back(id);
  }
  t.devices = std::move(next);
  t.rev = s.rev;
  return out;
}

namespace {

// Whether a push at `rev` may change the record `old` (null: unknown device).
bool newer(const DeviceRecord* old, const std::optional<std::int64_t>& rev) {
  return !old || !rev || *rev >= old->rev;
}

std::int64_t rev_for(const DeviceTable& t, const DeviceRecord* old, const std::optional<std::int64_t>& rev) {
  if (rev) return *rev;
  return old ? old->rev : std::max<std::int64_t>(t.rev, 0);
}

template <class T, class F>
void patch(const auth_control::Field<T>& f, F&& set) {
  if (f.present) set(f.value);
}

}  // namespace

MergeResult apply_set_device(DeviceTable& t, const auth_control::SetDevice& c) {
  MergeResult out;
  const DeviceRecord* old = t.find(c.id);
  if (!newer(old, c.rev)) return out;
  DeviceRecord r;
  // A tombstone is a device that was deleted: setting it again creates it afresh.
  if (old && !old->deleted) r = *old;
  patch(c.token_hash, [&](const std::optional<std::string>& v) { r.token_hash = v ? parse_hex32(*v) : std::nullopt; });
  patch(c.prev_token_hash,
        [&](const std::optional<std::string>& v) { r.prev_token_hash = v ? parse_hex32(*v) : std::nullopt; });
  patch(c.pubkey, [&](const std::optional<std::string>& v) { r.pubkey = v ? parse_hex32(*v) : std::nullopt; });
  patch(c.prev_token_until, [&](const std::optional<std::int64_t>& v) { r.prev_token_until = v ? *v : 0; });
  if (c.enabled) r.enabled = *c.enabled;
  r.deleted = false;
  r.rev = rev_for(t, old, c.rev);
  out.applied = true;
  out.changed.push_back(c.id);
  t.devices[c.id] = r;
  return out;
}

MergeResult apply_disable_device(DeviceTable& t, const auth_control::DisableDevice& c) {
  MergeResult out;
  const DeviceRecord* old = t.find(c.id);
  if (!old && !c.rev) {
    out.error = "unknown device";
    return out;
  }
  if (!newer(old, c.rev)) return out;
  DeviceRecord r = old ? *old : DeviceRecord{};  // unknown with a rev: remember it disabled
  r.enabled = false;
  r.rev = rev_for(t, old, c.rev);
  out.applied = true;
  out.changed.push_back(c.id);
  t.devices[c.id] = r;
  return out;
}

MergeResult apply_delete_device(DeviceTable& t, const auth_control::DeleteDevice& c) {
  MergeResult out;
  const DeviceRecord* old = t.find(c.id);
  if (!old && !c.rev) {
    out.error = "unknown device";
    return out;
  }
  if (!newer(old, c.rev)) return out;
  DeviceRecord r;  // a tombstone keeps no credential
  r.deleted = true;
  r.enabled = false;
  r.rev = rev_for(t, old, c.rev);
  out.applied = true;
  out.changed.push_back(c.id);
  t.devices[c.id] = r;
  return out;
}

}  // namespace chargehub::auth
