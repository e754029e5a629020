#include "chargehub/auth_control.hpp"

#include <boost/json.hpp>

#include <stdexcept>

#include "chargehub/encoding.hpp"
#include "chargehub/frame.hpp"

namespace chargehub::auth_control {
namespace json = boost::json;
namespace {

bool valid_id(std::string_view id) { return proto::parse_device_id(id).has_value(); }

std::optional<std::int64_t> as_int(const json::value& v) {
  if (v.is_int64()) return v.as_int64();
  if (v.is_uint64() && v.as_uint64() <= static_cast<std::uint64_t>(INT64_MAX))
    return static_cast<std::int64_t>(v.as_uint64());
  return std::nullopt;
}

// Reads an optional "rev": a non-negative integer.
bool read_rev(const json::object& o, std::optional<std::int64_t>& rev, std::string& error) {
  auto it = o.find("rev");
  if (it == o.end()) return true;
  auto n = as_int(it->value());
  if (!n || *n < 0) {
    error = "rev must be a non-negative integer";
    return false;
  }
  rev = n;
  return true;
}

bool read_hex_field(const json::object& o, std::string_view name, Field<std::string>& f, std::string& error) {
  auto it = o.find(name);
  if (it == o.end()) return true;
  if (it->value().is_null()) {
    f = Field<std::string>::clear();
    return true;
  }
  if (!it->value().is_string() || !encoding::is_hex32(it->value().as_string())) {
    error = std::string(name) + " must be 64 lowercase hex digits or null";
    return false;
  }
  f = Field<std::string>::set(std::string(it->value().as_string()));
  return true;
}

bool read_id(const json::object& o, std::string& id, std::string& error) {
  auto it = o.find("id");
  if (it == o.end() || !it->value().is_string() || !valid_id(it->value().as_string())) {
    error = "id must be a device id (1-16 decimal digits, no leading zero)";
    return false;
  }
  id = std::string(it->value().as_string());
  return true;
}

std::optional<Snapshot> read_snapshot(const json::object& o, std::string& error, std::size_t& ignored) {
  Snapshot s;
  auto rev = o.find("rev");
  std::optional<std::int64_t> r = rev == o.end() ? std::nullopt : as_int(rev->value());
  if (!r || *r < 0) {
    error = "a snapshot needs \"rev\", a non-negative integer";
    return std::nullopt;
  }
  s.rev = *r;
  auto devs = o.find("devices");
  if (devs == o.end() || !devs->value().is_array()) {
    error = "a snapshot needs \"devices\", an array";
    return std::nullopt;
  }
  s.devices.reserve(devs->value().as_array().size());
  for (const auto& e : devs->value().as_array()) {
    const json::object* d = e.if_object();
    const json::value* idv = d ? d->if_contains("id") : nullptr;
    if (!idv || !idv->is_string() || !valid_id(idv->as_string())) {
      ++ignored;  // no device to speak of
      continue;
    }
    DeviceCredentials c;
    c.id = std::string(idv->as_string());
    // A malformed value counts as no credential (the device cannot log in with it).
    auto hex = [&](std::string_view name, std::optional<std::string>& out) {
      const json::value* v = d->if_contains(name);
      if (!v || v->is_null()) return;
      if (v->is_string() && encoding::is_hex32(v->as_string())) out = std::string(v->as_string());
      else ++ignored;
    };
    hex("token_hash", c.token_hash);
    hex("prev_token_hash", c.prev_token_hash);
    hex("pubkey", c.pubkey);
    if (const json::value* v = d->if_contains("prev_token_until"); v && !v->is_null()) {
      if (auto n = as_int(*v)) c.prev_token_until = *n;
      else ++ignored;
    }
    if (const json::value* v = d->if_contains("enabled")) {
      if (v->is_bool()) c.enabled = v->as_bool();
      else {
        c.enabled = false;  // unreadable: the safe side
        ++ignored;
      }
    }
    s.devices.push_back(std::move(c));
  }
  return s;
}

json::value hex_or_null(const std::optional<std::string>& s) { return s ? json::value(*s) : json::value(nullptr); }

template <class T>
void put_field(json::object& o, std::string_view name, const Field<T>& f) {
  if (!f.present) return;
  if (f.value) o[name] = *f.value;
  else o[name] = nullptr;
}

}  // namespace

std::string snapshot_request_subscription(std::string_view share_group) {
  if (share_group.empty()) return std::string(kSnapshotRequestTopic);
  std::string s = "$share/";
  s.append(share_group).append("/").append(kSnapshotRequestTopic);
  return s;
}

std::string_view command_name(const Body& b) {
  struct V {
    std::string_view operator()(const Snapshot&) const { return "snapshot"; }
    std::string_view operator()(const SetDevice&) const { return "set_device"; }
    std::string_view operator()(const DisableDevice&) const { return "disable_device"; }
    std::string_view operator()(const DeleteDevice&) const { return "delete_device"; }
    std::string_view operator()(const Reload&) const { return "reload"; }
    std::string_view operator()(const GetStats&) const { return "get_stats"; }
  };
  return std::visit(V{}, b);
}

// ---- to JSON --------------------------------------------------------------------------------------

void tag_invoke(json::value_from_tag, json::value& v, const DeviceCredentials& d) {
  json::object o;
  o["id"] = d.id;
  o["token_hash"] = hex_or_null(d.token_hash);
  o["prev_token_hash"] = hex_or_null(d.prev_token_hash);
  o["prev_token_until"] = d.prev_token_until;
  o["pubkey"] = hex_or_null(d.pubkey);
  o["enabled"] = d.enabled;
  v = std::move(o);
}

void tag_invoke(json::value_from_tag, json::value& v, const Command& c) {
  json::object o;
  o["command"] = command_name(c.body);
  if (auto* s = std::get_if<Snapshot>(&c.body)) {
    o["rev"] = s->rev;
    json::array devs;
    devs.reserve(s->devices.size());
    for (const auto& d : s->devices) devs.push_back(json::value_from(d));
    o["devices"] = std::move(devs);
  } else if (auto* s = std::get_if<SetDevice>(&c.body)) {
    o["id"] = s->id;
    put_field(o, "token_hash", s->token_hash);
    put_field(o, "prev_token_hash", s->prev_token_hash);
    put_field(o, "prev_token_until", s->prev_token_until);
    put_field(o, "pubkey", s->pubkey);
    if (s->enabled) o["enabled"] = *s->enabled;
    if (s->rev) o["rev"] = *s->rev;
  } else if (auto* s = std::get_if<DisableDevice>(&c.body)) {
    o["id"] = s->id;
    if (s->rev) o["rev"] = *s->rev;
  } else if (auto* s = std::get_if<DeleteDevice>(&c.body)) {
    o["id"] = s->id;
    if (s->rev) o["rev"] = *s->rev;
  }
  if (c.correlation_data) o["correlationData"] = *c.correlation_data;
  v = std::move(o);
}

void tag_invoke(json::value_from_tag, json::value& v, const Request& r) {
  json::array a;
  a.reserve(r.commands.size());
  for (const auto& c : r.commands) a.push_back(json::value_from(c));
  v = json::object{{"commands", std::move(a)}};
}

void tag_invoke(json::value_from_tag, json::value& v, const Response& r) {
  json::object o;
  o["command"] = r.command;
  o["ok"] = r.ok;
  if (!r.error.empty()) o["error"] = r.error;
  if (r.applied) o["applied"] = *r.applied;
  if (r.stats) o["stats"] = *r.stats;
  if (r.correlation_data) o["correlationData"] = *r.correlation_data;
  v = std::move(o);
}

void tag_invoke(json::value_from_tag, json::value& v, const Responses& r) {
  json::array a;
  for (const auto& x : r.responses) a.push_back(json::value_from(x));
  v = json::object{{"responses", std::move(a)}};
}

void tag_invoke(json::value_from_tag, json::value& v, const SnapshotRequest& r) {
  v = json::object{{"have_rev", r.have_rev}, {"reason", r.reason}};
}

std::string request_json(const Request& r) { return json::serialize(json::value_from(r)); }
std::string snapshot_json(const Snapshot& s) { return request_json(Request{{Command{s, std::nullopt}}}); }
std::string snapshot_request_json(const SnapshotRequest& r) { return json::serialize(json::value_from(r)); }
std::string responses_json(const Responses& r) { return json::serialize(json::value_from(r)); }

// ---- from JSON ------------------------------------------------------------------------------------

ParsedCommand parse_command(const json::value& v) {
  ParsedCommand out;
  const json::object* o = v.if_object();
  const json::value* name = o ? o->if_contains("command") : nullptr;
  if (!name || !name->is_string()) {
    out.error = "each command must be an object with a \"command\" string";
    return out;
  }
  out.name = std::string(name->as_string());
  if (const json::value* cd = o->if_contains("correlationData")) out.correlation_data = *cd;
  std::string& error = out.error;
  if (out.name == "snapshot") {
    if (auto s = read_snapshot(*o, error, out.ignored)) out.body = std::move(*s);
  } else if (out.name == "set_device") {
    SetDevice s;
    bool ok = read_id(*o, s.id, error) && read_hex_field(*o, "token_hash", s.token_hash, error) &&
              read_hex_field(*o, "prev_token_hash", s.prev_token_hash, error) &&
              read_hex_field(*o, "pubkey", s.pubkey, error) && read_rev(*o, s.rev, error);
    if (ok) {
      if (const json::value* e = o->if_contains("enabled")) {
        if (e->is_bool()) s.enabled = e->as_bool();
        else {
          error = "enabled must be true or false";
          ok = false;
        }
      }
    }
    if (ok) {
      if (const json::value* p = o->if_contains("prev_token_until")) {
        if (p->is_null()) s.prev_token_until = Field<std::int64_t>::clear();
        else if (auto n = as_int(*p)) s.prev_token_until = Field<std::int64_t>::set(*n);
        else {
          error = "prev_token_until must be an integer (unix s) or null";
          ok = false;
        }
      }
    }
    if (ok) out.body = std::move(s);
  } else if (out.name == "disable_device") {
    DisableDevice s;
    if (read_id(*o, s.id, error) && read_rev(*o, s.rev, error)) out.body = std::move(s);
  } else if (out.name == "delete_device") {
    DeleteDevice s;
    if (read_id(*o, s.id, error) && read_rev(*o, s.rev, error)) out.body = std::move(s);
  } else if (out.name == "reload") {
    out.body = Reload{};
  } else if (out.name == "get_stats") {
    out.body = GetStats{};
  } else {
    error = "unknown command";
  }
  return out;
}

ParsedRequest parse_request(std::string_view payload, std::size_t max_commands) {
  ParsedRequest out;
  json::error_code ec;
  json::value doc = json::parse(payload, ec);
  const json::array* commands = nullptr;
  if (!ec && doc.is_object())
    if (const json::value* c = doc.as_object().if_contains("commands")) commands = c->if_array();
  if (!commands) {
    out.error = "payload must be {\"commands\":[…]}";
    return out;
  }
  if (commands->size() > max_commands) {
    out.error = "too many commands";
    return out;
  }
  out.commands.reserve(commands->size());
  for (const auto& c : *commands) out.commands.push_back(parse_command(c));
  return out;
}

Command tag_invoke(json::value_to_tag<Command>, const json::value& v) {
  auto p = parse_command(v);
  if (!p.body) throw std::invalid_argument(p.error);
  return Command{std::move(*p.body), std::move(p.correlation_data)};
}

Request tag_invoke(json::value_to_tag<Request>, const json::value& v) {
  const json::object* o = v.if_object();
  const json::value* c = o ? o->if_contains("commands") : nullptr;
  if (!c || !c->is_array()) throw std::invalid_argument("payload must be {\"commands\":[…]}");
  Request r;
  for (const auto& e : c->as_array()) r.commands.push_back(json::value_to<Command>(e));
  return r;
}

Response tag_invoke(json::value_to_tag<Response>, const json::value& v) {
  const json::object* o = v.if_object();
  if (!o) throw std::invalid_argument("a response is an object");
  Response r;
  const json::value* c = o->if_contains("command");
  const json::value* ok = o->if_contains("ok");
  if (!c || !c->is_string() || !ok || !ok->is_bool()) throw std::invalid_argument("a response has command and ok");
  r.command = std::string(c->as_string());
  r.ok = ok->as_bool();
  if (const json::value* e = o->if_contains("error"); e && e->is_string()) r.error = std::string(e->as_string());
  if (const json::value* a = o->if_contains("applied"); a && a->is_bool()) r.applied = a->as_bool();
  if (const json::value* s = o->if_contains("stats"); s && s->is_object()) r.stats = s->as_object();
  if (const json::value* cd = o->if_contains("correlationData")) r.correlation_data = *cd;
  return r;
}

SnapshotRequest tag_invoke(json::value_to_tag<SnapshotRequest>, const json::value& v) {
  const json::object* o = v.if_object();
  if (!o) throw std::invalid_argument("a snapshot request is an object");
  SnapshotRequest r;
  if (const json::value* h = o->if_contains("have_rev")) {
    if (h->is_int64()) r.have_rev = h->as_int64();
    else throw std::invalid_argument("have_rev must be an integer");
  }
  if (const json::value* s = o->if_contains("reason"); s && s->is_string()) r.reason = std::string(s->as_string());
  return r;
}

std::optional<SnapshotRequest> parse_snapshot_request(std::string_view payload) {
  json::error_code ec;
  auto v = json::parse(payload, ec);
  if (ec) return std::nullopt;
  try {
    return json::value_to<SnapshotRequest>(v);
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

std::optional<Responses> parse_responses(std::string_view payload) {
  json::error_code ec;
  auto v = json::parse(payload, ec);
  const json::value* a = (!ec && v.is_object()) ? v.as_object().if_contains("responses") : nullptr;
  if (!a || !a->is_array()) return std::nullopt;
  Responses out;
  try {
    for (const auto& e : a->as_array()) out.responses.push_back(json::value_to<Response>(e));
  } catch (const std::exception&) {
    return std::nullopt;
  }
  return out;
}

}  // namespace chargehub::auth_control
