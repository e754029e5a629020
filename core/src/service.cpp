#include "service.hpp"

#include <chrono>
#include <iostream>

#include "chargehub/payloads.hpp"
#include "chargehub/topics.hpp"
#include "log.hpp"

namespace chargehub::core {

namespace pl = chargehub::payloads;

json::object Counters::to_json() const {
  return {{"messages", messages.load()},
          {"bad_messages", bad_messages.load()},
          {"unknown_topics", unknown_topics.load()},
          {"sessions_settled", sessions_settled.load()},
          {"duplicate_reports", duplicate_reports.load()},
          {"commands_published", commands_published.load()},
          {"publish_failures", publish_failures.load()}};
}

Service::Service(Store& store, Publisher& pub, ServiceConfig cfg, Clock clock)
    : store_(store), pub_(pub), cfg_(cfg), clock_(std::move(clock)) {
  if (!clock_)
    clock_ = [] {
      return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
    };
}

void Service::on_message(const std::string& topic, std::string_view payload) {
  ++counters_.messages;
  auto t = topics::parse(topic);
  if (!t || t->dir == topics::Direction::Down) {
    ++counters_.unknown_topics;
    return;
  }
  if (t->dir == topics::Direction::Status) {
    auto v = pl::parse_json(payload);
    if (!v || !v->is_object()) {
      if (payload.empty()) return;   // a cleared retained status
      ++counters_.bad_messages;
      return;
    }
    auto* online = v->get_object().if_contains("online");
    if (online && online->is_bool()) {
      store_.device_online(t->device, online->get_bool(), now());
      if (ota_) ota_->on_online(t->device, online->get_bool());
    }
    return;
  }
  auto v = pl::parse_json(payload);
  if (!v) {
    ++counters_.bad_messages;
    log::warn("bad JSON on ", topic);
    return;
  }
  try {
    handle(t->device, t->kind, *v);
  } catch (const std::exception& e) {
    ++counters_.bad_messages;
    log::error("failed to handle ", topic, ": ", e.what());
  }
}

void Service::handle(const std::string& device, std::string_view kind, const json::value& v) {
  namespace up = topics::up;
  if (kind == up::kHeartbeat) {
    if (auto h = pl::parse_heartbeat(v)) {
      store_.device_heartbeat(device, *h, now());
      if (ota_) ota_->on_heartbeat(device, h->ports);
      return;
    }
  } else if (kind == up::kMeter) {
    if (auto m = pl::parse_meter(v)) return follow_up(store_.record_meter_and_check(device, *m, now(), cfg_.telemetry));
  } else if (kind == up::kBoot) {
    if (auto b = pl::parse_boot(v)) {
      store_.device_boot(device, *b, now());
      if (ota_) ota_->on_boot(device, b->fw.text());
      query_ports(device, "boot");
      log::info("device ", device, " booted: model ", int(b->model), ", ", int(b->ports), " ports, fw ", b->fw.text());
      return;
    }
  } else if (kind == up::kSessionEnd) {
    auto e = pl::parse_session_end(v);
    auto* msg = v.is_object() ? v.get_object().if_contains("msg") : nullptr;
    if (e && msg && msg->is_string() && !msg->get_string().empty()) {
      Effect eff;
      auto a = store_.settle_end(device, std::string(msg->get_string()), *e, now(), &eff);
      if (eff.duplicate) ++counters_.duplicate_reports;
      if (eff.session) {
        ++counters_.sessions_settled;
        log::info("session ", eff.session->id, " settled: ", eff.session->energy_wh, " Wh, ", eff.session->amount_fen.value_or(0),
                  " fen, reason ", int(e->reason));
      } else if (!eff.duplicate) {
        log::warn("session_end from ", device, " for session ", e->session, ": ", eff.note);
      }
      return ack(device, a);
    }
  } else if (kind == up::kReply) {
    if (v.is_object()) {
      auto eff = store_.apply_reply(device, v.get_object(), now());
      if (eff.command && eff.command->op == "query_ports" && eff.command->state == "replied") {
        auto* ports = v.get_object().if_contains("ports");
        if (ports && ports->is_array()) follow_up(store_.reconcile(device, ports->get_array(), now()));
      }
      if (eff.session)
        log::info("session ", eff.session->id, " is ", session::state_name(eff.session->state),
                  eff.session->error ? " (" + *eff.session->error + ")" : "");
      else if (!eff.note.empty())
        log::warn("reply from ", device, ": ", eff.note);
      return;
    }
  } else if (kind == up::kAlarm) {
    auto a = pl::parse_alarm(v);
    auto* msg = v.is_object() ? v.get_object().if_contains("msg") : nullptr;
    if (a && msg && msg->is_string() && !msg->get_string().empty()) {
      log::warn("alarm from ", device, ": code ", int(a->code), " port ", int(a->port), " value ", a->value);
      ack(device, store_.record_alarm(device, std::string(msg->get_string()), *a, now()));
      return follow_up(store_.stop_for_alarm(device, *a, now()));
    }
  } else if (kind == up::kOta) {
    if (ota_) return ota_->on_ota_message(device, v);
    ++counters_.unknown_topics;
    return;
  } else if (kind == up::kCard) {
    auto c = pl::parse_card(v);
    auto* msg = v.is_object() ? v.get_object().if_contains("msg") : nullptr;
    if (c && msg && msg->is_string() && !msg->get_string().empty()) {
      FollowUp f;
      auto a = store_.card_swipe(device, std::string(msg->get_string()), *c, now(), cfg_.cards, cfg_.command_ttl_s, &f);
      log::info("card ", c->uid_text(), " on ", device, " port ", int(c->port), ": result ", a.at("result").to_number<int>());
      ack(device, a);
      return follow_up(f);
    }
  } else {
    ++counters_.unknown_topics;
    return;
  }
  ++counters_.bad_messages;
  log::warn("malformed ", kind, " from ", device);
}

void Service::on_messages(const std::vector<std::pair<std::string, std::string>>& batch) {
  std::vector<Deferred> deferred;
  deferred_ = &deferred;
  store_.batch([&] {
    for (auto& [topic, payload] : batch) on_message(topic, payload);
  });
  deferred_ = nullptr;
  for (auto& d : deferred) publish(d.topic, d.payload, d.qos, d.command_id);
}

// Publishes now, or after the current batch commits (an ack must never precede the commit of what it
// acknowledges). A command is marked sent only once it was handed to the broker.
bool Service::publish(const std::string& topic, const std::string& payload, int qos, const std::string& command_id) {
  if (deferred_) {
    deferred_->push_back(Deferred{topic, payload, qos, command_id});
    return true;
  }
  if (!pub_.publish(topic, payload, qos, false)) {
    ++counters_.publish_failures;   // a command stays queued; flush_commands() sends it after reconnecting
    return false;
  }
  if (!command_id.empty()) {
    ++counters_.commands_published;
    store_.command_sent(command_id, now());
  }
  return true;
}

void Service::ack(const std::string& device, const json::object& a) {
  publish(topics::down_topic(device, topics::down::kAck), json::serialize(a), 1);
}

void Service::publish_command(const CommandRow& c) {
  pl::Command cmd{c.id, c.op, c.args, c.expires_at};
  publish(topics::down_topic(c.device_id, topics::down::kCmd), json::serialize(pl::command(cmd)), 1, c.id);
}

void Service::follow_up(const FollowUp& f) {
  for (auto& s : f.settled)
    log::warn("session ", s.id, " on ", s.device_id, " port ", s.port, " was lost by the charger; settled at ", s.energy_wh, " Wh, ",
              s.amount_fen.value_or(0), " fen");
  for (auto& c : f.commands) {
    log::info("sending ", c.op, " to ", c.device_id, " (", c.created_by, ")");
    publish_command(c);
  }
}

void Service::query_ports(const std::string& device, const std::string& why) {
  auto c = store_.new_command(device, "query_ports", {}, why, std::nullopt, now(), cfg_.command_ttl_s);
  publish_command(c);
}

void Service::on_connected() {
  flush_commands();
  // After a core restart (or a broker outage) what the chargers run may differ from what we think.
  for (auto& d : store_.online_devices()) query_ports(d, "reconnect");
}

void Service::flush_commands() {
  for (auto& c : store_.unsent_commands(now())) publish_command(c);
}

void Service::tick() {
  int64_t t = now();
  for (auto& s : store_.expire_starts(t - cfg_.start_timeout_s, t))
    log::warn("session ", s.id, " on ", s.device_id, " port ", s.port, ": no reply to START, funds released");
  for (auto& id : store_.mark_silent_offline(t - cfg_.offline_after_s)) {
    log::info("device ", id, " is offline (silent)");
    if (ota_) ota_->on_online(id, false);
  }
  flush_commands();
  store_.fail_stale_commands(t - 30);
  if (t - last_downsample_ >= 600) {
    last_downsample_ = t;
    if (auto n = store_.downsample_meter(t - cfg_.full_resolution_s, cfg_.downsample_interval_s))
      log::info("downsampled ", n, " old meter samples");
  }
  if (ota_) ota_->tick();
}

Result<StartTicket> Service::start_session(const OpenRequest& r) {
  OpenRequest req = r;
  req.command_ttl_s = cfg_.command_ttl_s;
  auto t = store_.open_session(req, now());
  if (t) {
    log::info("session ", t.value->session.id, " requested on ", r.device_id, " port ", r.port, " for rider ", r.rider_id, ", ",
              t.value->session.prepaid_fen, " fen held");
    publish_command(t.value->command);
    if (auto s = store_.session(t.value->session.id)) t.value->session = *s;
  }
  return t;
}

Result<CommandRow> Service::stop_session(int64_t session_id, const std::string& by) {
  auto c = store_.request_stop(session_id, by, now());
  if (c) publish_command(*c.value);
  return c;
}

Result<CommandRow> Service::send_command(const std::string& device_id, const std::string& op, const json::object& args,
                                         const std::string& by) {
  if (!pl::command_to_frame(pl::Command{"check", op, args, 0}))
    return Result<CommandRow>::no("bad_command", "unknown op or invalid args for " + op, 400);
  if (op == "start" || op == "stop" || op == "adjust")
    return Result<CommandRow>::no("use_sessions", "start, stop and adjust go through the sessions API", 400);
  if (!store_.device(device_id)) return Result<CommandRow>::no("device_not_found", "no device with this id", 404);
  auto c = store_.new_command(device_id, op, args, by, std::nullopt, now(), cfg_.command_ttl_s);
  publish_command(c);
  return Result<CommandRow>::ok(*store_.command(c.id));
}

void Service::push_auth(json::object command) {
  json::object msg{{"commands", json::array{std::move(command)}}};
  // If this fails the plugin still picks the change up from the database within its poll interval.
  publish(std::string(topics::kControl), json::serialize(msg), 1);
}

Result<Device> Service::set_enabled(const std::string& device_id, bool enabled) {
  auto d = store_.set_enabled(device_id, enabled);
  if (d) {
    push_auth(enabled ? json::object{{"command", "reload"}} : json::object{{"command", "disable_device"}, {"id", device_id}});
    log::info("device ", device_id, enabled ? " enabled" : " disabled");
  }
  return d;
}

Result<Device> Service::delete_device(const std::string& device_id) {
  auto d = store_.delete_device(device_id, now());
  if (d) {
    push_auth(json::object{{"command", "delete_device"}, {"id", device_id}});
    log::info("device ", device_id, " deleted");
  }
  return d;
}

Result<Device> Service::rotate_token(const std::string& device_id, const std::string& token_hash, int64_t grace_s) {
  auto d = store_.rotate_token(device_id, token_hash, grace_s, now());
  if (d) {
    push_auth(json::object{{"command", "reload"}});
    log::info("device ", device_id, " has a new token; the old one is valid for ", grace_s, " s");
  }
  return d;
}

}  // namespace chargehub::core
