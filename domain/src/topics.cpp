#include "chargehub/topics.hpp"

#include <initializer_list>

#include "chargehub/frame.hpp"

namespace chargehub::topics {

std::string status(std::string_view device) {
  std::string t(kPrefix);
  t.append(device).append("/status");
  return t;
}
std::string up_topic(std::string_view device, std::string_view kind) {
  std::string t(kPrefix);
  t.append(device).append("/up/").append(kind);
  return t;
}
std::string down_topic(std::string_view device, std::string_view kind) {
  std::string t(kPrefix);
  t.append(device).append("/down/").append(kind);
  return t;
}
std::string device_down_filter(std::string_view device) {
  std::string t(kPrefix);
  t.append(device).append("/down/#");
  return t;
}

namespace {
bool one_of(std::string_view kind, std::initializer_list<std::string_view> kinds) {
  for (auto k : kinds)
    if (k == kind) return true;
  return false;
}
}  // namespace

std::optional<Parsed> parse(std::string_view topic) {
  if (!topic.starts_with(kPrefix)) return std::nullopt;
  topic.remove_prefix(kPrefix.size());
  auto slash = topic.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  // The device part is a device id in its one text form, as in the identities of mqtt.md: the
  // broker's rules and the core then agree on which charger a topic names.
  auto device = topic.substr(0, slash);
  if (!proto::parse_device_id(device)) return std::nullopt;
  Parsed p;
  p.device = std::string(device);
  auto rest = topic.substr(slash + 1);
  if (rest == "status") {
    p.dir = Direction::Status;
    return p;
  }
  if (rest.starts_with("up/")) {
    p.dir = Direction::Up;
    p.kind = std::string(rest.substr(3));
    if (!one_of(p.kind, {up::kBoot, up::kHeartbeat, up::kMeter, up::kSessionEnd, up::kCard, up::kAlarm, up::kOta,
                         up::kReply}))
      return std::nullopt;
  } else if (rest.starts_with("down/")) {
    p.dir = Direction::Down;
    p.kind = std::string(rest.substr(5));
    if (!one_of(p.kind, {down::kCmd, down::kAck, down::kOta})) return std::nullopt;
  } else {
    return std::nullopt;
  }
  return p;
}

}  // namespace chargehub::topics
