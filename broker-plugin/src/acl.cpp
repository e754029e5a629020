#include "acl.hpp"

#include <array>
#include <span>
#include <string>

#include "chargehub/topics.hpp"
#include "topic_match.hpp"

namespace chargehub::auth {
namespace {

// Rules per role: which patterns each access may use. "%u" is the client's own name. The fleet's
// topics come from domain's topics.hpp (chg/v1/…); svc/v1/… is the services' tree (bridges own
// svc/v1/<username>/…; the plugin asks cores for snapshots on auth_control::kSnapshotRequestTopic).
struct Rules {
  std::span<const std::string_view> write;
  std::span<const std::string_view> read;  // also what it may subscribe to
};

const std::string charger_up = std::string(topics::kPrefix) + "%u/" + "up/+/#";        // chg/v1/%u/up/+/#
const std::string charger_status = std::string(topics::kPrefix) + "%u/status";         // chg/v1/%u/status
const std::string charger_down = std::string(topics::kPrefix) + "%u/down/#";           // chg/v1/%u/down/#
const std::string any_down = std::string(topics::kPrefix) + "+/down/+/#";              // chg/v1/+/down/+/#
constexpr std::string_view services_tree = "svc/v1/#";
constexpr std::string_view own_services = "svc/v1/%u/#";
static_assert(auth_control::kSnapshotRequestTopic.starts_with("svc/v1/"), "cores read it through svc/v1/#");

const std::array<std::string_view, 2> charger_write{charger_up, charger_status};
const std::array<std::string_view, 1> charger_read{charger_down};

const std::array<std::string_view, 2> core_write{any_down, control_topic};
constexpr std::array<std::string_view, 4> core_read{topics::kAllUp, topics::kAllStatus, services_tree,
                                                    control_response_topic};

constexpr std::array<std::string_view, 1> bridge_rw{own_services};

constexpr std::array<std::string_view, 3> monitor_read{topics::kAllStatus, topics::kAllUp, services_tree};

Rules rules_for(Role r) {
  switch (r) {
    case Role::charger: return {charger_write, charger_read};
    case Role::core: return {core_write, core_read};
    case Role::bridge: return {bridge_rw, bridge_rw};
    case Role::monitor: return {{}, monitor_read};
    case Role::none: break;
  }
  return {};
}

}  // namespace

bool acl_allows(const Identity& who, Access access, std::string_view topic) {
  if (who.role == Role::none || who.name.empty()) return false;
  Rules rules = rules_for(who.role);
  switch (access) {
    case Access::write:
      for (auto p : rules.write)
        if (topic_matches(p, topic, who.name)) return true;
      return false;
    case Access::read:
      for (auto p : rules.read)
        if (topic_matches(p, topic, who.name)) return true;
      return false;
    case Access::subscribe: {
      auto filter = strip_share(topic);
      if (!filter) return false;
      for (auto p : rules.read)
        if (filter_within(*filter, p, who.name)) return true;
      return false;
    }
    case Access::unsubscribe:
      // Unsubscribing grants nothing; any authenticated identity may drop its own subscriptions.
      return true;
  }
  return false;
}

}  // namespace chargehub::auth
