// Which sessions an alarm stops: alarms that cut a port (overload, relay fault, leakage, fuse) stop
// what charges there; alarms that cut the unit (temperature cut-off, unit overload) stop the port given,
// or every port when none is given (temperature cut-off always every port). Pure.
#pragma once
#include <cstdint>
#include <optional>
#include <string>

namespace chargehub::rules {

struct AlarmStop {
  bool stops = false;
  int64_t port = 0;    // 0: every port of the device
};

AlarmStop alarm_stops(uint8_t code, uint8_t port);

// Repeated alarms collapse into one record (issue 19.5: one device must not fill the database with
// copies of one alarm). An alarm is the same condition still going on, and is counted into the latest
// record of its device with the same code and port, when that record's last occurrence is less than
// `window_s` ago (either way, for a clock that stepped back): the record keeps its first time, and
// gets one more occurrence, the new last time and the latest value. Otherwise it starts a new record.
// A copy of a report (same msg as the record's first or last one) changes nothing. Pure.
inline constexpr int64_t kAlarmDedupWindowS = 300;

struct AlarmRecord {     // the latest record for (device, code, port)
  int64_t id = 0;
  int64_t last_at = 0;   // unix s of its last occurrence
  std::string first_msg, last_msg;
};

enum class AlarmAction { record, merge, copy };
struct AlarmDedup {
  AlarmAction action = AlarmAction::record;
  int64_t into_id = 0;   // the record merged into (merge, copy)
};

AlarmDedup alarm_dedup(const std::optional<AlarmRecord>& latest_same, const std::string& msg, int64_t now,
                       int64_t window_s = kAlarmDedupWindowS);

}  // namespace chargehub::rules
