#include "identity.hpp"

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

bool is_device_id(std::string_view s) {
  if (s.empty() || s.size() > 16 || s[0] == '0') return false;
  for (char c : s)
    if (c < '0' || c > '9') return false;
  return true;
}

}  // namespace chargehub::auth
