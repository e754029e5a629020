// Agents (issue 17, docs/agents.md "The network"): the platform signs first-level agents, a first-level
// agent signs second-level ones, never deeper; each comes with its balance row and an admin account
// (role agent_admin, its initial password to change at first login) in one transaction. Their terms
// (name, contact, settlement details, share) and freezing are changed by whoever signed them: the
// platform for a first-level agent, the platform or the parent for a second-level one.
//
//   auto a = app.agents.create(caller, NewAgent{"杭州电驴运营", 6000, ...}, now);   // Result<CreatedAgent>
//   auto v = app.agents.get(Scope::agent(7), 8);                                     // nothing if not 7's
//
// Refusals: agent_not_found (unknown, or outside the scope: 404, never 403), too_deep, bad_share,
// share_above_parent, share_below_sub_agent, agent_is_own (an agent changing its own terms), bad_agent_name,
// bad_contact, bad_settlement, and the admin account's (bad_name, name_taken, weak_password, role_exceeds).
#pragma once
#include <cstdint>
#include <optional>
#include <string>

#include "app/accounts.hpp"
#include "chargehub/result.hpp"
#include "repo/agents.hpp"
#include "repo/page.hpp"
#include "repo/scope.hpp"

namespace chargehub::core {

struct Repos;

struct NewAgent {
  std::string name;
  int64_t share_bp = 0;
  std::string contact_name, contact_phone, settlement_account;
  std::string admin_name;                        // the admin account's login name
  std::optional<std::string> admin_password;     // its initial password; none: generated
};

struct CreatedAgent {
  AgentRow agent;
  AccountView admin;
  std::string initial_password;   // shown once
};

struct AgentChange {
  std::optional<std::string> name, contact_name, contact_phone, settlement_account;
  std::optional<int64_t> share_bp;
};

class Agents {
 public:
  Agents(Repos& r, Accounts& accounts) : r_(r), accounts_(accounts) {}
  // by's scope decides the level: the platform signs level 1, a first-level agent's account level 2
  // under its agent, a second-level agent's account is refused too_deep.
  Result<CreatedAgent> create(const Caller& by, const NewAgent& n, int64_t now);
  std::optional<AgentRow> get(const Scope& scope, int64_t id);
  Page<AgentRow> list(const Scope& scope, const AgentQuery& q, const PageRequest& p);
  Result<AgentRow> update(const Scope& scope, int64_t id, const AgentChange& c, int64_t now);
  // A frozen agent's accounts and its sub-agents' cannot log in (Accounts checks), their tokens are revoked;
  // its chargers keep charging riders (nothing on the device side looks at it).
  Result<AgentRow> set_frozen(const Scope& scope, int64_t id, bool frozen, int64_t now);

 private:
  // The agent, if `scope` may change its terms (the platform, or its parent).
  Result<AgentRow> changeable(const Scope& scope, int64_t id);
  Repos& r_;
  Accounts& accounts_;
};

}  // namespace chargehub::core
