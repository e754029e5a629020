#include "commands.hpp"

#include "chargehub/payloads.hpp"
#include "chargehub/rules/start_outcome.hpp"

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

// A QUERY_PORTS answer as the frame body it stands for (ports[i] is port i + 1). A port missing from the
// answer, or malformed, is left as an unknown state (255), which start_outcome treats as unknown.
proto::QueryPortsResp query_ports_answer(const json::object& reply) {
  proto::QueryPortsResp q;
  auto* ports = reply.if_contains("ports");
  if (!ports || !ports->is_array()) return q;
  for (auto& pv : ports->get_array()) {
    if (!pv.is_object()) continue;
    auto& p = pv.get_object();
    auto port = int_in(p, "port", 1, 255);
    if (!port) continue;
    if (q.ports.size() < static_cast<size_t>(*port)) q.ports.resize(static_cast<size_t>(*port), proto::PortStatus{255, 0, 0, 0, 0});
    auto& st = q.ports[static_cast<size_t>(*port - 1)];
    st.state = static_cast<uint8_t>(int_in(p, "state", 0, 254).value_or(255));
    st.session = static_cast<uint32_t>(int_in(p, "session", 0, 0xFFFFFFFFLL).value_or(0));
    st.power_w = static_cast<uint16_t>(int_in(p, "power_w", 0, 0xFFFF).value_or(0));
    st.energy_wh = static_cast<uint32_t>(int_in(p, "energy_wh", 0, 0xFFFFFFFFLL).value_or(0));
    st.elapsed_s = static_cast<uint32_t>(int_in(p, "elapsed_s", 0, 0xFFFFFFFFLL).value_or(0));
  }
  return q;
}
}  // namespace

Result<CommandRow> Commands::queue(const Scope& scope, const std::string& device_id, const std::string& op, const json::object& args, const Origin& origin,
                                   int64_t now, int64_t ttl_s) {
  using R = Result<CommandRow>;
  if (!pl::command_to_frame(pl::Command{"check", op, args, 0})) return R::no("bad_command", "unknown op or invalid args for " + op);
  if (op == "start" || op == "stop" || op == "adjust") return R::no("use_sessions", "start, stop and adjust go through the sessions API");
  sql::Tx tx(r_.db);
  if (!r_.devices.get(scope, device_id)) return R::no("device_not_found", "no device with this id");
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
  auto cmd = r_.commands.lock(id);   // a copy of the reply on another core instance waits, then sees it final
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
  if (cmd->op == "start" && rules::classify_start_reply(result, error) == rules::StartReply::Unanswered) {
    // An error instead of the charger's result says nothing about the port: the retry policy goes on.
    eff.command = cmd;
    eff.note = "START " + id + " answered without a result (" + error.value_or("no result") + "): retrying";
    tx.commit();
    return eff;
  }
  auto o = rules::reply_outcome(result, error);
  r_.commands.set_outcome(id, o.state, o.result, json::serialize(reply), o.error, now);
  eff.command = r_.commands.get(id);
  if (cmd->op == "start" && cmd->session_id) eff.session = sessions_.start_answered(*cmd->session_id, o, now);
  if (cmd->op == "query_ports" && o.state == CommandState::Replied) {
    if (cmd->query_for) settle_start(*cmd->query_for, reply, eff, now);
    eff.follow.add(sessions_.reconcile(device_id, charging_ports(reply), now));
  }
  tx.commit();
  return eff;
}

void Commands::settle_start(const std::string& start_id, const json::object& reply, ReplyEffect& eff, int64_t now) {
  auto start = r_.commands.lock(start_id);
  if (!start || start->state != CommandState::Sent || !start->session_id) return;   // answered meanwhile
  auto s = r_.sessions.lock(*start->session_id);
  if (!s) return;
  auto answer = query_ports_answer(reply);
  auto outcome = rules::start_outcome(answer, static_cast<uint8_t>(s->port), static_cast<uint32_t>(s->id));
  if (outcome == rules::StartOutcome::Charging) {
    r_.commands.resolve(start_id, CommandState::Replied, "no reply; QUERY_PORTS shows the port charging the session", now);
    eff.session = sessions_.start_answered(s->id, rules::ReplyOutcome{CommandState::Replied, 0, std::nullopt}, now);
    // Its port status is a reading for the meter check.
    auto& p = answer.ports[static_cast<size_t>(s->port - 1)];
    if (eff.session && static_cast<int64_t>(p.session) == s->id) {
      sessions_.reading(*eff.session, eff.session->state, rules::Reported{p.energy_wh, p.elapsed_s, p.power_w}, now);
      eff.session = r_.sessions.get(s->id);
    }
  } else if (outcome == rules::StartOutcome::NotStarted) {
    auto& p = answer.ports[static_cast<size_t>(s->port - 1)];
    std::string why = "not started: QUERY_PORTS shows port " + std::to_string(s->port) + " in state " + std::to_string(p.state) +
                      (p.session ? " with session " + std::to_string(p.session) : "");
    if (auto stop = sessions_.start_not_taken(*s, why, now)) eff.follow.commands.push_back(*stop);
    eff.session = r_.sessions.get(s->id);
  }
  // Unknown: the policy asks again or gives up.
}

FollowUp Commands::chase_starts(int64_t now, const rules::RetryPolicy& policy) {
  sql::Tx tx(r_.db);
  FollowUp out;
  for (auto& found : r_.commands.unanswered_starts()) {
    // Again under the row's lock: its reply may have been applied on another core instance meanwhile.
    auto locked = r_.commands.lock(found.id);
    if (!locked || locked->state != CommandState::Sent || !locked->sent_at) continue;
    auto& c = *locked;
    auto s = c.session_id ? r_.sessions.lock(*c.session_id) : std::nullopt;
    if (s && s->state != session::State::Requested && s->state != session::State::Starting) {
      // A meter reading or a stop record answered for it.
      r_.commands.resolve(c.id, CommandState::Replied, "no reply; the session is " + std::string(session::state_name(s->state)), now);
      continue;
    }
    rules::CommandAttempts a{*c.sent_at, c.last_sent_at.value_or(*c.sent_at), static_cast<uint32_t>(std::max<int64_t>(c.sends, 1)),
                             static_cast<uint32_t>(c.queries)};
    switch (rules::next_retry_step(a, now, policy).action) {
      case rules::RetryAction::Wait:
        break;
      case rules::RetryAction::Resend:
        r_.commands.count_resend(c.id, now);
        out.commands.push_back(c);
        break;
      case rules::RetryAction::QueryPorts: {
        auto q = make_command(c.device_id, "query_ports", {}, Origin::system("start_unanswered"), c.session_id, now, 60);
        q.query_for = c.id;
        r_.commands.insert(q);
        r_.commands.count_query(c.id, now);
        out.commands.push_back(q);
        break;
      }
      case rules::RetryAction::GiveUp:
        if (s) {
          if (auto stop = sessions_.start_not_taken(*s, "no answer to START nor to QUERY_PORTS", now)) out.commands.push_back(*stop);
        } else {
          r_.commands.resolve(c.id, CommandState::Failed, "no reply", now);
        }
        break;
    }
  }
  tx.commit();
  return out;
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

Page<CommandRow> Commands::page_for_device(const Scope& scope, const std::string& device_id, const PageRequest& p) {
  sql::Lock lock(r_.db);
  if (!r_.devices.get(scope, device_id)) return {};
  return r_.commands.page_for_device(device_id, p);
}

std::vector<CommandRow> Commands::for_device(const Scope& scope, const std::string& device_id, int64_t limit) {
  sql::Lock lock(r_.db);
  if (!r_.devices.get(scope, device_id)) return {};
  return r_.commands.for_device(device_id, limit);
}

}  // namespace chargehub::core
