#include "service.hpp"

#include <chrono>

#include "chargehub/auth_control.hpp"
#include "chargehub/payloads.hpp"
#include "chargehub/topics.hpp"
#include "chargehub/rules/meter_check.hpp"
#include "log.hpp"
#include "metrics.hpp"

namespace chargehub::core {

namespace json = boost::json;
namespace pl = chargehub::payloads;

Service::Service(App& app, Publisher& pub, ServiceConfig cfg, Clock clock)
    : app_(app), pub_(pub), cfg_(cfg), clock_(std::move(clock)) {
  app_.sessions.set_charger_time_scale(cfg_.charger_time_scale);
  if (!clock_)
    clock_ = [] {
      return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
    };
}

// ---------------------------------------------------------------------------------------------------
// inbound: one handler per message kind

const std::unordered_map<std::string_view, Service::Handler>& Service::handlers() {
  namespace up = topics::up;
  static const std::unordered_map<std::string_view, Handler> table = {
      {up::kBoot, &Service::on_boot},   {up::kHeartbeat, &Service::on_heartbeat}, {up::kMeter, &Service::on_meter},
      {up::kSessionEnd, &Service::on_session_end}, {up::kReply, &Service::on_reply},  {up::kAlarm, &Service::on_alarm},
      {up::kCard, &Service::on_card},   {up::kOta, &Service::on_ota},
  };
  return table;
}

void Service::on_message(const std::string& topic, std::string_view payload) {
  ++counters_.messages;
  if (topic == auth_control::kSnapshotRequestTopic) {
    core_metrics().message("snapshot_request");
    auto r = auth_control::parse_snapshot_request(payload);
    return publish_snapshot(r ? "the broker asked: " + r->reason : "the broker asked");
  }
  auto t = topics::parse(topic);
  core_metrics().message(!t || t->dir == topics::Direction::Down ? "unknown" : t->dir == topics::Direction::Status ? "status" : std::string_view(t->kind));
  if (!t || t->dir == topics::Direction::Down) {
    ++counters_.unknown_topics;
    return;
  }
  try {
    if (t->dir == topics::Direction::Status) return on_status(t->device, payload);
    auto h = handlers().find(t->kind);
    if (h == handlers().end()) {
      ++counters_.unknown_topics;
      return;
    }
    auto v = pl::parse_json(payload);
    if (!v) {
      ++counters_.bad_messages;
      log::warn("mqtt.bad_json", {{"topic", topic}});
      return;
    }
    (this->*(h->second))(t->device, *v);
  } catch (const sql::Error& e) {
    // Several core instances: a deadlock with another instance's transaction, or a copy of this report
    // that another instance recorded first (a unique key). Its savepoint is rolled back; it is applied
    // again after the burst commits, and then sees what the other instance did.
    if (collided_ && e.kind == sql::Error::Kind::Busy && abandon_on_busy_) throw;   // the whole burst goes back
    if (collided_ && (e.kind == sql::Error::Kind::Busy || e.constraint())) {
      collided_->emplace_back(topic, std::string(payload));
      return;
    }
    ++counters_.bad_messages;
    log::error("mqtt.handler_failed", {{"topic", topic}, {"error", e.what()}});
  } catch (const std::exception& e) {
    ++counters_.bad_messages;
    log::error("mqtt.handler_failed", {{"topic", topic}, {"error", e.what()}});
  }
}

void Service::malformed(const std::string& device, std::string_view kind) {
  ++counters_.bad_messages;
  log::warn("device.malformed", {{"device", device}, {"kind", kind}});
}

namespace {
// The msg of a report (session_end, card, alarm): the key it is processed once by.
std::optional<std::string> msg_of(const json::value& v) {
  auto* m = v.is_object() ? v.get_object().if_contains("msg") : nullptr;
  if (!m || !m->is_string() || m->get_string().empty()) return std::nullopt;
  return std::string(m->get_string());
}
}  // namespace

void Service::on_status(const std::string& device, std::string_view payload) {
  auto v = pl::parse_json(payload);
  if (!v || !v->is_object()) {
    if (!payload.empty()) ++counters_.bad_messages;   // empty: a cleared retained status
    return;
  }
  auto* online = v->get_object().if_contains("online");
  if (online && online->is_bool()) {
    app_.devices.online(device, online->get_bool(), now());
    if (ota_) ota_->on_online(device, online->get_bool());
  }
}

void Service::on_boot(const std::string& device, const json::value& v) {
  auto b = pl::parse_boot(v);
  if (!b) return malformed(device, "boot");
  app_.devices.booted(device, *b, now());
  if (ota_) ota_->on_boot(device, b->fw.text());
  query_ports(device, "boot");
  log::info("device.booted", {{"device", device}, {"model", int(b->model)}, {"ports", int(b->ports)}, {"fw", b->fw.text()}});
}

void Service::on_heartbeat(const std::string& device, const json::value& v) {
  auto h = pl::parse_heartbeat(v);
  if (!h) return malformed(device, "heartbeat");
  app_.devices.heartbeat(device, *h, now());
  if (ota_) ota_->on_heartbeat(device, h->ports);
}

void Service::on_meter(const std::string& device, const json::value& v) {
  auto m = pl::parse_meter(v);
  if (!m) return malformed(device, "meter");
  follow_up(app_.telemetry.meter(device, *m, now(), cfg_.telemetry));
}

void Service::on_session_end(const std::string& device, const json::value& v) {
  auto e = pl::parse_session_end(v);
  auto msg = msg_of(v);
  if (!e || !msg) return malformed(device, "session_end");
  auto out = app_.sessions.end_reported(device, *msg, *e, now(), json::serialize(v));
  if (out.duplicate) ++counters_.duplicate_reports;
  if (out.settled) core_metrics().settled("stop_record");
  if (out.meter_flag || out.orphan_id || (!out.settled && !out.duplicate))
    core_metrics().settlement_error(out.meter_flag ? "implausible" : out.orphan_id ? "orphan" : "not_settleable");
  if (out.settled) {
    ++counters_.sessions_settled;
    log::info("session.settled", {{"session", out.settled->id}, {"device", device}, {"wh", out.settled->energy_wh},
                                  {"fen", out.settled->amount_fen.value_or(0)}, {"reason", int(e->reason)}});
    if (out.meter_flag)
      log::warn("session.implausible_record", {{"session", out.settled->id}, {"device", device}, {"flag", rules::meter_flag_name(*out.meter_flag)},
                                              {"wh", e->energy_wh}, {"duration_s", e->duration_s}, {"max_power_w", e->max_power_w}});
  } else if (!out.duplicate) {
    log::warn("session.end_not_applied", {{"device", device}, {"session", e->session}, {"note", out.note}});
  }
  ack(device, out.ack);
}

void Service::on_reply(const std::string& device, const json::value& v) {
  if (!v.is_object()) return malformed(device, "reply");
  auto eff = app_.commands.replied(device, v.get_object(), now());
  if (eff.command && is_final(eff.command->state)) core_metrics().command_done(eff.command->id, eff.command->op, name(eff.command->state));
  follow_up(eff.follow);
  // Whichever core instance sent the command, the one the reply reaches completes it (the row is shared).
  if (eff.command && !eff.duplicate && is_final(eff.command->state))
    log::info("command.completed", {{"command", eff.command->id}, {"op", eff.command->op}, {"device", device},
                                     {"state", name(eff.command->state)}});
  if (eff.session && !eff.note.empty()) log::info("session.note", {{"session", eff.session->id}, {"note", eff.note}});
  if (eff.session)
    log::info("session.state", {{"session", eff.session->id}, {"state", session::state_name(eff.session->state)}, {"error", eff.session->error}});
  else if (!eff.note.empty())
    log::warn("device.reply_not_applied", {{"device", device}, {"note", eff.note}});
}

void Service::on_alarm(const std::string& device, const json::value& v) {
  auto a = pl::parse_alarm(v);
  auto msg = msg_of(v);
  if (!a || !msg) return malformed(device, "alarm");
  log::warn("device.alarm", {{"device", device}, {"code", int(a->code)}, {"port", int(a->port)}, {"value", a->value}});
  auto out = app_.alarms.raised(device, *msg, *a, now());
  ack(device, out.ack);
  follow_up(out.follow);
}

void Service::on_card(const std::string& device, const json::value& v) {
  auto c = pl::parse_card(v);
  auto msg = msg_of(v);
  if (!c || !msg) return malformed(device, "card");
  auto out = app_.cards.swipe(device, *msg, *c, now(), cfg_.cards, cfg_.command_ttl_s);
  log::info("card.swiped", {{"card", c->uid_text()}, {"device", device}, {"port", int(c->port)}, {"result", int(out.ack.result)}});
  ack(device, out.ack);
  follow_up(out.follow);
}

void Service::on_ota(const std::string& device, const json::value& v) {
  if (!ota_) {
    ++counters_.unknown_topics;
    return;
  }
  ota_->on_ota_message(device, v);
}

// A burst is one transaction. On PostgreSQL with several core instances, two bursts may need the same
// rows (a session's meter readings and its stop record reach different instances) in different orders.
// A burst therefore waits at most kBurstLockWaitMs for a row another instance holds; then it is rolled
// back whole and its messages are applied one transaction each, which hold their rows briefly and may
// wait (a deadlock between two of those is broken by PostgreSQL and the message applied again).
void Service::on_messages(const std::vector<std::pair<std::string, std::string>>& batch) {
  std::vector<std::pair<std::string, std::string>> collided;
  if (!apply_burst(batch, &collided, true)) {
    ++counters_.bursts_split;
    if (int64_t t = now(); t - last_split_log_ >= 10) {
      last_split_log_ = t;
      log::info("ingest.burst_split", {{"messages", batch.size()}, {"bursts_split", counters_.bursts_split.load()},
                                       {"why", "rows_held_by_another_instance"}});
    }
    collided.assign(batch.begin(), batch.end());
  }
  for (auto& m : collided) {
    std::vector<std::pair<std::string, std::string>> one{m};
    for (int attempt = 1; !one.empty(); ++attempt) {
      std::vector<std::pair<std::string, std::string>> again;
      ++counters_.retried;
      apply_burst(one, attempt < 5 ? &again : nullptr, false);   // the last attempt counts a failure as any other
      one.swap(again);
    }
  }
}

bool Service::apply_burst(const std::vector<std::pair<std::string, std::string>>& batch,
                          std::vector<std::pair<std::string, std::string>>* collided, bool whole) {
  std::vector<Deferred> deferred;
  deferred_ = &deferred;
  collided_ = collided;
  abandon_on_busy_ = whole;
  // What the handlers count, to be taken back if the burst is abandoned.
  uint64_t before[] = {counters_.messages, counters_.bad_messages, counters_.unknown_topics, counters_.sessions_settled,
                       counters_.duplicate_reports};
  auto reset = [&] {
    deferred_ = nullptr;
    collided_ = nullptr;
    abandon_on_busy_ = false;
  };
  try {
    app_.batch([&] {
      for (auto& [topic, payload] : batch) on_message(topic, payload);
    }, whole ? kBurstLockWaitMs : 0);
  } catch (const sql::Error& e) {
    reset();
    if (!whole || e.kind != sql::Error::Kind::Busy) throw;
    counters_.messages = before[0];
    counters_.bad_messages = before[1];
    counters_.unknown_topics = before[2];
    counters_.sessions_settled = before[3];
    counters_.duplicate_reports = before[4];
    return false;
  } catch (...) {
    reset();
    throw;
  }
  reset();
  for (auto& d : deferred) publish(d.topic, d.payload, d.qos, d.command_id);
  return true;
}

// ---------------------------------------------------------------------------------------------------
// outbound

// Publishes now, or after the current batch commits (an ack must never precede the commit of what it
// acknowledges). A command is marked sent only once it was handed to the broker.
bool Service::publish(const std::string& topic, const std::string& payload, int qos, const std::string& command_id) {
  if (deferred_) {
    deferred_->push_back(Deferred{topic, payload, qos, command_id});
    return true;
  }
  // Inside a transaction of this thread (an API route records its audit entry in the same transaction
  // as the change): the message leaves once that commits; otherwise now.
  if (app_.db.in_transaction_here()) {
    app_.db.after_commit([this, topic, payload, qos, command_id] { publish_now(topic, payload, qos, command_id); });
    return true;
  }
  return publish_now(topic, payload, qos, command_id);
}

bool Service::publish_now(const std::string& topic, const std::string& payload, int qos, const std::string& command_id) {
  if (!pub_.publish(topic, payload, qos, false)) {
    ++counters_.publish_failures;   // a command stays queued; flush_commands() sends it after reconnecting
    return false;
  }
  if (!command_id.empty()) {
    ++counters_.commands_published;
    core_metrics().command_sent(command_id);
    app_.commands.sent(command_id, now());
  }
  return true;
}

void Service::ack(const std::string& device, const pl::Ack& a) {
  publish(topics::down_topic(device, topics::down::kAck), json::serialize(pl::ack(a)), 1);
}

void Service::publish_command(const CommandRow& c) {
  pl::Command cmd{c.id, c.op, c.args, c.expires_at};
  publish(topics::down_topic(c.device_id, topics::down::kCmd), json::serialize(pl::command(cmd)), 1, c.id);
}

void Service::follow_up(const FollowUp& f) {
  core_metrics().settled("charger_lost", f.settled.size());
  for (auto& s : f.settled)
    log::warn("session.lost", {{"session", s.id}, {"device", s.device_id}, {"port", s.port}, {"wh", s.energy_wh}, {"fen", s.amount_fen.value_or(0)}});
  for (auto& c : f.commands) {
    log::info("command.sending", {{"op", c.op}, {"device", c.device_id}, {"reason", c.origin.reason}, {"actor", c.origin.actor}});
    publish_command(c);
  }
}

void Service::query_ports(const std::string& device, const std::string& why) {
  publish_command(app_.commands.queue_system(device, "query_ports", why, now(), cfg_.command_ttl_s));
}

void Service::on_connected() {
  publish_snapshot("connected");   // a broker that started while no core ran waits for this
  // With several core instances the leading one sends what is queued and reconciles (it reconnects too
  // when the broker was away); a follower that alone lost its connection has nothing to catch up on.
  if (!housekeeping_) return;
  flush_commands();
  // After a core restart (or a broker outage) what the chargers run may differ from what we think.
  for (auto& d : app_.devices.online_ids()) query_ports(d, "reconnect");
}

void Service::flush_commands() {
  for (auto& c : app_.commands.unsent(now())) publish_command(c);
}

void Service::tick(bool housekeeping) {
  housekeeping_ = housekeeping;
  if (!housekeeping) {
    if (ota_) ota_->tick(false);   // what this instance's OTA hooks saw still goes to the tables
    return;
  }
  int64_t t = now();
  // Published STARTs without a reply: resend, ask the charger, or give up (docs/billing-rules.md).
  follow_up(app_.commands.chase_starts(t, cfg_.start_retry));
  for (auto& s : app_.sessions.expire_starts(t - cfg_.start_timeout_s, t))
    log::warn("session.start_timed_out", {{"session", s.id}, {"device", s.device_id}, {"port", s.port}});
  for (auto& id : app_.devices.mark_silent_offline(t - cfg_.offline_after_s)) {
    log::info("device.offline", {{"device", id}, {"why", "silent"}});
    if (ota_) ota_->on_online(id, false);
  }
  flush_commands();
  core_metrics().commands_unanswered(static_cast<uint64_t>(app_.commands.fail_unanswered(t - 30)));
  if (t - last_downsample_ >= 600) {
    last_downsample_ = t;
    if (auto n = app_.telemetry.downsample(t - cfg_.full_resolution_s, cfg_.downsample_interval_s))
      log::info("meter.downsampled", {{"samples", n}});
  }
  if (ota_) ota_->tick(true);
}

// ---------------------------------------------------------------------------------------------------
// use cases that publish

Result<StartTicket> Service::start_session(const Scope& scope, const OpenRequest& r) {
  OpenRequest req = r;
  req.command_ttl_s = cfg_.command_ttl_s;
  auto t = app_.sessions.open(scope, req, now());
  if (t) {
    log::info("session.requested", {{"session", t->session.id}, {"device", r.device_id}, {"port", r.port}, {"rider", r.rider_id},
                                    {"held_fen", t->session.prepaid_fen}});
    publish_command(t->command);
    if (auto s = app_.sessions.get(Scope::platform(), t->session.id)) t->session = *s;
  }
  return t;
}

Result<CommandRow> Service::stop_session(const Scope& scope, int64_t session_id, const Origin& origin) {
  auto c = app_.sessions.request_stop(scope, session_id, origin, now(), cfg_.command_ttl_s);
  if (c) publish_command(*c);
  return c;
}

Result<CommandRow> Service::send_command(const Scope& scope, const std::string& device_id, const std::string& op,
                                         const json::object& args, const Origin& origin) {
  auto c = app_.commands.queue(scope, device_id, op, args, origin, now(), cfg_.command_ttl_s);
  if (!c) return c;
  publish_command(*c);
  return Result<CommandRow>::ok(*app_.commands.get(c->id));
}

void Service::publish_snapshot(const std::string& why) {
  auto c = app_.devices.credentials();
  auth_control::Snapshot snap{c.rev, {}};
  snap.devices.reserve(c.devices.size());
  for (auto& d : c.devices)
    snap.devices.push_back(
        auth_control::DeviceCredentials{d.id, d.token_hash, d.prev_token_hash, d.prev_token_until.value_or(0), d.pubkey, d.enabled});
  publish(std::string(auth_control::kControlTopic), auth_control::snapshot_json(snap), 1);
  log::info("credentials.snapshot", {{"why", why}, {"devices", snap.devices.size()}, {"rev", snap.rev}});
}

// The device's credentials as they are now, with the revision they are at: a set_device admits a new
// device or changes one; a device that is gone is deleted.
void Service::push_device(const std::string& device_id) {
  using auth_control::Field;
  auto [rev, c] = app_.devices.credential_at_rev(device_id);
  auth_control::Command cmd;
  if (!c) {
    cmd.body = auth_control::DeleteDevice{device_id, rev};
  } else if (!c->enabled) {
    cmd.body = auth_control::DisableDevice{device_id, rev};   // its connections are cut at once
  } else {
    auto opt = [](const std::optional<std::string>& v) { return v ? Field<std::string>::set(*v) : Field<std::string>::clear(); };
    cmd.body = auth_control::SetDevice{c->id,
                                       opt(c->token_hash),
                                       opt(c->prev_token_hash),
                                       opt(c->pubkey),
                                       c->prev_token_until ? Field<int64_t>::set(*c->prev_token_until) : Field<int64_t>::clear(),
                                       c->enabled,
                                       rev};
  }
  publish(std::string(auth_control::kControlTopic), auth_control::request_json(auth_control::Request{{std::move(cmd)}}), 1);
}

Result<Device> Service::create_device(const NewDevice& d) {
  auto r = app_.devices.create(d, now());
  if (r) {
    push_device(d.id);
    log::info("device.created", {{"device", d.id}});
  }
  return r;
}

Result<Device> Service::set_enabled(const Scope& scope, const std::string& device_id, bool enabled) {
  auto d = app_.devices.set_enabled(scope, device_id, enabled);
  if (d) {
    push_device(device_id);   // a disabled device's sessions are kicked by the plugin at once
    log::info(enabled ? "device.enabled" : "device.disabled", {{"device", device_id}});
  }
  return d;
}

Result<Device> Service::delete_device(const Scope& scope, const std::string& device_id) {
  auto d = app_.devices.remove(scope, device_id, now());
  if (d) {
    push_device(device_id);
    log::info("device.deleted", {{"device", device_id}});
  }
  return d;
}

Result<Device> Service::rotate_token(const Scope& scope, const std::string& device_id, const std::string& token_hash,
                                     int64_t grace_s) {
  auto d = app_.devices.rotate_token(scope, device_id, token_hash, grace_s, now());
  if (d) {
    push_device(device_id);
    log::info("device.credentials_rotated", {{"device", device_id}, {"grace_s", grace_s}});
  }
  return d;
}

}  // namespace chargehub::core
