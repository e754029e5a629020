// The fleet's MQTT topic tree (../shared/protocol/mqtt.md), declared once for every program.
//   chg/v1/<id>/status            charger status (retained; the will says offline)
//   chg/v1/<id>/up/<kind>         charger -> core: boot heartbeat meter session_end card alarm ota reply
//   chg/v1/<id>/down/<kind>       core -> charger: cmd ack ota
#pragma once
#include <optional>
#include <string>
#include <string_view>

namespace chargehub::topics {

inline constexpr std::string_view kPrefix = "chg/v1/";
inline constexpr std::string_view kControl = "$CONTROL/chargehub-auth/v1";

namespace up {
inline constexpr std::string_view kBoot = "boot", kHeartbeat = "heartbeat", kMeter = "meter",
                                  kSessionEnd = "session_end", kCard = "card", kAlarm = "alarm",
                                  kOta = "ota", kReply = "reply";
}
namespace down {
inline constexpr std::string_view kCmd = "cmd", kAck = "ack", kOta = "ota";
}

std::string status(std::string_view device);
std::string up_topic(std::string_view device, std::string_view kind);
std::string down_topic(std::string_view device, std::string_view kind);
// Subscriptions of a charger and of the core.
std::string device_down_filter(std::string_view device);       // chg/v1/<id>/down/#
inline constexpr std::string_view kAllUp = "chg/v1/+/up/#";
inline constexpr std::string_view kAllStatus = "chg/v1/+/status";

enum class Direction { Status, Up, Down };
struct Parsed {
  std::string device;
  Direction dir = Direction::Status;
  std::string kind;   // empty for status
};
// Parses a concrete topic (no wildcards); nothing for anything outside the tree: a device that is not
// a device id in its text form (1-16 digits, no leading zero) or a kind not declared above.
std::optional<Parsed> parse(std::string_view topic);

}  // namespace chargehub::topics
