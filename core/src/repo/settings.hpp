// System configuration (系统配置) as stored: one row per key that was set, its value as text. What the
// keys mean, their types, defaults and ranges is the use case's catalogue (app/settings.hpp).
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "db/db.hpp"

namespace chargehub::core {

struct SettingRow {
  std::string key, value;
  int64_t updated_at = 0;
};

class SettingRepo {
 public:
  explicit SettingRepo(sql::Db& db) : db_(db) {}
  std::optional<SettingRow> get(const std::string& key);
  std::vector<SettingRow> all();   // by key
  void put(const SettingRow& s);   // insert or replace the key's value

 private:
  sql::Db& db_;
};

}  // namespace chargehub::core
