#include "identity.hpp"

#include "chargehub/frame.hpp"

namespace chargehub::auth {

std::string_view role_name(Role r) {
  switch (r) {
    case Role::charger: return "charger";
    case Role::core: return "core";
    case Role::bridge: return "bridge";
    case Role::monitor: return "monitor";
    case Role::none: break;
  }
  return "none";
}

Role service_role_from_name(std::string_view s) {
  if (s == "core") return Role::core;
  if (s == "bridge") return Role::bridge;
  if (s == "monitor") return Role::monitor;
  return Role::none;
}

bool is_device_id(std::string_view s) { return proto::parse_device_id(s).has_value(); }

}  // namespace chargehub::auth
