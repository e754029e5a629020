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

}  // namespace chargehub::rules
