#include "telemetry.hpp"

#include <algorithm>

namespace chargehub::core {

using session::Event;
using session::State;
namespace json = boost::json;

FollowUp Telemetry::meter(const std::string& device_id, const proto::Meter& m, int64_t now, const rules::TelemetryRules& rules) {
  sql::Tx tx(r_.db);
  FollowUp out;
  for (auto& p : m.ports) {
    if (p.session == 0) continue;
    auto s = r_.sessions.lock(p.session);   // a stop record on another core instance waits, or went first
    if (!s || s->device_id != device_id || s->port != p.port || !session::holds_port(s->state)) continue;
    // A reading for the session means it runs: it counts as START accepted.
    State state = session::next(s->state, Event::StartAccepted).value_or(s->state);
    // The meter check (Sessions::reading); the sample is kept raw either way.
    r_.sessions.add_sample(s->id, MeterSample{now, p.power_w, p.energy_wh, p.elapsed_s, p.voltage_dv, p.current_ma});
    auto got = sessions_.reading(*s, state, rules::Reported{p.energy_wh, p.elapsed_s, p.power_w}, now);
    if (!got) continue;
    pricing::Usage u = *got;
    if (state != State::Charging) continue;
    auto v = rules::check_meter(rules::MeterFacts{s->plan, s->prepaid_fen, u, static_cast<uint8_t>(s->mode), s->limit_value,
                                                  s->flag.has_value()},
                                p.power_w, rules);
    if (v.stop_for_funds) {
      if (auto c = sessions_.stop_in_tx(s->id, Origin::system("funds_exhausted"), now, 60)) out.commands.push_back(*c);
      continue;
    }
    if (v.shorter_limit) {
      r_.sessions.set_limit(s->id, v.shorter_limit->limit);
      auto cmd = make_command(device_id, "adjust",
                              json::object{{"port", s->port}, {"session", s->id}, {"mode", v.shorter_limit->mode},
                                           {"limit", v.shorter_limit->limit}},
                              Origin::system("power_band"), s->id, now, 60);
      r_.commands.insert(cmd);
      out.commands.push_back(cmd);
    }
    if (v.flag) r_.sessions.set_flag(s->id, *v.flag);
  }
  tx.commit();
  return out;
}

int64_t Telemetry::downsample(int64_t older_than, int64_t interval_s) {
  sql::Tx tx(r_.db);
  auto n = r_.sessions.downsample(older_than, interval_s);
  tx.commit();
  return n;
}

}  // namespace chargehub::core
