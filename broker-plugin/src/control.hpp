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
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>

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

// `force_snapshot`: apply a snapshot even if its rev is older than the table's (after SIGHUP).
ControlOutcome apply_control(std::string_view payload, const DeviceTable& current,
                             const std::function<boost::json::object()>& stats, bool force_snapshot = false);

}  // namespace chargehub::auth
