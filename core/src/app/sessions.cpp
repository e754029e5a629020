#include "sessions.hpp"

#include <algorithm>

#include "app/income.hpp"
#include "chargehub/rules/meter_check.hpp"
#include "chargehub/rules/reconcile.hpp"
#include "chargehub/rules/session_start.hpp"
#include "chargehub/rules/settlement.hpp"
#include "chargehub/rules/wallet.hpp"

namespace chargehub::core {

using session::Event;
using session::State;
namespace json = boost::json;

Result<StartTicket> Sessions::open(const Scope& scope, const OpenRequest& req, int64_t now) {
  sql::Tx tx(r_.db);
  // The device and the rider must be in the caller's scope; session.agent_id is set from the device.
  if (!r_.devices.get(scope, req.device_id)) return Result<StartTicket>::no("device_not_found", "no device with this id");
  if (!r_.wallets.get(scope, req.rider_id)) return Result<StartTicket>::no("rider_not_found", "no rider with this id");
  auto t = open_in_tx(req, now);
  if (t) tx.commit();
  return t;
}

Result<StartTicket> Sessions::open_in_tx(const OpenRequest& req, int64_t now) {
  using R = Result<StartTicket>;
  // Load the facts (each lookup read to its end before the next: a statement still stepping at commit
  // makes SQLite skip the WAL checkpoint), decide, then write.
  rules::StartFacts f;
  std::optional<PlanRepo::Loaded> plan;
  if (auto d = r_.devices.get(Scope::platform(), req.device_id)) {
    f.device_found = true;
    f.device_enabled = d->enabled;
    f.device_online = d->online;
    f.device_ports = d->ports;
    f.port_state = r_.devices.port_state(req.device_id, req.port);
    if (auto s = r_.sessions.holding_port(req.device_id, req.port)) f.session_on_port = s->id;
    if (auto w = r_.wallets.get(req.rider_id)) {
      f.rider_found = true;
      f.available_fen = w->available_fen();
    }
    plan = r_.plans.get(d->plan_id.value_or(1));
    f.plan_found = plan.has_value();
    if (plan && plan->readable) f.plan = plan->row.plan;
  }
  auto terms = rules::decide_start(rules::StartRequest{req.port, req.amount_fen, req.until_full, req.duration_s}, f);
  if (!terms) return R::no(terms.refusal);

  NewSession ns{req.device_id, req.port, req.rider_id, plan->row.id, plan->row.version, plan->row.spec, terms->prepaid_fen,
                int64_t{terms->limit.mode}, int64_t{terms->limit.limit}, req.card_uid};
  int64_t sid = r_.sessions.insert(ns, now);
  if (terms->prepaid_fen > 0) r_.wallets.hold(req.rider_id, terms->prepaid_fen);
  auto cmd = make_command(req.device_id, "start",
                          json::object{{"port", req.port}, {"session", sid}, {"mode", terms->limit.mode}, {"limit", terms->limit.limit},
                                       {"max_power_w", 0}},
                          req.origin, sid, now, req.command_ttl_s);
  r_.commands.insert(cmd);
  return R::ok(StartTicket{*r_.sessions.get(sid), cmd});
}

Result<CommandRow> Sessions::request_stop(const Scope& scope, int64_t session_id, const Origin& origin, int64_t now, int64_t ttl_s) {
  sql::Tx tx(r_.db);
  if (!r_.sessions.get(scope, session_id)) return Result<CommandRow>::no("session_not_found", "no session with this id");
  auto c = stop_in_tx(session_id, origin, now, ttl_s);
  if (c) tx.commit();
  return c;
}

Result<CommandRow> Sessions::stop_in_tx(int64_t session_id, const Origin& origin, int64_t now, int64_t ttl_s) {
  using R = Result<CommandRow>;
  auto s = r_.sessions.lock(session_id);
  if (!s) return R::no("session_not_found", "no session with this id");
  auto n = session::next(s->state, Event::StopRequested);
  if (!n) return R::no("session_not_active", "the session is " + std::string(session::state_name(s->state)));
  r_.sessions.set_state(s->id, *n);
  auto cmd = make_command(s->device_id, "stop", json::object{{"port", s->port}, {"session", s->id}}, origin, s->id, now, ttl_s);
  r_.commands.insert(cmd);
  return R::ok(cmd);
}

void Sessions::start_sent(int64_t session_id) {
  sql::Tx tx(r_.db);
  if (auto s = r_.sessions.lock(session_id))
    if (auto n = session::next(s->state, Event::StartSent)) r_.sessions.set_state(s->id, *n);
  tx.commit();
}

std::optional<SessionRow> Sessions::start_answered(int64_t session_id, const rules::ReplyOutcome& o, int64_t now) {
  sql::Tx tx(r_.db);
  auto s = r_.sessions.lock(session_id);
  if (!s) return std::nullopt;
  if (auto n = session::next(s->state, rules::start_event(o))) {
    if (*n == State::Rejected || *n == State::StartTimedOut) {
      if (s->rider_id && s->prepaid_fen > 0) r_.wallets.release(*s->rider_id, s->prepaid_fen);
      r_.sessions.set_ended(s->id, *n, rules::start_failure(o), now);
    } else {
      r_.sessions.set_state(s->id, *n);
      if (*n == State::Charging) r_.sessions.set_started(s->id, now);
    }
  }
  auto out = r_.sessions.get(session_id);
  tx.commit();
  return out;
}

std::optional<int64_t> Sessions::settle(const SessionRow& s, const pricing::Usage& u, std::optional<int64_t> reason, const std::string& note,
                      Event cause, int64_t now) {
  rules::SettleFacts f{s.state, s.rider_id.has_value(), s.prepaid_fen, s.plan, 0};
  if (s.rider_id && !session::holds_port(s.state))
    if (auto w = r_.wallets.get(*s.rider_id)) f.available_fen = w->available_fen();
  auto st = rules::settle(f, u, cause);
  if (!st) return std::nullopt;
  if (st->release_fen > 0) r_.wallets.release(*s.rider_id, st->release_fen);
  if (st->amount_fen > 0) r_.wallets.post(*s.rider_id, LedgerKind::Charge, -st->amount_fen, s.id, note, now);
  r_.sessions.settle(s.id, u, st->amount_fen, reason, note.empty() ? std::nullopt : std::optional<std::string>(note), now);
  Income(r_).on_settled(s.id, st->amount_fen, now);   // the income split, in this transaction
  return st->amount_fen;
}

EndOutcome Sessions::end_reported(const std::string& device_id, const std::string& msg, const proto::SessionEnd& e, int64_t now,
                                  const std::string& payload) {
  sql::Tx tx(r_.db);
  EndOutcome out;
  if (auto seen = r_.reports.processed(msg)) {
    out.ack = *seen;
    out.duplicate = true;
    r_.inbox.count_copy(msg, now);   // a copy of an orphan record is counted on it
    tx.commit();
    return out;
  }
  out.ack = payloads::Ack{msg, 0, std::nullopt};
  auto s = r_.sessions.lock(e.session);
  if (s && s->device_id == device_id && s->port == e.port) {
    rules::Reported raw{e.energy_wh, e.duration_s, e.max_power_w};
    auto v = rules::judge_end(facts(*s), raw, judged_now(*s, now));
    if (auto amount = settle(*s, v.bill, int64_t{e.reason}, "", Event::EndReported, now)) {
      if (e.started_at) r_.sessions.set_started(s->id, int64_t{e.started_at});
      r_.sessions.set_reported(s->id, raw);
      if (v.implausible) {
        out.meter_flag = v.flag;
        r_.sessions.set_meter_flag(s->id, std::string(rules::meter_flag_name(v.flag)));
        r_.sessions.count_implausible(device_id, true, now);
      }
      // What was written, without reading it back (settlement is the hot path of a fleet's evening).
      out.settled = *s;
      out.settled->state = State::Settled;
      out.settled->energy_wh = v.bill.energy_wh;
      out.settled->duration_s = v.bill.duration_s;
      out.settled->max_power_w = std::max<int64_t>(s->max_power_w, v.bill.max_power_w);
      out.settled->power_w = 0;
      out.settled->amount_fen = *amount;
      out.settled->end_reason = e.reason;
      out.settled->ended_at = out.settled->settled_at = now;
      if (!out.settled->started_at && e.started_at) out.settled->started_at = int64_t{e.started_at};
      out.settled->reported_energy_wh = raw.energy_wh;
      out.settled->reported_duration_s = raw.duration_s;
      out.settled->reported_max_power_w = raw.max_power_w;
      if (v.implausible && !out.settled->meter_flag) out.settled->meter_flag = std::string(rules::meter_flag_name(v.flag));
    } else {
      out.note = "session already " + std::string(session::state_name(s->state));
    }
  } else {
    // Kept whole for an operator (docs/billing-rules.md, orphans), judged as the platform can: against the
    // port's physics over the charger's own window.
    auto d = r_.devices.get(Scope::platform(), device_id);
    uint32_t limit = rules::port_limit_w(static_cast<uint8_t>(d && d->model ? *d->model : 0), e.port);
    auto q = rules::quote_orphan(pricing::Plan::free(), rules::Reported{e.energy_wh, e.duration_s, e.max_power_w}, limit,
                                 int64_t{e.started_at}, now, 0);
    std::optional<std::string> flag;
    if (q.verdict.implausible) flag = std::string(rules::meter_flag_name(q.verdict.flag));
    out.orphan_id = r_.inbox.insert(device_id, msg, e, payload, flag, now);
    out.note = "unknown session: kept as orphan record " + std::to_string(*out.orphan_id);
  }
  r_.reports.record(msg, device_id, "session_end", out.ack, now);
  tx.commit();
  return out;
}

rules::SessionFacts Sessions::facts(const SessionRow& s) {
  // The model alone (the port's power limit depends on it), not the whole device: this runs for every
  // meter reading of the fleet.
  uint8_t model = static_cast<uint8_t>(r_.devices.model(s.device_id).value_or(0));
  return rules::SessionFacts{rules::port_limit_w(model, static_cast<uint8_t>(s.port)), s.created_at, s.last};
}

std::optional<pricing::Usage> Sessions::reading(const SessionRow& s, State state, const rules::Reported& r, int64_t now) {
  auto mv = rules::judge_reading(facts(s), r, judged_now(s, now));
  if (mv.implausible) {
    r_.sessions.apply_reading(s.id, state, s.usage(), s.power_w, now);
    r_.sessions.count_implausible(s.device_id, false, now);
    r_.sessions.set_meter_flag(s.id, std::string(rules::meter_flag_name(mv.flag)));
    return std::nullopt;
  }
  std::optional<rules::MeterPoint> last = mv.last;
  // Scaled: remembered at the start of its server second, so the next report's time since it is not
  // undercounted either (see judged_now).
  if (last && time_scale_ > 1) last->at = s.created_at + (now - s.created_at) * time_scale_;
  pricing::Usage u{std::max<uint32_t>(static_cast<uint32_t>(s.energy_wh), mv.bill.energy_wh),
                   std::max<uint32_t>(static_cast<uint32_t>(s.duration_s), mv.bill.duration_s),
                   std::max<uint32_t>(static_cast<uint32_t>(s.max_power_w), mv.bill.max_power_w)};
  r_.sessions.apply_reading(s.id, state, u, r.max_power_w, now, last);
  return u;
}

std::optional<CommandRow> Sessions::start_not_taken(const SessionRow& s, const std::string& why, int64_t now) {
  auto n = session::next(s.state, Event::StartTimeout);
  if (!n) return std::nullopt;
  if (s.rider_id && s.prepaid_fen > 0) r_.wallets.release(*s.rider_id, s.prepaid_fen);
  r_.sessions.set_ended(s.id, *n, why, now);
  r_.commands.fail_open_start(s.id);
  auto cmd = make_command(s.device_id, "stop", json::object{{"port", s.port}, {"session", s.id}}, Origin::system("start_not_taken"),
                          s.id, now, 60);
  r_.commands.insert(cmd);
  return cmd;
}

std::vector<SessionRow> Sessions::expire_starts(int64_t created_before, int64_t now) {
  sql::Tx tx(r_.db);
  std::vector<SessionRow> out;
  for (auto& found : r_.sessions.holding_created_before({State::Requested, State::Starting}, created_before)) {
    // Again under the row's lock: another core instance may have answered or given it up meanwhile.
    auto s = r_.sessions.lock(found.id);
    if (!s || (s->state != State::Requested && s->state != State::Starting)) continue;
    if (s->rider_id && s->prepaid_fen > 0) r_.wallets.release(*s->rider_id, s->prepaid_fen);
    r_.sessions.set_ended(s->id, State::StartTimedOut, "no reply to START", now);
    r_.commands.fail_open_start(s->id);
    s->state = State::StartTimedOut;
    out.push_back(*s);
  }
  tx.commit();
  return out;
}

FollowUp Sessions::reconcile(const std::string& device_id, const std::map<int64_t, int64_t>& charging, int64_t now) {
  sql::Tx tx(r_.db);
  FollowUp out;
  auto ours = r_.sessions.holding_on_device(device_id);
  std::vector<rules::RunningSession> running;
  for (auto& s : ours) running.push_back({s.id, s.port, s.state, s.created_at});
  auto verdict = rules::reconcile(running, charging, now);
  for (int64_t id : verdict.lost) {
    // Settled under the row's lock, from the state it has then (a stop record may have settled it on
    // another core instance meanwhile: the state machine then refuses ChargerLost).
    auto s = r_.sessions.lock(id);
    if (s && settle(*s, s->usage(), std::nullopt, "lost: the charger no longer has this session", Event::ChargerLost, now))
      if (auto done = r_.sessions.get(id)) out.settled.push_back(*done);
  }
  for (auto& [port, sess] : verdict.stop) {
    auto cmd = make_command(device_id, "stop", json::object{{"port", port}, {"session", sess}}, Origin::system("reconcile"), std::nullopt, now, 60);
    r_.commands.insert(cmd);
    out.commands.push_back(cmd);
  }
  tx.commit();
  return out;
}

Result<SessionRow> Sessions::refund(const Scope& scope, int64_t session_id, int64_t amount_fen, const std::string& note, int64_t now) {
  using R = Result<SessionRow>;
  sql::Tx tx(r_.db);
  if (!r_.sessions.get(scope, session_id)) return R::no("session_not_found", "no session with this id");
  auto s = r_.sessions.lock(session_id);   // two refunds on two core instances: one after the other
  if (!s) return R::no("session_not_found", "no session with this id");
  if (auto why = rules::check_refund(s->state == State::Settled && s->rider_id, amount_fen, s->amount_fen.value_or(0), s->refunded_fen))
    return R::no(*why);
  r_.wallets.post(*s->rider_id, LedgerKind::Refund, amount_fen, s->id, note, now);
  Income(r_).on_refunded(*s, s->refunded_fen, amount_fen, now);   // the parts taken back
  r_.sessions.add_refund(s->id, amount_fen);
  auto out = r_.sessions.get(s->id);
  tx.commit();
  return R::ok(*out);
}

std::optional<SessionRow> Sessions::get(const Scope& scope, int64_t id) {
  sql::Lock lock(r_.db);
  return r_.sessions.get(scope, id);
}

Page<SessionRow> Sessions::page(const Scope& scope, const SessionFilter& f, const PageRequest& p) {
  sql::Lock lock(r_.db);
  return r_.sessions.page(scope, f, p);
}

std::vector<SessionRow> Sessions::list(const Scope& scope, const SessionFilter& f) {
  sql::Lock lock(r_.db);
  return r_.sessions.list(scope, f);
}

std::vector<MeterSample> Sessions::samples(const Scope& scope, int64_t session_id, int64_t limit) {
  sql::Lock lock(r_.db);
  if (!r_.sessions.get(scope, session_id)) return {};
  return r_.sessions.samples(session_id, limit);
}

}  // namespace chargehub::core
