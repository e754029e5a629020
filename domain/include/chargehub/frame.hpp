// Charger frame protocol v1 (../shared/protocol/frames.md): the frame envelope, its codec and the
// stream decoder that resynchronises on garbage. Pure: no I/O.
//
//   Frame f{.device = 861234567890123, .seq = 7, .cmd = Cmd::Start, .body = StartCmd{...}.encode()};
//   std::vector<uint8_t> wire = encode_frame(f);
//
//   FrameDecoder dec;                 // one per link
//   dec.feed(bytes);                  // any chunking
//   while (auto f = dec.next()) ...   // whole, CRC-checked frames; garbage counted in dec.stats()
#pragma once
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace chargehub::proto {

inline constexpr uint8_t kMagic0 = 0x5A, kMagic1 = 0xA5;
inline constexpr uint8_t kVersion = 0x01;
inline constexpr size_t kHeaderSize = 17;     // magic..flags
inline constexpr size_t kMaxBody = 1024;
inline constexpr size_t kMinLen = 13, kMaxLen = 13 + kMaxBody;
inline constexpr size_t kMaxFrameSize = 4 + kMaxLen + 2;
inline constexpr uint8_t kFlagResp = 0x01;

enum class Cmd : uint8_t {
  Login = 0x01, Heartbeat = 0x02, Meter = 0x03, SessionEnd = 0x04, Card = 0x05, Alarm = 0x06,
  Start = 0x10, Stop = 0x11, QueryPorts = 0x12, SetParams = 0x13, GetParams = 0x14, Reboot = 0x15,
  Adjust = 0x16, Locate = 0x17, OtaOffer = 0x20, OtaChunkReq = 0x21, OtaStatus = 0x22,
};
bool is_known_cmd(uint8_t c);
std::string_view cmd_name(Cmd c);   // "login", "heartbeat", ... (lower case, as in topics and ops)

// A device id is at most 16 decimal digits; its text form has no leading zeros.
using DeviceId = uint64_t;
inline constexpr DeviceId kMaxDeviceId = 9999999999999999ULL;
std::string device_id_text(DeviceId id);
std::optional<DeviceId> parse_device_id(std::string_view text);  // 1..16 digits, not zero

struct Frame {
  DeviceId device = 0;
  uint16_t seq = 0;
  Cmd cmd = Cmd::Heartbeat;
  uint8_t flags = 0;
  std::vector<uint8_t> body;

  bool is_response() const { return flags & kFlagResp; }
  bool operator==(const Frame&) const = default;
};

uint16_t crc16_modbus(std::span<const uint8_t> data);

// Throws std::invalid_argument if the body is over kMaxBody or the device id is 0 or over 16 digits.
std::vector<uint8_t> encode_frame(const Frame& f);
// Builds the response to `req` (same device, cmd and seq, RESP flag set).
Frame make_response(const Frame& req, std::vector<uint8_t> body);

// Why bytes were dropped while scanning a stream.
struct DecoderStats {
  uint64_t frames = 0;          // good frames returned
  uint64_t bad_frames = 0;      // candidate frames rejected (length, version, BCD, device 0, CRC, cmd, flags)
  uint64_t dropped_bytes = 0;   // bytes skipped while resynchronising
};

class FrameDecoder {
 public:
  explicit FrameDecoder(size_t max_buffer = 16 * 1024) : max_buffer_(max_buffer) {}
  // Appends bytes; returns false (and discards the oldest bytes) when more than max_buffer would be held.
  bool feed(std::span<const uint8_t> bytes);
  std::optional<Frame> next();
  const DecoderStats& stats() const { return stats_; }
  size_t buffered() const { return buf_.size() - pos_; }

 private:
  void drop(size_t n);
  std::vector<uint8_t> buf_;
  size_t pos_ = 0;
  size_t max_buffer_;
  DecoderStats stats_;
};

// Hex helpers for logs and tests: "5a a5 ..." or "5aa5..." both parse; whitespace ignored.
std::vector<uint8_t> from_hex(std::string_view hex);
std::string to_hex(std::span<const uint8_t> bytes, bool spaced = false);

}  // namespace chargehub::proto
