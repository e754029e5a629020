// What the API shows of each thing: plain structs described for Boost.JSON (value_from) and for the
// OpenAPI document (schema_of), filled from repository rows. One view per concept, used by every route
// that shows it.
#pragma once
#include <boost/describe.hpp>
#include <boost/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "app/accounts.hpp"
#include "app/app.hpp"
#include "app/audit.hpp"
#include "app/ota.hpp"

namespace chargehub::api {

namespace json = boost::json;
using std::optional;
using std::string;

struct PortView {
  int64_t port;
  int64_t state;
};
BOOST_DESCRIBE_STRUCT(PortView, (), (port, state))

struct BillingCountsView {
  int64_t implausible_stop_records, implausible_readings;
  optional<int64_t> last_implausible_at;
  int64_t orphan_records, open_orphan_records;
};
BOOST_DESCRIBE_STRUCT(BillingCountsView, (), (implausible_stop_records, implausible_readings, last_implausible_at, orphan_records, open_orphan_records))

struct DeviceView {
  string id, name;
  optional<int64_t> model;
  int64_t ports;
  optional<int64_t> hw;
  optional<string> fw, iccid;
  bool enabled;
  string lifecycle;
  int64_t plan_id;
  bool online;
  optional<int64_t> last_seen_at, csq, temp_dc, mains_dv, power_w;
  string auth;   // ed25519 | token | none
  std::vector<PortView> port_states;
  int64_t created_at;
  optional<int64_t> station_id, agent_id;   // where it stands, which agent runs it (null: the platform)
};
BOOST_DESCRIBE_STRUCT(DeviceView, (), (id, name, model, ports, hw, fw, iccid, enabled, lifecycle, plan_id, online, last_seen_at, csq,
                                       temp_dc, mains_dv, power_w, auth, port_states, created_at, station_id, agent_id))
DeviceView device_view(const core::Device& d);

// GET /devices/{device}: with what its misbehaviour adds up to.
struct DeviceDetailView : DeviceView {
  BillingCountsView billing;
};
BOOST_DESCRIBE_STRUCT(DeviceDetailView, (DeviceView), (billing))

// A device with a token just issued: shown once, only its hash is stored.
struct IssuedDeviceView : DeviceView {
  string token_hex, mqtt_password;
  optional<int64_t> old_token_valid_for_s;   // after a rotation: how long the previous token still works
};
BOOST_DESCRIBE_STRUCT(IssuedDeviceView, (DeviceView), (token_hex, mqtt_password, old_token_valid_for_s))

}  // namespace chargehub::api

// Views that extend another are written flat (the base's members beside their own).
template <>
struct boost::json::is_described_class<chargehub::api::DeviceDetailView> : std::true_type {};
template <>
struct boost::json::is_described_class<chargehub::api::IssuedDeviceView> : std::true_type {};

namespace chargehub::api {

struct DeletedView {
  string id;
  bool deleted;
};
BOOST_DESCRIBE_STRUCT(DeletedView, (), (id, deleted))

struct CommandView {
  string id, device_id, op;
  json::object args;
  string state;
  optional<int64_t> result;
  json::value reply;
  optional<string> error;
  optional<int64_t> session_id;
  string actor, reason;
  int64_t created_at;
  optional<int64_t> sent_at, replied_at;
  int64_t expires_at, sends, queries;
  optional<int64_t> last_sent_at;
  optional<string> query_for;
};
BOOST_DESCRIBE_STRUCT(CommandView, (), (id, device_id, op, args, state, result, reply, error, session_id, actor, reason, created_at,
                                        sent_at, replied_at, expires_at, sends, queries, last_sent_at, query_for))
CommandView command_view(const core::CommandRow& c);

struct AlarmView {
  int64_t id, code, port, value, created_at;
  int64_t occurrences, last_at;   // repeats of one condition collapse into one alarm (docs/core.md)
};
BOOST_DESCRIBE_STRUCT(AlarmView, (), (id, code, port, value, created_at, occurrences, last_at))
AlarmView alarm_view(const core::AlarmRow& a);

// Plans keep their flat shape: the plan's kind and prices (docs/pricing.md) beside id, name, version.
json::object plan_json(const core::PlanRow& p);   // the historical flat shape: spec fields beside id/name

struct RiderView {
  int64_t id;
  string name, phone;
  int64_t balance_fen, held_fen, available_fen, created_at;
  optional<int64_t> agent_id;   // the agent whose caller registered the rider (null: the platform)
};
BOOST_DESCRIBE_STRUCT(RiderView, (), (id, name, phone, balance_fen, held_fen, available_fen, created_at, agent_id))
RiderView rider_view(const core::Rider& r);

struct LedgerView {
  int64_t id;
  string kind;
  int64_t amount_fen;
  optional<int64_t> session_id;
  string note;
  int64_t created_at;
};
BOOST_DESCRIBE_STRUCT(LedgerView, (), (id, kind, amount_fen, session_id, note, created_at))
LedgerView ledger_view(const core::LedgerEntry& e);

struct CardView {
  string uid;
  int64_t rider_id;
  string state;
  int64_t created_at, balance_fen, available_fen;
};
BOOST_DESCRIBE_STRUCT(CardView, (), (uid, rider_id, state, created_at, balance_fen, available_fen))

struct OfferView {
  int64_t id;
  string name;
  int64_t amount_fen, bonus_fen, created_at;
};
BOOST_DESCRIBE_STRUCT(OfferView, (), (id, name, amount_fen, bonus_fen, created_at))
OfferView offer_view(const core::RechargeOffer& p);

struct ReportedView {
  optional<int64_t> energy_wh, duration_s, max_power_w;
};
BOOST_DESCRIBE_STRUCT(ReportedView, (), (energy_wh, duration_s, max_power_w))

struct SessionView {
  int64_t id;
  string device_id;
  int64_t port;
  optional<int64_t> rider_id;
  string state;
  json::object plan;
  int64_t prepaid_fen, mode, limit, energy_wh, duration_s, power_w, max_power_w;
  optional<int64_t> amount_fen, end_reason;
  string end_reason_name;
  optional<string> error;
  int64_t created_at;
  optional<int64_t> started_at, ended_at, settled_at;
  optional<string> card_uid, flag, meter_flag;
  optional<ReportedView> reported;
  int64_t refunded_fen;
  optional<int64_t> agent_id;   // whose income it is: the device's agent when it started (null: the platform)
};
BOOST_DESCRIBE_STRUCT(SessionView, (), (id, device_id, port, rider_id, state, plan, prepaid_fen, mode, limit, energy_wh, duration_s,
                                        power_w, max_power_w, amount_fen, end_reason, end_reason_name, error, created_at, started_at,
                                        ended_at, settled_at, card_uid, flag, meter_flag, reported, refunded_fen, agent_id))
SessionView session_view(const core::SessionRow& s);
const char* end_reason_name(int64_t r);

struct SampleView {
  int64_t ts, power_w, energy_wh, elapsed_s, voltage_dv, current_ma;
};
BOOST_DESCRIBE_STRUCT(SampleView, (), (ts, power_w, energy_wh, elapsed_s, voltage_dv, current_ma))

struct OrphanView {
  int64_t id;
  string device_id;
  int64_t port, session;
  string msg;
  int64_t reason;
  string reason_name;
  int64_t started_at, duration_s, energy_wh, max_power_w;
  string payload;
  int64_t first_seen_at, last_seen_at, copies;
  optional<string> meter_flag;
  string state;
  optional<int64_t> session_id;
  optional<string> closed_reason, actor;
  optional<int64_t> resolved_at;
  optional<SessionView> settled_session;   // POST /orphans/{id}/settle
};
BOOST_DESCRIBE_STRUCT(OrphanView, (), (id, device_id, port, session, msg, reason, reason_name, started_at, duration_s, energy_wh,
                                       max_power_w, payload, first_seen_at, last_seen_at, copies, meter_flag, state, session_id,
                                       closed_reason, actor, resolved_at, settled_session))
OrphanView orphan_view(const core::OrphanRecord& o);

struct AccountView {
  int64_t id;
  string name, display_name, phone, kind;
  optional<int64_t> agent_id;
  bool frozen, must_change_password;
  std::vector<string> roles;
  optional<string> key_prefix;
  int64_t created_at;
  optional<int64_t> last_login_at;
};
BOOST_DESCRIBE_STRUCT(AccountView, (), (id, name, display_name, phone, kind, agent_id, frozen, must_change_password, roles, key_prefix,
                                        created_at, last_login_at))
AccountView account_view(const core::AccountView& a);

struct RoleView {
  int64_t id;
  string key, name;
  bool builtin;
  optional<int64_t> agent_id;
  std::vector<string> permissions;
};
BOOST_DESCRIBE_STRUCT(RoleView, (), (id, key, name, builtin, agent_id, permissions))
RoleView role_view(const core::RoleView& r);

struct AuditView {
  int64_t id, at;
  optional<int64_t> account_id;
  string actor, address, action, target_type, target_id;
  json::value before, after;
};
BOOST_DESCRIBE_STRUCT(AuditView, (), (id, at, account_id, actor, address, action, target_type, target_id, before, after))
AuditView audit_view(const core::AuditEntry& e);

}  // namespace chargehub::api
