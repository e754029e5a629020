#include "routes/views.hpp"

#include "chargehub/plan_json.hpp"

namespace chargehub::api {

DeviceView device_view(const core::Device& d) {
  DeviceView v{};
  v.id = d.id;
  v.name = d.name;
  v.model = d.model;
  v.ports = d.ports;
  v.hw = d.hw;
  v.fw = d.fw;
  v.iccid = d.iccid;
  v.enabled = d.enabled;
  v.lifecycle = std::string(name(d.lifecycle));
  v.plan_id = d.plan_id.value_or(1);
  v.online = d.online;
  v.last_seen_at = d.last_seen_at;
  v.csq = d.csq;
  v.temp_dc = d.temp_dc;
  v.mains_dv = d.mains_dv;
  v.power_w = d.power_w;
  v.auth = d.has_pubkey ? "ed25519" : (d.has_token ? "token" : "none");
  for (size_t i = 0; i < d.port_states.size(); ++i) v.port_states.push_back(PortView{static_cast<int64_t>(i + 1), d.port_states[i]});
  v.created_at = d.created_at;
  v.station_id = d.station_id;
  v.agent_id = d.agent_id;
  return v;
}

CommandView command_view(const core::CommandRow& c) {
  return CommandView{c.id,         c.device_id, c.op,           c.args,       std::string(name(c.state)), c.result,
                     c.reply ? json::value(*c.reply) : json::value(nullptr), c.error, c.session_id, c.origin.actor,
                     c.origin.reason, c.created_at, c.sent_at, c.replied_at, c.expires_at, c.sends, c.queries, c.last_sent_at,
                     c.query_for};
}

AlarmView alarm_view(const core::AlarmRow& a) {
  return AlarmView{a.id, a.code, a.port, a.value, a.created_at, a.occurrences, a.last_at};
}

json::object plan_json(const core::PlanRow& p) {
  json::object o = pricing::plan_to_json(p.plan);
  o["id"] = p.id;
  o["name"] = p.name;
  o["version"] = p.version;
  o["created_at"] = p.created_at;
  return o;
}

RiderView rider_view(const core::Rider& r) {
  return RiderView{r.id, r.name, r.phone, r.balance_fen, r.held_fen, r.available_fen(), r.created_at, r.agent_id};
}

LedgerView ledger_view(const core::LedgerEntry& e) {
  return LedgerView{e.id, std::string(name(e.kind)), e.amount_fen, e.session_id, e.note, e.created_at};
}

OfferView offer_view(const core::RechargeOffer& p) { return OfferView{p.id, p.name, p.amount_fen, p.bonus_fen, p.created_at}; }

const char* end_reason_name(int64_t r) {
  static const char* names[] = {"",          "full",             "limit_reached", "remote_stop", "port_overload", "unit_overload",
                                "over_temperature", "unplugged", "power_loss",    "fault",       "stopped_by_card"};
  return r >= 1 && r <= 10 ? names[r] : "";
}

SessionView session_view(const core::SessionRow& s) {
  SessionView v{};
  v.id = s.id;
  v.device_id = s.device_id;
  v.port = s.port;
  v.rider_id = s.rider_id;
  v.state = std::string(session::state_name(s.state));
  v.plan = pricing::plan_to_json(s.plan);
  v.plan["id"] = s.plan_id;
  v.plan["version"] = s.plan_version;
  v.prepaid_fen = s.prepaid_fen;
  v.mode = s.mode;
  v.limit = s.limit_value;
  v.energy_wh = s.energy_wh;
  v.duration_s = s.duration_s;
  v.power_w = s.power_w;
  v.max_power_w = s.max_power_w;
  v.amount_fen = s.amount_fen;
  v.end_reason = s.end_reason;
  v.end_reason_name = s.end_reason ? end_reason_name(*s.end_reason) : "";
  v.error = s.error;
  v.created_at = s.created_at;
  v.started_at = s.started_at;
  v.ended_at = s.ended_at;
  v.settled_at = s.settled_at;
  v.card_uid = s.card_uid;
  v.flag = s.flag;
  v.meter_flag = s.meter_flag;
  if (s.reported_energy_wh) v.reported = ReportedView{s.reported_energy_wh, s.reported_duration_s, s.reported_max_power_w};
  v.refunded_fen = s.refunded_fen;
  v.agent_id = s.agent_id;
  return v;
}

OrphanView orphan_view(const core::OrphanRecord& o) {
  OrphanView v{};
  v.id = o.id;
  v.device_id = o.device_id;
  v.port = o.port;
  v.session = o.session;
  v.msg = o.msg;
  v.reason = o.reason;
  v.reason_name = end_reason_name(o.reason);
  v.started_at = o.started_at;
  v.duration_s = o.duration_s;
  v.energy_wh = o.energy_wh;
  v.max_power_w = o.max_power_w;
  v.payload = o.payload;
  v.first_seen_at = o.first_seen_at;
  v.last_seen_at = o.last_seen_at;
  v.copies = o.copies;
  v.meter_flag = o.meter_flag;
  v.state = std::string(core::orphan_state_name(o.state));
  v.session_id = o.session_id;
  v.closed_reason = o.closed_reason;
  v.actor = o.actor;
  v.resolved_at = o.resolved_at;
  return v;
}

AccountView account_view(const core::AccountView& a) {
  return AccountView{a.id,     a.name,  a.display_name, a.phone,      a.kind,          a.agent_id,
                     a.frozen, a.must_change_password,  a.roles,      a.key_prefix,    a.created_at, a.last_login_at};
}

RoleView role_view(const core::RoleView& r) { return RoleView{r.id, r.key, r.name, r.builtin, r.agent_id, r.permissions}; }

AuditView audit_view(const core::AuditEntry& e) {
  return AuditView{e.id, e.at, e.account_id, e.actor, e.address, e.action, e.target_type, e.target_id, e.before, e.after};
}

}  // namespace chargehub::api
