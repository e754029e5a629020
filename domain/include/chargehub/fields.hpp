// The field rules of frames.md and mqtt.md, in one place for both doors of the fleet: a charger's data
// arrives as frames (decoded by messages.cpp, through the edge bridge) or as JSON (parsed by
// payloads.cpp, from native MQTT firmware). Both call these rules and nothing else, so a value is
// accepted through one door exactly when it is accepted through the other. docs/validation.md lists
// every rule with its reference in the spec, and the choices where the spec is silent.
//
//   if (auto bad = fields::invalid_field(login)) log("refused: ", *bad);   // "model", "iccid", ...
//   if (!fields::valid(heartbeat)) ...
//
// The wire layout (sizes, widths) is the codecs' business; these rules judge values. Pure: no I/O.
#pragma once
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "chargehub/frame.hpp"
#include "chargehub/messages.hpp"

namespace chargehub::fields {

// The largest unit of frames.md (model 5, twenty ports); ports are numbered from 1.
inline constexpr int kMaxPorts = 20;
// OTA chunks: OTA_CHUNK_REQ's length, OTA_OFFER's chunk and a chunk's data are at most this.
inline constexpr int kMaxChunk = 1000;

// ---- single fields ----
bool device_id(uint64_t id);                    // 1 .. 16 decimal digits
bool model(int64_t m);                          // 1..5
int model_ports(int64_t m);                     // ports of a model: 10, 20 for model 5; 0 if unknown
bool csq(int64_t v);                            // 0..31, or 99 (unknown)
bool port(int64_t p);                           // a port number: 1..kMaxPorts
bool port_or_unit(int64_t p);                   // ALARM: 0 (whole unit) or a port
bool port_count(size_t n);                      // a list of ports: 1..kMaxPorts entries
bool port_state(int64_t s);                     // 0..4
bool end_reason(int64_t r);                     // 1..10
bool alarm_code(int64_t c);                     // 1..7
bool ota_status(int64_t s);                     // 1..5
bool start_mode(int64_t m);                     // 0..2 (START and ADJUST)
bool chunk_length(int64_t n);                   // 1..kMaxChunk
bool iccid(std::string_view s);                 // 0..20 of [0-9A-Z]
bool card_uid(std::span<const uint8_t> uid);    // 4..10 bytes
bool login_auth(uint8_t kind, size_t len);      // kind 1: 16..64 bytes; kind 2: 72 bytes
// The result codes frames.md lists for the response to `cmd` (LOGIN, SESSION_END, CARD and the
// commands to the charger); false for a cmd whose response has no result.
bool result(proto::Cmd cmd, int64_t r);

// ---- text forms (the JSON door) ----
// A card uid's one text form: upper-case hex, two digits per byte ("04A1B2C3"); nothing for anything
// else (lower case, spaces, odd length, a size outside 4..10 bytes).
std::optional<std::vector<uint8_t>> card_uid_from_text(std::string_view text);

// ---- whole messages ----
// The name of the first field that breaks a rule (as in mqtt.md: "model", "ports", "port",
// "ports[].state", ...), or nothing when every rule holds. Login: the boot fields only; its credentials
// are checked by login_auth (a boot payload carries none).
std::optional<std::string_view> invalid_field(const proto::Login& m);
std::optional<std::string_view> invalid_field(const proto::LoginResp& m);
std::optional<std::string_view> invalid_field(const proto::Heartbeat& m);
std::optional<std::string_view> invalid_field(const proto::Meter& m);
std::optional<std::string_view> invalid_field(const proto::SessionEnd& m);
std::optional<std::string_view> invalid_field(const proto::Card& m);
std::optional<std::string_view> invalid_field(const proto::CardResp& m);
std::optional<std::string_view> invalid_field(const proto::Alarm& m);
std::optional<std::string_view> invalid_field(const proto::OtaChunkReq& m);
std::optional<std::string_view> invalid_field(const proto::OtaChunk& m);
std::optional<std::string_view> invalid_field(const proto::OtaStatus& m);
std::optional<std::string_view> invalid_field(const proto::StartCmd& m);
std::optional<std::string_view> invalid_field(const proto::AdjustCmd& m);
std::optional<std::string_view> invalid_field(const proto::QueryPortsResp& m);
std::optional<std::string_view> invalid_field(const proto::OtaOffer& m);

template <class T>
bool valid(const T& m) {
  return !invalid_field(m).has_value();
}

}  // namespace chargehub::fields
