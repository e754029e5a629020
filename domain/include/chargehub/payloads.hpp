// MQTT payloads of mqtt.md as JSON, and the mapping between frame bodies and those payloads that the
// edge bridge and native-MQTT chargers use. Built and parsed with Boost.JSON; pure: no I/O.
#pragma once
#include <boost/json.hpp>
#include <cstdint>
#include <optional>
#include <string>

#include "chargehub/frame.hpp"
#include "chargehub/messages.hpp"

namespace chargehub::payloads {
namespace json = boost::json;
using namespace chargehub::proto;

// ---- charger -> core ----
json::object boot(const Login& l);                    // no credentials in it
json::object heartbeat(const Heartbeat& h);
json::object meter(const Meter& m);
json::object session_end(const SessionEnd& s, std::string_view msg);
json::object card(const Card& c, std::string_view msg);
json::object alarm(const Alarm& a, std::string_view msg);
json::object ota_status(const OtaStatus& s);
json::object ota_chunk_req(const OtaChunkReq& r, std::string_view msg);

std::optional<Login> parse_boot(const json::value& v);  // auth left empty
std::optional<Heartbeat> parse_heartbeat(const json::value& v);
std::optional<Meter> parse_meter(const json::value& v);
std::optional<SessionEnd> parse_session_end(const json::value& v);
std::optional<Card> parse_card(const json::value& v);
std::optional<Alarm> parse_alarm(const json::value& v);
std::optional<OtaStatus> parse_ota_status(const json::value& v);
std::optional<OtaChunkReq> parse_ota_chunk_req(const json::value& v);

// `msg` of a charger report, made by the bridge from the device id, the cmd and the record's own key.
std::string make_msg(DeviceId device, Cmd cmd, uint64_t key);

// ---- commands (down/cmd) and replies (up/reply) ----
struct Command {
  std::string id;
  std::string op;         // start stop adjust query_ports set_params get_params reboot locate ota_offer
  json::object args;
  int64_t expires = 0;    // unix s; 0 = never
};
json::object command(const Command& c);
std::optional<Command> parse_command(const json::value& v);

// A command's op and args as a frame (cmd and body); nothing for an unknown op or bad args.
struct FrameBody { Cmd cmd; Bytes body; };
std::optional<FrameBody> command_to_frame(const Command& c);
// The reverse, for chargers that speak MQTT natively and for tests.
std::optional<Command> frame_to_command(Cmd cmd, ByteView body, std::string id, int64_t expires);
std::optional<std::string> op_of(Cmd cmd);
// The response body of a command as up/reply fields: {"id":…,"result":…,…}.
std::optional<json::object> reply(std::string_view id, Cmd cmd, ByteView resp_body);
// The reverse: the response body for a reply (native MQTT chargers, tests).
std::optional<Bytes> reply_to_body(Cmd cmd, const json::object& reply);

// ---- acks (down/ack) for session_end, card and alarm ----
struct Ack {
  std::string re;          // the msg it answers
  uint8_t result = 0;
  std::optional<int32_t> balance_fen;   // card only
};
json::object ack(const Ack& a);
std::optional<Ack> parse_ack(const json::value& v);
// The response frame body a charger gets for an ack of its report of kind `cmd`.
Bytes ack_to_body(Cmd cmd, const Ack& a);

// Parses text as JSON; nothing (never an exception) for malformed input, input over max_bytes, a
// number that is not finite as a double (`1e400`) or a key twice in one object. Every JSON from
// outside (chargers, the core's commands, API bodies) goes through here.
std::optional<json::value> parse_json(std::string_view text, size_t max_bytes = 64 * 1024);

}  // namespace chargehub::payloads
