// Agents' withdrawals (docs/agents.md "Withdrawals"): an agent's admin requests one from its available
// balance; the platform's finance approves, rejects or marks it paid.
#include "routes/routes.hpp"
#include "routes/views.hpp"

namespace chargehub::api {

namespace {

struct WithdrawalView {
  int64_t id, agent_id, amount_fen;
  string state, requested_by;
  optional<string> decided_by, reference;
  string note;
  int64_t created_at;
  optional<int64_t> decided_at, paid_at;
};
BOOST_DESCRIBE_STRUCT(WithdrawalView, (),
                      (id, agent_id, amount_fen, state, requested_by, decided_by, reference, note, created_at, decided_at, paid_at))

struct NewWithdrawalBody {
  int64_t amount_fen;
  optional<string> note;
};
BOOST_DESCRIBE_STRUCT(NewWithdrawalBody, (), (amount_fen, note))

struct RejectBody {
  string note;   // why (shown to the agent)
};
BOOST_DESCRIBE_STRUCT(RejectBody, (), (note))

struct PayBody {
  string reference;   // the payment's reference (bank or Alipay transfer number)
};
BOOST_DESCRIBE_STRUCT(PayBody, (), (reference))

WithdrawalView withdrawal_view(const core::WithdrawalRow& w) {
  return WithdrawalView{w.id, w.agent_id, w.amount_fen, w.state, w.requested_by, w.decided_by, w.reference, w.note,
                        w.created_at, w.decided_at, w.paid_at};
}

std::optional<json::value> withdrawal_snapshot(Ctx& c, const std::string& id) {
  auto w = c.app.withdrawals.get(c.scope(), std::stoll(id));
  if (!w) return std::nullopt;
  return json::value_from(withdrawal_view(*w));
}

const std::vector<std::string> kDecisionRefusals = {"withdrawal_not_found", "withdrawal_state", "platform_only"};

}  // namespace

std::vector<Route> withdrawal_routes() {
  std::vector<Route> r;
  r.push_back(Route{"GET", "/api/v1/withdrawals", "finance.view", Scope::Platform,
                    "List withdrawals, newest first (an agent: its own and its sub-agents')",
                    [](Ctx& c) {
                      auto p = c.page({"id", "created_at", "amount_fen"});
                      core::WithdrawalFilter f;
                      f.state = c.query("state");
                      if (f.state)
                        need(*f.state == "pending" || *f.state == "approved" || *f.state == "rejected" || *f.state == "paid", "bad_field",
                             "state", "state must be pending, approved, rejected or paid");
                      f.agent_id = c.query_int("agent_id", 1, INT64_MAX);
                      return ok(page_json(c.app.withdrawals.page(c.scope(), f, p), p, withdrawal_view));
                    }}
                  .with_page<WithdrawalView>()
                  .with_query({"state", "agent_id"}));
  r.push_back(Route{"POST", "/api/v1/withdrawals", "finance.withdrawals.request", Scope::Platform,
                    "Request a withdrawal from the caller's agent's available balance (held while pending)",
                    [](Ctx& c) {
                      auto b = c.body<NewWithdrawalBody>();
                      auto note = b.note.value_or("");
                      return result(c.app.withdrawals.request(c.scope(), b.amount_fen, note, c.caller.actor(), c.now), 201, withdrawal_view);
                    }}
                  .with_request<NewWithdrawalBody>()
                  .with_response<WithdrawalView>()
                  .answers(201)
                  .may_refuse({"agent_only", "bad_amount", "bad_note", "amount_too_small", "amount_too_large", "too_many_today",
                               "insufficient_funds"})
                  .audited("withdrawal.request", "withdrawal"));
  r.push_back(Route{"GET", "/api/v1/withdrawals/{id}", "finance.view", Scope::Platform, "A withdrawal",
                    [](Ctx& c) {
                      auto w = c.app.withdrawals.get(c.scope(), c.id("id"));
                      if (!w) return fail(404, "withdrawal_not_found", "no withdrawal with this id");
                      return ok(json::value_from(withdrawal_view(*w)));
                    }}
                  .with_response<WithdrawalView>()
                  .may_refuse({"withdrawal_not_found"}));
  r.push_back(Route{"POST", "/api/v1/withdrawals/{id}/approve", "finance.withdrawals.approve", Scope::Platform,
                    "Approve a pending withdrawal (the amount stays held)",
                    [](Ctx& c) { return result(c.app.withdrawals.approve(c.scope(), c.id("id"), c.caller.actor(), c.now), 200, withdrawal_view); }}
                  .with_response<WithdrawalView>()
                  .may_refuse(kDecisionRefusals)
                  .audited("withdrawal.approve", "withdrawal", "id", withdrawal_snapshot));
  r.push_back(Route{"POST", "/api/v1/withdrawals/{id}/reject", "finance.withdrawals.approve", Scope::Platform,
                    "Reject a pending or approved withdrawal (the amount is released), with a note",
                    [](Ctx& c) {
                      auto b = c.body<RejectBody>();
                      return result(c.app.withdrawals.reject(c.scope(), c.id("id"), b.note, c.caller.actor(), c.now), 200, withdrawal_view);
                    }}
                  .with_request<RejectBody>()
                  .with_response<WithdrawalView>()
                  .may_refuse({"withdrawal_not_found", "withdrawal_state", "platform_only", "bad_note"})
                  .audited("withdrawal.reject", "withdrawal", "id", withdrawal_snapshot));
  r.push_back(Route{"POST", "/api/v1/withdrawals/{id}/pay", "finance.withdrawals.approve", Scope::Platform,
                    "Mark an approved withdrawal paid, with the payment's reference (a withdrawal ledger row)",
                    [](Ctx& c) {
                      auto b = c.body<PayBody>();
                      return result(c.app.withdrawals.pay(c.scope(), c.id("id"), b.reference, c.caller.actor(), c.now), 200, withdrawal_view);
                    }}
                  .with_request<PayBody>()
                  .with_response<WithdrawalView>()
                  .may_refuse({"withdrawal_not_found", "withdrawal_state", "platform_only", "bad_reference"})
                  .audited("withdrawal.pay", "withdrawal", "id", withdrawal_snapshot));
  return r;
}

}  // namespace chargehub::api
