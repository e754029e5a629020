#include "app/settings.hpp"

#include <charconv>
#include <stdexcept>

namespace chargehub::core {

namespace {

using T = SettingSpec::Type;

const std::vector<SettingSpec> kSettings = {
    {"withdrawal.min_fen", T::Integer, "1000", 1, 100'000'000, "单笔提现最低金额（分）"},
    {"withdrawal.max_fen", T::Integer, "5000000", 1, 100'000'000, "单笔提现最高金额（分）"},
    {"withdrawal.daily_count", T::Integer, "3", 1, 100, "每个运营商每日最多提现申请次数（按报表时区的自然日）"},
    {"report.time_zone", T::TimeZone, "Asia/Shanghai", 0, 0, "报表与每日限额所用时区"},
};

struct Zone {
  std::string_view name;
  int64_t offset_s;
};
// No daylight saving time in any of them (China since 1991).
constexpr Zone kZones[] = {
    {"Asia/Shanghai", 8 * 3600}, {"Asia/Chongqing", 8 * 3600}, {"Asia/Harbin", 8 * 3600}, {"Asia/Hong_Kong", 8 * 3600},
    {"Asia/Macau", 8 * 3600},    {"Asia/Taipei", 8 * 3600},    {"Asia/Singapore", 8 * 3600}, {"Asia/Urumqi", 6 * 3600},
    {"Asia/Tokyo", 9 * 3600},    {"UTC", 0},
};

std::optional<int64_t> parse_int(std::string_view v) {
  int64_t n = 0;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  if (ec != std::errc() || p != v.data() + v.size() || v.empty()) return std::nullopt;
  return n;
}

}  // namespace

const std::vector<SettingSpec>& setting_catalogue() { return kSettings; }

const SettingSpec* find_setting(std::string_view key) {
  for (const auto& s : kSettings)
    if (s.key == key) return &s;
  return nullptr;
}

std::optional<int64_t> time_zone_offset(std::string_view name) {
  for (const auto& z : kZones)
    if (z.name == name) return z.offset_s;
  return std::nullopt;
}

int64_t local_day_start(int64_t t, int64_t offset_s) {
  int64_t local = t + offset_s;
  int64_t day = local / 86400 - (local % 86400 < 0 ? 1 : 0);   // floor
  return day * 86400 - offset_s;
}

SettingValue Settings::value_of(const SettingSpec& s, const std::optional<SettingRow>& row) {
  SettingValue v;
  v.key = s.key;
  v.type = s.type == T::Integer ? "integer" : "time_zone";
  v.default_value = s.default_value;
  v.value = row ? row->value : std::string(s.default_value);
  v.description = s.description;
  if (s.type == T::Integer) {
    v.min = s.min;
    v.max = s.max;
  }
  if (row) v.updated_at = row->updated_at;
  return v;
}

std::vector<SettingValue> Settings::all() {
  sql::Lock lock(r_.db);
  std::vector<SettingValue> out;
  for (const auto& s : kSettings) out.push_back(value_of(s, r_.settings.get(std::string(s.key))));
  return out;
}

std::optional<SettingValue> Settings::get(const std::string& key) {
  auto* s = find_setting(key);
  if (!s) return std::nullopt;
  sql::Lock lock(r_.db);
  return value_of(*s, r_.settings.get(key));
}

Result<SettingValue> Settings::set(const Scope& scope, const std::string& key, const std::string& value, int64_t now) {
  using R = Result<SettingValue>;
  if (!scope.is_platform()) return R::no("platform_only", "only the platform sets the system configuration");
  auto* s = find_setting(key);
  if (!s) return R::no("unknown_setting", "no setting with this key");
  sql::Tx tx(r_.db);
  if (s->type == T::Integer) {
    auto n = parse_int(value);
    if (!n || *n < s->min || *n > s->max)
      return R::no("bad_setting", std::string(key) + " must be an integer " + std::to_string(s->min) + ".." + std::to_string(s->max));
    if (key == "withdrawal.min_fen" && *n > integer("withdrawal.max_fen"))
      return R::no("bad_setting", "withdrawal.min_fen must not exceed withdrawal.max_fen");
    if (key == "withdrawal.max_fen" && *n < integer("withdrawal.min_fen"))
      return R::no("bad_setting", "withdrawal.max_fen must not be below withdrawal.min_fen");
  } else if (!time_zone_offset(value)) {
    std::string names;
    for (const auto& z : kZones) names += (names.empty() ? "" : ", ") + std::string(z.name);
    return R::no("bad_setting", std::string(key) + " must be one of " + names);
  }
  SettingRow row{key, value, now};
  r_.settings.put(row);
  tx.commit();
  return R::ok(value_of(*s, row));
}

int64_t Settings::integer(std::string_view key) {
  auto* s = find_setting(key);
  if (!s || s->type != T::Integer) throw std::logic_error("not an integer setting: " + std::string(key));
  sql::Lock lock(r_.db);
  auto row = r_.settings.get(std::string(key));
  if (row)
    if (auto n = parse_int(row->value)) return *n;
  return *parse_int(s->default_value);
}

std::string Settings::text(std::string_view key) {
  auto* s = find_setting(key);
  if (!s) throw std::logic_error("no such setting: " + std::string(key));
  sql::Lock lock(r_.db);
  auto row = r_.settings.get(std::string(key));
  return row ? row->value : std::string(s->default_value);
}

int64_t Settings::report_utc_offset() { return time_zone_offset(text("report.time_zone")).value_or(8 * 3600); }

}  // namespace chargehub::core
