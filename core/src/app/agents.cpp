#include "app/agents.hpp"

#include "chargehub/text.hpp"

#include <algorithm>

#include "app/repos.hpp"
#include "log.hpp"

namespace chargehub::core {

namespace {

std::optional<Refusal> check_terms(const std::string& name, int64_t share_bp, const std::string& contact_name, const std::string& contact_phone,
                                   const std::string& settlement) {
  if (utf8_length(name) < 1 || utf8_length(name) > 64) return Refusal{"bad_agent_name", "an agent's name has 1 to 64 characters"};
  if (share_bp < 0 || share_bp > 10000) return Refusal{"bad_share", "share_bp is 0..10000 (basis points: 10000 = 100 %)"};
  if (utf8_length(contact_name) > 64 || utf8_length(contact_phone) > 32)
    return Refusal{"bad_contact", "a contact name has at most 64 characters, a phone number at most 32"};
  if (utf8_length(settlement) > 200) return Refusal{"bad_settlement", "settlement details have at most 200 characters"};
  return std::nullopt;
}

}  // namespace

Result<CreatedAgent> Agents::create(const Caller& by, const NewAgent& n, int64_t now) {
  using R = Result<CreatedAgent>;
  if (auto bad = check_terms(n.name, n.share_bp, n.contact_name, n.contact_phone, n.settlement_account)) return no<CreatedAgent>(*bad);
  // A generated initial password: 16 characters of base64url (96 bits) is plenty for one to change.
  std::string password = n.admin_password ? *n.admin_password : random_secret("").substr(0, 16);
  sql::Tx tx(r_.db);
  AgentRow a;
  a.level = 1;
  if (by.agent_id) {
    auto parent = r_.agents.get(Scope::agent(*by.agent_id), *by.agent_id);
    if (!parent) return R::no("agent_not_found", "the caller's agent does not exist");
    if (parent->level != 1) return R::no("too_deep", "a second-level agent cannot sign agents of its own (two levels at most)");
    if (n.share_bp > parent->share_bp)
      return R::no("share_above_parent", "a sub-agent's share cannot be above its parent's (" + std::to_string(parent->share_bp) + " bp)");
    a.parent_id = parent->id;
    a.level = 2;
  }
  a.name = n.name;
  a.share_bp = n.share_bp;
  a.contact_name = n.contact_name;
  a.contact_phone = n.contact_phone;
  a.settlement_account = n.settlement_account;
  a.created_at = a.updated_at = now;
  a.id = r_.agents.insert(a);
  auto admin = accounts_.create_for_agent(by, a.id, NewAccount{n.admin_name, n.contact_name, n.contact_phone, {"agent_admin"}, password}, now);
  if (!admin) return no<CreatedAgent>(admin.refusal);   // the agent's row goes with the rollback
  CreatedAgent out{*r_.agents.get(Scope::platform(), a.id), *admin.value, password};
  tx.commit();
  log::info("agent.created", {{"agent", a.id}, {"agent_level", a.level}, {"by", by.actor()}});
  return R::ok(std::move(out));
}

std::optional<AgentRow> Agents::get(const Scope& scope, int64_t id) {
  sql::Lock lock(r_.db);
  return r_.agents.get(scope, id);
}

Page<AgentRow> Agents::list(const Scope& scope, const AgentQuery& q, const PageRequest& p) {
  sql::Lock lock(r_.db);
  return r_.agents.list(scope, q, p);
}

Result<AgentRow> Agents::changeable(const Scope& scope, int64_t id) {
  using R = Result<AgentRow>;
  auto a = r_.agents.get(scope, id);
  if (!a) return R::no("agent_not_found", "no agent with this id");
  // An agent's terms are its signer's to set: raising its own share or unfreezing itself is not its call.
  if (scope.agent_id() == a->id) return R::no("agent_is_own", "an agent's terms are changed by whoever signed it");
  return R::ok(std::move(*a));
}

Result<AgentRow> Agents::update(const Scope& scope, int64_t id, const AgentChange& c, int64_t now) {
  using R = Result<AgentRow>;
  sql::Tx tx(r_.db);
  auto cur = changeable(scope, id);
  if (!cur) return cur;
  AgentRow a = *cur.value;
  if (c.name) a.name = *c.name;
  if (c.share_bp) a.share_bp = *c.share_bp;
  if (c.contact_name) a.contact_name = *c.contact_name;
  if (c.contact_phone) a.contact_phone = *c.contact_phone;
  if (c.settlement_account) a.settlement_account = *c.settlement_account;
  if (auto bad = check_terms(a.name, a.share_bp, a.contact_name, a.contact_phone, a.settlement_account)) return no<AgentRow>(*bad);
  if (a.parent_id) {
    auto parent = r_.agents.get(Scope::platform(), *a.parent_id);
    if (parent && a.share_bp > parent->share_bp)
      return R::no("share_above_parent", "a sub-agent's share cannot be above its parent's (" + std::to_string(parent->share_bp) + " bp)");
  }
  if (auto sub = r_.agents.max_sub_share(a.id); sub && a.share_bp < *sub)
    return R::no("share_below_sub_agent", "an agent's share cannot go below a sub-agent's (" + std::to_string(*sub) + " bp); lower theirs first");
  a.updated_at = now;
  r_.agents.update(a);
  auto out = *r_.agents.get(Scope::platform(), id);
  tx.commit();
  return R::ok(std::move(out));
}

Result<AgentRow> Agents::set_frozen(const Scope& scope, int64_t id, bool frozen, int64_t now) {
  using R = Result<AgentRow>;
  sql::Tx tx(r_.db);
  auto cur = changeable(scope, id);
  if (!cur) return cur;
  r_.agents.set_frozen(id, frozen, now);
  // As with a frozen account: its tokens end now, so unfreezing does not bring back sessions of the console.
  if (frozen) r_.accounts.revoke_tokens_of_agent(id, now);
  auto out = *r_.agents.get(Scope::platform(), id);
  tx.commit();
  log::info(frozen ? "agent.frozen" : "agent.unfrozen", {{"agent", id}});
  return R::ok(std::move(out));
}

}  // namespace chargehub::core
