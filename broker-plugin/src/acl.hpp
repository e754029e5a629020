// The topic rules of mqtt.md per role, as a plain decision over (identity, access, topic).
// No broker needed: the plugin's ACL_CHECK callback is a thin call into acl_allows().
#pragma once
#include <string_view>

#include "chargehub/auth_control.hpp"
#include "identity.hpp"

namespace chargehub::auth {

// One access kind per check, exactly as Mosquitto passes it (compare with ==, never as a mask).
enum class Access { read, write, subscribe, unsubscribe };

// The control topic of this plugin and its reply topic (declared in domain's auth_control.hpp).
inline constexpr std::string_view control_topic = auth_control::kControlTopic;
inline constexpr std::string_view control_response_topic = auth_control::kResponseTopic;

// `topic` is the topic name for read/write and the raw filter (maybe with $share/<group>/) for
// subscribe/unsubscribe.
bool acl_allows(const Identity& who, Access access, std::string_view topic);

}  // namespace chargehub::auth
