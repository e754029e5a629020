#include "acl.hpp"

#include <array>
#include <span>

#include "topic_match.hpp"

namespace chargehub::auth {
namespace {

// Rules per role: which patterns each access may use. "%u" is the client's own name.
struct Rules {
  std::span<const std::string_view> write;
  std::span<const std::string_view> read;  // also what it may subscribe to
};

constexpr std::array<std::string_view, 2> charger_write{"chg/v1/%u/up/+/#", "chg/v1/%u/status"};
constexpr std::array<std::string_view, 1> charger_read{"chg/v1/%u/down/#"};

constexpr std::array<std::string_view, 2> core_write{"chg/v1/+/down/+/#", control_topic};
constexpr std::array<std::string_view, 4> core_read{"chg/v1/+/up/#", "chg/v1/+/status", "svc/v1/#",
                                                    control_response_topic};

constexpr std::array<std::string_view, 1> bridge_rw{"svc/v1/%u/#"};

constexpr std::array<std::string_view, 3> monitor_read{"chg/v1/+/status", "chg/v1/+/up/#", "svc/v1/#"};

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
