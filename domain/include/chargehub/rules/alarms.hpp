// Which sessions an alarm stops: alarms that cut a port (overload, relay fault, leakage, fuse) stop
// what charges there; alarms that cut the unit (temperature cut-off, unit overload) stop the port given,
// or every port when none is given (temperature cut-off always every port). Pure.
#pragma once
#include <cstdint>
#include <optional>

namespace chargehub::rules {

struct AlarmStop {
  bool stops = false;
  int64_t port = 0;    // 0: every port of the device
};

AlarmStop alarm_stops(uint8_t code, uint8_t port);

}  // namespace chargehub::rules
