#include "chargehub/ota_api.hpp"

#include <httplib.h>

#include <boost/json.hpp>
#include <map>

#include "chargehub/ota/firmware.hpp"
#include "chargehub/payloads.hpp"
#include "app/ota.hpp"
#include "errors.hpp"

namespace chargehub::api {

namespace json = boost::json;

namespace {

std::optional<json::object> body_object(const httplib::Request& req, httplib::Response& res) {
  auto v = payloads::parse_json(req.body, 64 * 1024);
  if (!v || !v->is_object()) {
    fail(res, 400, "bad_json", "the body must be a JSON object");
    return std::nullopt;
  }
  return v->get_object();
}

std::optional<int64_t> query_int(const httplib::Request& req, const char* name) {
  if (!req.has_param(name)) return std::nullopt;
  try {
    return std::stoll(req.get_param_value(name));
  } catch (...) {
    return std::nullopt;
  }
}

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

bool int_in(const json::object& o, std::string_view k, int64_t lo, int64_t hi, int64_t& out) {
  auto* v = o.if_contains(k);
  if (!v) return true;
  if (!v->is_int64() || v->get_int64() < lo || v->get_int64() > hi) return false;
  out = v->get_int64();
  return true;
}

}  // namespace

void mount_ota(httplib::Server& srv, core::Ota& ota, std::vector<ApiKey> keys_in) {
  auto keys = std::make_shared<std::vector<ApiKey>>(std::move(keys_in));
  // The name of the key that made the request (the pre-routing handler already refused the others).
  auto who = [keys](const httplib::Request& req) {
    auto h = req.get_header_value("Authorization");
    auto n = h.rfind("Bearer ", 0) == 0 ? check_api_key(*keys, h.substr(7)) : "";
    return n.empty() ? std::string("api") : "api:" + n;
  };

  // The server reads bodies up to kFirmwareUploadMax so that firmware uploads fit (core/src/main.cpp);
  // every other route refuses a body over 64 KiB with 413 before it parses it (admin_api.cpp).

  // ---- firmware ----
  srv.Post("/api/v1/firmware", [&ota, who](const httplib::Request& req, httplib::Response& res) {
    if (req.body.size() > kFirmwareUploadMax)
      return fail(res, 413, "too_large", "a firmware package is at most 4 MiB of image (base64 in JSON)");
    std::string why;
    auto p = firmware::parse_package(req.body, &why);
    if (!p) return fail(res, 400, "bad_package", why);
    auto r = ota.add_firmware(*p, who(req));
    if (!r) return refuse(res, r.refusal);
    send(res, 201, firmware_json(*r.value));
  });
  srv.Get("/api/v1/firmware", [&ota](const httplib::Request&, httplib::Response& res) {
    json::array a;
    for (auto& f : ota.firmware_list()) a.push_back(firmware_json(f));
    send(res, 200, json::object{{"firmware", std::move(a)}});
  });
  srv.Get(R"(/api/v1/firmware/(\d{1,18}))", [&ota](const httplib::Request& req, httplib::Response& res) {
    auto f = ota.firmware(std::stoll(req.matches[1]));
    if (!f) return fail(res, 404, "firmware_not_found", "no firmware with this id");
    send(res, 200, firmware_json(*f));
  });

  // ---- rollouts ----
  srv.Post("/api/v1/rollouts", [&ota, who](const httplib::Request& req, httplib::Response& res) {
    auto b = body_object(req, res);
    if (!b) return;
    core::RolloutRequest rq;
    rq.created_by = who(req);
    int64_t fw = 0, pct = rq.max_failure_pct, conc = rq.max_concurrent;
    if (!b->contains("firmware_id") || !int_in(*b, "firmware_id", 1, INT64_MAX, fw))
      return fail(res, 400, "bad_field", "firmware_id is required (an id from GET /api/v1/firmware)");
    if (!int_in(*b, "max_failure_pct", 0, 100, pct)) return fail(res, 400, "bad_field", "max_failure_pct must be 0..100");
    if (!int_in(*b, "max_concurrent", 1, 100000, conc)) return fail(res, 400, "bad_field", "max_concurrent must be 1..100000");
    rq.firmware_id = fw;
    rq.max_failure_pct = static_cast<int>(pct);
    rq.max_concurrent = static_cast<int>(conc);
    if (auto* s = b->if_contains("stages")) {
      if (!s->is_array()) return fail(res, 400, "bad_stages", "stages must be a list of percentages, e.g. [1,10,100]");
      rq.stages.clear();
      for (auto& x : s->get_array()) {
        if (!x.is_int64()) return fail(res, 400, "bad_stages", "stages must be a list of percentages, e.g. [1,10,100]");
        rq.stages.push_back(static_cast<int>(x.get_int64()));
      }
    }
    auto* t = b->if_contains("target");
    if (!t || !t->is_object() || t->get_object().size() != 1)
      return fail(res, 400, "bad_target",
                  "target must be one of {\"model\":N}, {\"devices\":[...]}, {\"station\":\"…\"}, {\"agent\":\"…\"}");
    rq.target_kind = t->get_object().begin()->key();
    rq.target = *t;
    auto r = ota.create_rollout(rq);
    if (!r) return refuse(res, r.refusal);
    send(res, 201, rollout_json(ota, *r.value));
  });
  srv.Get("/api/v1/rollouts", [&ota](const httplib::Request& req, httplib::Response& res) {
    int64_t limit = std::clamp<int64_t>(query_int(req, "limit").value_or(50), 1, 500);
    json::array a;
    for (auto& r : ota.rollouts(limit)) a.push_back(rollout_json(ota, r));
    send(res, 200, json::object{{"rollouts", std::move(a)}});
  });
  srv.Get(R"(/api/v1/rollouts/(\d{1,18}))", [&ota](const httplib::Request& req, httplib::Response& res) {
    auto r = ota.rollout(std::stoll(req.matches[1]));
    if (!r) return fail(res, 404, "rollout_not_found", "no rollout with this id");
    send(res, 200, rollout_json(ota, *r));
  });
  srv.Post(R"(/api/v1/rollouts/(\d{1,18})/(pause|resume|cancel))", [&ota, who](const httplib::Request& req, httplib::Response& res) {
    int64_t id = std::stoll(req.matches[1]);
    std::string op = req.matches[2];
    auto r = op == "pause" ? ota.pause(id, who(req)) : op == "resume" ? ota.resume(id, who(req)) : ota.cancel(id, who(req));
    if (!r) return refuse(res, r.refusal);
    send(res, 200, rollout_json(ota, *r.value));
  });
  srv.Get(R"(/api/v1/rollouts/(\d{1,18})/devices)", [&ota](const httplib::Request& req, httplib::Response& res) {
    int64_t id = std::stoll(req.matches[1]);
    if (!ota.rollout(id)) return fail(res, 404, "rollout_not_found", "no rollout with this id");
    int64_t limit = std::clamp<int64_t>(query_int(req, "limit").value_or(500), 1, 5000);
    std::string state = req.has_param("state") ? req.get_param_value("state") : "";
    std::string after = req.has_param("after") ? req.get_param_value("after") : "";
    auto filter = parse_rollout_device_state(state);
    json::array a;
    if (state.empty() || filter)   // a state that does not exist matches no device
      for (auto& d : ota.rollout_devices(id, filter, limit, after)) a.push_back(rollout_device_json(d));
    send(res, 200, json::object{{"devices", std::move(a)}});
  });
  srv.Get("/api/v1/ota/stats", [&ota](const httplib::Request&, httplib::Response& res) {
    auto s = ota.stats();
    send(res, 200, json::object{{"chunks_served", s.chunks_served},
                                {"bytes_served", s.bytes_served},
                                {"chunk_requests_unknown", s.chunk_requests_unknown},
                                {"offers_sent", s.offers_sent},
                                {"statuses", s.statuses},
                                {"firmware_key", ota.has_key()}});
  });
}

}  // namespace chargehub::api
