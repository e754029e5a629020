#include "alarms.hpp"

#include "chargehub/rules/alarms.hpp"

namespace chargehub::core {

AlarmOutcome Alarms::raised(const std::string& device_id, const std::string& msg, const proto::Alarm& a, int64_t now) {
  sql::Tx tx(r_.db);
  AlarmOutcome out{payloads::Ack{msg, 0, std::nullopt}, {}};
  r_.reports.insert_alarm(msg, device_id, a, now);
  auto stop = rules::alarm_stops(a.code, a.port);
  if (stop.stops) {
    for (auto& s : r_.sessions.holding_on_device(device_id)) {
      if (stop.port != 0 && s.port != stop.port) continue;
      if (s.state != session::State::Starting && s.state != session::State::Charging) continue;
      if (auto c = sessions_.stop_in_tx(s.id, Origin::system("alarm"), now, 60)) out.follow.commands.push_back(*c);
    }
  }
  tx.commit();
  return out;
}

std::vector<AlarmRow> Alarms::list(const std::string& device_id, int64_t limit) {
  sql::Lock lock(r_.db);
  return r_.reports.alarms(device_id, limit);
}

}  // namespace chargehub::core
