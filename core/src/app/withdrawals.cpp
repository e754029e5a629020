#include "app/withdrawals.hpp"

#include <algorithm>

namespace chargehub::core {

namespace {
using R = Result<WithdrawalRow>;
constexpr size_t kMaxNote = 500, kMaxReference = 200;
std::string yuan(int64_t fen) {
  std::string f = std::to_string(fen % 100);
  return std::to_string(fen / 100) + "." + (f.size() < 2 ? "0" : "") + f;
}
}  // namespace

R Withdrawals::request(const Scope& scope, int64_t amount_fen, const std::string& note, const std::string& actor, int64_t now) {
  if (scope.is_platform()) return R::no("agent_only", "an agent requests its own withdrawals; the platform cannot request for one");
  if (amount_fen <= 0) return R::no("bad_amount", "amount_fen must be a positive integer (fen)");
  if (note.size() > kMaxNote) return R::no("bad_note", "note must be at most 500 bytes");
  const int64_t agent_id = *scope.agent_id();
  sql::Tx tx(r_.db);
  const int64_t min = settings_.integer("withdrawal.min_fen"), max = settings_.integer("withdrawal.max_fen");
  if (amount_fen < min) return R::no("amount_too_small", "the smallest withdrawal is " + yuan(min) + " yuan");
  if (amount_fen > max) return R::no("amount_too_large", "the largest withdrawal is " + yuan(max) + " yuan");
  r_.withdrawals.lock_balance(agent_id);
  const int64_t daily = settings_.integer("withdrawal.daily_count");
  const int64_t today = local_day_start(now, settings_.report_utc_offset());
  if (r_.withdrawals.count_since(agent_id, today) >= daily)
    return R::no("too_many_today", "at most " + std::to_string(daily) + " withdrawal requests a day");
  auto b = r_.agent_ledger.balance(agent_id);
  if (!b) return R::no("agent_not_found", "no agent with this id");
  if (b->available_fen() < amount_fen)
    return R::no("insufficient_funds", "the available balance is " + yuan(b->available_fen()) + " yuan");
  WithdrawalRow w;
  w.agent_id = agent_id;
  w.amount_fen = amount_fen;
  w.state = "pending";
  w.requested_by = actor;
  w.note = note;
  w.created_at = now;
  w.id = r_.withdrawals.insert(w);
  r_.agent_ledger.hold(agent_id, amount_fen);
  tx.commit();
  return R::ok(w);
}

R Withdrawals::decide(const Scope& scope, int64_t id, std::initializer_list<std::string_view> from, const std::string& to,
                      const std::string& actor, int64_t now, const std::string& note, const std::string& reference) {
  if (!scope.is_platform()) return R::no("platform_only", "only the platform's finance decides withdrawals");
  sql::Tx tx(r_.db);
  auto w = r_.withdrawals.get(scope, id);
  if (!w) return R::no("withdrawal_not_found", "no withdrawal with this id");
  if (std::find(from.begin(), from.end(), w->state) == from.end())
    return R::no("withdrawal_state", "the withdrawal is " + w->state + "; it cannot become " + to);
  const std::string was = w->state;
  w->state = to;
  if (to == "paid") {
    w->paid_at = now;
    w->reference = reference;
  } else {
    w->decided_at = now;
    w->decided_by = actor;
  }
  if (to == "paid" && !w->decided_by) w->decided_by = actor;
  if (!note.empty()) w->note = note;
  if (!r_.withdrawals.transition(*w, was)) return R::no("withdrawal_state", "the withdrawal was changed meanwhile");
  if (to == "rejected") {
    r_.agent_ledger.release(w->agent_id, w->amount_fen);
  } else if (to == "paid") {
    // Released first: the balance drops by the amount the hold covered, never below what stays held.
    r_.agent_ledger.release(w->agent_id, w->amount_fen);
    r_.agent_ledger.post(AgentLedgerEntry{0, w->agent_id, "withdrawal", -w->amount_fen, std::nullopt, w->id,
                                          "提现 #" + std::to_string(w->id) + " " + reference, now});
  }
  tx.commit();
  return R::ok(*w);
}

R Withdrawals::approve(const Scope& scope, int64_t id, const std::string& actor, int64_t now) {
  return decide(scope, id, {"pending"}, "approved", actor, now, "", "");
}

R Withdrawals::reject(const Scope& scope, int64_t id, const std::string& note, const std::string& actor, int64_t now) {
  if (note.empty() || note.size() > kMaxNote) return R::no("bad_note", "a rejection needs a note (at most 500 bytes)");
  return decide(scope, id, {"pending", "approved"}, "rejected", actor, now, note, "");
}

R Withdrawals::pay(const Scope& scope, int64_t id, const std::string& reference, const std::string& actor, int64_t now) {
  if (reference.empty() || reference.size() > kMaxReference)
    return R::no("bad_reference", "the payment's reference is required (at most 200 bytes)");
  return decide(scope, id, {"approved"}, "paid", actor, now, "", reference);
}

std::optional<WithdrawalRow> Withdrawals::get(const Scope& scope, int64_t id) {
  sql::Lock lock(r_.db);
  return r_.withdrawals.get(scope, id);
}

Page<WithdrawalRow> Withdrawals::page(const Scope& scope, const WithdrawalFilter& f, const PageRequest& p) {
  sql::Tx tx(r_.db);   // the count and the rows see one state
  auto out = r_.withdrawals.page(scope, f, p);
  tx.commit();
  return out;
}

}  // namespace chargehub::core
