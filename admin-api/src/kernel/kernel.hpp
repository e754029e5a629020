// The admin API's kernel: every route is declared in a table per area (admin-api/src/routes/<area>.cpp)
// with its method, path, the permission it needs and how its data is scoped; the kernel alone matches
// the path, validates path ids once, authenticates the caller (an operator's token or a service key),
// checks the permission, parses the typed body, runs the handler inside one transaction together with
// the audit entry of a change, and turns refusals and validation errors into one error shape:
//
//   {"error": "<code>", "message": "<for people>"[, "field": "<the body field or parameter>"]}
//
// A handler sees a Ctx and returns a Reply; it never picks a status for a refusal (errors.cpp does).
//
//   Route{"POST", "/api/v1/devices/{device}/commands", "devices.control", Scope::Platform,
//         "Send a command to a device", [](Ctx& c) {
//           auto b = c.body<SendCommand>();
//           auto r = c.svc.send_command(c.param("device"), b.op, b.args.value_or({}), c.origin("operator"));
//           return c.result(r, 202, command_view);
//         }}.with_request<SendCommand>().with_response<CommandView>().audited("device.command", "device");
#pragma once
#include <boost/json.hpp>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "app/accounts.hpp"
#include "chargehub/result.hpp"
#include "http/server.hpp"
#include "kernel/body.hpp"
#include "repo/page.hpp"
#include "repo/scope.hpp"
#include "service.hpp"

namespace chargehub::core {
class Ota;
}

namespace chargehub::api {

namespace json = boost::json;

// How a route's data is scoped (issue 17 makes agent scope real: the use cases take the caller's scope).
enum class Scope {
  Public,     // no credentials (liveness, the OpenAPI document, login)
  Self,       // any authenticated caller, about themselves (me, logout, password)
  Platform,   // business data: the platform sees everything, an agent only its subtree
};

struct Reply {
  int status = 200;
  json::value body;
  std::vector<std::pair<std::string, std::string>> headers;
  std::optional<std::string> text;   // a body that is not JSON (GET /metrics), sent as it is with content_type
  std::string content_type;
};

// A validation error: answered 400 {"error": code, "message", "field"}.
struct BadInput {
  std::string code, field, message;
};

class Kernel;

// What a handler gets.
class Ctx {
 public:
  Ctx(Kernel& k, http::Request& req, core::Service& svc) : kernel(k), req(req), svc(svc), app(svc.app()) {}
  Kernel& kernel;
  http::Request& req;
  core::Service& svc;
  core::App& app;
  core::Caller caller;                    // empty for Scope::Public routes
  std::string address;                    // the client's address (X-Forwarded-For from a trusted proxy)
  int64_t now = 0;
  std::map<std::string, std::string, std::less<>> params;   // path parameters, validated by type
  std::string audit_target;               // the audit entry's target id, when not a path parameter

  const std::string& param(std::string_view name) const;
  int64_t id(std::string_view name) const;   // an {id}-typed parameter

  // The body as a described struct (kernel/body.hpp); throws BadInput naming the field.
  template <class T>
  T body() const {
    return parse_body<T>(json_body());
  }
  json::object json_body() const;

  // Query parameters.
  std::optional<std::string> query(std::string_view name) const;
  std::optional<int64_t> query_int(std::string_view name, int64_t lo, int64_t hi) const;   // BadInput when malformed
  std::optional<bool> query_bool(std::string_view name) const;
  // page, size, sort (?sort=created_at or ?sort=-created_at, from `sortable`); BadInput on bad values.
  core::PageRequest page(const std::vector<std::string>& sortable, int64_t max_size = 200) const;

  core::Origin origin(std::string reason) const { return core::Origin{caller.actor(), std::move(reason)}; }
  // Whose business the caller may see (docs/agents.md): the platform's callers everything, an agent's
  // its own and its sub-agents'.
  core::Scope scope() const { return caller.agent_id ? core::Scope::agent(*caller.agent_id) : core::Scope::platform(); }
};

// Helpers for handlers.
Reply ok(json::value body, int status = 200);
Reply refuse(const Refusal& r);   // status from errors.cpp
Reply fail(int status, std::string code, std::string message, std::string field = "");
template <class T, class F>
Reply result(const Result<T>& r, int status, F&& view) {
  if (!r) return refuse(r.refusal);
  return ok(json::value_from(view(*r.value)), status);
}
template <class T, class F>
json::object page_json(const core::Page<T>& p, const core::PageRequest& req, F&& view) {
  json::array items;
  items.reserve(p.items.size());
  for (auto& x : p.items) items.push_back(json::value_from(view(x)));
  return {{"items", std::move(items)}, {"page", req.page}, {"size", req.size}, {"total", p.total}};
}
// A page cut from a short list held in full (plans, offers, firmware): honest paging without SQL.
template <class T>
core::Page<T> page_of(std::vector<T> all, const core::PageRequest& p) {
  core::Page<T> out;
  out.total = static_cast<int64_t>(all.size());
  for (int64_t i = p.offset(); i < out.total && i < p.offset() + p.size; ++i) out.items.push_back(std::move(all[static_cast<size_t>(i)]));
  return out;
}

// The audit of a change: the target's state before and after, read in the change's transaction.
struct AuditSpec {
  std::string action;        // "device.disable"
  std::string target_type;   // "device"
  std::string target_param;  // the path parameter naming the target ("" = Ctx::audit_target or the reply's "id")
  // The target's state (nothing when it does not exist); null function: before = null, after = the reply.
  std::function<std::optional<json::value>(Ctx&, const std::string& id)> snapshot;
};

struct Route {
  std::string method;         // GET POST PUT PATCH DELETE
  std::string path;           // /api/v1/devices/{device}; parameter types by name (kernel.cpp, param_types)
  std::string permission;     // "" = any authenticated caller
  Scope scope = Scope::Platform;
  std::string summary;
  std::function<Reply(Ctx&)> handler;
  // Documentation (OpenAPI) and behaviour beyond the defaults:
  json::value request_schema;    // null: no body
  json::value response_schema;   // null: {"type":"object"}
  bool paged = false;            // answers {items, page, size, total}
  std::vector<std::string> query_params;   // documented filters (besides page/size/sort)
  std::vector<std::string> refusals;       // error codes this route may answer (besides the kernel's)
  std::optional<AuditSpec> audit;
  http::BodyPolicy body_policy{};
  bool before_password_change = false;   // usable while the account must still change its initial password
  int success = 200;                     // the status of a success (documentation: handlers set their reply's)

  template <class T>
  Route& with_request() {
    request_schema = schema_of<T>();
    return *this;
  }
  template <class T>
  Route& with_response() {
    response_schema = schema_of<T>();
    return *this;
  }
  template <class T>
  Route& with_page() {
    response_schema = page_schema(schema_of<T>());
    paged = true;
    return *this;
  }
  Route& with_query(std::vector<std::string> q) {
    query_params = std::move(q);
    return *this;
  }
  Route& may_refuse(std::vector<std::string> codes) {
    refusals = std::move(codes);
    return *this;
  }
  Route& audited(std::string action, std::string target_type, std::string target_param = "",
                 std::function<std::optional<json::value>(Ctx&, const std::string&)> snapshot = {}) {
    audit = AuditSpec{std::move(action), std::move(target_type), std::move(target_param), std::move(snapshot)};
    return *this;
  }
  Route& with_body_limit(size_t max, bool chunked = false) {
    body_policy = http::BodyPolicy{max, chunked};
    return *this;
  }
  Route& answers(int status) {
    success = status;
    return *this;
  }
  Route& initial() {
    before_password_change = true;
    return *this;
  }
};

struct KernelSettings {
  std::vector<std::string> trusted_proxies;   // peers whose X-Forwarded-For is believed (nginx in front)
  std::function<int64_t()> clock;             // unix seconds (default: the service's)
};

class Kernel {
 public:
  Kernel(core::Service& svc, KernelSettings settings);
  void add(std::vector<Route> routes);
  // The server's handler and body policy.
  http::Response handle(http::Request& req);
  std::optional<http::BodyPolicy> body_policy(std::string_view method, std::string_view path) const;
  const std::vector<Route>& routes() const { return routes_; }
  // The OpenAPI 3 document of every registered route.
  json::object openapi() const;
  core::Service& service() { return svc_; }

 private:
  struct Match {
    const Route* route = nullptr;
    bool path_known = false;   // some route has this path with another method (405)
    std::map<std::string, std::string, std::less<>> params;
  };
  Match match(std::string_view method, std::string_view path) const;
  http::Response respond(http::Request& req, Match& m);   // handle() without the metrics
  Reply run(const Route& route, Ctx& ctx);
  std::string client_address(const http::Request& req) const;

  core::Service& svc_;
  KernelSettings settings_;
  std::vector<Route> routes_;
};

}  // namespace chargehub::api
