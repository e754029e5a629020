#include "inbox.hpp"

#include "app/income.hpp"

#include "chargehub/rules/meter_check.hpp"

namespace chargehub::core {

Page<OrphanRecord> Inbox::page(const Scope& scope, const OrphanFilter& f, const PageRequest& p) {
  sql::Lock lock(r_.db);
  return r_.inbox.page(scope, f, p);
}

std::vector<OrphanRecord> Inbox::list(const Scope& scope, const OrphanFilter& f) {
  sql::Lock lock(r_.db);
  return r_.inbox.list(scope, f);
}

std::optional<OrphanRecord> Inbox::get(const Scope& scope, int64_t id) {
  sql::Lock lock(r_.db);
  return r_.inbox.get(scope, id);
}

Result<OrphanRecord> Inbox::settle(const Scope& scope, int64_t id, int64_t rider_id, const std::string& actor, int64_t now) {
  using R = Result<OrphanRecord>;
  sql::Tx tx(r_.db);
  auto o = r_.inbox.get(scope, id);
  if (!o) return R::no("orphan_not_found", "no orphan stop record with this id");
  if (o->state != OrphanState::Open) return R::no("orphan_resolved", "the record is " + std::string(orphan_state_name(o->state)));
  auto w = r_.wallets.get(scope, rider_id);
  if (!w) return R::no("rider_not_found", "no rider with this id");
  auto d = r_.devices.get(scope, o->device_id);
  if (!d) return R::no("device_not_found", "the record's device no longer exists");
  auto plan = r_.plans.get(d->plan_id.value_or(1));
  if (!plan) return R::no("plan_missing", "the device's price plan is missing");
  if (!plan->readable) return R::no("plan_invalid", "the device's price plan cannot be read");

  // Load, decide, write: the meter check over the charger's own window, the price capped by what the
  // wallet has available now.
  rules::Reported raw{static_cast<uint32_t>(o->energy_wh), static_cast<uint32_t>(o->duration_s), static_cast<uint32_t>(o->max_power_w)};
  uint32_t limit = rules::port_limit_w(static_cast<uint8_t>(d->model.value_or(0)), static_cast<uint8_t>(o->port));
  auto q = rules::quote_orphan(plan->row.plan, raw, limit, o->started_at, o->first_seen_at, w->available_fen());

  SettledSession ss;
  ss.s = NewSession{o->device_id, o->port, rider_id, plan->row.id, plan->row.version, plan->row.spec, 0, 0, 0, std::nullopt};
  bool charger_clock_ok = o->started_at > 0 && o->started_at <= o->first_seen_at;
  ss.created_at = charger_clock_ok ? o->started_at : o->first_seen_at;
  ss.started_at = charger_clock_ok ? std::optional<int64_t>(o->started_at) : std::nullopt;
  ss.billed = q.verdict.bill;
  ss.reported = raw;
  if (q.verdict.implausible) ss.meter_flag = std::string(rules::meter_flag_name(q.verdict.flag));
  ss.amount_fen = q.amount_fen;
  ss.end_reason = o->reason;
  ss.note = "settled from orphan stop record " + std::to_string(o->id);
  int64_t sid = r_.sessions.insert_settled(ss, now);
  if (q.amount_fen > 0) r_.wallets.post(rider_id, LedgerKind::Charge, -q.amount_fen, sid, ss.note, now);
  Income(r_).on_settled(sid, q.amount_fen, now);   // the income split, in this transaction
  if (!r_.inbox.mark_settled(id, sid, actor, now)) return R::no("orphan_resolved", "the record was resolved meanwhile");
  auto out = r_.inbox.get(scope, id);
  tx.commit();
  return R::ok(*out);
}

Result<OrphanRecord> Inbox::close(const Scope& scope, int64_t id, const std::string& reason, const std::string& actor, int64_t now) {
  using R = Result<OrphanRecord>;
  if (reason.empty()) return R::no("bad_reason", "a reason is required");
  sql::Tx tx(r_.db);
  auto o = r_.inbox.get(scope, id);
  if (!o) return R::no("orphan_not_found", "no orphan stop record with this id");
  if (!r_.inbox.mark_closed(id, reason, actor, now))
    return R::no("orphan_resolved", "the record is " + std::string(orphan_state_name(o->state)));
  auto out = r_.inbox.get(scope, id);
  tx.commit();
  return R::ok(*out);
}

DeviceBillingCounts Inbox::counts(const std::string& device_id) {
  sql::Lock lock(r_.db);
  DeviceBillingCounts c;
  c.meter = r_.sessions.implausible_counts(device_id);
  c.orphans = r_.inbox.counts(device_id);
  return c;
}

}  // namespace chargehub::core
