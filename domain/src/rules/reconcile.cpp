#include "chargehub/rules/reconcile.hpp"

namespace chargehub::rules {

Reconciliation reconcile(const std::vector<RunningSession>& ours, const std::map<int64_t, int64_t>& charging, int64_t now) {
  Reconciliation out;
  for (auto& s : ours) {
    auto it = charging.find(s.port);
    bool charger_has_it = it != charging.end() && it->second == s.id;
    bool young = (s.state == session::State::Requested || s.state == session::State::Starting) && now - s.created_at < kYoungSessionS;
    if (!charger_has_it && !young) out.lost.push_back(s.id);
  }
  for (auto& [port, sess] : charging) {
    bool ours_there = false;
    for (auto& s : ours)
      if (s.id == sess && s.port == port) ours_there = true;
    if (!ours_there) out.stop.emplace_back(port, sess);
  }
  return out;
}

}  // namespace chargehub::rules
