// Whose business a query may see (issue 17, docs/agents.md): the platform sees everything; an agent and
// its staff their own; a first-level agent also its sub-agents'. Every repository method that lists or
// loads business data takes a Scope, so forgetting it does not compile.
//
//   auto st = db.prepare("SELECT ... FROM device d WHERE " + scope_sql("d.agent_id", 1) + " AND ...");
//   st.bind(1, scope.bind());
#pragma once
#include <cstdint>
#include <optional>
#include <string>

namespace chargehub::core {

class Scope {
 public:
  static Scope platform() { return Scope(std::nullopt); }
  static Scope agent(int64_t agent_id) { return Scope(agent_id); }
  bool is_platform() const { return !agent_; }
  std::optional<int64_t> agent_id() const { return agent_; }
  // What to bind for scope_sql's parameter: null for the platform.
  std::optional<int64_t> bind() const { return agent_; }

 private:
  explicit Scope(std::optional<int64_t> a) : agent_(a) {}
  std::optional<int64_t> agent_;
};

// "column is within the scope bound as ?n": the agent itself or one of its sub-agents (two levels at most).
inline std::string scope_sql(const std::string& agent_column, int n) {
  std::string p = "?" + std::to_string(n);
  return "(CAST(" + p + " AS BIGINT) IS NULL OR " + agent_column + " IN (SELECT id FROM agent WHERE id = " + p +
         " OR parent_id = " + p + "))";
}

}  // namespace chargehub::core
