// The $CONTROL/chargehub-auth/v1 interface: JSON commands from the core (domain's auth_control.hpp
// declares and parses them), merged into the in-memory device table by revision (devices.hpp), each
// answered on the response topic.
//
//   snapshot        every device at the core's credential revision R (the answer to a snapshot request)
//   set_device      create or change one device (a field left out keeps its value, null clears it)
//   disable_device  / delete_device: revoke (connections are re-checked and kicked at the next TICK)
//   reload          re-read the services file and ask the cores for a snapshot
//   get_stats       the counters
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>

#include "chargehub/auth_control.hpp"
#include "devices.hpp"

namespace chargehub::auth {

struct ControlOutcome {
  std::string response;                        // the JSON to publish on the response topic
  std::shared_ptr<const DeviceTable> devices;  // the new table, or null if unchanged
  std::vector<std::string> changed_ids;        // devices whose connections must be re-checked
  bool reload = false;                         // reload the services file and ask for a snapshot
  std::optional<std::int64_t> snapshot_rev;    // a snapshot was applied at this revision
  std::size_t stale = 0;                       // snapshots or pushes ignored as older than the table
  std::size_t ignored_fields = 0;              // malformed snapshot entries or fields
  std::size_t commands = 0;
};

// A request parsed off the broker thread (Background::parse_control), with each snapshot's table
// already built (prepared[i] for commands[i], null for the others).
struct ParsedControl {
  std::string user;
  std::uint64_t generation = 0;  // the caller's (plugin.cpp: reloads seen when it arrived)
  auth_control::ParsedRequest request;
  std::vector<std::shared_ptr<DeviceTable>> prepared;
};
ParsedControl parse_control(std::string_view payload, std::string user);

// `force_snapshot`: apply a snapshot even if its rev is older than the table's (after SIGHUP).
ControlOutcome apply_control(std::string_view payload, const DeviceTable& current,
                             const std::function<boost::json::object()>& stats, bool force_snapshot = false);
ControlOutcome apply_control(ParsedControl&& parsed, const DeviceTable& current,
                             const std::function<boost::json::object()>& stats, bool force_snapshot = false);

// Payloads at least this big (a snapshot of a few hundred devices) are parsed on the background
// thread: parsing a 10,000-device snapshot takes the broker thread tens of milliseconds otherwise.
inline constexpr std::size_t background_parse_bytes = 64 * 1024;

}  // namespace chargehub::auth
