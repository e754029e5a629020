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

std::shared_ptr<DeviceTable> table_from_snapshot(const auth_control::Snapshot& s, std::size_t bad_fields) {
  auto t = std::make_shared<DeviceTable>();
  t->rev = s.rev;
  t->bad_fields = bad_fields;
  t->devices.reserve(s.devices.size() + 16);
  for (const auto& d : s.devices) t->devices[d.id] = record_from(d, s.rev);
  return t;
}

bool install_snapshot(DeviceTable& prepared, const DeviceTable& current, bool force) {
  if (force) return true;
  if (prepared.rev < current.rev) return false;  // older than the last snapshot applied
  // Records newer than the snapshot survive it (pushes it has not seen, tombstones among them); the
  // rest not in it are gone (deleted before it was taken).
  for (const auto& [id, r] : current.devices)
    if (r.rev > prepared.rev) prepared.devices[id] = r;
  return true;
}

MergeResult apply_snapshot(DeviceTable& t, const auth_control::Snapshot& s, bool force) {
  MergeResult out;
  auto prepared = table_from_snapshot(s, t.bad_fields);
  if (!install_snapshot(*prepared, t, force)) return out;
  out.applied = true;
  t = std::move(*prepared);
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
