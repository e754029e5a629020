// System configuration (系统配置, docs/agents.md "System configuration"): a catalogue of typed keys, each
// with a default, a range and a Chinese description; the stored value when one was set, else the default.
//
//   app.settings.integer("withdrawal.min_fen")                       // 1000 unless set
//   app.settings.set(Scope::platform(), "withdrawal.daily_count", "5", now)
//   local_day_start(now, app.settings.report_utc_offset())           // midnight in the report time zone
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "app/repos.hpp"
#include "chargehub/result.hpp"
#include "repo/scope.hpp"
#include "repo/settings.hpp"

namespace chargehub::core {

struct SettingSpec {
  enum class Type { Integer, TimeZone };
  std::string_view key;
  Type type;
  std::string_view default_value;
  int64_t min = 0, max = 0;          // Integer: the allowed range
  std::string_view description;      // Chinese, for the console
};

// Every key, in the order a console lists them.
const std::vector<SettingSpec>& setting_catalogue();
const SettingSpec* find_setting(std::string_view key);

// A key with its value now.
struct SettingValue {
  std::string key, type, value, default_value, description;
  std::optional<int64_t> min, max;           // Integer keys
  std::optional<int64_t> updated_at;         // none: never set (the default applies)
};

// The report time zones the core knows, as fixed offsets from UTC in seconds: none of them has had
// daylight saving time since 1991 (Asia/Shanghai: UTC+8 all year), so a table is exact and needs no
// process-wide TZ. std::nullopt for a name not in the table.
std::optional<int64_t> time_zone_offset(std::string_view name);
// The unix time of the local midnight that starts the day holding `t`, for a zone `offset_s` east of UTC.
int64_t local_day_start(int64_t t, int64_t offset_s);

class Settings {
 public:
  explicit Settings(Repos& r) : r_(r) {}
  std::vector<SettingValue> all();
  std::optional<SettingValue> get(const std::string& key);
  // Only the platform sets them (platform_only); unknown_setting, bad_setting (type, range, or
  // withdrawal.min_fen above withdrawal.max_fen).
  Result<SettingValue> set(const Scope& scope, const std::string& key, const std::string& value, int64_t now);

  // Typed reads (inside the caller's transaction, if any): the stored value, or the default.
  int64_t integer(std::string_view key);
  std::string text(std::string_view key);
  int64_t report_utc_offset();   // report.time_zone's offset

 private:
  SettingValue value_of(const SettingSpec& s, const std::optional<SettingRow>& row);
  Repos& r_;
};

}  // namespace chargehub::core
