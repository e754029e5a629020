// Typed bodies of every command of frames.md, each with encode() and a decode() that returns nothing
// for a body of the wrong size or with a field that breaks a rule of fields.hpp (the rules the JSON
// payloads obey too). Bodies with such rules also have decode_layout(): the sizes only, no field rules
// (for the differential tests and fuzzers that compare both doors on the same values). Field names
// follow frames.md; units are in the names as in mqtt.md (_w, _wh, _s, _dc = 0.1 °C, _dv = 0.1 V, _ma,
// _fen). Pure: no I/O.
#pragma once
#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "chargehub/frame.hpp"

namespace chargehub::proto {

using Bytes = std::vector<uint8_t>;
using ByteView = std::span<const uint8_t>;

struct Version {
  uint8_t major = 0, minor = 0, patch = 0;
  std::string text() const;                              // "1.2.3"
  static std::optional<Version> parse(std::string_view);  // "1.2.3"
  auto operator<=>(const Version&) const = default;
};

enum class Model : uint8_t { Scan10 = 1, TouchCard10 = 2, KeyCard10 = 3, HighPower8p2 = 4, Port20 = 5 };
enum class PortState : uint8_t { Idle = 0, Charging = 1, Finished = 2, Fault = 3, Disabled = 4 };
enum class AuthKind : uint8_t { Token = 1, Ed25519 = 2 };
enum class LoginResult : uint8_t { Ok = 0, UnknownDevice = 1, BadCredentials = 2, Disabled = 3, Busy = 4 };
enum class EndReason : uint8_t {
  Full = 1, LimitReached = 2, RemoteStop = 3, PortOverload = 4, UnitOverload = 5, OverTemperature = 6,
  Unplugged = 7, PowerLoss = 8, Fault = 9, StoppedByCard = 10,
};
enum class StartMode : uint8_t { UntilFull = 0, Time = 1, Energy = 2 };
enum class CardResult : uint8_t { Accepted = 0, InsufficientBalance = 1, UnknownCard = 2, Blocked = 3, PortBusy = 4 };
enum class AlarmCode : uint8_t {
  TempWarning = 1, TempCutoff = 2, PortOverload = 3, UnitOverload = 4, RelayFault = 5, Leakage = 6, FuseBlown = 7,
};
enum class OtaState : uint8_t { Downloading = 1, Verified = 2, Installed = 3, VerifyFailed = 4, RolledBack = 5 };
inline constexpr uint8_t kAllPorts = 0xFF;

// ---- from the charger -------------------------------------------------------------------------
struct Login {
  uint8_t model = 1, ports = 10, hw = 1;
  Version fw;
  std::string iccid;        // up to 20 of [0-9A-Z]; the frame pads it with zero bytes
  uint8_t csq = 99;
  AuthKind auth_kind = AuthKind::Token;
  Bytes auth;               // token (16-64 bytes) or u64 ms LE + 64-byte signature
  Bytes encode() const;
  static std::optional<Login> decode(ByteView);
  static std::optional<Login> decode_layout(ByteView);
};
struct LoginResp {
  LoginResult result = LoginResult::Ok;
  uint32_t server_time = 0;
  uint16_t heartbeat_s = 60;
  Bytes encode() const;
  static std::optional<LoginResp> decode(ByteView);
  static std::optional<LoginResp> decode_layout(ByteView);
};
struct Heartbeat {
  uint8_t csq = 99;
  int16_t temp_dc = 0;
  uint16_t mains_dv = 0;
  uint16_t power_w = 0;
  std::vector<uint8_t> ports;   // PortState values
  Bytes encode() const;
  static std::optional<Heartbeat> decode(ByteView);
  static std::optional<Heartbeat> decode_layout(ByteView);
};
struct ServerTime {   // HEARTBEAT response
  uint32_t server_time = 0;
  Bytes encode() const;
  static std::optional<ServerTime> decode(ByteView);
};
struct MeterPort {
  uint8_t port = 0;
  uint32_t session = 0;
  uint16_t power_w = 0;
  uint32_t energy_wh = 0;
  uint32_t elapsed_s = 0;
  uint16_t voltage_dv = 0;
  uint16_t current_ma = 0;
  bool operator==(const MeterPort&) const = default;
};
struct Meter {
  std::vector<MeterPort> ports;
  Bytes encode() const;
  static std::optional<Meter> decode(ByteView);
  static std::optional<Meter> decode_layout(ByteView);
};
struct SessionEnd {
  uint8_t port = 0;
  uint32_t session = 0;
  uint8_t reason = 0;          // EndReason
  uint32_t started_at = 0;     // unix s
  uint32_t duration_s = 0;
  uint32_t energy_wh = 0;
  uint16_t max_power_w = 0;
  Bytes encode() const;
  static std::optional<SessionEnd> decode(ByteView);
  static std::optional<SessionEnd> decode_layout(ByteView);
  bool operator==(const SessionEnd&) const = default;
};
struct Result {   // the one-byte response body (SESSION_END, START, STOP, ... )
  uint8_t result = 0;
  Bytes encode() const;
  static std::optional<Result> decode(ByteView);
};
struct Card {
  Bytes uid;                   // 4..10 bytes
  uint8_t port = 0;
  std::string uid_text() const;  // upper-case hex "04A1B2C3"
  Bytes encode() const;
  static std::optional<Card> decode(ByteView);
  static std::optional<Card> decode_layout(ByteView);
};
struct CardResp {
  uint8_t result = 0;          // CardResult
  int32_t balance_fen = 0;
  Bytes encode() const;
  static std::optional<CardResp> decode(ByteView);
  static std::optional<CardResp> decode_layout(ByteView);
};
struct Alarm {
  uint8_t code = 0;            // AlarmCode
  uint8_t port = 0;            // 0 = whole unit
  int32_t value = 0;
  Bytes encode() const;
  static std::optional<Alarm> decode(ByteView);
  static std::optional<Alarm> decode_layout(ByteView);
};
struct OtaChunkReq {
  uint32_t offset = 0;
  uint16_t length = 0;         // 1..1000
  Bytes encode() const;
  static std::optional<OtaChunkReq> decode(ByteView);
  static std::optional<OtaChunkReq> decode_layout(ByteView);
};
struct OtaChunk {              // OTA_CHUNK_REQ response
  uint32_t offset = 0;
  Bytes data;                  // length is data.size()
  Bytes encode() const;
  static std::optional<OtaChunk> decode(ByteView);
  static std::optional<OtaChunk> decode_layout(ByteView);
};
struct OtaStatus {
  Version version;
  uint8_t status = 0;          // OtaState
  uint32_t bytes = 0;
  Bytes encode() const;
  static std::optional<OtaStatus> decode(ByteView);
  static std::optional<OtaStatus> decode_layout(ByteView);
};

// ---- to the charger ---------------------------------------------------------------------------
struct StartCmd {
  uint8_t port = 0;
  uint32_t session = 0;
  uint8_t mode = 0;            // StartMode
  uint32_t limit = 0;
  uint16_t max_power_w = 0;
  Bytes encode() const;
  static std::optional<StartCmd> decode(ByteView);
  static std::optional<StartCmd> decode_layout(ByteView);
};
struct StopCmd {
  uint8_t port = 0;
  uint32_t session = 0;
  Bytes encode() const;
  static std::optional<StopCmd> decode(ByteView);
};
struct PortStatus {
  uint8_t state = 0;
  uint32_t session = 0;
  uint16_t power_w = 0;
  uint32_t energy_wh = 0;
  uint32_t elapsed_s = 0;
  bool operator==(const PortStatus&) const = default;
};
struct QueryPortsResp {
  std::vector<PortStatus> ports;
  Bytes encode() const;
  static std::optional<QueryPortsResp> decode(ByteView);
  static std::optional<QueryPortsResp> decode_layout(ByteView);
};
struct Params {
  uint8_t full_stop_w = 5;
  uint16_t full_stop_delay_s = 60;
  uint16_t port_max_w = 600;
  uint16_t unit_max_w = 6000;
  int16_t temp_warn_dc = 650;
  int16_t temp_cut_dc = 800;
  uint16_t heartbeat_s = 60;
  uint16_t meter_s = 60;
  // Range rules of frames.md; `high_power` allows port_max_w up to 3500.
  bool valid(bool high_power = false) const;
  Bytes encode() const;
  static std::optional<Params> decode(ByteView);
  bool operator==(const Params&) const = default;
};
struct RebootCmd {
  uint8_t delay_s = 0;
  Bytes encode() const;
  static std::optional<RebootCmd> decode(ByteView);
};
struct AdjustCmd {
  uint8_t port = 0;
  uint32_t session = 0;
  uint8_t mode = 0;
  uint32_t limit = 0;
  Bytes encode() const;
  static std::optional<AdjustCmd> decode(ByteView);
  static std::optional<AdjustCmd> decode_layout(ByteView);
};
struct LocateCmd {
  uint8_t seconds = 0;         // 1..60
  Bytes encode() const;
  static std::optional<LocateCmd> decode(ByteView);
};
struct OtaOffer {
  Version version;
  uint32_t size = 0;
  std::array<uint8_t, 32> sha256{};
  std::array<uint8_t, 64> signature{};
  uint16_t chunk = 0;
  Bytes encode() const;
  static std::optional<OtaOffer> decode(ByteView);
  static std::optional<OtaOffer> decode_layout(ByteView);
};

// Does cmd expect a response frame from the other side (and so is retried by its sender)?
bool expects_response(Cmd c);

}  // namespace chargehub::proto
