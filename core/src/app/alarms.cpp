#include "alarms.hpp"

#include "chargehub/rules/alarms.hpp"

namespace chargehub::core {

AlarmOutcome Alarms::raised(const std::string& device_id, const std::string& msg, const proto::Alarm& a, int64_t now) {
  sql::Tx tx(r_.db);
  AlarmOutcome out{payloads::Ack{msg, 0, std::nullopt}, {}};
  // Repeats of one condition collapse into one row with a count (rules::alarm_dedup).
  auto dedup = rules::alarm_dedup(r_.reports.latest_alarm(device_id, a.code, a.port), msg, now);
  if (dedup.action == rules::AlarmAction::record) r_.reports.insert_alarm(msg, device_id, a, now);
  else if (dedup.action == rules::AlarmAction::merge) r_.reports.merge_alarm(dedup.into_id, msg, a, now);
  // Every occurrence still stops what charges on the port it cuts (a session started since the last one).
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

std::vector<AlarmRow> Alarms::list(const Scope& scope, const std::string& device_id, int64_t limit) {
  sql::Lock lock(r_.db);
  if (!r_.devices.get(scope, device_id)) return {};
  return r_.reports.alarms(device_id, limit);
}

}  // namespace chargehub::core
