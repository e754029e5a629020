#include "chargehub/text.hpp"
#include "chargehub/admin_api.hpp"

#include <httplib.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <boost/json.hpp>
#include <fstream>
#include <sstream>

#include "chargehub/credentials.hpp"
#include "chargehub/frame.hpp"
#include "chargehub/payloads.hpp"
#include "errors.hpp"
#include "chargehub/plan_json.hpp"
#include "service.hpp"

namespace chargehub::api {

namespace json = boost::json;

// ---------------------------------------------------------------------------------------------------
// API keys

namespace {
std::string sha256_hex(const std::vector<uint8_t>& salt, const std::string& key) {
  unsigned char md[32];
  unsigned int len = 0;
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr);
  EVP_DigestUpdate(ctx, salt.data(), salt.size());
  EVP_DigestUpdate(ctx, key.data(), key.size());
  EVP_DigestFinal_ex(ctx, md, &len);
  EVP_MD_CTX_free(ctx);
  return proto::to_hex(std::span<const uint8_t>(md, len));
}
}  // namespace

std::vector<ApiKey> load_api_keys(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot read API keys file " + path);
  std::vector<ApiKey> keys;
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    ++n;
    if (line.empty() || line[0] == '#') continue;
    std::istringstream ls(line);
    std::string name, h;
    ls >> name >> h;
    auto d1 = h.find('$'), d2 = h.rfind('$');
    if (name.empty() || h.rfind("sha256$", 0) != 0 || d1 == d2)
      throw std::runtime_error(path + ":" + std::to_string(n) + ": expected '<name> sha256$<salt>$<hash>'");
    keys.push_back(ApiKey{name, h.substr(d1 + 1, d2 - d1 - 1), h.substr(d2 + 1)});
  }
  return keys;
}

std::pair<std::string, std::string> make_api_key(const std::string& name) {
  uint8_t raw[24], salt[16];
  RAND_bytes(raw, sizeof raw);
  RAND_bytes(salt, sizeof salt);
  std::string key = proto::to_hex(std::span<const uint8_t>(raw, sizeof raw));
  std::vector<uint8_t> s(salt, salt + sizeof salt);
  return {key, name + " sha256$" + proto::to_hex(s) + "$" + sha256_hex(s, key)};
}

std::string check_api_key(const std::vector<ApiKey>& keys, const std::string& presented) {
  std::string match;
  for (auto& k : keys) {
    std::vector<uint8_t> salt;
    try {
      salt = proto::from_hex(k.salt_hex);
    } catch (...) {
      continue;
    }
    auto h = sha256_hex(salt, presented);
    if (h.size() == k.hash_hex.size() && CRYPTO_memcmp(h.data(), k.hash_hex.data(), h.size()) == 0) match = k.name;
  }
  return match;
}

// ---------------------------------------------------------------------------------------------------
// JSON views

namespace {

json::value opt(const std::optional<int64_t>& v) { return v ? json::value(*v) : json::value(nullptr); }
json::value opt(const std::optional<std::string>& v) { return v ? json::value(*v) : json::value(nullptr); }

json::object device_json(const core::Device& d) {
  json::array ports;
  for (size_t i = 0; i < d.port_states.size(); ++i) ports.push_back(json::object{{"port", i + 1}, {"state", d.port_states[i]}});
  return {{"id", d.id},           {"name", d.name},         {"model", opt(d.model)},     {"ports", d.ports},
          {"hw", opt(d.hw)},      {"fw", opt(d.fw)},        {"iccid", opt(d.iccid)},     {"enabled", d.enabled},
          {"lifecycle", name(d.lifecycle)}, {"plan_id", d.plan_id.value_or(1)}, {"online", d.online},
          {"last_seen_at", opt(d.last_seen_at)}, {"csq", opt(d.csq)}, {"temp_dc", opt(d.temp_dc)},
          {"mains_dv", opt(d.mains_dv)}, {"power_w", opt(d.power_w)}, {"auth", d.has_pubkey ? "ed25519" : (d.has_token ? "token" : "none")},
          {"port_states", std::move(ports)}, {"created_at", d.created_at}, {"station", opt(d.station)}, {"agent", opt(d.agent)}};
}

json::object counters_json(const core::Counters& c) {
  return {{"messages", c.messages.load()},
          {"bad_messages", c.bad_messages.load()},
          {"unknown_topics", c.unknown_topics.load()},
          {"sessions_settled", c.sessions_settled.load()},
          {"duplicate_reports", c.duplicate_reports.load()},
          {"commands_published", c.commands_published.load()},
          {"publish_failures", c.publish_failures.load()}};
}

json::object rider_json(const core::Rider& r) {
  return {{"id", r.id}, {"name", r.name}, {"phone", r.phone}, {"balance_fen", r.balance_fen}, {"held_fen", r.held_fen},
          {"available_fen", r.available_fen()}, {"created_at", r.created_at}};
}

json::object plan_json(const core::PlanRow& p) {
  json::object o = pricing::plan_to_json(p.plan);
  o["id"] = p.id;
  o["name"] = p.name;
  o["version"] = p.version;
  o["created_at"] = p.created_at;
  return o;
}

const char* end_reason_name(int64_t r) {
  static const char* names[] = {"",       "full",        "limit_reached", "remote_stop", "port_overload", "unit_overload",
                                "over_temperature", "unplugged", "power_loss", "fault", "stopped_by_card"};
  return r >= 1 && r <= 10 ? names[r] : "";
}

json::object session_json(const core::SessionRow& s) {
  json::object plan = pricing::plan_to_json(s.plan);
  plan["id"] = s.plan_id;
  plan["version"] = s.plan_version;
  return {{"id", s.id},
          {"device_id", s.device_id},
          {"port", s.port},
          {"rider_id", opt(s.rider_id)},
          {"state", session::state_name(s.state)},
          {"plan", std::move(plan)},
          {"prepaid_fen", s.prepaid_fen},
          {"mode", s.mode},
          {"limit", s.limit_value},
          {"energy_wh", s.energy_wh},
          {"duration_s", s.duration_s},
          {"power_w", s.power_w},
          {"max_power_w", s.max_power_w},
          {"amount_fen", opt(s.amount_fen)},
          {"end_reason", opt(s.end_reason)},
          {"end_reason_name", s.end_reason ? end_reason_name(*s.end_reason) : ""},
          {"error", opt(s.error)},
          {"created_at", s.created_at},
          {"started_at", opt(s.started_at)},
          {"ended_at", opt(s.ended_at)},
          {"settled_at", opt(s.settled_at)},
          {"card_uid", opt(s.card_uid)},
          {"flag", opt(s.flag)},
          {"meter_flag", opt(s.meter_flag)},
          {"reported", s.reported_energy_wh ? json::value(json::object{{"energy_wh", opt(s.reported_energy_wh)},
                                                                         {"duration_s", opt(s.reported_duration_s)},
                                                                         {"max_power_w", opt(s.reported_max_power_w)}})
                                            : json::value(nullptr)},
          {"refunded_fen", s.refunded_fen}};
}

json::object orphan_json(const core::OrphanRecord& o) {
  return {{"id", o.id},
          {"device_id", o.device_id},
          {"port", o.port},
          {"session", o.session},
          {"msg", o.msg},
          {"reason", o.reason},
          {"reason_name", end_reason_name(o.reason)},
          {"started_at", o.started_at},
          {"duration_s", o.duration_s},
          {"energy_wh", o.energy_wh},
          {"max_power_w", o.max_power_w},
          {"payload", o.payload},
          {"first_seen_at", o.first_seen_at},
          {"last_seen_at", o.last_seen_at},
          {"copies", o.copies},
          {"meter_flag", opt(o.meter_flag)},
          {"state", core::orphan_state_name(o.state)},
          {"session_id", opt(o.session_id)},
          {"closed_reason", opt(o.closed_reason)},
          {"actor", opt(o.actor)},
          {"resolved_at", opt(o.resolved_at)}};
}

// What a device's misbehaviour adds up to (GET /devices/{id}).
json::object device_counts_json(const core::DeviceBillingCounts& c) {
  return {{"implausible_stop_records", c.meter.implausible_ends},
          {"implausible_readings", c.meter.implausible_readings},
          {"last_implausible_at", opt(c.meter.last_implausible_at)},
          {"orphan_records", c.orphans.total},
          {"open_orphan_records", c.orphans.open}};
}

json::object card_json(const core::CardRow& c, const std::optional<core::Rider>& r) {
  return {{"uid", c.uid}, {"rider_id", c.rider_id}, {"state", name(c.state)}, {"created_at", c.created_at},
          {"balance_fen", r ? r->balance_fen : 0}, {"available_fen", r ? r->available_fen() : 0}};
}

json::object offer_json(const core::RechargeOffer& p) {
  return {{"id", p.id}, {"name", p.name}, {"amount_fen", p.amount_fen}, {"bonus_fen", p.bonus_fen}, {"created_at", p.created_at}};
}

json::object command_json(const core::CommandRow& c) {
  return {{"id", c.id},
          {"device_id", c.device_id},
          {"op", c.op},
          {"args", c.args},
          {"state", name(c.state)},
          {"result", opt(c.result)},
          {"reply", c.reply ? json::value(*c.reply) : json::value(nullptr)},
          {"error", opt(c.error)},
          {"session_id", opt(c.session_id)},
          {"actor", c.origin.actor},
          {"reason", c.origin.reason},
          {"created_at", c.created_at},
          {"sent_at", opt(c.sent_at)},
          {"replied_at", opt(c.replied_at)},
          {"expires_at", c.expires_at},
          {"sends", c.sends},
          {"queries", c.queries},
          {"last_sent_at", opt(c.last_sent_at)},
          {"query_for", opt(c.query_for)}};
}

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

// ---------------------------------------------------------------------------------------------------
// request helpers


// Parses the body as a JSON object or answers 400 and returns nothing.
std::optional<json::object> body_object(const httplib::Request& req, httplib::Response& res) {
  // The server accepts larger bodies for firmware uploads; every other route keeps 64 KiB.
  if (req.body.size() > 64 * 1024) {
    fail(res, 413, "too_large", "the body is too large (at most 64 KiB)");
    return std::nullopt;
  }
  auto v = payloads::parse_json(req.body, 64 * 1024);
  if (!v || !v->is_object()) {
    fail(res, 400, "bad_json", "the body must be a JSON object");
    return std::nullopt;
  }
  return v->get_object();
}

// Optional integer field: absent → def; present but not an integer in range → error.
struct Field {
  bool ok = true;
  int64_t v = 0;
};
Field int_field(const json::object& o, std::string_view k, int64_t def, int64_t lo, int64_t hi, bool required = false) {
  auto* v = o.if_contains(k);
  if (!v) return Field{!required, def};
  if (v->is_int64() && v->get_int64() >= lo && v->get_int64() <= hi) return Field{true, v->get_int64()};
  if (v->is_uint64() && v->get_uint64() <= static_cast<uint64_t>(hi) && static_cast<int64_t>(v->get_uint64()) >= lo)
    return Field{true, static_cast<int64_t>(v->get_uint64())};
  return Field{false, 0};
}
std::optional<std::string> str_field(const json::object& o, std::string_view k, size_t max_len) {
  auto* v = o.if_contains(k);
  if (!v) return std::string();
  if (!v->is_string() || v->get_string().size() > max_len) return std::nullopt;
  return std::string(v->get_string());
}

std::optional<int64_t> query_int(const httplib::Request& req, const char* name) {
  if (!req.has_param(name)) return std::nullopt;
  try {
    return std::stoll(req.get_param_value(name));
  } catch (...) {
    return std::nullopt;
  }
}

// Who made the request: "api:<key name>" (the pre-routing handler refused requests without a key).
std::string caller(const std::vector<ApiKey>& keys, const httplib::Request& req) {
  auto h = req.get_header_value("Authorization");
  auto name = h.rfind("Bearer ", 0) == 0 ? check_api_key(keys, h.substr(7)) : "";
  return "api:" + name;
}

}  // namespace

// ---------------------------------------------------------------------------------------------------
// routes

void mount(httplib::Server& srv, core::Service& svc, ApiConfig cfg) {
  auto keys = std::make_shared<std::vector<ApiKey>>(std::move(cfg.keys));
  auto mqtt_connected = cfg.mqtt_connected;
  auto mqtt_queue = cfg.mqtt_queue;

  srv.set_pre_routing_handler([keys](const httplib::Request& req, httplib::Response& res) {
    if (req.path == "/api/v1/health") return httplib::Server::HandlerResponse::Unhandled;
    auto h = req.get_header_value("Authorization");
    std::string who = h.rfind("Bearer ", 0) == 0 ? check_api_key(*keys, h.substr(7)) : "";
    if (who.empty()) {
      fail(res, 401, "unauthorized", "send Authorization: Bearer <api key>");
      return httplib::Server::HandlerResponse::Handled;
    }
    return httplib::Server::HandlerResponse::Unhandled;
  });
  srv.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
    std::string what = "internal error";
    try {
      if (ep) std::rethrow_exception(ep);
    } catch (const std::exception& e) {
      what = e.what();
    } catch (...) {
    }
    fail(res, 500, "internal", what);
  });
  srv.set_error_handler([](const httplib::Request&, httplib::Response& res) {
    if (!res.body.empty()) return;
    if (res.status == 404) fail(res, 404, "not_found", "no such route");
    else if (res.status == 413) fail(res, 413, "too_large", "the body is too large");
    else fail(res, res.status, "http_error", "request failed");
  });

  srv.Get("/api/v1/health", [&svc, mqtt_connected, mqtt_queue](const httplib::Request&, httplib::Response& res) {
    bool up = mqtt_connected ? mqtt_connected() : false;
    auto [waiting, shed] = mqtt_queue ? mqtt_queue() : std::pair<uint64_t, uint64_t>{0, 0};
    send(res, 200, json::object{{"ok", true},
                                {"mqtt_connected", up},
                                {"mqtt_queue", json::object{{"waiting", waiting}, {"shed", shed}}},
                                {"counters", counters_json(svc.counters())}});
  });

  // ---- devices ----
  srv.Post("/api/v1/devices", [&svc](const httplib::Request& req, httplib::Response& res) {
    auto b = body_object(req, res);
    if (!b) return;
    auto id = str_field(*b, "id", 16);
    auto name = str_field(*b, "name", 200);
    auto ports = int_field(*b, "ports", 10, 1, 32);
    auto model = int_field(*b, "model", 1, 1, 5);
    auto pubkey = str_field(*b, "pubkey", 64);
    if (!id || !proto::parse_device_id(*id)) return fail(res, 400, "bad_id", "id must be 1-16 decimal digits without leading zeros");
    if (!name || !valid_utf8(*name)) return fail(res, 400, "bad_name", "name must be UTF-8 text of at most 200 bytes");
    if (!ports.ok || !model.ok) return fail(res, 400, "bad_field", "ports must be 1..32 and model 1..5");
    if (!pubkey || (!pubkey->empty() && (pubkey->size() != 64 || pubkey->find_first_not_of("0123456789abcdef") != std::string::npos)))
      return fail(res, 400, "bad_pubkey", "pubkey must be 64 lower-case hex digits (Ed25519)");
    core::NewDevice d{*id, *name, ports.v, model.v, std::nullopt, std::nullopt};
    std::optional<IssuedToken> token;
    if (pubkey->empty()) {
      token = issue_token();
      d.token_hash = token->hash;
    } else {
      d.pubkey = *pubkey;
    }
    auto r = svc.create_device(d);
    if (!r) return refuse(res, r.refusal);
    json::object o = device_json(*r.value);
    if (token) {
      // Shown once: only its hash is stored.
      o["token_hex"] = token->hex;
      o["mqtt_password"] = token->mqtt_password;
    }
    send(res, 201, o);
  });
  srv.Get("/api/v1/devices", [&svc](const httplib::Request& req, httplib::Response& res) {
    json::array out;
    int64_t limit = std::clamp<int64_t>(query_int(req, "limit").value_or(100), 1, 1000);
    for (auto& d : svc.app().devices.list(limit, req.get_param_value("after"))) out.push_back(device_json(d));
    send(res, 200, json::object{{"devices", std::move(out)}});
  });
  srv.Get(R"(/api/v1/devices/(\d{1,16}))", [&svc](const httplib::Request& req, httplib::Response& res) {
    auto d = svc.app().devices.get(req.matches[1]);
    if (!d) return fail(res, 404, "device_not_found", "no device with this id");
    json::object o = device_json(*d);
    o["billing"] = device_counts_json(svc.app().inbox.counts(d->id));
    send(res, 200, o);
  });
  srv.Put(R"(/api/v1/devices/(\d{1,16})/plan)", [&svc](const httplib::Request& req, httplib::Response& res) {
    auto b = body_object(req, res);
    if (!b) return;
    auto pid = int_field(*b, "plan_id", 0, 1, INT64_MAX, true);
    if (!pid.ok) return fail(res, 400, "bad_field", "plan_id is required");
    auto r = svc.app().devices.assign_plan(req.matches[1], pid.v);
    if (!r) return refuse(res, r.refusal);
    send(res, 200, device_json(*r.value));
  });
  srv.Post(R"(/api/v1/devices/(\d{1,16})/(enable|disable))", [&svc](const httplib::Request& req, httplib::Response& res) {
    auto r = svc.set_enabled(req.matches[1], req.matches[2] == "enable");
    if (!r) return refuse(res, r.refusal);
    send(res, 200, device_json(*r.value));
  });
  srv.Delete(R"(/api/v1/devices/(\d{1,16}))", [&svc](const httplib::Request& req, httplib::Response& res) {
    auto r = svc.delete_device(req.matches[1]);
    if (!r) return refuse(res, r.refusal);
    send(res, 200, json::object{{"id", r.value->id}, {"deleted", true}});
  });
  srv.Put(R"(/api/v1/devices/(\d{1,16})/lifecycle)", [&svc](const httplib::Request& req, httplib::Response& res) {
    auto b = body_object(req, res);
    if (!b) return;
    auto lc = str_field(*b, "lifecycle", 32);
    if (!lc) return fail(res, 400, "bad_lifecycle", "lifecycle must be a string");
    auto r = svc.app().devices.set_lifecycle(req.matches[1], *lc);
    if (!r) return refuse(res, r.refusal);
    send(res, 200, device_json(*r.value));
  });
  srv.Put(R"(/api/v1/devices/(\d{1,16})/placement)", [&svc](const httplib::Request& req, httplib::Response& res) {
    auto b = body_object(req, res);
    if (!b) return;
    auto station = str_field(*b, "station", 200), agent = str_field(*b, "agent", 200);
    if (!station || !agent || !valid_utf8(*station) || !valid_utf8(*agent))
      return fail(res, 400, "bad_field", "station and agent are short UTF-8 text (empty clears)");
    auto r = svc.app().devices.set_placement(req.matches[1], *station, *agent);
    if (!r) return refuse(res, r.refusal);
    send(res, 200, device_json(*r.value));
  });
  srv.Post(R"(/api/v1/devices/(\d{1,16})/token)", [&svc](const httplib::Request& req, httplib::Response& res) {
    auto b = body_object(req, res);
    if (!b) return;
    auto grace = int_field(*b, "grace_s", 0, 0, 30 * 86400);
    if (!grace.ok) return fail(res, 400, "bad_field", "grace_s must be 0..2592000");
    auto t = issue_token();
    auto r = svc.rotate_token(req.matches[1], t.hash, grace.v);
    if (!r) return refuse(res, r.refusal);
    json::object o = device_json(*r.value);
    o["token_hex"] = t.hex;
    o["mqtt_password"] = t.mqtt_password;
    o["old_token_valid_for_s"] = grace.v;
    send(res, 200, o);
  });
  srv.Get(R"(/api/v1/devices/(\d{1,16})/commands)", [&svc](const httplib::Request& req, httplib::Response& res) {
    json::array out;
    int64_t limit = std::clamp<int64_t>(query_int(req, "limit").value_or(50), 1, 500);
    for (auto& c : svc.app().commands.for_device(req.matches[1], limit)) out.push_back(command_json(c));
    send(res, 200, json::object{{"commands", std::move(out)}});
  });
  srv.Post(R"(/api/v1/devices/(\d{1,16})/commands)", [&svc, keys](const httplib::Request& req, httplib::Response& res) {
    auto b = body_object(req, res);
    if (!b) return;
    auto op = str_field(*b, "op", 32);
    json::object args;
    if (auto* a = b->if_contains("args")) {
      if (!a->is_object()) return fail(res, 400, "bad_field", "args must be an object");
      args = a->get_object();
    }
    if (!op || op->empty()) return fail(res, 400, "bad_field", "op is required");
    auto r = svc.send_command(req.matches[1], *op, args, core::Origin{caller(*keys, req), "operator"});
    if (!r) return refuse(res, r.refusal);
    send(res, 202, command_json(*r.value));
  });
  srv.Get(R"(/api/v1/devices/(\d{1,16})/alarms)", [&svc](const httplib::Request& req, httplib::Response& res) {
    json::array out;
    for (auto& a : svc.app().alarms.list(req.matches[1], 100))
      out.push_back(json::object{{"id", a.id}, {"code", a.code}, {"port", a.port}, {"value", a.value}, {"created_at", a.created_at}});
    send(res, 200, json::object{{"alarms", std::move(out)}});
  });

  // ---- price plans ----
  srv.Post("/api/v1/plans", [&svc](const httplib::Request& req, httplib::Response& res) {
    auto b = body_object(req, res);
    if (!b) return;
    auto name = str_field(*b, "name", 200);
    auto plan = pricing::plan_from_json(*b);
    if (!name || name->empty() || !valid_utf8(*name)) return fail(res, 400, "bad_name", "name is required (UTF-8, at most 200 bytes)");
    if (!plan) return fail(res, 400, "bad_plan", "kind must be energy, time, power_tier or free, with integer prices");
    auto r = svc.app().plans.create(*name, *plan, svc.now());
    if (!r) return refuse(res, r.refusal);
    send(res, 201, plan_json(*r));
  });
  srv.Get("/api/v1/plans", [&svc](const httplib::Request&, httplib::Response& res) {
    json::array out;
    for (auto& p : svc.app().plans.list()) out.push_back(plan_json(p));
    send(res, 200, json::object{{"plans", std::move(out)}});
  });

  // ---- riders and wallets ----
  srv.Post("/api/v1/riders", [&svc](const httplib::Request& req, httplib::Response& res) {
    auto b = body_object(req, res);
    if (!b) return;
    auto name = str_field(*b, "name", 200), phone = str_field(*b, "phone", 32);
    if (!name || !phone || !valid_utf8(*name) || !valid_utf8(*phone)) return fail(res, 400, "bad_field", "name and phone must be short UTF-8 text");
    send(res, 201, rider_json(svc.app().wallets.create_rider(*name, *phone, svc.now())));
  });
  srv.Get(R"(/api/v1/riders/(\d{1,18}))", [&svc](const httplib::Request& req, httplib::Response& res) {
    auto r = svc.app().wallets.rider(std::stoll(req.matches[1]));
    if (!r) return fail(res, 404, "rider_not_found", "no rider with this id");
    send(res, 200, rider_json(*r));
  });
  srv.Post(R"(/api/v1/riders/(\d{1,18})/topups)", [&svc](const httplib::Request& req, httplib::Response& res) {
    auto b = body_object(req, res);
    if (!b) return;
    auto pkg = int_field(*b, "offer_id", 0, 1, INT64_MAX);
    auto amount = int_field(*b, "amount_fen", 0, 1, 10'000'000, !b->contains("offer_id"));
    auto bonus = int_field(*b, "bonus_fen", 0, 0, 10'000'000);
    auto note = str_field(*b, "note", 200);
    if (!pkg.ok) return fail(res, 400, "bad_field", "offer_id must be an integer");
    if (pkg.v) {
      auto p = svc.app().plans.offer(pkg.v);
      if (!p || !p->active) return fail(res, 404, "offer_not_found", "no active recharge offer with this id");
      amount.v = p->amount_fen;
      bonus.v = p->bonus_fen;
      if (note && note->empty()) *note = p->name;
    }
    if (!amount.ok || !bonus.ok) return fail(res, 400, "bad_amount", "amount_fen must be an integer 1..10000000 (fen)");
    if (!note || !valid_utf8(*note)) return fail(res, 400, "bad_field", "note must be short UTF-8 text");
    auto r = svc.app().wallets.topup(std::stoll(req.matches[1]), amount.v, bonus.v, *note, svc.now());
    if (!r) return refuse(res, r.refusal);
    send(res, 200, rider_json(*r.value));
  });
  srv.Get(R"(/api/v1/riders/(\d{1,18})/ledger)", [&svc](const httplib::Request& req, httplib::Response& res) {
    json::array out;
    for (auto& e : svc.app().wallets.ledger(std::stoll(req.matches[1]), 200))
      out.push_back(json::object{{"id", e.id}, {"kind", name(e.kind)}, {"amount_fen", e.amount_fen}, {"session_id", opt(e.session_id)},
                                 {"note", e.note}, {"created_at", e.created_at}});
    send(res, 200, json::object{{"entries", std::move(out)}});
  });

  // ---- IC cards and recharge offers ----
  srv.Post("/api/v1/cards", [&svc](const httplib::Request& req, httplib::Response& res) {
    auto b = body_object(req, res);
    if (!b) return;
    auto uid = str_field(*b, "uid", 20);
    auto rider = int_field(*b, "rider_id", 0, 1, INT64_MAX);
    if (!uid || !rider.ok) return fail(res, 400, "bad_field", "uid (hex) is required; rider_id is optional");
    std::string u = *uid;
    for (auto& ch : u) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    auto c = svc.app().cards.create(u, rider.v ? std::optional<int64_t>(rider.v) : std::nullopt, svc.now());
    if (!c) return refuse(res, c.refusal);
    send(res, 201, card_json(*c.value, svc.app().wallets.rider(c.value->rider_id)));
  });
  srv.Get(R"(/api/v1/cards/([0-9A-Fa-f]{8,20}))", [&svc](const httplib::Request& req, httplib::Response& res) {
    std::string u = req.matches[1];
    for (auto& ch : u) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    auto c = svc.app().cards.get(u);
    if (!c) return fail(res, 404, "card_not_found", "no card with this uid");
    send(res, 200, card_json(*c, svc.app().wallets.rider(c->rider_id)));
  });
  srv.Put(R"(/api/v1/cards/([0-9A-Fa-f]{8,20})/state)", [&svc](const httplib::Request& req, httplib::Response& res) {
    auto b = body_object(req, res);
    if (!b) return;
    auto st = str_field(*b, "state", 16);
    if (!st) return fail(res, 400, "bad_state", "state must be active, lost or blocked");
    std::string u = req.matches[1];
    for (auto& ch : u) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    auto c = svc.app().cards.set_state(u, *st);
    if (!c) return refuse(res, c.refusal);
    send(res, 200, card_json(*c.value, svc.app().wallets.rider(c.value->rider_id)));
  });
  srv.Post("/api/v1/recharge-offers", [&svc](const httplib::Request& req, httplib::Response& res) {
    auto b = body_object(req, res);
    if (!b) return;
    auto name = str_field(*b, "name", 200);
    auto amount = int_field(*b, "amount_fen", 0, 1, 10'000'000, true);
    auto bonus = int_field(*b, "bonus_fen", 0, 0, 10'000'000);
    if (!name || name->empty() || !valid_utf8(*name)) return fail(res, 400, "bad_name", "name is required");
    if (!amount.ok || !bonus.ok || bonus.v > amount.v) return fail(res, 400, "bad_amount", "amount_fen 1..10000000, bonus_fen 0..amount_fen");
    send(res, 201, offer_json(svc.app().plans.create_offer(*name, amount.v, bonus.v, svc.now())));
  });
  srv.Get("/api/v1/recharge-offers", [&svc](const httplib::Request&, httplib::Response& res) {
    json::array out;
    for (auto& p : svc.app().plans.offers()) out.push_back(offer_json(p));
    send(res, 200, json::object{{"offers", std::move(out)}});
  });

  // ---- sessions ----
  srv.Post("/api/v1/sessions", [&svc, keys](const httplib::Request& req, httplib::Response& res) {
    auto b = body_object(req, res);
    if (!b) return;
    auto device = str_field(*b, "device_id", 16);
    auto port = int_field(*b, "port", 0, 1, 255, true);
    auto rider = int_field(*b, "rider_id", 0, 1, INT64_MAX, true);
    auto amount = int_field(*b, "amount_fen", 0, 0, 10'000'000);
    auto duration = int_field(*b, "duration_s", 0, 0, 72 * 3600);
    bool until_full = false;
    if (auto* u = b->if_contains("until_full")) {
      if (!u->is_bool()) return fail(res, 400, "bad_field", "until_full must be true or false");
      until_full = u->get_bool();
    }
    if (!device || device->empty()) return fail(res, 400, "bad_field", "device_id is required");
    if (!port.ok || !rider.ok) return fail(res, 400, "bad_field", "port (1..255) and rider_id are required integers");
    if (!amount.ok) return fail(res, 400, "bad_amount", "amount_fen must be an integer 0..10000000 (fen)");
    if (!duration.ok) return fail(res, 400, "bad_duration", "duration_s must be an integer 0..259200");
    if (amount.v == 0 && duration.v == 0 && !until_full)
      return fail(res, 400, "bad_amount", "give amount_fen, duration_s, or until_full: true");
    core::OpenRequest r{*device, port.v, rider.v, amount.v, until_full, duration.v, core::Origin{caller(*keys, req), "operator"}};
    auto t = svc.start_session(r);
    if (!t) return refuse(res, t.refusal);
    send(res, 201, session_json(t->session));
  });
  srv.Get("/api/v1/sessions", [&svc](const httplib::Request& req, httplib::Response& res) {
    core::SessionFilter f;
    f.rider_id = query_int(req, "rider_id");
    if (req.has_param("device_id")) f.device_id = req.get_param_value("device_id");
    if (req.has_param("state")) f.state = req.get_param_value("state");
    f.before_id = query_int(req, "before_id");
    f.limit = query_int(req, "limit").value_or(50);
    json::array out;
    for (auto& s : svc.app().sessions.list(f)) out.push_back(session_json(s));
    send(res, 200, json::object{{"sessions", std::move(out)}});
  });
  srv.Get(R"(/api/v1/sessions/(\d{1,18}))", [&svc](const httplib::Request& req, httplib::Response& res) {
    auto s = svc.app().sessions.get(std::stoll(req.matches[1]));
    if (!s) return fail(res, 404, "session_not_found", "no session with this id");
    send(res, 200, session_json(*s));
  });
  srv.Get(R"(/api/v1/sessions/(\d{1,18})/meter)", [&svc](const httplib::Request& req, httplib::Response& res) {
    json::array out;
    for (auto& m : svc.app().sessions.samples(std::stoll(req.matches[1]), 5000))
      out.push_back(json::object{{"ts", m.ts}, {"power_w", m.power_w}, {"energy_wh", m.energy_wh}, {"elapsed_s", m.elapsed_s},
                                 {"voltage_dv", m.voltage_dv}, {"current_ma", m.current_ma}});
    send(res, 200, json::object{{"samples", std::move(out)}});
  });
  srv.Post(R"(/api/v1/sessions/(\d{1,18})/refund)", [&svc](const httplib::Request& req, httplib::Response& res) {
    auto b = body_object(req, res);
    if (!b) return;
    auto amount = int_field(*b, "amount_fen", 0, 1, 10'000'000, true);
    auto note = str_field(*b, "note", 200);
    if (!amount.ok) return fail(res, 400, "bad_amount", "amount_fen must be a positive integer (fen)");
    if (!note || !valid_utf8(*note)) return fail(res, 400, "bad_field", "note must be short UTF-8 text");
    auto r = svc.app().sessions.refund(std::stoll(req.matches[1]), amount.v, *note, svc.now());
    if (!r) return refuse(res, r.refusal);
    send(res, 200, session_json(*r.value));
  });
  // ---- orphans: stop records for sessions the platform does not know (docs/billing-rules.md) ----
  srv.Get("/api/v1/orphans", [&svc](const httplib::Request& req, httplib::Response& res) {
    core::OrphanFilter f;
    if (req.has_param("device_id")) f.device_id = req.get_param_value("device_id");
    if (req.has_param("state")) {
      f.state = core::parse_orphan_state(req.get_param_value("state"));
      if (!f.state) return fail(res, 400, "bad_state", "state must be open, settled or closed");
    }
    f.after_id = query_int(req, "after_id").value_or(0);
    f.limit = query_int(req, "limit").value_or(100);
    json::array out;
    for (auto& o : svc.app().inbox.list(f)) out.push_back(orphan_json(o));
    send(res, 200, json::object{{"orphans", std::move(out)}});
  });
  srv.Get(R"(/api/v1/orphans/(\d{1,18}))", [&svc](const httplib::Request& req, httplib::Response& res) {
    auto o = svc.app().inbox.get(std::stoll(req.matches[1]));
    if (!o) return fail(res, 404, "orphan_not_found", "no orphan stop record with this id");
    send(res, 200, orphan_json(*o));
  });
  srv.Post(R"(/api/v1/orphans/(\d{1,18})/settle)", [&svc, keys](const httplib::Request& req, httplib::Response& res) {
    auto b = body_object(req, res);
    if (!b) return;
    auto rider = int_field(*b, "rider_id", 0, 1, INT64_MAX, true);
    if (!rider.ok) return fail(res, 400, "bad_field", "rider_id is required");
    auto r = svc.app().inbox.settle(std::stoll(req.matches[1]), rider.v, caller(*keys, req), svc.now());
    if (!r) return refuse(res, r.refusal);
    json::object o = orphan_json(*r.value);
    if (auto s = svc.app().sessions.get(r.value->session_id.value_or(0))) o["session"] = session_json(*s);
    send(res, 200, o);
  });
  srv.Post(R"(/api/v1/orphans/(\d{1,18})/close)", [&svc, keys](const httplib::Request& req, httplib::Response& res) {
    auto b = body_object(req, res);
    if (!b) return;
    auto reason = str_field(*b, "reason", 500);
    if (!reason || reason->empty() || !valid_utf8(*reason)) return fail(res, 400, "bad_reason", "reason is required (UTF-8, at most 500 bytes)");
    auto r = svc.app().inbox.close(std::stoll(req.matches[1]), *reason, caller(*keys, req), svc.now());
    if (!r) return refuse(res, r.refusal);
    send(res, 200, orphan_json(*r.value));
  });

  srv.Post(R"(/api/v1/sessions/(\d{1,18})/stop)", [&svc, keys](const httplib::Request& req, httplib::Response& res) {
    int64_t id = std::stoll(req.matches[1]);
    auto c = svc.stop_session(id, core::Origin{caller(*keys, req), "operator"});
    if (!c) return refuse(res, c.refusal);
    send(res, 202, session_json(*svc.app().sessions.get(id)));
  });
}

}  // namespace chargehub::api
