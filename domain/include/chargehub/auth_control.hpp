// How device credentials reach the broker plugin (issue 14.4), declared once for the core (which
// builds these messages) and the plugin (which parses them with the same code). Pure.
//
// Topics
//   kSnapshotRequestTopic  plugin -> cores: "send me a full snapshot" (SnapshotRequest). Cores subscribe,
//                          through $share/<group>/ when several run; only service accounts may read it
//                          and nobody may publish to it (the plugin publishes as the broker).
//   kControlTopic          cores -> plugin: {"commands":[…]} (Request); never delivered to subscribers
//   kResponseTopic         plugin -> cores: {"responses":[…]} (Responses), one per command
//
// Commands
//   {"command":"snapshot","rev":R,"devices":[{"id":"…","token_hash":"<hex>"|null,"prev_token_hash":…,
//     "prev_token_until":<unix s>|null,"pubkey":"<hex>"|null,"enabled":true|false},…]}
//       every device that exists (deleted ones left out) at credential revision R
//   {"command":"set_device","id":"…","token_hash":…,"prev_token_hash":…,"prev_token_until":…,
//     "pubkey":…,"enabled":…,"rev":P}     creates or changes a device; a field left out keeps its value,
//                                          null clears it
//   {"command":"disable_device","id":"…","rev":P}
//   {"command":"delete_device","id":"…","rev":P}
//   {"command":"reload"}                   re-read the services file and ask for a snapshot
//   {"command":"get_stats"}                the plugin's counters in the response
//   Any command may carry "correlationData" (any JSON), echoed in its response. "rev" is the core's
//   credential revision after the change (increasing, never reused); optional but recommended: a
//   snapshot with rev S never undoes a push with rev > S, whatever order they arrive in.
//
// Hashes and keys are 64 lowercase hex digits: token hashes are SHA-256 of the raw token, pubkey is
// the raw Ed25519 public key. No secret crosses the wire.
//
//   // core, answering a request:
//   publish(auth_control::kControlTopic, auth_control::snapshot_json({rev, devices}));
//   // core, after committing a new device:
//   SetDevice s{.id = id, .token_hash = Field<std::string>::set(hash), .enabled = true, .rev = rev};
//   publish(auth_control::kControlTopic, auth_control::request_json({{s}}));
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <boost/json/fwd.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "chargehub/topics.hpp"

namespace chargehub::auth_control {

inline constexpr std::string_view kControlTopic = topics::kControl;  // "$CONTROL/chargehub-auth/v1"
inline constexpr std::string_view kResponseTopic = "$CONTROL/chargehub-auth/v1/response";
inline constexpr std::string_view kSnapshotRequestTopic = "svc/v1/chargehub-auth/snapshot-request";

// What a core subscribes to: the request topic, through $share/<group>/ when `share_group` is not
// empty (several core instances: one of them answers each request).
std::string snapshot_request_subscription(std::string_view share_group = {});

// A field of set_device: left out (keep the plugin's value), null (clear it) or a value.
template <class T>
struct Field {
  bool present = false;
  std::optional<T> value;  // nullopt while present: null
  static Field keep() { return {}; }
  static Field clear() { return {true, std::nullopt}; }
  static Field set(T v) { return {true, std::move(v)}; }
  bool operator==(const Field&) const = default;
};

// One device in a snapshot.
struct DeviceCredentials {
  std::string id;                          // device id: 1-16 digits, no leading zero
  std::optional<std::string> token_hash;   // 64 lowercase hex
  std::optional<std::string> prev_token_hash;
  std::int64_t prev_token_until = 0;       // unix s; prev_token_hash is accepted while now < this
  std::optional<std::string> pubkey;       // 64 lowercase hex
  bool enabled = true;
  bool operator==(const DeviceCredentials&) const = default;
};

struct Snapshot {
  std::int64_t rev = 0;
  std::vector<DeviceCredentials> devices;
  bool operator==(const Snapshot&) const = default;
};
struct SetDevice {
  std::string id;
  Field<std::string> token_hash, prev_token_hash, pubkey;
  Field<std::int64_t> prev_token_until;
  std::optional<bool> enabled;
  std::optional<std::int64_t> rev;
  bool operator==(const SetDevice&) const = default;
};
struct DisableDevice {
  std::string id;
  std::optional<std::int64_t> rev;
  bool operator==(const DisableDevice&) const = default;
};
struct DeleteDevice {
  std::string id;
  std::optional<std::int64_t> rev;
  bool operator==(const DeleteDevice&) const = default;
};
struct Reload {
  bool operator==(const Reload&) const = default;
};
struct GetStats {
  bool operator==(const GetStats&) const = default;
};

using Body = std::variant<Snapshot, SetDevice, DisableDevice, DeleteDevice, Reload, GetStats>;
// "snapshot", "set_device", "disable_device", "delete_device", "reload", "get_stats"
std::string_view command_name(const Body& b);

struct Command {
  Body body;
  std::optional<boost::json::value> correlation_data;
};

// {"commands":[…]} on kControlTopic.
struct Request {
  std::vector<Command> commands;
};

// One answer per command, in order, on kResponseTopic.
struct Response {
  std::string command;                     // the command's name, "unknown" if it had none
  bool ok = true;
  std::string error;                       // why not ok (empty when ok)
  std::optional<bool> applied;             // snapshot/pushes: false when older than what the plugin has
  std::optional<boost::json::object> stats;  // get_stats
  std::optional<boost::json::value> correlation_data;
};
struct Responses {
  std::vector<Response> responses;
};

// Published by the plugin on kSnapshotRequestTopic.
struct SnapshotRequest {
  std::int64_t have_rev = -1;  // the snapshot revision the plugin has (-1: none)
  std::string reason;          // "start", "reload", "retry", "interval"
  bool operator==(const SnapshotRequest&) const = default;
};

// ---- building (what the core publishes) --------------------------------------------------------
std::string request_json(const Request& r);
std::string snapshot_json(const Snapshot& s);  // {"commands":[{"command":"snapshot",…}]}
std::string snapshot_request_json(const SnapshotRequest& r);
std::string responses_json(const Responses& r);

// ---- parsing (what the plugin and tests read) --------------------------------------------------
// Each command is parsed on its own, so one bad command is answered with its error and the others
// still apply.
struct ParsedCommand {
  std::string name = "unknown";
  std::optional<boost::json::value> correlation_data;
  std::optional<Body> body;      // nullopt: refused, see error
  std::string error;
  std::size_t ignored = 0;       // snapshot: entries skipped (bad id) or fields dropped (bad hex)
};
struct ParsedRequest {
  std::string error;             // the envelope itself is wrong (not {"commands":[…]}, too many)
  std::vector<ParsedCommand> commands;
};
inline constexpr std::size_t kMaxCommands = 1000;
ParsedRequest parse_request(std::string_view payload, std::size_t max_commands = kMaxCommands);
ParsedCommand parse_command(const boost::json::value& v);

std::optional<SnapshotRequest> parse_snapshot_request(std::string_view payload);
std::optional<Responses> parse_responses(std::string_view payload);

// Boost.JSON conversions (value_from / value_to). value_to throws std::invalid_argument with the
// parser's reason.
void tag_invoke(boost::json::value_from_tag, boost::json::value& v, const DeviceCredentials& d);
void tag_invoke(boost::json::value_from_tag, boost::json::value& v, const Command& c);
void tag_invoke(boost::json::value_from_tag, boost::json::value& v, const Request& r);
void tag_invoke(boost::json::value_from_tag, boost::json::value& v, const Response& r);
void tag_invoke(boost::json::value_from_tag, boost::json::value& v, const Responses& r);
void tag_invoke(boost::json::value_from_tag, boost::json::value& v, const SnapshotRequest& r);
Command tag_invoke(boost::json::value_to_tag<Command>, const boost::json::value& v);
Request tag_invoke(boost::json::value_to_tag<Request>, const boost::json::value& v);
Response tag_invoke(boost::json::value_to_tag<Response>, const boost::json::value& v);
SnapshotRequest tag_invoke(boost::json::value_to_tag<SnapshotRequest>, const boost::json::value& v);

}  // namespace chargehub::auth_control
