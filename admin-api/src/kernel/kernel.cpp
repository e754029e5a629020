#include "kernel/kernel.hpp"

#include <algorithm>
#include <charconv>
#include <chrono>

#include "app/audit.hpp"
#include "chargehub/frame.hpp"
#include "chargehub/payloads.hpp"
#include "chargehub/text.hpp"
#include "errors.hpp"
#include "log.hpp"
#include "metrics.hpp"

namespace chargehub::api {

// ---------------------------------------------------------------------------------------------------
// validation helpers

void bad_input(std::string code, std::string field, std::string message) {
  throw BadInput{std::move(code), std::move(field), std::move(message)};
}
bool utf8_ok(std::string_view s) { return valid_utf8(s); }

Reply ok(json::value body, int status) { return Reply{status, std::move(body), {}, {}, {}}; }

Reply fail(int status, std::string code, std::string message, std::string field) {
  json::object o{{"error", std::move(code)}, {"message", std::move(message)}};
  if (!field.empty()) o["field"] = std::move(field);
  return Reply{status, std::move(o), {}, {}, {}};
}

Reply refuse(const Refusal& r) {
  Reply out = fail(status_for(r), r.code, r.message);
  if (r.retry_after_s > 0) out.headers.emplace_back("Retry-After", std::to_string(r.retry_after_s));
  return out;
}

namespace {

// Path parameter types, by name: what the kernel accepts before any handler runs.
struct ParamType {
  const char* name;
  const char* pattern;   // for the OpenAPI document
  const char* what;
  bool (*check)(std::string& v);   // may normalise (hex to upper case)
};

bool digits(std::string_view v, size_t max) {
  return !v.empty() && v.size() <= max && std::all_of(v.begin(), v.end(), [](char c) { return c >= '0' && c <= '9'; });
}

const ParamType kParamTypes[] = {
    {"device", "^[1-9][0-9]{0,15}$", "a device id: 1-16 decimal digits",
     [](std::string& v) { return digits(v, 16) && proto::parse_device_id(v).has_value(); }},
    {"id", "^[1-9][0-9]{0,17}$", "a positive integer id", [](std::string& v) { return digits(v, 18) && v[0] != '0'; }},
    {"uid", "^[0-9A-Fa-f]{8,20}$", "a card uid: 8-20 hex digits",
     [](std::string& v) {
       if (v.size() < 8 || v.size() > 20 || v.size() % 2) return false;
       for (auto& c : v) {
         if (!std::isxdigit(static_cast<unsigned char>(c))) return false;
         c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
       }
       return true;
     }},
};

const ParamType* param_type(std::string_view name) {
  for (auto& t : kParamTypes)
    if (name == t.name) return &t;
  return nullptr;
}

std::vector<std::string_view> split_path(std::string_view p) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < p.size()) {
    if (p[i] == '/') {
      ++i;
      continue;
    }
    size_t j = p.find('/', i);
    if (j == std::string_view::npos) j = p.size();
    out.push_back(p.substr(i, j - i));
    i = j;
  }
  return out;
}

bool is_param(std::string_view seg) { return seg.size() > 2 && seg.front() == '{' && seg.back() == '}'; }

http::Response to_http(const Reply& r) {
  http::Response out;
  out.status = r.status;
  out.headers = r.headers;
  if (r.text) {
    out.body = *r.text;
    out.content_type = r.content_type;
  } else if (!r.body.is_null()) out.body = json::serialize(r.body);
  else out.body = "{}";
  return out;
}

}  // namespace

// ---------------------------------------------------------------------------------------------------
// Ctx

const std::string& Ctx::param(std::string_view name) const {
  auto it = params.find(name);
  if (it == params.end()) throw std::logic_error("route has no parameter " + std::string(name));
  return it->second;
}

int64_t Ctx::id(std::string_view name) const {
  auto& v = param(name);
  int64_t x = 0;
  std::from_chars(v.data(), v.data() + v.size(), x);
  return x;
}

json::object Ctx::json_body() const {
  if (req.body.empty()) bad_input("bad_json", "", "the body must be a JSON object");
  auto v = payloads::parse_json(req.body, 64 * 1024);
  if (!v || !v->is_object()) bad_input("bad_json", "", "the body must be a JSON object");
  return std::move(v->get_object());
}

std::optional<std::string> Ctx::query(std::string_view name) const {
  auto v = req.param(name);
  if (v && !valid_utf8(*v)) bad_input("bad_field", std::string(name), std::string(name) + " must be UTF-8 text");
  return v;
}

std::optional<int64_t> Ctx::query_int(std::string_view name, int64_t lo, int64_t hi) const {
  auto v = req.param(name);
  if (!v) return std::nullopt;
  int64_t x = 0;
  auto [p, ec] = std::from_chars(v->data(), v->data() + v->size(), x);
  if (ec != std::errc() || p != v->data() + v->size() || x < lo || x > hi)
    bad_input("bad_field", std::string(name), std::string(name) + " must be an integer " + std::to_string(lo) + ".." + std::to_string(hi));
  return x;
}

std::optional<bool> Ctx::query_bool(std::string_view name) const {
  auto v = req.param(name);
  if (!v) return std::nullopt;
  if (*v == "true" || *v == "1") return true;
  if (*v == "false" || *v == "0") return false;
  bad_input("bad_field", std::string(name), std::string(name) + " must be true or false");
}

core::PageRequest Ctx::page(const std::vector<std::string>& sortable, int64_t max_size) const {
  core::PageRequest p;
  p.page = query_int("page", 1, 1'000'000).value_or(1);
  p.size = query_int("size", 1, max_size).value_or(std::min<int64_t>(20, max_size));
  if (auto s = req.param("sort"); s && !s->empty()) {
    std::string key = *s;
    if (key[0] == '-') {
      p.desc = true;
      key.erase(0, 1);
    }
    if (std::find(sortable.begin(), sortable.end(), key) == sortable.end()) {
      std::string allowed;
      for (auto& k : sortable) allowed += (allowed.empty() ? "" : ", ") + k;
      bad_input("bad_field", "sort", "sort must be one of: " + (allowed.empty() ? std::string("(none)") : allowed) + " (a leading - for descending)");
    }
    p.sort = key;
  }
  return p;
}

// ---------------------------------------------------------------------------------------------------
// Kernel

Kernel::Kernel(core::Service& svc, KernelSettings settings) : svc_(svc), settings_(std::move(settings)) {
  if (!settings_.clock) settings_.clock = [this] { return svc_.now(); };
}

void Kernel::add(std::vector<Route> routes) {
  for (auto& r : routes) {
    for (auto seg : split_path(r.path))
      if (is_param(seg) && !param_type(seg.substr(1, seg.size() - 2)))
        throw std::logic_error("route " + r.path + ": unknown parameter type " + std::string(seg));
    for (auto& have : routes_)
      if (have.method == r.method && have.path == r.path) throw std::logic_error("route declared twice: " + r.method + " " + r.path);
    routes_.push_back(std::move(r));
  }
}

Kernel::Match Kernel::match(std::string_view method, std::string_view path) const {
  Match m;
  auto segs = split_path(path);
  for (auto& r : routes_) {
    auto rs = split_path(r.path);
    if (rs.size() != segs.size()) continue;
    std::map<std::string, std::string, std::less<>> params;
    bool same = true;
    for (size_t i = 0; i < rs.size() && same; ++i) {
      if (is_param(rs[i])) params.emplace(std::string(rs[i].substr(1, rs[i].size() - 2)), std::string(segs[i]));
      else same = rs[i] == segs[i];
    }
    if (!same) continue;
    if (r.method != method) {
      m.path_known = true;
      continue;
    }
    // A literal route wins over a parameter route of the same shape (/rollouts/stats vs /rollouts/{id}).
    auto literal_count = [](const std::vector<std::string_view>& s) { return std::count_if(s.begin(), s.end(), [](auto x) { return !is_param(x); }); };
    if (!m.route || literal_count(rs) > literal_count(split_path(m.route->path))) {
      m.route = &r;
      m.params = std::move(params);
    }
  }
  return m;
}

std::optional<http::BodyPolicy> Kernel::body_policy(std::string_view method, std::string_view path) const {
  auto m = match(method, path);
  if (!m.route) return std::nullopt;
  return m.route->body_policy;
}

std::string Kernel::client_address(const http::Request& req) const {
  if (std::find(settings_.trusted_proxies.begin(), settings_.trusted_proxies.end(), req.remote) != settings_.trusted_proxies.end()) {
    auto xff = req.header("x-forwarded-for");
    if (!xff.empty()) {
      // The proxy appends the address it saw last: that one is not forgeable by the client.
      auto c = xff.rfind(',');
      std::string last = xff.substr(c == std::string::npos ? 0 : c + 1);
      last.erase(0, last.find_first_not_of(' '));
      while (!last.empty() && last.back() == ' ') last.pop_back();
      if (!last.empty() && last.size() <= 45) return last;
    }
  }
  return req.remote;
}

http::Response Kernel::handle(http::Request& req) {
  // Metrics (docs/metrics.md): by route pattern, never the raw path, so the series stay bounded.
  auto t0 = std::chrono::steady_clock::now();
  // GET /metrics, where Prometheus looks by default, is /api/v1/metrics (same permission, same answer).
  auto m = match(req.method, req.path == "/metrics" ? std::string("/api/v1/metrics") : req.path);
  std::string route = m.route ? m.route->path : "unmatched";
  std::string method = req.method;
  if (!m.route && method != "GET" && method != "POST" && method != "PUT" && method != "PATCH" && method != "DELETE") method = "other";
  auto resp = respond(req, m);
  core::core_metrics().http(route, method, resp.status, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  return resp;
}

http::Response Kernel::respond(http::Request& req, Match& m) {
  if (!m.route) {
    if (m.path_known) return to_http(fail(405, "method_not_allowed", "this path does not take " + req.method));
    return to_http(fail(404, "not_found", "no such route"));
  }
  const Route& route = *m.route;
  Ctx ctx(*this, req, svc_);
  ctx.now = settings_.clock();
  ctx.address = client_address(req);
  try {
    // Path parameters, validated once for every route.
    for (auto& [name, value] : m.params) {
      auto* t = param_type(name);
      if (!t->check(value)) return to_http(fail(400, "bad_id", name + " must be " + t->what, name));
    }
    ctx.params = std::move(m.params);

    if (route.scope != Scope::Public) {
      auto h = req.header("authorization");
      if (h.size() < 8 || h.compare(0, 7, "Bearer ") != 0)
        return to_http(fail(401, "unauthorized", "send Authorization: Bearer <access token or service key>"));
      auto who = svc_.app().accounts.authenticate(h.substr(7), ctx.address, ctx.now);
      if (!who) return to_http(refuse(who.refusal));
      ctx.caller = std::move(*who.value);
      if (ctx.caller.must_change_password && !route.before_password_change)
        return to_http(fail(403, "password_change_required", "change the initial password first (POST /api/v1/auth/password)"));
      if (!route.permission.empty() && !ctx.caller.can(route.permission))
        return to_http(fail(403, "forbidden", "this needs the permission " + route.permission));
    }
    return to_http(run(route, ctx));
  } catch (const BadInput& e) {
    return to_http(fail(400, e.code, e.message, e.field));
  } catch (const std::exception& e) {
    // The log keeps what went wrong; the client learns nothing internal.
    core::log::error("http.handler_failed", {{"method", req.method}, {"route", route.path}, {"error", e.what()}});
    return to_http(fail(500, "internal", "internal error"));
  }
}

Reply Kernel::run(const Route& route, Ctx& ctx) {
  if (!route.audit) return route.handler(ctx);
  const AuditSpec& spec = *route.audit;
  auto& app = svc_.app();
  // The change and its audit entry commit together or not at all; what the change publishes leaves
  // after the commit (sql::Db::after_commit).
  core::sql::Tx tx(app.db);
  std::string target = spec.target_param.empty() ? "" : ctx.param(spec.target_param);
  std::optional<json::value> before;
  if (spec.snapshot && !target.empty()) before = spec.snapshot(ctx, target);
  Reply r = route.handler(ctx);
  if (r.status >= 300) return r;   // refused: nothing changed, nothing to record (rolled back)
  if (target.empty()) target = ctx.audit_target;
  if (target.empty() && r.body.is_object()) {
    if (auto* id = r.body.as_object().if_contains("id")) target = id->is_string() ? std::string(id->get_string()) : json::serialize(*id);
  }
  std::optional<json::value> after;
  if (spec.snapshot && !target.empty()) after = spec.snapshot(ctx, target);
  else after = r.body;
  core::AuditEntry e;
  e.at = ctx.now;
  if (ctx.caller.account_id) e.account_id = ctx.caller.account_id;
  e.actor = ctx.caller.account_id ? ctx.caller.actor() : "anonymous";
  e.address = ctx.address;
  e.action = spec.action;
  e.target_type = spec.target_type;
  e.target_id = target;
  e.before = before ? *before : json::value(nullptr);
  e.after = after ? *after : json::value(nullptr);
  app.audit.record(std::move(e));
  tx.commit();
  return r;
}

// ---------------------------------------------------------------------------------------------------
// OpenAPI

json::object Kernel::openapi() const {
  json::object error_schema{{"type", "object"},
                            {"required", json::array{"error", "message"}},
                            {"properties", json::object{{"error", json::object{{"type", "string"}}},
                                                        {"message", json::object{{"type", "string"}}},
                                                        {"field", json::object{{"type", "string"}}}}}};
  auto error_response = [](const std::string& what) {
    return json::object{{"description", what},
                        {"content", json::object{{"application/json", json::object{{"schema", json::object{{"$ref", "#/components/schemas/Error"}}}}}}}};
  };
  json::object paths;
  std::vector<const Route*> sorted;
  for (auto& r : routes_) sorted.push_back(&r);
  std::sort(sorted.begin(), sorted.end(), [](auto* a, auto* b) { return std::tie(a->path, a->method) < std::tie(b->path, b->method); });
  for (auto* r : sorted) {
    json::object op;
    op["summary"] = r->summary;
    op["x-permission"] = r->permission.empty() ? json::value(nullptr) : json::value(r->permission);
    op["x-scope"] = r->scope == Scope::Public ? "public" : r->scope == Scope::Self ? "self" : "platform";
    if (r->audit) op["x-audit"] = r->audit->action;
    if (r->scope == Scope::Public) op["security"] = json::array{};
    json::array params;
    bool has_path_params = false;
    for (auto seg : split_path(r->path)) {
      if (!is_param(seg)) continue;
      has_path_params = true;
      auto name = seg.substr(1, seg.size() - 2);
      auto* t = param_type(name);
      params.push_back(json::object{{"name", name}, {"in", "path"}, {"required", true}, {"description", t->what},
                                    {"schema", json::object{{"type", "string"}, {"pattern", t->pattern}}}});
    }
    if (r->paged) {
      params.push_back(json::object{{"name", "page"}, {"in", "query"}, {"schema", json::object{{"type", "integer"}, {"minimum", 1}}}});
      params.push_back(json::object{{"name", "size"}, {"in", "query"}, {"schema", json::object{{"type", "integer"}, {"minimum", 1}}}});
      params.push_back(json::object{{"name", "sort"}, {"in", "query"}, {"schema", json::object{{"type", "string"}}}});
    }
    for (auto& q : r->query_params) params.push_back(json::object{{"name", q}, {"in", "query"}, {"schema", json::object{{"type", "string"}}}});
    if (!params.empty()) op["parameters"] = std::move(params);
    if (!r->request_schema.is_null())
      op["requestBody"] = json::object{{"required", true}, {"content", json::object{{"application/json", json::object{{"schema", r->request_schema}}}}}};
    json::object responses;
    json::value ok_schema = r->response_schema.is_null() ? json::value(json::object{{"type", "object"}}) : r->response_schema;
    std::string ok_status = std::to_string(r->success);
    responses[ok_status] = json::object{{"description", "done"}, {"content", json::object{{"application/json", json::object{{"schema", ok_schema}}}}}};
    if (!r->request_schema.is_null() || has_path_params || r->paged || !r->query_params.empty())
      responses["400"] = error_response("invalid input (field names it)");
    if (r->scope != Scope::Public) {
      responses["401"] = error_response("no, an unknown, an expired or a revoked credential");
      responses["403"] = error_response("the caller lacks the permission, or must change the initial password first");
      responses["429"] = error_response("too many failed credentials from this address (Retry-After)");
    }
    for (auto& code : r->refusals) {
      auto st = std::to_string(status_for(Refusal{code, ""}));
      auto& slot = responses[st];
      if (slot.is_null() || !slot.is_object()) slot = error_response(code);
      else slot.as_object()["description"] = json::string(std::string(slot.as_object()["description"].as_string()) + ", " + code);
    }
    responses["500"] = error_response("internal error (nothing internal is shown)");
    op["responses"] = std::move(responses);
    std::string m = r->method;
    std::transform(m.begin(), m.end(), m.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    auto& item = paths[r->path];
    if (!item.is_object()) item = json::object{};
    item.as_object()[m] = std::move(op);
  }
  return json::object{
      {"openapi", "3.0.3"},
      {"info", json::object{{"title", "ChargeHub admin API"}, {"version", "1"},
                            {"description", "Generated from the route tables (admin-api/src/routes/); docs/admin-api.md explains."}}},
      {"servers", json::array{json::object{{"url", "/"}}}},
      {"security", json::array{json::object{{"bearer", json::array{}}}}},
      {"components", json::object{{"securitySchemes", json::object{{"bearer", json::object{{"type", "http"}, {"scheme", "bearer"}}}}},
                                  {"schemas", json::object{{"Error", std::move(error_schema)}}}}},
      {"paths", std::move(paths)}};
}

}  // namespace chargehub::api
