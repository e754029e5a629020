// The $CONTROL/chargehub-auth/v1 interface: JSON commands from the core, applied to the in-memory
// device table at once (the DB stays the source of truth: the next reload replaces the table).
//
// Request:  {"commands":[{"command":"reload"},
//                        {"command":"disable_device","id":"…"},
//                        {"command":"delete_device","id":"…"},
//                        {"command":"set_device","id":"…","token_hash":"…","pubkey":"…","enabled":true,
//                         "prev_token_hash":"…","prev_token_until":…},
//                        {"command":"get_stats"}]}
// Response: {"responses":[{"command":"…","ok":true|false,"error":"…","stats":{…}}]}
// set_device: a field left out keeps its value (a new device starts with none and enabled true);
// a field given as null clears it. Each command may carry "correlationData", echoed in its response.
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>

#include "devices.hpp"

namespace chargehub::auth {

struct ControlOutcome {
  std::string response;                        // the JSON to publish on the response topic
  std::shared_ptr<const DeviceTable> devices;  // the new table, or null if unchanged
  std::vector<std::string> changed_ids;        // devices whose sessions must be re-checked
  bool reload = false;                         // a reload from the DB and services file was asked for
  std::size_t commands = 0;
};

ControlOutcome apply_control(std::string_view payload, const DeviceTable& current,
                             const std::function<boost::json::object()>& stats);

}  // namespace chargehub::auth
