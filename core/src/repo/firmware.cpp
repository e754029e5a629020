#include "firmware.hpp"

#include <algorithm>

namespace chargehub::core {

namespace {
constexpr const char* kCols =
    "id, model, version, min_from, size, sha256, signature, key_id, notes, file, created_by, created_at";

FirmwareRow read(sql::Stmt& st) {
  FirmwareRow f;
  f.id = st.i64(0);
  f.manifest.model = static_cast<int>(st.i64(1));
  f.manifest.version = proto::Version::parse(st.text(2)).value_or(proto::Version{});
  f.manifest.min_from = proto::Version::parse(st.text(3)).value_or(proto::Version{});
  f.manifest.size = static_cast<uint32_t>(st.i64(4));
  auto sha = proto::from_hex(st.text(5));
  auto sig = proto::from_hex(st.text(6));
  std::copy_n(sha.begin(), std::min<size_t>(32, sha.size()), f.manifest.sha256.begin());
  std::copy_n(sig.begin(), std::min<size_t>(64, sig.size()), f.manifest.signature.begin());
  f.manifest.key_id = st.text(7);
  f.manifest.notes = st.text(8);
  f.file = st.text(9);
  f.created_by = st.text(10);
  f.created_at = st.i64(11);
  f.manifest.created_at = f.created_at;
  return f;
}
std::string sel() { return std::string("SELECT ") + kCols + " FROM firmware "; }
}  // namespace

std::optional<int64_t> FirmwareRepo::id_of(int64_t model, const proto::Version& version) {
  auto st = db_.prepare("SELECT id FROM firmware WHERE model = ? AND version = ?");
  st.args(model, version.text());
  if (!st.step()) return std::nullopt;
  return st.i64(0);
}

int64_t FirmwareRepo::insert(const firmware::Manifest& m, const std::string& file, const std::string& created_by, int64_t now) {
  auto st = db_.prepare(
      "INSERT INTO firmware (model, version, min_from, size, sha256, signature, key_id, notes, file, created_by, created_at) "
      "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id");
  st.args(int64_t{m.model}, m.version.text(), m.min_from.text(), int64_t{m.size}, firmware::hex(m.sha256),
          firmware::hex(m.signature), m.key_id, m.notes, file, created_by, now);
  st.step();
  return st.i64(0);
}

std::optional<FirmwareRow> FirmwareRepo::get(int64_t id) {
  auto st = db_.prepare(sel() + "WHERE id = ?");
  st.args(id);
  if (!st.step()) return std::nullopt;
  return read(st);
}

std::vector<FirmwareRow> FirmwareRepo::list() {
  auto st = db_.prepare(sel() + "ORDER BY id DESC");
  std::vector<FirmwareRow> out;
  while (st.step()) out.push_back(read(st));
  return out;
}

}  // namespace chargehub::core
