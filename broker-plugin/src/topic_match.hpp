// MQTT topic and filter matching for the ACL: plain functions, no allocation on the hot path.
//
//   topic_matches("chg/v1/+/up/#", "chg/v1/7/up/meter")          -> true
//   filter_within("chg/v1/7/down/#", "chg/v1/+/down/#")           -> true  (every topic the first
//                                                                      matches, the second matches too)
//   strip_share("$share/g/chg/v1/+/up/#")                         -> "chg/v1/+/up/#"
//
// A pattern may contain the placeholder level "%u", which matches exactly the level `self` (the
// client's own name). Wildcards in a pattern never match a level starting with '$' at the first level,
// as in MQTT.
#pragma once
#include <optional>
#include <string_view>

namespace chargehub::auth {

// True if the concrete topic (no wildcards) matches the pattern.
bool topic_matches(std::string_view pattern, std::string_view topic, std::string_view self = {});

// True if every topic matched by `filter` (a subscription filter, possibly with + and #) is also
// matched by `pattern`. A malformed filter (wildcard not alone in its level, # not last) is never within.
bool filter_within(std::string_view filter, std::string_view pattern, std::string_view self = {});

// A subscription filter as MQTT allows it: non-empty, '+' and '#' alone in their level, '#' last, no NUL.
bool valid_filter(std::string_view filter);
// A topic name as MQTT allows it for a publish: non-empty, no wildcards, no NUL.
bool valid_topic(std::string_view topic);

// For "$share/<group>/<filter>" returns <filter>; for a filter without the prefix returns it unchanged;
// for a malformed shared subscription (empty or wildcard group, no filter) returns nullopt.
std::optional<std::string_view> strip_share(std::string_view filter);

}  // namespace chargehub::auth
