#include "repo/settings.hpp"

namespace chargehub::core {

std::optional<SettingRow> SettingRepo::get(const std::string& key) {
  auto st = db_.prepare("SELECT key, value, updated_at FROM setting WHERE key = ?");
  st.args(key);
  if (!st.step()) return std::nullopt;
  return SettingRow{st.text(0), st.text(1), st.i64(2)};
}

std::vector<SettingRow> SettingRepo::all() {
  std::vector<SettingRow> out;
  auto st = db_.prepare("SELECT key, value, updated_at FROM setting ORDER BY key");
  while (st.step()) out.push_back(SettingRow{st.text(0), st.text(1), st.i64(2)});
  return out;
}

void SettingRepo::put(const SettingRow& s) {
  db_.prepare("INSERT INTO setting (key, value, updated_at) VALUES (?, ?, ?) "
              "ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at")
      .args(s.key, s.value, s.updated_at)
      .run();
}

}  // namespace chargehub::core
