#include "chargehub/rules/alarms.hpp"

#include "chargehub/messages.hpp"

namespace chargehub::rules {

AlarmStop alarm_stops(uint8_t code, uint8_t port) {
  using proto::AlarmCode;
  auto c = static_cast<AlarmCode>(code);
  bool cuts_port = c == AlarmCode::PortOverload || c == AlarmCode::RelayFault || c == AlarmCode::Leakage || c == AlarmCode::FuseBlown;
  bool cuts_unit = c == AlarmCode::TempCutoff || c == AlarmCode::UnitOverload;
  if (!cuts_port && !cuts_unit) return {};
  return {true, c == AlarmCode::TempCutoff || port == 0 ? 0 : int64_t{port}};
}

AlarmDedup alarm_dedup(const std::optional<AlarmRecord>& latest_same, const std::string& msg, int64_t now,
                       int64_t window_s) {
  if (!latest_same) return {};
  if (msg == latest_same->first_msg || msg == latest_same->last_msg) return {AlarmAction::copy, latest_same->id};
  int64_t gap = now - latest_same->last_at;
  if (gap < 0) gap = -gap;
  if (gap < window_s) return {AlarmAction::merge, latest_same->id};
  return {};
}

}  // namespace chargehub::rules
