// Who a client is, as far as the topic rules care: a role and a name.
#pragma once
#include <string>
#include <string_view>

namespace chargehub::auth {

enum class Role { none, charger, core, bridge, monitor };
inline constexpr int role_count = 5;

std::string_view role_name(Role r);
// "core" | "bridge" | "monitor" -> the role; anything else -> Role::none (chargers have no role line).
Role service_role_from_name(std::string_view s);

// A device id in text form: 1-16 decimal digits, no leading zero (domain's proto::parse_device_id).
bool is_device_id(std::string_view s);

struct Identity {
  Role role = Role::none;
  std::string_view name;  // device id for a charger, the username for a service account
};

}  // namespace chargehub::auth
