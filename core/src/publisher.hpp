// Where the core's downlinks go: the MQTT adapter in production (mqtt_link), a recorder in tests.
#pragma once
#include <string>

namespace chargehub::core {

class Publisher {
 public:
  virtual ~Publisher() = default;
  // Returns false when the message could not be handed to the broker (e.g. disconnected).
  virtual bool publish(const std::string& topic, const std::string& payload, int qos, bool retain) = 0;
};

}  // namespace chargehub::core
