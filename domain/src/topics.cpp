#include "chargehub/topics.hpp"

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

std::optional<Parsed> parse(std::string_view topic) {
  if (!topic.starts_with(kPrefix)) return std::nullopt;
  topic.remove_prefix(kPrefix.size());
  auto slash = topic.find('/');
  if (slash == std::string_view::npos || slash == 0) return std::nullopt;
  Parsed p;
  p.device = std::string(topic.substr(0, slash));
  for (char c : p.device)
    if (c < '0' || c > '9') return std::nullopt;
  auto rest = topic.substr(slash + 1);
  if (rest == "status") {
    p.dir = Direction::Status;
    return p;
  }
  if (rest.starts_with("up/")) {
    p.dir = Direction::Up;
    p.kind = std::string(rest.substr(3));
  } else if (rest.starts_with("down/")) {
    p.dir = Direction::Down;
    p.kind = std::string(rest.substr(5));
  } else {
    return std::nullopt;
  }
  if (p.kind.empty() || p.kind.find('/') != std::string::npos) return std::nullopt;
  return p;
}

}  // namespace chargehub::topics
