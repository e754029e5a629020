#include "commands.hpp"

#include "chargehub/payloads.hpp"

namespace chargehub::core {

namespace json = boost::json;
namespace pl = chargehub::payloads;

namespace {
std::optional<int64_t> int_in(const json::object& o, std::string_view k, int64_t lo, int64_t hi) {
  auto* v = o.if_contains(k);
  if (!v) return std::nullopt;
  int64_t x;
  if (v->is_int64()) x = v->get_int64();
  else if (v->is_uint64() && v->get_uint64() <= static_cast<uint64_t>(hi)) x = static_cast<int64_t>(v->get_uint64());
  else return std::nullopt;
  if (x < lo || x > hi) return std::nullopt;
  return x;
}

// The ports a QUERY_PORTS answer reports charging: port -> session number (malformed entries skipped).
std::map<int64_t, int64_t> charging_ports(const json::object& reply) {
  std::map<int64_t, int64_t> out;
  auto* ports = reply.if_contains("ports");
  if (!ports || !ports->is_array()) return out;
  for (auto& pv : ports->get_array()) {
    if (!pv.is_object()) continue;
    auto& p = pv.get_object();
    auto port = int_in(p, "port", 0, 255), state = int_in(p, "state", 0, 4), sess = int_in(p, "session", 0, 0xFFFFFFFFLL);
    if (port && state && sess && *state == static_cast<int64_t>(proto::PortState::Charging)) out[*port] = *sess;
  }
  return out;
}
}  // namespace

Result<CommandRow> Commands::queue(const std::string& device_id, const std::string& op, const json::object& args, const Origin& origin,
                                   int64_t now, int64_t ttl_s) {
  using R = Result<CommandRow>;
  if (!pl::command_to_frame(pl::Command{"check", op, args, 0})) return R::no("bad_command", "unknown op or invalid args for " + op);
  if (op == "start" || op == "stop" || op == "adjust") return R::no("use_sessions", "start, stop and adjust go through the sessions API");
  sql::Tx tx(r_.db);
  if (!r_.devices.get(device_id)) return R::no("device_not_found", "no device with this id");
  auto c = make_command(device_id, op, args, origin, std::nullopt, now, ttl_s);
  r_.commands.insert(c);
  tx.commit();
  return R::ok(c);
}

CommandRow Commands::queue_system(const std::string& device_id, const std::string& op, const std::string& reason, int64_t now, int64_t ttl_s) {
  sql::Tx tx(r_.db);
  auto c = make_command(device_id, op, {}, Origin::system(reason), std::nullopt, now, ttl_s);
  r_.commands.insert(c);
  tx.commit();
  return c;
}

void Commands::sent(const std::string& id, int64_t now) {
  sql::Tx tx(r_.db);
  r_.commands.mark_sent(id, now);
  if (auto c = r_.commands.get(id); c && c->op == "start" && c->session_id) sessions_.start_sent(*c->session_id);
  tx.commit();
}

std::vector<CommandRow> Commands::unsent(int64_t now) {
  sql::Tx tx(r_.db);
  auto out = r_.commands.queued(now);
  tx.commit();
  return out;
}

ReplyEffect Commands::replied(const std::string& device_id, const json::object& reply, int64_t now) {
  ReplyEffect eff;
  auto* idv = reply.if_contains("id");
  if (!idv || !idv->is_string()) {
    eff.note = "reply without id";
    return eff;
  }
  std::string id(idv->get_string());
  sql::Tx tx(r_.db);
  auto cmd = r_.commands.get(id);
  if (!cmd || cmd->device_id != device_id) {
    eff.note = "reply to an unknown command";
    return eff;
  }
  if (is_final(cmd->state)) {
    eff.duplicate = true;
    return eff;
  }
  std::optional<int64_t> result;
  std::optional<std::string> error;
  if (auto r = int_in(reply, "result", INT64_MIN, INT64_MAX)) result = r;
  if (auto* e = reply.if_contains("error"); e && e->is_string()) error = std::string(e->get_string());
  auto o = rules::reply_outcome(result, error);
  r_.commands.set_outcome(id, o.state, o.result, json::serialize(reply), o.error, now);
  eff.command = r_.commands.get(id);
  if (cmd->op == "start" && cmd->session_id) eff.session = sessions_.start_answered(*cmd->session_id, o, now);
  if (cmd->op == "query_ports" && o.state == CommandState::Replied) eff.follow = sessions_.reconcile(device_id, charging_ports(reply), now);
  tx.commit();
  return eff;
}

int64_t Commands::fail_unanswered(int64_t before) {
  sql::Tx tx(r_.db);
  auto n = r_.commands.fail_unanswered(before);
  tx.commit();
  return n;
}

std::optional<CommandRow> Commands::get(const std::string& id) {
  sql::Lock lock(r_.db);
  return r_.commands.get(id);
}

std::vector<CommandRow> Commands::for_device(const std::string& device_id, int64_t limit) {
  sql::Lock lock(r_.db);
  return r_.commands.for_device(device_id, limit);
}

}  // namespace chargehub::core
