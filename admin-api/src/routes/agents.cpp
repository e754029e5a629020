// Agents, stations and where devices stand (issue 17, docs/agents.md). Every id outside the caller's
// scope answers 404, as if it did not exist: the use cases take ctx.scope() and find nothing.
#include <boost/describe.hpp>

#include "routes/routes.hpp"
#include "routes/views.hpp"

namespace chargehub::api {

// The views and bodies live in chargehub::api (not an unnamed namespace): value_from finds the kernel's
// tag_invoke for described structs by argument-dependent lookup.

// ---- views ----

struct AgentView {
  int64_t id;
  optional<int64_t> parent_id;
  int64_t level;
  string name;
  int64_t share_bp;   // basis points: 10000 = 100 %
  string contact_name, contact_phone, settlement_account;
  bool frozen;
  int64_t created_at, updated_at;
};
BOOST_DESCRIBE_STRUCT(AgentView, (), (id, parent_id, level, name, share_bp, contact_name, contact_phone, settlement_account, frozen, created_at,
                                      updated_at))
AgentView agent_view(const core::AgentRow& a) {
  return AgentView{a.id,           a.parent_id,     a.level,
                   a.name,         a.share_bp,      a.contact_name,
                   a.contact_phone, a.settlement_account, a.frozen,
                   a.created_at,   a.updated_at};
}

// A new agent with its admin account; the initial password is shown here once (the audit redacts it).
struct CreatedAgentView : AgentView {
  AccountView admin;
  string admin_name, initial_password;
};
BOOST_DESCRIBE_STRUCT(CreatedAgentView, (AgentView), (admin, admin_name, initial_password))

struct StationView {
  int64_t id;
  optional<int64_t> agent_id;   // none: run by the platform
  string name, address;
  optional<int64_t> lat_e6, lng_e6;   // GCJ-02, microdegrees
  string open_hours;
  std::vector<string> photos;
  int64_t created_at, updated_at;
};
BOOST_DESCRIBE_STRUCT(StationView, (), (id, agent_id, name, address, lat_e6, lng_e6, open_hours, photos, created_at, updated_at))
StationView station_view(const core::StationRow& s) {
  return StationView{s.id, s.agent_id, s.name, s.address, s.lat_e6, s.lng_e6, s.open_hours, s.photos, s.created_at, s.updated_at};
}

struct PlacementView {
  string device_id;
  optional<int64_t> station_id, agent_id;
};
BOOST_DESCRIBE_STRUCT(PlacementView, (), (device_id, station_id, agent_id))

struct AssignedView {
  std::vector<PlacementView> devices;
};
BOOST_DESCRIBE_STRUCT(AssignedView, (), (devices))

// ---- bodies ----

struct NewAgentBody {
  string name;
  optional<int64_t> share_bp;
  optional<string> contact_name, contact_phone, settlement_account;
  string admin_name;                  // the admin account's login name
  optional<string> admin_password;    // its initial password; absent: generated
};
BOOST_DESCRIBE_STRUCT(NewAgentBody, (), (name, share_bp, contact_name, contact_phone, settlement_account, admin_name, admin_password))

struct EditAgentBody {
  optional<string> name, contact_name, contact_phone, settlement_account;
  optional<int64_t> share_bp;
};
BOOST_DESCRIBE_STRUCT(EditAgentBody, (), (name, contact_name, contact_phone, settlement_account, share_bp))

struct NewStationBody {
  string name;
  optional<string> address;
  optional<int64_t> lat_e6, lng_e6;
  optional<string> open_hours;
  optional<std::vector<string>> photos;
  optional<int64_t> agent_id;   // absent: the caller's own agent (the platform for the platform's callers)
};
BOOST_DESCRIBE_STRUCT(NewStationBody, (), (name, address, lat_e6, lng_e6, open_hours, photos, agent_id))

struct EditStationBody {
  optional<string> name, address, open_hours;
  optional<int64_t> lat_e6, lng_e6;   // both together
  optional<std::vector<string>> photos;
};
BOOST_DESCRIBE_STRUCT(EditStationBody, (), (name, address, open_hours, lat_e6, lng_e6, photos))

struct MoveStationBody {
  optional<int64_t> agent_id;   // null: the platform takes it over (the platform's callers only)
};
BOOST_DESCRIBE_STRUCT(MoveStationBody, (), (agent_id))

struct AssignBody {
  std::vector<string> device_ids;
  optional<int64_t> station_id, agent_id;   // one of them
};
BOOST_DESCRIBE_STRUCT(AssignBody, (), (device_ids, station_id, agent_id))

namespace {

std::optional<json::value> agent_snapshot(Ctx& c, const std::string& id) {
  auto a = c.app.agents.get(c.scope(), std::stoll(id));
  if (!a) return std::nullopt;
  return json::value_from(agent_view(*a));
}
std::optional<json::value> station_snapshot(Ctx& c, const std::string& id) {
  auto s = c.app.stations.get(c.scope(), std::stoll(id));
  if (!s) return std::nullopt;
  return json::value_from(station_view(*s));
}

}  // namespace

std::vector<Route> agent_routes() {
  std::vector<Route> r;
  // ---- agents ----
  r.push_back(Route{"POST", "/api/v1/agents", "agents.manage", Scope::Platform,
                    "Sign an agent with its admin account (the platform: first level; a first-level agent: second level)",
                    [](Ctx& c) {
                      auto b = c.body<NewAgentBody>();
                      core::NewAgent n{b.name,
                                       b.share_bp.value_or(0),
                                       b.contact_name.value_or(""),
                                       b.contact_phone.value_or(""),
                                       b.settlement_account.value_or(""),
                                       b.admin_name,
                                       b.admin_password};
                      auto res = c.app.agents.create(c.caller, n, c.now);
                      if (!res) return refuse(res.refusal);
                      // The shape of CreatedAgentView, put together by hand (its schema is described).
                      auto v = json::value_from(agent_view(res.value->agent)).as_object();
                      v["admin"] = json::value_from(account_view(res.value->admin));
                      v["admin_name"] = res.value->admin.name;
                      v["initial_password"] = res.value->initial_password;
                      return ok(std::move(v), 201);
                    }}
                  .with_request<NewAgentBody>()
                  .with_response<CreatedAgentView>()
                  .answers(201)
                  .may_refuse({"too_deep", "bad_agent_name", "bad_share", "bad_contact", "bad_settlement", "share_above_parent", "bad_name",
                               "name_taken", "weak_password", "role_exceeds"})
                  .audited("agent.create", "agent"));
  r.push_back(Route{"GET", "/api/v1/agents", "agents.view", Scope::Platform,
                    "Agents within the caller's scope (q: part of the name, contact or phone; parent_id; level; frozen)",
                    [](Ctx& c) {
                      auto p = c.page({"id", "name", "created_at", "share_bp"});
                      core::AgentQuery q{c.query("q"), c.query_int("parent_id", 1, INT64_MAX), c.query_int("level", 1, 2), c.query_bool("frozen")};
                      return ok(page_json(c.app.agents.list(c.scope(), q, p), p, agent_view));
                    }}
                  .with_page<AgentView>()
                  .with_query({"q", "parent_id", "level", "frozen"}));
  r.push_back(Route{"GET", "/api/v1/agents/{id}", "agents.view", Scope::Platform, "An agent",
                    [](Ctx& c) {
                      auto a = c.app.agents.get(c.scope(), c.id("id"));
                      if (!a) return fail(404, "agent_not_found", "no agent with this id");
                      return ok(json::value_from(agent_view(*a)));
                    }}
                  .with_response<AgentView>()
                  .may_refuse({"agent_not_found"}));
  r.push_back(Route{"PATCH", "/api/v1/agents/{id}", "agents.manage", Scope::Platform,
                    "Change an agent's name, contact, settlement details or share (its signer only)",
                    [](Ctx& c) {
                      auto b = c.body<EditAgentBody>();
                      core::AgentChange ch{b.name, b.contact_name, b.contact_phone, b.settlement_account, b.share_bp};
                      return result(c.app.agents.update(c.scope(), c.id("id"), ch, c.now), 200, agent_view);
                    }}
                  .with_request<EditAgentBody>()
                  .with_response<AgentView>()
                  .may_refuse({"agent_not_found", "agent_is_own", "bad_agent_name", "bad_share", "bad_contact", "bad_settlement",
                               "share_above_parent", "share_below_sub_agent"})
                  .audited("agent.update", "agent", "id", agent_snapshot));
  for (bool freeze : {true, false}) {
    r.push_back(Route{"POST", freeze ? "/api/v1/agents/{id}/freeze" : "/api/v1/agents/{id}/unfreeze", "agents.manage", Scope::Platform,
                      freeze ? "Freeze an agent: its accounts and its sub-agents' cannot log in; its chargers keep charging"
                             : "Unfreeze an agent",
                      [freeze](Ctx& c) { return result(c.app.agents.set_frozen(c.scope(), c.id("id"), freeze, c.now), 200, agent_view); }}
                    .with_response<AgentView>()
                    .may_refuse({"agent_not_found", "agent_is_own"})
                    .audited(freeze ? "agent.freeze" : "agent.unfreeze", "agent", "id", agent_snapshot));
  }

  // ---- stations ----
  r.push_back(Route{"POST", "/api/v1/stations", "stations.manage", Scope::Platform, "Create a station",
                    [](Ctx& c) {
                      auto b = c.body<NewStationBody>();
                      core::NewStation n{b.name,   b.address.value_or(""), b.lat_e6, b.lng_e6, b.open_hours.value_or(""),
                                         b.photos.value_or(std::vector<std::string>{}), b.agent_id};
                      return result(c.app.stations.create(c.scope(), n, c.now), 201, station_view);
                    }}
                  .with_request<NewStationBody>()
                  .with_response<StationView>()
                  .answers(201)
                  .may_refuse({"bad_station", "agent_not_found"})
                  .audited("station.create", "station"));
  r.push_back(Route{"GET", "/api/v1/stations", "stations.view", Scope::Platform,
                    "Stations within the caller's scope (q: part of the name or address; agent_id)",
                    [](Ctx& c) {
                      auto p = c.page({"id", "name", "created_at"});
                      core::StationQuery q{c.query("q"), c.query_int("agent_id", 1, INT64_MAX)};
                      return ok(page_json(c.app.stations.list(c.scope(), q, p), p, station_view));
                    }}
                  .with_page<StationView>()
                  .with_query({"q", "agent_id"}));
  r.push_back(Route{"GET", "/api/v1/stations/{id}", "stations.view", Scope::Platform, "A station",
                    [](Ctx& c) {
                      auto s = c.app.stations.get(c.scope(), c.id("id"));
                      if (!s) return fail(404, "station_not_found", "no station with this id");
                      return ok(json::value_from(station_view(*s)));
                    }}
                  .with_response<StationView>()
                  .may_refuse({"station_not_found"}));
  r.push_back(Route{"PATCH", "/api/v1/stations/{id}", "stations.manage", Scope::Platform,
                    "Change a station's name, address, coordinates, opening hours or photos",
                    [](Ctx& c) {
                      auto b = c.body<EditStationBody>();
                      core::StationChange ch{b.name, b.address, b.open_hours, b.lat_e6, b.lng_e6, false, b.photos};
                      return result(c.app.stations.update(c.scope(), c.id("id"), ch, c.now), 200, station_view);
                    }}
                  .with_request<EditStationBody>()
                  .with_response<StationView>()
                  .may_refuse({"station_not_found", "bad_station"})
                  .audited("station.update", "station", "id", station_snapshot));
  r.push_back(Route{"DELETE", "/api/v1/stations/{id}", "stations.manage", Scope::Platform, "Delete a station without devices",
                    [](Ctx& c) { return result(c.app.stations.remove(c.scope(), c.id("id")), 200, station_view); }}
                  .with_response<StationView>()
                  .may_refuse({"station_not_found", "station_in_use"})
                  .audited("station.delete", "station", "id", station_snapshot));
  r.push_back(Route{"POST", "/api/v1/stations/{id}/move", "stations.manage", Scope::Platform,
                    "Move a station and its devices to another agent (running sessions keep theirs)",
                    [](Ctx& c) {
                      auto b = c.body<MoveStationBody>();
                      return result(c.app.stations.move(c.scope(), c.id("id"), b.agent_id, c.now), 200, station_view);
                    }}
                  .with_request<MoveStationBody>()
                  .with_response<StationView>()
                  .may_refuse({"station_not_found", "agent_not_found", "bad_target"})
                  .audited("station.move", "station", "id", station_snapshot));

  // ---- devices ----
  r.push_back(Route{"POST", "/api/v1/devices/assign", "devices.edit", Scope::Platform,
                    "Put devices at a station (they take its agent) or give them to an agent, all or none",
                    [](Ctx& c) {
                      auto b = c.body<AssignBody>();
                      std::string ids;
                      for (const auto& d : b.device_ids) ids += (ids.empty() ? "" : ",") + d;
                      c.audit_target = ids.substr(0, 200);
                      auto res = c.app.stations.assign(c.scope(), b.device_ids, core::Target{b.station_id, b.agent_id}, c.now);
                      if (!res) return refuse(res.refusal);
                      AssignedView v;
                      for (const auto& p : *res.value) v.devices.push_back(PlacementView{p.device_id, p.station_id, p.agent_id});
                      return ok(json::value_from(v));
                    }}
                  .with_request<AssignBody>()
                  .with_response<AssignedView>()
                  .may_refuse({"bad_target", "device_not_found", "station_not_found", "agent_not_found"})
                  .audited("device.assign", "device"));
  return r;
}

}  // namespace chargehub::api
