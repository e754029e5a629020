// Devices: registering, credentials, enabling, lifecycle, plans, commands and alarms, within the caller's scope.
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "chargehub/credentials.hpp"
#include "chargehub/encoding.hpp"
#include "chargehub/frame.hpp"
#include "routes/routes.hpp"
#include "routes/views.hpp"

namespace chargehub::api {

namespace {

struct NewDeviceBody {
  std::string id;
  optional<std::string> name;
  optional<int64_t> ports, model;
  optional<std::string> pubkey;   // Ed25519 public key, 64 hex digits; without it a token is issued
};
BOOST_DESCRIBE_STRUCT(NewDeviceBody, (), (id, name, ports, model, pubkey))

struct PlanBody {
  int64_t plan_id;
};
BOOST_DESCRIBE_STRUCT(PlanBody, (), (plan_id))

struct LifecycleBody {
  std::string lifecycle;
};
BOOST_DESCRIBE_STRUCT(LifecycleBody, (), (lifecycle))

struct TokenBody {
  optional<int64_t> grace_s;   // how long the old token keeps working (0..30 days)
};
BOOST_DESCRIBE_STRUCT(TokenBody, (), (grace_s))

struct CommandBody {
  std::string op;
  optional<json::object> args;
};
BOOST_DESCRIBE_STRUCT(CommandBody, (), (op, args))

// A new device token: its hex form (shown once), the MQTT password form, and the hash we store.
struct IssuedToken {
  std::string hex, mqtt_password, hash;
};
IssuedToken issue_token() {
  uint8_t tok[24];
  RAND_bytes(tok, sizeof tok);
  IssuedToken t;
  t.hex = proto::to_hex(std::span<const uint8_t>(tok, sizeof tok));
  unsigned char md[32];
  unsigned int len = 0;
  EVP_Digest(tok, sizeof tok, md, &len, EVP_sha256(), nullptr);
  t.hash = proto::to_hex(std::span<const uint8_t>(md, len));
  t.mqtt_password = credentials::token_password(std::span<const uint8_t>(tok, sizeof tok));
  OPENSSL_cleanse(tok, sizeof tok);
  return t;
}

// The audit's picture of a device.
std::optional<json::value> device_snapshot(Ctx& c, const std::string& id) {
  auto d = c.app.devices.get(c.scope(), id);
  if (!d) return std::nullopt;
  return json::value_from(device_view(*d));
}

std::string short_text(const optional<std::string>& v, std::string_view field, size_t max) {
  if (!v) return "";
  need(v->size() <= max, "bad_field", field, std::string(field) + " must be at most " + std::to_string(max) + " bytes");
  return *v;
}

}  // namespace

std::vector<Route> device_routes() {
  std::vector<Route> r;
  r.push_back(Route{"POST", "/api/v1/devices", "devices.create", Scope::Platform, "Register a device (a token is issued unless a pubkey is given)",
                    [](Ctx& c) {
                      auto b = c.body<NewDeviceBody>();
                      need(proto::parse_device_id(b.id).has_value(), "bad_id", "id", "id must be 1-16 decimal digits without leading zeros");
                      auto name = short_text(b.name, "name", 200);
                      int64_t ports = b.ports.value_or(10), model = b.model.value_or(1);
                      need(ports >= 1 && ports <= 32, "bad_field", "ports", "ports must be 1..32");
                      need(model >= 1 && model <= 5, "bad_field", "model", "model must be 1..5");
                      auto pubkey = b.pubkey.value_or("");
                      need(pubkey.empty() || (pubkey.size() == 64 && pubkey.find_first_not_of("0123456789abcdef") == std::string::npos),
                           "bad_pubkey", "pubkey", "pubkey must be 64 lower-case hex digits (Ed25519)");
                      core::NewDevice d{b.id, name, ports, model, std::nullopt, std::nullopt};
                      std::optional<IssuedToken> token;
                      if (pubkey.empty()) {
                        token = issue_token();
                        d.token_hash = token->hash;
                      } else {
                        d.pubkey = pubkey;
                      }
                      auto res = c.svc.create_device(d);
                      if (!res) return refuse(res.refusal);
                      if (!token) return ok(json::value_from(device_view(*res.value)), 201);
                      IssuedDeviceView v{device_view(*res.value), token->hex, token->mqtt_password, std::nullopt};
                      return ok(json::value_from(v), 201);
                    }}
                  .with_request<NewDeviceBody>()
                  .with_response<IssuedDeviceView>()
                  .answers(201)
                  .may_refuse({"device_exists"})
                  .audited("device.create", "device"));
  r.push_back(Route{"GET", "/api/v1/devices", "devices.view", Scope::Platform, "List devices",
                    [](Ctx& c) {
                      core::DeviceFilter f;
                      f.q = c.query("q");
                      f.online = c.query_bool("online");
                      f.enabled = c.query_bool("enabled");
                      f.lifecycle = c.query("lifecycle");
                      f.station_id = c.query_int("station_id", 1, INT64_MAX);
                      f.agent_id = c.query_int("agent_id", 1, INT64_MAX);
                      auto p = c.page({"id", "created_at", "last_seen_at", "name"});
                      return ok(page_json(c.app.devices.page(c.scope(), f, p), p, device_view));
                    }}
                  .with_page<DeviceView>()
                  .with_query({"q", "online", "enabled", "lifecycle", "station_id", "agent_id"}));
  r.push_back(Route{"GET", "/api/v1/devices/{device}", "devices.view", Scope::Platform, "A device, with its billing counts",
                    [](Ctx& c) {
                      auto d = c.app.devices.get(c.scope(), c.param("device"));
                      if (!d) return fail(404, "device_not_found", "no device with this id");
                      auto counts = c.app.inbox.counts(d->id);
                      DeviceDetailView v{device_view(*d), BillingCountsView{counts.meter.implausible_ends, counts.meter.implausible_readings,
                                                                            counts.meter.last_implausible_at, counts.orphans.total,
                                                                            counts.orphans.open}};
                      return ok(json::value_from(v));
                    }}
                  .with_response<DeviceDetailView>()
                  .may_refuse({"device_not_found"}));
  r.push_back(Route{"PUT", "/api/v1/devices/{device}/plan", "devices.edit", Scope::Platform, "Give a device a price plan",
                    [](Ctx& c) {
                      auto b = c.body<PlanBody>();
                      need(b.plan_id > 0, "bad_field", "plan_id", "plan_id must be a positive integer");
                      return result(c.app.devices.assign_plan(c.scope(), c.param("device"), b.plan_id), 200, device_view);
                    }}
                  .with_request<PlanBody>()
                  .with_response<DeviceView>()
                  .may_refuse({"device_not_found", "plan_not_found"})
                  .audited("device.plan", "device", "device", device_snapshot));
  for (bool enable : {true, false}) {
    r.push_back(Route{"POST", enable ? "/api/v1/devices/{device}/enable" : "/api/v1/devices/{device}/disable", "devices.control",
                      Scope::Platform, enable ? "Enable a device (its charger may log in)" : "Disable a device (kicked within a second)",
                      [enable](Ctx& c) { return result(c.svc.set_enabled(c.scope(), c.param("device"), enable), 200, device_view); }}
                    .with_response<DeviceView>()
                    .may_refuse({"device_not_found"})
                    .audited(enable ? "device.enable" : "device.disable", "device", "device", device_snapshot));
  }
  r.push_back(Route{"DELETE", "/api/v1/devices/{device}", "devices.delete", Scope::Platform, "Delete a device (credentials cleared)",
                    [](Ctx& c) {
                      auto res = c.svc.delete_device(c.scope(), c.param("device"));
                      if (!res) return refuse(res.refusal);
                      return ok(json::value_from(DeletedView{res.value->id, true}));
                    }}
                  .with_response<DeletedView>()
                  .may_refuse({"device_not_found", "device_busy"})
                  .audited("device.delete", "device", "device", device_snapshot));
  r.push_back(Route{"PUT", "/api/v1/devices/{device}/lifecycle", "devices.edit", Scope::Platform, "Move a device through its lifecycle",
                    [](Ctx& c) {
                      auto b = c.body<LifecycleBody>();
                      return result(c.app.devices.set_lifecycle(c.scope(), c.param("device"), b.lifecycle), 200, device_view);
                    }}
                  .with_request<LifecycleBody>()
                  .with_response<DeviceView>()
                  .may_refuse({"device_not_found", "bad_lifecycle"})
                  .audited("device.lifecycle", "device", "device", device_snapshot));
  r.push_back(Route{"POST", "/api/v1/devices/{device}/token", "devices.credentials", Scope::Platform,
                    "Issue a new device token (the old one works for grace_s)",
                    [](Ctx& c) {
                      auto b = c.body<TokenBody>();
                      int64_t grace = b.grace_s.value_or(0);
                      need(grace >= 0 && grace <= 30 * 86400, "bad_field", "grace_s", "grace_s must be 0..2592000");
                      auto t = issue_token();
                      auto res = c.svc.rotate_token(c.scope(), c.param("device"), t.hash, grace);
                      if (!res) return refuse(res.refusal);
                      IssuedDeviceView v{device_view(*res.value), t.hex, t.mqtt_password, grace};
                      return ok(json::value_from(v));
                    }}
                  .with_request<TokenBody>()
                  .with_response<IssuedDeviceView>()
                  .may_refuse({"device_not_found"})
                  .audited("device.token", "device", "device", device_snapshot));
  r.push_back(Route{"GET", "/api/v1/devices/{device}/commands", "devices.view", Scope::Platform, "A device's commands, newest first",
                    [](Ctx& c) {
                      auto p = c.page({"created_at"});
                      if (!c.app.devices.get(c.scope(), c.param("device"))) return fail(404, "device_not_found", "no device with this id");
                      return ok(page_json(c.app.commands.page_for_device(c.scope(), c.param("device"), p), p, command_view));
                    }}
                  .with_page<CommandView>());
  r.push_back(Route{"POST", "/api/v1/devices/{device}/commands", "devices.control", Scope::Platform, "Send a command to a device",
                    [](Ctx& c) {
                      auto b = c.body<CommandBody>();
                      need(!b.op.empty() && b.op.size() <= 32, "bad_field", "op", "op is required (at most 32 bytes)");
                      auto res = c.svc.send_command(c.scope(), c.param("device"), b.op, b.args.value_or(json::object{}), c.origin("operator"));
                      if (!res) return refuse(res.refusal);
                      c.audit_target = c.param("device");
                      return ok(json::value_from(command_view(*res.value)), 202);
                    }}
                  .with_request<CommandBody>()
                  .with_response<CommandView>()
                  .answers(202)
                  .may_refuse({"device_not_found", "bad_command", "use_sessions", "device_disabled"})
                  .audited("device.command", "device"));
  r.push_back(Route{"GET", "/api/v1/devices/{device}/alarms", "devices.view", Scope::Platform, "A device's alarms, newest first",
                    [](Ctx& c) {
                      auto p = c.page({});
                      if (!c.app.devices.get(c.scope(), c.param("device"))) return fail(404, "device_not_found", "no device with this id");
                      return ok(page_json(page_of(c.app.alarms.list(c.scope(), c.param("device"), 1000), p), p, alarm_view));
                    }}
                  .with_page<AlarmView>());
  return r;
}

}  // namespace chargehub::api
