// Firmware and rollouts (docs/ota.md, "Admin API").
#include <map>

#include "chargehub/ota/firmware.hpp"
#include "chargehub/ota_api.hpp"
#include "routes/routes.hpp"
#include "routes/views.hpp"

namespace chargehub::api {

namespace {

json::object firmware_json(const core::FirmwareRow& f) {
  json::object o = firmware::to_json(f.manifest);
  o["id"] = f.id;
  o["created_by"] = f.created_by;
  o["created_at"] = f.created_at;
  return o;
}

json::object rollout_json(core::Ota& ota, const core::RolloutRow& r) {
  json::array stages;
  for (int p : r.stages) stages.push_back(p);
  // Every device state with its count, keys in alphabetical order.
  std::map<std::string, int64_t> by_name;
  for (auto& [s, n] : r.counts) by_name[std::string(name(s))] = n;
  json::object counts;
  for (auto& [k, v] : by_name) counts[k] = v;
  auto fw = ota.firmware(r.firmware_id);
  using S = RolloutDeviceState;
  return {{"id", r.id},
          {"firmware_id", r.firmware_id},
          {"version", fw ? json::value(fw->manifest.version.text()) : json::value(nullptr)},
          {"model", fw ? json::value(fw->manifest.model) : json::value(nullptr)},
          {"target_kind", r.target_kind},
          {"target", r.target},
          {"stages", std::move(stages)},
          {"stage", r.stage + 1},
          {"stage_pct", r.stage < static_cast<int>(r.stages.size()) ? r.stages[static_cast<size_t>(r.stage)] : 100},
          {"max_failure_pct", r.max_failure_pct},
          {"max_concurrent", r.max_concurrent},
          {"state", name(r.state)},
          {"pause_reason", r.pause_reason ? json::value(*r.pause_reason) : json::value(nullptr)},
          {"total", r.total},
          {"installed", r.count(S::Installed)},
          {"failures", r.count(S::Failed) + r.count(S::RolledBack)},
          {"counts", std::move(counts)},
          {"created_by", r.created_by},
          {"created_at", r.created_at},
          {"updated_at", r.updated_at},
          {"finished_at", r.finished_at ? json::value(*r.finished_at) : json::value(nullptr)}};
}

json::object rollout_device_json(const core::RolloutDeviceRow& d) {
  auto opt = [](const std::optional<int64_t>& v) { return v ? json::value(*v) : json::value(nullptr); };
  auto opts = [](const std::optional<std::string>& v) { return v ? json::value(*v) : json::value(nullptr); };
  return {{"device_id", d.device_id},
          {"seq", d.seq},
          {"stage", d.stage ? json::value(*d.stage + 1) : json::value(nullptr)},   // 1-based, as the rollout's
          {"state", name(d.state)},
          {"from_fw", opts(d.from_fw)},
          {"bytes", d.bytes},
          {"command_id", opts(d.command_id)},
          {"offer_result", opt(d.offer_result)},
          {"attempts", d.attempts},
          {"error", opts(d.error)},
          {"offered_at", opt(d.offered_at)},
          {"updated_at", d.updated_at},
          {"finished_at", opt(d.finished_at)}};
}

struct RolloutBody {
  int64_t firmware_id;
  json::object target;   // exactly one of {"model":N}, {"devices":[...]}, {"station":"…"}, {"agent":"…"}
  optional<std::vector<int64_t>> stages;   // percentages, e.g. [1,10,100]
  optional<int64_t> max_failure_pct, max_concurrent;
};
BOOST_DESCRIBE_STRUCT(RolloutBody, (), (firmware_id, target, stages, max_failure_pct, max_concurrent))

json::value object_schema(const char* what) { return json::object{{"type", "object"}, {"description", what}}; }

}  // namespace

std::vector<Route> ota_routes(core::Ota& ota) {
  std::vector<Route> r;
  Route upload{"POST", "/api/v1/firmware", "firmware.upload", Scope::Platform, "Upload a signed firmware package",
               [&ota](Ctx& c) {
                 std::string why;
                 auto p = firmware::parse_package(c.req.body, &why);
                 if (!p) return fail(400, "bad_package", why);
                 auto res = ota.add_firmware(*p, c.caller.actor());
                 if (!res) return refuse(res.refusal);
                 return ok(firmware_json(*res.value), 201);
               }};
  upload.request_schema = object_schema("a firmware package: manifest fields and image_base64 (docs/ota.md)");
  upload.response_schema = object_schema("the firmware's manifest with id, created_by, created_at");
  r.push_back(std::move(upload.answers(201)
                            .with_body_limit(kFirmwareUploadMax, true)
                            .may_refuse({"size_mismatch", "hash_mismatch", "bad_signature", "no_firmware_key", "firmware_exists"})
                            .audited("firmware.upload", "firmware")));
  Route list_fw{"GET", "/api/v1/firmware", "firmware.view", Scope::Platform, "The firmware registry",
                [&ota](Ctx& c) {
                  auto p = c.page({});
                  return ok(page_json(page_of(ota.firmware_list(), p), p, firmware_json));
                }};
  list_fw.response_schema = page_schema(object_schema("a firmware"));
  list_fw.paged = true;
  r.push_back(std::move(list_fw));
  Route get_fw{"GET", "/api/v1/firmware/{id}", "firmware.view", Scope::Platform, "A firmware",
               [&ota](Ctx& c) {
                 auto f = ota.firmware(c.id("id"));
                 if (!f) return fail(404, "firmware_not_found", "no firmware with this id");
                 return ok(firmware_json(*f));
               }};
  get_fw.response_schema = object_schema("a firmware");
  r.push_back(std::move(get_fw.may_refuse({"firmware_not_found"})));

  r.push_back(Route{"POST", "/api/v1/rollouts", "rollouts.manage", Scope::Platform, "Roll a firmware out in stages",
                    [&ota](Ctx& c) {
                      auto b = c.body<RolloutBody>();
                      core::RolloutRequest rq;
                      rq.created_by = c.caller.actor();
                      need(b.firmware_id > 0, "bad_field", "firmware_id", "firmware_id is an id from GET /api/v1/firmware");
                      int64_t pct = b.max_failure_pct.value_or(rq.max_failure_pct), conc = b.max_concurrent.value_or(rq.max_concurrent);
                      need(pct >= 0 && pct <= 100, "bad_field", "max_failure_pct", "max_failure_pct must be 0..100");
                      need(conc >= 1 && conc <= 100000, "bad_field", "max_concurrent", "max_concurrent must be 1..100000");
                      rq.firmware_id = b.firmware_id;
                      rq.max_failure_pct = static_cast<int>(pct);
                      rq.max_concurrent = static_cast<int>(conc);
                      if (b.stages) {
                        rq.stages.clear();
                        for (auto x : *b.stages) {
                          need(x >= 0 && x <= 100, "bad_stages", "stages", "stages must be a list of percentages, e.g. [1,10,100]");
                          rq.stages.push_back(static_cast<int>(x));
                        }
                      }
                      need(b.target.size() == 1, "bad_target", "target",
                           "target must be one of {\"model\":N}, {\"devices\":[...]}, {\"station\":\"…\"}, {\"agent\":\"…\"}");
                      rq.target_kind = b.target.begin()->key();
                      rq.target = b.target;
                      auto res = ota.create_rollout(rq);
                      if (!res) return refuse(res.refusal);
                      return ok(rollout_json(ota, *res.value), 201);
                    }}
                  .with_request<RolloutBody>()
                  .answers(201)
                  .may_refuse({"firmware_not_found", "bad_stages", "bad_target"})
                  .audited("rollout.create", "rollout"));
  r.back().response_schema = object_schema("a rollout with its counts per device state");
  Route list_ro{"GET", "/api/v1/rollouts", "rollouts.view", Scope::Platform, "Rollouts, newest first",
                [&ota](Ctx& c) {
                  auto p = c.page({});
                  return ok(page_json(page_of(ota.rollouts(10000), p), p, [&ota](const core::RolloutRow& x) { return rollout_json(ota, x); }));
                }};
  list_ro.response_schema = page_schema(object_schema("a rollout"));
  list_ro.paged = true;
  r.push_back(std::move(list_ro));
  Route get_ro{"GET", "/api/v1/rollouts/{id}", "rollouts.view", Scope::Platform, "A rollout's progress",
               [&ota](Ctx& c) {
                 auto x = ota.rollout(c.id("id"));
                 if (!x) return fail(404, "rollout_not_found", "no rollout with this id");
                 return ok(rollout_json(ota, *x));
               }};
  get_ro.response_schema = object_schema("a rollout");
  r.push_back(std::move(get_ro.may_refuse({"rollout_not_found"})));
  for (std::string op : {"pause", "resume", "cancel"}) {
    Route act{"POST", "/api/v1/rollouts/{id}/" + op, "rollouts.manage", Scope::Platform, "Rollout: " + op,
              [&ota, op](Ctx& c) {
                int64_t id = c.id("id");
                auto who = c.caller.actor();
                auto res = op == "pause" ? ota.pause(id, who) : op == "resume" ? ota.resume(id, who) : ota.cancel(id, who);
                if (!res) return refuse(res.refusal);
                return ok(rollout_json(ota, *res.value));
              }};
    act.response_schema = object_schema("the rollout");
    r.push_back(std::move(act.may_refuse({"rollout_not_found", "rollout_finished"})
                              .audited("rollout." + op, "rollout", "id", [&ota](Ctx&, const std::string& id) -> std::optional<json::value> {
                                auto x = ota.rollout(std::stoll(id));
                                if (!x) return std::nullopt;
                                return json::value(rollout_json(ota, *x));
                              })));
  }
  Route devs{"GET", "/api/v1/rollouts/{id}/devices", "rollouts.view", Scope::Platform, "A rollout's devices and their progress",
             [&ota](Ctx& c) {
               int64_t id = c.id("id");
               if (!ota.rollout(id)) return fail(404, "rollout_not_found", "no rollout with this id");
               auto p = c.page({}, 5000);
               auto state = c.query("state");
               auto filter = state ? parse_rollout_device_state(*state) : std::nullopt;
               need(!state || filter.has_value(), "bad_state", "state", "not a rollout device state (docs/ota.md)");
               return ok(page_json(page_of(ota.rollout_devices(id, filter, 1'000'000, ""), p), p, rollout_device_json));
             }};
  devs.response_schema = page_schema(object_schema("a device's progress"));
  devs.paged = true;
  r.push_back(std::move(devs.with_query({"state"}).may_refuse({"rollout_not_found"})));
  Route stats{"GET", "/api/v1/ota/stats", "firmware.view", Scope::Platform, "Chunks and bytes served, offers sent",
              [&ota](Ctx&) {
                auto s = ota.stats();
                return ok(json::object{{"chunks_served", s.chunks_served},
                                       {"bytes_served", s.bytes_served},
                                       {"chunk_requests_unknown", s.chunk_requests_unknown},
                                       {"offers_sent", s.offers_sent},
                                       {"statuses", s.statuses},
                                       {"firmware_key", ota.has_key()}});
              }};
  stats.response_schema = object_schema("OTA counters");
  r.push_back(std::move(stats));
  // Firmware and rollouts are the platform's (docs/agents.md, "Data scope"): an agent's caller sees an
  // empty list and no firmware, rollout or statistics (404), and cannot upload or roll out.
  for (auto& route : r) {
    route.handler = [h = std::move(route.handler), paged = route.paged](Ctx& c) {
      if (c.scope().is_platform()) return h(c);
      if (paged) {
        auto p = c.page({});
        return ok(page_json(page_of(std::vector<int64_t>{}, p), p, [](int64_t v) { return v; }));
      }
      return fail(404, "not_found", "firmware and rollouts are the platform's");
    };
  }
  return r;
}

}  // namespace chargehub::api
